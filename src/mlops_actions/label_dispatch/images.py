"""The "image pinned" rule for route containers: no `latest` (or another moving tag), no untagged
image. Parsing is the pin scanners' (`pins.values.parse_image_ref`)."""

from __future__ import annotations

import re

from mlops_actions.pins.values import parse_image_ref

_DIGEST = re.compile(r"^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[0-9a-fA-F]{32,}$")
# Tags that name a moving target rather than a build.
MOVING_TAGS = frozenset({"latest", "nightly", "stable", "main", "master", "edge", "head", "dev"})


def is_pinned_image(ref: str) -> tuple[bool, str]:
    """Whether an image reference pins what runs, and why not when it does not.

    Pinned: a digest (``name@sha256:…``) or a tag that is not a moving one.
    """
    if "$" in ref:
        return False, "it holds a variable or expression whose value cannot be checked"
    image = parse_image_ref(ref)
    if image is None:
        return False, "it is not an image reference (empty, or with whitespace)"
    if image.digest is not None:
        if not _DIGEST.match(image.digest):
            return False, f"the digest {image.digest!r} is malformed (expected sha256:<64 hex>)"
        return True, "pinned by digest"
    if image.tag is None:
        return False, "it has no tag, which means latest"
    if image.tag.lower() in MOVING_TAGS:
        return False, f"the tag {image.tag} moves with every push"
    return True, f"pinned by tag {image.tag}"
