""".pre-commit-hooks.yaml, run by pre-commit itself on a sample repository.

The hook repository is this checkout as it stands (copied into a fresh git repository, so
uncommitted changes are what is tested) and is named by its local path: pre-commit clones it
and pip-installs it into a virtual environment of its own, with no network beyond what pip is
configured with. The install happens once per module (a shared PRE_COMMIT_HOME).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.support.repos import ROOT, commit_all, copy_repo

PRE_COMMIT = Path(sys.executable).parent / "pre-commit"
FIXTURE = ROOT / "tests" / "fixtures" / "repos" / "vg-consistent"
CONFIG = "version: 1\nversion-guard:\n  fail-on: error\n"


def test_hooks_file_names_real_commands() -> None:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert {h["id"]: h["entry"] for h in hooks} == {
        "version-guard": "mlops-actions version-guard",
        "mlops-config-check": "mlops-actions config check",
    }
    assert all(h["language"] == "python" and h["pass_filenames"] is False for h in hooks)


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, Path]:
    base = tmp_path_factory.mktemp("pre-commit")
    sha = copy_repo(base / "hooks", [".pre-commit-hooks.yaml"])
    return base / "hooks", sha, base / "home"


def _sample(tmp_path: Path, repo: Path, sha: str) -> Path:
    sample = tmp_path / "sample"
    shutil.copytree(FIXTURE, sample)
    (sample / ".github" / "mlops.yml").write_text(CONFIG, encoding="utf-8")
    (sample / ".pre-commit-config.yaml").write_text(
        yaml.safe_dump(
            {
                "repos": [
                    {
                        "repo": str(repo),
                        "rev": sha,
                        "hooks": [{"id": "version-guard"}, {"id": "mlops-config-check"}],
                    }
                ]
            }
        ),
        encoding="utf-8",
    )
    commit_all(sample)
    return sample


def _run(sample: Path, home: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PRE_COMMIT_HOME": str(home),
        "PRE_COMMIT_COLOR": "never",
        "PATH": f"{PRE_COMMIT.parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    for name in ("GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY", "GITHUB_OUTPUT", "VIRTUAL_ENV"):
        env.pop(name, None)
    return subprocess.run(
        [str(PRE_COMMIT), "run", "--all-files"],
        cwd=sample,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


def test_hooks_pass_on_a_consistent_repository(
    tmp_path: Path, hook_repo: tuple[Path, str, Path]
) -> None:
    repo, sha, home = hook_repo
    result = _run(_sample(tmp_path, repo, sha), home)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "version-guard (torch / CUDA / cuDNN / Python pins agree)" in result.stdout
    assert result.stdout.count("Passed") == 2


def test_hooks_fail_on_a_pin_mismatch_and_a_bad_config(
    tmp_path: Path, hook_repo: tuple[Path, str, Path]
) -> None:
    repo, sha, home = hook_repo
    sample = _sample(tmp_path, repo, sha)
    train = sample / "requirements" / "train.txt"
    train.write_text(
        train.read_text(encoding="utf-8").replace("torch==2.4.1+cu121", "torch==2.5.0+cu121"),
        encoding="utf-8",
    )
    commit_all(sample)
    mismatch = _run(sample, home)
    assert mismatch.returncode == 1, mismatch.stdout + mismatch.stderr
    assert re.search(r"pins agree\)\.+Failed", mismatch.stdout)
    assert re.search(r"\(\.github/mlops\.yml\)\.+Passed", mismatch.stdout)
    assert "requirements/train.txt:" in mismatch.stdout and "torch 2.5.0" in mismatch.stdout

    (sample / ".github" / "mlops.yml").write_text(
        "version: 1\nenvironment:\n  torch: 2.4\n", encoding="utf-8"
    )
    commit_all(sample)
    bad_config = _run(sample, home)
    assert bad_config.returncode == 1
    assert bad_config.stdout.count("Failed") == 2  # version-guard reads the config too
    assert (
        ".github/mlops.yml:3:3: error: `environment.torch`: must be a string, not the number 2.4."
        in bad_config.stdout
    )
