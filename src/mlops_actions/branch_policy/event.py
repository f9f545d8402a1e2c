"""What a `pull_request` / `pull_request_target` payload says about the branches of a PR."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

PULL_EVENTS = frozenset({"pull_request", "pull_request_target"})
# Actions after which the head/base pair may be new: opened, reopened, a new push, and an edit
# (a retarget arrives as `edited` with `changes.base`). `closed` matters for the back-merge.
CHECKED_ACTIONS = frozenset({"opened", "reopened", "edited", "synchronize", "ready_for_review"})


@dataclass(frozen=True)
class PullFacts:
    head: str
    base: str
    action: str = ""
    number: int | None = None
    head_sha: str | None = None
    base_sha: str | None = None
    fork: bool = False
    retargeted_from: str | None = None  # the old base of an `edited` retarget
    merged: bool = False
    merge_commit_sha: str | None = None
    title: str = ""


def _branch(side: Any) -> tuple[str, str | None, str | None]:
    if not isinstance(side, Mapping):
        return "", None, None
    repo = side.get("repo")
    full_name = repo.get("full_name") if isinstance(repo, Mapping) else None
    sha = side.get("sha")
    return str(side.get("ref") or ""), str(sha) if sha else None, full_name


def pull_facts(event_name: str, payload: Mapping[str, Any]) -> PullFacts | None:
    """The PR's head and base as the event states them; None for any other event."""
    pr = payload.get("pull_request")
    if event_name not in PULL_EVENTS or not isinstance(pr, Mapping):
        return None
    head, head_sha, head_repo = _branch(pr.get("head"))
    base, base_sha, base_repo = _branch(pr.get("base"))
    changes = payload.get("changes")
    old_base = changes.get("base") if isinstance(changes, Mapping) else None
    old_ref = old_base.get("ref") if isinstance(old_base, Mapping) else None
    retargeted_from = old_ref.get("from") if isinstance(old_ref, Mapping) else None
    number = pr.get("number")
    merge_sha = pr.get("merge_commit_sha")
    return PullFacts(
        head=head,
        base=base,
        action=str(payload.get("action") or ""),
        number=number if isinstance(number, int) else None,
        head_sha=head_sha,
        base_sha=base_sha,
        # A deleted fork has no head repository: its code is as untrusted as a fork's.
        fork=head_repo is None or str(head_repo).casefold() != str(base_repo or "").casefold(),
        retargeted_from=str(retargeted_from) if retargeted_from else None,
        merged=pr.get("merged") is True,
        merge_commit_sha=str(merge_sha) if merge_sha else None,
        title=str(pr.get("title") or ""),
    )
