"""The foundation's self-test jobs under act: `config check` through the root Docker action,
with a good config (outputs `ok`) and a bad one (the step fails with file:line and the fix)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.act_fixtures import ActRunner
from tests.support.repos import copy_repo

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ".github/workflows/self-test.yml"


@pytest.mark.usefixtures("base_image")
def test_root_docker_action_runs_config_check(act_runner: ActRunner) -> None:
    run = act_runner.run(
        ROOT, WORKFLOW, "workflow_dispatch", job="config-docker", platform="container", timeout=600
    )
    assert run.returncode == 0, run.tail()
    step = run.step("config-docker", "check")
    assert step.result == "success"
    assert step.outputs.get("ok") == "true"


@pytest.mark.usefixtures("base_image")
def test_root_docker_action_reports_bad_config(act_runner: ActRunner) -> None:
    run = act_runner.run(
        ROOT,
        WORKFLOW,
        "workflow_dispatch",
        job="config-docker-bad",
        platform="container",
        timeout=600,
    )
    assert run.returncode == 0, run.tail()
    job = run.job("config-docker-bad")
    assert job.step("check").result == "failure"
    errors = [a for a in job.annotations if a.level == "error"]
    assert len(errors) == 1, errors
    assert errors[0].properties.get("file") == "tests/fixtures/config/bad.yml"
    assert errors[0].properties.get("line") == "3"
    assert "must be a string" in errors[0].message and "Fix:" in errors[0].message


def test_composite_action_checks_the_config_first(act_runner: ActRunner, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    copy_repo(
        repo, ("version-guard", "tests/fixtures/config", "tests/fixtures/repos/vg-consistent")
    )
    run = act_runner.run(repo, WORKFLOW, "workflow_dispatch", job="config-composite", timeout=600)
    assert run.returncode == 0, run.tail()
    job = run.job("config-composite")
    assert job.step("good").result == "success"
    assert job.step("bad").result == "failure"
    errors = [a for a in job.annotations if a.level == "error"]
    assert [(a.properties.get("file"), a.properties.get("line")) for a in errors] == [
        ("tests/fixtures/config/bad.yml", "3")
    ], errors
