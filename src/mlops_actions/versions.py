"""Release versions as people write them in milestone titles, tags and branch names.

Shared by milestone-release (a milestone title becomes a tag) and branch-policy (a
`release/<version>` branch must name a version newer than the latest release). ``packaging``
is imported only when a version is parsed, so a branch-name check that only matches
``SEMVER`` does not pay for it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from packaging.version import Version

# The last word of the title, with an optional `v`: "v2.9.0", "Release 2.9.0rc1", "PyTorch 2.9".
DEFAULT_PATTERN = re.compile(r"^(?:.* )?[vV]?(?P<version>[0-9][^\s]*) *$", re.ASCII)

# semver.org's recommended expression (no leading `v`; the pattern strips it).
SEMVER = re.compile(
    r"^(?P<major>0|[1-9]\d*)\.(?P<minor>0|[1-9]\d*)\.(?P<patch>0|[1-9]\d*)"
    r"(?:-(?P<pre>(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)"
    r"(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+(?P<build>[0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$",
    re.ASCII,  # \d is 0-9 only: Arabic-Indic or full-width digits are no version, never a tag
)

Scheme = Literal["semver", "pep440"]


@dataclass(frozen=True)
class ReleaseVersion:
    """A version as the tag will spell it, and what kind of release it makes."""

    text: str
    scheme: Scheme
    prerelease: bool
    major: int
    order: Version
    """Sort key; SemVer pre-releases PEP 440 cannot read sort just before their final release."""


def parse_version(text: str) -> ReleaseVersion | None:
    """A SemVer or PEP 440 version (no leading `v`), or None. ASCII only: other digits
    (Arabic-Indic, full-width) would pass ``int()`` and make a tag nobody can type."""
    from packaging.version import InvalidVersion, Version

    text = text.strip(" ")
    if not text.isascii() or not text.isprintable():
        return None
    semver = SEMVER.match(text)
    if semver:
        major, minor, patch = (int(semver.group(k)) for k in ("major", "minor", "patch"))
        pre = semver.group("pre")
        try:
            order = Version(text)
        except InvalidVersion:
            order = Version(
                f"{major}.{minor}.{patch}rc999999" if pre else f"{major}.{minor}.{patch}"
            )
        return ReleaseVersion(text, "semver", pre is not None, major, order)
    try:
        version = Version(text)
    except InvalidVersion:
        return None
    # The normal form, so "2.9.0-RC1" and "2.9.0rc1" make the same tag.
    return ReleaseVersion(str(version), "pep440", version.is_prerelease, version.major, version)


def title_version(
    title: str, pattern: re.Pattern[str] | None = None
) -> tuple[str | None, ReleaseVersion | None]:
    """The version a milestone title names: the text found (or None) and its parse (or None)."""
    match = (pattern or DEFAULT_PATTERN).search(title)
    candidate = match.group("version") if match else None
    return candidate, parse_version(candidate.lstrip("vV")) if candidate else None
