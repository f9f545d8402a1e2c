"""The version-guard self-test workflow under act, from GitHub's `pull_request.opened` webhook
example re-aimed at a repository made in the test: the consistent fixture passes, the planted
one fails its version-guard step (checked through `steps.x.outcome`), and its annotations are
in the log at the planted lines, with paths relative to the repository root."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.support.act_fixtures import ActRunner

JOB = "version-guard"
FIXTURES = (
    "version-guard",
    "tests/fixtures/repos/vg-consistent",
    "tests/fixtures/repos/vg-mismatch",
    "tests/fixtures/config/vg-consistent.yml",
)


def test_self_test_workflow(act_runner: ActRunner, tmp_path: Path) -> None:
    run = act_runner.self_test_on_pull_request(
        tmp_path, FIXTURES, JOB, ("consistent", "planted", "all")
    )

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
