"""One test per routing and gate decision, written so that flipping the decision fails it."""

from __future__ import annotations

import pytest

from mlops_actions.label_dispatch.event import Event, Subject, parse_event
from mlops_actions.label_dispatch.model import Dispatch, Gate, Route, role_at_least
from mlops_actions.label_dispatch.route import (
    GateFacts,
    build_plan,
    decide_gate,
    dispatch_payload,
    match_routes,
    revokes_approval,
    route_matches,
    starts_work,
)
from tests.support.events import load_event, retarget

SHA = "a" * 40
GATE = Gate(approval_label="ci:approved")


def route(**when: tuple[str, ...]) -> Route:
    return Route(name="r", runs_on=("gpu",), **when)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("when", "labels", "expected"),
    [
        ({"labels": ("a", "b")}, ("a", "b"), True),
        ({"labels": ("a", "b")}, ("A", "B", "c"), True),  # names ignore case
        ({"labels": ("a", "b")}, ("a",), False),  # every one of `labels`
        ({"labels": ("a", "b")}, ("b",), False),
        ({"any_labels": ("a", "b")}, ("b",), True),
        ({"any_labels": ("a", "b")}, ("c",), False),  # at least one of `any-labels`
        ({"labels": ("a",), "any_labels": ("x", "y")}, ("a",), False),  # both conditions hold
        ({"labels": ("a",), "any_labels": ("x", "y")}, ("a", "y"), True),
        ({"labels": ("a",), "not_labels": ("n",)}, ("a",), True),
        ({"labels": ("a",), "not_labels": ("n",)}, ("a", "N"), False),  # `not-labels` vetoes
        ({}, (), True),
    ],
)
def test_label_conditions(
    when: dict[str, tuple[str, ...]], labels: tuple[str, ...], expected: bool
) -> None:
    assert route_matches(route(**when), labels, "issues", None) is expected


def test_events_and_branches_conditions() -> None:
    on_prs = route(labels=("a",), events=("pull_request",))
    assert route_matches(on_prs, ("a",), "pull_request", "main")
    assert not route_matches(on_prs, ("a",), "issues", None)
    on_release = route(labels=("a",), branches=("release/*",))
    assert route_matches(on_release, ("a",), "pull_request", "release/2.5")
    assert not route_matches(on_release, ("a",), "pull_request", "main")
    assert not route_matches(on_release, ("a",), "issues", None)  # no base branch: no match


def facts(**overrides: object) -> GateFacts:
    base: dict[str, object] = {"sender": "s", "sender_role": "write", "head_sha": SHA}
    base.update(overrides)
    return GateFacts(**base)  # type: ignore[arg-type]


def test_sender_needs_the_gate_permission_exactly_at_its_boundary() -> None:
    assert decide_gate(Gate(permission="write"), facts(sender_role="write")).allowed
    assert not decide_gate(Gate(permission="write"), facts(sender_role="triage")).allowed
    assert decide_gate(Gate(permission="maintain"), facts(sender_role="admin")).allowed
    assert not decide_gate(Gate(permission="maintain"), facts(sender_role="write")).allowed


def test_fork_author_with_the_fork_permission_needs_no_approval() -> None:
    trusted = facts(fork=True, author="a", author_role="write")
    assert decide_gate(GATE, trusted).allowed
    untrusted = facts(fork=True, author="a", author_role="read")
    decision = decide_gate(GATE, untrusted)
    assert not decision.allowed and decision.awaiting_approval
    assert not decide_gate(Gate(), untrusted).allowed  # no approval label configured
    assert not decide_gate(Gate(), untrusted).awaiting_approval


def test_approval_needs_the_label_and_the_approval_permission() -> None:
    fork = {"fork": True, "author": "a", "author_role": "read"}
    by_writer = decide_gate(GATE, facts(**fork, applied="CI:Approved"))
    assert by_writer.allowed and by_writer.approve_sha == SHA
    strict = Gate(approval_label="ci:approved", approval_permission="admin")
    by_writer_strict = decide_gate(strict, facts(**fork, applied="ci:approved"))
    assert not by_writer_strict.allowed and by_writer_strict.approve_sha is None
    other_label = decide_gate(GATE, facts(**fork, applied="gpu:required"))
    assert not other_label.allowed and other_label.approve_sha is None


def test_a_recorded_approval_holds_for_its_commit_only() -> None:
    fork = {"fork": True, "author": "a", "author_role": "read"}
    assert decide_gate(GATE, facts(**fork, approved_shas=(SHA,))).allowed
    assert not decide_gate(GATE, facts(**fork, approved_shas=("b" * 40,))).allowed
    assert not decide_gate(GATE, facts(**fork, head_sha="", approved_shas=("",))).allowed


@pytest.mark.parametrize(
    ("action", "label", "revokes", "starts"),
    [
        ("labeled", "ci:approved", False, True),
        ("opened", None, False, True),
        ("synchronize", None, True, True),
        ("closed", None, True, False),
        ("unlabeled", "CI:APPROVED", True, False),
        ("unlabeled", "gpu:required", False, False),
        ("edited", None, False, False),
        ("", None, False, True),  # workflow_dispatch and other runs that name a number
    ],
)
def test_what_each_event_action_does(
    action: str, label: str | None, revokes: bool, starts: bool
) -> None:
    assert revokes_approval(GATE, action, label) is revokes
    assert starts_work(action) is starts


def test_unlabeled_revokes_nothing_without_an_approval_label() -> None:
    assert not revokes_approval(Gate(), "unlabeled", "ci:approved")


def test_role_order_at_each_boundary() -> None:
    assert role_at_least("write", "write") and not role_at_least("triage", "write")
    assert role_at_least("admin", "maintain") and not role_at_least("write", "maintain")
    assert not role_at_least("custom-role", "read")  # an unknown name counts as none
    assert role_at_least("none", "none")


def test_dispatches_carry_the_approved_commit() -> None:
    subject = Subject(7, True, "a", ("x",), head_sha="c" * 40)
    workflow = Route("w", ("gpu",), dispatch=Dispatch(workflow="gpu.yml", sha_input="commit"))
    plan = build_plan(workflow, subject, SHA)
    assert plan["sha"] == SHA
    assert plan["dispatch"]["inputs"] == {"number": "7", "commit": SHA}
    event = Route("e", ("gpu",), dispatch=Dispatch(event_type="gpu"))
    assert dispatch_payload(event, subject, SHA)["sha"] == SHA


def test_gate_reasons_exactly() -> None:
    def says(gate: Gate, **overrides: object) -> tuple[object, str, bool, str | None]:
        d = decide_gate(gate, facts(sender="m", **overrides))
        return d.allowed, d.reason, d.awaiting_approval, d.approve_sha

    assert says(GATE, sender_role="read") == (
        False,
        "@m has read access; routing needs write",
        False,
        None,
    )
    assert says(GATE) == (True, "@m has write access", False, None)
    fork = {"fork": True, "author": "c"}
    assert says(GATE, **fork, author_role="admin") == (
        True,
        "fork PR by @c, who has admin access",
        False,
        None,
    )
    assert says(Gate(), **fork, author_role=None) == (
        False,
        "fork PR by @c (none access): the author needs write access (no approval label is "
        "configured)",
        False,
        None,
    )
    assert says(GATE, **fork, author_role="read", applied="ci:approved") == (
        True,
        "commit aaaaaaa approved by @m with `ci:approved`",
        False,
        SHA,
    )
    assert says(GATE, **fork, author_role="read", approved_shas=(SHA,)) == (
        True,
        "commit aaaaaaa was approved with `ci:approved`",
        False,
        None,
    )
    assert says(GATE, **fork, author_role="triage") == (
        False,
        "awaiting approval: fork PR by @c (triage access); someone with write access applies "
        "`ci:approved` to approve commit aaaaaaa (re-apply it after new pushes)",
        True,
        None,
    )
    assert "approve commit (unknown)" in says(GATE, **fork, author_role=None, head_sha=None)[1]
    assert "(none access)" in says(GATE, **fork, author_role=None)[1]


def test_plan_and_payload_exactly() -> None:
    subject = Subject(
        7,
        True,
        "a",
        ("task:training", "gpu:required"),
        title="Speed up",
        head_sha="c" * 40,
        head_repo="a/r",
        base_repo="o/r",
    )
    workflow = Route(
        "gpu",
        ("self-hosted", "gpu"),
        container="img:1.0",
        env=(("EPOCHS", "1"),),
        timeout_minutes=30,
        dispatch=Dispatch(workflow="gpu.yml", ref="main", inputs=(("suite", "smoke"),)),
    )
    assert build_plan(workflow, subject, SHA) == {
        "route": "gpu",
        "runs-on": ["self-hosted", "gpu"],
        "container": "img:1.0",
        "env": {"EPOCHS": "1"},
        "timeout-minutes": 30,
        "number": 7,
        "title": "Speed up",
        "kind": "pull_request",
        "fork": True,
        "sha": SHA,
        "labels": ["task:training", "gpu:required"],
        "dispatch": {
            "workflow": "gpu.yml",
            "ref": "main",
            "inputs": {"suite": "smoke", "number": "7", "sha": SHA},
        },
    }
    event = Route("e", ("gpu",), dispatch=Dispatch(event_type="gpu-run"))
    plain = build_plan(Route("p", ("gpu",)), subject, SHA)
    assert plain["container"] == "" and plain["dispatch"] is None
    assert build_plan(event, subject, SHA)["dispatch"] == {"event-type": "gpu-run"}
    assert dispatch_payload(event, subject, SHA) == {
        "number": 7,
        "route": "e",
        "kind": "pull_request",
        "sha": SHA,
        "labels": ["task:training", "gpu:required"],
    }


def test_match_routes_uses_the_labels_given_over_the_subjects() -> None:
    subject = Subject(1, False, "a", ("a",))
    routes = (route(labels=("a",)), Route("other", ("gpu",), labels=("b",)))
    assert [r.name for r in match_routes(routes, subject)] == ["r"]
    assert [r.name for r in match_routes(routes, subject, ("b",))] == ["other"]


def test_events_parse_every_field() -> None:
    payload = retarget(
        load_event("pull_request.labeled"),
        repo="o/r",
        label="gpu:required",
        author="c",
        sender="m",
        head_repo="c/r",
        labels=["task:training", "gpu:required"],
    )
    pr = payload["pull_request"]
    assert parse_event("pull_request_target", payload) == Event(
        "pull_request_target",
        "labeled",
        "m",
        Subject(
            number=pr["number"],
            is_pull=True,
            author="c",
            labels=("task:training", "gpu:required"),
            title=pr["title"],
            head_sha=pr["head"]["sha"],
            head_repo="c/r",
            base_repo="o/r",
            base_ref=pr["base"]["ref"],
        ),
        "gpu:required",
    )
    issue = load_event("issues.labeled")
    parsed = parse_event("issues", issue)
    assert parsed.subject == Subject(
        number=issue["issue"]["number"],
        is_pull=False,
        author=issue["issue"]["user"]["login"],
        labels=tuple(lb["name"] for lb in issue["issue"]["labels"]),
        title=issue["issue"]["title"],
        base_repo=issue["repository"]["full_name"],
    )
    bare = parse_event("issues", {"issue": {"number": 3, "labels": [{"color": "x"}, "y"]}})
    assert bare == Event("issues", "", "", Subject(3, False, "", (), ""), None)
    assert parse_event("pull_request", {"action": "opened"}) == Event(
        "pull_request", "opened", "", None, None
    )
    no_base_repo = dict(payload, pull_request={**pr, "base": {"ref": "main"}})
    subject = parse_event("pull_request", no_base_repo).subject
    assert subject is not None and subject.base_repo == "o/r" and subject.base_ref == "main"
