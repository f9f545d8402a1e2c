"""GitHub Actions workflow scanner.

Reads ``container`` / ``services`` images, ``strategy.matrix`` values (with ``include`` /
``exclude`` applied the way GitHub does), ``runs-on`` labels that carry a CUDA variant
(``cu124``), ``python-version`` given to setup actions, inputs given to our env-verify action,
``pip install`` lines and ``docker build`` / ``docker/build-push-action`` build arguments in
steps. ``${{ matrix.* }}`` and ``${{ env.* }}`` are resolved for every matrix combination; any
other expression is reported unresolved.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import yaml

from mlops_actions.pins.expand import Expansion, expand
from mlops_actions.pins.expressions import EXPR as _EXPR
from mlops_actions.pins.expressions import resolver as _resolver
from mlops_actions.pins.matrix import (
    Cell,
    Combo,
    MatrixTooLarge,
    matrix_combinations,
)
from mlops_actions.pins.model import FileScan, Link, Pin, PinGroup, ScanError
from mlops_actions.pins.shell import Word, scan_shell, split_words
from mlops_actions.pins.values import (
    YAML_NUMBER,
    Decoded,
    classify_value,
    component_for_name,
    decode_image,
    pin_from,
)
from mlops_actions.pins.yamlnodes import (
    Node,
    compose_mapping,
    get,
    items,
    offset_pos,
    pos,
    scalar,
    seq,
    yaml_number,
)

_PLACEHOLDER = re.compile(r"\$@E(\d+)_*")
_RUNNER_CU = re.compile(r"(?:^|[-_.])(cu\d{3})(?=$|[-_.])")
_RUNNER_CUDA = re.compile(r"(?:^|[-_.])cuda[-_]?(\d+\.\d+)(?=$|[-_])")


_MAX_SCAN_CHARS = 1_000_000
"""Characters of job text a workflow's scan goes through, each matrix combination rescanning its
job (256 combinations of a 3,900-character job)."""


@dataclass
class _Job:
    path: str
    lines: list[str]
    job_id: str
    env: dict[str, str]
    pins: dict[tuple[int, int, str, str, str], Pin] = field(default_factory=dict)
    links: list[Link] = field(default_factory=list)
    errors: list[ScanError] = field(default_factory=list)
    runs: dict[int, tuple[str, list[str], list[list[Word]]]] = field(default_factory=dict)
    """Per ``run:`` node: its prepared text (see ``_prepare_run``)."""
    parsed_runs: dict[tuple[int, tuple[Expansion, ...]], _RunParse] = field(default_factory=dict)
    """Per ``run:`` node and values of its expressions: what it says (``_parse_run``)."""
    resolved: dict[tuple[str, tuple[Cell | None, ...]], tuple[Expansion, tuple[str, ...]]] = field(
        default_factory=dict
    )
    """Expressions resolved (and the ``env`` names they read), by text and the cells of the
    matrix keys they read."""
    steps: list[_Step] | None = None
    """The job's steps, read once (``_read_steps``)."""
    value_parts: dict[int, list[tuple[str, tuple[int, int], str, tuple[str, ...]]]] = field(
        default_factory=dict
    )
    value_pins: dict[tuple[int, str, tuple[Expansion, ...]], list[Pin]] = field(
        default_factory=dict
    )
    """Version inputs: their lines, and their pins per set of resolved values."""


def scan_workflow(path: str, text: str) -> FileScan:
    root = compose_mapping(path, text)
    if isinstance(root, FileScan):
        return root
    lines = text.splitlines()
    pins: list[Pin] = []
    links: list[Link] = []
    errors: list[ScanError] = []
    groups: list[PinGroup] = []
    top_env, top_pins = _env_block(path, get(root, "env"), "workflow env")
    pins += top_pins
    scan_budget = _MAX_SCAN_CHARS
    for job_id, _, job in items(get(root, "jobs")):
        job_env, env_pins = _env_block(path, get(job, "env"), f"job {job_id} env")
        env = {**top_env, **job_env}
        state = _Job(path, lines, job_id, env)
        matrix = get(get(job, "strategy"), "matrix")
        try:
            combos, matrix_reason = matrix_combinations(matrix)
        except MatrixTooLarge as exc:
            line, col = pos(matrix) if matrix is not None else (1, 1)
            errors.append(ScanError(path, line, col, f"job {job_id}: {exc}"))
            combos, matrix_reason = [{}], str(exc)
        matrix_pins = _matrix_pins(path, job_id, matrix)
        for p in env_pins:
            state.pins[(p.line, p.col, p.component, p.value, p.how)] = p
        # Each combination rescans the whole job: the file's text scanned, over all jobs and
        # combinations, is bounded, so a large job times a large matrix cannot run for minutes.
        size = max(1, job.end_mark.index - job.start_mark.index)
        scanned = min(len(combos), max(1, scan_budget // size))
        if scanned < len(combos):
            line, col = pos(matrix) if matrix is not None else pos(job)
            errors.append(
                ScanError(
                    path,
                    line,
                    col,
                    f"job {job_id}: only the first {scanned} of {len(combos)} matrix "
                    f"combinations scanned (each rescans {size:,} characters of the job; at "
                    f"most {_MAX_SCAN_CHARS:,} per file)",
                )
            )
            combos = combos[:scanned]
        scan_budget -= scanned * size
        for combo in combos:
            gid = f"ci:{path}:{job_id}"
            if combo:
                gid += "[" + ", ".join(f"{k}={v.label()}" for k, v in combo.items()) + "]"
            env_used: set[str] = set()
            resolve = _resolver(combo, env, matrix_reason, env_used, state.resolved)
            job_found = _job_pins(state, job, resolve, gid, len(combos) > 1)
            member: list[Pin] = []
            if matrix_pins:
                nodes = _combo_nodes(combo)
                member = [p for node_id, p in matrix_pins if node_id in nodes]
            # Workflow-level env pins join the jobs that read them (${{ env.X }} or $X).
            shared: list[Pin] = []
            if top_pins:
                every = [*job_found.pins, *job_found.container, *job_found.setup_python]
                for p in every:
                    env_used.update(r.split("=", 1)[0] for r in p.resolved_from if "=" in r)
                shared = [p for p in top_pins if p.context.rsplit(" ", 1)[-1] in env_used]
            groups += _groups(gid, job_id, path, [*shared, *env_pins, *member], job_found)
        pins += [p for _, p in matrix_pins]
        pins += list(state.pins.values())
        links += state.links
        errors += state.errors
    return FileScan(
        pins=tuple(dict.fromkeys(pins)),
        links=tuple(links),
        errors=tuple(errors),
        groups=tuple(groups),
    )


def _groups(gid: str, job_id: str, path: str, common: list[Pin], found: _Found) -> list[PinGroup]:
    """The environments of one job (combination).

    Usually one. A ``container:`` job that also runs setup-python has two interpreters: the
    image's (its torch stays with it, group ``gid``) and setup-python's, which the steps'
    installs use (group ``gid/setup-python``). setup-python steps under different ``if:``
    conditions are alternatives: one group each, with the job's other pins."""
    installs, images = tuple(found.installs), tuple(found.images)
    steps = [*common, *found.pins]
    conditions = list(dict.fromkeys(p.condition for p in found.setup_python))
    alternatives = [
        (cond, [p for p in found.setup_python if p.condition == cond]) for cond in conditions
    ]
    if len(alternatives) < 2:
        alternatives = [(None, found.setup_python)]
    out: list[PinGroup] = []
    split = bool(found.container) and bool(found.setup_python)
    if split:
        out.append(PinGroup(gid, "ci", job_id, path, tuple(found.container), (), images))
    for cond, setup in alternatives:
        members = [*steps, *setup] if split else [*found.container, *steps, *setup]
        group_id = gid + ("/setup-python" if split else "")
        if cond is not None and len(alternatives) > 1:
            group_id += f"[if: {cond}]"
        pins = tuple(dict.fromkeys(members))
        if pins or installs or (images and not split):
            out.append(
                PinGroup(group_id, "ci", job_id, path, pins, installs, () if split else images)
            )
    return out


def _as_read(node: Node, text: str) -> tuple[str, tuple[str, ...]]:
    """The value a workflow really gets for ``text`` and, when YAML changes it, a note saying
    so (``python-version: 3.10`` is the number 3.1)."""
    number = yaml_number(node)
    if number is None:
        return text, ()
    return number, (f"{YAML_NUMBER} {text} reads as {number}: quote it ('{text}')",)


def _combo_nodes(combo: Combo) -> set[int]:
    """The ids of every YAML node a combination's values come from."""
    out: set[int] = set()
    todo = list(combo.values())
    while todo:
        cell = todo.pop()
        out.add(id(cell.node))
        todo += [c for _, c in cell.fields]
    return out


def _env_block(path: str, node: Node | None, context: str) -> tuple[dict[str, str], list[Pin]]:
    env: dict[str, str] = {}
    pins: list[Pin] = []
    for key, _, value in items(node):
        text = scalar(value)
        if text is None:
            continue
        read, notes = _as_read(value, text)
        env[key] = read
        component = component_for_name(key)
        if component is None:
            continue
        d = _classify(component, read)
        pins.append(_pin(path, value, d, f"{context} {key}", text, notes))
    return env, pins


def _classify(component: Any, text: str) -> Decoded:
    if "${{" in text:
        return Decoded(
            component,
            text,
            "unresolved",
            reason="value is an expression that cannot be resolved statically",
        )
    return classify_value(component, text)


def _pin(
    path: str,
    node: Node,
    d: Decoded,
    context: str,
    raw: str,
    resolved: tuple[str, ...] = (),
    environment: str | None = None,
    at: tuple[int, int] | None = None,
) -> Pin:
    return pin_from(
        d,
        path,
        at or pos(node),
        "workflow",
        context,
        raw,
        resolved=resolved,
        environment=environment,
    )


def _matrix_pins(path: str, job_id: str, matrix: Node | None) -> list[tuple[int, Pin]]:
    out: list[tuple[int, Pin]] = []

    def visit(key: str, node: Node, ctx: str) -> None:
        if isinstance(node, yaml.MappingNode):
            for k, _, v in items(node):
                visit(k, v, f"{ctx}.{k}")
            return
        if isinstance(node, yaml.SequenceNode):
            for n in node.value:
                visit(key, n, ctx)
            return
        component = component_for_name(key)
        text = scalar(node)
        if component is None or text is None:
            return
        value, notes = _as_read(node, text)
        out.append((id(node), _pin(path, node, _classify(component, value), ctx, text, notes)))

    for key, _, value in items(matrix):
        if key in {"include", "exclude"}:
            if key == "include":
                for i, entry in enumerate(seq(value)):
                    for k, _, v in items(entry):
                        visit(k, v, f"job {job_id} matrix.include[{i}].{k}")
            continue
        visit(key, value, f"job {job_id} matrix.{key}")
    return out


@dataclass
class _Found:
    """What one job (one matrix combination) pins, by where it applies: ``container`` pins
    describe the ``container:`` image's own interpreter; ``setup_python`` pins an interpreter
    setup-python installs (each with its step's ``if:``); ``pins`` everything else."""

    pins: list[Pin] = field(default_factory=list)
    container: list[Pin] = field(default_factory=list)
    setup_python: list[Pin] = field(default_factory=list)
    installs: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)


def _job_pins(
    state: _Job,
    job: Node,
    resolve: Callable[[str], Expansion],
    gid: str,
    per_combo: bool,
) -> _Found:
    path, job_id = state.path, state.job_id
    out = _Found()
    found = out.pins
    installs = out.installs
    images = out.images
    into = out.pins

    def keep(p: Pin) -> None:
        key = (p.line, p.col, p.component, p.value, p.how)
        kept = state.pins.get(key)
        if kept is None:
            # The first combination to find a pin keeps it; the copy is made only then.
            if (
                per_combo
                and p.resolved_from
                and any(r.startswith("matrix.") for r in p.resolved_from)
            ):
                p = replace(p, environment=gid)
            kept = state.pins[key] = p
        into.append(kept)

    def image(node: Node, ctx: str) -> None:
        raw = scalar(node)
        if raw is None:
            return
        exp = resolve(raw)
        if not exp.ok:
            keep(
                _pin(
                    path,
                    node,
                    Decoded("image", raw, "unresolved", reason="; ".join(exp.unresolved)),
                    ctx,
                    raw,
                )
            )
            return
        images.append(exp.text)
        state.links.append(
            Link("runs-in", path, exp.text, pos(node)[0], context=gid, images=(exp.text,))
        )
        for d in decode_image(exp.text):
            p = _pin(path, node, d, ctx, raw, exp.used)
            keep(p if d.component == "image" else replace(p, derived_from=exp.text))

    container = get(job, "container")
    container_image = get(container, "image") if scalar(container) is None else container
    if container_image is not None:
        into = out.container
        image(container_image, f"job {job_id} container")
        into = found
    for name, _, svc in items(get(job, "services")):
        node = get(svc, "image")
        if node is not None:
            image(node, f"job {job_id} service {name}")
    runs_on = get(job, "runs-on")
    labels = (
        [runs_on] if scalar(runs_on) is not None else seq(runs_on) or seq(get(runs_on, "labels"))
    )
    for label in labels:
        if label is None:
            continue
        raw = scalar(label)
        if raw is None:
            continue
        exp = resolve(raw)
        for rx in (_RUNNER_CU, _RUNNER_CUDA):
            for m in rx.finditer(exp.text.lower()):
                d = classify_value("cuda", m.group(1))
                keep(_pin(path, label, d, f"job {job_id} runs-on", raw, exp.used))
    if state.steps is None:
        state.steps = _read_steps(job_id, job)
    for step in state.steps:
        ctx, uses, with_node, run = step.ctx, step.uses, step.with_node, step.run
        if step.env_verify:
            for key, _, value in items(with_node):
                component = component_for_name(key)
                if component is None or scalar(value) is None:
                    continue
                _value_pins(state, value, component, f"{ctx} env-verify {key}", resolve, keep)
        else:
            pv = get(with_node, "python-version")
            if pv is not None:
                condition = step.condition
                before = len(found)
                _value_pins(state, pv, "python", f"{ctx} python-version", resolve, keep)
                # setup-python's interpreter: kept apart from the job's other pins (see _groups).
                added = [
                    replace(p, condition=condition) if condition else p for p in found[before:]
                ]
                for p in added:
                    state.pins[(p.line, p.col, p.component, p.value, p.how)] = p
                del found[before:]
                out.setup_python += added
        if uses.startswith("./"):
            _uses_local(state, uses, step.node, gid)
        if uses.startswith("docker/build-push-action"):
            _build_push(state, with_node, resolve, gid)
        if run is not None:
            _run_step(state, run, ctx, resolve, keep, installs, gid)
    return out


@dataclass(frozen=True)
class _Step:
    """A step's fields, read once per job whatever the number of matrix combinations."""

    node: Node
    ctx: str
    uses: str
    with_node: Node | None
    run: Node | None
    condition: str | None
    env_verify: bool


def _read_steps(job_id: str, job: Node) -> list[_Step]:
    out: list[_Step] = []
    for index, step in enumerate(seq(get(job, "steps"))):
        name = scalar(get(step, "name")) or scalar(get(step, "id")) or f"#{index + 1}"
        uses = scalar(get(step, "uses")) or ""
        run = get(step, "run")
        out.append(
            _Step(
                step,
                f"job {job_id} step {name}",
                uses,
                get(step, "with"),
                run if run is not None and scalar(run) is not None else None,
                scalar(get(step, "if")),
                re.search(r"(^|/)env-verify(@|/|$)", uses) is not None,
            )
        )
    return out


def _uses_local(state: _Job, uses: str, step: Node, gid: str) -> None:
    """``uses: ./.github/actions/setup``: the job runs that composite action's steps."""
    where = _repo_path(uses.split("@", 1)[0])
    line = pos(get(step, "uses") or step)[0]
    state.links.append(Link("uses", state.path, f"{where}/action.yml", line, context=gid))


def _value_pins(
    state: _Job,
    node: Node,
    component: Any,
    ctx: str,
    resolve: Callable[[str], Expansion],
    keep: Callable[[Pin], None],
) -> None:
    """Pins of a version input (one per line of its value); the pins of one set of resolved
    values are built once and shared by the matrix combinations that give those values."""
    parts = state.value_parts.get(id(node))
    if parts is None:
        parts = state.value_parts[id(node)] = _value_parts(state, node)
    values = tuple(resolve(read) for _, _, read, _ in parts)
    key = (id(node), ctx, values)
    pins = state.value_pins.get(key)
    if pins is None:
        pins = []
        for (value, at, _, notes), exp in zip(parts, values, strict=True):
            if exp.ok:
                d = classify_value(component, exp.text)
            else:
                d = Decoded(component, value, "unresolved", reason="; ".join(exp.unresolved))
            pins.append(_pin(state.path, node, d, ctx, value, (*notes, *exp.used), at=at))
        state.value_pins[key] = pins
    for pin in pins:
        keep(pin)


def _value_parts(
    state: _Job, node: Node
) -> list[tuple[str, tuple[int, int], str, tuple[str, ...]]]:
    """(text, position, text as YAML gives it, notes) of each non-empty line of a value."""
    raw = scalar(node) or ""
    offset = 0
    out = []
    for part in raw.splitlines() or [raw]:
        value = part.strip()
        at = offset_pos(node, state.lines, offset + (len(part) - len(part.lstrip())))
        offset += len(part) + 1
        if value:
            read, notes = _as_read(node, value)
            out.append((value, at, read, notes))
    return out


def _build_push(
    state: _Job, with_node: Node | None, resolve: Callable[[str], Expansion], gid: str
) -> None:
    context = resolve(scalar(get(with_node, "context")) or ".").text
    file = scalar(get(with_node, "file"))
    args: list[tuple[str, str]] = []
    for line in (scalar(get(with_node, "build-args")) or "").splitlines():
        k, eq, v = line.strip().partition("=")
        if eq:
            exp = resolve(v)
            if exp.ok:
                args.append((k.strip(), exp.text))
    tags_node = get(with_node, "tags")
    tags_text = scalar(tags_node) or "\n".join(scalar(n) or "" for n in seq(tags_node))
    tags = [resolve(t.strip()).text for t in re.split(r"[\n,]", tags_text) if t.strip()]
    at_line = pos(with_node)[0] if with_node is not None else 1
    dockerfile = resolve(file).text if file else None
    target = scalar(get(with_node, "target"))
    _add_build(state, gid, at_line, context, dockerfile, tags, args, target)


def _add_build(
    state: _Job,
    gid: str,
    line: int,
    context: str,
    dockerfile: str | None,
    tags: list[str],
    args: list[tuple[str, str]],
    target: str | None,
) -> None:
    """A step that builds an image links the job to its Dockerfile (``context/Dockerfile``
    unless the step names one)."""
    if dockerfile is None:
        dockerfile = posixpath.join(context, "Dockerfile")
    state.links.append(
        Link(
            "builds",
            state.path,
            _repo_path(dockerfile),
            line,
            context=gid,
            images=tuple(tags),
            build_args=tuple(args),
            stage=target,
            build_context=_repo_path(context),
        )
    )


def _repo_path(p: str) -> str:
    return posixpath.normpath(p.removeprefix("./")).lstrip("/")


def _run_step(
    state: _Job,
    run: Node,
    ctx: str,
    resolve: Callable[[str], Expansion],
    keep: Callable[[Pin], None],
    installs: list[str],
    gid: str,
) -> None:
    prepared = state.runs.get(id(run))
    if prepared is None:
        prepared = state.runs[id(run)] = _prepare_run(scalar(run) or "")
    text, exprs, docker_commands = prepared
    # A matrix combination changes a step only through the expressions it holds: the scan of
    # the step is shared by every combination that gives them the same values.
    values = tuple(resolve(e) for e in exprs)

    def word_expand(word: str) -> Expansion:
        unresolved: list[str] = []
        used: list[str] = []

        def back(m: re.Match[str]) -> str:
            exp = values[int(m.group(1))]
            unresolved.extend(exp.unresolved)
            used.extend(exp.used)
            return exp.text

        restored = _PLACEHOLDER.sub(back, word)
        shell = expand(
            restored,
            {k: v for k, v in state.env.items() if "${{" not in v},
            undeclared="is not set in the workflow",
        )
        return Expansion(shell.text, (*unresolved, *shell.unresolved), (*used, *shell.used))

    key = (id(run), values)
    parsed = state.parsed_runs.get(key)
    if parsed is None:
        parsed = state.parsed_runs[key] = _parse_run(state, run, ctx, text, word_expand)
        state.errors += parsed.errors
    for pin in parsed.pins:
        keep(pin)
    for line, target, kind, extras in parsed.files:
        if kind == "project":
            link = Link("project", state.path, target, line, context=gid, extras=extras)
            state.links.append(link)
            continue
        installs.append(target)
        state.links.append(Link("installs", state.path, target, line, context=gid))
    for command in docker_commands:
        _docker_build(state, command, word_expand, run, gid)


@dataclass(frozen=True)
class _RunParse:
    """What a ``run:`` step says for one set of values of its expressions (shared by every
    matrix combination that gives them those values)."""

    pins: tuple[Pin, ...]
    errors: tuple[ScanError, ...]
    files: tuple[tuple[int, str, str, tuple[str, ...]], ...]
    """(line, repository path, kind, extras) of each file the step installs or runs."""


def _parse_run(
    state: _Job, run: Node, ctx: str, text: str, word_expand: Callable[[str], Expansion]
) -> _RunParse:
    result = scan_shell(text, expand=word_expand)
    pins = tuple(
        _pin(
            state.path,
            run,
            sp.decoded,
            ctx,
            sp.raw,
            sp.resolved + ((sp.note,) if sp.note else ()),
            at=offset_pos(run, state.lines, sp.offset),
        )
        for sp in result.pins
    )
    errors = tuple(
        ScanError(state.path, *offset_pos(run, state.lines, off), message)
        for off, message in result.errors
    )
    files = tuple(
        (
            offset_pos(run, state.lines, ref.offset)[0],
            _repo_path(_PLACEHOLDER.sub("*", ref.path)),
            ref.kind,
            ref.extras,
        )
        for ref in result.files
    )
    return _RunParse(pins, errors, files)


def _prepare_run(raw: str) -> tuple[str, list[str], list[list[Word]]]:
    """A ``run:`` text with each ``${{ }}`` replaced by a same-length placeholder (so every
    word keeps its offset, and so its column), the expressions, and its ``docker`` commands;
    done once per step, whatever the number of matrix combinations."""
    exprs: list[str] = []

    def hold(m: re.Match[str]) -> str:
        exprs.append(m.group(0))
        token = f"$@E{len(exprs) - 1}"
        return token + "_" * max(0, len(m.group(0)) - len(token))

    text = _EXPR.sub(hold, raw)
    docker = [c for c in split_words(text) if c[0].text == "docker" or "$" in c[0].text]
    return text, exprs, docker


def _docker_build(
    state: _Job,
    command: list[Word],
    word_expand: Callable[[str], Expansion],
    run: Node,
    gid: str,
) -> None:
    words = [word_expand(w.text).text if "$" in w.text else w.text for w in command]
    if len(words) < 2 or words[0] != "docker":
        return
    rest = words[1:]
    if rest[:2] == ["buildx", "build"]:
        rest = rest[2:]
    elif rest[:1] == ["build"]:
        rest = rest[1:]
    else:
        return
    file: str | None = None
    args: list[tuple[str, str]] = []
    tags: list[str] = []
    target: str | None = None
    context = "."
    i = 0
    while i < len(rest):
        w = rest[i]
        name, eq, inline = w.partition("=")
        value = inline if eq and w.startswith("--") else (rest[i + 1] if i + 1 < len(rest) else "")
        step = 1 if eq and w.startswith("--") else 2
        if name in {"-f", "--file"}:
            file = value
        elif name == "--build-arg":
            k, _, v = value.partition("=")
            args.append((k, v))
        elif name in {"-t", "--tag"}:
            tags.append(value)
        elif name == "--target":
            target = value
        elif w.startswith("-"):
            step = 1 if eq or i + 1 >= len(rest) or rest[i + 1].startswith("-") else 2
            if w in {"--push", "--load", "--no-cache", "--pull", "-q", "--quiet", "--rm"}:
                step = 1
        else:
            context = w
            step = 1
        i += step
    at_line, _ = offset_pos(run, state.lines, command[0].offset)
    _add_build(state, gid, at_line, context, file or None, tags, args, target)


def scan_action(path: str, text: str) -> FileScan:
    """A local composite action (``.github/actions/<name>/action.yml``): its steps read like a
    job's. ``${{ inputs.x }}`` resolves to the input's default; the jobs that use the action
    get its pins (``uses`` links, joined in ``scan_repo``)."""
    root = compose_mapping(path, text)
    if isinstance(root, FileScan):
        return root
    runs = get(root, "runs")
    if runs is None or scalar(get(runs, "using")) != "composite":
        return FileScan()
    defaults = {
        key: scalar(get(spec, "default")) or "" for key, _, spec in items(get(root, "inputs"))
    }
    state = _Job(path, text.splitlines(), "action", {})
    gid = f"action:{path}"

    def resolve(value: str) -> Expansion:
        unresolved: list[str] = []
        used: list[str] = []

        def sub(m: re.Match[str]) -> str:
            mi = re.fullmatch(r"inputs\.([\w-]+)", m.group(1))
            if mi is not None and mi.group(1) in defaults and "${{" not in defaults[mi.group(1)]:
                used.append(f"input {mi.group(1)} default={defaults[mi.group(1)]}")
                return defaults[mi.group(1)]
            unresolved.append(f"expression ${{{{ {m.group(1)} }}}} cannot be resolved statically")
            return m.group(0)

        return Expansion(_EXPR.sub(sub, value), tuple(unresolved), tuple(used))

    found = _job_pins(state, runs, resolve, gid, per_combo=False)
    pins = [replace(p, source="action") for p in state.pins.values()]
    by_key = {(p.line, p.col, p.component, p.value, p.how): p for p in pins}
    members = [
        by_key[(p.line, p.col, p.component, p.value, p.how)]
        for p in (*found.pins, *found.setup_python)
    ]
    group = PinGroup(gid, "ci", path, path, tuple(dict.fromkeys(members)), tuple(found.installs))
    return FileScan(
        pins=tuple(pins), links=tuple(state.links), errors=tuple(state.errors), groups=(group,)
    )
