"""GitHub Actions runner I/O: typed inputs, outputs, step summary, annotations, masking, die().

This is the only module that reads the runner's environment variables or writes the runner's
files. On a runner (``GITHUB_ACTIONS=true``) it speaks the workflow-command protocol; elsewhere
the same calls print readable text, so the CLI and the actions share one code path.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import re
import sys
import types
import typing
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NoReturn, TextIO, TypeVar, get_args, get_origin

from mlops_actions.errors import (
    ActionError,
    ExitCode,
    UsageError,
    end_sentence,
    refer_to_input,
)

Level = Literal["error", "warning", "notice"]


@dataclass(frozen=True)
class Annotation:
    level: Level
    message: str
    file: str | None = None
    line: int | None = None
    col: int | None = None
    end_line: int | None = None
    end_col: int | None = None
    title: str | None = None


def escape_data(value: str) -> str:
    """Escape a workflow-command message (the part after ``::``)."""
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    """Escape a workflow-command property value (``file=…,title=…``)."""
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def format_annotation(annotation: Annotation) -> str:
    props: list[tuple[str, object]] = [
        ("file", annotation.file),
        ("line", annotation.line),
        ("endLine", annotation.end_line),
        ("col", annotation.col),
        ("endColumn", annotation.end_col),
        ("title", annotation.title),
    ]
    rendered = ",".join(f"{k}={escape_property(str(v))}" for k, v in props if v not in (None, ""))
    sep = " " if rendered else ""
    return f"::{annotation.level}{sep}{rendered}::{escape_data(annotation.message)}"


def output_block(name: str, value: str) -> str:
    """One ``GITHUB_OUTPUT`` entry, safe for multi-line values and values that look like delimiters."""
    if not name or any(c in name for c in "\r\n=<"):
        raise ValueError(f"invalid output name {name!r}")
    delimiter = f"ghadelimiter_{os.urandom(16).hex()}"
    if delimiter in value:  # 128 random bits never collide by chance (as GitHub's toolkit checks)
        raise ValueError(f"output {name!r} holds its own delimiter")
    return f"{name}<<{delimiter}\n{value}\n{delimiter}\n"


def render_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


# GitHub shows no step summary larger than 1 MiB; stay below it with room for the cut line.
SUMMARY_LIMIT = 1024 * 1024
SUMMARY_BUDGET = SUMMARY_LIMIT - 4 * 1024
_HEADING = re.compile(r"^#{1,6} ", re.M)


def fit_sections(markdown: str, room: int) -> tuple[str, bool]:
    """The leading whole sections of ``markdown`` that fit in ``room`` bytes (UTF-8), and
    whether that is all of it. A section is a heading line and everything up to the next."""
    if len(markdown.encode("utf-8")) <= room:
        return markdown, True
    # A heading at 0 makes an empty first section, which changes nothing.
    starts = [0, *(m.start() for m in _HEADING.finditer(markdown))]
    kept = ""
    for start, end in itertools.pairwise([*starts, len(markdown)]):
        section = markdown[start:end]
        if len((kept + section).encode("utf-8")) > room:
            break
        kept += section
    return kept, False


def summary_cut_line(pointer: str) -> str:
    return (
        f"\n_The rest of this summary is left out: GitHub shows at most "
        f"{SUMMARY_LIMIT // 1024 // 1024} MiB of a step summary. The full report is in "
        f"{pointer}._\n"
    )


def _append(path: str, text: str) -> None:
    """Append to a runner file in UTF-8 with \\n line ends, whatever the platform's defaults."""
    with open(path, "ab") as handle:
        handle.write(text.encode())  # str.encode is UTF-8 whatever the locale


class Runner:
    """Writes what a command reports, to the runner's files or to a terminal."""

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        *,
        out: TextIO | None = None,
        err: TextIO | None = None,
        debug: bool | None = None,
    ) -> None:
        self.env = dict(os.environ if env is None else env)
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.on_actions = self.env.get("GITHUB_ACTIONS") == "true"
        self.debug_enabled = (
            debug
            if debug is not None
            else self.env.get("RUNNER_DEBUG") == "1"
            or self.env.get("MLOPS_ACTIONS_DEBUG", "").lower() in ("1", "true")
        )
        # How a message names an input: the CLI makes it say `--flag` for what came as a flag.
        self.refer: Callable[[str], str] = refer_to_input
        # Where the whole report is, for the line that replaces what the summary cannot hold.
        self.report_pointer = "the command's JSON report (`--json`)"
        self._summary_full = False
        self.outputs: dict[str, str] = {}
        self.annotations: list[Annotation] = []
        self._masked: list[str] = []

    # -- outputs -----------------------------------------------------------------------------

    def set_output(self, name: str, value: object) -> None:
        text = render_value(value)
        self.outputs[name] = text
        path = self.env.get("GITHUB_OUTPUT")
        if path:
            _append(path, output_block(name, text))
        elif self.debug_enabled:
            self.print(f"output {name}={text}")

    def set_outputs(self, values: Mapping[str, object]) -> None:
        for name, value in values.items():
            self.set_output(name, value)

    def summary(self, markdown: str) -> None:
        """Append Markdown to the step summary; without a runner it is not printed (text output is).

        GitHub refuses a step summary over 1 MiB and shows none of it, so the summary stops
        below that: whole sections (a heading and what follows it) are kept, the rest becomes
        one line that points to the full report.
        """
        path = self.env.get("GITHUB_STEP_SUMMARY")
        if not path or self._summary_full:
            return
        text = markdown.rstrip("\n") + "\n\n"
        used = os.path.getsize(path) if os.path.exists(path) else 0
        kept, whole = fit_sections(text, SUMMARY_BUDGET - used)
        if not whole:
            kept += summary_cut_line(self.report_pointer)
            self._summary_full = True
        _append(path, kept)

    # -- log ---------------------------------------------------------------------------------

    def print(self, text: str = "") -> None:
        self.out.write(self.redact(text) + "\n")
        self.out.flush()

    def annotate(self, annotation: Annotation) -> None:
        message = _LONG_WORD.sub(_shorten, self.redact(annotation.message))
        annotation = dataclasses.replace(annotation, message=message)
        self.annotations.append(annotation)
        if self.on_actions:
            self.print(format_annotation(annotation))
            return
        where = annotation.file or ""
        if where and annotation.line:
            where += f":{annotation.line}"
            if annotation.col:
                where += f":{annotation.col}"
        prefix = f"{where}: " if where else ""
        title = f"[{annotation.title}] " if annotation.title else ""
        self.err.write(f"{prefix}{annotation.level}: {title}{annotation.message}\n")
        self.err.flush()

    def error(self, message: str, **where: Any) -> None:
        self.annotate(Annotation("error", message, **where))

    def warning(self, message: str, **where: Any) -> None:
        self.annotate(Annotation("warning", message, **where))

    def notice(self, message: str, **where: Any) -> None:
        self.annotate(Annotation("notice", message, **where))

    def debug(self, message: str) -> None:
        if self.on_actions:
            self.print(f"::debug::{escape_data(message)}")
        elif self.debug_enabled:
            self.err.write(f"debug: {self.redact(message)}\n")

    def mask(self, secret: str) -> None:
        """Keep a secret out of every log line, ours and the runner's."""
        if not secret or secret in self._masked:
            return
        self._masked.append(secret)
        if self.on_actions:
            # The mask command itself must carry the value; the runner hides it from then on.
            self.out.write(f"::add-mask::{escape_data(secret)}\n")

    @contextmanager
    def group(self, title: str) -> Iterator[None]:
        if self.on_actions:
            self.print(f"::group::{escape_data(title)}")
        else:
            self.print(f"== {title}")
        try:
            yield
        finally:
            if self.on_actions:
                self.print("::endgroup::")

    def redact(self, text: str) -> str:
        """``text`` with every masked value replaced by ``***``."""
        for secret in self._masked:
            text = text.replace(secret, "***")
        return text

    # -- failure -----------------------------------------------------------------------------

    def fail(self, error: ActionError) -> int:
        """Report a user-fixable failure: one ``::error`` line, the fix in the summary."""
        self.annotate(
            Annotation(
                "error",
                error.text(self.refer),
                file=error.file,
                line=error.line,
                col=error.col,
                title=type(error).__name__ if self.on_actions else None,
            )
        )
        where = (
            f" (`{error.file}`{':' + str(error.line) if error.line else ''})" if error.file else ""
        )
        message = end_sentence(error.message_text(self.refer) + where)
        fix = f"\n\n**Fix:** {end_sentence(error.fix_text(self.refer))}" if error.fix else ""
        self.summary(f"### :x: {message}{fix}")
        return int(error.exit_code)

    def die(
        self,
        message: str,
        *,
        fix: str = "",
        exit_code: ExitCode = ExitCode.USAGE,
        file: str | None = None,
        line: int | None = None,
    ) -> NoReturn:
        error = ActionError(message, fix=fix, file=file, line=line)
        error.exit_code = exit_code
        raise SystemExit(self.fail(error))


# -- typed inputs -------------------------------------------------------------------------------

T = TypeVar("T")

TRUE_WORDS = frozenset({"true", "yes", "on", "1"})
FALSE_WORDS = frozenset({"false", "no", "off", "0", ""})


def input_name(field: dataclasses.Field[Any]) -> str:
    return field.name.replace("_", "-")


def input_help(field: dataclasses.Field[Any]) -> str:
    return str(field.metadata.get("help", ""))


def input_metavar(field: dataclasses.Field[Any], hint: Any) -> str:
    """What goes after the flag in help: ``metadata={"metavar": "PATH"}``, else by type."""
    if "metavar" in field.metadata:
        return str(field.metadata["metavar"])
    inner = _without_none(hint)
    if inner is int:
        return "N"
    if inner is float:
        return "NUMBER"
    return "TEXT"


def is_switch(field: dataclasses.Field[Any], hint: Any) -> bool:
    """Whether an input is a yes/no question: ``--x``/``--no-x`` on the command line.

    ``bool`` and ``bool | None`` are; so is a ``Literal`` of "true", "false" and its default
    (label-dispatch ``dry-run: auto``), where leaving both flags out keeps the default.
    """
    inner = _without_none(hint)
    if inner is bool:
        return True
    if get_origin(inner) is Literal:
        values = set(get_args(inner))
        return {"true", "false"} <= values and values <= {"true", "false", field.default}
    return False


def _without_none(hint: Any) -> Any:
    if get_origin(hint) in (typing.Union, types.UnionType):
        inner = [a for a in get_args(hint) if a is not type(None)]
        if len(inner) == 1:
            return inner[0]
    return hint


def input_is_secret(field: dataclasses.Field[Any]) -> bool:
    return bool(field.metadata.get("secret"))


def env_for_input(env: Mapping[str, str], name: str) -> str | None:
    """GitHub names a Docker action's inputs ``INPUT_MIN-DRIVER``; our composites use ``_``."""
    upper = name.upper()
    for key in (f"INPUT_{upper}", f"INPUT_{upper.replace('-', '_')}"):
        if key in env:
            return env[key]
    return None


def read_inputs(spec: type[T], raw: Mapping[str, str | None]) -> T:
    """Build the typed inputs of a command from raw strings keyed by input name.

    Every command reads its inputs here exactly once; the CLI and the action runner produce the
    same ``raw`` mapping, so both get the same validation and the same messages.
    """
    if not dataclasses.is_dataclass(spec):
        raise TypeError(f"{spec!r} is not a dataclass")
    hints = typing.get_type_hints(spec)
    values: dict[str, Any] = {}
    for field in dataclasses.fields(spec):
        name = input_name(field)
        text = raw.get(name)
        # Inputs are strings and an empty one means "not given" (GitHub passes every declared
        # input, set or not), so the dataclass default applies.
        if text is None or not text.strip():
            continue
        values[field.name] = _convert(name, text, hints[field.name])
    try:
        return spec(**values)
    except TypeError as exc:  # a required input is missing
        missing = [
            input_name(f)
            for f in dataclasses.fields(spec)
            if f.name not in values
            and f.default is dataclasses.MISSING
            and f.default_factory is dataclasses.MISSING
        ]
        if missing:
            raise UsageError("is required", fix="give {input} a value.", input=missing[0]) from exc
        raise


def _convert(name: str, text: str, annotation: Any) -> Any:
    # `int | None` reads as int: an empty input never gets here (it keeps the default).
    annotation = _without_none(annotation)
    origin = get_origin(annotation)
    args = get_args(annotation)
    if annotation is bool:
        word = text.strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise UsageError(f"{text!r} is not a boolean", fix="use true or false.", input=name)
    if annotation is int:
        try:
            return int(text.strip())
        except ValueError:
            raise UsageError(
                f"{text!r} is not a whole number", fix="write digits only, e.g. 2.", input=name
            ) from None
    if annotation is float:
        try:
            return float(text.strip())
        except ValueError:
            raise UsageError(
                f"{text!r} is not a number", fix="write a number, e.g. 30.", input=name
            ) from None
    if annotation is Path:
        return Path(text.strip())
    if origin is tuple:
        # Lists come as one item a line, or comma-separated on one line.
        parts = [p.strip() for chunk in text.splitlines() for p in chunk.split(",")]
        return tuple(p for p in parts if p)
    if origin is Literal:
        word = text.strip()
        if word not in args:
            allowed = ", ".join(str(a) for a in args)
            raise UsageError(
                f"{word!r} is not one of {allowed}", fix=f"use one of {allowed}.", input=name
            )
        return word
    return text.strip()


def raw_inputs_from_env(spec: type[Any], env: Mapping[str, str]) -> dict[str, str | None]:
    return {input_name(f): env_for_input(env, input_name(f)) for f in dataclasses.fields(spec)}


def github_context(env: Mapping[str, str]) -> dict[str, str]:
    """The handful of ``GITHUB_*`` facts commands use, read here so nothing else reads env."""
    keys = (
        "GITHUB_REPOSITORY",
        "GITHUB_EVENT_NAME",
        "GITHUB_EVENT_PATH",
        "GITHUB_SHA",
        "GITHUB_REF",
        "GITHUB_BASE_REF",
        "GITHUB_HEAD_REF",
        "GITHUB_WORKSPACE",
        "GITHUB_SERVER_URL",
        "GITHUB_API_URL",
        "GITHUB_RUN_ID",
        "GITHUB_RUN_ATTEMPT",
        "GITHUB_ACTOR",
        "GITHUB_WORKFLOW",
        "RUNNER_NAME",
        "RUNNER_TEMP",
        "GITHUB_TOKEN",
        "MLOPS_ACTIONS_WRITE_INTERVAL",
    )
    return {k: env[k] for k in keys if env.get(k)}


def load_event(path: str | None) -> dict[str, Any]:
    """The webhook payload of the triggering event, or {} without one."""
    if not path:
        return {}
    try:
        data = json.loads(Path(path).read_bytes())  # JSON is UTF-8 (RFC 8259)
    except FileNotFoundError:
        raise UsageError(
            f"event file {path} does not exist",
            fix="run inside a workflow, or point GITHUB_EVENT_PATH at a webhook payload.",
        ) from None
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"event file {path} is not JSON ({exc.msg} at line {exc.lineno})",
            fix="pass the webhook payload as JSON.",
        ) from None
    if not isinstance(data, dict):
        raise UsageError(f"event file {path} holds no JSON object", fix="pass a webhook payload.")
    return data


# A value quoted from a hostile file (a 100,000-digit "version") must not make a 100 KB log line:
# an unbroken run this long is shown by its ends, and the rest of the message (the fix) stays.
_LONG_WORD = re.compile(r"\S{201,}")


def _shorten(match: re.Match[str]) -> str:
    word = match.group(0)
    return f"{word[:60]}…({len(word):,} characters)…{word[-20:]}"
