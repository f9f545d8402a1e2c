"""The rule records: id, name, default severity, summary, rationale and remediation.

Each family module declares its rules with ``define``; ``docs/version-guard.md`` is generated
from the records (``rules_markdown``), so a rule's documentation lives beside its check.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning", "notice"]
Setting = Literal["error", "warning", "notice", "off"]
FailOn = Literal["error", "warning", "notice", "never"]
SEVERITY_RANK: dict[str, int] = {"notice": 1, "warning": 2, "error": 3, "never": 99}
SINCE = "0.1.0"
DOCS_PAGE = "docs/version-guard.md"


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    severity: Severity
    summary: str
    """One line: what the rule reports."""
    rationale: str
    remediation: str
    configurable: str = "severity or `off` in `version-guard.rules`"
    since: str = SINCE
    family: str = ""
    """The module of ``mlops_actions.version_guard.rules`` that checks it (set by ``define``)."""

    @property
    def anchor(self) -> str:
        """The rule's heading anchor in docs/version-guard.md."""
        return f"{self.id.lower()}-{self.name}"

    @property
    def tests(self) -> str:
        """The test module of the rule's family."""
        return f"tests/test_version_guard_rules_{self.family}.py"

    def help_markdown(self) -> str:
        return (
            f"**{self.id} {self.name}**: {self.summary}\n\n{self.rationale}\n\n"
            f"**Remediation**\n\n{self.remediation}"
        )


CATALOG: dict[str, Rule] = {}
"""Every defined rule by id; filled as the family modules are imported."""


def define(module: str, *rules: Rule) -> tuple[Rule, ...]:
    """Register a family's rules under its module name (the last part of ``__name__``)."""
    family = module.rpartition(".")[2]
    out: list[Rule] = []
    for r in rules:
        if r.id in CATALOG:
            raise ValueError(f"rule {r.id} defined twice")
        record = Rule(**{**r.__dict__, "family": family})
        CATALOG[r.id] = record
        out.append(record)
    return tuple(out)


def rule(key: str) -> Rule | None:
    """A rule by id (``VG003``) or name (``torch-mismatch``)."""
    found = CATALOG.get(key.upper())
    if found is not None:
        return found
    return next((r for r in CATALOG.values() if r.name == key.lower()), None)
