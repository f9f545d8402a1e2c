"""The release version: read from a milestone title, turned into a tag, ordered among tags."""

from __future__ import annotations

import re
from collections.abc import Iterable

from packaging.version import Version

from mlops_actions.errors import UsageError
from mlops_actions.versions import ReleaseVersion, parse_version, title_version

ACCEPTED_FORMS = (
    "PEP 440 or SemVer with an optional leading v, e.g. v2.9.0, 2.9.0rc1, v2.9.0-alpha.1"
)


class TitleError(UsageError):
    """The milestone title names no version."""


def version_from_title(title: str, pattern: re.Pattern[str] | None = None) -> ReleaseVersion:
    """The version a milestone title names; a one-line error naming the title otherwise.

    A title holding a line break or another control character is refused before it is used
    anywhere: it would split a log line or an annotation, or end up in a tag.
    """
    unprintable = sorted({f"U+{ord(c):04X}" for c in title if not c.isprintable()})
    if unprintable:
        raise TitleError(
            f"milestone title {title!r} holds control or invisible characters "
            f"({', '.join(unprintable)})",
            fix="rename the milestone to plain text, e.g. `v2.9.0`.",
        )
    candidate, version = title_version(title, pattern)
    if version is None:
        shown = f"pattern {pattern.pattern!r}" if pattern is not None else ACCEPTED_FORMS
        found = f" (found {candidate!r})" if candidate else ""
        raise TitleError(
            f"milestone title {title!r} does not name a version{found}; accepted: {shown}",
            fix="rename the milestone (e.g. `v2.9.0`) or set `milestone-release.version-pattern` "
            "in the config to a regex with a named group `version`.",
        )
    return version


def check_template(template: str) -> str | None:
    """Why a tag template is unusable, or None."""
    if template.count("{version}") != 1:
        return "must contain `{version}` exactly once"
    rest = template.replace("{version}", "")
    if "{" in rest or "}" in rest:
        return "may hold no placeholder other than `{version}`"
    if any(c.isspace() or c in "~^:?*[\\" for c in rest) or ".." in rest:
        return "holds a character git forbids in tag names"
    return None


def tag_for(template: str, version: ReleaseVersion) -> str:
    return template.replace("{version}", version.text)


def major_tag_for(template: str, version: ReleaseVersion) -> str:
    """The moving major tag, `v2` for `v{version}`."""
    return template.replace("{version}", str(version.major))


def tag_prefix(template: str) -> str:
    return template.split("{version}", 1)[0]


def version_of_tag(template: str, tag: str) -> ReleaseVersion | None:
    prefix, _, suffix = template.partition("{version}")
    if not tag.startswith(prefix) or not tag.endswith(suffix) or len(tag) <= len(prefix + suffix):
        return None
    return parse_version(tag[len(prefix) : len(tag) - len(suffix)])


def previous_tag(template: str, tags: Iterable[str], current: ReleaseVersion) -> str | None:
    """The tag of the nearest lower version: among finals for a final release, any for a pre-release.

    Compare links then run from the last release users got (2.8.0...2.9.0), not from 2.9.0rc2.
    """
    best: tuple[Version, str] | None = None
    for tag in tags:
        version = version_of_tag(template, tag)
        if version is None or version.order >= current.order:
            continue
        if not current.prerelease and version.prerelease:
            continue
        if best is None or version.order > best[0]:
            best = (version.order, tag)
    return best[1] if best else None
