"""Group pins into environments: the places software actually runs, whose pins must agree.

The rules (documented in docs/version-guard.md, applied in this order):

1. docker: every Dockerfile build is an environment: the plain build (config build args) and
   one per distinct set of build args a workflow, compose file or devcontainer passes. With
   several final stages (stages no other stage builds on) each is its own environment, holding
   its ``FROM``/``COPY --from`` ancestry and the global ``ARG`` pins. The requirement and conda
   files its stages install (``RUN pip install -r``, through ``COPY``) join it, with their
   ``-r``/``-c`` closure, and so do the CI jobs and compose services that run in an image the
   build tags (matched on the image name without tag).
2. devcontainer: a devcontainer's own pins plus the build of the Dockerfile it names.
3. conda: each conda environment file with its ``pip:`` list and the files that list includes.
4. ci: each CI job, and for a matrix each combination (``include`` entries merged as GitHub
   does), with the requirement files the job installs; unless it runs in an image built here
   (rule 1).
5. compose: each compose service that runs an image not built here.
6. project: each ``pyproject.toml`` / ``setup.cfg`` / ``setup.py`` with the ``.python-version``
   beside it and the requirement files its metadata reads (``reads`` links).
7. requirements: each requirements file that nothing installs or includes, with its closure.
8. file: any pin still in no environment forms one with the other leftovers of its file.
"""

from __future__ import annotations

import posixpath
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from mlops_actions.pins.model import Environment, Link, Pin, PinGroup, ScanResult
from mlops_actions.pins.scan import docker_build_id
from mlops_actions.pins.values import parse_image_ref

EnvKind = Literal[
    "docker", "conda", "devcontainer", "ci", "compose", "requirements", "project", "file"
]
_CLOSURE_KINDS = frozenset({"includes", "installs"})
Stages = Mapping[str, tuple[tuple[str, tuple[str, ...]], ...]]


@dataclass
class _Index:
    by_file: dict[str, list[Pin]]
    links: Sequence[Link]
    followed: dict[str, list[str]] = field(default_factory=dict)
    """Per file, what it includes or installs (filled once from ``links``)."""
    reads: dict[str, list[str]] = field(default_factory=dict)
    """Per project file, the requirement files its metadata reads."""

    installs: dict[str, list[Link]] = field(default_factory=dict)
    """Per file, its ``installs`` links."""
    builds: dict[str, list[Link]] = field(default_factory=dict)
    """Per Dockerfile, the ``builds`` links that build it."""
    runs_in: list[tuple[str, set[str | None]]] = field(default_factory=list)
    """Per ``runs-in`` link, its context and the image names (without tag) it runs in."""

    def __post_init__(self) -> None:
        # Each link is looked at once here; the rules then ask these maps, not every link
        # again per Dockerfile (a matrix adds a link per combination).
        names: dict[str, str | None] = {}
        for ln in self.links:
            if ln.kind in _CLOSURE_KINDS:
                self.followed.setdefault(ln.src, []).append(ln.dst)
            elif ln.kind == "reads":
                self.reads.setdefault(ln.src, []).append(ln.dst)
            if ln.kind == "installs":
                self.installs.setdefault(ln.src, []).append(ln)
            elif ln.kind == "builds":
                self.builds.setdefault(ln.dst, []).append(ln)
            elif ln.kind == "runs-in":
                for ref in ln.images:
                    if ref not in names:
                        names[ref] = _repo_name(ref)
                self.runs_in.append((ln.context, {names[ref] for ref in ln.images}))

    def closure(self, files: Iterable[str]) -> list[str]:
        """Files plus everything they include (``-r``/``-c``) or install (a script's
        ``pip install -r``, a conda file's ``pip: [-r x]``), cycle-safe, in order."""
        out: dict[str, None] = {}  # ordered, with constant-time membership (linear closure)
        todo = deque(files)
        while todo:
            f = todo.popleft()
            if f in out:
                continue
            out[f] = None
            todo += self.followed.get(f, ())
        return list(out)


def _stage_of(pin: Pin) -> str | None:
    return pin.context[6:] if pin.context.startswith("stage ") else None


def _ancestry(graph: dict[str, tuple[str, ...]], leaf: str) -> set[str]:
    seen: set[str] = set()
    todo = [leaf]
    while todo:
        s = todo.pop()
        if s in seen:
            continue
        seen.add(s)
        todo += list(graph.get(s, ()))
    return seen


def _repo_name(ref: str) -> str | None:
    image = parse_image_ref(ref)
    return image.repository if image else None


def group_environments(
    pins: Sequence[Pin],
    links: Sequence[Link] = (),
    groups: Sequence[PinGroup] = (),
    stages: Stages | None = None,
) -> list[Environment]:
    """Pure: the same pins, links, groups and stage graphs always give the same environments."""
    stages = stages or {}
    idx = _Index({}, links)
    for p in pins:
        idx.by_file.setdefault(p.file, []).append(p)
    placed: set[int] = set()
    envs: list[Environment] = []

    def emit(
        env_id: str,
        kind: EnvKind,
        name: str,
        rule: str,
        members: Iterable[Pin],
        files: Iterable[str],
    ) -> None:
        member_list = list(dict.fromkeys(members))
        if not member_list:
            return
        placed.update(id(p) for p in member_list)
        envs.append(
            Environment(
                id=env_id,
                kind=kind,
                name=name,
                rule=rule,
                files=tuple(dict.fromkeys(files)),
                pins=tuple(member_list),
            )
        )

    def file_pins(files: Iterable[str]) -> list[Pin]:
        return [p for f in files for p in idx.by_file.get(f, [])]

    groups_by_id = {g.id: g for g in groups}
    merged_groups: set[str] = set()
    dockerfiles = [f for f, ps in idx.by_file.items() if ps and ps[0].source == "dockerfile"]
    dockerfiles += [f for f in stages if f not in dockerfiles]

    def docker_pins(dockerfile: str, build: Link | None, leaf: str | None) -> list[Pin]:
        env_id = docker_build_id(dockerfile, build)
        all_pins = idx.by_file.get(dockerfile, [])
        variant = [p for p in all_pins if p.environment == env_id]
        overridden = {(p.line, p.col, p.component) for p in variant}
        base = [
            p
            for p in all_pins
            if p.environment is None and (p.line, p.col, p.component) not in overridden
        ]
        chosen = base + variant
        if leaf is None:
            return chosen
        graph = dict(stages.get(dockerfile, ()))
        keep = _ancestry(graph, leaf)
        return [p for p in chosen if _stage_of(p) is None or _stage_of(p) in keep]

    def installed_by(dockerfile: str, leaf: str | None) -> list[str]:
        graph = dict(stages.get(dockerfile, ()))
        keep = _ancestry(graph, leaf) if leaf else None
        files = [
            ln.dst
            for ln in idx.installs.get(dockerfile, ())
            if keep is None or ln.stage is None or ln.stage in keep
        ]
        return idx.closure(files)

    def leaves(dockerfile: str, target: str | None) -> list[str | None]:
        graph = dict(stages.get(dockerfile, ()))
        if target and target in graph:
            return [target]
        parents = {p for ps in graph.values() for p in ps}
        found = [s for s in graph if s not in parents]
        return [None] if len(found) <= 1 else list(found)

    # Rule 1 (docker) and rule 2 (devcontainer).
    for dockerfile in dockerfiles:
        builds: list[Link | None] = [None]
        builds += idx.builds.get(dockerfile, ())
        acc: dict[str, tuple[EnvKind, str, str, list[Pin], list[str]]] = {}
        for build in builds:
            env_id = docker_build_id(dockerfile, build) if build and build.build_args else None
            base_id = env_id or docker_build_id(dockerfile, None)
            is_dev = build is not None and build.src.endswith("devcontainer.json")
            for leaf in leaves(dockerfile, build.stage if build else None):
                eid = (
                    f"devcontainer:{build.src}"
                    if is_dev and build
                    else (base_id + (f"#{leaf}" if leaf else ""))
                )
                if eid not in acc:
                    members = docker_pins(dockerfile, build if env_id else None, leaf)
                    files = [dockerfile, *installed_by(dockerfile, leaf)]
                    members += file_pins(files[1:])
                    if is_dev and build is not None:
                        acc[eid] = ("devcontainer", build.src, "devcontainer", members, files)
                    else:
                        rule = (
                            "docker"
                            if env_id is None
                            else f"docker (build args from {build.src if build else ''})"
                        )
                        name = dockerfile + (f" ({leaf})" if leaf else "")
                        acc[eid] = ("docker", name, rule, members, files)
                _, _, _, members, files = acc[eid]
                runners = _runners_of(build, idx, groups) if build else []
                if build is not None and build.context in groups_by_id:
                    runners.append(groups_by_id[build.context])
                for g in runners:
                    merged_groups.add(g.id)
                    members += list(g.pins)
                    members += file_pins(idx.closure(g.installs))
                    files += [g.file, *idx.closure(g.installs)]
        for eid, (kind, name, rule, members, files) in acc.items():
            emit(eid, kind, name, rule, members, files)

    # Rule 2 for devcontainers without a build, rule 4 (ci) and 5 (compose).
    for g in groups:
        if g.id in merged_groups:
            continue
        files = [g.file, *idx.closure(g.installs)]
        members = [*g.pins, *file_pins(files[1:])]
        emit(g.id, g.kind, g.name, g.kind, members, files)

    # Rule 3 (conda).
    for f, ps in idx.by_file.items():
        if ps and all(p.source == "conda" for p in ps):
            installs = [ln.dst for ln in idx.installs.get(f, ())]
            closure = idx.closure(installs)
            emit(f"conda:{f}", "conda", f, "conda", [*ps, *file_pins(closure)], [f, *closure])

    # Rule 6 (project), with the requirement files its metadata reads.
    for f, ps in idx.by_file.items():
        if ps and ps[0].source in {"pyproject", "setup.cfg", "setup.py"}:
            beside = posixpath.join(posixpath.dirname(f), ".python-version")
            extra = idx.by_file.get(beside, [])
            read = idx.closure(idx.reads.get(f, []))
            emit(
                f"project:{f}",
                "project",
                f,
                "project",
                [*ps, *extra, *file_pins(read)],
                [f] + ([beside] if extra else []) + read,
            )

    # Rule 7 (requirements roots).
    targets = {ln.dst for ln in links if ln.kind in {"includes", "installs", "reads"}}
    for f, ps in idx.by_file.items():
        if ps and ps[0].source == "requirements" and f not in targets:
            closure = idx.closure([f])
            emit(
                f"requirements:{f}", "requirements", f, "requirements", file_pins(closure), closure
            )

    # Rule 8 (leftovers).
    for f, ps in idx.by_file.items():
        rest = [p for p in ps if id(p) not in placed]
        if rest:
            emit(f"file:{f}", "file", f, "file", rest, [f])
    return envs


def _runners_of(build: Link, idx: _Index, groups: Sequence[PinGroup]) -> list[PinGroup]:
    """Groups (CI jobs, compose services) that run in an image this build tags."""
    names = {n for n in (_repo_name(i) for i in build.images) if n}
    if not names:
        return []
    runner_ids = {context for context, images in idx.runs_in if not names.isdisjoint(images)}
    return [g for g in groups if g.id in runner_ids]


def environments(result: ScanResult) -> list[Environment]:
    """``group_environments`` over a whole scan."""
    return group_environments(result.pins, result.links, result.groups, result.stages)
