"""Release notes from the milestone's items: categories by label, contributors, links."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from mlops_actions.milestone_release.model import Item, MilestoneInfo
from mlops_actions.milestone_release.settings import Category


@dataclass(frozen=True)
class Section:
    title: str
    items: tuple[Item, ...]


@dataclass(frozen=True)
class Notes:
    sections: tuple[Section, ...]
    contributors: tuple[str, ...]
    excluded: tuple[Item, ...]
    """Shipped items left out because of an excluded label."""
    markdown: str

    @property
    def item_count(self) -> int:
        return sum(len(s.items) for s in self.sections)


def categorize(
    items: Sequence[Item],
    categories: Sequence[Category],
    exclude_labels: Sequence[str],
    other_title: str = "Other",
) -> tuple[tuple[Section, ...], tuple[Item, ...]]:
    """Shipped items by the first category (in config order) that shares a label with them."""
    excluded_names = {name.casefold() for name in exclude_labels}
    buckets: dict[str, list[Item]] = {c.title: [] for c in categories}
    other: list[Item] = []
    excluded: list[Item] = []
    for item in sorted(items, key=lambda i: i.number):
        if not item.shipped:
            continue
        labels = {name.casefold() for name in item.labels}
        if labels & excluded_names:
            excluded.append(item)
            continue
        for category in categories:
            if labels & {name.casefold() for name in category.labels}:
                buckets[category.title].append(item)
                break
        else:
            other.append(item)
    sections = [Section(c.title, tuple(buckets[c.title])) for c in categories]
    sections.append(Section(other_title, tuple(other)))
    return tuple(s for s in sections if s.items), tuple(excluded)


def contributors(items: Sequence[Item]) -> tuple[str, ...]:
    """Authors of the shipped pull requests, bots left out, sorted without regard to case."""
    logins = {i.author.login for i in items if i.kind == "pull" and i.shipped and not i.author.bot}
    return tuple(sorted(logins, key=str.casefold))


def build_notes(
    milestone: MilestoneInfo,
    items: Sequence[Item],
    *,
    categories: Sequence[Category],
    exclude_labels: Sequence[str],
    other_title: str = "Other",
    compare_url: str | None = None,
) -> Notes:
    sections, excluded = categorize(items, categories, exclude_labels, other_title)
    people = contributors([i for i in items if i not in excluded])
    lines: list[str] = []
    for section in sections:
        lines.append(f"### {section.title}")
        lines.append("")
        lines.extend(_line(item) for item in section.items)
        lines.append("")
    if not sections:
        lines.extend(["No issues or pull requests were shipped in this milestone.", ""])
    if people:
        lines.extend(["### Contributors", "", ", ".join(f"@{p}" for p in people), ""])
    milestone_link = f"[{milestone.title}]({milestone.url})" if milestone.url else milestone.title
    lines.append(f"**Milestone:** {milestone_link}")
    if compare_url:
        lines.append(f"**Full changelog:** {compare_url}")
    return Notes(tuple(sections), people, excluded, "\n".join(lines).rstrip() + "\n")


def _line(item: Item) -> str:
    # Titles are user text: keep them on one line so they cannot start Markdown blocks.
    title = " ".join(item.title.split())
    by = f" by @{item.author.login}" if item.kind == "pull" else ""
    return f"- {title} (#{item.number}){by}"


def compare_url(server_url: str, repository: str, previous: str | None, tag: str) -> str | None:
    if previous is None:
        return None
    return f"{server_url.rstrip('/')}/{repository}/compare/{previous}...{tag}"


def summary_line(items: Sequence[Item]) -> str:
    issues = sum(1 for i in items if i.kind == "issue" and i.shipped)
    pulls = sum(1 for i in items if i.kind == "pull" and i.shipped)
    return f"{issues} issue{'s' if issues != 1 else ''} closed, {pulls} pull request{'s' if pulls != 1 else ''} merged"
