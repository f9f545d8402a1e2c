"""pytest fixtures for workflow runs under act: a Docker engine, the local base image, a runner.

Without a Docker engine the tests that need one are skipped, except under CI (CI=true), where a
missing engine fails them: CI must exercise the real runner.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from .act import BASE_IMAGE, BED_DIR, ActRun, Platform, run_workflow
from .events import load_event, retarget
from .repos import copy_repo

SELF_TEST = ".github/workflows/self-test.yml"


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{reason} (CI must run these tests)", pytrace=False)
    pytest.skip(reason)


def _bed_script(name: str, timeout: float) -> str | None:
    """Run a tools/bed script; None when it worked, else its last error line."""
    try:
        done = subprocess.run(
            ["bash", str(BED_DIR / name)],
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"tools/bed/{name} did not finish within {timeout:.0f}s"
    if done.returncode == 0:
        return None
    lines = (done.stderr or done.stdout).strip().splitlines()
    return lines[-1] if lines else f"tools/bed/{name} exited {done.returncode}"


@pytest.fixture(scope="session")
def docker_engine() -> None:
    """A Docker engine that answers (installed and started by tools/bed/docker-up.sh)."""
    error = _bed_script("docker-up.sh", timeout=300)
    if error is not None:
        _unavailable(f"no Docker engine: {error}")


@pytest.fixture(scope="session")
def base_image(docker_engine: None) -> str:
    """The local job-container image (tools/bed/base-image.sh; cached across runs)."""
    error = _bed_script("base-image.sh", timeout=900)
    if error is not None:
        _unavailable(f"no base image: {error}")
    return BASE_IMAGE


@dataclass(frozen=True)
class ActRunner:
    """`run_workflow` with defaults a test can set once (env, secrets, timeout, and a shared
    action cache folder for warm host runs)."""

    env: Mapping[str, str]
    secrets: Mapping[str, str]
    timeout: float = 300
    action_cache_dir: Path | None = None

    def run(
        self,
        repo_dir: Path,
        workflow_path: Path | str,
        event_name: str = "push",
        event_payload_path: Path | str | None = None,
        *,
        job: str | None = None,
        platform: Platform = "host",
        env: Mapping[str, str] | None = None,
        secrets: Mapping[str, str] | None = None,
        timeout: float | None = None,
        rebuild: bool = True,
        extra_args: Sequence[str] = (),
    ) -> ActRun:
        return run_workflow(
            repo_dir,
            workflow_path,
            event_name,
            event_payload_path,
            job=job,
            platform=platform,
            env={**self.env, **(env or {})},
            secrets={**self.secrets, **(secrets or {})},
            timeout=self.timeout if timeout is None else timeout,
            action_cache_dir=self.action_cache_dir,
            rebuild=rebuild,
            extra_args=extra_args,
        )

    def self_test_on_pull_request(
        self, workdir: Path, paths: Sequence[str], job: str, passing: Sequence[str]
    ) -> ActRun:
        """Run `job` of self-test.yml in a throwaway repository holding `paths`, on GitHub's
        `pull_request.opened` example aimed at the repository's commit; every job of
        `passing` (the reusable workflow's jobs) must succeed and no other may run."""
        repo = workdir / "repo"
        sha = copy_repo(repo, paths)
        event = retarget(
            load_event("pull_request.opened"),
            overrides={"pull_request.base.sha": sha, "pull_request.head.sha": sha},
        )
        event_path = workdir / "pull_request.json"
        event_path.write_text(json.dumps(event), encoding="utf-8")
        run = self.run(repo, SELF_TEST, "pull_request", event_path, job=job, timeout=900)
        assert run.succeeded, run.explain(80)
        results = {found.job_id: found.result for found in run.jobs}
        assert results == dict.fromkeys(passing, "success"), run.explain(80)
        return run


@pytest.fixture
def act_runner(docker_engine: None) -> ActRunner:
    """Runs workflows under act. For platform="container", also request `base_image`."""
    return ActRunner(env={}, secrets={})
