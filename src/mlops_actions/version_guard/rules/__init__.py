"""The version-guard rules: pure functions from scanned pins and environments to findings.

One module per rule family, each holding its rule records (id, name, default severity,
documentation with a remediation), its ``check`` and a docstring naming its docs anchors and
test module; this package is the registry that runs them. ``docs/version-guard.md`` carries the
reference generated from the records (``rules_markdown``). Versions are compared with
``packaging`` only, and compatibility questions go to ``mlops_actions.compat``, whose "unknown"
(None) never becomes a finding.

| Family | Rules |
|---|---|
| ``images`` | VG001, VG020 |
| ``policy`` | VG002, VG010 |
| ``agreement`` | VG003, VG004, VG005, VG006, VG013, VG016 |
| ``companions`` | VG007, VG018 |
| ``builds`` | VG008, VG009, VG017 |
| ``change_gate`` | VG011, VG012 |
| ``diagnostics`` | VG014, VG015, VG019 |

``roles`` says which files are deployed (VG002, VG013, VG016, the change gate); ``readings``
reads pins the same way for every family.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from types import ModuleType

from mlops_actions.pins.model import Environment, ScanResult
from mlops_actions.version_guard.rules import (
    agreement,
    builds,
    change_gate,
    companions,
    diagnostics,
    images,
    policy,
)
from mlops_actions.version_guard.rules.catalog import (
    SEVERITY_RANK,
    FailOn,
    Rule,
    Setting,
    Severity,
    rule,
)
from mlops_actions.version_guard.rules.findings import Context, Finding, Findings
from mlops_actions.version_guard.rules.readings import TORCH_FAMILY, from_matrix, variant_key
from mlops_actions.version_guard.rules.settings import (
    DEFAULT_LIBRARY,
    POLICY_COMPONENTS,
    SHAREABLE,
    PolicyItem,
    Settings,
    config_environments,
    glob_match,
    parse_policy,
    settings_from_config,
)

FAMILIES: tuple[ModuleType, ...] = (
    images,
    policy,
    agreement,
    companions,
    builds,
    diagnostics,
    change_gate,
)
"""Every rule family, in the order its checks run."""

CHECKS: tuple[Callable[[Context, Findings], None], ...] = tuple(f.check for f in FAMILIES)
RULES: tuple[Rule, ...] = tuple(sorted((r for f in FAMILIES for r in f.RULES), key=lambda r: r.id))
RULES_BY_ID: dict[str, Rule] = {r.id: r for r in RULES}
RULES_BY_NAME: dict[str, Rule] = {r.name: r for r in RULES}

__all__ = [
    "DEFAULT_LIBRARY",
    "FAMILIES",
    "POLICY_COMPONENTS",
    "RULES",
    "RULES_BY_ID",
    "RULES_BY_NAME",
    "SEVERITY_RANK",
    "SHAREABLE",
    "TORCH_FAMILY",
    "Context",
    "FailOn",
    "Finding",
    "PolicyItem",
    "Rule",
    "Setting",
    "Settings",
    "Severity",
    "config_environments",
    "evaluate",
    "fails",
    "from_matrix",
    "glob_match",
    "parse_policy",
    "rule",
    "rules_markdown",
    "settings_from_config",
    "variant_key",
    "worst",
]


def evaluate(
    scan: ScanResult,
    environments: Sequence[Environment],
    config: Settings,
    base_scan: ScanResult | None = None,
    pr_labels: Collection[str] | None = (),
) -> list[Finding]:
    """Every finding for a scan, sorted by file and line.

    ``base_scan`` enables the change gate (VG011/VG012); ``pr_labels`` are the pull request's
    labels, or None outside a pull request (then VG012 does not apply).
    """
    ctx = Context(scan, environments, config, base_scan, pr_labels)
    out = Findings(config)
    for check in CHECKS:
        check(ctx, out)
    return out.result()


def worst(findings: Iterable[Finding]) -> int:
    return max((SEVERITY_RANK[f.severity] for f in findings), default=0)


def fails(findings: Iterable[Finding], fail_on: FailOn) -> bool:
    return fail_on != "never" and worst(findings) >= SEVERITY_RANK[fail_on]


def rules_markdown() -> str:
    """The rule reference of docs/version-guard.md (a test keeps the page in step)."""
    lines = [
        "## Rules",
        "",
        "Set a rule's severity, or turn it off, in the config file by id or name:",
        "",
        "```yaml",
        "version-guard:",
        "  rules:",
        "    VG014: off            # or: unresolved: off",
        "    python-mismatch: warning",
        "```",
        "",
        "| Id | Name | Default | What |",
        "|---|---|---|---|",
    ]
    for r in RULES:
        lines.append(f"| [{r.id}](#{r.anchor}) | `{r.name}` | {r.severity} | {r.summary} |")
    for r in RULES:
        lines += [
            "",
            f"### {r.id} {r.name}",
            "",
            "| What | Since | Default severity | Configurable |",
            "|---|---|---|---|",
            f"| {r.summary} | {r.since} | {r.severity} | {r.configurable} |",
            "",
            r.rationale,
            "",
            "#### Remediation",
            "",
            r.remediation,
        ]
    return "\n".join(lines) + "\n"
