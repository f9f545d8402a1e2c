"""Dockerfile scanner.

A small instruction lexer rather than ``dockerfile-parse``: that library resolves only simple
``$VAR`` forms, keeps no columns and reads ``${VAR:+x}`` wrongly, while a pin finding must point
at the exact word and say which ``ARG`` gave it its value. The lexer follows Docker's rules:
the ``# escape=`` directive, line continuations, comment and blank lines dropped inside a
continued instruction, and heredocs (``RUN <<EOF``).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from mlops_actions.pins.expand import Expansion, expand
from mlops_actions.pins.model import PROJECT_FILES, FileScan, Link, Pin, ScanError
from mlops_actions.pins.shell import Word, scan_shell, split_words
from mlops_actions.pins.values import (
    OS_PYTHON,
    Decoded,
    classify_value,
    component_for_name,
    decode_image,
    pin_from,
)

_DIRECTIVE = re.compile(r"^#\s*([a-zA-Z]+)\s*=\s*(\S+)\s*$")
_KEYWORD = re.compile(r"\s*([A-Za-z]+)(?=\s|$)")
_HEREDOC = re.compile(r"<<(-?)\s*(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\2")


@dataclass
class Instruction:
    keyword: str
    args: str
    line: int
    segments: list[tuple[int, int, int]] = field(default_factory=list)
    """(offset in ``args``, line, column) where each physical line's text starts."""

    def pos(self, offset: int) -> tuple[int, int]:
        line, col, start = self.line, 1, 0
        for seg_start, seg_line, seg_col in self.segments:
            if seg_start > offset:
                break
            start, line, col = seg_start, seg_line, seg_col
        return line, col + (offset - start)


def lex(text: str) -> list[Instruction]:
    """Split a Dockerfile into instructions with positions (1-based lines and columns)."""
    lines = text.splitlines()
    escape = "\\"
    i = 0
    # Parser directives: only leading comment lines of the form "# key=value".
    while i < len(lines):
        m = _DIRECTIVE.match(lines[i].strip())
        if m is None:
            break
        if m.group(1).lower() == "escape" and m.group(2) in {"\\", "`"}:
            escape = m.group(2)
        i += 1
    out: list[Instruction] = []
    while i < len(lines):
        raw = lines[i]
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            i += 1
            continue
        m = _KEYWORD.match(raw)
        if m is None:
            i += 1
            continue
        start_col = m.end()
        while start_col < len(raw) and raw[start_col].isspace():
            start_col += 1
        inst = Instruction(m.group(1).upper(), "", i + 1)
        parts: list[str] = []
        offset = 0
        seg_text = raw[start_col:]
        seg_line, seg_col = i + 1, start_col + 1
        while True:
            body = seg_text.rstrip()
            continued = body.endswith(escape)
            if continued:
                body = body[: -len(escape)]
            inst.segments.append((offset, seg_line, seg_col))
            parts.append(body)
            offset += len(body)
            i += 1
            if not continued:
                break
            while i < len(lines) and (not lines[i].strip() or lines[i].lstrip().startswith("#")):
                i += 1
            if i >= len(lines):
                break
            seg_text, seg_line, seg_col = lines[i], i + 1, 1
        args = "".join(parts)
        heredocs = (
            _HEREDOC.findall(args)
            if "<<" in args and inst.keyword in {"RUN", "COPY", "ADD"}
            else []
        )
        # Heredoc bodies: collected and joined once (appending to a string is quadratic).
        joined = [args]
        length = len(args)
        for dash, _quote, delim in heredocs:
            while i < len(lines):
                body_line = lines[i]
                check = body_line.lstrip("\t") if dash else body_line
                i += 1
                if check == delim:
                    break
                inst.segments.append((length + 1, i, 1))
                joined.append(body_line)
                length += 1 + len(body_line)
        inst.args = "\n".join(joined)
        out.append(inst)
    return out


@dataclass
class _Stage:
    name: str
    index: int
    env: dict[str, str | None]
    parents: list[str]
    workdir: str = "/"
    env_names: set[str] = field(default_factory=set)
    copies: dict[str, list[tuple[int, list[str], bool]]] = field(default_factory=dict)
    """Absolute destination → (order, sources, copied into a directory) of each COPY/ADD there:
    a path is looked up by its own ancestors, so resolving it never walks every COPY."""
    copy_count: int = 0

    def add_copy(self, srcs: list[str], dest: str) -> None:
        dest_abs = posixpath.normpath(posixpath.join(self.workdir, dest))
        into_dir = dest.endswith("/") or len(srcs) > 1
        self.copies.setdefault(dest_abs, []).append((self.copy_count, srcs, into_dir))
        self.copy_count += 1


def _split_flags(args: str) -> tuple[list[tuple[str, str]], list[Word]]:
    """``--platform=x --from=y a b`` → flags and the remaining words (with offsets)."""
    words = [w for cmd in split_words(args.replace("\n", " ")) for w in cmd]
    flags: list[tuple[str, str]] = []
    rest: list[Word] = []
    for w in words:
        if not rest and w.text.startswith("--"):
            name, _, value = w.text[2:].partition("=")
            flags.append((name.lower(), value))
        else:
            rest.append(w)
    return flags, rest


def _env_pairs(args: str) -> list[tuple[Word, str, int]]:
    """``ENV A=1 B="2"`` or legacy ``ENV A 1`` → (name word, raw value, value offset)."""
    words = [w for cmd in split_words(args) for w in cmd]
    if not words:
        return []
    if "=" not in words[0].text:
        first = words[0]
        value_start = args.find(" ", first.offset)
        legacy = args[value_start:].strip() if value_start >= 0 else ""
        off = args.find(legacy, max(value_start, 0)) if legacy else first.offset
        return [(first, legacy, off)]
    out: list[tuple[Word, str, int]] = []
    for w in words:
        name, eq, value = w.text.partition("=")
        if not eq:
            continue
        value_off = args.find("=", w.offset) + 1
        out.append((Word(w.offset, name), value, value_off))
    return out


def scan_dockerfile(
    path: str,
    text: str,
    *,
    build_args: Mapping[str, str] | None = None,
    environment: str | None = None,
    build_note: str | None = None,
    exists: Callable[[str], bool] | None = None,
    contexts: Sequence[str] = (),
) -> FileScan:
    """Pins in a Dockerfile.

    ``build_args`` override ``ARG`` defaults (as ``docker build --build-arg``). ``exists`` and
    ``contexts`` (repository-relative build contexts to try) resolve files that ``RUN pip install
    -r`` installs into repository paths for ``installs`` links.
    """
    args_given = dict(build_args or {})
    pins: list[Pin] = []
    links: list[Link] = []
    errors: list[ScanError] = []
    stages: list[_Stage] = []
    global_env: dict[str, str | None] = {}
    global_notes: dict[str, str] = {}
    seen_names: dict[str, str] = {}
    try:
        instructions = lex(text)
    except Exception as exc:  # pragma: no cover - the lexer is total; belt and braces
        return FileScan(errors=(ScanError(path, 1, 1, f"cannot read Dockerfile: {exc}"),))

    def note_for(exp: Expansion, notes: Mapping[str, str]) -> tuple[str, ...]:
        out = [notes.get(u.split("=", 1)[0].split(" ", 1)[0], u) for u in exp.used]
        if build_note:
            out.append(build_note)
        return tuple(dict.fromkeys(out))

    def add(
        inst: Instruction,
        offset: int,
        decoded: Decoded,
        raw: str,
        context: str,
        resolved: tuple[str, ...] = (),
        derived: str | None = None,
        reason: str | None = None,
    ) -> None:
        pins.append(
            pin_from(
                decoded,
                path,
                inst.pos(offset),
                "dockerfile",
                context,
                raw,
                resolved=resolved,
                environment=environment,
                reason=reason,
                derived_from=derived,
            )
        )

    stage: _Stage | None = None
    stage_notes: dict[str, str] = {}
    for inst in instructions:
        kw = inst.keyword
        if kw == "FROM":
            flags, words = _split_flags(inst.args)
            if not words:
                errors.append(ScanError(path, inst.line, 1, "FROM without an image"))
                continue
            image_word = words[0]
            alias = None
            if len(words) >= 3 and words[1].text.lower() == "as":
                alias = words[2].text
            exp = expand(image_word.text, global_env, undeclared="is not a global ARG")
            index = len(stages)
            name = alias or str(index)
            parents: list[str] = []
            inherited: dict[str, str | None] = {}
            context = f"stage {name}"
            ref = exp.text
            if ref.lower() in seen_names:
                parent = seen_names[ref.lower()]
                parents.append(parent)
                parent_stage = next(s for s in stages if s.name == parent)
                # ENV persists into a child stage; ARG values do not.
                inherited = {k: parent_stage.env[k] for k in parent_stage.env_names}
            elif ref.lower() != "scratch":
                resolved = note_for(exp, global_notes)
                platform = dict(flags).get("platform")
                if platform:
                    resolved += (f"--platform={platform}",)
                if not exp.ok:
                    reason = "; ".join(exp.unresolved)
                    add(
                        inst,
                        image_word.offset,
                        Decoded("image", ref, "unresolved", reason=reason),
                        image_word.text,
                        context,
                        resolved,
                    )
                else:
                    decoded_all = decode_image(ref)
                    for d in decoded_all:
                        add(
                            inst,
                            image_word.offset,
                            d,
                            image_word.text,
                            context,
                            resolved,
                            derived=None if d.component == "image" else ref,
                        )
            stage = _Stage(name, index, dict(inherited), parents, env_names=set(inherited))
            stage_notes = {}
            stages.append(stage)
            seen_names[name.lower()] = name
            continue
        if kw == "ARG":
            for w in [w for cmd in split_words(inst.args) for w in cmd]:
                name, eq, default = w.text.partition("=")
                if not name:
                    continue
                target = global_env if stage is None else stage.env
                notes = global_notes if stage is None else stage_notes
                line_no = inst.pos(w.offset)[0]
                if name in args_given:
                    value: str | None = args_given[name]
                    notes[name] = f"build arg {name}={value}"
                elif eq:
                    env = global_env if stage is None else stage.env
                    exp = expand(default, env, undeclared="is not declared before this ARG")
                    value = exp.text if exp.ok else None
                    notes[name] = f"ARG {name}={default} (line {line_no})"
                    if exp.used:
                        notes[name] += " with " + ", ".join(exp.used)
                    if not exp.ok:
                        notes[name] += " unresolved: " + "; ".join(exp.unresolved)
                elif stage is not None and name in global_env:
                    value = global_env[name]
                    notes[name] = global_notes.get(name, f"global ARG {name}")
                else:
                    value = None
                target[name] = value
                component = component_for_name(name)
                if component is None or component == "image" or not (eq or name in args_given):
                    continue
                ctx = "global ARG" if stage is None else f"stage {stage.name}"
                value_off = w.offset + len(name) + 1 if eq else w.offset
                if value is None:
                    decoded = Decoded(
                        component, default, "unresolved", reason=notes[name].partition(": ")[2]
                    )
                else:
                    decoded = classify_value(component, value)
                add(inst, value_off, decoded, w.text, ctx, (notes[name],))
            continue
        if stage is None:
            continue
        if kw == "ENV":
            for name_word, value_text, value_off in _env_pairs(inst.args):
                exp = expand(value_text.strip("\"'"), stage.env)
                stage.env[name_word.text] = exp.text if exp.ok else None
                stage.env_names.add(name_word.text)
                stage_notes[name_word.text] = f"ENV {name_word.text}={value_text}"
                component = component_for_name(name_word.text)
                if component is None or component == "image":
                    continue
                if exp.ok:
                    decoded = classify_value(component, exp.text)
                else:
                    decoded = Decoded(
                        component, value_text, "unresolved", reason="; ".join(exp.unresolved)
                    )
                add(
                    inst,
                    value_off,
                    decoded,
                    f"{name_word.text}={value_text}",
                    f"stage {stage.name}",
                    note_for(exp, stage_notes),
                )
            continue
        if kw == "WORKDIR":
            exp = expand(inst.args.strip(), stage.env)
            stage.workdir = posixpath.normpath(posixpath.join(stage.workdir, exp.text))
            continue
        if kw in {"COPY", "ADD"}:
            flags, words = _split_flags(inst.args)
            from_stage = dict(flags).get("from")
            if from_stage and from_stage.lower() in seen_names:
                stage.parents.append(seen_names[from_stage.lower()])
                continue
            if len(words) >= 2 and not from_stage:
                srcs = [expand(w.text, stage.env).text for w in words[:-1]]
                dest = expand(words[-1].text, stage.env).text
                stage.add_copy(srcs, dest)
            continue
        if kw == "RUN":
            _scan_run(
                inst, stage, path, add, stage_notes, note_for, links, errors, exists, contexts
            )
            continue
    return FileScan(
        pins=tuple(_drop_os_python(pins, text)),
        links=tuple(links),
        errors=tuple(errors),
        stages=tuple((s.name, tuple(dict.fromkeys(s.parents))) for s in stages),
    )


# Ways a Dockerfile gets a Python whose version the scan may not read: conda installers and
# environments, pyenv, uv-managed interpreters, python-build-standalone.
_OTHER_PYTHON = re.compile(
    r"conda|mamba|miniforge|pyenv|uv\s+python\s+install|uv\s+venv\s+--python|"
    r"python-build-standalone",
    re.IGNORECASE,
)


def _drop_os_python(pins: list[Pin], text: str) -> list[Pin]:
    """A base image's OS Python counts only when the Dockerfile installs no other Python."""
    inferred = [p for p in pins if p.component == "python" and _from_os(p)]
    if not inferred:
        return pins
    other = any(p.component == "python" and not _from_os(p) for p in pins)
    if other or _OTHER_PYTHON.search(text):
        return [p for p in pins if not (p.component == "python" and _from_os(p))]
    return pins


def _from_os(pin: Pin) -> bool:
    return (pin.reason or "").startswith(OS_PYTHON)


_RUN_FLAG = re.compile(r"^(--[a-z-]+=\S+\s+)+")


def _scan_run(
    inst: Instruction,
    stage: _Stage,
    path: str,
    add: Callable[..., None],
    notes: Mapping[str, str],
    note_for: Callable[[Expansion, Mapping[str, str]], tuple[str, ...]],
    links: list[Link],
    errors: list[ScanError],
    exists: Callable[[str], bool] | None,
    contexts: Sequence[str],
) -> None:
    args = inst.args
    m = _RUN_FLAG.match(args)
    base = m.end() if m else 0
    command = args[base:]
    mounts = _bind_mounts(args[:base])
    if mounts:
        # RUN --mount=type=bind,source=x,target=/y: /y is x of the build context for this RUN.
        copies = {dest: list(entries) for dest, entries in stage.copies.items()}
        for i, (sources, target, _) in enumerate(mounts):
            dest = posixpath.normpath(posixpath.join(stage.workdir, target))
            copies.setdefault(dest, []).append((stage.copy_count + i, sources, False))
        stage = replace(stage, copies=copies, copy_count=stage.copy_count + len(mounts))
    if command.lstrip().startswith("["):
        command = _exec_form(command)
    # Expand word by word so every finding keeps the column of the word as written.
    result = scan_shell(command, expand=lambda s: expand(s, stage.env, undeclared=_UNDECLARED))
    ctx = f"stage {stage.name}"
    for sp in result.pins:
        add(
            inst,
            base + sp.offset,
            sp.decoded,
            sp.raw,
            ctx,
            sp.resolved + ((f"{sp.note}",) if sp.note else ()),
        )
    for off, message in result.errors:
        line, col = inst.pos(base + off)
        errors.append(ScanError(path, line, col, message))
    for ref in result.files:
        line, _ = inst.pos(base + ref.offset)
        if ref.kind == "project":
            target = _project_file(ref.path, stage, path, exists, contexts)
            links.append(
                Link(
                    "project", path, target, line, context=ctx, stage=stage.name, extras=ref.extras
                )
            )
            continue
        target = _resolve_copied(ref.path, stage, path, exists, contexts)
        links.append(Link("installs", path, target, line, context=ctx, stage=stage.name))


def _project_file(
    ref: str,
    stage: _Stage,
    dockerfile: str,
    exists: Callable[[str], bool] | None,
    contexts: Sequence[str],
) -> str:
    """The repository file describing the project ``pip install <ref>`` builds in the image,
    found through ``COPY`` like an installed requirements file, but only inside the build
    context (a workflow's, else the Dockerfile's folder): a project file elsewhere in the
    repository is another project. The directory when none is found."""
    if exists is not None:
        roots = [c for c in (*contexts, posixpath.dirname(dockerfile))]

        def in_context(rel: str) -> bool:
            inside = any(not r or rel == r or rel.startswith(r + "/") for r in roots)
            return inside and exists(rel)

        for name in PROJECT_FILES:
            wanted = posixpath.join(ref, name)
            found = _resolve_copied(wanted, stage, dockerfile, in_context, contexts)
            if in_context(found):
                return found
    return _resolve_copied(ref, stage, dockerfile, exists, contexts)


_UNDECLARED = "is not declared in this Dockerfile (it may come from the base image)"


def _bind_mounts(flags: str) -> list[tuple[list[str], str, str]]:
    """``--mount=type=bind,source=x,target=/y`` flags of a RUN, as (sources, dest, workdir)."""
    out: list[tuple[list[str], str, str]] = []
    for flag in flags.split():
        if not flag.startswith("--mount="):
            continue
        fields = dict(f.partition("=")[::2] for f in flag[len("--mount=") :].split(","))
        source = fields.get("source") or fields.get("src")
        target = fields.get("target") or fields.get("dst") or fields.get("destination")
        if fields.get("type") == "bind" and source and target and "from" not in fields:
            out.append(([source], target, "/"))
    return out


def _exec_form(command: str) -> str:
    """``["pip", "install", "torch==2.1"]`` → ``pip install torch==2.1`` (same length kept)."""
    return re.sub(r'[\[\],"]', " ", command)


_MAX_COPY_CANDIDATES = 32
"""COPYs considered for one installed path, the earliest first: more to one place is no
build anyone reads, and the bound keeps a 100,000-line Dockerfile linear."""


def _resolve_copied(
    ref: str,
    stage: _Stage,
    dockerfile: str,
    exists: Callable[[str], bool] | None,
    contexts: Sequence[str],
) -> str:
    """Map a path seen inside the image back to a repository path through ``COPY``."""
    wanted = posixpath.normpath(posixpath.join(stage.workdir, ref))
    # The COPYs that could have put it there: onto the path itself, or into an ancestor.
    matches: list[tuple[int, str, list[str], bool]] = []
    dest = wanted
    while True:
        for order, srcs, into_dir in stage.copies.get(dest, [])[:_MAX_COPY_CANDIDATES]:
            matches.append((order, dest, srcs, into_dir))
        parent = posixpath.dirname(dest)
        if parent == dest:
            break
        dest = parent
    matches.sort(key=lambda m: m[0])
    candidates: list[str] = []
    for _, dest_abs, srcs, into_dir in matches[:_MAX_COPY_CANDIDATES]:
        for src in srcs:
            src_norm = posixpath.normpath(src)
            if dest_abs != wanted:
                rel = posixpath.relpath(wanted, dest_abs)
                # Either a directory was copied there, or a file into that directory.
                candidates.append(posixpath.normpath(posixpath.join(src_norm, rel)))
                if rel == posixpath.basename(src_norm):
                    candidates.append(src_norm)
            elif not into_dir:
                candidates.append(src_norm)
    candidates.append(posixpath.normpath(ref.lstrip("/")) if not ref.startswith("/") else ref)
    dockerfile_dir = posixpath.dirname(dockerfile)
    roots = [*contexts, dockerfile_dir, ""]
    if exists is not None:
        for cand in candidates:
            if cand.startswith("/"):
                continue
            for root in roots:
                full = posixpath.normpath(posixpath.join(root, cand)) if root else cand
                if exists(full):
                    return full
    return candidates[0]


__all__ = ["Instruction", "lex", "scan_dockerfile"]
