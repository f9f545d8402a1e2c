"""Each label-dispatch mode's whole answer on the API double: exit code, outputs, summary, report
and log lines exactly, and the repository state it leaves (sync, validate, docs, lint)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.github_double import GitHubDouble
from tests.support.label_dispatch import REPO, Scenario, seeded_scenario

SYNC_CONFIG = """\
label-dispatch:
  labels:
    - {name: "task:training", color: "1d76db", description: "Train", aliases: [training]}
    - {name: "task:eval", color: "0e8a16"}
    - {name: "type:bug", color: "d73a4a", description: "Broken"}
    - {name: "fresh", color: "ffffff", description: "New one"}
    - {name: "plain"}
  exclude: ["deps*"]
"""


@pytest.fixture
def scenario(github_double: GitHubDouble, tmp_path: Path) -> Scenario:
    return seeded_scenario(github_double, tmp_path)


def sync_scenario(double: GitHubDouble, tmp_path: Path, config: str = SYNC_CONFIG) -> Scenario:
    root = tmp_path / "repo"
    root.mkdir()
    s = Scenario(double, root, config)
    s.state.add_label(REPO, "training", color="000000", description="old")
    s.state.add_label(REPO, "task:eval", color="ededed")
    s.state.add_label(REPO, "type:bug", color="D73A4A", description="Broken")
    s.state.add_label(REPO, "wontfix", color="ffffff")
    s.state.add_label(REPO, "deps-python", color="ffffff")
    return s


def labels_of(s: Scenario) -> dict[str, tuple[str, str | None]]:
    return {lb.name: (lb.color, lb.description) for lb in s.repo.labels.values()}


# -- sync ---------------------------------------------------------------------------------------

PLAN = [
    {
        "action": "rename",
        "name": "training",
        "new_name": "task:training",
        "reason": "alias of `task:training`; issues keep the label",
    },
    {
        "action": "update",
        "name": "task:eval",
        "new_name": None,
        "reason": "color ededed → 0e8a16",
    },
    {"action": "create", "name": "fresh", "new_name": None, "reason": ""},
    {"action": "create", "name": "plain", "new_name": None, "reason": ""},
]


def test_sync_applies_each_change_and_reports_it(
    github_double: GitHubDouble, tmp_path: Path
) -> None:
    s = sync_scenario(github_double, tmp_path)

    result = s.run("sync", "--no-dry-run")

    assert result.code == 0, result.log
    assert labels_of(s) == {
        "task:training": ("1d76db", "Train"),
        "task:eval": ("0e8a16", None),
        "type:bug": ("D73A4A", "Broken"),
        "wontfix": ("ffffff", None),
        "deps-python": ("ffffff", None),
        "fresh": ("ffffff", "New one"),
        "plain": ("ededed", ""),
    }
    assert result.outputs == {
        "ok": "true",
        "changes": "4",
        "plan": json.dumps(PLAN, separators=(",", ":")),
        "dry-run": "false",
    }
    assert result.report == {
        "ok": True,
        "dry_run": False,
        "applied": 4,
        "changes": PLAN,
        "refused": [],
        "counts": {
            "create": 2,
            "update": 1,
            "rename": 1,
            "delete": 0,
            "keep": 1,
            "unchanged": 1,
            "exclude": 1,
            "refuse": 0,
        },
    }
    assert result.log == (
        "rename    training -> task:training  (alias of `task:training`; issues keep the label)\n"
        "update    task:eval  (color ededed → 0e8a16)\n"
        "create    fresh\n"
        "create    plain\n"
        "keep      wontfix  (not in the config (set delete-unmanaged to delete))\n"
        "exclude   deps-python  (matches an exclude pattern)\n"
        "1 label(s) unchanged\n"
    )
    assert result.summary.startswith("### Label sync plan\n\n| action | label | change |\n")
    assert result.summary.endswith(
        "4 change(s): 2 create, 1 update, 1 rename, 1 keep; 1 unchanged.\n\n"
    )
    # Applied: a second run has nothing to change and sends no write.
    writes = len(github_double.log.writes())
    again = s.run("sync", "--no-dry-run")
    assert (again.code, again.outputs["changes"], again.report["applied"]) == (0, "0", 0)
    assert len(github_double.log.writes()) == writes


@pytest.mark.parametrize(
    ("where", "args"),
    [
        ("ci/labels.yml", ["--config", "ci/labels.yml"]),
        ("services/ml/.github/mlops.yml", ["--working-directory", "services/ml"]),
    ],
)
def test_sync_reads_the_config_the_inputs_name(
    github_double: GitHubDouble, tmp_path: Path, where: str, args: list[str]
) -> None:
    """The `config` input, or the `working-directory` the default path is looked up in, is
    where the labels come from: with no `.github/mlops.yml` at the root, the plan is the same."""
    s = sync_scenario(github_double, tmp_path)
    (s.root / ".github" / "mlops.yml").unlink()
    (s.root / where).parent.mkdir(parents=True, exist_ok=True)
    (s.root / where).write_text(SYNC_CONFIG, encoding="utf-8")

    result = s.run("sync", *args)

    assert result.code == 0, result.log
    assert result.report["changes"] == PLAN


def test_sync_deletes_unmanaged_labels_from_the_flag_or_the_config(
    github_double: GitHubDouble, tmp_path: Path
) -> None:
    s = sync_scenario(github_double, tmp_path)
    kept = s.run("sync", "--dry-run", "--delete-unmanaged")
    assert kept.report["counts"]["delete"] == 1 and kept.report["dry_run"] is True
    assert kept.report["applied"] == 0 and "wontfix" in labels_of(s)

    s.run("sync", "--no-dry-run", "--no-delete-unmanaged")
    assert "wontfix" in labels_of(s)

    s.run("sync", "--no-dry-run", "--delete-unmanaged")
    assert "wontfix" not in labels_of(s) and "deps-python" in labels_of(s)


def test_sync_deletes_unmanaged_labels_when_the_config_says_so(
    github_double: GitHubDouble, tmp_path: Path
) -> None:
    s = sync_scenario(github_double, tmp_path, SYNC_CONFIG + "  delete-unmanaged: true\n")
    result = s.run("sync", "--no-dry-run")
    assert result.report["counts"]["delete"] == 1
    assert result.report["changes"][0] == {
        "action": "delete",
        "name": "wontfix",
        "new_name": None,
        "reason": "not in the config",
    }
    assert "wontfix" not in labels_of(s)
    assert "delete    wontfix  (not in the config)\n" in result.log


def test_sync_refusal_fails_with_one_error_per_refused_rename(
    github_double: GitHubDouble, tmp_path: Path
) -> None:
    s = sync_scenario(github_double, tmp_path)
    s.state.add_label(REPO, "task:training", color="1d76db", description="Train")

    result = s.run("sync", "--no-dry-run")

    reason = (
        "cannot rename `training` to `task:training`: `task:training` already exists and GitHub "
        "cannot merge labels. Move the issues from `training` to `task:training` and delete "
        "`training`, or drop the alias"
    )
    assert result.code == 1
    assert result.outputs["ok"] == "false"
    assert result.report["ok"] is False and result.report["refused"] == [reason]
    assert result.log.endswith(f"error: [label rename refused] {reason}\n")
    assert "training" in labels_of(s)  # the refused label stays


NO_LABELS = (
    ".github/mlops.yml: error: `label-dispatch.labels`: no labels are configured. Fix: list the "
    "labels (name, color, description) under `label-dispatch.labels` in .github/mlops.yml {when}.\n"
)


def test_sync_without_labels_is_refused(github_double: GitHubDouble, tmp_path: Path) -> None:
    s = sync_scenario(github_double, tmp_path, "version: 1\n")
    result = s.run("sync", "--no-dry-run")
    assert result.code == 2
    assert result.log == NO_LABELS.format(when="before syncing")
    assert github_double.log.entries == []


# -- validate -----------------------------------------------------------------------------------

TAXONOMY_LIST = (
    "\n<details><summary>Valid labels</summary>\n\n"
    "- `task:*`: `task:training`, `task:eval`, `task:docs`\n"
    "- `gpu:*`: `gpu:required`\n"
    "- `ci:*`: `ci:approved`\n"
    "- `status:*`: `status:in-progress`, `status:done`, `status:failed`\n"
    "- `type:*`: `type:bug`, `type:feature`\n\n</details>\n"
)


def test_validate_reports_an_unknown_label_everywhere(scenario: Scenario) -> None:
    number = scenario.issue(["task:eval", "wibble"])
    event = scenario.issues_labeled(number, "wibble", "reader")

    result = scenario.run("validate", event=event, event_name="issues")

    problem = "`wibble` is not a label of this repository's taxonomy"
    [comment] = scenario.repo.issue_comments(number)
    assert result.code == 1
    assert result.outputs == {"ok": "false", "problems": "1", "comment-id": str(comment.id)}
    assert result.report == {
        "ok": False,
        "number": number,
        "problems": [problem],
        "removed": [],
        "comment_id": comment.id,
    }
    assert result.summary == f"### Labels of #{number}\n\n- {problem}\n\n"
    assert result.log == (
        f"error: [labels of #{number}] wibble is not a label of this repository's taxonomy\n"
    )
    assert comment.body.startswith(
        f"<!-- mlops-actions:label-dispatch -->\n### Labels need attention\n\n- {problem}\n"
        + TAXONOMY_LIST
    )
    # No permission lookup for an unrestricted label.
    assert scenario.double.log.count("GET", "*/collaborators/*") == 0


def test_validate_of_good_labels_without_a_comment_writes_nothing(scenario: Scenario) -> None:
    number = scenario.issue(["task:eval"])
    event = scenario.issues_labeled(number, "task:eval", "reader")

    result = scenario.run("validate", event=event, event_name="issues")

    assert result.code == 0
    assert result.outputs == {"ok": "true", "problems": "0", "comment-id": ""}
    assert result.report == {
        "ok": True,
        "number": number,
        "problems": [],
        "removed": [],
        "comment_id": None,
    }
    assert result.summary == f"### Labels of #{number}\n\nThe labels follow the taxonomy.\n\n"
    assert result.log == ""
    assert scenario.double.log.writes() == []


def test_validate_judges_the_applied_label_even_before_the_payload_lists_it(
    scenario: Scenario,
) -> None:
    number = scenario.issue(["task:training"])
    event = scenario.issues_labeled(number, "GPU:Required", "reader")
    event["issue"]["labels"] = [lb for lb in event["issue"]["labels"] if "gpu" not in lb["name"]]

    result = scenario.run("validate", event=event, event_name="issues")

    message = (
        "`GPU:Required` may only be applied by someone with write access; @reader has read, "
        "so it was removed"
    )
    assert result.code == 1
    assert result.report["problems"] == [message]
    assert result.report["removed"] == ["GPU:Required"]
    assert f"warning: removed label `GPU:Required` from #{number}\n" in result.log
    assert scenario.double.log.count("GET", "*/collaborators/reader/permission") == 1


def test_removing_a_restricted_label_is_not_judged_as_applying_it(scenario: Scenario) -> None:
    number = scenario.issue(["task:eval"])
    event = scenario.issues_labeled(number, "gpu:required", "reader")
    event["action"] = "unlabeled"

    result = scenario.run("validate", event=event, event_name="issues")

    assert result.code == 0, result.log
    assert result.report["problems"] == [] and result.report["removed"] == []
    assert scenario.double.log.count("GET", "*/collaborators/*") == 0
    assert scenario.double.log.writes() == []


def test_validate_keeps_an_existing_comment_current_when_labels_are_fixed(
    scenario: Scenario,
) -> None:
    number = scenario.issue(["wibble"])
    scenario.run(
        "validate", event=scenario.issues_labeled(number, "wibble", "writer"), event_name="issues"
    )
    [first] = scenario.repo.issue_comments(number)
    task_eval = scenario.repo.label("task:eval")
    assert task_eval is not None
    scenario.repo.issues[number].label_ids = [task_eval.id]

    result = scenario.run(
        "validate",
        event=scenario.issues_labeled(number, "task:eval", "writer"),
        event_name="issues",
    )

    [comment] = scenario.repo.issue_comments(number)
    assert comment.id == first.id
    assert result.code == 0
    assert result.outputs == {"ok": "true", "problems": "0", "comment-id": str(comment.id)}
    assert result.report["comment_id"] == comment.id
    assert comment.body.startswith(
        "<!-- mlops-actions:label-dispatch -->\n### Labels\n\n"
        ":white_check_mark: The labels follow the taxonomy.\n"
    )


def test_validate_keeps_the_routing_record_of_the_comment(scenario: Scenario) -> None:
    pull = scenario.pull(["task:training", "gpu:required"], author="writer")
    scenario.run(
        "route",
        event=scenario.pull_labeled(pull.number, "gpu:required", "maint"),
        event_name="pull_request_target",
    )
    [routed] = scenario.repo.issue_comments(pull.number)
    task_eval = scenario.repo.label("task:eval")
    assert task_eval is not None
    scenario.repo.issues[pull.number].label_ids.append(task_eval.id)

    result = scenario.run(
        "validate",
        event=scenario.pull_labeled(pull.number, "task:eval", "writer"),
        event_name="pull_request_target",
    )

    [comment] = scenario.repo.issue_comments(pull.number)
    assert comment.id == routed.id and result.report["comment_id"] == routed.id
    assert "### Labels need attention" in comment.body
    assert f"Started: `gpu-training` at `{pull.pull.head_sha[:7]}`" in comment.body
    assert f'"dispatched":["gpu-training@{pull.pull.head_sha}"]' in comment.body


def test_validate_lists_every_problem_in_the_summary(scenario: Scenario) -> None:
    number = scenario.issue(["task:training", "task:eval", "wibble"])
    result = scenario.run(
        "validate", event=scenario.issues_labeled(number, "wibble", "writer"), event_name="issues"
    )
    assert result.summary == (
        f"### Labels of #{number}\n\n"
        "- `wibble` is not a label of this repository's taxonomy\n"
        "- only one `task:*` label may be set, found `task:training`, `task:eval`: remove all "
        "but one\n\n"
    )
    assert result.outputs["problems"] == "2"


def test_validate_needs_a_subject(scenario: Scenario) -> None:
    event = scenario.label_created("x", "maint")
    result = scenario.run("validate", event=event, event_name="push")
    assert result.code == 2
    assert "the push event names no issue or pull request" in result.log
    assert "--number" in result.log
    none = scenario.run("validate")
    assert none.code == 2
    assert "the current event names no issue or pull request" in none.log


def test_validate_takes_the_number_when_the_event_names_none(scenario: Scenario) -> None:
    number = scenario.issue(["task:eval", "wibble"])
    result = scenario.run("validate", "--number", str(number))
    assert result.code == 1
    assert result.report["number"] == number
    assert result.report["problems"] == ["`wibble` is not a label of this repository's taxonomy"]


@pytest.mark.parametrize(
    ("name", "action", "problems"),
    [
        ("wibble", "created", ["`wibble` is not in the config"]),
        ("wibble", "edited", ["`wibble` is not in the config"]),
        ("wibble", "deleted", []),
        ("Task:Eval", "created", []),  # known, in any case
        ("deps-x", "created", []),  # excluded
    ],
)
def test_label_events_warn_only_about_labels_the_config_lacks(
    scenario: Scenario, name: str, action: str, problems: list[str]
) -> None:
    (scenario.root / ".github" / "mlops.yml").write_text(
        SYNC_CONFIG, encoding="utf-8"
    )  # exclude: deps*
    event = scenario.label_created(name, "maint")
    event["action"] = action

    result = scenario.run("validate", event=event, event_name="label")

    assert result.code == 0
    assert result.report == {"ok": not problems, "label": name, "problems": problems}
    assert result.outputs == {
        "ok": str(not problems).lower(),
        "problems": str(len(problems)),
        "comment-id": "",
    }
    expected_log = (
        f"warning: label `{name}` was {action} by @maint outside the config; add it to "
        "label-dispatch.labels, or the next sync with delete-unmanaged removes it\n"
        if problems
        else ""
    )
    assert result.log == expected_log
    assert scenario.double.log.entries == []


def test_label_events_without_a_taxonomy_warn_about_nothing(scenario: Scenario) -> None:
    (scenario.root / ".github" / "mlops.yml").write_text("version: 1\n", encoding="utf-8")
    result = scenario.run(
        "validate", event=scenario.label_created("wibble", "maint"), event_name="label"
    )
    assert result.report == {"ok": True, "label": "wibble", "problems": []}
    assert result.log == ""


def test_a_label_event_without_a_label_names_an_empty_one(scenario: Scenario) -> None:
    event = scenario.label_created("x", "maint")
    del event["label"]
    result = scenario.run("validate", event=event, event_name="label")
    assert result.report == {"ok": False, "label": "", "problems": ["`` is not in the config"]}


# -- docs ---------------------------------------------------------------------------------------


def test_docs_writes_then_leaves_then_checks_the_file(scenario: Scenario) -> None:
    target = scenario.root / "docs" / "LABELS.md"
    target.parent.mkdir()

    wrote = scenario.run("docs", "--labels-file", "docs/LABELS.md")
    assert wrote.code == 0
    assert wrote.outputs == {"ok": "true", "changed": "true"}
    assert wrote.report == {"ok": True, "path": "docs/LABELS.md", "changed": True}
    assert wrote.log == "wrote: docs/LABELS.md\n"
    text = target.read_text(encoding="utf-8")
    assert text.startswith("<!-- Generated from .github/mlops.yml")
    assert "| `task:training` (formerly `training`) | Train a model |" in text

    again = scenario.run("docs", "--labels-file", "docs/LABELS.md")
    assert again.outputs == {"ok": "true", "changed": "false"}
    assert again.report == {"ok": True, "path": "docs/LABELS.md", "changed": False}
    assert again.log == "unchanged: docs/LABELS.md\n"

    fresh = scenario.run("docs", "--labels-file", "docs/LABELS.md", "--check")
    assert fresh.code == 0
    assert fresh.outputs == {"ok": "true", "changed": "false"}
    assert fresh.report == {"ok": True, "path": "docs/LABELS.md"}
    assert fresh.log == ""


def test_docs_check_finds_a_stale_or_missing_file_and_writes_nothing(scenario: Scenario) -> None:
    missing = scenario.run("docs", "--check")
    assert missing.code == 1
    assert not (scenario.root / "LABELS.md").exists()

    (scenario.root / "LABELS.md").write_text("stale\n", encoding="utf-8")
    stale = scenario.run("docs", "--check")
    assert stale.code == 1
    assert stale.outputs == {"ok": "false", "changed": "true"}
    assert stale.report == {"ok": False, "path": "LABELS.md"}
    assert stale.log == (
        "LABELS.md: error: LABELS.md is out of date with the config. Fix: run "
        "`mlops-actions label-dispatch --mode docs` and commit the file.\n"
    )
    assert (scenario.root / "LABELS.md").read_text(encoding="utf-8") == "stale\n"


def test_docs_without_labels_names_the_file_it_would_write(scenario: Scenario) -> None:
    (scenario.root / ".github" / "mlops.yml").write_text("version: 1\n", encoding="utf-8")
    result = scenario.run("docs", "--labels-file", "X.md")
    assert result.code == 2
    assert result.log == NO_LABELS.format(when="to generate X.md from them")
    assert not (scenario.root / "X.md").exists()


def test_docs_into_a_folder_names_the_input(scenario: Scenario) -> None:
    result = scenario.run("docs", "--labels-file", ".github")
    assert result.code == 2
    assert result.log.startswith("error: `--labels-file`: cannot write ")
    assert result.log.endswith(": Is a directory. Fix: point `--labels-file` at a writable path.\n")


# -- lint ---------------------------------------------------------------------------------------


def test_lint_reports_each_unknown_label_with_its_place(scenario: Scenario) -> None:
    (scenario.root / ".github" / "mlops.yml").write_text(
        (scenario.root / ".github" / "mlops.yml")
        .read_text(encoding="utf-8")
        .replace('not-labels: ["gpu:required"]', 'not-labels: ["gpu:reqired"]'),
        encoding="utf-8",
    )
    folder = scenario.root / ".github" / "workflows"
    folder.mkdir()
    (folder / "a.yml").write_text(
        "on: push\njobs:\n  x:\n"
        "    if: contains(github.event.pull_request.labels.*.name, 'gpu:requird')\n",
        encoding="utf-8",
    )
    (folder / "b.yaml").write_text("on: push\n", encoding="utf-8")
    (folder / "c.txt").write_text("if: github.event.label.name == 'nope'\n", encoding="utf-8")

    result = scenario.run("lint")

    config_line = next(
        i
        for i, t in enumerate(
            (scenario.root / ".github" / "mlops.yml").read_text(encoding="utf-8").splitlines(), 1
        )
        if "gpu:reqired" in t
    )
    route_message = "route `cpu-eval` names `gpu:reqired`, which is not in the labels"
    flow_message = "the workflow tests for label `gpu:requird`, which is not in the labels"
    assert result.code == 1
    assert result.outputs == {"ok": "false", "problems": "2"}
    findings = result.report["findings"]
    assert findings[1] == {
        "file": ".github/workflows/a.yml",
        "line": 4,
        "col": 60,
        "label": "gpu:requird",
        "message": flow_message,
    }
    assert findings[0]["line"] == config_line and findings[0]["message"] == route_message
    assert findings[0]["file"].endswith("mlops.yml") and findings[0]["label"] == "gpu:reqired"
    assert result.report["workflows"] == [".github/workflows/a.yml", ".github/workflows/b.yaml"]
    assert result.report["ok"] is False
    assert result.summary == (
        "### Label lint\n\n"
        f"- `{findings[0]['file']}:{config_line}`: {route_message}\n"
        f"- `.github/workflows/a.yml:4`: {flow_message}\n\n"
    )
    assert f".github/workflows/a.yml:4:60: error: [unknown label] {flow_message}\n" in result.log


def test_lint_with_nothing_to_find(scenario: Scenario) -> None:
    result = scenario.run("lint", "--workflows", "nowhere")
    assert result.code == 0
    assert result.outputs == {"ok": "true", "problems": "0"}
    assert result.report == {"ok": True, "findings": [], "workflows": []}
    assert result.summary == (
        "### Label lint\n\nEvery label named in routes and workflows exists.\n\n"
    )
    assert result.log == ""


def test_lint_without_labels_says_there_is_nothing_to_lint(scenario: Scenario) -> None:
    (scenario.root / ".github" / "mlops.yml").write_text("version: 1\n", encoding="utf-8")
    folder = scenario.root / ".github" / "workflows"
    folder.mkdir()
    (folder / "a.yml").write_text(
        "jobs:\n  x:\n    if: contains(github.event.issue.labels.*.name, 'x')\n",
        encoding="utf-8",
    )
    result = scenario.run("lint")
    assert result.code == 0
    assert result.report == {"ok": True, "findings": [], "workflows": [".github/workflows/a.yml"]}
    assert result.log == "notice: no labels are configured: nothing to lint against\n"
