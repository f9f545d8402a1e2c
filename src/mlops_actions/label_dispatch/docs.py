"""LABELS.md: a table per category of what each label means, who may apply it, what it starts."""

from __future__ import annotations

from mlops_actions.label_dispatch.model import LabelSpec, Settings, category_of

HEADER = (
    "<!-- Generated from .github/mlops.yml by `mlops-actions label-dispatch --mode docs`; "
    "edit the config, not this file. -->"
)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ").strip()


def _who(spec: LabelSpec) -> str:
    # Applying any label already takes triage access on GitHub.
    return f"{spec.restricted} access or higher" if spec.restricted else "triage access or higher"


def _starts(spec: LabelSpec, settings: Settings) -> str:
    parts = [spec.triggers] if spec.triggers else []
    folded = spec.name.casefold()
    for route in settings.routes:
        if any(n.casefold() == folded for n in (*route.labels, *route.any_labels)):
            parts.append(f"route `{route.name}` ({', '.join(route.runs_on)})")
    if settings.gate.approval_label and settings.gate.approval_label.casefold() == folded:
        parts.append("approves a fork PR's current commit")
    for status, label in settings.report.status_labels:
        if label.casefold() == folded:
            parts.append(f"set by the status report ({status})")
    return "; ".join(_cell(p) for p in parts) or "—"


def render_labels_md(settings: Settings) -> str:
    lines = [HEADER, "", "# Labels", ""]
    if not settings.labels:
        lines.append("No labels are configured (`label-dispatch.labels` in .github/mlops.yml).")
        return "\n".join(lines) + "\n"
    groups: dict[str, list[LabelSpec]] = {}
    for spec in settings.labels:
        groups.setdefault(category_of(spec.name) or "", []).append(spec)
    for name, specs in sorted(groups.items(), key=lambda kv: (kv[0] == "", kv[0])):
        category = settings.category(name) if name else None
        lines.append(f"## `{name}:*`" if name else "## Other labels")
        lines.append("")
        rules = []
        if category is not None:
            if category.description:
                rules.append(_cell(category.description))
            if category.exclusive:
                rules.append("At most one per issue or PR.")
            if category.required:
                rules.append("Required before work starts.")
        if rules:
            lines += [" ".join(rules), ""]
        lines += [
            "| label | meaning | who may apply it | what it triggers |",
            "| --- | --- | --- | --- |",
        ]
        for spec in specs:
            aliases = (
                f" (formerly {', '.join(f'`{a}`' for a in spec.aliases)})" if spec.aliases else ""
            )
            lines.append(
                f"| `{_cell(spec.name)}`{aliases} | {_cell(spec.description or '—')} | "
                f"{_who(spec)} | {_starts(spec, settings)} |"
            )
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"
