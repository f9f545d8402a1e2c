"""One command-line grammar for every command, and messages that name what the user wrote."""

from __future__ import annotations

import argparse
import ast
import dataclasses
import re
import typing
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlops_actions.cli import build_parser, commands, main
from mlops_actions.errors import ActionError, UsageError, with_fix
from mlops_actions.runner import input_name, is_switch

SRC = Path(__file__).resolve().parent.parent / "src" / "mlops_actions"


def _options(name: str) -> dict[str, argparse.Action]:
    parser = build_parser(commands([name]))
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {
        option: action for action in sub.choices[name]._actions for option in action.option_strings
    }


def _fields() -> list[tuple[str, dataclasses.Field[typing.Any], typing.Any]]:
    found = []
    for command in commands():
        hints = typing.get_type_hints(command.inputs)
        for field in dataclasses.fields(command.inputs):
            if input_name(field) not in command.positional:
                found.append((command.name, field, hints[field.name]))
    return found


@pytest.mark.parametrize(
    ("command", "field", "hint"), _fields(), ids=lambda v: getattr(v, "name", str(v))
)
def test_every_input_has_one_grammar(command: str, field: typing.Any, hint: typing.Any) -> None:
    options = _options(command)
    name = input_name(field)
    action = options[f"--{name}"]
    if is_switch(field, hint):
        # A yes/no input is a switch pair and takes no value.
        assert options[f"--no-{name}"] is action
        assert action.nargs == 0
    elif action.choices is None:
        assert not str(action.metavar).startswith("INPUT_")
        inner = [a for a in typing.get_args(hint) if a is not type(None)] or [hint]
        if inner[0] is str or typing.get_origin(inner[0]) is tuple:
            # Text says what goes after the flag: metadata={"metavar": "PATH"} on the field.
            assert field.metadata.get("metavar") == action.metavar, (
                f"{command} --{name}: give the field metadata a metavar (VERSION, PATH, FILE, …)"
            )


@pytest.mark.parametrize(
    ("args", "dest", "value"),
    [
        (["env-verify", "--smoke"], "input_smoke", "true"),
        (["env-verify", "--require-gpu"], "input_require_gpu", "true"),
        (["env-verify", "--no-require-gpu"], "input_require_gpu", "false"),
        (["label-dispatch", "--dry-run"], "input_dry_run", "true"),
        (["label-dispatch", "--no-dry-run"], "input_dry_run", "false"),
        (["label-dispatch"], "input_dry_run", None),
        (["milestone-release", "--dry-run"], "input_dry_run", "true"),
        (["milestone-release", "--no-draft"], "input_draft", "false"),
    ],
)
def test_switches_take_no_value(args: list[str], dest: str, value: str | None) -> None:
    parsed = build_parser(commands([args[0]])).parse_args(args)
    assert getattr(parsed, dest) == value


def test_a_switch_given_a_value_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["env-verify", "--require-gpu", "true"], {"PATH": "/usr/bin:/bin"})
    assert exited.value.code == 2
    assert "unrecognized arguments: true" in capsys.readouterr().err


def test_help_shows_what_goes_after_each_flag(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["version-guard", "--help"], {})
    text = capsys.readouterr().out
    assert "--base-ref REF" in text
    assert "--sarif-file FILE" in text
    assert "[PATH]" in text
    assert "INPUT_" not in text


def test_errors_on_the_command_line_name_flags(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {"PATH": "/usr/bin:/bin", "GITHUB_WORKSPACE": str(tmp_path)}
    code = main(["milestone-release", "--milestone", "1", "--repository", "o/r"], env)
    err = capsys.readouterr().err
    assert code == 2
    assert "`--token`: no GitHub token given. Fix: give `--token`" in err
    code = main(["env-verify", "--timeout", "0"], env)
    assert code == 2
    assert "error: `--timeout`: must be above 0. Fix:" in capsys.readouterr().err


def test_errors_in_an_action_name_inputs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "GITHUB_ACTIONS": "true",
        "GITHUB_WORKSPACE": str(tmp_path),
        "INPUT_MILESTONE": "1",
        "INPUT_REPOSITORY": "o/r",
    }
    assert main(["milestone-release"], env) == 2
    out = capsys.readouterr().out
    assert "::error title=UsageError::input `token`: no GitHub token given." in out
    assert "Fix: give input `token`" in out
    env["INPUT_TIMEOUT"] = "zero"
    assert main(["env-verify"], env) == 2
    assert "input `timeout`: 'zero' is not a number." in capsys.readouterr().out


# -- messages end a sentence before "Fix:" ------------------------------------------------------


@given(
    st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40),
    st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40),
)
def test_with_fix_always_ends_the_message_before_the_fix(message: str, fix: str) -> None:
    text = with_fix(message, fix)
    if fix.strip():
        head, _, tail = text.rpartition(" Fix: ")
        assert head.endswith((".", "!", "?")) or not head
        assert tail.endswith((".", "!", "?"))


def test_the_input_is_named_in_front_and_in_the_fix() -> None:
    error = UsageError("no repository given", fix="give {input} as owner/name", input="repository")
    assert error.one_line() == (
        "input `repository`: no repository given. Fix: give input `repository` as owner/name."
    )
    assert error.one_line(lambda n: f"`--{n}`").startswith("`--repository`: no repository")


def _string_parts(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.JoinedStr):
        return [p for v in node.values for p in _string_parts(v)]
    return []


def test_every_message_with_a_fix_goes_through_one_helper() -> None:
    """No module glues "Fix:" to a message itself; `with_fix` ends the sentence first.

    Markdown (`**Fix:**`) is allowed where the message before it is passed through
    `end_sentence` in the same expression.
    """
    offenders = []
    for path in SRC.rglob("*.py"):
        if path.name == "errors.py":
            continue
        source = path.read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(source)):
            for part in _string_parts(node):
                if " Fix:" in part or part.startswith("Fix:"):
                    offenders.append(f"{path.relative_to(SRC)}:{node.lineno}")  # type: ignore[attr-defined]
                if "**Fix:**" in part and "end_sentence" not in source:
                    offenders.append(f"{path.relative_to(SRC)}:{node.lineno}")  # type: ignore[attr-defined]
    assert offenders == []


def _error_calls() -> list[tuple[str, ast.Call]]:
    names = {cls.__name__ for cls in (ActionError, *ActionError.__subclasses__())}
    calls = []
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in names
            ):
                calls.append((f"{path.relative_to(SRC)}:{node.lineno}", node))
    return calls


def test_no_error_message_names_an_input_itself() -> None:
    """ "input `x`" in a message would be wrong on the command line: pass ``input=`` instead."""
    assert len(_error_calls()) > 40
    offenders = [
        where
        for where, call in _error_calls()
        for arg in [*call.args, *(k.value for k in call.keywords)]
        for part in _string_parts(arg)
        if "input `" in part or "pass --" in part
    ]
    assert offenders == []


def test_shell_messages_end_a_sentence_before_fix() -> None:
    """The bootstrap and the action steps print messages of their own; same shape."""
    root = SRC.parent.parent
    scripts = [*root.glob("actions/*.sh"), *root.glob("*/action.yml"), root / "action.yml"]
    found = [
        (path.name, text[max(0, m.start() - 40) : m.end()])
        for path in scripts
        for text in [path.read_text(encoding="utf-8")]
        for m in re.finditer(r"\S\s+Fix:", text)
    ]
    assert found, "the bootstrap has messages with a fix"
    assert [f for f in found if not re.search(r"[.!?]\s+Fix:$", f[1])] == []
