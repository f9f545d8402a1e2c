"""Milestones as code: what to create, update (and, only when asked, delete); progress."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from mlops_actions.milestone_release.model import MilestoneInfo
from mlops_actions.milestone_release.settings import MilestoneSpec


@dataclass(frozen=True)
class MilestoneChange:
    action: Literal["create", "update", "delete"]
    title: str
    number: int | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    """API fields to send: title, description, due_on (YYYY-MM-DD), state."""


def plan_milestones(
    specs: Sequence[MilestoneSpec],
    existing: Sequence[MilestoneInfo],
    *,
    delete_unlisted: bool = False,
) -> tuple[MilestoneChange, ...]:
    """Changes that make the repository's milestones match the config, matched by title."""
    by_title = {m.title: m for m in existing}
    changes: list[MilestoneChange] = []
    for spec in specs:
        current = by_title.get(spec.title)
        wanted: dict[str, Any] = {}
        if spec.description is not None:
            wanted["description"] = spec.description
        if spec.due_on is not None:
            wanted["due_on"] = spec.due_on
        if spec.state is not None:
            wanted["state"] = spec.state
        if current is None:
            changes.append(
                MilestoneChange("create", spec.title, None, {"title": spec.title, **wanted})
            )
            continue
        have: dict[str, Any] = {
            "description": current.description or "",
            "due_on": current.due_on,
            "state": current.state,
        }
        differ = {k: v for k, v in wanted.items() if have[k] != v}
        if differ:
            changes.append(MilestoneChange("update", spec.title, current.number, differ))
    if delete_unlisted:
        listed = {s.title for s in specs}
        changes.extend(
            MilestoneChange("delete", m.title, m.number)
            for m in sorted(existing, key=lambda m: m.number)
            if m.title not in listed
        )
    return tuple(changes)


@dataclass(frozen=True)
class Progress:
    number: int
    title: str
    open: int
    closed: int
    total: int
    percent: int
    due_on: str | None
    overdue: bool
    url: str

    def to_json(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "title": self.title,
            "open": self.open,
            "closed": self.closed,
            "total": self.total,
            "percent": self.percent,
            "due_on": self.due_on,
            "overdue": self.overdue,
            "url": self.url,
        }


def progress(milestones: Sequence[MilestoneInfo], today: date) -> tuple[Progress, ...]:
    """Open milestones, soonest due first (undated last); percent rounds down, so 100 means done."""
    out = []
    for m in milestones:
        if m.state != "open":
            continue
        total = m.open_issues + m.closed_issues
        percent = math.floor(100 * m.closed_issues / total) if total else 0
        overdue = m.due_on is not None and date.fromisoformat(m.due_on) < today
        out.append(
            Progress(
                m.number,
                m.title,
                m.open_issues,
                m.closed_issues,
                total,
                percent,
                m.due_on,
                overdue,
                m.url,
            )
        )
    return tuple(sorted(out, key=lambda p: (p.due_on is None, p.due_on or "", p.number)))


def progress_markdown(rows: Sequence[Progress]) -> str:
    if not rows:
        return "### Milestones\n\nNo open milestones."
    lines = [
        "### Milestones",
        "",
        "| Milestone | Closed | Progress | Due | |",
        "| --- | --- | --- | --- | --- |",
    ]
    for p in rows:
        title = p.title.replace("|", "\\|")
        name = f"[{title}]({p.url})" if p.url else title
        flag = ":warning: overdue" if p.overdue else ""
        lines.append(
            f"| {name} | {p.closed}/{p.total} | {p.percent}% | {p.due_on or '—'} | {flag} |"
        )
    return "\n".join(lines)
