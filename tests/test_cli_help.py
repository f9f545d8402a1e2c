"""What `mlops-actions --help`, a command's --help and --version say, and which commands load."""

from __future__ import annotations

import pytest

from mlops_actions import __version__, cli


def help_of(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as done:
        cli.main(argv, {"PATH": "/usr/bin:/bin"})
    assert done.value.code == 0
    return capsys.readouterr().out


def test_top_level_help(capsys: pytest.CaptureFixture[str]) -> None:
    text = help_of(["--help"], capsys)
    assert text.startswith("usage: mlops-actions [-h] [--version] COMMAND ...")
    assert (
        "Keep PyTorch CI honest: verify environments, guard pins, route by labels, release "
        "milestones. Each command is also a GitHub Action with the same inputs."
    ) in " ".join(text.split())
    assert cli.EXIT_CODES in text  # the epilog, laid out as written
    for name in cli.COMMAND_MODULES:
        assert f"    {name}" in text
    summary = cli.commands(["label-dispatch"])[0].summary
    assert " ".join(summary.split()) in " ".join(text.split())


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert help_of(["--version"], capsys) == f"mlops-actions {__version__}\n"


def test_command_help(capsys: pytest.CaptureFixture[str]) -> None:
    text = help_of(["label-dispatch", "--help"], capsys)
    assert text.startswith("usage: mlops-actions label-dispatch [-h] [--json] [--debug]")
    command = cli.commands(["label-dispatch"])[0]
    assert " ".join(command.summary.split()) in " ".join(text.split())
    assert cli.EXIT_CODES in text
    assert "--json" in text and "print the report as JSON on stdout" in text
    assert "--debug" in text and "show debug lines and tracebacks" in text
    assert "MODE" in text
    assert "(repeatable)" in help_of(["env-verify", "--help"], capsys)


def test_only_the_named_commands_load() -> None:
    assert [c.name for c in cli.commands(["config"])] == ["config"]
    assert [c.name for c in cli.commands()] == list(cli.COMMAND_MODULES)
