"""Parsers for data a repository or a job supplies: YAML, JSON and TOML with limits.

The standard parsers trust their input: YAML aliases expand without end (452 bytes of
"billion laughs" take gigabytes once walked), a number of 5,000 digits trips Python's int
conversion limit, and nesting a thousand deep exhausts the stack. Every file read as data goes
through here, so each of these ends as one error with a line, never as a crash:

- YAML is composed event by event with a budget of ``MAX_YAML_NODES``, an alias counting as
  every node it stands for, and at most ``MAX_DEPTH`` levels of nesting;
- JSON and TOML are refused past ``MAX_DEPTH`` levels of nesting;
- a number Python cannot convert (more than ``sys.get_int_max_str_digits()`` digits) or a
  scalar that its YAML tag cannot hold (``2001-13-45``) is an error at its line.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.events import AliasEvent
from yaml.resolver import Resolver

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

MAX_YAML_NODES = 50_000
"""Nodes a YAML document may hold, aliases counted as what they repeat (a large workflow has a
few thousand)."""

MAX_DEPTH = 64
"""Levels of nesting any document may have (real ones stay under 15)."""


class ParseError(ValueError):
    """Input that the parsers refuse: ``message`` says what, ``line``/``col`` (1-based) where."""

    def __init__(self, message: str, line: int | None = None, col: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.col = col


# --- YAML ------------------------------------------------------------------------------------


class YAMLLimitError(yaml.MarkedYAMLError):
    """A YAML document over a limit: a ``MarkedYAMLError``, so every caller that reports YAML
    syntax errors at their line reports this one the same way."""


class _BoundedComposer(Composer):
    """PyYAML's composer with a node budget and a depth limit (libyaml's own composer has
    neither, and builds every node before anyone can count them)."""

    def __init__(self) -> None:
        super().__init__()
        self._nodes = 0
        self._depth = 0
        self._sizes: dict[str, int] = {}

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        event = self.peek_event()  # type: ignore[attr-defined]
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise YAMLLimitError(
                problem=f"nested more than {MAX_DEPTH} levels deep",
                problem_mark=event.start_mark,
            )
        anchor = event.anchor
        if isinstance(event, AliasEvent):
            # An alias repeats its anchor's whole subtree for whoever walks the document.
            self._count(self._sizes.get(anchor or "", 1), event)
            node = super().compose_node(parent, index)
        else:
            before = self._nodes
            self._count(1, event)
            node = super().compose_node(parent, index)
            if anchor is not None:
                self._sizes[anchor] = self._nodes - before
        self._depth -= 1
        return node

    def _count(self, nodes: int, event: Any) -> None:
        self._nodes += nodes
        if self._nodes > MAX_YAML_NODES:
            raise YAMLLimitError(
                problem=f"expands to more than {MAX_YAML_NODES:,} nodes "
                "(aliases count as what they repeat)",
                problem_mark=event.start_mark,
            )


try:  # libyaml's C parser makes the events when it is there; the composer is ours either way.
    from yaml._yaml import CParser

    class _Loader(_BoundedComposer, CParser, SafeConstructor, Resolver):
        def __init__(self, text: str) -> None:
            CParser.__init__(self, text)
            _BoundedComposer.__init__(self)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)

except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml.parser import Parser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    class _Loader(  # type: ignore[no-redef]
        _BoundedComposer, Reader, Scanner, Parser, SafeConstructor, Resolver
    ):
        def __init__(self, text: str) -> None:
            Reader.__init__(self, text)
            Scanner.__init__(self)
            Parser.__init__(self)
            _BoundedComposer.__init__(self)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)


def _checked(construct: Callable[[Any, Any], Any], what: str) -> Callable[[Any, Any], Any]:
    def checked(loader: Any, node: yaml.ScalarNode) -> Any:
        try:
            return construct(loader, node)
        except ValueError:
            text = str(node.value)
            shown = repr(text[:20]) + ("…" if len(text) > 20 else "")
            raise YAMLLimitError(
                problem=f"{shown} is not {what}", problem_mark=node.start_mark
            ) from None

    return checked


# A number past Python's int conversion limit, and dates such as 2001-13-45 that the resolver
# tags as timestamps, raise ValueError while constructing.
_Loader.add_constructor(
    "tag:yaml.org,2002:int",
    _checked(
        SafeConstructor.construct_yaml_int,
        f"an integer Python can read (at most {sys.get_int_max_str_digits()} digits)",
    ),
)
_Loader.add_constructor(
    "tag:yaml.org,2002:timestamp",
    _checked(SafeConstructor.construct_yaml_timestamp, "a date (quote it if it is text)"),
)


def compose_yaml(text: str) -> yaml.Node | None:
    """The document's root node (None for an empty document). Raises ``yaml.YAMLError``, a
    ``MarkedYAMLError`` with the line for syntax errors and limits alike."""
    loader = _Loader(text)
    try:
        node: yaml.Node | None = loader.get_single_node()
        return node
    finally:
        loader.dispose()


def construct_yaml(node: yaml.Node | None) -> Any:
    """The plain data a composed node makes (None for an empty document). Raises
    ``yaml.YAMLError`` at the node that cannot be built (``YAMLLimitError`` for numbers and dates
    out of range)."""
    if node is None:
        return None
    loader = _Loader("")
    try:
        return loader.construct_document(node)
    finally:
        loader.dispose()


# --- JSON and TOML ---------------------------------------------------------------------------


def loads_json(text: str) -> Any:
    """``json.loads`` that raises only ``ParseError`` (syntax with its line, nesting, numbers)."""
    return _bounded(json.loads, text, json.JSONDecodeError, _json_syntax)


def loads_toml(text: str) -> dict[str, Any]:
    """``tomllib.loads`` that raises only ``ParseError``."""
    data: dict[str, Any] = _bounded(tomllib.loads, text, tomllib.TOMLDecodeError, _toml_syntax)
    return data


def _bounded(
    parse: Callable[[str], Any],
    text: str,
    syntax: type[ValueError],
    explain: Callable[[Any], ParseError],
) -> Any:
    try:
        data = parse(text)
    except syntax as exc:
        raise explain(exc) from None
    except ValueError:  # not a syntax error: a number past Python's int conversion limit
        raise ParseError(_LONG_NUMBER) from None
    except RecursionError:
        raise ParseError(_TOO_DEEP) from None
    check_depth(data)
    return data


def _json_syntax(exc: json.JSONDecodeError) -> ParseError:
    return ParseError(f"invalid JSON: {exc.msg}", exc.lineno, exc.colno)


def _toml_syntax(exc: tomllib.TOMLDecodeError) -> ParseError:
    where = _TOML_AT.search(str(exc))
    line, col = (int(where[1]), int(where[2])) if where else (None, None)
    return ParseError(f"invalid TOML: {exc}", line, col)


_TOML_AT = re.compile(r"at line (\d+), column (\d+)")
_LONG_NUMBER = f"holds a number of more than {sys.get_int_max_str_digits()} digits"
_TOO_DEEP = f"is nested more than {MAX_DEPTH} levels deep"


def check_depth(data: Any, limit: int = MAX_DEPTH) -> None:
    """Raise ``ParseError`` if lists and mappings nest more than ``limit`` deep (walked
    without recursion, so the check itself cannot overflow the stack)."""
    stack: list[tuple[Any, int]] = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children: Any = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth >= limit:
            raise ParseError(_TOO_DEEP)
        stack.extend((child, depth + 1) for child in children)
