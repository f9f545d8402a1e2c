"""What a webhook payload says about the issue or pull request it concerns."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

PULL_EVENTS = ("pull_request", "pull_request_target")


@dataclass(frozen=True)
class Subject:
    """An issue or pull request as the event describes it."""

    number: int
    is_pull: bool
    author: str
    labels: tuple[str, ...]
    title: str = ""
    head_sha: str | None = None
    head_repo: str | None = None
    base_repo: str | None = None
    base_ref: str | None = None

    @property
    def fork(self) -> bool:
        """A pull request whose head lives in another repository (or a deleted fork)."""
        if not self.is_pull:
            return False
        if self.head_repo is None:
            return True  # the fork was deleted: treat its code as untrusted
        return self.head_repo.casefold() != (self.base_repo or "").casefold()

    @property
    def kind(self) -> str:
        return "pull_request" if self.is_pull else "issues"


@dataclass(frozen=True)
class Event:
    name: str  # GITHUB_EVENT_NAME
    action: str
    sender: str
    subject: Subject | None
    label: str | None = None  # the label added or removed (labeled/unlabeled; label events)

    @property
    def labeled(self) -> bool:
        return self.action == "labeled" and self.label is not None


def _login(value: Any) -> str:
    return str(value.get("login", "")) if isinstance(value, Mapping) else ""


def _names(labels: Any) -> tuple[str, ...]:
    if not isinstance(labels, list):
        return ()
    return tuple(str(lb["name"]) for lb in labels if isinstance(lb, Mapping) and "name" in lb)


def parse_event(name: str, payload: Mapping[str, Any]) -> Event:
    """The facts of an ``issues``, ``pull_request(_target)`` or ``label`` payload.

    Other events yield no subject; the caller then needs a ``number`` input.
    """
    action = str(payload.get("action", ""))
    sender = _login(payload.get("sender"))
    label = payload.get("label")
    label_name = str(label["name"]) if isinstance(label, Mapping) and "name" in label else None
    base_repo = payload.get("repository")
    base_name = str(base_repo.get("full_name", "")) if isinstance(base_repo, Mapping) else None
    subject: Subject | None = None
    if name in PULL_EVENTS and isinstance(payload.get("pull_request"), Mapping):
        pr = payload["pull_request"]
        head = pr.get("head") or {}
        base = pr.get("base") or {}
        head_repo = head.get("repo")
        base_of_pr = base.get("repo")
        subject = Subject(
            number=int(pr["number"]),
            is_pull=True,
            author=_login(pr.get("user")),
            labels=_names(pr.get("labels")),
            title=str(pr.get("title", "")),
            head_sha=head.get("sha"),
            head_repo=str(head_repo["full_name"]) if isinstance(head_repo, Mapping) else None,
            base_repo=(
                str(base_of_pr["full_name"]) if isinstance(base_of_pr, Mapping) else base_name
            ),
            base_ref=base.get("ref"),
        )
    elif name == "issues" and isinstance(payload.get("issue"), Mapping):
        issue = payload["issue"]
        subject = Subject(
            number=int(issue["number"]),
            # An issues event about a pull request carries no head: handle it as an issue.
            is_pull=False,
            author=_login(issue.get("user")),
            labels=_names(issue.get("labels")),
            title=str(issue.get("title", "")),
            base_repo=base_name,
        )
    return Event(name=name, action=action, sender=sender, subject=subject, label=label_name)
