"""The report mode's whole answer on the API double (the status comment, the status labels, the
outputs), its refusals, and how every mode finds its config, repository and subject."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.github_double import GitHubDouble
from tests.support.label_dispatch import CONFIG, REPO, Scenario, seeded_scenario

MARKER = "<!-- mlops-actions:label-dispatch -->"
STATE = "<!-- mlops-actions:label-dispatch:state "
RUN_URL = "https://github.com/octo-org/models/actions/runs/4242"


@pytest.fixture
def scenario(github_double: GitHubDouble, tmp_path: Path) -> Scenario:
    return seeded_scenario(github_double, tmp_path)


def record(comment: str) -> dict[str, object]:
    start = comment.rindex(STATE) + len(STATE)
    data: dict[str, object] = json.loads(comment[start : comment.index(" -->", start)])
    return data


def test_a_first_report_writes_the_comment_and_moves_the_labels(scenario: Scenario) -> None:
    number = scenario.issue(["task:eval", "Status:Done"])

    result = scenario.run("report", "--status", "running", "--number", str(number))

    [comment] = scenario.repo.issue_comments(number)
    assert result.code == 0, result.log
    assert result.outputs == {"ok": "true", "comment-id": str(comment.id), "status": "running"}
    assert result.report == {
        "ok": True,
        "updated": True,
        "status": "running",
        "comment_id": comment.id,
        "labels": {"added": ["status:in-progress"], "removed": ["status:done"]},
    }
    assert result.summary == f"### Status of #{number}: running\n\n"
    assert result.log == ""
    assert comment.body.startswith(
        f"{MARKER}\n\n### Status\n\n:arrows_counterclockwise: **running** · [run]({RUN_URL})\n\n"
    )
    assert record(comment.body)["run"] == {
        "status": "running",
        "run_url": RUN_URL,
        "route": "",
        "summary": "",
        "metrics": [],
    }
    assert scenario.labels(number) == ["task:eval", "status:in-progress"]


def test_a_report_from_the_plan_with_a_result_and_its_own_url(scenario: Scenario) -> None:
    number = scenario.issue(["task:eval", "status:in-progress"])
    plan = json.dumps({"number": number, "route": "cpu-eval", "kind": "issues"})

    result = scenario.run(
        "report",
        "--status",
        "failure",
        "--plan",
        plan,
        "--run-url",
        "https://x/run/9",
        "--result",
        "  Broke.  ",
    )

    [comment] = scenario.repo.issue_comments(number)
    assert result.outputs == {"ok": "true", "comment-id": str(comment.id), "status": "failed"}
    assert result.report["labels"] == {
        "added": ["status:failed"],
        "removed": ["status:in-progress"],
    }
    assert result.summary == f"### Status of #{number}: failed\n\nBroke.\n\n"
    assert comment.body.startswith(
        f"{MARKER}\n\n### Status\n\n:x: **failed** · route `cpu-eval` · [run](https://x/run/9)\n\n"
        "Broke.\n\n"
    )
    assert scenario.labels(number) == ["task:eval", "status:failed"]


def test_the_route_of_an_earlier_report_is_kept(scenario: Scenario) -> None:
    number = scenario.issue(["task:eval"])
    plan = json.dumps({"number": number, "route": "cpu-eval"})
    scenario.run("report", "--status", "queued", "--plan", plan)

    later = scenario.run("report", "--status", "running", "--number", str(number))

    assert later.report["updated"] is True
    [comment] = scenario.repo.issue_comments(number)
    assert record(comment.body)["run"] == {
        "status": "running",
        "run_url": RUN_URL,
        "route": "cpu-eval",
        "summary": "",
        "metrics": [],
    }


def test_a_late_status_leaves_the_comment_and_the_labels(scenario: Scenario) -> None:
    number = scenario.issue(["task:eval"])
    scenario.run("report", "--status", "running", "--number", str(number))
    [comment] = scenario.repo.issue_comments(number)
    writes = len(scenario.double.log.writes())

    late = scenario.run("report", "--status", "queued", "--number", str(number))

    why = "queued after running is out of order"
    assert late.code == 0
    assert late.outputs == {"ok": "true", "comment-id": str(comment.id), "status": "running"}
    assert late.report == {"ok": True, "updated": False, "reason": why}
    assert late.log == f"notice: status comment of #{number} left as it is: {why}\n"
    assert late.summary == ""
    assert len(scenario.double.log.writes()) == writes


def test_a_finished_run_is_not_reopened_by_a_late_status(scenario: Scenario) -> None:
    number = scenario.issue(["task:eval"])
    scenario.run("report", "--status", "success", "--number", str(number), "--run-url", "u")
    again = scenario.run("report", "--status", "running", "--number", str(number), "--run-url", "u")
    assert again.report["reason"] == "the run already ended as succeeded"
    assert again.outputs["status"] == "succeeded"


def test_without_a_run_id_the_comment_has_no_run_link(scenario: Scenario) -> None:
    number = scenario.issue(["task:eval"])
    result = scenario.run(
        "report", "--status", "queued", "--number", str(number), env={"GITHUB_RUN_ID": ""}
    )
    [comment] = scenario.repo.issue_comments(number)
    assert result.code == 0
    assert comment.body.startswith(f"{MARKER}\n\n### Status\n\n:hourglass: **queued**\n")


def test_the_run_link_uses_the_server_url(scenario: Scenario) -> None:
    number = scenario.issue(["task:eval"])
    scenario.run(
        "report",
        "--status",
        "queued",
        "--number",
        str(number),
        env={"GITHUB_SERVER_URL": "https://ghe.example"},
    )
    [comment] = scenario.repo.issue_comments(number)
    assert "[run](https://ghe.example/octo-org/models/actions/runs/4242)" in comment.body


def test_the_run_link_defaults_to_github_com(scenario: Scenario) -> None:
    number = scenario.issue(["task:eval"])
    scenario.run(
        "report", "--status", "queued", "--number", str(number), env={"GITHUB_SERVER_URL": ""}
    )
    [comment] = scenario.repo.issue_comments(number)
    assert f"[run]({RUN_URL})" in comment.body


def test_metrics_and_gpu_figures_together(scenario: Scenario) -> None:
    number = scenario.issue(["task:eval"])
    (scenario.root / "m.json").write_text('{"loss": 0.5}', encoding="utf-8")
    gpus = json.dumps([{"index": 0, "name": "H100", "util_mean": 50}])

    scenario.run(
        "report",
        "--status",
        "success",
        "--number",
        str(number),
        "--metrics-file",
        "m.json",
        "--gpu-report",
        gpus,
    )

    [comment] = scenario.repo.issue_comments(number)
    assert (
        "| metric | value |\n| --- | --- |\n| loss | 0.5 |\n| GPU 0 H100 | util 50% mean |\n"
        in (comment.body)
    )


def test_a_fork_prs_read_only_run_warns_instead_of_failing(scenario: Scenario) -> None:
    pull = scenario.pull(["task:eval"], author="contributor", fork=True)
    event = scenario.pull_labeled(pull.number, "task:eval", "contributor")
    scenario.double.faults.status(403, method="POST", path=f"/repos/{REPO}/issues/*/comments")

    result = scenario.run("report", "--status", "running", event=event, event_name="pull_request")

    assert result.code == 0, result.log
    assert result.outputs == {"ok": "true", "comment-id": "", "status": "running"}
    assert result.log.startswith(
        f"warning: cannot write the status comment on fork PR #{pull.number} with the read-only "
        "token GitHub gives such runs ("
    )


def test_the_plans_kind_decides_how_a_refused_write_ends(scenario: Scenario) -> None:
    number = scenario.issue(["task:eval"])
    other = scenario.issue(["task:eval"])
    event = scenario.issues_labeled(other, "task:eval", "writer")  # names another number
    scenario.double.faults.status(
        403, method="POST", path=f"/repos/{REPO}/issues/*/comments", times=2
    )

    as_pull = scenario.run(
        "report",
        "--status",
        "running",
        "--plan",
        json.dumps({"number": number, "kind": "pull_request"}),
        event=event,
        event_name="pull_request",
    )
    as_issue = scenario.run(
        "report",
        "--status",
        "running",
        "--plan",
        json.dumps({"number": number, "kind": "issues"}),
        event=event,
        event_name="pull_request",
    )

    # A PR named only by the plan has no head repository to trust: treated as a fork.
    assert as_pull.code == 0 and "warning: cannot write the status comment" in as_pull.log
    assert as_issue.code == 3


def test_without_status_labels_no_labels_are_read_or_moved(
    github_double: GitHubDouble, tmp_path: Path
) -> None:
    config = CONFIG.split("  report:\n")[0]
    s = seeded_scenario(github_double, tmp_path, config)
    number = s.issue(["task:eval", "status:done"])

    result = s.run("report", "--status", "running", "--number", str(number))

    assert result.report["labels"] == {"added": [], "removed": []}
    assert s.labels(number) == ["task:eval", "status:done"]
    assert github_double.log.count("GET", f"/repos/{REPO}/issues/{number}/labels") == 0


def test_a_status_without_a_label_only_removes_the_others(scenario: Scenario) -> None:
    number = scenario.issue(["task:eval", "status:in-progress"])
    result = scenario.run("report", "--status", "cancelled", "--number", str(number))
    assert result.report["labels"] == {"added": [], "removed": ["status:in-progress"]}
    assert scenario.labels(number) == ["task:eval"]


def test_a_label_already_there_is_not_added_again(scenario: Scenario) -> None:
    number = scenario.issue(["task:eval", "STATUS:DONE"])
    result = scenario.run("report", "--status", "success", "--number", str(number))
    assert result.report["labels"] == {"added": [], "removed": []}
    assert scenario.double.log.count("POST", f"/repos/{REPO}/issues/{number}/labels") == 0


def test_metrics_from_a_file_under_the_workspace(scenario: Scenario) -> None:
    number = scenario.issue(["task:eval"])
    (scenario.root / "out").mkdir()
    (scenario.root / "out" / "m.json").write_text('{"loss": 0.5, "acc": 1}', encoding="utf-8")

    scenario.run(
        "report", "--status", "success", "--number", str(number), "--metrics-file", "out/m.json"
    )

    [comment] = scenario.repo.issue_comments(number)
    assert "| metric | value |\n| --- | --- |\n| loss | 0.5 |\n| acc | 1 |\n" in comment.body


def test_metrics_are_capped_at_the_configured_count(
    github_double: GitHubDouble, tmp_path: Path
) -> None:
    config = CONFIG.replace("  report:\n", "  report:\n    max-metrics: 2\n")
    s = seeded_scenario(github_double, tmp_path, config)
    number = s.issue(["task:eval"])
    path = tmp_path / "abs-metrics.json"
    path.write_text('{"a": 1, "b": 2, "c": 3}', encoding="utf-8")

    s.run("report", "--status", "success", "--number", str(number), "--metrics-file", str(path))

    [comment] = s.repo.issue_comments(number)
    assert record(comment.body)["run"]["metrics"] == [["a", "1"], ["b", "2"]]  # type: ignore[index]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("--status", "running"),
            "error: `--number`: report needs an issue or PR number. Fix: give `--number`, or the "
            "route job's plan (`plan: ${{ needs.route.outputs.plan }}`).\n",
        ),
        (
            ("--status", "running", "--plan", "{nope"),
            "error: `--plan`: not JSON (Expecting property name enclosed in double quotes). Fix: "
            "pass the route step's `plan` output (`${{ needs.route.outputs.plan }}`) unchanged.\n",
        ),
        (
            ("--status", "exploded", "--number", "1"),
            "error: `--status`: 'exploded' is not a status. Fix: use queued, running, succeeded, "
            "failed or cancelled (or ${{ job.status }}).\n",
        ),
        (
            ("--status", "running", "--number", "1", "--metrics-file", "m.json"),
            "error: `--metrics-file`: m.json does not exist. Fix: write the metrics JSON before "
            "the report step, or drop `--metrics-file`.\n",
        ),
    ],
)
def test_report_refusals_are_one_line_and_write_nothing(
    scenario: Scenario, args: tuple[str, ...], message: str
) -> None:
    scenario.issue(["task:eval"])
    result = scenario.run("report", *args)
    assert result.code == 2
    assert result.log == message
    assert scenario.double.log.writes() == []


def test_a_metrics_file_that_is_not_json_is_named_with_its_line(scenario: Scenario) -> None:
    number = scenario.issue(["task:eval"])
    (scenario.root / "m.json").write_text("{bad", encoding="utf-8")
    result = scenario.run(
        "report", "--status", "running", "--number", str(number), "--metrics-file", "m.json"
    )
    assert result.code == 2
    assert result.log == (
        "m.json:1: error: `--metrics-file`: m.json is not usable JSON (invalid JSON: Expecting "
        'property name enclosed in double quotes). Fix: write a JSON object such as {"loss": '
        '0.12, "accuracy": 0.97}.\n'
    )
    assert scenario.repo.issue_comments(number) == []


def test_a_plan_that_is_not_an_object_gives_no_number(scenario: Scenario) -> None:
    result = scenario.run("report", "--status", "running", "--plan", "[1]")
    assert result.code == 2
    assert "report needs an issue or PR number" in result.log


def test_the_event_subject_is_the_default_number(scenario: Scenario) -> None:
    number = scenario.issue(["task:eval"])
    event = scenario.issues_labeled(number, "task:eval", "writer")
    result = scenario.run("report", "--status", "queued", event=event, event_name="issues")
    assert result.code == 0, result.log
    assert len(scenario.repo.issue_comments(number)) == 1


def test_a_gpu_report_of_another_shape_is_named_in_a_warning(scenario: Scenario) -> None:
    number = scenario.issue(["task:eval"])
    result = scenario.run(
        "report", "--status", "success", "--number", str(number), "--gpu-report", '{"a": 1}'
    )
    assert result.log == (
        "warning: `--gpu-report` is not gpu-monitor's `gpus` output; left out of the comment. "
        "Fix: pass `${{ steps.<gpu-monitor step>.outputs.gpus }}` unchanged.\n"
    )
    blank = scenario.run(
        "report", "--status", "success", "--number", str(number), "--gpu-report", "  "
    )
    assert blank.code == 0 and blank.log == ""


# -- config, repository and subject -------------------------------------------------------------


def test_config_ref_reads_the_gate_from_the_base_commit(
    github_double: GitHubDouble, tmp_path: Path
) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    s = Scenario(github_double, root, "version: 1\n", files={".github/mlops.yml": CONFIG})
    s.seed_labels()
    number = s.issue(["task:eval", "wibble"])
    event = s.issues_labeled(number, "wibble", "writer")

    result = s.run("validate", "--config-ref", "main", event=event, event_name="issues")

    assert result.report["problems"] == ["`wibble` is not a label of this repository's taxonomy"]


def test_a_config_ref_without_the_file_is_an_empty_config_unless_one_is_named(
    scenario: Scenario,
) -> None:
    number = scenario.issue(["wibble"])
    event = scenario.issues_labeled(number, "wibble", "writer")

    quiet = scenario.run("validate", "--config-ref", "main", event=event, event_name="issues")
    assert quiet.code == 0, quiet.log  # no taxonomy at that commit: nothing to report

    named = scenario.run(
        "validate",
        "--config-ref",
        "main",
        "--config",
        "ci/labels.yml",
        event=event,
        event_name="issues",
    )
    assert named.code == 2
    assert named.log == (
        "error: `--config`: config file ci/labels.yml does not exist at main. Fix: commit it to "
        "the base branch, or point `--config` elsewhere.\n"
    )


def test_a_config_ref_names_the_file_and_commit_in_errors(
    github_double: GitHubDouble, tmp_path: Path
) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    broken = "label-dispatch:\n  labels: 3\n"
    s = Scenario(github_double, root, "version: 1\n", files={".github/mlops.yml": broken})
    sha = s.state.add_branch(REPO, "base")
    result = s.run("docs", "--config-ref", sha)
    assert result.code == 2
    assert f".github/mlops.yml@{sha[:12]}:" in result.log


def test_a_missing_repository_is_a_usage_error(scenario: Scenario) -> None:
    number = scenario.issue(["task:eval"])
    result = scenario.run(
        "report", "--status", "running", "--number", str(number), env={"GITHUB_REPOSITORY": ""}
    )
    assert result.code == 2
    assert result.log == (
        "error: `--repository`: no repository given. Fix: give `--repository` as owner/name, "
        "or run inside a workflow.\n"
    )


def test_the_repository_input_and_the_token_input_win(scenario: Scenario) -> None:
    number = scenario.issue(["task:eval"])
    result = scenario.run(
        "report",
        "--status",
        "running",
        "--number",
        str(number),
        "--repository",
        REPO,
        "--token",
        "label-dispatch-token",
        env={"GITHUB_REPOSITORY": "someone/else", "GITHUB_TOKEN": "wrong"},
    )
    assert result.code == 0, result.log
    assert len(scenario.repo.issue_comments(number)) == 1


def test_the_repository_comes_from_the_event_last(scenario: Scenario) -> None:
    number = scenario.issue(["task:eval"])
    event = scenario.issues_labeled(number, "task:eval", "writer")
    result = scenario.run(
        "report",
        "--status",
        "running",
        event=event,
        event_name="issues",
        env={"GITHUB_REPOSITORY": ""},
    )
    assert result.code == 0, result.log
    assert len(scenario.repo.issue_comments(number)) == 1


def test_an_event_path_relative_to_the_working_directory(scenario: Scenario) -> None:
    number = scenario.issue(["task:eval", "wibble"])
    event = scenario.issues_labeled(number, "wibble", "writer")
    (scenario.root / "event.json").write_text(json.dumps(event), encoding="utf-8")

    result = scenario.run(
        "validate",
        "--event-path",
        "event.json",
        "--event-name",
        "issues",
        "--working-directory",
        str(scenario.root),
    )

    assert result.report["number"] == number
    assert result.report["problems"] == ["`wibble` is not a label of this repository's taxonomy"]


def test_a_number_other_than_the_events_subject_is_read_from_the_api(scenario: Scenario) -> None:
    first = scenario.issue(["task:eval"])
    other = scenario.issue(["wibble"])
    event = scenario.issues_labeled(first, "task:eval", "writer")
    result = scenario.run("validate", "--number", str(other), event=event, event_name="issues")
    assert result.report["number"] == other
    assert result.report["problems"] == ["`wibble` is not a label of this repository's taxonomy"]
    same = scenario.run("validate", "--number", str(first), event=event, event_name="issues")
    assert same.report["number"] == first
    assert scenario.double.log.count("GET", f"/repos/{REPO}/issues/{first}") == 0
