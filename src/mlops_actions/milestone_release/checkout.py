"""The repository's files at the release target, read from the local checkout with git."""

from __future__ import annotations

import io
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mlops_actions.errors import EnvironmentProblem

GIT_TIMEOUT = 60.0


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        ["git", "-C", str(root), *args],
        capture_output=True,
        timeout=GIT_TIMEOUT,
        check=False,
    )


def is_git_checkout(root: Path) -> bool:
    try:
        done = _git(root, "rev-parse", "--is-inside-work-tree")
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0 and done.stdout.strip() == b"true"


@contextmanager
def files_at(root: Path, sha: str) -> Iterator[tuple[Path, str]]:
    """A directory holding the tree of commit ``sha``, and how it was obtained.

    The checkout itself when its HEAD is ``sha``; otherwise the commit is exported from the
    local history into a temporary directory. Without a git checkout the directory is used as
    it is (the caller says so).
    """
    if not is_git_checkout(root):
        yield root, "not a git checkout: the files as they are"
        return
    head = _git(root, "rev-parse", "HEAD").stdout.decode().strip()
    if head == sha:
        yield root, f"the checkout (HEAD {sha[:12]})"
        return
    archive = _git(root, "archive", "--format=tar", sha)
    if archive.returncode != 0:
        raise EnvironmentProblem(
            f"the checkout in {root} is at {head[:12] or 'no commit'} and does not hold the "
            f"release target {sha}, so its pins cannot be read",
            fix="check out the target first (actions/checkout with `ref:` set to the target, "
            "or `fetch-depth: 0`).",
        )
    with tempfile.TemporaryDirectory(prefix="mlops-release-") as tmp:
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            if hasattr(tarfile, "data_filter"):
                tar.extractall(tmp, filter="data")
            else:  # Python before 3.10.12: git's own archive of our own commit
                tar.extractall(tmp)
        yield Path(tmp), f"commit {sha[:12]} exported from the checkout"
