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
from mlops_actions.pins.model import (
    PROJECT_FILES,
    FileScan,
    Link,
    Pin,
    PinGroup,
    ScanError,
    ScanResult,
    Source,
)
from mlops_actions.pins.pyfiles import (
    scan_pyproject,
    scan_python_version,
    scan_requirements,
    scan_setup_cfg,
)
from mlops_actions.pins.scripts import scan_script
from mlops_actions.pins.setuppy import scan_setup_py
from mlops_actions.pins.workflow import scan_action, scan_workflow
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
_ACTION_NAMES = frozenset({"action.yml", "action.yaml"})
_SCRIPT_SUFFIXES = (".sh", ".bash")
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
    if name == "setup.py":
        return "setup.py"
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
        if name in _ACTION_NAMES and "/.github/actions/" in f"/{rel_dir}/":
            return "action"
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


def _excluded_path(rel: str, patterns: Sequence[str]) -> bool:
    """Whether a file reached through a link is excluded, itself or through a parent folder."""
    parts = rel.split("/")
    return any(_excluded("/".join(parts[: i + 1]), patterns) for i in range(len(parts)))


def find_candidates(root: Path, exclude: Sequence[str] = ()) -> list[tuple[str, Kind]]:
    """Repository-relative paths of every file a scanner handles, in walk order."""
    return _walk(root, exclude)[0]


def _walk(root: Path, exclude: Sequence[str]) -> tuple[list[tuple[str, Kind]], set[str]]:
    """``find_candidates``, and which of them are symbolic links (the others were reached
    through real directories only, so they are read without resolving their path again)."""
    out: list[tuple[str, Kind]] = []
    links: set[str] = set()
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
            if name.rpartition(".")[2] in _NEVER and name != "setup.py":
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
                if entry.is_symlink():
                    links.add(prefix + name)
    out.sort()
    return out, links


_SCANNERS: dict[Kind, Callable[[str, str], FileScan]] = {
    "requirements": scan_requirements,
    "pyproject": scan_pyproject,
    "setup.cfg": scan_setup_cfg,
    "conda": scan_conda,
    "workflow": scan_workflow,
    "compose": scan_compose,
    "devcontainer": scan_devcontainer,
    "python-version": scan_python_version,
    "setup.py": scan_setup_py,
    "action": scan_action,
    "script": scan_script,
}


def _read(root: Path, rel: str, *, walked: bool = False) -> str | ScanError:
    try:
        return read_data_file(root, rel, walked=walked)
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
    candidates, linked = _walk(root, exclude)
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

    def walked(rel: str) -> bool:
        return rel in kinds and rel not in linked

    def run(rel: str, kind: Kind) -> None:
        if rel in scans:
            return
        if exclude and _excluded_path(rel, exclude):
            # Excluded even when a workflow, image or project installs or reads it.
            scans[rel] = FileScan()
            return
        text = _read(root, rel, walked=walked(rel))
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
    dockerfiles += [
        d
        for d in builds
        if d not in kinds and exists(d) and not (exclude and _excluded_path(d, exclude))
    ]
    stages: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {}
    for rel in dockerfiles:
        text = _read(root, rel, walked=walked(rel))
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

    # Follow includes, installs and metadata reads to the files they name, cycle-safe;
    # then the projects that ``pip install .`` builds and the local actions jobs use.
    _follow(scans, kinds, inside, exists, run, errors)
    for ln in [ln for s in list(scans.values()) for ln in s.links if ln.kind == "project"]:
        for rel in _project_files(ln.dst, exists, kinds):
            run(rel, kinds.get(rel) or _kind_of(rel))
    for ln in [ln for s in list(scans.values()) for ln in s.links if ln.kind == "uses"]:
        action = _action_file(ln.dst, exists)
        if action is not None:
            run(action, "action")
    _follow(scans, kinds, inside, exists, run, errors)

    files = tuple(
        sorted(
            rel for rel in scans if exists(rel) and not (exclude and _excluded_path(rel, exclude))
        )
    )
    pins: list[Pin] = []
    links: list[Link] = []
    groups: list[PinGroup] = []
    for rel in sorted(scans):
        s = scans[rel]
        pins += s.pins
        links += s.links
        groups += s.groups
        errors += s.errors
    derived, groups = _installed_projects(scans, links, groups, exists, kinds)
    pins += derived
    groups = _used_actions(scans, links, groups, exists)
    return ScanResult(
        root=str(root),
        files=files,
        pins=tuple(pins),
        links=tuple(links),
        errors=tuple(dict.fromkeys(errors)),
        stages=stages,
        groups=tuple(groups),
    )


_FOLLOWED = frozenset({"includes", "installs", "reads"})


def _kind_of(rel: str) -> Kind:
    """The scanner for a file reached through a link rather than found by name."""
    if rel.endswith((".yml", ".yaml")):
        return "conda"
    if rel.endswith(_SCRIPT_SUFFIXES):
        return "script"
    name = posixpath.basename(rel)
    return classify(posixpath.dirname(rel), name) or "requirements"


def _follow(
    scans: dict[str, FileScan],
    kinds: Mapping[str, Kind],
    inside: Callable[[str], bool],
    exists: Callable[[str], bool],
    run: Callable[[str, Kind], None],
    errors: list[ScanError],
) -> None:
    queue = [ln for s in list(scans.values()) for ln in s.links if ln.kind in _FOLLOWED]
    while queue:
        ln = queue.pop()
        target = ln.dst
        if target in scans:
            continue
        if target.startswith("/") and ln.kind == "installs":
            continue  # a path in an image that no COPY maps back: nothing here to read
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
        run(target, kinds.get(target) or _kind_of(target))
        queue += [n for n in scans[target].links if n.kind in _FOLLOWED]


def _project_files(
    where: str, exists: Callable[[str], bool], kinds: Mapping[str, Kind]
) -> list[str]:
    """The metadata files of the project at ``where`` (a project file or its directory)."""
    if posixpath.basename(where) in PROJECT_FILES and (where in kinds or exists(where)):
        where = posixpath.dirname(where)
    found = []
    for name in PROJECT_FILES:
        rel = posixpath.normpath(posixpath.join(where, name))
        if rel in kinds or exists(rel):
            found.append(rel)
    return found


def _action_file(where: str, exists: Callable[[str], bool]) -> str | None:
    for rel in (where, where.removesuffix(".yml") + ".yaml"):
        if exists(rel):
            return rel
    return None


def _targets(groups: list[PinGroup], context: str) -> list[int]:
    """Indexes of the groups a job-level link (``context`` = the job's group id) feeds: the
    steps' interpreter (``/setup-python`` when the job splits) and each ``if:`` alternative."""
    steps = [i for i, g in enumerate(groups) if g.id.startswith(context + "/setup-python")]
    if steps:
        return steps
    return [
        i for i, g in enumerate(groups) if g.id == context or g.id.startswith(context + "[if: ")
    ]


_PROJECT_CONTEXTS = frozenset({"dependencies", "install_requires"})


def _installed_projects(
    scans: Mapping[str, FileScan],
    links: list[Link],
    groups: list[PinGroup],
    exists: Callable[[str], bool],
    kinds: Mapping[str, Kind],
) -> tuple[list[Pin], list[PinGroup]]:
    """Pins a ``pip install .[extras]`` pulls in, attributed to the installing line: the
    project's dependencies, the extras asked for and the requirement files its metadata reads.
    Dockerfile pins keep the stage context (``stage x``) so stage ancestry still applies."""
    derived: list[Pin] = []
    seen: set[tuple[str, int, str]] = set()
    for ln in links:
        if ln.kind != "project" or (ln.src, ln.line, ln.dst) in seen:
            continue
        seen.add((ln.src, ln.line, ln.dst))
        wanted = _PROJECT_CONTEXTS | {f"extra {e}" for e in ln.extras}
        how = "pip install of the project" + (f" [{','.join(ln.extras)}]" if ln.extras else "")
        source = kinds.get(ln.src) or _kind_of(ln.src)
        taken: list[Pin] = []
        for project in _project_files(ln.dst, exists, kinds):
            scan = scans.get(project, FileScan())
            taken += [p for p in scan.pins if p.component != "python" and p.context in wanted]
            for read in scan.links:
                if read.kind == "reads":
                    taken += list(scans.get(read.dst, FileScan()).pins)
        # A range next to an exact pin of the same package (in this install, or already in the
        # image or job) is decided by the exact one: pip keeps the version both allow.
        # A requirement file the image or job also installs itself is already there.
        direct = {d.dst for d in links if d.kind == "installs" and d.src == ln.src}
        taken = [p for p in taken if p.file not in direct]
        is_docker = ln.stage is not None
        targets = [] if is_docker else _targets(groups, ln.context)
        beside = (
            scans.get(ln.src, FileScan()).pins
            if is_docker
            else [p for i in targets for p in groups[i].pins]
        )
        exact = {p.component for p in (*taken, *beside) if p.how == "exact"}
        taken = [p for p in taken if p.how == "exact" or p.component not in exact]
        new = [
            replace(
                p,
                file=ln.src,
                line=ln.line,
                col=1,
                source=source,
                context=ln.context if is_docker else f"pip install {ln.dst} ({p.context})",
                resolved_from=(*p.resolved_from, f"{p.file}:{p.line} ({p.context}) via {how}"),
            )
            for p in taken
        ]
        derived += new
        for i in targets:
            groups[i] = replace(groups[i], pins=(*groups[i].pins, *new))
    return derived, groups


def _used_actions(
    scans: Mapping[str, FileScan],
    links: list[Link],
    groups: list[PinGroup],
    exists: Callable[[str], bool],
) -> list[PinGroup]:
    """A job that uses a local composite action runs its steps: the action's pins and installs
    join the job's group; an action some job uses is no environment of its own."""
    used: set[str] = set()
    for ln in links:
        if ln.kind != "uses":
            continue
        action = _action_file(ln.dst, exists)
        own = scans[action].groups if action is not None and action in scans else ()
        if not own:
            continue
        used.add(own[0].id)
        for i in _targets(groups, ln.context):
            g = groups[i]
            groups[i] = replace(
                g, pins=(*g.pins, *own[0].pins), installs=(*g.installs, *own[0].installs)
            )
    return [g for g in groups if g.id not in used]


def _key(p: Pin) -> tuple[int, int, str, str, str, str | None]:
    return (p.line, p.col, p.component, p.value, p.how, p.variant)


def _context_of(link: Link) -> str:
    context = link.build_context or ""
    return "" if context == "." else context
