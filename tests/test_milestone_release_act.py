"""The milestone-release self-test workflow under act against the GitHub API double.

A `milestone.closed` event for a milestone of closed issues and merged pull requests: the
release job dry-runs, releases and re-runs; the expected-failure job is refused on a milestone
that still has open items; the aggregate job checks both.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from tests.support.github_double import GitHubDouble
from tests.support.milestones import REPO, TOKEN, milestone_event, seed
from tests.support.repos import copy_repo

if TYPE_CHECKING:
    from tests.support.act_fixtures import ActRunner

WORKFLOW = ".github/workflows/self-test.yml"
JOB = "milestone-release"


def make_repo(target: Path) -> Path:
    copy_repo(target, ("milestone-release",))
    return target


def test_self_test_workflow_on_milestone_closed(
    act_runner: ActRunner, github_double: GitHubDouble, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path / "repo")
    seeded = seed(github_double.state, items=120)
    state = github_double.state
    blocked = state.add_milestone(REPO, "v3.0.0", state="closed")
    state.add_issue(REPO, "Still open", milestone=blocked.number)
    assert blocked.number == 2  # the workflow's default OPEN_MILESTONE
    event_path = tmp_path / "event.json"
    event_path.write_text(json.dumps(milestone_event(github_double, seeded.milestone)))

    run = act_runner.run(
        repo,
        WORKFLOW,
        "milestone",
        event_path,
        job=JOB,
        env={
            "GITHUB_API_URL": github_double.url,
            "GITHUB_REPOSITORY": REPO,
            "MLOPS_ACTIONS_WRITE_INTERVAL": "0",
        },
        secrets={"GITHUB_TOKEN": TOKEN},
        timeout=900,
    )

    assert run.succeeded, run.explain(120)
    assert {job.job_id: job.result for job in run.jobs} == {
        "release": "success",
        "open-items-left": "success",
        "all": "success",
    }, run.explain(120)
    refused = run.job("open-items-left")
    assert refused.step("x").result == "failure"
    assert any("1 open item" in a.message for a in refused.annotations), run.explain(120)

    r = state.repo(REPO)
    releases = [rel for rel in r.releases.values() if rel.tag_name == "v2.9.0"]
    assert len(releases) == 1
    assert r.peel(r.refs["refs/tags/v2.9.0"]) == seeded.head
    assert "refs/tags/v3.0.0" not in r.refs and r.release_by_tag("v3.0.0") is None
    # One tag object, one ref, one release: the dry run and the re-run wrote nothing.
    assert github_double.log.count("POST", "*/git/tags") == 1
    assert github_double.log.count("POST", "*/releases") == 1
    assert github_double.log.count("PATCH", "*") == 0
