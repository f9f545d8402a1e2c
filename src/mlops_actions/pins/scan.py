"""Walk a repository and run the scanner each file's name selects.

Only names are looked at while walking (``os.scandir``, no per-file ``stat`` or read), so a tree
of tens of thousands of files costs little more than listing it; only candidate files are read.
"""

from __future__ import annotations

import fnmatch
import os
import posixpath
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from mlops_actions.files import DataFileError, read_data_file
from mlops_actions.pins.devcontainer import scan_devcontainer
from mlops_actions.pins.dockerfile import scan_dockerfile
from mlops_actions.pins.model import FileScan, Link, Pin, PinGroup, ScanError, ScanResult, Source
from mlops_actions.pins.pyfiles import (
    scan_pyproject,
    scan_python_version,
    scan_requirements,
    scan_setup_cfg,
)
from mlops_actions.pins.workflow import scan_workflow
from mlops_actions.pins.yamlnodes import scan_compose, scan_conda

# A file's kind is the source its pins carry.
Kind = Source

SKIP_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "node_modules",
        ".venv",
        "venv",
        "__pycache__",
        "site-packages",
        "build",
        "dist",
        ".tox",
        ".nox",
        ".eggs",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".hypothesis",
    }
)

_REQ_NAME = re.compile(r"^(?:.*requirements.*|.*constraints.*|reqs?)\.(?:txt|in)$")
_REQ_DIRS = {"requirements", "reqs", "requirement", "constraints"}
_CONDA_NAME = re.compile(
    r"^(?:(?:environment|conda)(?:[._-][\w.-]*)?|[\w.-]*[._-](?:environment|conda))\.ya?ml$"
)
_COMPOSE_NAME = re.compile(r"^(?:docker-)?compose(?:[._-][\w.-]*)?\.ya?ml$")


# Extensions no scanner reads: most files of a tree are rejected by this one set lookup.
_NEVER = frozenset(
    {
        "py",
        "pyc",
        "pyi",
        "md",
        "rst",
        "c",
        "cc",
        "cpp",
        "h",
        "hpp",
        "cu",
        "cuh",
        "js",
        "ts",
        "png",
        "jpg",
        "jpeg",
        "gif",
        "svg",
        "ipynb",
        "sh",
        "pt",
        "pth",
        "bin",
        "so",
        "o",
        "a",
        "html",
        "css",
        "go",
        "rs",
        "java",
        "csv",
        "parquet",
        "npy",
        "npz",
        "lock",
        "ini",
        "xml",
    }
)


def classify(rel_dir: str, name: str) -> Kind | None:
    """Which scanner a file gets, from its name and directory only."""
    ext = name.rpartition(".")[2]
    if ext in _NEVER and not name.startswith(("Dockerfile", "Containerfile")):
        return None
    lower = name.lower()
    if (
        name in {"Dockerfile", "Containerfile"}
        or (name.startswith(("Dockerfile.", "Containerfile.")) and not lower.endswith("ignore"))
        or lower.endswith(".dockerfile")
    ):
        return "dockerfile"
    if lower.endswith((".yml", ".yaml")):
        if rel_dir == ".github/workflows" or rel_dir.endswith("/.github/workflows"):
            return "workflow"
        if _COMPOSE_NAME.match(lower):
            return "compose"
        if _CONDA_NAME.match(lower):
            return "conda"
        return None
    if lower.endswith((".txt", ".in")):
        if _REQ_NAME.match(lower) or posixpath.basename(rel_dir).lower() in _REQ_DIRS:
            return "requirements"
        return None
    if name == "pyproject.toml":
        return "pyproject"
    if name == "setup.cfg":
        return "setup.cfg"
    if name == ".python-version":
        return "python-version"
    if name == ".devcontainer.json" or (
        name == "devcontainer.json" and "/.devcontainer" in "/" + rel_dir
    ):
        return "devcontainer"
    return None


def _excluded(rel: str, patterns: Sequence[str]) -> bool:
    return any(fnmatch.fnmatchcase(rel, p) or fnmatch.fnmatchcase(rel + "/", p) for p in patterns)


def find_candidates(root: Path, exclude: Sequence[str] = ()) -> list[tuple[str, Kind]]:
    """Repository-relative paths of every file a scanner handles, in walk order."""
    out: list[tuple[str, Kind]] = []
    stack = [("", str(root))]
    while stack:
        rel_dir, abs_dir = stack.pop()
        try:
            entries = list(os.scandir(abs_dir))
        except OSError:
            continue
        prefix = rel_dir + "/" if rel_dir else ""
        for entry in entries:
            name = entry.name
            # Source files are the bulk of a tree: reject them on the name alone (a directory
            # named like "x.py" is not walked, a price paid for speed).
            if name.rpartition(".")[2] in _NEVER:
                continue
            # d_type from scandir: no extra stat for ordinary files and directories.
            if entry.is_dir(follow_symlinks=False):
                if name in SKIP_DIRS or name.endswith(".egg-info"):
                    continue
                if exclude and _excluded(prefix + name, exclude):
                    continue
                stack.append((prefix + name, entry.path))
                continue
            kind = classify(rel_dir, name)
            if kind is not None and not (exclude and _excluded(prefix + name, exclude)):
                out.append((prefix + name, kind))
    out.sort()
    return out


_SCANNERS: dict[Kind, Callable[[str, str], FileScan]] = {
    "requirements": scan_requirements,
    "pyproject": scan_pyproject,
    "setup.cfg": scan_setup_cfg,
    "conda": scan_conda,
    "workflow": scan_workflow,
    "compose": scan_compose,
    "devcontainer": scan_devcontainer,
    "python-version": scan_python_version,
}


def _read(root: Path, rel: str) -> str | ScanError:
    try:
        return read_data_file(root, rel)
    except DataFileError as exc:
        return ScanError(rel, exc.line or 1, exc.col or 1, exc.message)


def docker_build_id(dockerfile: str, link: Link | None) -> str:
    """Environment id of a Dockerfile build: the plain build, or one a link describes."""
    if link is None:
        return f"docker:{dockerfile}"
    return f"docker:{dockerfile}@{link.context or link.src}"


def scan_repo(
    root: Path,
    *,
    build_args: Mapping[str, str] | None = None,
    exclude: Sequence[str] = (),
) -> ScanResult:
    """Scan every pin-bearing file under ``root``. Problems become ``errors``, never raise."""
    root = Path(root)
    base_args = dict(build_args or {})
    candidates = find_candidates(root, exclude)
    kinds: dict[str, Kind] = dict(candidates)
    scans: dict[str, FileScan] = {}
    errors: list[ScanError] = []

    def inside(rel: str) -> bool:
        return rel != ".." and not rel.startswith("../") and not rel.startswith("/")

    root_str = str(root)
    seen_files: dict[str, bool] = {}

    def exists(rel: str) -> bool:
        if rel in kinds:
            return True
        if rel not in seen_files:
            seen_files[rel] = inside(rel) and os.path.isfile(os.path.join(root_str, rel))
        return seen_files[rel]

    def run(rel: str, kind: Kind) -> None:
        if rel in scans:
            return
        text = _read(root, rel)
        if isinstance(text, ScanError):
            errors.append(text)
            scans[rel] = FileScan()
            return
        scans[rel] = _SCANNERS[kind](rel, text)

    for rel, kind in candidates:
        if kind != "dockerfile":
            run(rel, kind)

    # Dockerfiles: the plain build, plus one per distinct set of build args passed to it.
    all_links = [ln for s in scans.values() for ln in s.links]
    builds: dict[str, list[Link]] = {}
    for ln in all_links:
        if ln.kind == "builds":
            builds.setdefault(ln.dst, []).append(ln)
    dockerfiles = [rel for rel, kind in candidates if kind == "dockerfile"]
    dockerfiles += [d for d in builds if d not in kinds and exists(d) and not _excluded(d, exclude)]
    stages: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {}
    for rel in dockerfiles:
        text = _read(root, rel)
        if isinstance(text, ScanError):
            errors.append(text)
            continue
        contexts = tuple(dict.fromkeys(_context_of(ln) for ln in builds.get(rel, [])))
        scan = scan_dockerfile(rel, text, build_args=base_args, exists=exists, contexts=contexts)
        stages[rel] = scan.stages
        found = list(scan.pins)
        base_keys = {_key(p) for p in scan.pins}
        for ln in builds.get(rel, []):
            if not ln.build_args:
                continue
            merged = {**base_args, **dict(ln.build_args)}
            env_id = docker_build_id(rel, ln)
            note = f"build args from {ln.src}:{ln.line}"
            variant = scan_dockerfile(
                rel,
                text,
                build_args=merged,
                environment=env_id,
                build_note=note,
                exists=exists,
                contexts=contexts,
            )
            found += [p for p in variant.pins if _key(p) not in base_keys]
        scans[rel] = replace(scan, pins=tuple(found))

    # Follow includes and installs to requirement files, cycle-safe.
    queue = [
        ln for s in list(scans.values()) for ln in s.links if ln.kind in {"includes", "installs"}
    ]
    while queue:
        ln = queue.pop()
        target = ln.dst
        if target in scans or _excluded(target, exclude):
            continue  # an excluded file stays out even when something installs it
        if not inside(target):
            errors.append(ScanError(ln.src, ln.line, 1, f"{target!r} is outside the repository"))
            scans[target] = FileScan()
            continue
        if not exists(target):
            if ln.kind == "includes":
                errors.append(
                    ScanError(ln.src, ln.line, 1, f"included file {target!r} does not exist")
                )
            continue
        known = kinds.get(target)
        if known is None:
            known = "conda" if target.endswith((".yml", ".yaml")) else "requirements"
        run(target, known)
        queue += [n for n in scans[target].links if n.kind in {"includes", "installs"}]

    files = tuple(sorted(rel for rel, s in scans.items() if s is not None and exists(rel)))
    pins: list[Pin] = []
    links: list[Link] = []
    groups: list[PinGroup] = []
    for rel in sorted(scans):
        s = scans[rel]
        pins += s.pins
        links += s.links
        groups += s.groups
        errors += s.errors
    return ScanResult(
        root=str(root),
        files=files,
        pins=tuple(pins),
        links=tuple(links),
        errors=tuple(dict.fromkeys(errors)),
        stages=stages,
        groups=tuple(groups),
    )


def _key(p: Pin) -> tuple[int, int, str, str, str, str | None]:
    return (p.line, p.col, p.component, p.value, p.how, p.variant)


def _context_of(link: Link) -> str:
    context = link.build_context or ""
    return "" if context == "." else context
