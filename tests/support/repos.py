"""Throwaway git repositories holding parts of this one, for act runs of the self-test jobs."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# What every self-test run needs: the package, the shared bootstrap, the workflows.
BASE = (
    "actions",
    "src/mlops_actions",
    "pyproject.toml",
    "README.md",
    ".github/workflows",
)


def copy_repo(target: Path, paths: Iterable[str], *, remote: str | None = None) -> str:
    """Copy `paths` (plus BASE) from this repository into a new git repository at `target`
    and commit them; returns the commit SHA."""
    for rel in (*BASE, *paths):
        source = ROOT / rel
        dest = target / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(
                source,
                dest,
                dirs_exist_ok=True,
                ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
            )
        else:
            shutil.copy2(source, dest)
    return commit_all(target, remote=remote)


def commit_all(target: Path, *, remote: str | None = None) -> str:
    git = ["git", "-C", str(target), "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    if not (target / ".git").exists():
        subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
        if remote:
            subprocess.run([*git, "remote", "add", "origin", remote], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "fixture"], check=True)
    done = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True)
    return done.stdout.strip()
