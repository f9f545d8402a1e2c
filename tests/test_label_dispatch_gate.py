"""The GPU gate against the API double: approvals per commit, revocation, the base config.

Each test pins one decision so that flipping it in the code fails the test: a push after
approval needs a new approval, removing the approval label withdraws it, closing starts
nothing, the config comes from `config-ref` (never the PR's own copy), roles are read as
GitHub reports them (custom roles by their base, unknown users as none).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.github_double import GitHubDouble
from tests.support.label_dispatch import CONFIG, REPO, Scenario, seeded_scenario

PUSHED = "f" * 40


@pytest.fixture
def scenario(github_double: GitHubDouble, tmp_path: Path) -> Scenario:
    return seeded_scenario(github_double, tmp_path)


def add_label(s: Scenario, number: int, name: str) -> None:
    s.repo.issues[number].label_ids.append(s.repo.label(name).id)


def event_of(s: Scenario, number: int, action: str, label: str, sender: str) -> dict[str, Any]:
    """GitHub's pull_request.labeled example, re-aimed; other actions keep its shape."""
    event = s.pull_labeled(number, label, sender)
    event["action"] = action
    if action in ("synchronize", "closed"):
        event.pop("label", None)
    return event


def route(s: Scenario, event: dict[str, Any], *args: str) -> Any:
    return s.run("route", *args, event=event, event_name="pull_request_target")


def approved_fork_pull(s: Scenario) -> Any:
    pull = s.pull(["task:training", "gpu:required"], author="contributor", fork=True)
    add_label(s, pull.number, "ci:approved")
    approved = route(s, event_of(s, pull.number, "labeled", "ci:approved", "maint"))
    assert approved.outputs["routed"] == "true", approved.log
    assert len(s.repo.dispatches) == 1
    return pull


def test_a_push_after_approval_needs_a_new_approval(scenario: Scenario) -> None:
    pull = approved_fork_pull(scenario)
    old_sha = pull.pull.head_sha
    pull.pull.head_sha = PUSHED
    push = event_of(scenario, pull.number, "synchronize", "", "contributor")
    push["pull_request"]["head"]["sha"] = PUSHED

    pushed = route(scenario, push)

    assert pushed.outputs["routed"] == "false"
    assert pushed.report["allowed"] is False  # the pusher (the fork's author) may not route
    assert pushed.report["revoked"] is True
    # The approval label is taken off so that approving the new commit is one click.
    assert "ci:approved" not in scenario.labels(pull.number)
    assert len(scenario.repo.dispatches) == 1
    # A label event delivered late, still naming the approved commit: the approval is gone.
    late = route(scenario, event_of(scenario, pull.number, "labeled", "type:bug", "writer"))
    assert late.report["allowed"] is False and late.report["awaiting_approval"] is True
    assert old_sha not in json.dumps(late.report["plans"])

    # Approving the new commit routes it, and the plan carries exactly that commit.
    add_label(scenario, pull.number, "ci:approved")
    again_event = event_of(scenario, pull.number, "labeled", "ci:approved", "maint")
    again_event["pull_request"]["head"]["sha"] = PUSHED
    again = route(scenario, again_event)
    assert again.outputs["routed"] == "true", again.log
    assert json.loads(again.outputs["plan"])["sha"] == PUSHED
    assert scenario.repo.dispatches[-1].inputs["sha"] == PUSHED
    assert len(scenario.repo.dispatches) == 2


def test_removing_the_approval_label_withdraws_the_approval(scenario: Scenario) -> None:
    pull = approved_fork_pull(scenario)
    labels = scenario.repo.issues[pull.number].label_ids
    labels.remove(scenario.repo.label("ci:approved").id)

    removed = route(scenario, event_of(scenario, pull.number, "unlabeled", "ci:approved", "maint"))

    assert removed.outputs["routed"] == "false"
    assert removed.report["revoked"] is True
    assert "withdrawn" in scenario.comments(pull.number)[0]
    # The same commit, another label: no longer approved.
    later = route(scenario, event_of(scenario, pull.number, "labeled", "type:bug", "writer"))
    assert later.report["allowed"] is False
    assert later.report["awaiting_approval"] is True


def test_removing_another_label_starts_and_withdraws_nothing(scenario: Scenario) -> None:
    pull = approved_fork_pull(scenario)
    scenario.double.log.clear()

    removed = route(scenario, event_of(scenario, pull.number, "unlabeled", "type:bug", "maint"))

    assert removed.outputs["routed"] == "false"
    assert removed.report["revoked"] is False
    assert scenario.double.log.writes() == []
    later = route(scenario, event_of(scenario, pull.number, "labeled", "type:bug", "writer"))
    assert later.report["allowed"] is True  # the approval of this commit stands


def test_closing_starts_nothing_and_withdraws_approvals(scenario: Scenario) -> None:
    pull = approved_fork_pull(scenario)
    scenario.double.log.clear()

    closed = route(scenario, event_of(scenario, pull.number, "closed", "", "maint"))

    assert closed.outputs["routed"] == "false"
    assert closed.report["revoked"] is True
    assert scenario.double.log.count("GET", "*/collaborators/*") == 0  # nobody's role matters
    assert len(scenario.repo.dispatches) == 1


def test_an_unlabeled_same_repo_pr_does_not_route(scenario: Scenario) -> None:
    pull = scenario.pull(["task:training", "gpu:required"], author="writer")

    result = route(scenario, event_of(scenario, pull.number, "unlabeled", "type:bug", "maint"))

    assert result.outputs["routed"] == "false"
    assert scenario.repo.dispatches == []


def test_the_gate_comes_from_config_ref_not_the_prs_own_copy(scenario: Scenario) -> None:
    strict = CONFIG.replace("    permission: write\n", "    permission: admin\n")
    assert strict != CONFIG
    base = scenario.state.add_commit(REPO, "gate", files={".github/mlops.yml": strict})
    # The PR's own copy (the checkout on disk) would let a writer route.
    pull = scenario.pull(["task:training", "gpu:required"], author="writer")

    result = route(
        scenario,
        event_of(scenario, pull.number, "labeled", "gpu:required", "writer"),
        "--config-ref",
        base.sha,
    )

    assert result.outputs["routed"] == "false"
    assert "routing needs admin" in result.report["reason"]
    assert scenario.repo.dispatches == []
    assert scenario.double.log.count("GET", f"/repos/{REPO}/contents/*") == 1


def test_an_approval_permission_stricter_than_the_senders_does_not_approve(
    tmp_path: Path, github_double: GitHubDouble
) -> None:
    config = CONFIG.replace(
        '    approval-label: "ci:approved"\n',
        '    approval-label: "ci:approved"\n    approval-permission: admin\n',
    )
    s = seeded_scenario(github_double, tmp_path, config)
    pull = s.pull(["task:training", "gpu:required", "ci:approved"], author="contributor", fork=True)

    by_maintainer = route(s, event_of(s, pull.number, "labeled", "ci:approved", "maint"))

    assert by_maintainer.report["awaiting_approval"] is True
    assert s.repo.dispatches == []
    s.state.set_permission(s.repo, "owner-admin", "admin")
    by_admin = route(s, event_of(s, pull.number, "labeled", "ci:approved", "owner-admin"))
    assert by_admin.outputs["routed"] == "true", by_admin.log


def test_a_custom_role_counts_as_its_base_permission(scenario: Scenario) -> None:
    scenario.state.add_custom_role(scenario.repo, "ml-reviewer", "read")
    scenario.state.set_permission(scenario.repo, "reviewer", "ml-reviewer")
    scenario.state.add_custom_role(scenario.repo, "ml-lead", "maintain")
    scenario.state.set_permission(scenario.repo, "lead", "ml-lead")
    pull = scenario.pull(["task:training", "gpu:required"], author="writer")

    reviewer = route(
        scenario, event_of(scenario, pull.number, "labeled", "gpu:required", "reviewer")
    )
    assert reviewer.outputs["routed"] == "false"
    assert "@reviewer has read access" in reviewer.report["reason"]

    lead = route(scenario, event_of(scenario, pull.number, "labeled", "gpu:required", "lead"))
    assert lead.outputs["routed"] == "true", lead.log


def test_an_unknown_sender_has_no_access(scenario: Scenario) -> None:
    pull = scenario.pull(["task:training", "gpu:required"], author="writer")

    result = route(scenario, event_of(scenario, pull.number, "labeled", "gpu:required", "ghost-x"))

    assert result.outputs["routed"] == "false"
    assert "@ghost-x has none access" in result.report["reason"]
    assert scenario.double.log.count("GET", "*/collaborators/ghost-x/permission") == 1
