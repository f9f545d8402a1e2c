"""The label-dispatch config section as typed settings: every field, every default, every refusal
with its key, line and fix."""

from __future__ import annotations

import pytest

from mlops_actions.config import parse_config
from mlops_actions.errors import ConfigError
from mlops_actions.label_dispatch.model import (
    Category,
    Dispatch,
    Gate,
    LabelSpec,
    Report,
    Route,
    Settings,
    category_of,
    is_excluded,
    normalize_color,
    role_at_least,
    settings_from_config,
)

FULL = """\
label-dispatch:
  labels:
    - {name: "task:train", color: "#1D76DB", description: "Train", aliases: [training, Train-Old], restricted: maintain, triggers: "GPU run"}
    - {name: "plain"}
  exclude: ["deps*", "release:*"]
  delete-unmanaged: true
  require-category: false
  unknown-labels: remove
  comment-author: "mlops-bot[bot]"
  categories:
    task: {description: "What", exclusive: true, required: true}
    type: {}
  routes:
    - name: gpu
      when: {labels: ["task:train"], any-labels: [a, b], not-labels: [c], events: [pull_request], branches: ["main", "release/*"]}
      runs-on: gpu-box
      container: "ghcr.io/o/img:1.2.3"
      env: {B: "2", A: "x"}
      timeout-minutes: 30
      dispatch: {workflow: w.yml, ref: dev, number-input: pr, sha-input: commit, inputs: {z: "1", y: two}}
    - name: ev
      when: {}
      runs-on: [a, b]
      dispatch: {event-type: go}
  gate:
    permission: triage
    fork-permission: maintain
    approval-label: "ok"
    approval-permission: admin
  report:
    status-labels: {failed: "s:f", queued: "s:q"}
    max-metrics: 5
"""


def settings(text: str) -> Settings:
    return settings_from_config(parse_config(text, "c.yml"))


def test_every_field_of_the_section() -> None:
    assert settings(FULL) == Settings(
        labels=(
            LabelSpec(
                name="task:train",
                color="1d76db",
                description="Train",
                aliases=("training", "Train-Old"),
                restricted="maintain",
                triggers="GPU run",
            ),
            LabelSpec(name="plain"),
        ),
        exclude=("deps*", "release:*"),
        delete_unmanaged=True,
        require_category=False,
        unknown_labels="remove",
        comment_author="mlops-bot[bot]",
        categories=(
            Category(name="task", description="What", exclusive=True, required=True),
            Category(name="type", description="", exclusive=False, required=False),
        ),
        routes=(
            Route(
                name="gpu",
                runs_on=("gpu-box",),
                labels=("task:train",),
                any_labels=("a", "b"),
                not_labels=("c",),
                events=("pull_request",),
                branches=("main", "release/*"),
                container="ghcr.io/o/img:1.2.3",
                env=(("A", "x"), ("B", "2")),
                timeout_minutes=30,
                dispatch=Dispatch(
                    workflow="w.yml",
                    ref="dev",
                    number_input="pr",
                    sha_input="commit",
                    inputs=(("y", "two"), ("z", "1")),
                ),
            ),
            Route(
                name="ev",
                runs_on=("a", "b"),
                timeout_minutes=60,
                dispatch=Dispatch(number_input="number", sha_input="sha", event_type="go"),
            ),
        ),
        gate=Gate(
            permission="triage",
            fork_permission="maintain",
            approval_label="ok",
            approval_permission="admin",
        ),
        report=Report(status_labels=(("queued", "s:q"), ("failed", "s:f")), max_metrics=5),
    )


def test_the_defaults_of_an_empty_section() -> None:
    for text in ("version: 1\n", "label-dispatch: {}\n", "label-dispatch:\n  gate: {}\n"):
        s = settings(text)
        assert (s.labels, s.exclude, s.categories, s.routes) == ((), (), (), ())
        assert (s.delete_unmanaged, s.require_category) == (False, False)
        assert (s.unknown_labels, s.comment_author) == ("report", "github-actions[bot]")
        assert s.gate == Gate(
            permission="write",
            fork_permission="write",
            approval_label=None,
            approval_permission="write",
        )
        assert s.report == Report(status_labels=(), max_metrics=20)


def test_route_defaults() -> None:
    text = "label-dispatch:\n  routes:\n    - {name: r, when: {}, runs-on: x, dispatch: {workflow: w.yml}}\n"
    [route] = settings(text).routes
    assert route == Route(
        name="r",
        runs_on=("x",),
        timeout_minutes=60,
        dispatch=Dispatch(workflow="w.yml", number_input="number", sha_input="sha"),
    )
    assert route.container is None and route.env == ()


@pytest.mark.parametrize(
    ("text", "message", "fix", "line", "col"),
    [
        (
            "label-dispatch:\n  routes:\n    - {name: a, when: {}, runs-on: x}\n"
            "    - {name: b, when: {}, runs-on: x}\n    - {name: a, when: {}, runs-on: y}\n",
            "`label-dispatch.routes[2].name`: route name 'a' is used twice (also routes[0])",
            "give each route its own name; the name keys the once-per-commit record.",
            5,
            8,
        ),
        (
            'label-dispatch:\n  require-category: true\n  labels:\n    - {name: "task:a"}\n'
            "    - {name: plain}\n",
            "`label-dispatch.labels[1].name`: label 'plain' is not named category:key",
            "name it like task:training, or set require-category: false.",
            5,
            8,
        ),
        (
            'label-dispatch:\n  labels:\n    - {name: "a", aliases: [x]}\n    - {name: "b",\n'
            "       aliases: [X]}\n",
            "`label-dispatch.labels[1].aliases`: 'X' is already the alias of labels[0] "
            "(GitHub label names ignore case)",
            "each name and alias may appear once; remove the duplicate.",
            5,
            8,
        ),
        (
            'label-dispatch:\n  labels:\n    - {name: "a", aliases: [x]}\n    - name: "X"\n',
            "`label-dispatch.labels[1].name`: 'X' is already the alias of labels[0] "
            "(GitHub label names ignore case)",
            "each name and alias may appear once; remove the duplicate.",
            4,
            7,
        ),
        (
            'label-dispatch:\n  labels:\n    - {name: "a"}\n    - name: "A"\n',
            "`label-dispatch.labels[1].name`: 'A' is already the name of labels[0] "
            "(GitHub label names ignore case)",
            "each name and alias may appear once; remove the duplicate.",
            4,
            7,
        ),
        (
            "label-dispatch:\n  routes:\n    - name: a\n      when: {}\n      runs-on: x\n"
            "      container: python:latest\n",
            "`label-dispatch.routes[0].container`: container image 'python:latest' is not "
            "pinned: the tag latest moves with every push",
            "pin a version tag (pytorch/pytorch:2.4.1-cuda12.1-cudnn9-runtime) or a digest "
            "(image@sha256:...).",
            6,
            7,
        ),
    ],
)
def test_refusals_name_the_key_the_line_and_the_fix(
    text: str, message: str, fix: str, line: int, col: int
) -> None:
    with pytest.raises(ConfigError) as info:
        settings(text)
    error = info.value
    assert (error.message, error.fix, error.file, error.line, error.col) == (
        message,
        fix,
        "c.yml",
        line,
        col,
    )


def test_labels_need_a_category_only_when_required() -> None:
    text = 'label-dispatch:\n  labels:\n    - {name: "task:a"}\n    - {name: plain}\n'
    assert [s.name for s in settings(text).labels] == ["task:a", "plain"]
    required = settings(
        'label-dispatch:\n  require-category: true\n  labels:\n    - {name: "task:a"}\n'
    )
    assert required.require_category is True


@pytest.mark.parametrize(
    ("role", "minimum", "allowed"),
    [
        ("admin", "admin", True),
        ("maintain", "admin", False),
        ("write", "write", True),
        ("triage", "write", False),
        ("read", "read", True),
        ("none", "read", False),
        ("none", "none", True),
        ("custom", "none", True),
        ("custom", "read", False),
    ],
)
def test_role_order(role: str, minimum: str, allowed: bool) -> None:
    assert role_at_least(role, minimum) is allowed


@pytest.mark.parametrize(
    ("name", "category"),
    [("task:a", "task"), ("task:a:b", "task"), (":a", None), ("a:", None), ("plain", None)],
)
def test_category_of(name: str, category: str | None) -> None:
    assert category_of(name) == category


def test_lookups_ignore_case_and_patterns_match_whole_names() -> None:
    s = settings(FULL)
    assert s.label("TASK:Train") == s.labels[0]
    assert s.label("task:trai") is None
    assert s.category("task") == s.categories[0] and s.category("Task") is None
    assert s.excluded("DEPS-python") and s.excluded("Release:2.5")
    assert not s.excluded("my-deps")
    assert is_excluded("A", ["a"]) and not is_excluded("ab", ["a"])
    assert s.report.label_for("failed") == "s:f" and s.report.label_for("running") is None
    assert s.routes[0].named_labels() == ("task:train", "a", "b", "c")
    assert normalize_color("#ABCDEF") == "abcdef" and normalize_color("0e8a16") == "0e8a16"
