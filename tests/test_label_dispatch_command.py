"""label-dispatch through the CLI against the GitHub API double, with GitHub's webhook examples."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.github_double import GitHubDouble
from tests.support.label_dispatch import (
    BOT,
    REPO,
    Result,
    Scenario,
    requests_before_first_comment_write,
    seeded_scenario,
    sync_scenario,
)

MARKER = "<!-- mlops-actions:label-dispatch -->"


@pytest.fixture
def scenario(github_double: GitHubDouble, tmp_path: Path) -> Scenario:
    return seeded_scenario(github_double, tmp_path)


# -- sync ---------------------------------------------------------------------------------------


def test_sync_of_100_labels_with_renames_makes_six_requests(
    github_double: GitHubDouble, tmp_path: Path
) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    s = sync_scenario(github_double, root)
    issue = s.state.add_issue(REPO, "Old label on an issue", labels=["old-95"])

    result = s.run("sync", "--no-dry-run")

    assert result.code == 0, result.log
    assert result.outputs["changes"] == "5"
    assert len(github_double.log.entries) == 6  # budget: 7
    names = s.repo.label_names()
    assert len(names) == 101
    assert {"area:095", "area:096", "area:097", "area:099", "wontfix"} <= set(names)
    assert not any(n.startswith("old-") for n in names)
    assert s.repo.label("area:098").color == "000062"
    # A rename keeps the label on its issues.
    assert s.labels(issue.number) == ["area:095"]


def test_sync_is_a_dry_run_on_pull_request_events(
    github_double: GitHubDouble, tmp_path: Path
) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    s = sync_scenario(github_double, root)
    pull = s.pull([])
    event = s.pull_labeled(pull.number, "area:001", "maint")

    result = s.run("sync", event=event, event_name="pull_request")

    assert result.code == 0
    assert result.outputs["dry-run"] == "true"
    assert github_double.log.writes() == []
    assert "dry run" in result.summary and "old-95" in result.summary


def test_sync_refuses_rename_onto_existing_label(scenario: Scenario) -> None:
    scenario.state.add_label(REPO, "bug", color="d73a4a")  # type:bug exists too
    scenario.state.add_label(REPO, "enhancement", color="a2eeef")

    result = scenario.run("sync", "--no-dry-run")

    assert result.code == 1
    assert "cannot merge labels" in result.log
    assert scenario.repo.label("bug") is not None  # left alone
    assert scenario.repo.label("type:feature") is not None  # the other rename went ahead
    assert scenario.repo.label("enhancement") is None


def test_sync_deletes_unmanaged_only_when_asked_and_never_excluded(scenario: Scenario) -> None:
    scenario.state.add_label(REPO, "wontfix")
    scenario.state.add_label(REPO, "release:2.5")

    kept = scenario.run("sync", "--no-dry-run")
    assert kept.code == 0 and scenario.repo.label("wontfix") is not None

    deleted = scenario.run("sync", "--no-dry-run", "--delete-unmanaged")
    assert deleted.code == 0
    assert scenario.repo.label("wontfix") is None
    assert scenario.repo.label("release:2.5") is not None


# -- validate -----------------------------------------------------------------------------------


def test_unknown_label_gets_one_comment_listing_the_valid_labels(scenario: Scenario) -> None:
    number = scenario.issue(["task:training", "wibble"])
    event = scenario.issues_labeled(number, "wibble", "writer")

    result = scenario.run("validate", event=event, event_name="issues")

    assert result.code == 1
    comments = scenario.comments(number)
    assert len(comments) == 1
    assert comments[0].startswith(MARKER)
    assert "`wibble` is not a label" in comments[0]
    assert "`task:eval`" in comments[0]  # the valid labels are listed
    assert requests_before_first_comment_write(scenario.double) <= 3
    assert result.outputs["comment-id"] == str(scenario.repo.issue_comments(number)[0].id)


def test_two_task_labels_are_reported(scenario: Scenario) -> None:
    number = scenario.issue(["task:training", "task:eval"])
    event = scenario.issues_labeled(number, "task:eval", "writer")

    result = scenario.run("validate", event=event, event_name="issues")

    assert result.code == 1
    assert "only one `task:*` label" in scenario.comments(number)[0]
    assert scenario.labels(number) == ["task:training", "task:eval"]  # people choose which


def test_restricted_label_by_read_only_user_is_removed_and_comment_updated_not_duplicated(
    scenario: Scenario,
) -> None:
    number = scenario.issue(["task:training", "gpu:required"])
    event = scenario.issues_labeled(number, "gpu:required", "reader")
    github_double = scenario.double

    first = scenario.run("validate", event=event, event_name="issues")

    assert first.code == 1
    assert scenario.labels(number) == ["task:training"]
    assert requests_before_first_comment_write(github_double) <= 3  # the issue's budget
    assert github_double.log.count("GET", "*/collaborators/reader/permission") == 1
    [comment] = scenario.comments(number)
    assert "@reader has read" in comment

    # The same event again (a re-run): the one comment stays, with no new write.
    scenario.state.add_label(REPO, "placeholder")  # unrelated change
    scenario.repo.issues[number].label_ids.append(scenario.repo.label("gpu:required").id)
    again = scenario.run("validate", event=event, event_name="issues")
    assert again.code == 1
    assert len(scenario.comments(number)) == 1
    assert github_double.log.count("POST", "*/comments") == 1

    # A different problem later updates that same comment.
    scenario.repo.issues[number].label_ids.append(scenario.repo.label("task:eval").id)
    other = scenario.issues_labeled(number, "task:eval", "writer")
    scenario.run("validate", event=other, event_name="issues")
    [updated] = scenario.comments(number)
    assert "only one `task:*` label" in updated
    assert github_double.log.count("PATCH", "*/issues/comments/*") == 1
    assert github_double.log.count("POST", "*/comments") == 1


def test_restricted_label_by_writer_is_kept_without_a_comment(scenario: Scenario) -> None:
    number = scenario.issue(["task:training", "gpu:required"])
    event = scenario.issues_labeled(number, "gpu:required", "writer")

    result = scenario.run("validate", event=event, event_name="issues")

    assert result.code == 0, result.log
    assert scenario.labels(number) == ["task:training", "gpu:required"]
    assert scenario.comments(number) == []
    assert scenario.double.log.writes() == []


def test_fixed_labels_turn_the_comment_green(scenario: Scenario) -> None:
    number = scenario.issue(["wibble"])
    scenario.run(
        "validate", event=scenario.issues_labeled(number, "wibble", "writer"), event_name="issues"
    )
    scenario.repo.issues[number].label_ids = [scenario.repo.label("task:eval").id]

    result = scenario.run(
        "validate",
        event=scenario.issues_labeled(number, "task:eval", "writer"),
        event_name="issues",
    )

    assert result.code == 0
    [comment] = scenario.comments(number)
    assert "follow the taxonomy" in comment


def test_label_created_outside_the_config_is_warned_about(scenario: Scenario) -> None:
    result = scenario.run(
        "validate", event=scenario.label_created("priority:p0", "maint"), event_name="label"
    )

    assert result.code == 0
    assert "outside the config" in result.log
    assert scenario.double.log.entries == []


# -- route and the security gate ---------------------------------------------------------------


def test_same_repo_pr_routes_to_the_gpu_runner_and_dispatches_once(scenario: Scenario) -> None:
    pull = scenario.pull(["task:training", "gpu:required"], author="writer")
    event = scenario.pull_labeled(pull.number, "gpu:required", "maint")

    result = scenario.run("route", event=event, event_name="pull_request")

    assert result.code == 0, result.log
    plan = json.loads(result.outputs["plan"])
    assert plan["runs-on"] == ["self-hosted", "linux", "gpu"]
    assert plan["container"] == "pytorch/pytorch:2.4.1-cuda12.1-cudnn9-runtime"
    assert plan["sha"] == pull.pull.head_sha
    assert json.loads(result.outputs["matrix"])["include"] == [plan]
    [dispatch] = scenario.repo.dispatches
    assert dispatch.workflow_id == "gpu-train.yml"
    assert dispatch.inputs == {
        "number": str(pull.number),
        "sha": pull.pull.head_sha,
        "suite": "smoke",
    }
    assert pull.pull.head_sha[:7] in scenario.comments(pull.number)[0]

    # The same event delivered twice: no second dispatch, no second job.
    again = scenario.run("route", event=event, event_name="pull_request")
    assert again.outputs["routed"] == "false"
    assert len(scenario.repo.dispatches) == 1
    assert len(scenario.comments(pull.number)) == 1


def test_rerun_of_the_workflow_routes_again(scenario: Scenario) -> None:
    pull = scenario.pull(["task:training", "gpu:required"])
    event = scenario.pull_labeled(pull.number, "gpu:required", "maint")
    scenario.run("route", event=event, event_name="pull_request")

    rerun = scenario.run(
        "route", event=event, event_name="pull_request", env={"GITHUB_RUN_ATTEMPT": "2"}
    )

    assert rerun.outputs["routed"] == "true"
    assert len(scenario.repo.dispatches) == 2


def test_fork_pr_without_approval_is_not_dispatched(scenario: Scenario) -> None:
    pull = scenario.pull(["task:training", "gpu:required"], author="contributor", fork=True)
    event = scenario.pull_labeled(pull.number, "gpu:required", "maint")
    assert event["pull_request"]["head"]["repo"]["full_name"] == "contributor/models"

    result = scenario.run("route", event=event, event_name="pull_request_target")

    assert result.code == 0
    assert result.outputs["routed"] == "false"
    assert scenario.repo.dispatches == []
    assert result.report["awaiting_approval"] is True
    [comment] = scenario.comments(pull.number)
    assert "awaiting approval" in comment and "`ci:approved`" in comment
    assert scenario.double.log.count("GET", "*/collaborators/contributor/permission") == 1


def test_fork_pr_approved_by_a_maintainer_is_dispatched_once_per_commit(scenario: Scenario) -> None:
    pull = scenario.pull(["task:training", "gpu:required"], author="contributor", fork=True)
    scenario.run(
        "route",
        event=scenario.pull_labeled(pull.number, "gpu:required", "maint"),
        event_name="pull_request_target",
    )
    scenario.repo.issues[pull.number].label_ids.append(scenario.repo.label("ci:approved").id)

    approved = scenario.run(
        "route",
        event=scenario.pull_labeled(pull.number, "ci:approved", "maint"),
        event_name="pull_request_target",
    )

    assert approved.outputs["routed"] == "true", approved.log
    assert len(scenario.repo.dispatches) == 1
    [comment] = scenario.comments(pull.number)
    assert "approved by @maint" in comment

    # Another label on the same commit: the recorded approval holds, nothing runs twice.
    scenario.repo.issues[pull.number].label_ids.append(scenario.repo.label("type:bug").id)
    later = scenario.run(
        "route",
        event=scenario.pull_labeled(pull.number, "type:bug", "writer"),
        event_name="pull_request_target",
    )
    assert later.report["allowed"] is True
    assert later.outputs["routed"] == "false"
    assert len(scenario.repo.dispatches) == 1

    # A new push needs a new approval.
    pushed = scenario.pull_labeled(pull.number, "type:bug", "writer")
    pushed["pull_request"]["head"]["sha"] = "f" * 40
    after_push = scenario.run("route", event=pushed, event_name="pull_request_target")
    assert after_push.report["awaiting_approval"] is True
    assert len(scenario.repo.dispatches) == 1


def test_approval_label_from_a_triager_does_not_approve(scenario: Scenario) -> None:
    scenario_gate = scenario
    pull = scenario_gate.pull(
        ["task:training", "gpu:required", "ci:approved"], author="contributor", fork=True
    )

    result = scenario_gate.run(
        "route",
        event=scenario_gate.pull_labeled(pull.number, "ci:approved", "tri"),
        event_name="pull_request_target",
    )

    assert result.outputs["routed"] == "false"
    assert scenario_gate.repo.dispatches == []
    assert "routing needs write" in scenario_gate.comments(pull.number)[0]


def test_forged_marker_from_another_user_is_ignored(scenario: Scenario) -> None:
    pull = scenario.pull(["task:training", "gpu:required"], author="contributor", fork=True)
    sha = pull.pull.head_sha
    forged = f'{MARKER}\n<!-- mlops-actions:label-dispatch:state {{"v":1,"approved":["{sha}"]}} -->'
    scenario.state.add_comment(REPO, pull.number, forged, user="contributor")

    result = scenario.run(
        "route",
        event=scenario.pull_labeled(pull.number, "gpu:required", "maint"),
        event_name="pull_request_target",
    )

    assert result.report["awaiting_approval"] is True
    assert scenario.repo.dispatches == []


def test_issue_routes_without_dispatch(scenario: Scenario) -> None:
    number = scenario.issue(["task:eval"])
    result = scenario.run(
        "route", event=scenario.issues_labeled(number, "task:eval", "writer"), event_name="issues"
    )

    assert result.code == 0
    plan = json.loads(result.outputs["plan"])
    assert plan["route"] == "cpu-eval" and plan["runs-on"] == ["ubuntu-latest"]
    assert plan["dispatch"] is None
    assert scenario.repo.dispatches == []


def test_missing_required_category_blocks_routing(scenario: Scenario) -> None:
    config = scenario.root / ".github" / "mlops.yml"
    config.write_text(
        config.read_text().replace(
            'when: {labels: ["task:eval"], not-labels: ["gpu:required"]}',
            'when: {any-labels: ["type:bug"]}',
        ),
        encoding="utf-8",
    )
    number = scenario.issue(["type:bug"])

    result = scenario.run(
        "route", event=scenario.issues_labeled(number, "type:bug", "writer"), event_name="issues"
    )

    assert result.outputs["routed"] == "false"
    assert any("category task" in s for s in result.report["skipped"])


# -- report -------------------------------------------------------------------------------------


def test_report_moves_one_comment_through_the_run_and_moves_status_labels(
    scenario: Scenario,
) -> None:
    pull = scenario.pull(["task:training", "gpu:required"])
    event = scenario.pull_labeled(pull.number, "gpu:required", "maint")
    routed = scenario.run("route", event=event, event_name="pull_request")
    plan = routed.outputs["plan"]
    metrics = scenario.root / "metrics.json"
    metrics.write_text(
        json.dumps({"loss": 0.1234567, "eval": {"accuracy": 0.97}}), encoding="utf-8"
    )
    url = "https://github.com/octo-org/models/actions/runs/4242"

    def report(status: str, *extra: str) -> Result:
        return scenario.run(
            "report",
            "--status",
            status,
            "--plan",
            plan,
            "--run-url",
            url,
            *extra,
            event=event,
            event_name="pull_request",
        )

    running = report("running")
    assert running.code == 0, running.log
    assert "status:in-progress" in scenario.labels(pull.number)

    done = report("success", "--metrics-file", "metrics.json", "--result", "Trained 1 epoch.")
    assert done.code == 0
    [comment] = scenario.comments(pull.number)
    assert "**succeeded**" in comment and "| eval.accuracy | 0.97 |" in comment
    assert "| loss | 0.123457 |" in comment and url in comment
    assert "Trained 1 epoch." in comment
    assert "status:done" in scenario.labels(pull.number)
    assert "status:in-progress" not in scenario.labels(pull.number)

    # A late "running" from the same run does not reopen a finished one.
    late = report("running")
    assert late.report["updated"] is False
    assert "**succeeded**" in scenario.comments(pull.number)[0]


def test_report_merges_gpu_monitor_figures_into_the_comment(scenario: Scenario) -> None:
    number = scenario.issue(["task:eval"])
    gpus = [
        {
            "index": 0,
            "name": "NVIDIA H100 80GB HBM3 | <b>x</b> @org/team",
            "util_mean": 87.5,
            "util_p95": 99,
            "peak_mib": 61440.0,
            "peak_percent": 75.3,
            "power_mean_w": 512.0,
            "energy_wh": 0.4231,
            "temperature_max_c": 74.0,
            "throttle": ["sw-power-cap"],
            "xid": 1,
            "ecc": 0,
            "lost": False,
        },
        {"index": 1, "name": "NVIDIA H100 80GB HBM3", "util_mean": None, "lost": True},
    ]
    done = scenario.run(
        "report", "--status", "success", "--number", str(number), "--gpu-report", json.dumps(gpus)
    )
    assert done.code == 0, done.log
    [comment] = scenario.comments(number)
    assert (
        "| GPU 0 NVIDIA H100 80GB HBM3 \\| &lt;b&gt;x&lt;/b&gt; \\@org/team "
        "| util 87.5% mean, 99% p95 · peak 61440 MiB (75.3%) · 512 W mean · 0.4231 Wh · "
        "max 74 °C · throttled: sw-power-cap · 1 Xid events |"
    ) in comment
    assert "| GPU 1 NVIDIA H100 80GB HBM3 | lost during the run |" in comment
    assert "<b>" not in comment and "@org" not in comment.replace("\\@org", "")


def test_report_leaves_out_a_gpu_report_of_another_shape(scenario: Scenario) -> None:
    number = scenario.issue(["task:eval"])
    done = scenario.run(
        "report", "--status", "success", "--number", str(number), "--gpu-report", '{"a": 1}'
    )
    assert done.code == 0, done.log
    assert "`--gpu-report` is not gpu-monitor's `gpus` output" in done.log
    [comment] = scenario.comments(number)
    assert "GPU" not in comment.split("<!--")[0].replace("gpu:", "")


def test_report_rejects_an_unknown_status(scenario: Scenario) -> None:
    number = scenario.issue(["task:eval"])
    result = scenario.run("report", "--status", "exploded", "--number", str(number))
    assert result.code == 2
    assert "is not a status" in result.log


# -- docs and lint ------------------------------------------------------------------------------


def test_docs_writes_labels_md_and_check_detects_drift(scenario: Scenario) -> None:
    written = scenario.run("docs")
    assert written.code == 0
    text = (scenario.root / "LABELS.md").read_text(encoding="utf-8")
    assert "## `gpu:*`" in text and "write access or higher" in text
    assert "route `gpu-training`" in text

    assert scenario.run("docs", "--check").code == 0
    config = scenario.root / ".github" / "mlops.yml"
    config.write_text(
        config.read_text().replace("Train a model", "Train or fine-tune"), encoding="utf-8"
    )
    stale = scenario.run("docs", "--check")
    assert stale.code == 1
    assert "out of date" in stale.log


@pytest.mark.parametrize("config", ["version: 1\n", None])
def test_docs_without_labels_refuses_and_writes_nothing(
    scenario: Scenario, config: str | None
) -> None:
    path = scenario.root / ".github" / "mlops.yml"
    if config is None:
        path.unlink()
    else:
        path.write_text(config, encoding="utf-8")
    result = scenario.run("docs")
    assert result.code == 2
    assert "no labels are configured." in result.log
    assert "Fix: list the labels (name, color, description) under `label-dispatch.labels`" in (
        result.log
    )
    assert not (scenario.root / "LABELS.md").exists()
    assert scenario.run("docs", "--check").code == 2


def test_lint_finds_unknown_labels_in_workflow_conditions(scenario: Scenario) -> None:
    workflows = scenario.root / ".github" / "workflows"
    workflows.mkdir()
    (workflows / "gpu.yml").write_text(
        "on: pull_request\njobs:\n  gpu:\n"
        "    if: contains(github.event.pull_request.labels.*.name, 'gpu:requried')\n"
        "    runs-on: ubuntu-latest\n    steps: [{run: 'true'}]\n"
        "  ok:\n    if: github.event.label.name == 'task:training'\n"
        "    runs-on: ubuntu-latest\n    steps: [{run: 'true'}]\n",
        encoding="utf-8",
    )

    result = scenario.run("lint")

    assert result.code == 1
    [finding] = result.report["findings"]
    assert finding["file"] == ".github/workflows/gpu.yml"
    assert (finding["line"], finding["label"]) == (4, "gpu:requried")
    assert "gpu.yml:4" in result.log


def test_bad_config_is_one_line_with_file_and_line(scenario: Scenario) -> None:
    config = scenario.root / ".github" / "mlops.yml"
    config.write_text(
        config.read_text().replace("2.4.1-cuda12.1-cudnn9-runtime", "latest"), encoding="utf-8"
    )
    result = scenario.run("route")
    assert result.code == 2
    assert ".github/mlops.yml:" in result.log and "not pinned" in result.log
    assert "Traceback" not in result.log


def test_comment_author_is_the_token_user(scenario: Scenario) -> None:
    number = scenario.issue(["wibble"])
    scenario.run(
        "validate", event=scenario.issues_labeled(number, "wibble", "writer"), event_name="issues"
    )
    assert scenario.repo.issue_comments(number)[0].user == BOT
