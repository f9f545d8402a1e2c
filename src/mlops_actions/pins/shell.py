"""Pins inside shell commands (Dockerfile ``RUN``, workflow ``run:``): pip, conda and apt installs.

The words are split with a small quote-aware lexer that keeps each word's offset so findings
point at the exact column; the words themselves are decoded by ``values``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from packaging.utils import canonicalize_name

from mlops_actions.pins.expand import Expansion
from mlops_actions.pins.values import (
    PACKAGE_COMPONENTS,
    Decoded,
    decode_apt_package,
    decode_conda_spec,
    decode_requirement,
    decode_wheel_url,
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
    offset: int
    path: str
    kind: Literal["requirements", "constraints", "conda"]


@dataclass(frozen=True)
class ShellScan:
    pins: tuple[ShellPin, ...]
    files: tuple[FileRef, ...]
    errors: tuple[tuple[int, str], ...]


_QUOTED = r"""'[^']*'|"(?:[^"\\]|\\.)*"|\\."""
_TOKEN = re.compile(
    rf"""(?P<op>&&|\|\||[;|&\n])|(?P<ws>[ \t\r]+)|(?P<comment>\#[^\n]*)"""
    rf"""|(?P<word>(?:[^\s'"\\;&|\#]|{_QUOTED})(?:[^\s'"\\;&|]|{_QUOTED})*)"""
    r"""|(?P<rest>.+)""",
    re.DOTALL,
)
_UNQUOTE = re.compile(r"""'([^']*)'|"((?:[^"\\]|\\.)*)"|\\(.)""", re.DOTALL)


def _unquote(m: re.Match[str]) -> str:
    if m.group(1) is not None:
        return m.group(1)
    if m.group(2) is not None:
        return re.sub(r"\\(.)", r"\1", m.group(2))
    return m.group(3)


def split_words(text: str) -> list[list[Word]]:
    """Split a command line into simple commands, each a list of words with their offsets.

    Quotes are removed from words; ``#`` at the start of a word starts a comment; an
    unterminated quote makes the rest of the text one word (never an exception).
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


def _program(words: list[Word]) -> tuple[str, list[Word]] | None:
    """Identify pip / conda / apt invocations and return the words after the subcommand."""
    names = [w.text.rsplit("/", 1)[-1] for w in words]
    # Skip leading env assignments and wrappers.
    i = 0
    while i < len(names) and ("=" in names[i] and not names[i].startswith("-")):
        i += 1
    while i < len(names) and names[i] in {"sudo", "env", "time", "exec", "nohup"}:
        i += 1
    rest = names[i:]
    if not rest:
        return None
    head = rest[0]
    if head.startswith("python") and len(rest) >= 3 and rest[1] == "-m":
        head = rest[2]
        i += 2
    elif head == "uv" and len(rest) >= 2 and rest[1] == "pip":
        head = "pip"
        i += 1
    if head in {"pip", "pip3"} or (head.startswith("pip3.") and head[4:].isdigit()):
        if i + 1 < len(names) and names[i + 1] == "install":
            return "pip", words[i + 2 :]
        return None
    if head in {"conda", "mamba", "micromamba"} and i + 1 < len(names):
        sub = names[i + 1]
        if sub in {"install", "create"}:
            return "conda", words[i + 2 :]
        if sub == "env" and i + 2 < len(names) and names[i + 2] in {"create", "update"}:
            return "conda-env", words[i + 3 :]
        return None
    if head in {"apt-get", "apt", "yum", "dnf", "microdnf"} and "install" in names[i + 1 : i + 4]:
        at = names.index("install", i + 1)
        return "apt", words[at + 1 :]
    return None


def scan_shell(text: str, expand: Callable[[str], Expansion] | None = None) -> ShellScan:
    """Pins and installed files in shell ``text``; ``expand`` resolves ``$VAR`` in each word."""
    pins: list[ShellPin] = []
    files: list[FileRef] = []
    errors: list[tuple[int, str]] = []
    for raw_command in split_words(text):
        command: list[Word] = []
        info: dict[int, Expansion] = {}
        for w in raw_command:
            if expand is not None and "$" in w.text:
                exp = expand(w.text)
                info[w.offset] = exp
                command.append(Word(w.offset, exp.text))
            else:
                command.append(w)
        found = _program(command)
        if found is None:
            continue
        kind, args = found
        before = len(pins)
        if kind == "pip":
            _pip(args, pins, files, errors, info)
        elif kind == "conda":
            _conda(args, pins, files, errors, info)
        elif kind == "conda-env":
            _conda_env(args, files)
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
    return ShellScan(tuple(pins), tuple(files), tuple(errors))


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


def _pip(
    args: list[Word],
    pins: list[ShellPin],
    files: list[FileRef],
    errors: list[tuple[int, str]],
    info: dict[int, Expansion],
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
            elif role == "torch-backend" and value.text == "auto":
                # The build then depends on the GPU of the machine that installs (VG020).
                moving = Decoded("cuda", "auto", "latest", reason="uv --torch-backend=auto")
                pins.append(ShellPin(value.offset, value.text, moving, note="torch-backend auto"))
            elif role == "torch-backend" and value.text.startswith(("cu", "rocm")):
                implied = variant_pin(value.text)
                if implied is not None:
                    index_notes.append((value, value.text))
                    pins.append(
                        ShellPin(value.offset, value.text, implied, note=f"{role} {value.text}")
                    )
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
        if "://" in w.text and "@" not in w.text:
            for decoded in decode_wheel_url(w.text):
                reqs.append(ShellPin(w.offset, w.text, decoded, note="wheel URL"))
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


def _conda(
    args: list[Word],
    pins: list[ShellPin],
    files: list[FileRef],
    errors: list[tuple[int, str]],
    info: dict[int, Expansion],
) -> None:
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
            pins.append(ShellPin(w.offset, w.text, decoded, note="conda"))


def _conda_env(args: list[Word], files: list[FileRef]) -> None:
    for i, w in enumerate(args):
        if w.text in {"-f", "--file"} and i + 1 < len(args):
            files.append(FileRef(args[i + 1].offset, args[i + 1].text, "conda"))
        elif w.text.startswith("--file="):
            files.append(FileRef(w.offset + 7, w.text[7:], "conda"))
