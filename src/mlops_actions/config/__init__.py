"""The repository's config file (``.github/mlops.yml``): load, validate, locate keys.

One file holds a section per action. It is validated against the JSON Schema composed from
``config/schema/*.json``; every error names the file, the line and the key, and says the fix.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlops_actions.errors import ConfigError
from mlops_actions.files import DataFileError, read_named_file

if TYPE_CHECKING:
    import jsonschema
    import yaml

# yaml and jsonschema are imported when a config file is read: a job without one (env-verify's
# fast path above all) does not pay ~0.13 s for them.

DEFAULT_PATHS = (".github/mlops.yml", ".github/mlops.yaml")
SCHEMA_ID = "https://github.com/mlops-actions/mlops-actions/blob/v1/docs/mlops.schema.json"
SECTIONS = (
    "environment",
    "version-guard",
    "label-dispatch",
    "milestone-release",
    "branch-policy",
)

KeyPath = tuple[str | int, ...]


@dataclass(frozen=True)
class Config:
    """The validated config: plain data, plus where each key stands in the file."""

    path: str | None
    data: Mapping[str, Any]
    positions: Mapping[KeyPath, tuple[int, int]] = field(default_factory=dict)

    def section(self, name: str) -> dict[str, Any]:
        value = self.data.get(name) or {}
        return dict(value)

    def where(self, keys: Sequence[str | int]) -> tuple[int | None, int | None]:
        """The line and column of the deepest key of ``keys`` that the file has."""
        path = tuple(keys)
        while path:
            if path in self.positions:
                return self.positions[path]
            path = path[:-1]
        return (None, None)

    def error(self, keys: Sequence[str | int], message: str, fix: str) -> ConfigError:
        line, col = self.where(keys)
        return ConfigError(
            f"`{dotted(keys)}`: {message}", fix=fix, file=self.path, line=line, col=col
        )


def dotted(keys: Sequence[str | int]) -> str:
    out = ""
    for key in keys:
        out += f"[{key}]" if isinstance(key, int) else (f".{key}" if out else str(key))
    return out or "(top level)"


@functools.cache
def schema() -> dict[str, Any]:
    """The whole config schema, composed from one file per section."""
    from importlib import resources  # ~10 ms of imports; only a config file needs it

    base = resources.files("mlops_actions.config") / "schema"
    properties: dict[str, Any] = {
        "version": {
            "description": "Config format version. Only 1 exists.",
            "const": 1,
        }
    }
    for name in SECTIONS:
        properties[name] = json.loads((base / f"{name}.json").read_text(encoding="utf-8"))
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "mlops-actions config (.github/mlops.yml)",
        "type": "object",
        "additionalProperties": False,
        "properties": properties,
    }


def find_config(root: Path) -> Path | None:
    for candidate in DEFAULT_PATHS:
        path = root / candidate
        if path.is_file():
            return path
    return None


def load_config(path: Path | None, *, root: Path, required: bool = False) -> Config:
    """Load and validate the config; no file (and none required) gives an empty config."""
    if path is None:
        path = find_config(root)
        if path is None:
            return Config(path=None, data={})
    elif not path.is_absolute():
        path = root / path
    shown = _display(path, root)
    if not path.exists():
        if required:
            raise ConfigError(
                f"config file {shown} does not exist",
                fix="create it (see the README) or point {input} at the right path; "
                f"the default is {DEFAULT_PATHS[0]}.",
                input="config",
            )
        return Config(path=None, data={})
    try:
        text, _ = read_named_file(path, root)
    except DataFileError as exc:
        raise ConfigError(
            f"config file {exc.message}", fix=exc.fix, file=shown, line=exc.line, col=exc.col
        ) from None
    return parse_config(text, shown)


def parse_config(text: str, shown: str) -> Config:
    import yaml

    from mlops_actions.parse import YAMLLimitError, compose_yaml, construct_yaml

    try:
        node = compose_yaml(text)
        positions: dict[KeyPath, tuple[int, int]] = {}
        if node is not None:
            # Keys are checked on the nodes first: data with a key `1` or `true` is no config.
            _record_positions(node, (), positions, shown)
        data = construct_yaml(node)
    except YAMLLimitError as exc:
        mark = exc.problem_mark
        raise ConfigError(
            f"YAML {exc.problem}",
            fix="write the value out plainly (quote text, repeat no aliases, nest less).",
            file=shown,
            line=mark.line + 1 if mark else None,
            col=mark.column + 1 if mark else None,
        ) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        col = mark.column + 1 if mark else None
        problem = exc.problem or exc.context or "invalid YAML"
        raise ConfigError(
            f"YAML syntax error: {problem}",
            fix="correct the YAML at that spot (indentation, a missing ':' or an unclosed quote).",
            file=shown,
            line=line,
            col=col,
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"YAML error: {exc}", fix="correct the YAML.", file=shown) from None
    if data is None:
        data = {}
    config = Config(path=shown, data=data, positions=positions)
    if not isinstance(data, dict):
        raise ConfigError(
            "the config file must be a mapping of sections",
            fix=f"start with a section key such as `{SECTIONS[0]}:`.",
            file=shown,
            line=1,
        )
    validate(config)
    return config


def _record_positions(
    node: yaml.Node, path: KeyPath, out: dict[KeyPath, tuple[int, int]], shown: str
) -> None:
    import yaml

    out[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key_node.tag not in _KEY_TAGS:
                raise ConfigError(
                    f"key {key!r} under `{dotted(path)}` is not text "
                    f"(YAML reads it as {key_node.tag.rpartition(':')[2]})",
                    fix='quote the key ("1": ...) or remove it.',
                    file=shown,
                    line=key_node.start_mark.line + 1,
                    col=key_node.start_mark.column + 1,
                )
            if key in seen:
                raise ConfigError(
                    f"key `{dotted((*path, key))}` appears twice",
                    fix="keep one of the two entries.",
                    file=shown,
                    line=key_node.start_mark.line + 1,
                    col=key_node.start_mark.column + 1,
                )
            seen.add(key)
            child = (*path, key)
            _record_positions(value_node, child, out, shown)
            # Errors about a key should point at the key, not at its value.
            out[child] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _record_positions(item, (*path, index), out, shown)


# Text keys, and `<<` merge keys (their entries are merged into the mapping).
_KEY_TAGS = frozenset({"tag:yaml.org,2002:str", "tag:yaml.org,2002:merge"})


def validate(config: Config) -> None:
    import jsonschema

    errors = sorted(
        _validator().iter_errors(config.data),
        key=lambda e: (len(e.absolute_path), str(list(e.absolute_path))),
    )
    if errors:
        raise _explain(config, jsonschema.exceptions.best_match(errors))


@functools.cache
def _validator() -> jsonschema.protocols.Validator:
    import jsonschema

    cls = jsonschema.validators.validator_for(schema())
    return cls(schema())


def _explain(config: Config, error: jsonschema.ValidationError) -> ConfigError:
    keys: KeyPath = tuple(error.absolute_path)
    validator = error.validator
    if validator == "additionalProperties" and isinstance(error.instance, dict):
        known = sorted((error.schema.get("properties") or {}).keys())  # type: ignore[union-attr]
        unknown = [k for k in error.instance if k not in known]
        key = unknown[0] if unknown else "?"
        suggestion = _closest(key, known)
        hint = f"did you mean `{suggestion}`? " if suggestion else ""
        return config.error(
            (*keys, key),
            "unknown key",
            f"{hint}allowed keys here: {', '.join(known) or '(none)'}.",
        )
    if validator == "type":
        expected = error.validator_value
        wanted = " or ".join(expected) if isinstance(expected, list) else str(expected)
        return config.error(
            keys,
            f"must be {_article(wanted)} {wanted}, not {_json_type(error.instance)}",
            f"write {_article(wanted)} {wanted}"
            + (' (quote versions: "2.4")' if "string" in wanted else "")
            + ".",
        )
    if validator == "required":
        missing = str(error.message).split("'")[1] if "'" in error.message else "?"
        return config.error(keys, f"missing required key `{missing}`", f"add `{missing}:`.")
    if validator == "enum":
        choices = ", ".join(str(v) for v in error.validator_value)  # type: ignore[union-attr]
        return config.error(keys, f"{error.instance!r} is not allowed", f"use one of: {choices}.")
    if validator == "const":
        return config.error(
            keys, f"{error.instance!r} is not allowed", f"use {error.validator_value!r}."
        )
    if validator == "pattern":
        description = error.schema.get("description", "")  # type: ignore[union-attr]
        return config.error(
            keys,
            f"{error.instance!r} has the wrong form",
            description or f"match the pattern {error.validator_value}.",
        )
    description = error.schema.get("description", "") if isinstance(error.schema, dict) else ""
    return config.error(keys, error.message, description or "see docs/config.md for this key.")


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _closest(word: str, options: Sequence[str]) -> str | None:
    import difflib

    matches = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return matches[0] if matches else None


def _display(path: Path, root: Path) -> str:
    # Lexically, never resolved: where a link in the repository points is not shown.
    rel = os.path.relpath(os.path.abspath(path), os.path.abspath(root))
    return str(path) if rel == os.pardir or rel.startswith(os.pardir + os.sep) else rel


def iter_sections(config: Config) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for name in SECTIONS:
        if name in config.data:
            yield name, config.data[name]
