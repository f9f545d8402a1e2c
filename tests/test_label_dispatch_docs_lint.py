"""LABELS.md and the label lint exactly: every table cell, every finding with its place."""

from __future__ import annotations

from mlops_actions.config import parse_config
from mlops_actions.label_dispatch.docs import HEADER, render_labels_md
from mlops_actions.label_dispatch.lint import (
    LintFinding,
    labels_in_workflow,
    lint_all,
    lint_config,
    lint_workflow,
)
from mlops_actions.label_dispatch.model import settings_from_config

DOCS_CONFIG = """\
label-dispatch:
  labels:
    - {name: "task:train", description: "Train | fast\\nnow", aliases: [training, old-train], restricted: maintain, triggers: "GPU | pool"}
    - {name: "zeta:x"}
    - {name: "plain", description: "  padded  "}
    - {name: "ok"}
    - {name: "s:run"}
  categories:
    task: {description: "What | it is", exclusive: true, required: true}
    zeta: {}
  routes:
    - name: r1
      when: {any-labels: ["TASK:TRAIN", "x"]}
      runs-on: [a, b]
    - name: r2
      when: {labels: ["task:train"], not-labels: ["plain"]}
      runs-on: c
  gate: {approval-label: "OK"}
  report:
    status-labels: {running: "s:run", failed: "S:RUN"}
"""

LINT_CONFIG = """\
label-dispatch:
  labels:
    - {name: "task:train"}
  exclude: ["deps*"]
  routes:
    - name: r1
      when: {labels: ["task:train", "nope-1"], any-labels: ["DEPS-x", "nope-2"], not-labels: ["nope-3"]}
      runs-on: c
  gate: {approval-label: "nope-4"}
  report:
    status-labels: {running: "nope-5", failed: "Task:Train"}
"""

TABLE = "| label | meaning | who may apply it | what it triggers |\n| --- | --- | --- | --- |\n"


def test_labels_md_exactly() -> None:
    settings = settings_from_config(parse_config(DOCS_CONFIG, "c.yml"))
    assert render_labels_md(settings) == (
        f"{HEADER}\n\n# Labels\n\n"
        "## `s:*`\n\n"
        + TABLE
        + "| `s:run` | — | triage access or higher | set by the status report (running); "
        "set by the status report (failed) |\n\n"
        "## `task:*`\n\n"
        "What \\| it is At most one per issue or PR. Required before work starts.\n\n"
        + TABLE
        + "| `task:train` (formerly `training`, `old-train`) | Train \\| fast now | "
        "maintain access or higher | GPU \\| pool; route `r1` (a, b); route `r2` (c) |\n\n"
        "## `zeta:*`\n\n" + TABLE + "| `zeta:x` | — | triage access or higher | — |\n\n"
        "## Other labels\n\n" + TABLE + "| `plain` | padded | triage access or higher | — |\n"
        "| `ok` | — | triage access or higher | approves a fork PR's current commit |\n"
    )


def test_labels_md_without_labels() -> None:
    settings = settings_from_config(parse_config("version: 1\n", "c.yml"))
    assert render_labels_md(settings) == (
        f"{HEADER}\n\n# Labels\n\n"
        "No labels are configured (`label-dispatch.labels` in .github/mlops.yml).\n"
    )
    assert HEADER == (
        "<!-- Generated from .github/mlops.yml by `mlops-actions label-dispatch --mode docs`; "
        "edit the config, not this file. -->"
    )


def test_every_label_the_config_names_must_exist() -> None:
    config = parse_config(LINT_CONFIG, "c.yml")
    findings = lint_config(settings_from_config(config), config)
    assert findings == [
        LintFinding(
            "c.yml", 7, 37, "nope-1", "route `r1` names `nope-1`, which is not in the labels"
        ),
        LintFinding(
            "c.yml", 7, 71, "nope-2", "route `r1` names `nope-2`, which is not in the labels"
        ),
        LintFinding(
            "c.yml", 7, 95, "nope-3", "route `r1` names `nope-3`, which is not in the labels"
        ),
        LintFinding(
            "c.yml", 9, 10, "nope-4", "the gate names `nope-4`, which is not in the labels"
        ),
        LintFinding(
            "c.yml", 11, 21, "nope-5", "the report names `nope-5`, which is not in the labels"
        ),
    ]


WORKFLOW = """\
if: github.event.label.name != 'a''b' || 'c' == github.event.label.name
x: contains( github.event.issue.labels.*.name , 'deps-1' ) && contains(github.event.pull_request.labels.*.name,'task:train')
y: contains(fromJSON(x), 'z') && contains(labels, 'q')
"""


def test_label_comparisons_in_a_workflow_with_line_and_column() -> None:
    assert labels_in_workflow(WORKFLOW) == [
        (1, 33, "a'b"),
        (1, 43, "c"),
        (2, 50, "deps-1"),
        (2, 113, "task:train"),
        (3, 52, "q"),
    ]
    assert labels_in_workflow("if: contains(github.event.issue.title, 'x')\n") == []


def test_a_workflow_and_the_config_linted_together() -> None:
    config = parse_config(LINT_CONFIG, "c.yml")
    settings = settings_from_config(config)
    flow = [
        LintFinding(
            "w.yml", 1, 33, "a'b", "the workflow tests for label `a'b`, which is not in the labels"
        ),
        LintFinding(
            "w.yml", 1, 43, "c", "the workflow tests for label `c`, which is not in the labels"
        ),
        LintFinding(
            "w.yml", 3, 52, "q", "the workflow tests for label `q`, which is not in the labels"
        ),
    ]
    assert lint_workflow("w.yml", WORKFLOW, settings) == flow
    assert lint_all(settings, config, [("w.yml", WORKFLOW), ("v.yml", "on: push\n")]) == [
        *lint_config(settings, config),
        *flow,
    ]
