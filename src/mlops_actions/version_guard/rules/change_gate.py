"""Change gate: against the pull request's base, a torch or CUDA pin that moved must move
everywhere it was pinned together, and carry the label the config requires.

VG011 inconsistent-change (docs/version-guard.md#vg011-inconsistent-change) and VG012
change-label (docs/version-guard.md#vg012-change-label).
Tests: tests/test_version_guard_rules_change_gate.py."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

from mlops_actions.pins.model import Component, Environment, Pin, ScanResult
from mlops_actions.version_guard.rules.catalog import Rule, define
from mlops_actions.version_guard.rules.findings import Context, Findings
from mlops_actions.version_guard.rules.readings import (
    from_matrix,
    join_items,
    variant_key,
    version_of,
    where,
)
from mlops_actions.version_guard.rules.roles import Roles

RULES = define(
    __name__,
    Rule(
        "VG011",
        "inconsistent-change",
        "error",
        "A pull request changes a torch or CUDA pin in some files but not in others.",
        "Against the base ref, a torch or CUDA pin that changed must change in every place that "
        "pinned the same old value in the same environment or in another deployable file. The "
        "classic failure: development images on 2.8 and production on 2.9 because one file was "
        "forgotten, and `torch.compile` regressed in production only.",
        "Make the same change in every line the finding lists, or revert it.",
    ),
    Rule(
        "VG012",
        "change-label",
        "error",
        "A pull request changes torch or CUDA pins without the label the config requires.",
        "With `version-guard.change-label` set, a pull request that changes a torch or CUDA pin "
        "must carry that label, so stack upgrades are deliberate and visible in review. Labels "
        "are read from the pull request event; outside a pull request the rule does not apply.",
        "Add the label to the pull request (and re-run the check), or revert the pin change.",
    ),
)


def check(ctx: Context, out: Findings) -> None:
    if ctx.base_scan is not None:
        _change_gate(ctx.scan, ctx.environments, ctx.base_scan, ctx.pr_labels, ctx.roles, out)


GATED: tuple[Component, ...] = ("torch", "cuda")


def _torch_key(pin: Pin) -> str | None:
    v = version_of(pin) if pin.component == "torch" else None
    return None if v is None else str(v)


def _slots(pins: Iterable[Pin]) -> dict[tuple[str, str, str, int], Pin]:
    """Pins keyed by (file, component, context, n-th) so a line that moved still matches."""
    out: dict[tuple[str, str, str, int], Pin] = {}
    seen: dict[tuple[str, str, str], int] = {}
    for pin in sorted(
        {p for p in pins if p.component in GATED and p.environment is None},
        key=lambda p: (p.file, p.line, p.col, p.component),
    ):
        base = (pin.file, pin.component, pin.context)
        n = seen.get(base, 0)
        seen[base] = n + 1
        out[(pin.file, pin.component, pin.context, n)] = pin
    return out


def _change_gate(
    scan: ScanResult,
    envs: Sequence[Environment],
    base: ScanResult,
    labels: Collection[str] | None,
    roles: Roles,
    out: Findings,
) -> None:
    head = _slots(scan.pins)
    old = _slots(base.pins)
    pairs = [(old[slot], pin) for slot, pin in head.items() if slot in old]
    envs_of: dict[tuple[str, int, int, str], set[str]] = {}
    for env in envs:
        for p in env.pins:
            envs_of.setdefault((p.file, p.line, p.col, p.component), set()).add(env.id)

    def together(p: Pin, q: Pin) -> bool:
        a = envs_of.get((p.file, p.line, p.col, p.component), set())
        b = envs_of.get((q.file, q.line, q.col, q.component), set())
        return bool(a & b) or (roles.in_stack(p) and roles.in_stack(q))

    changed: list[tuple[Pin, Pin]] = []
    # torch versions, then CUDA variants (a torch pin's `+cu121` counts as a CUDA pin).
    for what, key in (("torch", _torch_key), ("CUDA", variant_key)):
        moved = [(a, b) for a, b in pairs if key(a) and key(b) and key(a) != key(b)]
        stays = [b for a, b in pairs if key(a) and key(a) == key(b) and not from_matrix(b)]
        for before, pin in moved:
            changed.append((before, pin))
            if from_matrix(pin):
                continue
            old_key = key(before)
            stale = [q for q in stays if key(q) == old_key and together(pin, q)]
            if not stale:
                continue
            was, now = _shown(what, before, old_key), _shown(what, pin, key(pin))
            out.add(
                "VG011",
                f"{what} changed from {was} to {now} here, but "
                f"{join_items([where(q) for q in stale])} still pin{'s' if len(stale) == 1 else ''} "
                f"{was}",
                pin,
                related=[(q.file, q.line) for q in stale],
                fix=f"change {what} in every listed line the same way, or revert this change.",
            )
            for q in stale:
                out.add(
                    "VG011",
                    f"{what} still {was} here, but this pull request changed it to {now} at "
                    f"{where(pin)}",
                    q,
                    related=[(pin.file, pin.line)],
                    fix=f"change this line to {what} {now} too, or revert the other change.",
                )
    label_name = out.settings.change_label
    if label_name and labels is not None and label_name not in labels:
        for before, pin in dict.fromkeys(changed):
            out.add(
                "VG012",
                f"{pin.component} changed from {before.value} to {pin.value}; a change to "
                f"torch or CUDA pins needs the label `{label_name}` on the pull request",
                pin,
                fix=f"add the label `{label_name}` to the pull request and re-run the check.",
            )


def _shown(what: str, pin: Pin, key: str | None) -> str:
    if what == "torch":
        return pin.value
    return "CPU" if key == "cpu" else str(key)
