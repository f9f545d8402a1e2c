"""The route mode's whole answer on the API double: outputs, summary, log, report, the marker
comment and the dispatches, for each way an event can go through (or stop at) the gate."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.events import load_event, retarget
from tests.support.github_double import GitHubDouble
from tests.support.label_dispatch import CONFIG, REPO, Result, Scenario, seeded_scenario

MARKER = "<!-- mlops-actions:label-dispatch -->"
STATE = "<!-- mlops-actions:label-dispatch:state "
IMAGE = "pytorch/pytorch:2.4.1-cuda12.1-cudnn9-runtime"
PUSHED = "f" * 40


@pytest.fixture
def scenario(github_double: GitHubDouble, tmp_path: Path) -> Scenario:
    return seeded_scenario(github_double, tmp_path)


def route(s: Scenario, event: dict[str, Any], *args: str, **kw: Any) -> Result:
    return s.run("route", *args, event=event, event_name="pull_request_target", **kw)


def add_label(s: Scenario, number: int, name: str) -> None:
    label = s.repo.label(name)
    assert label is not None
    s.repo.issues[number].label_ids.append(label.id)


def state_of(comment: str) -> dict[str, Any]:
    start = comment.rindex(STATE) + len(STATE)
    data: dict[str, Any] = json.loads(comment[start : comment.index(" -->", start)])
    return data


def gpu_plan(number: int, sha: str, title: str, *, fork: bool = False) -> dict[str, Any]:
    return {
        "route": "gpu-training",
        "runs-on": ["self-hosted", "linux", "gpu"],
        "container": IMAGE,
        "env": {"EPOCHS": "1"},
        "timeout-minutes": 120,
        "number": number,
        "title": title,
        "kind": "pull_request",
        "fork": fork,
        "sha": sha,
        "labels": ["task:training", "gpu:required"],
        "dispatch": {
            "workflow": "gpu-train.yml",
            "ref": None,
            "inputs": {"number": str(number), "sha": sha, "suite": "smoke"},
        },
    }


def test_a_routed_pull_request_whole_answer(scenario: Scenario) -> None:
    pull = scenario.pull(["task:training", "gpu:required"], author="writer")
    scenario.state.add_branch(REPO, "trunk")
    event = scenario.pull_labeled(pull.number, "gpu:required", "maint")
    event["repository"]["default_branch"] = "trunk"
    sha = pull.pull.head_sha

    result = route(scenario, event)

    plan = gpu_plan(pull.number, sha, event["pull_request"]["title"])
    [comment] = scenario.repo.issue_comments(pull.number)
    assert result.code == 0, result.log
    assert result.outputs == {
        "ok": "true",
        "routed": "true",
        "plan": json.dumps(plan, sort_keys=True, separators=(",", ":")),
        "matrix": json.dumps({"include": [plan]}, sort_keys=True, separators=(",", ":")),
        "dispatched": "1",
        "comment-id": str(comment.id),
        "number": str(pull.number),
    }
    assert result.report == {
        "ok": True,
        "allowed": True,
        "reason": "@maint has maintain access",
        "awaiting_approval": False,
        "revoked": False,
        "plans": [plan],
        "skipped": [],
        "dry_run": False,
        "comment_id": comment.id,
    }
    assert result.summary == (
        f"### Routing PR #{pull.number}\n\n@maint has maintain access\n\n"
        "| route | runs-on | container | timeout | starts |\n"
        "| --- | --- | --- | --- | --- |\n"
        f"| `gpu-training` | self-hosted, linux, gpu | {IMAGE} | 120 min | gpu-train.yml |\n\n"
    )
    assert result.log == (
        "@maint has maintain access\n"
        f"route gpu-training: runs-on ['self-hosted', 'linux', 'gpu'] in {IMAGE}\n"
    )
    assert comment.body.startswith(
        f"{MARKER}\n\n### Routing\n\n@maint has maintain access\n\nRoutes: `gpu-training`\n\n"
        f"Started: `gpu-training` at `{sha[:7]}`\n"
    )
    assert state_of(comment.body)["dispatched"] == [f"gpu-training@{sha}"]
    [dispatch] = scenario.repo.dispatches
    assert (dispatch.workflow_id, dispatch.ref) == ("gpu-train.yml", "trunk")
    assert dispatch.inputs == {"number": str(pull.number), "sha": sha, "suite": "smoke"}


def test_the_same_event_again_is_skipped_with_a_notice(scenario: Scenario) -> None:
    pull = scenario.pull(["task:training", "gpu:required"], author="writer")
    event = scenario.pull_labeled(pull.number, "gpu:required", "maint")
    route(scenario, event)
    [first] = scenario.repo.issue_comments(pull.number)

    again = route(scenario, event, env={"GITHUB_RUN_ATTEMPT": ""})

    skipped = f"gpu-training: already started for commit {pull.pull.head_sha[:7]}"
    assert again.outputs["routed"] == "false" and again.outputs["dispatched"] == "0"
    assert again.outputs["plan"] == "{}" and again.outputs["matrix"] == '{"include":[]}'
    assert again.outputs["comment-id"] == str(first.id)
    assert again.report["skipped"] == [skipped]
    assert again.summary == (
        f"### Routing PR #{pull.number}\n\n@maint has maintain access\n\n- not routed: {skipped}\n\n"
    )
    assert again.log == f"@maint has maintain access\nnotice: not routed: {skipped}\n"
    assert len(scenario.repo.dispatches) == 1
    assert scenario.double.log.count("PATCH", "*/issues/comments/*") == 0  # same text


def test_a_fork_author_who_labels_their_own_pr_is_looked_up_once(scenario: Scenario) -> None:
    pull = scenario.pull(["task:training", "gpu:required"], author="writer", fork=True)
    event = scenario.pull_labeled(pull.number, "gpu:required", "writer")

    result = route(scenario, event)

    assert result.report["reason"] == "fork PR by @writer, who has write access"
    assert result.outputs["routed"] == "true"
    assert scenario.double.log.count("GET", "*/collaborators/*") == 1
    plan = json.loads(result.outputs["plan"])
    assert plan["fork"] is True


def test_a_fork_author_with_write_access_needs_no_approval(scenario: Scenario) -> None:
    pull = scenario.pull(["task:training", "gpu:required"], author="writer", fork=True)
    event = scenario.pull_labeled(pull.number, "gpu:required", "maint")

    result = route(scenario, event)

    assert result.report["allowed"] is True
    assert result.report["reason"] == "fork PR by @writer, who has write access"
    assert scenario.double.log.count("GET", "*/collaborators/maint/permission") == 1
    assert scenario.double.log.count("GET", "*/collaborators/writer/permission") == 1


def test_a_refused_sender_gets_a_comment_and_nothing_routes(scenario: Scenario) -> None:
    pull = scenario.pull(["task:training", "gpu:required"], author="contributor", fork=True)
    event = scenario.pull_labeled(pull.number, "gpu:required", "contributor")

    result = route(scenario, event)

    reason = "@contributor has read access; routing needs write"
    [comment] = scenario.repo.issue_comments(pull.number)
    assert result.outputs == {
        "ok": "true",
        "routed": "false",
        "plan": "{}",
        "matrix": '{"include":[]}',
        "dispatched": "0",
        "comment-id": str(comment.id),
        "number": str(pull.number),
    }
    assert result.report["reason"] == reason and result.report["allowed"] is False
    assert result.summary == f"### Routing PR #{pull.number}\n\nNot routed: {reason}\n\n"
    assert result.log == f"Not routed: {reason}\n"
    assert comment.body.startswith(f"{MARKER}\n\n### Routing\n\nNot routed: {reason}\n\n{STATE}")


def test_an_approval_is_recorded_and_the_push_after_it_withdraws_it(scenario: Scenario) -> None:
    pull = scenario.pull(["task:training", "gpu:required"], author="contributor", fork=True)
    sha = pull.pull.head_sha
    add_label(scenario, pull.number, "ci:approved")

    approved = route(scenario, scenario.pull_labeled(pull.number, "ci:approved", "maint"))

    assert approved.report["reason"] == f"commit {sha[:7]} approved by @maint with `ci:approved`"
    [comment] = scenario.repo.issue_comments(pull.number)
    assert state_of(comment.body)["approved"] == [sha]

    pull.pull.head_sha = PUSHED
    push = scenario.pull_labeled(pull.number, "ci:approved", "contributor")
    push["action"] = "synchronize"
    push.pop("label")
    push["pull_request"]["head"]["sha"] = PUSHED

    pushed = route(scenario, push)

    assert pushed.report["revoked"] is True
    assert pushed.report["reason"] == (
        "@contributor has read access; routing needs write; "
        "earlier approvals were withdrawn (synchronize)"
    )
    assert "ci:approved" not in scenario.labels(pull.number)
    assert f"notice: #{pull.number} got new commits: `ci:approved` removed until re-approved\n" in (
        pushed.log
    )
    [comment] = scenario.repo.issue_comments(pull.number)
    state = state_of(comment.body)
    assert state["approved"] == []
    assert state["dispatched"] == [f"gpu-training@{sha}"]
    assert len(scenario.repo.dispatches) == 1


def test_a_dry_run_push_keeps_the_approval_label_and_writes_nothing(scenario: Scenario) -> None:
    pull = scenario.pull(
        ["task:training", "gpu:required", "ci:approved"], author="contributor", fork=True
    )
    push = scenario.pull_labeled(pull.number, "gpu:required", "contributor")
    push["action"] = "synchronize"
    push.pop("label")

    result = route(scenario, push, "--dry-run")

    assert result.report["dry_run"] is True
    assert "ci:approved" in scenario.labels(pull.number)
    assert scenario.double.log.writes() == []


def test_a_push_removes_the_approval_label_whatever_its_case(scenario: Scenario) -> None:
    pull = scenario.pull(["task:training", "gpu:required", "ci:approved"], author="writer")
    push = scenario.pull_labeled(pull.number, "gpu:required", "writer")
    push["action"] = "synchronize"
    push.pop("label")
    for label in push["pull_request"]["labels"]:
        label["name"] = label["name"].replace("ci:approved", "CI:Approved")

    result = route(scenario, push)

    assert "ci:approved" not in scenario.labels(pull.number)
    assert (
        f"notice: #{pull.number} got new commits: `ci:approved` removed until re-approved\n"
        in result.log
    )
    # The push itself is a new commit of a trusted author: it routes.
    assert result.outputs["routed"] == "true"


def test_a_push_to_a_pr_without_the_approval_label_removes_nothing(scenario: Scenario) -> None:
    pull = scenario.pull(["task:training", "gpu:required"], author="writer")
    push = scenario.pull_labeled(pull.number, "gpu:required", "writer")
    push["action"] = "synchronize"
    push.pop("label")

    result = route(scenario, push)

    assert scenario.double.log.count("DELETE", "*/labels/*") == 0
    assert "removed until re-approved" not in result.log
    assert scenario.labels(pull.number) == ["task:training", "gpu:required"]


def test_a_push_without_an_approval_label_configured_removes_nothing(
    github_double: GitHubDouble, tmp_path: Path
) -> None:
    s = seeded_scenario(
        github_double, tmp_path, CONFIG.replace('    approval-label: "ci:approved"\n', "")
    )
    pull = s.pull(["task:training", "gpu:required", "ci:approved"], author="writer")
    push = s.pull_labeled(pull.number, "gpu:required", "writer")
    push["action"] = "synchronize"
    push.pop("label")

    result = route(s, push)

    assert result.code == 0, result.log
    assert github_double.log.count("DELETE", "*/labels/*") == 0


def test_a_closed_pr_starts_nothing_and_an_untouched_one_gets_no_comment(
    scenario: Scenario,
) -> None:
    pull = scenario.pull(["task:training", "gpu:required"], author="writer")
    closed = scenario.pull_labeled(pull.number, "gpu:required", "maint")
    closed["action"] = "closed"

    result = route(scenario, closed)

    assert result.report["reason"] == "a `closed` event starts nothing"
    assert result.report["revoked"] is False  # nothing was approved
    assert result.summary == (
        f"### Routing PR #{pull.number}\n\nNot routed: a `closed` event starts nothing\n\n"
    )
    assert scenario.repo.issue_comments(pull.number) == []
    assert result.outputs["comment-id"] == ""
    assert scenario.double.log.count("GET", "*/collaborators/*") == 0


def test_an_event_that_starts_nothing_keeps_the_recorded_gate(scenario: Scenario) -> None:
    pull = scenario.pull(["task:training", "gpu:required"], author="writer")
    route(scenario, scenario.pull_labeled(pull.number, "gpu:required", "maint"))
    [before] = scenario.repo.issue_comments(pull.number)
    unlabeled = scenario.pull_labeled(pull.number, "type:bug", "maint")
    unlabeled["action"] = "unlabeled"

    result = route(scenario, unlabeled)

    assert result.report["reason"] == "a `unlabeled` event starts nothing"
    [after] = scenario.repo.issue_comments(pull.number)
    assert after.body == before.body
    assert state_of(after.body)["gate"] == "@maint has maintain access"
    assert state_of(after.body)["routes"] == ["gpu-training"]


def test_no_matching_route_is_said(scenario: Scenario) -> None:
    number = scenario.issue(["task:docs"])
    result = scenario.run(
        "route", event=scenario.issues_labeled(number, "task:docs", "writer"), event_name="issues"
    )
    text = "@writer has write access; no route matches the labels"
    assert result.report["reason"] == "@writer has write access"
    assert result.summary == f"### Routing issue #{number}\n\n{text}\n\n"
    assert result.log == f"{text}\n"
    assert scenario.repo.issue_comments(number) == []  # nothing to record


def test_a_missing_required_category_is_named_per_route(
    github_double: GitHubDouble, tmp_path: Path
) -> None:
    config = CONFIG.replace(
        'when: {labels: ["task:eval"], not-labels: ["gpu:required"]}',
        'when: {any-labels: ["type:bug"]}',
    )
    s = seeded_scenario(github_double, tmp_path, config)
    number = s.issue(["type:bug"])

    result = s.run(
        "route", event=s.issues_labeled(number, "type:bug", "writer"), event_name="issues"
    )

    skipped = "cpu-eval: missing a label of category task"
    assert result.report["skipped"] == [skipped]
    assert result.report["plans"] == []
    assert result.log == f"@writer has write access\nnotice: not routed: {skipped}\n"


def test_an_issue_routes_without_dispatch_in_a_dry_run(scenario: Scenario) -> None:
    number = scenario.issue(["task:eval"])
    event = scenario.issues_labeled(number, "task:eval", "writer")

    result = scenario.run("route", "--dry-run", event=event, event_name="issues")

    plan = json.loads(result.outputs["plan"])
    assert plan == {
        "route": "cpu-eval",
        "runs-on": ["ubuntu-latest"],
        "container": "",
        "env": {},
        "timeout-minutes": 60,
        "number": number,
        "title": event["issue"]["title"],
        "kind": "issues",
        "fork": False,
        "sha": "0" * 40,  # GITHUB_SHA: an issue has no head
        "labels": ["task:eval"],
        "dispatch": None,
    }
    assert result.summary == (
        f"### Routing issue #{number} (dry run)\n\n@writer has write access\n\n"
        "| route | runs-on | container | timeout | starts |\n"
        "| --- | --- | --- | --- | --- |\n"
        "| `cpu-eval` | ubuntu-latest | — | 60 min | — |\n\n"
    )
    assert result.log == "@writer has write access\nroute cpu-eval: runs-on ['ubuntu-latest']\n"
    assert result.outputs["dispatched"] == "0" and result.outputs["comment-id"] == ""
    assert scenario.double.log.writes() == []


def test_a_workflow_dispatch_run_routes_the_numbered_pr_as_the_actor(scenario: Scenario) -> None:
    pull = scenario.pull(["task:training", "gpu:required"], author="writer")
    event = retarget(
        load_event("workflow_dispatch"), repo=REPO, sender="", api_url=scenario.double.url
    )
    event.pop("sender", None)

    result = scenario.run(
        "route",
        "--number",
        str(pull.number),
        event=event,
        event_name="workflow_dispatch",
        env={"GITHUB_ACTOR": "maint"},
    )

    assert result.report["reason"] == "@maint has maintain access", result.log
    plan = json.loads(result.outputs["plan"])
    assert plan["sha"] == pull.pull.head_sha
    assert len(scenario.repo.dispatches) == 1


def test_repository_dispatch_routes_carry_the_commit(
    github_double: GitHubDouble, tmp_path: Path
) -> None:
    config = CONFIG.replace(
        "dispatch: {workflow: gpu-train.yml, inputs: {suite: smoke}}",
        "dispatch: {event-type: gpu-run}",
    )
    s = seeded_scenario(github_double, tmp_path, config)
    pull = s.pull(["task:training", "gpu:required"], author="writer")

    result = route(s, s.pull_labeled(pull.number, "gpu:required", "maint"))

    sha = pull.pull.head_sha
    assert json.loads(result.outputs["plan"])["dispatch"] == {"event-type": "gpu-run"}
    assert "| 120 min | gpu-run |" in result.summary
    [sent] = s.repo.dispatches
    assert sent.event_type == "gpu-run"
    assert sent.client_payload == {
        "number": pull.number,
        "route": "gpu-training",
        "kind": "pull_request",
        "sha": sha,
        "labels": ["task:training", "gpu:required"],
    }


def test_a_configured_dispatch_ref_wins(github_double: GitHubDouble, tmp_path: Path) -> None:
    config = CONFIG.replace(
        "dispatch: {workflow: gpu-train.yml, inputs: {suite: smoke}}",
        "dispatch: {workflow: gpu-train.yml, ref: release}",
    )
    s = seeded_scenario(github_double, tmp_path, config)
    s.state.add_branch(REPO, "release")
    pull = s.pull(["task:training", "gpu:required"], author="writer")
    event = s.pull_labeled(pull.number, "gpu:required", "maint")
    del event["repository"]["default_branch"]

    route(s, event)

    [sent] = s.repo.dispatches
    assert sent.ref == "release"


def test_without_a_default_branch_dispatches_go_to_main(scenario: Scenario) -> None:
    pull = scenario.pull(["task:training", "gpu:required"], author="writer")
    event = scenario.pull_labeled(pull.number, "gpu:required", "maint")
    del event["repository"]["default_branch"]

    route(scenario, event)

    [sent] = scenario.repo.dispatches
    assert sent.ref == "main"


def test_an_event_about_something_else_routes_the_numbered_issue(scenario: Scenario) -> None:
    number = scenario.issue(["task:eval"])
    event = {"action": "created", "sender": {"login": "writer"}}

    result = scenario.run("route", "--number", str(number), event=event, event_name="issue_comment")

    assert result.report["reason"] == "@writer has write access", result.log
    assert result.outputs["routed"] == "true"


def test_an_issue_without_a_commit_routes_with_an_empty_sha(scenario: Scenario) -> None:
    number = scenario.issue(["task:eval"])
    result = scenario.run(
        "route",
        event=scenario.issues_labeled(number, "task:eval", "writer"),
        event_name="issues",
        env={"GITHUB_SHA": ""},
    )
    assert json.loads(result.outputs["plan"])["sha"] == ""


def test_without_an_event_file_dispatches_go_to_main(scenario: Scenario) -> None:
    pull = scenario.pull(["task:training", "gpu:required"], author="writer")

    result = scenario.run("route", "--number", str(pull.number), env={"GITHUB_ACTOR": "maint"})

    assert result.code == 0, result.log
    [sent] = scenario.repo.dispatches
    assert sent.ref == "main"


def test_a_dispatch_answered_late_is_not_sent_again_and_says_so(scenario: Scenario) -> None:
    pull = scenario.pull(["task:training", "gpu:required"], author="writer")
    scenario.double.faults.late(method="POST", path=f"/repos/{REPO}/actions/workflows/*/dispatches")

    result = route(scenario, scenario.pull_labeled(pull.number, "gpu:required", "maint"))

    assert result.code == 0
    assert "warning: route gpu-training: GitHub did not answer the dispatch in time (" in result.log
    assert (
        "it may have started, so it is not sent again. If no run appears, re-run this workflow.\n"
        in result.log
    )
    [comment] = scenario.repo.issue_comments(pull.number)
    assert state_of(comment.body)["dispatched"] == [f"gpu-training@{pull.pull.head_sha}"]


def test_a_refused_dispatch_leaves_the_record_without_it(scenario: Scenario) -> None:
    pull = scenario.pull(["task:training", "gpu:required"], author="writer")
    scenario.double.faults.status(
        403, method="POST", path=f"/repos/{REPO}/actions/workflows/*/dispatches"
    )

    result = route(scenario, scenario.pull_labeled(pull.number, "gpu:required", "maint"))

    assert result.code == 3
    [comment] = scenario.repo.issue_comments(pull.number)
    state = state_of(comment.body)
    assert state["dispatched"] == []
    assert state["routes"] == ["gpu-training"]
    assert "Started:" not in comment.body
