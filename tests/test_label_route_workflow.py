"""label-route.yml's own shell steps, run by bash against local git repositories.

The steps that decide which code runs are checked where they live (the workflow file): the
actions are fetched at exactly `actions-ref` (a tag only by explicit opt-in), the work job checks
out exactly the approved `plan.sha`, and the jobs have the shape the gate relies on.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.repos import ROOT

WORKFLOW = ROOT / ".github" / "workflows" / "label-route.yml"
FETCH_STEP = "mlops-actions at a pinned commit"


def workflow() -> dict[str, Any]:
    data = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def step(job: str, name: str) -> dict[str, Any]:
    found = [s for s in workflow()["jobs"][job]["steps"] if s.get("name") == name]
    assert len(found) == 1, f"{job} has {len(found)} steps named {name!r}"
    return found[0]


def git(*args: str, cwd: Path) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


@pytest.fixture
def server(tmp_path: Path) -> tuple[Path, str, str]:
    """A repository served over file:// as owner/actions: commit one, then two on main; tag
    v1 at one, then moved to two (what a tag can do and a SHA cannot)."""
    repo = tmp_path / "server" / "owner" / "actions"
    repo.mkdir(parents=True)
    git("init", "-q", "-b", "main", cwd=repo)
    git("config", "uploadpack.allowReachableSHA1InWant", "true", cwd=repo)
    (repo / "marker").write_text("one\n")
    git("add", "-A", cwd=repo)
    git("commit", "-q", "-m", "one", cwd=repo)
    one = git("rev-parse", "HEAD", cwd=repo)
    git("tag", "v1", cwd=repo)
    (repo / "marker").write_text("two\n")
    git("commit", "-q", "-am", "two", cwd=repo)
    two = git("rev-parse", "HEAD", cwd=repo)
    git("tag", "-f", "v1", cwd=repo)
    return tmp_path / "server", one, two


def run_script(
    script: str, cwd: Path, env: dict[str, str], server_url: str = ""
) -> subprocess.CompletedProcess[str]:
    environ = {
        "PATH": os.environ["PATH"],
        "HOME": str(cwd),
        "GITHUB_SERVER_URL": server_url,
        "GIT_CONFIG_NOSYSTEM": "1",
        **env,
    }
    return subprocess.run(
        ["bash", "-e", "-c", script], cwd=cwd, env=environ, capture_output=True, text=True
    )


def fetch(
    job: str, server_root: Path, work: Path, ref: str, is_tag: str = "false"
) -> subprocess.CompletedProcess[str]:
    """The job's actions-fetching step, run in `work` against the file:// server."""
    work.mkdir(exist_ok=True)
    env = {"ACTIONS_REPOSITORY": "owner/actions", "ACTIONS_REF": ref, "ACTIONS_REF_IS_TAG": is_tag}
    return run_script(step(job, FETCH_STEP)["run"], work, env, f"file://{server_root}")


def test_every_job_fetches_the_actions_with_the_same_step() -> None:
    scripts = {job: step(job, FETCH_STEP)["run"] for job in ("route", "work", "report")}
    assert len(set(scripts.values())) == 1


@pytest.mark.parametrize("job", ["route", "work", "report"])
def test_a_sha_fetches_exactly_that_commit(
    server: tuple[Path, str, str], tmp_path: Path, job: str
) -> None:
    root, one, _ = server
    work = tmp_path / "work"
    done = fetch(job, root, work, one, "false")
    assert done.returncode == 0, done.stderr
    assert git("rev-parse", "HEAD", cwd=work / ".mlops-actions") == one
    assert (work / ".mlops-actions" / "marker").read_text() == "one\n"


@pytest.mark.parametrize("ref", ["v1", "main", "0123abc"])
def test_anything_but_a_full_sha_is_refused_without_the_opt_in(
    server: tuple[Path, str, str], tmp_path: Path, ref: str
) -> None:
    root, _, _ = server
    work = tmp_path / "work"
    done = fetch("route", root, work, ref, "false")
    assert done.returncode == 2
    assert "is not a full commit SHA" in done.stdout
    assert not (work / ".mlops-actions").exists()


def test_a_tag_is_fetched_only_with_the_opt_in(
    server: tuple[Path, str, str], tmp_path: Path
) -> None:
    root, _, two = server
    work = tmp_path / "work"
    done = fetch("route", root, work, "v1", "true")
    assert done.returncode == 0, done.stderr
    assert git("rev-parse", "HEAD", cwd=work / ".mlops-actions") == two  # wherever it points now


def test_a_planted_actions_folder_is_replaced(
    server: tuple[Path, str, str], tmp_path: Path
) -> None:
    root, one, _ = server
    work = tmp_path / "work"
    (work / ".mlops-actions" / "label-dispatch").mkdir(parents=True)
    (work / ".mlops-actions" / "label-dispatch" / "evil.py").write_text("raise SystemExit\n")
    done = fetch("work", root, work, one, "false")
    assert done.returncode == 0, done.stderr
    assert not (work / ".mlops-actions" / "label-dispatch").exists()


def test_the_work_job_checks_out_exactly_the_approved_commit(
    server: tuple[Path, str, str], tmp_path: Path
) -> None:
    root, one, two = server
    work = tmp_path / "checkout"
    git("clone", "-q", str(root / "owner" / "actions"), str(work), cwd=tmp_path)
    assert git("rev-parse", "HEAD", cwd=work) == two  # the PR's head moved on after approval
    script = step("work", "the approved commit")["run"]

    done = run_script(script, work, {"SHA": one, "TOKEN": "t", "GITHUB_REPOSITORY": "o/r"})

    assert done.returncode == 0, done.stderr
    assert git("rev-parse", "HEAD", cwd=work) == one
    bad = run_script(script, work, {"SHA": "main", "TOKEN": "t", "GITHUB_REPOSITORY": "o/r"})
    assert bad.returncode == 2 and "is not a commit SHA" in bad.stdout


def test_the_jobs_hold_the_shape_the_gate_relies_on() -> None:
    data = workflow()
    jobs = data["jobs"]
    assert data["permissions"] == {}
    # route: no checkout of the PR; its config from the base branch; one at a time per number.
    route_checkouts = [s for s in jobs["route"]["steps"] if "actions/checkout" in s.get("uses", "")]
    assert all(s.get("if") == "inputs.actions-repository == ''" for s in route_checkouts)
    assert all("ref" not in s.get("with", {}) for s in route_checkouts)
    dispatch_steps = [s for s in jobs["route"]["steps"] if s.get("with", {}).get("mode")]
    assert all("base.sha" in s["with"]["config-ref"] for s in dispatch_steps)
    concurrency = jobs["route"]["concurrency"]
    assert "pull_request.number" in concurrency["group"] and "issue.number" in concurrency["group"]
    assert concurrency["cancel-in-progress"] is False
    # work: read-only, no credentials left behind, the command as data.
    assert jobs["work"]["permissions"] == {"contents": "read"}
    for s in jobs["work"]["steps"]:
        if "actions/checkout" in s.get("uses", ""):
            assert s["with"]["persist-credentials"] is False
        assert "${{" not in s.get("run", "")
        assert "secrets." not in str(s.get("env", {}))
    command = next(s for s in jobs["work"]["steps"] if s.get("id") == "command")
    assert command["env"] == {"COMMAND": "${{ inputs.command }}"}
    # Under gpu-monitor too: the command reaches the action as data, not as an expression.
    gpu = next(s for s in jobs["work"]["steps"] if s.get("id") == "gpu")
    assert gpu["env"] == {"COMMAND": "${{ inputs.command }}"}
    assert "${{" not in gpu["with"]["run"]
    assert "actions-ref" in data[True]["workflow_call"]["inputs"]
    assert data[True]["workflow_call"]["inputs"]["actions-ref"]["default"] == ""
