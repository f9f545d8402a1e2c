"""Every label that routes, the gate, the report and workflow conditions name must exist."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from mlops_actions.config import Config
from mlops_actions.label_dispatch.model import SECTION, Settings

# contains(github.event.pull_request.labels.*.name, 'gpu:required')
_CONTAINS = re.compile(r"contains\(\s*([^,()]*\blabels\b[^,()]*),\s*'((?:[^']|'')*)'\s*\)")
# github.event.label.name == 'x'   and   'x' == github.event.label.name
_EQUALS = re.compile(
    r"github\.event\.label\.name\s*[!=]=\s*'((?:[^']|'')*)'"
    r"|'((?:[^']|'')*)'\s*[!=]=\s*github\.event\.label\.name"
)


@dataclass(frozen=True)
class LintFinding:
    file: str | None
    line: int | None
    col: int | None
    label: str
    message: str


def lint_config(settings: Settings, config: Config) -> list[LintFinding]:
    findings: list[LintFinding] = []

    def check(name: str, keys: tuple[str | int, ...], what: str) -> None:
        if settings.label(name) is None and not settings.excluded(name):
            line, col = config.where(keys)
            findings.append(
                LintFinding(
                    config.path,
                    line,
                    col,
                    name,
                    f"{what} names `{name}`, which is not in the labels",
                )
            )

    for index, route in enumerate(settings.routes):
        for key, names in (
            ("labels", route.labels),
            ("any-labels", route.any_labels),
            ("not-labels", route.not_labels),
        ):
            for j, name in enumerate(names):
                check(name, (SECTION, "routes", index, "when", key, j), f"route `{route.name}`")
    if settings.gate.approval_label:
        check(settings.gate.approval_label, (SECTION, "gate", "approval-label"), "the gate")
    for status, label in settings.report.status_labels:
        check(label, (SECTION, "report", "status-labels", status), "the report")
    return findings


def labels_in_workflow(text: str) -> list[tuple[int, int, str]]:
    """(line, column, label) for each label a workflow compares against."""
    found: list[tuple[int, int, str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        for match in _CONTAINS.finditer(line):
            found.append((number, match.start(2) + 1, match.group(2).replace("''", "'")))
        for match in _EQUALS.finditer(line):
            group = 1 if match.group(1) is not None else 2
            found.append((number, match.start(group) + 1, match.group(group).replace("''", "'")))
    return found


def lint_workflow(path: str, text: str, settings: Settings) -> list[LintFinding]:
    return [
        LintFinding(
            path,
            line,
            col,
            name,
            f"the workflow tests for label `{name}`, which is not in the labels",
        )
        for line, col, name in labels_in_workflow(text)
        if settings.label(name) is None and not settings.excluded(name)
    ]


def lint_all(
    settings: Settings, config: Config, workflows: Sequence[tuple[str, str]]
) -> list[LintFinding]:
    findings = lint_config(settings, config)
    for path, text in workflows:
        findings.extend(lint_workflow(path, text, settings))
    return findings
