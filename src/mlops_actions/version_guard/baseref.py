"""The pins at a base ref, read with git: the change gate compares them with the working tree.

Only the files that can bear pins are taken out of git (``git archive <sha> -- <paths>`` into a
temporary directory), then scanned like the working tree: for a large repository that is a few
hundred small files instead of a checkout. Requirement files can have any name and a Dockerfile
may ``COPY`` them, so every ``*.txt`` / ``*.in`` comes along, and any file a link names that was
not taken yet is fetched in another round.
"""

from __future__ import annotations

import posixpath
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops_actions.errors import EnvironmentProblem, UsageError
from mlops_actions.pins import ScanResult, classify, scan_repo

_FIX_FETCH = (
    "fetch the history: actions/checkout with `fetch-depth: 0` (or `git fetch origin <ref>` "
    "before this step)."
)
PR_EVENTS = frozenset({"pull_request", "pull_request_target"})


@dataclass(frozen=True)
class Repo:
    toplevel: Path
    prefix: str
    """The scanned directory relative to the repository root, ``""`` or ending in ``/``."""


def _git(args: Sequence[str], cwd: Path, *, check_ref: str | None = None) -> str:
    try:
        done = subprocess.run(
            ["git", "--literal-pathspecs", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=False,
        )
    except FileNotFoundError:
        raise EnvironmentProblem(
            "git is not installed, and the change gate needs it to read the base ref",
            fix="install git on the runner, or leave {input} empty.",
            input="base-ref",
        ) from None
    if done.returncode != 0:
        raise subprocess.CalledProcessError(done.returncode, args, done.stdout, done.stderr)
    return done.stdout


def open_repo(path: Path) -> Repo:
    try:
        top = _git(["rev-parse", "--show-toplevel"], path).strip()
        prefix = _git(["rev-parse", "--show-prefix"], path).strip()
    except subprocess.CalledProcessError:
        raise UsageError(
            f"{path} is not inside a git repository, so the base ref cannot be read",
            fix="check out the repository with actions/checkout, or leave {input} empty.",
            input="base-ref",
        ) from None
    return Repo(Path(top), prefix)


def resolve_sha(repo: Repo, ref: str) -> str:
    """The commit a ref names; branch names also tried as ``origin/<name>``."""
    candidates = [ref]
    if not ref.startswith(("origin/", "refs/")) and not _looks_like_sha(ref):
        candidates.append(f"origin/{ref}")
    for candidate in candidates:
        try:
            return _git(
                ["rev-parse", "--verify", "--quiet", "--end-of-options", f"{candidate}^{{commit}}"],
                repo.toplevel,
            ).strip()
        except subprocess.CalledProcessError:
            continue
    raise UsageError(f"base ref {ref!r} is not in this clone", fix=_FIX_FETCH)


def _looks_like_sha(ref: str) -> bool:
    return 7 <= len(ref) <= 64 and all(c in "0123456789abcdef" for c in ref.lower())


def base_from_event(
    event_name: str, event: Mapping[str, Any]
) -> tuple[str | None, list[str] | None]:
    """The PR base (sha, else ref) and the PR's labels; ``(None, None)`` outside a PR."""
    if event_name not in PR_EVENTS:
        return None, None
    pr = event.get("pull_request")
    if not isinstance(pr, Mapping):
        return None, None
    base = pr.get("base") if isinstance(pr.get("base"), Mapping) else {}
    ref = (base or {}).get("sha") or (base or {}).get("ref")
    labels = [
        str(label.get("name"))
        for label in pr.get("labels") or []
        if isinstance(label, Mapping) and label.get("name")
    ]
    return (str(ref) if ref else None), labels


def _wanted(name: str) -> bool:
    rel_dir, base = posixpath.split(name)
    return classify(rel_dir, base) is not None or base.lower().endswith((".txt", ".in"))


def _extract(repo: Repo, sha: str, paths: Sequence[str], dest: Path) -> None:
    if not paths:
        return
    import tarfile  # here, like tempfile below: only a scan with a base ref needs them

    try:
        proc = subprocess.Popen(
            ["git", "--literal-pathspecs", "archive", "--format=tar", sha, "--", *paths],
            cwd=repo.toplevel,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
    except FileNotFoundError:  # pragma: no cover - _git ran first
        raise EnvironmentProblem("git is not installed", fix="install git on the runner.") from None
    assert proc.stdout is not None
    with tarfile.open(fileobj=proc.stdout, mode="r|") as archive:
        if hasattr(tarfile, "data_filter"):
            archive.extractall(dest, filter="data")
        else:  # pragma: no cover - Python without extraction filters
            archive.extractall(dest)
    _, err = proc.communicate()
    if proc.returncode != 0:
        raise UsageError(
            f"cannot read the files of base ref {sha[:12]}: {err.decode(errors='replace').strip()}",
            fix=_FIX_FETCH,
        )


def scan_ref(
    path: Path,
    ref: str,
    *,
    build_args: Mapping[str, str] | None = None,
    exclude: Sequence[str] = (),
) -> tuple[ScanResult, str]:
    """Scan ``path`` as it was at ``ref``; returns the scan and the commit sha."""
    repo = open_repo(path)
    sha = resolve_sha(repo, ref)
    listing = _git(
        ["ls-tree", "-r", "-z", "--name-only", "--full-tree", sha, "--", repo.prefix or "."],
        repo.toplevel,
    )
    names = {n for n in listing.split("\0") if n}
    take = sorted(n for n in names if _wanted(n))
    import tempfile

    with tempfile.TemporaryDirectory(prefix="version-guard-base-") as tmp:
        dest = Path(tmp)
        taken: set[str] = set()
        root = dest / repo.prefix if repo.prefix else dest
        for _ in range(5):
            _extract(repo, sha, take, dest)
            taken.update(take)
            root.mkdir(parents=True, exist_ok=True)
            result = scan_repo(root, build_args=build_args, exclude=exclude)
            linked = {repo.prefix + posixpath.normpath(ln.dst) for ln in result.links}
            take = sorted(n for n in linked if n in names and n not in taken)
            if not take:
                break
    return result, sha
