"""The label-dispatch self-test workflow under act, end to end against the GitHub API double.

A pull_request.labeled event (task:training + gpu:required, applied by a maintainer) runs the
reusable label-route workflow: route on the hosted label, the job on the planned runner label
`gpu` (mapped to this machine), env-verify, the command, then the report back into the double.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from tests.support.github_double import GitHubDouble
from tests.support.label_dispatch import REPO, TOKEN, Scenario
from tests.support.repos import ROOT, copy_repo

if TYPE_CHECKING:
    from tests.support.act_fixtures import ActRunner

WORKFLOW = ".github/workflows/self-test.yml"
JOB = "label-dispatch"
FIXTURES = ("label-dispatch", "env-verify", "gpu-monitor", "tests/fixtures/label_dispatch")


def make_repo(target: Path) -> Path:
    (target / "tests/fixtures").mkdir(parents=True)
    shutil.copytree(
        ROOT / "tests/fixtures/label_dispatch", target / "tests/fixtures/label_dispatch"
    )
    # The route's runner label is a GPU pool here; act maps it to this machine.
    config = target / "tests/fixtures/label_dispatch/mlops.yml"
    config.write_text(
        config.read_text(encoding="utf-8").replace(
            "runs-on: [ubuntu-latest]", "runs-on: [self-hosted, gpu]"
        ),
        encoding="utf-8",
    )
    copy_repo(target, FIXTURES[:3], remote=f"https://github.com/{REPO}.git")
    return target


def test_label_route_loop_end_to_end(
    act_runner: ActRunner, github_double: GitHubDouble, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path / "repo")
    config_path = "tests/fixtures/label_dispatch/mlops.yml"
    # route and report read the config at the PR's base commit, through the API.
    scenario = Scenario(
        github_double,
        tmp_path / "state-root",
        files={config_path: (repo / config_path).read_text(encoding="utf-8")},
    )
    scenario.seed_labels()
    pull = scenario.pull(["task:training", "gpu:required"], author="writer")
    event = scenario.pull_labeled(pull.number, "gpu:required", "maint")
    event_path = tmp_path / "event.json"
    event_path.write_text(json.dumps(event), encoding="utf-8")

    run = act_runner.run(
        repo,
        WORKFLOW,
        "pull_request",
        event_path,
        job=JOB,
        env={"GITHUB_API_URL": github_double.url, "MLOPS_ACTIONS_WRITE_INTERVAL": "0"},
        secrets={"GITHUB_TOKEN": TOKEN},
        timeout=900,
        extra_args=("--platform", "gpu=-self-hosted", "--platform", "self-hosted=-self-hosted"),
    )

    assert run.succeeded, run.explain(120)
    results = {job.job_id: job.result for job in run.jobs}
    assert results.get("all") == "success", run.explain(120)
    assert all(r == "success" for r in results.values()), results
    assert run.ran("work"), run.explain(120)
    # The command ran under gpu-monitor (the default); this runner has no GPU.
    assert "training for 1 epoch(s)" in run.job("work").step(("gpu", "run")).output
    assert run.job("work").step("gpu").outputs["gpu-count"] == "0"

    [comment] = scenario.comments(pull.number)
    assert "**succeeded**" in comment, comment
    assert "| loss | 0.25 |" in comment and "| epochs | 1 |" in comment
    assert "| GPUs | no NVIDIA GPU visible |" in comment
    assert f"`gpu-training` at `{pull.pull.head_sha[:7]}`" in comment
    assert "status:done" in scenario.labels(pull.number)
    # route: permission + comments + comment write; report: comments + edit + labels.
    assert github_double.log.count("POST", "*/issues/*/comments") == 1
