"""The documented caller of label-route under act, end to end against the GitHub API double.

GitHub's pull_request.labeled example, delivered as pull_request_target (the documented
trigger): a same-repository PR labelled by a maintainer runs route on the hosted label, the job
on the planned runner label `gpu` (mapped to this machine) at exactly the planned commit,
env-verify, the command, then the report back into the double. A fork PR without approval
never reaches the work job.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tests.support.github_double import GitHubDouble
from tests.support.label_dispatch import REPO, TOKEN, Scenario
from tests.support.repos import ROOT, copy_repo

if TYPE_CHECKING:
    from tests.support.act import ActRun
    from tests.support.act_fixtures import ActRunner

WORKFLOW = ".github/workflows/gpu.yml"
FIXTURES = ("label-dispatch", "env-verify", "gpu-monitor", "tests/fixtures/label_dispatch")
ACT_ARGS = ("--platform", "gpu=-self-hosted", "--platform", "self-hosted=-self-hosted")


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
    (target / ".github/workflows").mkdir(parents=True)
    shutil.copy2(ROOT / "tests/fixtures/label_dispatch/caller.yml", target / WORKFLOW)
    copy_repo(target, FIXTURES[:3], remote=f"https://github.com/{REPO}.git")
    return target


def head_of(repo: Path) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def scenario_for(repo: Path, double: GitHubDouble, root: Path) -> Scenario:
    config_path = "tests/fixtures/label_dispatch/mlops.yml"
    # route and report read the config at the PR's base commit, through the API.
    scenario = Scenario(
        double, root, files={config_path: (repo / config_path).read_text(encoding="utf-8")}
    )
    scenario.seed_labels()
    return scenario


def run_caller(
    act_runner: ActRunner,
    repo: Path,
    double: GitHubDouble,
    event: dict[str, Any],
    tmp_path: Path,
) -> ActRun:
    """The caller under act on `event`, delivered as pull_request_target."""
    event_path = tmp_path / "event.json"
    event_path.write_text(json.dumps(event), encoding="utf-8")
    return act_runner.run(
        repo,
        WORKFLOW,
        "pull_request_target",
        event_path,
        env={"GITHUB_API_URL": double.url, "MLOPS_ACTIONS_WRITE_INTERVAL": "0"},
        secrets={"GITHUB_TOKEN": TOKEN},
        timeout=900,
        extra_args=ACT_ARGS,
    )


def test_label_route_loop_end_to_end(
    act_runner: ActRunner, github_double: GitHubDouble, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path / "repo")
    scenario = scenario_for(repo, github_double, tmp_path / "state-root")
    pull = scenario.pull(["task:training", "gpu:required"], author="writer")
    # The PR's head is a commit of the local repository, so the work job can check it out.
    pull.pull.head_sha = head_of(repo)
    event = scenario.pull_labeled(pull.number, "gpu:required", "maint")

    run = run_caller(act_runner, repo, github_double, event, tmp_path)

    assert run.succeeded, run.explain(120)
    results = {job.job_id: job.result for job in run.jobs}
    assert all(r == "success" for r in results.values()), results
    assert run.ran("work"), run.explain(120)
    # The command ran under gpu-monitor (the default); this runner has no GPU.
    work = run.job("work")
    assert f"training #{pull.number} for 1 epoch(s)" in work.step(("gpu", "run")).output
    assert work.step("gpu").outputs["gpu-count"] == "0"

    [comment] = scenario.comments(pull.number)
    assert "**succeeded**" in comment, comment
    assert "| loss | 0.25 |" in comment and "| epochs | 1 |" in comment
    assert "| GPUs | no NVIDIA GPU visible |" in comment
    assert f"`gpu-training` at `{pull.pull.head_sha[:7]}`" in comment
    assert "status:done" in scenario.labels(pull.number)
    # route: permission + comments + comment write; report: comments + edit + labels.
    assert github_double.log.count("POST", "*/issues/*/comments") == 1


def test_fork_pr_never_reaches_the_work_job_unapproved(
    act_runner: ActRunner, github_double: GitHubDouble, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path / "repo")
    scenario = scenario_for(repo, github_double, tmp_path / "state-root")
    pull = scenario.pull(["task:training", "gpu:required"], author="contributor", fork=True)
    pull.pull.head_sha = head_of(repo)  # checkout-able, so only the gate can stop it
    event = scenario.pull_labeled(pull.number, "gpu:required", "maint")
    assert event["pull_request"]["head"]["repo"]["full_name"] == "contributor/models"

    run = run_caller(act_runner, repo, github_double, event, tmp_path)

    assert run.succeeded, run.explain(120)
    assert run.ran("route"), run.explain(120)
    assert run.job("route").step("route").outputs.get("routed") == "false", run.explain(120)
    assert not run.ran("work")
    assert not run.ran("report")
    [comment] = scenario.comments(pull.number)
    assert "awaiting approval" in comment and "`ci:approved`" in comment
    assert scenario.repo.dispatches == []
