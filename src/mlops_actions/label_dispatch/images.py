"""The "image pinned" rule for route containers: no `latest`, no untagged image."""

from __future__ import annotations

import re

_DIGEST = re.compile(r"^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[0-9a-fA-F]{32,}$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


def is_pinned_image(ref: str) -> tuple[bool, str]:
    """Whether an image reference pins what runs, and why not when it does not.

    Pinned: a digest (``name@sha256:…``) or a tag other than ``latest``. The tag is looked for
    after the last ``/`` so a registry port (``host:5000/img``) is not taken for one.
    """
    text = ref.strip()
    if not text:
        return False, "the image reference is empty"
    if "$" in text:
        return False, "it holds a variable or expression whose value cannot be checked"
    if any(c.isspace() for c in text):
        return False, "it contains whitespace"
    name, at, digest = text.partition("@")
    if at:
        if not _DIGEST.match(digest):
            return False, f"the digest {digest!r} is malformed (expected sha256:<64 hex digits>)"
        return True, "pinned by digest"
    last = name.rsplit("/", 1)[-1]
    _, colon, tag = last.partition(":")
    if not colon:
        return False, "it has no tag, which means latest"
    if not _TAG.match(tag):
        return False, f"the tag {tag!r} is malformed"
    if tag.lower() == "latest":
        return False, "the tag latest moves with every push"
    return True, f"pinned by tag {tag}"
