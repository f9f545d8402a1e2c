"""Plain records the release and plan logic work on, built from API answers by ``gh``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Person:
    login: str
    bot: bool = False


def is_bot(login: str, user_type: str | None) -> bool:
    """Apps act as `Bot` users named `something[bot]`; either sign is enough."""
    return user_type == "Bot" or login.endswith("[bot]")


@dataclass(frozen=True)
class Item:
    """An issue or pull request of the milestone, as the issues list returns it."""

    number: int
    title: str
    kind: Literal["issue", "pull"]
    state: Literal["open", "closed"]
    author: Person
    labels: tuple[str, ...] = ()
    merged: bool = False
    """Pull requests: `pull_request.merged_at` is set. Needs no request per pull request."""
    state_reason: str | None = None
    url: str = ""
    comments: int = 0

    @property
    def shipped(self) -> bool:
        """What the release contains: merged pull requests and issues closed as done."""
        if self.state != "closed":
            return False
        if self.kind == "pull":
            return self.merged
        return self.state_reason != "not_planned"


@dataclass(frozen=True)
class MilestoneInfo:
    number: int
    title: str
    state: Literal["open", "closed"]
    description: str = ""
    url: str = ""
    due_on: str | None = None
    """ISO date (YYYY-MM-DD) or None."""
    open_issues: int = 0
    closed_issues: int = 0


@dataclass(frozen=True)
class TagRef:
    """A tag that exists: its name and the commit it names (annotated tags peeled)."""

    name: str
    sha: str


@dataclass(frozen=True)
class ReleaseInfo:
    id: int
    tag: str
    name: str
    body: str
    draft: bool
    prerelease: bool
    url: str
