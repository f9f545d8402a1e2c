"""Taxonomy rules over the labels of one issue or pull request."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from mlops_actions.label_dispatch.model import Role, Settings, category_of, role_at_least

ProblemCode = Literal["unknown-label", "exclusive", "required", "restricted"]


@dataclass(frozen=True)
class Problem:
    code: ProblemCode
    message: str
    label: str | None = None


@dataclass(frozen=True)
class Validation:
    problems: tuple[Problem, ...]
    remove: tuple[str, ...]  # labels to take off the issue or PR
    labels_after: tuple[str, ...]  # the labels once those are removed

    @property
    def ok(self) -> bool:
        return not self.problems


def needs_sender_role(settings: Settings, applied: str | None) -> bool:
    """Only a restricted label costs a permission lookup."""
    spec = settings.label(applied) if applied else None
    return spec is not None and spec.restricted is not None


def check_labels(
    settings: Settings,
    labels: Sequence[str],
    *,
    applied: str | None = None,
    sender: str = "",
    sender_role: Role | None = None,
) -> Validation:
    """The problems with ``labels`` and the labels to remove.

    ``applied`` is the label the event added and ``sender_role`` the role of whoever added it;
    restrictions are judged for that label only, since earlier labels were judged when added.
    """
    problems: list[Problem] = []
    remove: list[str] = []
    taxonomy = bool(settings.labels)
    for name in labels:
        if settings.excluded(name):
            continue
        spec = settings.label(name)
        if spec is None:
            if not taxonomy or settings.unknown_labels == "ignore":
                continue
            removed = settings.unknown_labels == "remove"
            if removed:
                remove.append(name)
            problems.append(
                Problem(
                    "unknown-label",
                    f"`{name}` is not a label of this repository's taxonomy"
                    + (" and was removed" if removed else ""),
                    name,
                )
            )
            continue
        if (
            applied is not None
            and name.casefold() == applied.casefold()
            and spec.restricted is not None
            and not role_at_least(sender_role or "none", spec.restricted)
        ):
            remove.append(name)
            who = f"@{sender}" if sender else "the sender"
            problems.append(
                Problem(
                    "restricted",
                    f"`{name}` may only be applied by someone with {spec.restricted} access; "
                    f"{who} has {sender_role or 'none'}, so it was removed",
                    name,
                )
            )
    gone = {n.casefold() for n in remove}
    after = tuple(n for n in labels if n.casefold() not in gone)
    by_category: dict[str, list[str]] = {}
    for name in after:
        prefix = category_of(name)
        if prefix is not None:
            by_category.setdefault(prefix, []).append(name)
    for category in settings.categories:
        present = by_category.get(category.name, [])
        if category.exclusive and len(present) > 1:
            listed = ", ".join(f"`{n}`" for n in present)
            problems.append(
                Problem(
                    "exclusive",
                    f"only one `{category.name}:*` label may be set, found {listed}: remove all but one",
                )
            )
        if category.required and not present:
            choices = [s.name for s in settings.labels if category_of(s.name) == category.name]
            listed = ", ".join(f"`{n}`" for n in choices) or f"a `{category.name}:*` label"
            problems.append(
                Problem(
                    "required",
                    f"a `{category.name}:*` label is required before work starts: add one of {listed}",
                )
            )
    return Validation(problems=tuple(problems), remove=tuple(remove), labels_after=after)


def missing_required(settings: Settings, labels: Sequence[str]) -> tuple[str, ...]:
    present = {category_of(n) for n in labels}
    return tuple(c.name for c in settings.categories if c.required and c.name not in present)


def valid_labels(settings: Settings) -> dict[str, list[str]]:
    """Label names by category ("" for labels without one), in config order."""
    out: dict[str, list[str]] = {}
    for spec in settings.labels:
        out.setdefault(category_of(spec.name) or "", []).append(spec.name)
    return out
