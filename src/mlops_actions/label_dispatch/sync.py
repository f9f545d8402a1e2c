"""The sync plan: what to create, update, rename and delete so the repository matches the config."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from mlops_actions.label_dispatch.model import (
    DEFAULT_COLOR,
    LabelSpec,
    is_excluded,
    normalize_color,
)

ActionKind = Literal[
    "create", "update", "rename", "delete", "keep", "unchanged", "exclude", "refuse"
]
CHANGES: tuple[ActionKind, ...] = ("delete", "rename", "update", "create")


@dataclass(frozen=True)
class ExistingLabel:
    name: str
    color: str
    description: str | None = None


@dataclass(frozen=True)
class SyncAction:
    kind: ActionKind
    name: str  # the label's current name (or the new label's name for create)
    new_name: str | None = None
    color: str | None = None
    description: str | None = None
    reason: str = ""

    @property
    def is_change(self) -> bool:
        return self.kind in CHANGES


@dataclass(frozen=True)
class SyncPlan:
    actions: tuple[SyncAction, ...]

    @property
    def changes(self) -> tuple[SyncAction, ...]:
        """The calls to make, in a safe order: deletes free names before renames take them."""
        order = {kind: i for i, kind in enumerate(CHANGES)}
        return tuple(sorted((a for a in self.actions if a.is_change), key=lambda a: order[a.kind]))

    @property
    def refused(self) -> tuple[SyncAction, ...]:
        return tuple(a for a in self.actions if a.kind == "refuse")

    def count(self, kind: ActionKind) -> int:
        return sum(1 for a in self.actions if a.kind == kind)


def plan_sync(
    specs: Sequence[LabelSpec],
    existing: Sequence[ExistingLabel],
    *,
    exclude: Sequence[str] = (),
    delete_unmanaged: bool = False,
) -> SyncPlan:
    """Compare the config's labels with the repository's; GitHub names ignore case."""
    by_name = {label.name.casefold(): label for label in existing}
    claimed: set[str] = set()
    actions: list[SyncAction] = []
    for spec in specs:
        if is_excluded(spec.name, exclude):
            actions.append(SyncAction("exclude", spec.name, reason="matches an exclude pattern"))
            claimed.add(spec.name.casefold())
            continue
        current = by_name.get(spec.name.casefold())
        old = [
            by_name[a.casefold()]
            for a in spec.aliases
            if a.casefold() in by_name and not is_excluded(a, exclude)
        ]
        for label in old:
            claimed.add(label.name.casefold())
        if current is not None:
            claimed.add(current.name.casefold())
            actions.append(_update(spec, current))
            for label in old:
                # GitHub cannot merge labels: renaming onto an existing name fails with 422.
                actions.append(
                    SyncAction(
                        "refuse",
                        label.name,
                        new_name=spec.name,
                        reason=f"cannot rename `{label.name}` to `{spec.name}`: `{current.name}` "
                        "already exists and GitHub cannot merge labels. Move the issues from "
                        f"`{label.name}` to `{spec.name}` and delete `{label.name}`, or drop the alias",
                    )
                )
            continue
        if len(old) > 1:
            names = ", ".join(f"`{lb.name}`" for lb in old)
            actions.append(
                SyncAction(
                    "refuse",
                    old[0].name,
                    new_name=spec.name,
                    reason=f"several aliases of `{spec.name}` exist ({names}); only one can be "
                    "renamed. Merge them by hand first, or drop all but one alias",
                )
            )
            continue
        if old:
            label = old[0]
            actions.append(
                SyncAction(
                    "rename",
                    label.name,
                    new_name=spec.name,
                    color=spec.color or normalize_color(label.color),
                    description=spec.description
                    if spec.description is not None
                    else label.description,
                    reason=f"alias of `{spec.name}`; issues keep the label",
                )
            )
            continue
        actions.append(
            SyncAction(
                "create",
                spec.name,
                color=spec.color or DEFAULT_COLOR,
                description=spec.description or "",
            )
        )
    for label in existing:
        folded = label.name.casefold()
        if folded in claimed:
            continue
        if is_excluded(label.name, exclude):
            actions.append(SyncAction("exclude", label.name, reason="matches an exclude pattern"))
        elif delete_unmanaged:
            actions.append(SyncAction("delete", label.name, reason="not in the config"))
        else:
            actions.append(
                SyncAction(
                    "keep", label.name, reason="not in the config (set delete-unmanaged to delete)"
                )
            )
    return SyncPlan(tuple(actions))


def _update(spec: LabelSpec, current: ExistingLabel) -> SyncAction:
    color = spec.color or normalize_color(current.color)
    description = spec.description if spec.description is not None else current.description
    differences = []
    if spec.name != current.name:
        differences.append(f"name case {current.name!r} → {spec.name!r}")
    if color != normalize_color(current.color):
        differences.append(f"color {current.color} → {color}")
    if (description or "") != (current.description or ""):
        differences.append("description")
    if not differences:
        return SyncAction("unchanged", current.name)
    return SyncAction(
        "update",
        current.name,
        new_name=spec.name if spec.name != current.name else None,
        color=color,
        description=description,
        reason=", ".join(differences),
    )


def render_plan(plan: SyncPlan, *, dry_run: bool) -> str:
    """The step-summary table: every label that changes or is refused, then the counts."""
    head = "### Label sync plan" + (" (dry run: nothing changed)" if dry_run else "")
    rows = [a for a in plan.actions if a.kind not in ("unchanged",)]
    lines = [head, ""]
    if rows:
        lines += ["| action | label | change |", "| --- | --- | --- |"]
        for action in rows:
            target = f" → `{action.new_name}`" if action.new_name else ""
            lines.append(f"| {action.kind} | `{action.name}`{target} | {action.reason} |")
        lines.append("")
    counts = ", ".join(
        f"{plan.count(k)} {k}"
        for k in ("create", "update", "rename", "delete", "refuse", "keep")
        if plan.count(k)
    )
    lines.append(
        f"{len(plan.changes)} change(s): {counts or 'nothing to do'}; "
        f"{plan.count('unchanged')} unchanged."
    )
    return "\n".join(lines)
