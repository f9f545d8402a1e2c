"""The release decisions, each a pure function: gate, tag, release, major tag."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from mlops_actions.errors import ActionError, ExitCode
from mlops_actions.milestone_release.model import Item, ReleaseInfo, TagRef

MARKER = "<!-- mlops-actions:milestone-release:{number} -->"
SHOWN_ITEMS = 20


class ReleaseRefused(ActionError):
    """The release cannot go ahead as things stand (open items, a tag elsewhere, pins)."""

    exit_code = ExitCode.FINDINGS


def open_items(items: Sequence[Item]) -> tuple[Item, ...]:
    return tuple(sorted((i for i in items if i.state == "open"), key=lambda i: i.number))


def item_list(items: Sequence[Item], limit: int = SHOWN_ITEMS) -> str:
    shown = ", ".join(f"#{i.number}" for i in items[:limit])
    more = len(items) - limit
    return shown + (f" and {more} more" if more > 0 else "")


def gate_error(title: str, items: Sequence[Item]) -> ReleaseRefused:
    return ReleaseRefused(
        f"milestone {title!r} still has {len(items)} open item{'s' if len(items) != 1 else ''} "
        f"({item_list(items)}); nothing was tagged or released",
        fix="close them or move them to another milestone, then close the milestone again "
        "(or set `open-items: warn` to release anyway).",
    )


def reopen_comment(number: int, title: str, items: Sequence[Item], item: Item) -> str:
    kind = "pull request" if item.kind == "pull" else "issue"
    return (
        f"{MARKER.format(number=number)}\n"
        f"Milestone **{title}** was closed while this {kind} was still open, so it was reopened "
        "and nothing was released. Close this or move it to another milestone, then close the "
        f"milestone again.\n\nOpen items: {item_list(items)}"
    )


RELEASED_MARKER = "<!-- mlops-actions:released {tag} -->"


def released_comment(tag: str, url: str, item: Item) -> str:
    kind = "pull request" if item.kind == "pull" else "issue"
    where = f"[{tag}]({url})" if url else f"`{tag}`"
    return f"{RELEASED_MARKER.format(tag=tag)}\nThis {kind} was released in {where}."


def has_released_marker(bodies: Sequence[str], tag: str) -> bool:
    marker = RELEASED_MARKER.format(tag=tag)
    return any(marker in body for body in bodies)


def has_marker(bodies: Sequence[str], number: int) -> bool:
    marker = MARKER.format(number=number)
    return any(marker in body for body in bodies)


@dataclass(frozen=True)
class TagPlan:
    action: Literal["create", "keep"]
    name: str
    sha: str


def plan_tag(name: str, target_sha: str, existing: TagRef | None) -> TagPlan:
    """Create the tag, keep it when it already names the target, refuse when it names another."""
    if existing is None:
        return TagPlan("create", name, target_sha)
    if existing.sha == target_sha:
        return TagPlan("keep", name, target_sha)
    raise ReleaseRefused(
        f"tag {name} exists at commit {existing.sha} but the release target is {target_sha}",
        fix=f"release the commit the tag names (`target: {existing.sha}`), or delete the tag "
        "if it was made by mistake and run again.",
    )


@dataclass(frozen=True)
class DesiredRelease:
    tag: str
    name: str
    body: str
    draft: bool
    prerelease: bool
    make_latest: Literal["true", "false", "legacy"]
    target: str


@dataclass(frozen=True)
class ReleasePlan:
    action: Literal["create", "update", "keep"]
    fields: dict[str, Any] = field(default_factory=dict)
    changed: tuple[str, ...] = ()


def plan_release(desired: DesiredRelease, existing: ReleaseInfo | None) -> ReleasePlan:
    """One release per tag: create it, or update only what differs, or leave it alone."""
    if existing is None:
        return ReleasePlan(
            "create",
            {
                "tag": desired.tag,
                "name": desired.name,
                "message": desired.body,
                "draft": desired.draft,
                "prerelease": desired.prerelease,
                "target_commitish": desired.target,
                "make_latest": desired.make_latest,
            },
        )
    fields: dict[str, Any] = {}
    if existing.name != desired.name:
        fields["name"] = desired.name
    if existing.body.strip() != desired.body.strip():
        fields["message"] = desired.body
    if existing.prerelease != desired.prerelease:
        fields["prerelease"] = desired.prerelease
    # A published release is never turned back into a draft; a draft is published when asked.
    if existing.draft and not desired.draft:
        fields["draft"] = False
    if not fields:
        return ReleasePlan("keep")
    changed = tuple(sorted(fields))
    fields["make_latest"] = desired.make_latest
    return ReleasePlan("update", fields, changed)


def make_latest_for(
    requested: Literal["true", "false", "legacy"], prerelease: bool
) -> Literal["true", "false", "legacy"]:
    return "false" if prerelease else requested


@dataclass(frozen=True)
class MajorTagPlan:
    action: Literal["create", "move", "keep"]
    name: str
    sha: str


def plan_major_tag(name: str, target_sha: str, existing: TagRef | None) -> MajorTagPlan:
    if existing is None:
        return MajorTagPlan("create", name, target_sha)
    if existing.sha == target_sha:
        return MajorTagPlan("keep", name, target_sha)
    return MajorTagPlan("move", name, target_sha)
