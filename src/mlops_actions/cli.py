"""The `mlops-actions` command line: every action's command, run locally or by an action.

Flags are made from each command's typed inputs, so `--min-driver` on the command line and
`min-driver:` in a workflow are the same input with the same validation. In an action the inputs
arrive as ``INPUT_*`` variables; a flag given on the command line wins over the variable.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import gc
import importlib
import json
import os
import sys
import traceback
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from mlops_actions import __version__
from mlops_actions.command import Command, Context
from mlops_actions.errors import ActionError, ExitCode, refer_to_flag, refer_to_input
from mlops_actions.runner import (
    Runner,
    github_context,
    input_help,
    input_is_secret,
    input_metavar,
    input_name,
    is_switch,
    raw_inputs_from_env,
    read_inputs,
)

EXIT_CODES = """exit codes:
  0   ok
  1   the check ran and found problems (findings, failed expectations)
  2   usage or config error (bad flag, input or config file)
  3   the GitHub API refused or kept failing (permission, rate limit, network)
  4   something the command needs is missing (Docker engine, git, an interpreter)
  70  internal error: rerun with --debug and report it
  141 the reader of the output went away (a closed pipe, as when head exits early)
"""


# Command name -> the module holding its COMMAND. Only the named command is imported, so
# `version-guard` does not pay for PyGithub's import.
COMMAND_MODULES = {
    "config": "mlops_actions.config.command",
    "env-verify": "mlops_actions.env_verify.command",
    "version-guard": "mlops_actions.version_guard.command",
    "label-dispatch": "mlops_actions.label_dispatch.command",
    "milestone-release": "mlops_actions.milestone_release.command",
    "gpu-monitor": "mlops_actions.gpu_monitor.command",
    "branch-policy": "mlops_actions.branch_policy.command",
}


def commands(names: Sequence[str] | None = None) -> list[Command[Any]]:
    chosen = COMMAND_MODULES if names is None else {n: COMMAND_MODULES[n] for n in names}
    return [importlib.import_module(module).COMMAND for module in chosen.values()]


def build_parser(available: Sequence[Command[Any]]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mlops-actions",
        description="Keep PyTorch CI honest: verify environments, guard pins, route by labels, "
        "release milestones. Each command is also a GitHub Action with the same inputs.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        # A flag is spelled out: an abbreviation that works today breaks when a flag is added.
        allow_abbrev=False,
    )
    parser.add_argument("--version", action="version", version=f"mlops-actions {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in available:
        child = sub.add_parser(
            command.name,
            help=command.summary,
            description=command.summary,
            epilog=EXIT_CODES,
            formatter_class=argparse.RawDescriptionHelpFormatter,
            allow_abbrev=False,
        )
        child.add_argument(
            "--json",
            action="store_true",
            help="print the report as JSON on stdout (text goes to stderr)",
        )
        child.add_argument("--debug", action="store_true", help="show debug lines and tracebacks")
        if command.trailing:
            # Only shown in --help: main() takes everything after `--` before argparse runs.
            child.add_argument(
                "trailing",
                nargs="*",
                metavar=f"-- {command.trailing.upper()}",
                help=f"the {command.trailing} and its arguments, after --",
            )
        hints = typing.get_type_hints(command.inputs)
        for field in dataclasses.fields(command.inputs):
            _add_flag(child, field, hints[field.name], positional=command.positional)
    return parser


_FLAG = "_flag"


def _referrer(flags: set[str], *, on_actions: bool) -> Callable[[str], str]:
    """Messages name what the user wrote: a flag on the command line, an input in a workflow."""

    def refer(name: str) -> str:
        return refer_to_flag(name) if name in flags or not on_actions else refer_to_input(name)

    return refer


def _add_flag(
    parser: argparse.ArgumentParser,
    field: dataclasses.Field[Any],
    hint: Any,
    *,
    positional: Sequence[str],
) -> None:
    """One input as command-line grammar: a switch pair for booleans, else a flag with a value.

    A flag left out parses as None (argparse's default): the INPUT_* variable or the input's own
    default applies then."""
    name = input_name(field)
    dest = _dest(name)
    help_text = input_help(field)
    if name in positional:
        # `label-dispatch sync` and `label-dispatch --mode sync` both work.
        parser.add_argument(dest, nargs="?", metavar=name.upper(), help=help_text)
        parser.add_argument(f"--{name}", dest=dest + _FLAG, help=argparse.SUPPRESS)
        return
    if is_switch(field, hint):
        # Flags are positive statements; --no-x says false, leaving both out keeps the default.
        parser.add_argument(
            f"--{name}",
            f"--no-{name}",
            dest=dest,
            action=_Switch,
            nargs=0,
            help=help_text,
        )
        return
    choices = _choices(hint)
    parser.add_argument(
        f"--{name}",
        dest=dest,
        action="append" if typing.get_origin(hint) is tuple else "store",
        choices=choices,
        metavar=None if choices else input_metavar(field, hint),
        help=help_text + (" (repeatable)" if typing.get_origin(hint) is tuple else ""),
    )


class _Switch(argparse.Action):
    """``--x`` stores "true" and ``--no-x`` "false": the strings an action passes as input."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        negative = bool(option_string and option_string.startswith("--no-"))
        setattr(namespace, self.dest, "false" if negative else "true")

    def format_usage(self) -> str:
        return " | ".join(self.option_strings)


def _choices(hint: Any) -> list[str] | None:
    literal = _literal(hint)
    return [str(a) for a in typing.get_args(literal)] if literal is not None else None


def _literal(hint: Any) -> Any:
    if typing.get_origin(hint) is typing.Literal:
        return hint
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(inner) == 1 and typing.get_origin(inner[0]) is typing.Literal:
            return inner[0]
    return None


def _dest(name: str) -> str:
    return "input_" + name.replace("-", "_")


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    # One command, then exit: the cyclic collector's default (every 700 allocations) rescans
    # a scan's young objects dozens of times, 10-17 ms of a monorepo scan; collect rarely.
    gc.set_threshold(100_000, 50, 100)
    environ = dict(os.environ if env is None else env)
    args_list = list(sys.argv[1:] if argv is None else argv)
    # The root Docker action names its command in an input instead of the first argument.
    if not args_list and environ.get("INPUT_COMMAND"):
        args_list = environ["INPUT_COMMAND"].split()
    named = [a for a in args_list[:1] if a in COMMAND_MODULES]
    available = commands(named or None)
    trailing: list[str] = []
    if named and available[0].trailing and "--" in args_list:
        # Everything after the first `--` belongs to the child command, untouched.
        cut = args_list.index("--")
        args_list, trailing = args_list[:cut], args_list[cut + 1 :]
    parser = build_parser(available)
    args = parser.parse_args(args_list)
    if not args.command:
        parser.print_help()
        return int(ExitCode.USAGE)
    command = next(c for c in available if c.name == args.command)
    if command.trailing and args.trailing:
        parser.error(f"put the {command.trailing} after --: {' '.join(args.trailing)}")
    runner = Runner(
        environ, out=sys.stderr if args.json else sys.stdout, debug=True if args.debug else None
    )
    try:
        raw = raw_inputs_from_env(command.inputs, environ)
        flags: set[str] = set()
        for field in dataclasses.fields(command.inputs):
            dest = _dest(input_name(field))
            value = getattr(args, dest)  # every input has its flag
            if value is None:  # a positional input may also come as its flag
                value = getattr(args, dest + _FLAG, None)
            if isinstance(value, list):
                value = "\n".join(value)
            if value is not None:
                raw[input_name(field)] = value
                flags.add(input_name(field))
            if input_is_secret(field) and raw.get(input_name(field)):
                runner.mask(str(raw[input_name(field)]))
        runner.refer = _referrer(flags, on_actions=runner.on_actions)
        # A token taken from the environment is as secret as one given as an input.
        runner.mask(environ.get("GITHUB_TOKEN") or "")
        inputs = read_inputs(command.inputs, raw)
        ctx = Context(runner=runner, github=github_context(environ), trailing=tuple(trailing))
        outcome = command.run(inputs, ctx)
    except ActionError as error:
        code = runner.fail(error)
        if args.json:
            failed = {"ok": False, "error": error.one_line(runner.refer), "exit_code": code}
            return _print_json(runner, json.dumps(failed)) or code
        return code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return _output_closed()
    except Exception as exc:  # a bug: say so in one line unless debugging
        if runner.debug_enabled:
            traceback.print_exc()
        runner.error(
            f"internal error in mlops-actions {__version__}: {type(exc).__name__}: {exc}. "
            "Rerun with --debug (or RUNNER_DEBUG=1) and report the traceback."
        )
        return int(ExitCode.INTERNAL)
    if args.json:
        report = json.dumps(outcome.report, indent=2, sort_keys=True, default=str)
        return _print_json(runner, report) or int(outcome.exit_code)
    return int(outcome.exit_code)


def _print_json(runner: Runner, text: str) -> int | None:
    """Print the JSON document on stdout through the runner's masks (a secret a command put in
    its report is not printed either); the exit code when stdout's reader went away."""
    try:
        print(runner.redact(text), flush=True)
    except BrokenPipeError:
        return _output_closed()
    return None


def _output_closed() -> int:
    """The reader of stdout went away (``| head``): stop without a traceback, and point stdout
    at /dev/null so the interpreter's last flush does not fail again."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    return int(ExitCode.CLOSED_OUTPUT)


if __name__ == "__main__":
    raise SystemExit(main())
