"""Variable expansion with Dockerfile / shell semantics, tracking what could not be resolved.

Supported forms: ``$VAR``, ``${VAR}``, ``${VAR:-word}``, ``${VAR-word}``, ``${VAR:+word}``,
``${VAR+word}``, nested (``${A:-${B}}``). Anything else (``${VAR#x}``, ``${VAR/a/b}``) is
reported unresolved rather than guessed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class Expansion:
    text: str
    unresolved: tuple[str, ...] = ()
    """Reasons, one per reference that could not be resolved."""
    used: tuple[str, ...] = ()
    """``NAME=value`` for every variable that contributed."""

    @property
    def ok(self) -> bool:
        return not self.unresolved


def _matching_brace(text: str, start: int) -> int:
    depth = 0
    i = start
    while i < len(text):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


def expand(
    text: str,
    env: Mapping[str, str | None],
    *,
    undeclared: str = "is not declared here",
) -> Expansion:
    """Expand ``text`` with ``env`` (``None`` = declared without a value, i.e. unset)."""
    out: list[str] = []
    unresolved: list[str] = []
    used: list[str] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c != "$" or i + 1 >= len(text):
            out.append(c)
            i += 1
            continue
        if text[i + 1] == "{":
            end = _matching_brace(text, i + 1)
            if end < 0:
                unresolved.append(f"unterminated ${{ in {text!r}")
                out.append(text[i:])
                break
            body = text[i + 2 : end]
            i = end + 1
            value = _braced(body, env, undeclared, unresolved, used)
            out.append(value)
            continue
        m = _NAME.match(text, i + 1)
        if m is None:
            out.append(c)
            i += 1
            continue
        name = m.group(0)
        i = m.end()
        out.append(_plain(name, env, undeclared, unresolved, used))
    return Expansion("".join(out), tuple(unresolved), tuple(used))


def _plain(
    name: str,
    env: Mapping[str, str | None],
    undeclared: str,
    unresolved: list[str],
    used: list[str],
) -> str:
    if name not in env:
        unresolved.append(f"${name} {undeclared}")
        return "${" + name + "}"
    value = env[name]
    if value is None:
        unresolved.append(f"${name} has no value (no default and no build argument)")
        return "${" + name + "}"
    used.append(f"{name}={value}")
    return value


def _braced(
    body: str,
    env: Mapping[str, str | None],
    undeclared: str,
    unresolved: list[str],
    used: list[str],
) -> str:
    m = _NAME.match(body)
    if m is None:
        unresolved.append(f"${{{body}}} is not a variable reference")
        return "${" + body + "}"
    name = m.group(0)
    rest = body[m.end() :]
    if rest == "":
        return _plain(name, env, undeclared, unresolved, used)
    for op in (":-", ":+", "-", "+"):
        if rest.startswith(op):
            word = rest[len(op) :]
            break
    else:
        unresolved.append(f"${{{body}}}: this substitution form is not supported")
        return "${" + body + "}"
    if name not in env and not op.startswith(":"):
        # ${X-word} on a name we cannot see: its set-ness is unknown.
        unresolved.append(f"${name} {undeclared}")
        return "${" + body + "}"
    value = env.get(name)
    is_set = value is not None
    non_empty = bool(value)
    if name not in env:
        # ${X:-w} / ${X:+w} on an undeclared name: it may come from the base image.
        unresolved.append(f"${name} {undeclared}")
        return "${" + body + "}"
    pick_word = {":-": not non_empty, "-": not is_set, ":+": non_empty, "+": is_set}[op]
    used.append(f"{name}={value}" if is_set else f"{name} unset")
    if op in {":-", "-"}:
        if not pick_word:
            return value or ""
    elif not pick_word:
        return ""
    inner = expand(word, env, undeclared=undeclared)
    unresolved.extend(inner.unresolved)
    used.extend(inner.used)
    return inner.text
