"""The `milestone-release` config section as typed settings (validated by the JSON Schema first)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

from mlops_actions.config import Config
from mlops_actions.milestone_release.version import check_template

SECTION = "milestone-release"
OpenItems = Literal["fail", "reopen", "warn"]


@dataclass(frozen=True)
class Category:
    title: str
    labels: tuple[str, ...]


DEFAULT_CATEGORIES = (
    Category("Breaking changes", ("breaking", "breaking-change")),
    Category("Features", ("feature", "enhancement")),
    Category("Bug fixes", ("bug", "fix")),
    Category("Documentation", ("documentation", "docs")),
)
DEFAULT_EXCLUDE = ("skip-changelog", "duplicate", "invalid", "wontfix")


@dataclass(frozen=True)
class MilestoneSpec:
    """A milestone as the config declares it; None means "leave as it is"."""

    title: str
    description: str | None = None
    due_on: str | None = None
    state: Literal["open", "closed"] | None = None


@dataclass(frozen=True)
class Settings:
    version_pattern: re.Pattern[str] | None = None
    tag_template: str = "v{version}"
    open_items: OpenItems = "fail"
    categories: tuple[Category, ...] = DEFAULT_CATEGORIES
    exclude_labels: tuple[str, ...] = DEFAULT_EXCLUDE
    other_title: str = "Other"
    draft: bool = False
    move_major_tag: bool = False
    milestones: tuple[MilestoneSpec, ...] = ()
    delete_unlisted: bool = False
    comment_limit: int = 50


def settings_from_config(config: Config) -> Settings:
    """Typed settings; errors name the file, line and key."""
    data = config.section(SECTION)
    keys = (SECTION,)
    pattern: re.Pattern[str] | None = None
    if "version-pattern" in data:
        text = str(data["version-pattern"])
        try:
            pattern = re.compile(text)
        except re.error as exc:
            raise config.error(
                (*keys, "version-pattern"),
                f"{text!r} is not a regular expression ({exc})",
                "write a Python regular expression, e.g. '^Release (?P<version>\\S+)$'.",
            ) from None
        if "version" not in pattern.groupindex:
            raise config.error(
                (*keys, "version-pattern"),
                f"{text!r} has no named group `version`",
                "mark the version part with (?P<version>...).",
            )
    template = str(data.get("tag-template", "v{version}"))
    problem = check_template(template)
    if problem:
        raise config.error(
            (*keys, "tag-template"), f"{template!r} {problem}", 'use e.g. "v{version}".'
        )
    categories: tuple[Category, ...] = DEFAULT_CATEGORIES
    if "categories" in data:
        categories = tuple(
            Category(str(c["title"]), tuple(str(x) for x in c["labels"]))
            for c in data["categories"]
        )
    milestones: list[MilestoneSpec] = []
    seen: set[str] = set()
    for index, spec in enumerate(data.get("milestones", [])):
        title = str(spec["title"])
        if title in seen:
            raise config.error(
                (*keys, "milestones", index, "title"),
                f"milestone {title!r} is listed twice",
                "keep one entry per title.",
            )
        seen.add(title)
        due = spec.get("due-on")
        if due is not None:
            due = str(due)
            try:
                date.fromisoformat(due)
            except ValueError:
                raise config.error(
                    (*keys, "milestones", index, "due-on"),
                    f"{due!r} is not a date",
                    "write the date as YYYY-MM-DD, e.g. 2025-06-30.",
                ) from None
        milestones.append(
            MilestoneSpec(
                title=title,
                description=None if spec.get("description") is None else str(spec["description"]),
                due_on=due,
                state=spec.get("state"),
            )
        )
    return Settings(
        version_pattern=pattern,
        tag_template=template,
        open_items=data.get("open-items", "fail"),
        categories=categories,
        exclude_labels=tuple(str(x) for x in data.get("exclude-labels", DEFAULT_EXCLUDE)),
        other_title=str(data.get("other-title", "Other")),
        draft=bool(data.get("draft", False)),
        move_major_tag=bool(data.get("move-major-tag", False)),
        milestones=tuple(milestones),
        delete_unlisted=bool(data.get("delete-unlisted", False)),
        comment_limit=int(data.get("comment-limit", 50)),
    )
