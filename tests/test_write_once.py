"""No write is sent twice: every write against a double that applies it but answers late.

The "late" fault applies the request and then answers 502 (a proxy that gave up) or answers
after the client's timeout. GitHub may have done the write, so the client must look before
sending it again; each test counts the writes the double received and the objects it holds.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from mlops_actions.errors import GitHubError
from mlops_actions.github_client import ClientOptions, api_call, connect, send_once
from tests.support.github_double import GitHubDouble
from tests.support.label_dispatch import CONFIG, REPO, Scenario, seeded_scenario
from tests.support.milestones import REPO as RELEASE_REPO
from tests.support.milestones import milestone_event, run_release, seed

DISPATCHES = f"/repos/{REPO}/actions/workflows/*/dispatches"


@pytest.fixture
def scenario(github_double: GitHubDouble, tmp_path: Path) -> Scenario:
    return seeded_scenario(github_double, tmp_path)


def routed_pull(scenario: Scenario) -> tuple[object, dict[str, object]]:
    pull = scenario.pull(["task:training", "gpu:required"], author="writer")
    return pull, scenario.pull_labeled(pull.number, "gpu:required", "maint")


# -- label-dispatch -----------------------------------------------------------------------------


def test_late_answered_comment_is_written_once(scenario: Scenario) -> None:
    pull, event = routed_pull(scenario)
    scenario.double.faults.late(method="POST", path=f"/repos/{REPO}/issues/*/comments")

    result = scenario.run("route", event=event, event_name="pull_request_target")

    assert result.code == 0, result.log
    assert scenario.double.log.count("POST", f"/repos/{REPO}/issues/*/comments") == 1
    assert len(scenario.comments(pull.number)) == 1  # type: ignore[attr-defined]
    assert result.outputs["comment-id"] == str(scenario.repo.issue_comments(pull.number)[0].id)  # type: ignore[attr-defined]


def test_late_answered_comment_edit_is_sent_once(scenario: Scenario) -> None:
    pull, event = routed_pull(scenario)
    scenario.run("route", event=event, event_name="pull_request_target")
    scenario.double.faults.late(method="PATCH", path=f"/repos/{REPO}/issues/comments/*")

    result = scenario.run(
        "report",
        "--number",
        str(pull.number),
        "--status",
        "running",
        "--run-url",
        "https://x/1",  # type: ignore[attr-defined]
    )

    assert result.code == 0, result.log
    assert scenario.double.log.count("PATCH", f"/repos/{REPO}/issues/comments/*") == 1
    [comment] = scenario.comments(pull.number)  # type: ignore[attr-defined]
    assert "**running**" in comment


def test_late_answered_workflow_dispatch_starts_one_run(scenario: Scenario) -> None:
    pull, event = routed_pull(scenario)
    scenario.double.faults.late(method="POST", path=DISPATCHES)

    result = scenario.run("route", event=event, event_name="pull_request_target")

    assert result.code == 0, result.log
    assert len(scenario.repo.dispatches) == 1
    assert scenario.double.log.count("POST", DISPATCHES) == 1
    assert "not sent again" in result.log
    # The record was written before the dispatch: the same event again starts nothing.
    again = scenario.run("route", event=event, event_name="pull_request_target")
    assert again.outputs["routed"] == "false"
    assert len(scenario.repo.dispatches) == 1
    assert len(scenario.comments(pull.number)) == 1  # type: ignore[attr-defined]


def test_late_answered_repository_dispatch_starts_one_run(
    github_double: GitHubDouble, tmp_path: Path
) -> None:
    config = CONFIG.replace(
        "dispatch: {workflow: gpu-train.yml, inputs: {suite: smoke}}",
        "dispatch: {event-type: gpu-training}",
    )
    s = seeded_scenario(github_double, tmp_path, config)
    pull, event = routed_pull(s)
    github_double.faults.late(method="POST", path=f"/repos/{REPO}/dispatches")

    result = s.run("route", event=event, event_name="pull_request_target")

    assert result.code == 0, result.log
    assert github_double.log.count("POST", f"/repos/{REPO}/dispatches") == 1
    [sent] = s.repo.dispatches
    assert sent.client_payload["sha"] == pull.pull.head_sha  # type: ignore[attr-defined]


def test_refused_dispatch_drops_its_record_so_a_later_event_may_start_it(
    scenario: Scenario,
) -> None:
    pull, event = routed_pull(scenario)
    scenario.double.faults.status(403, method="POST", path=DISPATCHES)

    failed = scenario.run("route", event=event, event_name="pull_request_target")

    assert failed.code == 3
    assert scenario.repo.dispatches == []
    retried = scenario.run("route", event=event, event_name="pull_request_target")
    assert retried.outputs["routed"] == "true", retried.log
    assert len(scenario.repo.dispatches) == 1
    assert len(scenario.comments(pull.number)) == 1  # type: ignore[attr-defined]


def test_late_answered_label_create_and_update_happen_once(scenario: Scenario) -> None:
    # type:feature is missing (a create), the seeded labels have other colors (updates).
    scenario.double.faults.late(method="POST", path=f"/repos/{REPO}/labels")
    scenario.double.faults.late(method="PATCH", path=f"/repos/{REPO}/labels/*")

    result = scenario.run("sync", "--no-dry-run")

    assert result.code == 0, result.log
    posts = scenario.double.log.matching("POST", f"/repos/{REPO}/labels")
    patches = scenario.double.log.matching("PATCH", f"/repos/{REPO}/labels/*")
    assert posts and patches
    assert len({json.dumps(e.body, sort_keys=True) for e in posts}) == len(posts)
    assert len({e.path for e in patches}) == len(patches)
    names = scenario.repo.label_names()
    assert len(names) == len({n.casefold() for n in names})
    assert "type:feature" in names
    assert scenario.repo.label("task:training").color == "1d76db"


# -- milestone-release --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [f"/repos/{RELEASE_REPO}/releases", f"/repos/{RELEASE_REPO}/git/refs"],
    ids=["release", "tag-ref"],
)
def test_late_answered_release_and_tag_are_made_once(
    github_double: GitHubDouble, tmp_path: Path, path: str
) -> None:
    seed(github_double.state, items=12)
    github_double.faults.late(method="POST", path=path)

    result = run_release(github_double, tmp_path, event=milestone_event(github_double, 1))

    assert result.code == 0, result.stdout + result.stderr
    assert github_double.log.count("POST", path) == 1
    repo = github_double.state.repo(RELEASE_REPO)
    assert [r.tag_name for r in repo.releases.values()].count("v2.9.0") == 1
    assert "refs/tags/v2.9.0" in repo.refs


def test_late_answered_release_update_is_sent_once(
    github_double: GitHubDouble, tmp_path: Path
) -> None:
    seed(github_double.state, items=12)
    github_double.state.add_release(
        github_double.state.repo(RELEASE_REPO), "v2.9.0", name="old", body="old", draft=True
    )
    github_double.faults.late(method="PATCH", path=f"/repos/{RELEASE_REPO}/releases/*")

    result = run_release(github_double, tmp_path, event=milestone_event(github_double, 1))

    assert result.code == 0, result.stdout + result.stderr
    assert github_double.log.count("PATCH", f"/repos/{RELEASE_REPO}/releases/*") == 1
    release = github_double.state.repo(RELEASE_REPO).release_by_tag("v2.9.0")
    assert release is not None and release.name == "v2.9.0" and not release.draft


# -- the client ---------------------------------------------------------------------------------


def test_a_post_answered_after_the_timeout_is_looked_up_not_resent(
    github_double: GitHubDouble,
) -> None:
    github_double.state.add_repo("acme/trainer")
    github_double.faults.late(delay=1.5, method="POST", path="/repos/acme/trainer/labels")
    options = ClientOptions(
        api_url=github_double.url, timeout=0.5, retries=3, backoff=0.01, write_interval=0
    )
    repo = connect("test-token", options).get_repo("acme/trainer")
    looked: list[str] = []

    def landed() -> object | None:
        looked.append("looked")
        with api_call("reading the label", permission="issues: read"):
            return repo.get_label("gpu:required")

    made = send_once(
        "creating a label",
        permission="issues: write",
        send=lambda: repo.create_label("gpu:required", "b60205"),
        landed=landed,
    )

    assert made.name == "gpu:required"  # type: ignore[attr-defined]
    assert looked == ["looked"]
    # The double logs the late request when it finally answers: wait for it, then count.
    deadline = time.monotonic() + 5
    while not github_double.log.count("POST", "*/labels") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert github_double.log.count("POST", "/repos/acme/trainer/labels") == 1


def test_a_write_that_did_not_land_is_sent_once_more_and_no_more(
    github_double: GitHubDouble,
) -> None:
    github_double.state.add_repo("acme/trainer")
    # The first try is lost before GitHub applies it (502 without effect), the second works.
    github_double.faults.status(502, method="POST", path="/repos/acme/trainer/labels")
    options = ClientOptions(api_url=github_double.url, retries=3, backoff=0.01, write_interval=0)
    repo = connect("test-token", options).get_repo("acme/trainer")

    send_once(
        "creating a label",
        permission="issues: write",
        send=lambda: repo.create_label("gpu:required", "b60205"),
        landed=lambda: None,
    )

    assert github_double.log.count("POST", "/repos/acme/trainer/labels") == 2
    github_double.faults.status(502, method="POST", path="/repos/acme/trainer/labels", times=2)
    with pytest.raises(GitHubError) as caught:
        send_once(
            "creating a label",
            permission="issues: write",
            send=lambda: repo.create_label("other", "b60205"),
            landed=lambda: None,
        )
    assert caught.value.ambiguous
    assert github_double.log.count("POST", "/repos/acme/trainer/labels") == 4


def test_a_refused_write_is_not_looked_up_or_resent(github_double: GitHubDouble) -> None:
    github_double.state.add_repo("acme/trainer")
    github_double.faults.status(422, method="POST", path="/repos/acme/trainer/labels")
    options = ClientOptions(api_url=github_double.url, retries=3, backoff=0.01, write_interval=0)
    repo = connect("test-token", options).get_repo("acme/trainer")
    looked: list[str] = []

    with pytest.raises(GitHubError) as caught:
        send_once(
            "creating a label",
            permission="issues: write",
            send=lambda: repo.create_label("gpu:required", "b60205"),
            landed=lambda: looked.append("x"),  # type: ignore[func-returns-value]
        )

    assert not caught.value.ambiguous
    assert looked == []
    assert github_double.log.count("POST", "/repos/acme/trainer/labels") == 1
