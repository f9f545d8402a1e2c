"""The branch-policy self-test workflow under act, from GitHub's `pull_request.opened` webhook
example re-aimed at a repository made in the test: the feature-into-develop job passes, and the
expected-failure job (a name carrying shell syntax, aimed at main) fails its branch-policy step
with both violations annotated, while the name never runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from tests.support.events import load_event, retarget
from tests.support.repos import copy_repo

if TYPE_CHECKING:
    from tests.support.act_fixtures import ActRunner

WORKFLOW = ".github/workflows/self-test.yml"
JOB = "branch-policy"


def test_self_test_workflow(act_runner: ActRunner, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    sha = copy_repo(repo, ("branch-policy",))
    event = retarget(
        load_event("pull_request.opened"),
        overrides={"pull_request.base.sha": sha, "pull_request.head.sha": sha},
    )
    event_path = tmp_path / "pull_request.json"
    event_path.write_text(json.dumps(event), encoding="utf-8")
    run = act_runner.run(repo, WORKFLOW, "pull_request", event_path, job=JOB, timeout=900)
    assert run.succeeded, run.explain(80)
    assert {job.job_id: job.result for job in run.jobs} == {
        "follows-policy": "success",
        "breaks-policy": "success",
        "all": "success",
    }, run.explain(80)

    passing = run.job("follows-policy").step("policy").outputs
    assert passing["ok"] == "true" and passing["kind"] == "feature"

    failing = run.job("breaks-policy")
    assert failing.step("x").result == "failure"
    messages = [a.message for a in failing.annotations if a.level == "error"]
    assert len(messages) == 2, messages
    assert messages[0].startswith(
        "BP002 malformed-name: 'feature/$(touch ${RUNNER_TEMP}/pwned)`id`' -> main: "
    )
    assert messages[1].startswith("BP003 wrong-target: ")
    assert messages[1].endswith("retarget this PR to develop")
