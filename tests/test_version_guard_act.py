"""The version-guard self-test workflow under act, from GitHub's `pull_request.opened` webhook
example re-aimed at a repository made in the test: the consistent fixture passes, the planted
one fails its version-guard step (checked through `steps.x.outcome`), and its annotations are
in the log at the planted lines, with paths relative to the repository root."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from tests.support.events import load_event, retarget
from tests.support.repos import copy_repo

if TYPE_CHECKING:
    from tests.support.act_fixtures import ActRunner

WORKFLOW = ".github/workflows/self-test.yml"
JOB = "version-guard"
FIXTURES = (
    "version-guard",
    "tests/fixtures/repos/vg-consistent",
    "tests/fixtures/repos/vg-mismatch",
    "tests/fixtures/config/vg-consistent.yml",
)


def make_repo(target: Path) -> str:
    return copy_repo(target, FIXTURES)


def test_self_test_workflow(act_runner: ActRunner, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    sha = make_repo(repo)
    event = retarget(
        load_event("pull_request.opened"),
        overrides={"pull_request.base.sha": sha, "pull_request.head.sha": sha},
    )
    event_path = tmp_path / "pull_request.json"
    event_path.write_text(json.dumps(event), encoding="utf-8")
    run = act_runner.run(repo, WORKFLOW, "pull_request", event_path, job=JOB, timeout=900)
    assert run.succeeded, run.explain(80)
    assert {job.job_id: job.result for job in run.jobs} == {
        "consistent": "success",
        "planted": "success",
        "all": "success",
    }, run.explain(80)

    clean = run.job("consistent").step("guard").outputs
    assert clean["ok"] == "true" and clean["findings"] == "[]"

    planted = run.job("planted")
    assert planted.step("x").result == "failure"
    assert planted.step("x").outputs["ok"] == "false"
    spots = {
        (a.properties.get("file"), a.properties.get("line"), a.properties.get("title"))
        for a in planted.annotations
        if a.level == "error"
    }
    prefix = "tests/fixtures/repos/vg-mismatch/"
    assert (f"{prefix}requirements/train.txt", "3", "VG003 torch-mismatch") in spots, spots
    assert (f"{prefix}docker/serve.Dockerfile", "2", "VG005 cudnn-mismatch") in spots, spots
    assert not [a for a in run.job("consistent").annotations if a.level == "error"]
