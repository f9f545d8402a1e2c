"""The label-dispatch self-test workflow under act, end to end against the GitHub API double.

A pull_request.labeled event (task:training + gpu:required, applied by a maintainer) runs the
reusable label-route workflow: route on the hosted label, the job on the planned runner label
`gpu` (mapped to this machine), env-verify, the command, then the report back into the double.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from tests.support.act import ActRun
from tests.support.github_double import GitHubDouble
from tests.support.label_dispatch import REPO, TOKEN, Scenario

if TYPE_CHECKING:
    from tests.support.act_fixtures import ActRunner

pytest_plugins = ["tests.support.act_fixtures"]

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ".github/workflows/self-test-label-dispatch.yml"
COPY = (
    "label-dispatch",
    "env-verify",
    "actions",
    "src/mlops_actions",
    "pyproject.toml",
    "README.md",
    "tests/fixtures/label_dispatch",
    ".github/workflows/label-route.yml",
    WORKFLOW,
)


def make_repo(target: Path) -> Path:
    for rel in COPY:
        source = ROOT / rel
        dest = target / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, dest, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(source, dest)
    # The route's runner label is a GPU pool here; act maps it to this machine.
    config = target / "tests/fixtures/label_dispatch/mlops.yml"
    config.write_text(config.read_text(encoding="utf-8").replace(
        "runs-on: [ubuntu-latest]", "runs-on: [self-hosted, gpu]"), encoding="utf-8")
    git = ["git", "-C", str(target), "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    subprocess.run([*git, "remote", "add", "origin", f"https://github.com/{REPO}.git"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "fixture"], check=True)
    return target


def explain(run: ActRun) -> str:
    return f"act exited {run.returncode}\n{run.tail(120)}"


def test_label_route_loop_end_to_end(
    act_runner: ActRunner, github_double: GitHubDouble, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path / "repo")
    config_path = "tests/fixtures/label_dispatch/mlops.yml"
    # route and report read the config at the PR's base commit, through the API.
    scenario = Scenario(github_double, tmp_path / "state-root",
                        files={config_path: (repo / config_path).read_text(encoding="utf-8")})
    scenario.seed_labels()
    pull = scenario.pull(["task:training", "gpu:required"], author="writer")
    event = scenario.pull_labeled(pull.number, "gpu:required", "maint")
    event_path = tmp_path / "event.json"
    event_path.write_text(json.dumps(event), encoding="utf-8")

    run = act_runner.run(
        repo, WORKFLOW, "pull_request", event_path,
        env={"GITHUB_API_URL": github_double.url, "MLOPS_ACTIONS_WRITE_INTERVAL": "0"},
        secrets={"GITHUB_TOKEN": TOKEN},
        timeout=900,
        extra_args=("--platform", "gpu=-self-hosted", "--platform", "self-hosted=-self-hosted"),
    )

    assert run.succeeded, explain(run)
    results = {job.job_id: job.result for job in run.jobs}
    assert results.get("all") == "success", explain(run)
    assert all(r == "success" for r in results.values()), results
    assert run.ran("run"), explain(run)
    assert "training for 1 epoch(s)" in run.job("run").step("command").output

    [comment] = scenario.comments(pull.number)
    assert "**succeeded**" in comment, comment
    assert "| loss | 0.25 |" in comment and "| epochs | 1 |" in comment
    assert f"`gpu-training` at `{pull.pull.head_sha[:7]}`" in comment
    assert "status:done" in scenario.labels(pull.number)
    # route: permission + comments + comment write; report: comments + edit + labels.
    assert github_double.log.count("POST", "*/issues/*/comments") == 1
