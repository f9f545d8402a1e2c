"""Pins inside shell commands (Dockerfile ``RUN``, workflow ``run:``): pip, conda and apt installs.

The words are split with a small quote-aware lexer that keeps each word's offset so findings
point at the exact column; the words themselves are decoded by ``values``.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from packaging.utils import canonicalize_name

from mlops_actions.pins.expand import Expansion
from mlops_actions.pins.values import (
    PACKAGE_COMPONENTS,
    PYTORCH_CHANNEL,
    Decoded,
    decode_apt_package,
    decode_conda_spec,
    decode_requirement,
    decode_wheel_url,
    from_pytorch_channel,
    index_variant,
    variant_pin,
)


@dataclass(frozen=True)
class Word:
    offset: int
    text: str
    """The word with quotes removed."""


@dataclass(frozen=True)
class ShellPin:
    offset: int
    raw: str
    decoded: Decoded
    note: str | None = None
    resolved: tuple[str, ...] = ()


@dataclass(frozen=True)
class FileRef:
    """A file a command pulls in: ``pip install -r`` (requirements / constraints), ``conda env
    create -f`` (conda), ``bash ci/install.sh`` (script) or ``pip install -e .[dev]`` (project:
    ``path`` is the project directory, ``extras`` the extras asked for)."""

    offset: int
    path: str
    kind: Literal["requirements", "constraints", "conda", "script", "project"]
    extras: tuple[str, ...] = ()


@dataclass(frozen=True)
class ShellScan:
    pins: tuple[ShellPin, ...]
    files: tuple[FileRef, ...]
    errors: tuple[tuple[int, str], ...]


_QUOTED = r"""'[^']*'|"(?:[^"\\]|\\.)*"|\\.|\$\([^()]*\)|\$\{[^}]*\}"""
_TOKEN = re.compile(
    rf"""(?P<op>&&|\|\||;;|[;|&\n()])|(?P<ws>(?:[ \t\r]|\\\n)+)|(?P<comment>\#[^\n]*)"""
    rf"""|(?P<word>(?:{_QUOTED}|[^\s'"\\;&|()\#])(?:{_QUOTED}|[^\s'"\\;&|()])*)"""
    r"""|(?P<rest>.+)""",
    re.DOTALL,
)
_UNQUOTE = re.compile(r"""'([^']*)'|"((?:[^"\\]|\\.)*)"|\\(.)""", re.DOTALL)


def _unquote(m: re.Match[str]) -> str:
    if m.group(1) is not None:
        return m.group(1)
    if m.group(2) is not None:
        return re.sub(r"\\(.)", r"\1", m.group(2))
    # A backslash-newline is a line continuation: both characters vanish.
    return "" if m.group(3) == "\n" else m.group(3)


def split_words(text: str) -> list[list[Word]]:
    """Split shell text into simple commands, each a list of words with their offsets.

    Commands end at ``;``, ``&&``, ``||``, ``|``, ``&``, a newline and ``(`` / ``)``; a
    backslash-newline joins lines; ``$(...)`` and ``${...}`` stay inside their word. Quotes are
    removed from words; ``#`` at the start of a word starts a comment; an unterminated quote
    makes the rest of the text one word (never an exception). Nothing is ever executed.
    """
    commands: list[list[Word]] = []
    words: list[Word] = []
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup
        if kind == "word" or kind == "rest":
            raw = m.group(0)
            value = (
                _UNQUOTE.sub(_unquote, raw) if ("'" in raw or '"' in raw or "\\" in raw) else raw
            )
            words.append(Word(m.start(), value))
        elif kind == "op":
            if words:
                commands.append(words)
            words = []
    if words:
        commands.append(words)
    return commands


_PIP_VALUE_OPTIONS = {
    "-r": "requirements",
    "--requirement": "requirements",
    "-c": "constraints",
    "--constraint": "constraints",
    "-i": "index",
    "--index-url": "index",
    "--extra-index-url": "index",
    "-f": "find-links",
    "--find-links": "find-links",
    "-e": "editable",
    "--editable": "editable",
    "-t": "skip",
    "--target": "skip",
    "--prefix": "skip",
    "--root": "skip",
    "--python": "skip",
    "--platform": "skip",
    "--python-version": "skip",
    "--implementation": "skip",
    "--abi": "skip",
    "--only-binary": "skip",
    "--no-binary": "skip",
    "--progress-bar": "skip",
    "--cache-dir": "skip",
    "--src": "skip",
    "--upgrade-strategy": "skip",
    "--trusted-host": "skip",
    "--timeout": "skip",
    "--retries": "skip",
    "--log": "skip",
    "--config-settings": "skip",
    "-C": "skip",
    "--index-strategy": "skip",
    "--torch-backend": "torch-backend",
}


# Words that may precede a command without changing what runs (reserved words, wrappers).
_PREFIX_WORDS = frozenset(
    {
        *("if", "then", "elif", "else", "do", "while", "until", "!", "{", "time", "exec"),
        *("nohup", "command", "builtin", "sudo", "env", "nice", "timeout", "stdbuf", "xargs"),
    }
)
# Wrapper options that take a value (``sudo -u user``, ``env -u NAME``, ``timeout -s KILL``).
_WRAPPER_VALUE_OPTIONS = frozenset({"-u", "-g", "-s", "-k", "-n", "-C", "-h", "-p"})
_ASSIGNMENT = re.compile(r"^[A-Za-z_]\w*=")
_PYTHON = re.compile(r"^python(?:\d+(?:\.\d+)*t?|\$\{?\w+\}?)?$")
_PIP = re.compile(r"^pip(?:\d+(?:\.\d+)*|\$\{?\w+\}?)?$")
_PYTHON_VALUE_OPTIONS = frozenset({"-X", "-W"})
_CONDA = frozenset({"conda", "mamba", "micromamba"})
_CONDA_RUN_VALUE_OPTIONS = frozenset({"-n", "--name", "-p", "--prefix", "--cwd"})
_PIP_GLOBAL_VALUE_OPTIONS = frozenset(
    {
        *("--proxy", "--cache-dir", "--log", "--timeout", "--retries", "--python"),
        *("--trusted-host", "--cert", "--client-cert", "--exists-action", "--keyring-provider"),
        *("--use-feature", "--use-deprecated", "--directory", "--project", "--config-file"),
    }
)
_SHELLS = frozenset({"bash", "sh", "zsh", "dash"})
_SCRIPT_SUFFIXES = (".sh", ".bash")

Program = tuple[str, list[Word]]


def _base(word: Word) -> str:
    return word.text.rsplit("/", 1)[-1]


def _skip_prefix(words: list[Word]) -> int:
    """Index of the word that names the command: after ``VAR=x``, reserved words, wrappers."""
    i = 0
    while i < len(words):
        text = words[i].text
        wrapper = _base(words[i])
        if _ASSIGNMENT.match(text):
            i += 1
        elif wrapper in _PREFIX_WORDS:
            i += 1
            while i < len(words) and words[i].text.startswith("-") and wrapper != "!":
                i += 2 if words[i].text in _WRAPPER_VALUE_OPTIONS else 1
            if wrapper == "timeout" and i < len(words):
                i += 1  # the duration
        else:
            break
    return i


def _after_options(words: list[Word], start: int, value_options: frozenset[str]) -> int:
    """Index of the first word at or after ``start`` that is not an option (or its value)."""
    j = start
    while j < len(words) and words[j].text.startswith("-"):
        j += 2 if words[j].text in value_options else 1
    return j


def _program(words: list[Word]) -> Program | None:
    """Identify pip / conda / apt invocations and return the words after the subcommand.

    Understands ``python3.11 -m pip``, ``python -m uv pip``, ``uv pip``, ``pip3.10``,
    ``pip${PYTHON_VERSION}``, ``conda run -n env <command>``, pip's global options before
    ``install``, reserved words and wrappers before the command (``then``, ``sudo -H``), shell
    scripts run (``bash ci/x.sh``, ``./ci/x.sh``, ``source x.sh``) and ``bash -c '...'``.
    """
    i = _skip_prefix(words)
    if i >= len(words):
        return None
    head = _base(words[i])
    if _PYTHON.match(head):
        j = i + 1
        while j < len(words) and words[j].text.startswith("-") and words[j].text != "-m":
            j += 2 if words[j].text in _PYTHON_VALUE_OPTIONS else 1
        if j + 1 >= len(words) or words[j].text != "-m":
            return None
        i, head = j + 1, words[j + 1].text
    if head == "uv":
        j = _after_options(words, i + 1, frozenset())
        if j >= len(words) or words[j].text != "pip":
            return None
        i, head = j, "pip"
    if _PIP.match(head):
        j = _after_options(words, i + 1, _PIP_GLOBAL_VALUE_OPTIONS)
        if j < len(words) and words[j].text == "install":
            return "pip", words[j + 1 :]
        return None
    if head in _CONDA and i + 1 < len(words):
        sub = words[i + 1].text
        if sub in {"install", "create"}:
            return "conda", words[i + 2 :]
        if sub == "env" and i + 2 < len(words) and words[i + 2].text in {"create", "update"}:
            return "conda-env", words[i + 3 :]
        if sub == "run":
            return _program(words[_after_options(words, i + 2, _CONDA_RUN_VALUE_OPTIONS) :])
        return None
    if head in {"apt-get", "apt", "yum", "dnf", "microdnf"}:
        names = [w.text for w in words[i + 1 : i + 4]]
        if "install" in names:
            return "apt", words[i + 2 + names.index("install") :]
        return None
    if head in _SHELLS:
        j = i + 1
        while j < len(words) and words[j].text.startswith("-"):
            if words[j].text.endswith("c") and not words[j].text.startswith("--"):
                return ("shell-c", words[j + 1 : j + 2]) if j + 1 < len(words) else None
            j += 1
        return ("script", words[j : j + 1]) if j < len(words) else None
    if head in {"source", "."} and i + 1 < len(words):
        return "script", words[i + 1 : i + 2]
    if words[i].text.endswith(_SCRIPT_SUFFIXES) and "/" in words[i].text:
        return "script", words[i : i + 1]
    return None


_GET_PIP = re.compile(r"bootstrap\.pypa\.io/pip/(?P<py>\d+\.\d+)/get-pip\.py")


def scan_shell(text: str, expand: Callable[[str], Expansion] | None = None) -> ShellScan:
    """Pins and files pulled in by shell ``text``; ``expand`` resolves ``$VAR`` in each word.

    Nothing is executed: the text is tokenised and each simple command is recognised by its
    words. ``bash -c '...'`` bodies are scanned the same way (three levels deep at most).
    """
    pins: list[ShellPin] = []
    files: list[FileRef] = []
    errors: list[tuple[int, str]] = []
    _scan_into(text, 0, expand, pins, files, errors, depth=0)
    return ShellScan(tuple(pins), tuple(files), tuple(errors))


def _scan_into(
    text: str,
    base: int,
    expand: Callable[[str], Expansion] | None,
    pins: list[ShellPin],
    files: list[FileRef],
    errors: list[tuple[int, str]],
    depth: int,
) -> None:
    # The directory ``cd``/``pushd`` moved to, relative to where the text starts; None once it
    # cannot be known (a variable, ``cd -``, ``popd`` past the start).
    cwd: str | None = "."
    dirs: list[str | None] = []
    for raw_command in split_words(text):
        command: list[Word] = []
        info: dict[int, Expansion] = {}
        for w in raw_command:
            w = Word(w.offset + base, w.text)
            if expand is not None and "$" in w.text:
                exp = expand(w.text)
                info[w.offset] = exp
                command.append(Word(w.offset, exp.text))
            else:
                command.append(w)
            if "get-pip.py" in w.text:
                m = _GET_PIP.search(w.text)
                if m is not None:
                    d = Decoded("python", m.group("py"), "exact")
                    pins.append(ShellPin(w.offset, w.text, d, note="get-pip URL for this Python"))
        is_cd, moved = _moved(command, cwd, dirs)
        if is_cd:
            cwd = moved
            continue
        found = _program(command)
        if found is None:
            continue
        kind, args = found
        before = len(pins)
        if kind == "pip":
            _pip(args, pins, files, errors, info, cwd)
        elif kind == "conda":
            _conda(args, pins, files, errors, info)
        elif kind == "conda-env":
            _conda_env(args, files)
        elif kind == "script":
            files.append(FileRef(args[0].offset, args[0].text, "script"))
        elif kind == "shell-c":
            body = args[0]
            at = body.offset - base
            quoted = 1 if 0 <= at < len(text) and text[at] in "'\"" else 0
            if depth < 3:
                _scan_into(body.text, body.offset + quoted, expand, pins, files, errors, depth + 1)
        else:
            for w in args:
                decoded = decode_apt_package(w.text)
                if decoded is not None:
                    pins.append(ShellPin(w.offset, w.text, decoded, note="apt package"))
        for k in range(before, len(pins)):
            exp_used = info.get(pins[k].offset)
            if exp_used is not None:
                p = pins[k]
                pins[k] = ShellPin(p.offset, p.raw, p.decoded, p.note, p.resolved + exp_used.used)


_NAME_PREFIX = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)")


def _unresolved_word(w: Word, exp: Expansion) -> ShellPin | None:
    """A word whose variables could not be expanded: a pin only if it names a tracked package."""
    m = _NAME_PREFIX.match(w.text)
    if m is None:
        return None
    component = PACKAGE_COMPONENTS.get(canonicalize_name(m.group(1)))
    if component is None:
        return None
    reason = "; ".join(exp.unresolved)
    return ShellPin(w.offset, w.text, Decoded(component, w.text, "unresolved", reason=reason))


def _moved(command: list[Word], cwd: str | None, dirs: list[str | None]) -> tuple[bool, str | None]:
    """Whether the command is ``cd``/``pushd``/``popd``, and the working directory after it."""
    i = _skip_prefix(command)
    if i >= len(command) or command[i].text not in {"cd", "pushd", "popd"}:
        return False, cwd
    name = command[i].text
    if name == "popd":
        return True, (dirs.pop() if dirs else None)
    target = next((w.text for w in command[i + 1 :] if not w.text.startswith("-")), None)
    if name == "pushd":
        dirs.append(cwd)
    if cwd is None or target is None or "$" in target or target.startswith(("/", "~")):
        return True, None
    return True, posixpath.normpath(posixpath.join(cwd, target))


def _pip(
    args: list[Word],
    pins: list[ShellPin],
    files: list[FileRef],
    errors: list[tuple[int, str]],
    info: dict[int, Expansion],
    cwd: str | None = ".",
) -> None:
    index_notes: list[tuple[Word, str]] = []
    reqs: list[ShellPin] = []
    i = 0
    while i < len(args):
        w = args[i]
        opt, eq, inline = w.text.partition("=")
        option = opt if w.text.startswith("--") and eq else w.text
        role = _PIP_VALUE_OPTIONS.get(option)
        value: Word | None = None
        if role is not None:
            if eq and w.text.startswith("--"):
                value = Word(w.offset + len(opt) + 1, inline)
                i += 1
            elif i + 1 < len(args):
                value = args[i + 1]
                i += 2
            else:
                i += 1
                continue
            if role in {"requirements", "constraints"}:
                ref_kind: Literal["requirements", "constraints"] = (
                    "requirements" if role == "requirements" else "constraints"
                )
                files.append(FileRef(value.offset, value.text, ref_kind))
            elif role == "index" or role == "find-links":
                variant = index_variant(value.text)
                if variant is not None:
                    index_notes.append((value, variant))
                    implied = variant_pin(variant)
                    if implied is not None:
                        pins.append(
                            ShellPin(value.offset, value.text, implied, note=f"{role} {value.text}")
                        )
            elif role == "torch-backend":
                _torch_backend(value, pins, index_notes)
            elif role == "editable":
                project = _local_project(value.text)
                if project is not None:
                    _add_project(files, value.offset, project, cwd)
            continue
        i += 1
        if w.text.startswith("-"):
            continue
        exp = info.get(w.offset)
        if exp is not None and not exp.ok:
            unresolved = _unresolved_word(w, exp)
            if unresolved is not None:
                reqs.append(unresolved)
            continue
        if w.text.endswith(".whl") or ("://" in w.text and "@" not in w.text):
            for decoded in decode_wheel_url(w.text):
                reqs.append(ShellPin(w.offset, w.text, decoded, note="wheel URL"))
            continue
        project = _local_project(w.text)
        if project is not None:
            _add_project(files, w.offset, project, cwd)
            continue
        result = decode_requirement(w.text)
        if isinstance(result, str):
            if any(n in w.text.lower() for n in ("torch", "cuda", "cudnn")):
                errors.append((w.offset, f"{w.text!r}: {result}"))
            continue
        for decoded in result:
            reqs.append(ShellPin(w.offset, w.text, decoded))
    variants = {v for _, v in index_notes}
    for pin in reqs:
        d = pin.decoded
        if d.variant is None and len(variants) == 1 and d.component in _WHEEL_COMPONENTS:
            word, variant = index_notes[0]
            d = Decoded(d.component, d.value, d.how, variant=variant, reason=d.reason)
            pin = ShellPin(pin.offset, pin.raw, d, f"index {word.text}", pin.resolved)
        pins.append(pin)


_WHEEL_COMPONENTS = {"torch", "torchvision", "torchaudio"}
# A local project: ``.``, ``./pkg``, ``/app``, ``../x`` with optional ``[extras]``.
_LOCAL_PROJECT = re.compile(
    r"^(?P<path>\.{1,2}(?:/[^\[\]]*)?|[/~][^\[\]]*|[\w.-]+/[^\[\]]*)(?:\[(?P<extras>[^\]]*)\])?$"
)
_ARCHIVES = (".whl", ".tar.gz", ".zip", ".tgz")


def _local_project(text: str) -> tuple[str, tuple[str, ...]] | None:
    """``.[dev,test]`` → (``.``, (``dev``, ``test``)): a project directory pip builds and
    installs, not a requirement; None for anything else (URLs, archives, names)."""
    if "://" in text or text.endswith(_ARCHIVES):
        return None
    m = _LOCAL_PROJECT.match(text)
    if m is None:
        return None
    extras = tuple(e.strip() for e in (m.group("extras") or "").split(",") if e.strip())
    return m.group("path").rstrip("/") or "/", extras


def _add_project(
    files: list[FileRef], offset: int, project: tuple[str, tuple[str, ...]], cwd: str | None
) -> None:
    """A project install, its path taken from where ``cd`` left the shell; dropped when that
    is unknown (``cd "$dir"``, a clone in ``/tmp``): another project, not this repository's."""
    path, extras = project
    if not path.startswith(("/", "~")):
        if cwd is None:
            return
        path = posixpath.normpath(posixpath.join(cwd, path))
    files.append(FileRef(offset, path, "project", extras))


def _torch_backend(value: Word, pins: list[ShellPin], index_notes: list[tuple[Word, str]]) -> None:
    """``uv pip install --torch-backend=cu126`` acts as that index; ``auto`` lets the machine
    that runs the install pick the CUDA build from its driver, so the build is unknown."""
    backend = value.text.strip().lower()
    note = f"torch-backend {value.text}"
    if backend == "auto":
        reason = (
            "uv --torch-backend=auto picks the CUDA build from the driver of the machine that "
            "runs the install, so the build is not fixed by this file"
        )
        pins.append(
            ShellPin(
                value.offset,
                value.text,
                Decoded("cuda", "auto", "latest", reason=reason),
                note=note,
            )
        )
        return
    if backend in {"cpu", "xpu"} or variant_pin(backend) is not None:
        index_notes.append((value, backend))
    implied = variant_pin(backend)
    if implied is not None:
        pins.append(ShellPin(value.offset, value.text, implied, note=note))


def _conda(
    args: list[Word],
    pins: list[ShellPin],
    files: list[FileRef],
    errors: list[tuple[int, str]],
    info: dict[int, Expansion],
) -> None:
    channels = [
        args[k + 1].text for k in range(len(args) - 1) if args[k].text in {"-c", "--channel"}
    ]
    i = 0
    while i < len(args):
        w = args[i]
        if w.text in {"-c", "--channel", "-n", "--name", "-p", "--prefix"}:
            i += 2
            continue
        if w.text in {"--file", "-f"} and i + 1 < len(args):
            files.append(FileRef(args[i + 1].offset, args[i + 1].text, "conda"))
            i += 2
            continue
        i += 1
        if w.text.startswith("-"):
            continue
        exp = info.get(w.offset)
        if exp is not None and not exp.ok:
            continue
        decoded = decode_conda_spec(w.text)
        if isinstance(decoded, str):
            errors.append((w.offset, decoded))
        elif decoded is not None:
            channel = (PYTORCH_CHANNEL,) if from_pytorch_channel(w.text, channels) else ()
            pins.append(ShellPin(w.offset, w.text, decoded, note="conda", resolved=channel))


def _conda_env(args: list[Word], files: list[FileRef]) -> None:
    for i, w in enumerate(args):
        if w.text in {"-f", "--file"} and i + 1 < len(args):
            files.append(FileRef(args[i + 1].offset, args[i + 1].text, "conda"))
        elif w.text.startswith("--file="):
            files.append(FileRef(w.offset + 7, w.text[7:], "conda"))
