"""Findings and the accumulator the rule families write into: one finding per rule, spot and
message; a disagreement collected from both sides and reported once per line, naming the others."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from mlops_actions.pins.model import Environment, Pin, ScanResult
from mlops_actions.version_guard.rules.catalog import CATALOG, SEVERITY_RANK, Rule, Severity
from mlops_actions.version_guard.rules.readings import join_items, members, where
from mlops_actions.version_guard.rules.roles import Roles, file_roles
from mlops_actions.version_guard.rules.settings import Settings


@dataclass(frozen=True)
class Finding:
    rule_id: str
    severity: Severity
    message: str
    file: str | None
    line: int | None
    col: int | None = None
    related: tuple[tuple[str, int], ...] = ()
    """Other lines involved, ``(file, line)``."""
    fix: str = ""

    @property
    def rule(self) -> Rule:
        return CATALOG[self.rule_id]

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule_id,
            "name": self.rule.name,
            "severity": self.severity,
            "message": self.message,
            "file": self.file,
            "line": self.line,
            "col": self.col,
            "related": [{"file": f, "line": ln} for f, ln in self.related],
            "fix": self.fix,
        }


@dataclass(frozen=True)
class Context:
    """What every rule family reads: the scan, its environments, the settings and, for the
    change gate, the base ref's scan and the pull request's labels (None outside a PR)."""

    scan: ScanResult
    environments: Sequence[Environment]
    settings: Settings
    base_scan: ScanResult | None = None
    pr_labels: Collection[str] | None = ()

    @cached_property
    def roles(self) -> Roles:
        """Which files are deployed (computed once, on first use)."""
        return file_roles(self.scan, self.settings)

    @cached_property
    def with_members(self) -> list[tuple[Environment, tuple[Pin, ...]]]:
        """Each environment with its members (``readings.members``), read once."""
        return [(env, tuple(members(env))) for env in self.environments]

    @cached_property
    def distinct_environments(self) -> list[Environment]:
        """The first environment of each kind and set of members. The combinations of a matrix
        key that no pin reads hold the same pins: a check that does not name the environment
        finds the same in each, and a finding is kept once per spot and message anyway."""
        first: dict[tuple[str, tuple[Pin, ...]], Environment] = {}
        for env, pins in self.with_members:
            first.setdefault((env.kind, pins), env)
        return list(first.values())


@dataclass
class _Conflict:
    pin: Pin
    shown: str
    others: dict[tuple[str, int], str] = field(default_factory=dict)
    envs: dict[str, None] = field(default_factory=dict)


class Findings:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.items: dict[tuple[Any, ...], Finding] = {}
        self.conflicts: dict[tuple[str, str, int, int, str], _Conflict] = {}

    def on(self, rule_id: str) -> bool:
        return self.settings.severity(rule_id) != "off"

    def add(
        self,
        rule_id: str,
        message: str,
        pin: Pin | None = None,
        *,
        file: str | None = None,
        line: int | None = None,
        col: int | None = None,
        related: Iterable[tuple[str, int]] = (),
        fix: str = "",
        at_most: Severity | None = None,
    ) -> None:
        """Record a finding at the rule's configured severity, capped at ``at_most``."""
        severity = self.settings.severity(rule_id)
        if severity == "off":
            return
        if at_most is not None and SEVERITY_RANK[at_most] < SEVERITY_RANK[severity]:
            severity = at_most
        if pin is not None:
            file, line, col = pin.file, pin.line, pin.col
        finding = Finding(
            rule_id,
            severity,
            message,
            file,
            line,
            col,
            tuple(dict.fromkeys(r for r in related if r != (file, line))),
            fix,
        )
        self.items.setdefault((rule_id, file, line, col, message), finding)

    def conflict(
        self, rule_id: str, pin: Pin, shown: str, other: Pin, other_shown: str, env: str
    ) -> None:
        if self.settings.severity(rule_id) == "off" or where(pin) == where(other):
            return
        # One CUDA finding per spot: an image tag names the variant through torch and cuda pins.
        topic = "variant" if rule_id == "VG004" else pin.component
        key = (rule_id, pin.file, pin.line, pin.col, topic)
        entry = self.conflicts.setdefault(key, _Conflict(pin, shown))
        entry.others[(other.file, other.line)] = other_shown
        entry.envs[env] = None

    def result(self) -> list[Finding]:
        for (rule_id, *_), c in self.conflicts.items():
            label = _LABELS.get(c.pin.component, c.pin.component)
            others = [f"{v} at {f}:{ln}" for (f, ln), v in c.others.items()]
            envs = list(c.envs)
            scope = (
                f"environment {envs[0]}"
                if len(envs) == 1
                else f"environments {join_items(envs, 3)}"
            )
            if rule_id == "VG013":
                scope = "declared shared across deployable environments"
            if rule_id == "VG004":
                label = "CUDA variant"
            self.add(
                rule_id,
                f"{c.shown} here, but {join_items(others)} ({scope})",
                c.pin,
                related=c.others.keys(),
                fix=f"use one {label} in all of these lines.",
            )
        self.conflicts.clear()
        order = {"error": 0, "warning": 1, "notice": 2}
        return sorted(
            self.items.values(),
            key=lambda f: (f.file or "", f.line or 0, f.col or 0, order[f.severity], f.rule_id),
        )

    def pairs(
        self,
        rule_id: str,
        bad: Sequence[tuple[Pin, str, Pin, str]],
        message: str,
        fix: str,
    ) -> None:
        """Incompatible pairs ``(a, a_shown, b, b_shown)``: one finding per line and per value
        on the other side, naming every line of that value (``{this}``/``{that}``/``{where}``)."""
        for side in (0, 1):
            grouped: dict[tuple[Pin, str, str], list[Pin]] = {}
            for a, a_shown, b, b_shown in bad:
                this, this_shown, that, that_shown = (
                    (a, a_shown, b, b_shown) if side == 0 else (b, b_shown, a, a_shown)
                )
                grouped.setdefault((this, this_shown, that_shown), []).append(that)
            for (this, this_shown, that_shown), others in grouped.items():
                places = join_items([where(o) for o in dict.fromkeys(others)])
                self.add(
                    rule_id,
                    message.format(this=this_shown, that=that_shown, where=places),
                    this,
                    related=[(o.file, o.line) for o in others],
                    fix=fix,
                )


_LABELS = {"cuda": "CUDA variant", "cudnn": "cuDNN major", "python": "Python minor"}
