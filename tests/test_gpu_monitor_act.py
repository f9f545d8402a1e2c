"""The gpu-monitor action's self-test workflow under act, on the host runner: two GPUs played by
the NVML driver stand-in, no GPU at all, and a failing command whose status is the step's."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from tests.support.repos import copy_repo

if TYPE_CHECKING:
    from tests.support.act_fixtures import ActRunner

WORKFLOW = ".github/workflows/self-test.yml"
JOB = "gpu-monitor"


def test_self_test_workflow(act_runner: ActRunner, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    copy_repo(repo, ("gpu-monitor", "tests/fixtures/env_verify/fake_libnvidia_ml.c"))
    event = tmp_path / "push.json"
    event.write_text(json.dumps({"ref": "refs/heads/main"}), encoding="utf-8")
    run = act_runner.run(repo, WORKFLOW, "push", event, job=JOB, timeout=900)
    assert run.succeeded, run.explain(80)
    assert {job.job_id: job.result for job in run.jobs} == {
        "stand-in-gpus": "success",
        "no-gpu": "success",
        "failing-command": "success",
        "all": "success",
    }, run.explain(80)

    gpus = run.job("stand-in-gpus")
    monitor = gpus.step("monitor")
    assert monitor.outputs["peak-memory-mib"] == "61440"
    assert monitor.outputs["gpu-count"] == "2"
    assert "training with" in gpus.output
    assert "| 0 NVIDIA H100 80GB HBM3 |" in gpus.output + "".join(s.summary for s in gpus.steps)
    compact = json.loads(monitor.outputs["gpus"])
    assert [g["xid"] for g in compact] == [1, 0]

    none = run.job("no-gpu")
    assert none.step("monitor").outputs["gpu-count"] == "0"
    assert "no GPU here" in none.output
    notices = [a for a in none.annotations if a.level == "notice"]
    assert len(notices) == 1 and "no NVIDIA GPU visible" in notices[0].message

    failing = run.job("failing-command")
    assert failing.step("x").result == "failure"
