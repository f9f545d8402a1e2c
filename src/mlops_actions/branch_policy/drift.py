"""How far a head is behind its target, read from the local clone with git.

Branch names reach git only as arguments of an argv list after ``--end-of-options``, never a
shell; a name git cannot resolve simply means the drift is not measured.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

GIT_TIMEOUT = 30.0
DAY = 86400


@dataclass(frozen=True)
class Drift:
    behind: int  # commits on the target that the head lacks
    days: int  # days between the merge base and the target's tip (0 when not behind)


def _git(root: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(root), *args],
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def _commit(root: Path, ref: str) -> str | None:
    """The commit a ref names, trying `origin/<name>` for branch names a PR clone lacks."""
    for candidate in (ref, f"origin/{ref}", f"refs/remotes/origin/{ref}"):
        sha = _git(
            root, "rev-parse", "--verify", "--quiet", "--end-of-options", candidate + "^{commit}"
        )
        if sha:
            return sha
    return None


def measure(root: Path, head: str, base: str) -> Drift | str:
    """The drift of ``head`` behind ``base`` (refs or SHAs), or why it could not be measured."""
    if _git(root, "rev-parse", "--is-inside-work-tree") != "true":
        return f"{root} is not a git checkout"
    head_sha, base_sha = _commit(root, head), _commit(root, base)
    if head_sha is None or base_sha is None:
        return "the head or the base is not in this clone (actions/checkout with fetch-depth: 0)"
    count = _git(root, "rev-list", "--count", f"{head_sha}..{base_sha}")
    merge_base = _git(root, "merge-base", head_sha, base_sha)
    if count is None or merge_base is None:
        return "the head and the base share no history in this clone (fetch-depth: 0)"
    behind = int(count)
    if behind == 0:
        return Drift(0, 0)
    stamps = _git(root, "show", "-s", "--format=%ct", merge_base, base_sha)
    times = [int(t) for t in (stamps or "").split()]
    days = max(0, (times[-1] - times[0]) // DAY) if len(times) == 2 else 0
    return Drift(behind, days)


def drift_message(drift: Drift, base: str, max_commits: int, max_days: int) -> str | None:
    """The warning for a drift past the limits (0 turns a limit off), or None."""
    too_many = max_commits > 0 and drift.behind > max_commits
    too_old = max_days > 0 and drift.days > max_days
    if not (too_many or too_old):
        return None
    limits = []
    if too_many:
        limits.append(f"{drift.behind} commits (limit {max_commits})")
    if too_old:
        limits.append(f"{drift.days} days (limit {max_days})")
    return f"the head is {' and '.join(limits)} behind its target {base}"


DRIFT_FIX = (
    "rebase it: `git fetch origin && git rebase origin/<target>`, then push with --force-with-lease"
)
