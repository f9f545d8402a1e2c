"""The `mlops-actions` command line: every action's command, run locally or by an action.

Flags are made from each command's typed inputs, so `--min-driver` on the command line and
`min-driver:` in a workflow are the same input with the same validation. In an action the inputs
arrive as ``INPUT_*`` variables; a flag given on the command line wins over the variable.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import os
import sys
import traceback
import typing
from collections.abc import Mapping, Sequence
from typing import Any

from mlops_actions import __version__
from mlops_actions.command import Command, Context
from mlops_actions.errors import ActionError, ExitCode
from mlops_actions.runner import (
    Runner,
    github_context,
    input_help,
    input_is_secret,
    input_name,
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
"""


# Command name -> the module holding its COMMAND. Only the named command is imported, so
# `version-guard` does not pay for PyGithub's import.
COMMAND_MODULES = {
    "config": "mlops_actions.config.command",
    "env-verify": "mlops_actions.env_verify.command",
    "version-guard": "mlops_actions.version_guard.command",
    "label-dispatch": "mlops_actions.label_dispatch.command",
    "milestone-release": "mlops_actions.milestone_release.command",
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
        )
        child.add_argument(
            "--json",
            action="store_true",
            help="print the report as JSON on stdout (text goes to stderr)",
        )
        child.add_argument("--debug", action="store_true", help="show debug lines and tracebacks")
        hints = typing.get_type_hints(command.inputs)
        for field in dataclasses.fields(command.inputs):
            name = input_name(field)
            dest = _dest(name)
            help_text = input_help(field)
            if name in command.positional:
                # `label-dispatch sync` and `label-dispatch --mode sync` both work.
                child.add_argument(
                    dest, nargs="?", default=None, metavar=name.upper(), help=help_text
                )
                child.add_argument(
                    f"--{name}", dest=dest + _FLAG, default=None, help=argparse.SUPPRESS
                )
            elif hints[field.name] is bool:
                child.add_argument(
                    f"--{name}",
                    dest=dest,
                    default=None,
                    action="store_const",
                    const="true",
                    help=help_text,
                )
                child.add_argument(
                    f"--no-{name}",
                    dest=dest,
                    action="store_const",
                    const="false",
                    help=argparse.SUPPRESS,
                )
            elif typing.get_origin(hints[field.name]) is tuple:
                child.add_argument(
                    f"--{name}",
                    dest=dest,
                    default=None,
                    action="append",
                    help=help_text + " (repeatable)",
                )
            else:
                child.add_argument(f"--{name}", dest=dest, default=None, help=help_text)
    return parser


_FLAG = "_flag"


def _dest(name: str) -> str:
    return "input_" + name.replace("-", "_")


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    environ = dict(os.environ if env is None else env)
    args_list = list(sys.argv[1:] if argv is None else argv)
    # The root Docker action names its command in an input instead of the first argument.
    if not args_list and environ.get("INPUT_COMMAND"):
        args_list = environ["INPUT_COMMAND"].split()
    named = [a for a in args_list[:1] if a in COMMAND_MODULES]
    available = commands(named or None)
    parser = build_parser(available)
    args = parser.parse_args(args_list)
    if not args.command:
        parser.print_help()
        return int(ExitCode.USAGE)
    command = next(c for c in available if c.name == args.command)
    runner = Runner(
        environ, out=sys.stderr if args.json else sys.stdout, debug=True if args.debug else None
    )
    try:
        raw = raw_inputs_from_env(command.inputs, environ)
        for field in dataclasses.fields(command.inputs):
            dest = _dest(input_name(field))
            value = getattr(args, dest, None)
            if value is None:
                value = getattr(args, dest + _FLAG, None)
            if isinstance(value, list):
                value = "\n".join(value)
            if value is not None:
                raw[input_name(field)] = value
            if input_is_secret(field) and raw.get(input_name(field)):
                runner.mask(str(raw[input_name(field)]))
        # A token taken from the environment is as secret as one given as an input.
        runner.mask(environ.get("GITHUB_TOKEN", ""))
        inputs = read_inputs(command.inputs, raw)
        ctx = Context(runner=runner, github=github_context(environ))
        outcome = command.run(inputs, ctx)
    except ActionError as error:
        code = runner.fail(error)
        if args.json:
            print(json.dumps({"ok": False, "error": error.one_line(), "exit_code": code}))
        return code
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a bug: say so in one line unless debugging
        if runner.debug_enabled:
            traceback.print_exc()
        runner.error(
            f"internal error in mlops-actions {__version__}: {type(exc).__name__}: {exc}. "
            "Rerun with --debug (or RUNNER_DEBUG=1) and report the traceback."
        )
        return int(ExitCode.INTERNAL)
    if args.json:
        print(json.dumps(outcome.report, indent=2, sort_keys=True, default=str))
    return int(outcome.exit_code)


if __name__ == "__main__":
    raise SystemExit(main())
