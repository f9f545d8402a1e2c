"""label-dispatch's pure core: config records, sync plan, taxonomy, gate, routes, marker, docs, lint."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlops_actions.config import parse_config
from mlops_actions.errors import ConfigError
from mlops_actions.label_dispatch.docs import render_labels_md
from mlops_actions.label_dispatch.event import Subject, parse_event
from mlops_actions.label_dispatch.lint import labels_in_workflow, lint_config
from mlops_actions.label_dispatch.marker import (
    MARKER,
    MarkerState,
    RunStatus,
    find_marker,
    flatten_metrics,
    parse_state,
    render_comment,
    transition,
)
from mlops_actions.label_dispatch.model import (
    Gate,
    LabelSpec,
    Settings,
    role_at_least,
    settings_from_config,
)
from mlops_actions.label_dispatch.route import (
    GateFacts,
    build_plan,
    decide_gate,
    match_routes,
)
from mlops_actions.label_dispatch.sync import ExistingLabel, plan_sync
from mlops_actions.label_dispatch.taxonomy import check_labels
from mlops_actions.pins.values import is_pinned_image
from tests.support.events import load_event, retarget
from tests.support.label_dispatch import CONFIG


def settings(text: str = CONFIG) -> Settings:
    return settings_from_config(parse_config(text, ".github/mlops.yml"))


# -- images -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ref", "pinned"),
    [
        ("pytorch/pytorch:2.4.1-cuda12.1-cudnn9-runtime", True),
        ("nvcr.io/nvidia/pytorch:24.05-py3", True),
        ("localhost:5000/train", False),  # a port is not a tag
        ("localhost:5000/train:1.2", True),
        ("pytorch/pytorch", False),
        ("pytorch/pytorch:latest", False),
        ("pytorch/pytorch:LATEST", False),
        ("ghcr.io/o/img@sha256:" + "a" * 64, True),
        ("ghcr.io/o/img@sha256:abc", False),
        ("pytorch/pytorch:${{ matrix.tag }}", False),
        ("", False),
        ("pytorch/pytorch:nightly", False),
        ("Docker.io/library/python:3.11-slim", True),
        # Moving tags: a major version only, or a channel name.
        ("python:3", False),
        ("python:3-slim", False),
        ("ghcr.io/o/runner:v1", False),
        ("ghcr.io/o/runner:V2", False),
        ("ubuntu:rolling", False),
        ("ghcr.io/o/img:canary", False),
        ("ghcr.io/o/img:20240501", True),  # a date stamp is a build
        ("python:3.11.9-slim", True),
    ],
)
def test_image_pinned_rule(ref: str, pinned: bool) -> None:
    ok, reason = is_pinned_image(ref)
    assert ok is pinned, reason
    assert reason


# -- config -------------------------------------------------------------------------------------


def test_config_becomes_typed_settings() -> None:
    s = settings()
    assert s.label("GPU:Required") is not None  # names ignore case
    assert s.label("gpu:required").restricted == "write"  # type: ignore[union-attr]
    route = s.routes[0]
    assert route.runs_on == ("self-hosted", "linux", "gpu")
    assert route.dispatch is not None and route.dispatch.workflow == "gpu-train.yml"
    assert s.routes[1].runs_on == ("ubuntu-latest",)
    assert s.gate.approval_label == "ci:approved"
    assert s.report.label_for("failed") == "status:failed"
    assert s.excluded("Release:2.5") and not s.excluded("task:eval")


def test_unpinned_container_is_refused_at_its_line() -> None:
    text = CONFIG.replace("2.4.1-cuda12.1-cudnn9-runtime", "latest")
    with pytest.raises(ConfigError) as info:
        settings(text)
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "container:" in t)
    assert info.value.line == line
    assert "not pinned" in info.value.message


def test_alias_that_is_another_labels_name_is_refused() -> None:
    text = CONFIG.replace("aliases: [enhancement]", "aliases: [Task:Eval]")
    with pytest.raises(ConfigError, match="already the name of labels"):
        settings(text)


def test_dispatch_takes_workflow_or_event_type_not_both() -> None:
    text = CONFIG.replace(
        "dispatch: {workflow: gpu-train.yml, inputs: {suite: smoke}}",
        "dispatch: {workflow: gpu-train.yml, event-type: train}",
    )
    with pytest.raises(ConfigError) as info:
        settings(text)
    assert "routes[0].dispatch" in info.value.message
    assert "not both" in info.value.fix


def test_role_order() -> None:
    assert role_at_least("maintain", "write")
    assert not role_at_least("triage", "write")
    assert not role_at_least("custom-thing", "read")


# -- sync plan ----------------------------------------------------------------------------------


def test_sync_plan_creates_updates_renames_and_keeps() -> None:
    specs = [
        LabelSpec("task:training", color="1d76db", aliases=("training",)),
        LabelSpec("type:bug", color="d73a4a", description="Something is broken"),
        LabelSpec("task:eval"),
        LabelSpec("Good First Issue"),
    ]
    existing = [
        ExistingLabel("training", "ededed", "old"),
        ExistingLabel("type:bug", "D73A4A", None),
        ExistingLabel("good first issue", "7057ff", None),
        ExistingLabel("wontfix", "ffffff", None),
    ]
    plan = plan_sync(specs, existing)
    kinds = {a.name: a.kind for a in plan.actions}
    assert kinds == {
        "training": "rename",
        "type:bug": "update",
        "task:eval": "create",
        "good first issue": "update",
        "wontfix": "keep",
    }
    rename = next(a for a in plan.actions if a.kind == "rename")
    assert (rename.new_name, rename.color, rename.description) == ("task:training", "1d76db", "old")
    case_fix = next(a for a in plan.actions if a.name == "good first issue")
    assert case_fix.new_name == "Good First Issue" and case_fix.color == "7057ff"
    assert len(plan.changes) == 4


def test_sync_plan_refuses_rename_onto_existing_and_ambiguous_aliases() -> None:
    specs = [
        LabelSpec("type:bug", aliases=("bug",)),
        LabelSpec("type:docs", aliases=("docs", "doc")),
    ]
    existing = [
        ExistingLabel("bug", "ededed"),
        ExistingLabel("type:bug", "ededed"),
        ExistingLabel("docs", "ededed"),
        ExistingLabel("doc", "ededed"),
    ]
    plan = plan_sync(specs, existing, delete_unmanaged=True)
    refused = plan.refused
    assert [a.name for a in refused] == ["bug", "docs"]
    assert "cannot merge labels" in refused[0].reason
    # Refused labels are never deleted as unmanaged.
    assert [a for a in plan.changes if a.kind == "delete"] == []


def test_sync_plan_orders_deletes_before_renames_and_honours_excludes() -> None:
    specs = [LabelSpec("area:data", aliases=("data",)), LabelSpec("release:next")]
    existing = [
        ExistingLabel("data", "ededed"),
        ExistingLabel("stale", "ededed"),
        ExistingLabel("dependencies", "ededed"),
    ]
    plan = plan_sync(specs, existing, exclude=("dependencies", "release:*"), delete_unmanaged=True)
    assert [a.kind for a in plan.changes] == ["delete", "rename"]
    assert {a.name for a in plan.actions if a.kind == "exclude"} == {"release:next", "dependencies"}


@given(
    st.lists(
        st.from_regex(r"[a-z]{1,6}(:[a-z]{1,6})?", fullmatch=True),
        unique_by=str.casefold,
        max_size=12,
    )
)
def test_sync_plan_applied_reaches_the_config(names: list[str]) -> None:
    specs = [LabelSpec(n, color="123456") for n in names]
    existing = [ExistingLabel(n.upper(), "ededed") for n in names[: len(names) // 2]]
    plan = plan_sync(specs, existing)
    after = {lb.name: lb.color for lb in existing}
    for action in plan.changes:
        if action.kind == "create":
            after[action.name] = action.color or ""
        elif action.kind in ("update", "rename"):
            del after[action.name]
            after[action.new_name or action.name] = action.color or ""
    assert after == {n: "123456" for n in names}
    assert plan_sync(specs, [ExistingLabel(n, c) for n, c in after.items()]).changes == ()


# -- taxonomy -----------------------------------------------------------------------------------


def test_taxonomy_problems() -> None:
    s = settings()
    result = check_labels(s, ["task:training", "task:eval", "wibble", "dependencies"])
    codes = sorted(p.code for p in result.problems)
    assert codes == ["exclusive", "unknown-label"]
    assert result.remove == ()
    missing = check_labels(s, ["type:bug"])
    assert [p.code for p in missing.problems] == ["required"]
    assert "`task:training`" in missing.problems[0].message


def test_restricted_label_is_judged_for_the_label_just_applied() -> None:
    s = settings()
    by_reader = check_labels(
        s,
        ["task:training", "gpu:required"],
        applied="gpu:required",
        sender="reader",
        sender_role="read",
    )
    assert by_reader.remove == ("gpu:required",)
    assert by_reader.labels_after == ("task:training",)
    by_writer = check_labels(
        s,
        ["task:training", "gpu:required"],
        applied="gpu:required",
        sender="writer",
        sender_role="write",
    )
    assert by_writer.ok
    earlier = check_labels(
        s,
        ["task:training", "gpu:required"],
        applied="task:training",
        sender="reader",
        sender_role="read",
    )
    assert earlier.ok


def test_unknown_labels_policy_remove() -> None:
    s = settings(CONFIG.replace("  exclude:", "  unknown-labels: remove\n  exclude:"))
    result = check_labels(s, ["task:eval", "wibble"])
    assert result.remove == ("wibble",)


# -- gate and routes ----------------------------------------------------------------------------

GATE = Gate(approval_label="ci:approved")
SHA = "a" * 40


@pytest.mark.parametrize(
    ("facts", "allowed", "awaiting"),
    [
        (GateFacts("writer", "write"), True, False),
        (GateFacts("tri", "triage"), False, False),
        (
            GateFacts("maint", "maintain", fork=True, author="c", author_role="read", head_sha=SHA),
            False,
            True,
        ),
        (
            GateFacts(
                "maint", "maintain", fork=True, author="w", author_role="write", head_sha=SHA
            ),
            True,
            False,
        ),
        (
            GateFacts(
                "maint",
                "maintain",
                fork=True,
                author="c",
                author_role="read",
                head_sha=SHA,
                applied="ci:approved",
            ),
            True,
            False,
        ),
        (
            GateFacts(
                "maint",
                "maintain",
                fork=True,
                author="c",
                author_role="read",
                head_sha=SHA,
                approved_shas=(SHA,),
            ),
            True,
            False,
        ),
        (
            GateFacts(
                "maint",
                "maintain",
                fork=True,
                author="c",
                author_role="read",
                head_sha=SHA,
                approved_shas=("b" * 40,),
            ),
            False,
            True,
        ),
    ],
)
def test_gate(facts: GateFacts, allowed: bool, awaiting: bool) -> None:
    decision = decide_gate(GATE, facts)
    assert (decision.allowed, decision.awaiting_approval) == (allowed, awaiting), decision.reason


def test_gate_records_an_approval_only_when_given_now() -> None:
    given_now = decide_gate(
        GATE,
        GateFacts(
            "maint",
            "admin",
            fork=True,
            author="c",
            author_role="none",
            head_sha=SHA,
            applied="CI:Approved",
        ),
    )
    assert given_now.approve_sha == SHA
    no_label = decide_gate(
        Gate(), GateFacts("maint", "admin", fork=True, author="c", author_role="read", head_sha=SHA)
    )
    assert not no_label.allowed and not no_label.awaiting_approval


def test_routes_match_labels_events_and_branches() -> None:
    text = CONFIG.replace(
        "runs-on: ubuntu-latest",
        'runs-on: ubuntu-latest\n      when: {labels: ["task:eval"], '
        'events: [pull_request], branches: ["release/*"]}',
    ).replace('      when: {labels: ["task:eval"], not-labels: ["gpu:required"]}\n', "")
    s = settings(text)
    pr = Subject(
        3,
        True,
        "w",
        ("task:eval",),
        head_sha=SHA,
        head_repo="o/r",
        base_repo="o/r",
        base_ref="release/2.5",
    )
    assert [r.name for r in match_routes(s.routes, pr)] == ["cpu-eval"]
    assert match_routes(s.routes, Subject(3, True, "w", ("task:eval",), base_ref="main")) == ()
    issue = Subject(4, False, "w", ("task:eval",))
    assert match_routes(s.routes, issue) == ()
    both = Subject(5, False, "w", ("TASK:TRAINING", "gpu:required"))
    [route] = match_routes(s.routes, both)
    plan = build_plan(route, both, SHA)
    assert plan["dispatch"]["inputs"] == {"number": "5", "sha": SHA, "suite": "smoke"}
    assert plan["env"] == {"EPOCHS": "1"} and plan["timeout-minutes"] == 120


def test_events_parse_issue_same_repo_and_fork_pull_requests() -> None:
    pr = retarget(load_event("pull_request.labeled"), repo="o/r", label="gpu:required", author="c")
    same = parse_event("pull_request", pr)
    assert same.labeled and same.subject is not None and not same.subject.fork
    fork = parse_event("pull_request_target", retarget(pr, head_repo="c/r"))
    assert fork.subject is not None and fork.subject.fork and fork.subject.author == "c"
    deleted = dict(pr)
    deleted["pull_request"] = {
        **pr["pull_request"],
        "head": {**pr["pull_request"]["head"], "repo": None},
    }
    assert parse_event("pull_request", deleted).subject.fork  # type: ignore[union-attr]
    issue = parse_event("issues", load_event("issues.labeled"))
    assert issue.subject is not None and issue.subject.kind == "issues"
    assert parse_event("push", load_event("push")).subject is None


# -- marker comment -----------------------------------------------------------------------------


def test_marker_round_trips_hostile_text() -> None:
    state = MarkerState(
        labels_checked=True,
        problems=("`x-->` <b>&", "two"),
        gate="ok",
        dispatched=(f"gpu@{SHA}",),
        approved=(SHA,),
        run=RunStatus("running", "https://x/1", "gpu", "sum -->", (("loss", "1"),)),
    )
    body = render_comment(state, {"task": ["task:eval"]})
    assert body.startswith(MARKER)
    assert parse_state(body) == state
    assert body.count("-->") == body.count("<!--") + body.count("x-->") + body.count("sum -->")


def test_find_marker_trusts_only_the_bot() -> None:
    body = render_comment(MarkerState(approved=(SHA,)), {})
    comments = [
        (1, "mallory", body),
        (2, "github-actions[bot]", "hello"),
        (3, "github-actions[bot]", body),
    ]
    marker = find_marker(comments, "github-actions[bot]")
    assert marker is not None and marker.comment_id == 3
    assert marker.state.approved == (SHA,)
    assert (
        parse_state(MARKER + "\n<!-- mlops-actions:label-dispatch:state {broken -->")
        == MarkerState()
    )


@pytest.mark.parametrize(
    ("current", "status", "url", "allowed"),
    [
        (None, "queued", "u1", True),
        (RunStatus("queued", "u1"), "running", "u1", True),
        (RunStatus("running", "u1"), "queued", "u1", False),
        (RunStatus("running", "u1"), "failed", "u1", True),
        (RunStatus("succeeded", "u1"), "running", "u1", False),
        (RunStatus("succeeded", "u1"), "running", "u2", True),
        (RunStatus("failed", "u1"), "failed", "u1", True),
        (None, "bogus", "u1", False),
    ],
)
def test_status_transitions(
    current: RunStatus | None, status: str, url: str, allowed: bool
) -> None:
    assert transition(current, status, url)[0] is allowed


def test_metrics_flatten_and_limit() -> None:
    rows = flatten_metrics(
        {"loss": 0.5, "eval": {"acc": 0.9, "ok": True}, "tags": ["a|b"], "none": None}, limit=3
    )
    assert rows == (("loss", "0.5"), ("eval.acc", "0.9"), ("eval.ok", "true"))
    assert flatten_metrics({"t": ["a|b"]}, 5) == (("t\\[0\\]", "a\\|b"),)  # table cells


def test_metric_keys_and_values_render_as_literal_text() -> None:
    hostile_key = "<img src=x onerror=alert(1)>|@maint"
    hostile_value = "**won** [click](https://evil.example) | x\r\n| forged | row |"
    rows = flatten_metrics({hostile_key: hostile_value, "a_b": "`code`"}, 5)
    body = render_comment(
        MarkerState(run=RunStatus("succeeded", "https://x/1", "gpu", "", rows)), {}
    )
    table = body.split("| metric | value |\n| --- | --- |\n")[1].split("\n\n")[0]
    lines = table.splitlines()
    assert len(lines) == 2  # no forged row from the value's line breaks
    for line in lines:
        cells = [c for c in re.split(r"(?<!\\)\|", line) if c.strip()]
        assert len(cells) == 2, line  # no extra cells from an unescaped |
    for markup in ("<img", "](https", "**won", "@maint", "`code"):
        assert re.search(r"(?<!\\)" + re.escape(markup), table) is None, markup
    assert "\\@maint" in table and "&lt;img" in table
    assert "a\\_b" in table and "\\`code\\`" in table


# -- docs and lint ------------------------------------------------------------------------------


def test_labels_md_tables() -> None:
    text = render_labels_md(settings())
    assert text.index("## `ci:*`") < text.index("## `gpu:*`") < text.index("## `task:*`")
    row = next(line for line in text.splitlines() if line.startswith("| `gpu:required`"))
    assert "write access or higher" in row and "route `gpu-training`" in row
    assert "A run on the GPU pool" in row
    assert "At most one per issue or PR. Required before work starts." in text
    assert "(formerly `training`)" in text
    assert render_labels_md(settings()) == text


def test_workflow_label_references() -> None:
    text = (
        "if: contains(github.event.pull_request.labels.*.name, 'gpu:required') && "
        "contains(github.event.issue.labels.*.name, 'it''s')\n"
        "if: contains(fromJSON('[\"a\"]'), github.ref)\n"
        "if: 'task:eval' == github.event.label.name\n"
    )
    found = labels_in_workflow(text)
    assert [(line, name) for line, _, name in found] == [
        (1, "gpu:required"),
        (1, "it's"),
        (3, "task:eval"),
    ]
    assert found[0][1] == text.index("gpu:required") + 1


def test_lint_config_names_route_labels_missing_from_the_taxonomy() -> None:
    text = CONFIG.replace('not-labels: ["gpu:required"]', 'not-labels: ["gpu:reqired"]')
    config = parse_config(text, ".github/mlops.yml")
    [finding] = lint_config(settings_from_config(config), config)
    assert finding.label == "gpu:reqired"
    assert finding.line == next(i for i, t in enumerate(text.splitlines(), 1) if "gpu:reqired" in t)
