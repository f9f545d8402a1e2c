"""The env-verify action's self-test workflow under act, on the host runner (which has no torch
and no GPU): the passing jobs pass, the expected-failure jobs fail their env-verify step."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from tests.support.repos import copy_repo

if TYPE_CHECKING:
    from tests.support.act_fixtures import ActRunner

WORKFLOW = ".github/workflows/self-test.yml"
JOB = "env-verify"


def make_repo(target: Path) -> Path:
    copy_repo(target, ("env-verify", "tests/fixtures/env_verify"))
    return target


def test_self_test_workflow(act_runner: ActRunner, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    event = tmp_path / "push.json"
    event.write_text(json.dumps({"ref": "refs/heads/main"}), encoding="utf-8")
    run = act_runner.run(repo, WORKFLOW, "push", event, job=JOB, timeout=900)
    assert run.succeeded, run.explain(80)
    assert {job.job_id: job.result for job in run.jobs} == {
        "no-torch-fails": "success",
        "no-torch": "success",
        "synthetic-torch": "success",
        "wrong-torch-pin": "success",
        "require-gpu-on-cpu": "success",
        "all": "success",
    }, run.explain(80)

    missing = run.job("no-torch-fails")
    assert missing.step("x").result == "failure"
    [error] = [a for a in missing.annotations if a.level == "error"]
    assert error.properties.get("title") == "env-verify torch-install"
    assert "torch is not importable by this interpreter" in error.message

    no_torch = run.job("no-torch").step("verify").outputs
    assert no_torch["ok"] == "true"
    assert no_torch["torch-version"] == ""
    assert no_torch["gpu-count"] == "0"

    synthetic = run.job("synthetic-torch").step("verify").outputs
    assert synthetic["torch-version"] == "2.4.1+cu121"
    assert synthetic["cuda-version"] == "12.1"

    wrong = run.job("wrong-torch-pin")
    assert wrong.step("x").result == "failure"
    assert wrong.step("x").outputs["failed-checks"] == '["torch-version"]'
    errors = [a for a in wrong.annotations if a.level == "error"]
    assert len(errors) == 1, errors
    assert errors[0].properties.get("title") == "env-verify torch-version"
    assert "torch is 2.4.1+cu121, expected 2.5.0" in errors[0].message

    gpu = run.job("require-gpu-on-cpu")
    assert gpu.step("x").result == "failure"
    assert gpu.step("x").outputs["failed-checks"] == '["require-gpu"]'
    [error] = [a for a in gpu.annotations if a.level == "error"]
    assert error.properties.get("title") == "env-verify require-gpu"
    assert "a GPU is required but none is visible" in error.message
