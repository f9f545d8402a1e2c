"""`mlops-actions` main() end to end: argv and environment in, exit code, stdout and stderr out.

A probe command (registered below next to the real ones) reports the typed inputs and the
context main() built for it, so each decision of the command line shows in what it prints.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import pytest

from mlops_actions import __version__, cli
from mlops_actions.command import Command, Context, Outcome, text_input
from mlops_actions.errors import ExitCode, UsageError

SECRET = "s3cr3t-token-value"


@dataclass(frozen=True)
class ProbeInputs:
    mode: Literal["show", "fail", "bug", "interrupt"] = field(
        default="show", metadata={"help": "What the probe does."}
    )
    count: int = field(default=1, metadata={"help": "A whole number."})
    ratio: float | None = field(default=None, metadata={"help": "A number."})
    names: tuple[str, ...] = field(default=(), metadata={"help": "Names.", "metavar": "NAME"})
    strict: bool = field(default=False, metadata={"help": "A yes/no input."})
    level: Literal["low", "high"] | None = field(default=None, metadata={"help": "A choice."})
    exit_code: int = field(default=0, metadata={"help": "The exit code to end with."})
    token: str = text_input("A secret.", secret=True, metavar="TOKEN")
    note: str = field(default="", metadata={"help": "Free text."})
    # A yes/no question with a third default is a switch pair; with any other third word, not.
    gate: Literal["true", "false", "auto"] = field(default="auto", metadata={"help": "Gate."})
    color: Literal["true", "false", "never"] = field(default="true", metadata={"help": "Color."})
    fast: Literal["true", "false"] = field(default="false", metadata={"help": "Fast."})


def _probe(inputs: ProbeInputs, ctx: Context) -> Outcome:
    runner = ctx.runner
    runner.print(f"probe text token={inputs.token} env-token={ctx.github.get('GITHUB_TOKEN', '')}")
    runner.debug("probe debug line")
    if inputs.mode == "fail":
        raise UsageError("must be even", fix="give {input} an even number.", input="count")
    if inputs.mode == "bug":
        raise KeyError("a bug")
    if inputs.mode == "interrupt":
        raise KeyboardInterrupt
    report = {
        **asdict(inputs),
        "trailing": list(ctx.trailing),
        "github": dict(ctx.github),
        "where": Path("/tmp/x"),
    }
    return Outcome(inputs.exit_code, report)


COMMAND = Command(
    name="probe",
    summary="Reports what it was given.",
    inputs=ProbeInputs,
    run=_probe,
    trailing="program",
)

BASE_ENV = {"PATH": "/usr/bin:/bin"}


@pytest.fixture(autouse=True)
def probe_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(cli.COMMAND_MODULES, "probe", __name__)


def run_json(
    argv: list[str], env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> tuple[int, dict[str, object], str]:
    code = cli.main([*argv[:1], "--json", *argv[1:]], {**BASE_ENV, **env})
    out = capsys.readouterr()
    return code, json.loads(out.out), out.err


# -- inputs: flags, positional arguments, INPUT_* variables --------------------------------------


def test_flags_become_typed_inputs(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["probe", "--count", "3", "--ratio", "0.5", "--names", "a", "--names", "b,c"]
    code, report, _ = run_json([*argv, "--strict", "--level", "high"], {}, capsys)
    assert code == 0
    assert report["count"] == 3
    assert report["ratio"] == 0.5
    assert report["names"] == ["a", "b", "c"]  # a repeated flag is one item a line
    assert report["strict"] is True
    assert report["level"] == "high"
    assert report["mode"] == "show"


def test_the_exit_code_and_report_are_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["probe", "--json", "--exit-code", "1", "--count", "2"], BASE_ENV)
    out = capsys.readouterr().out
    assert code == 1
    expected = {
        "count": 2,
        "color": "true",
        "exit_code": 1,
        "fast": "false",
        "gate": "auto",
        "github": {},
        "level": None,
        "mode": "show",
        "names": [],
        "note": "",
        "ratio": None,
        "strict": False,
        "token": "",
        "trailing": [],
        "where": "/tmp/x",  # what JSON cannot hold is written as text
    }
    assert out == json.dumps(expected, indent=2, sort_keys=True) + "\n"


def test_without_json_the_text_goes_to_stdout_and_nothing_else(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(["probe", "--count", "2"], BASE_ENV) == 0
    out = capsys.readouterr()
    assert out.out == "probe text token= env-token=\n"
    assert out.err == ""


def test_with_json_the_text_goes_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    _, report, err = run_json(["probe"], {}, capsys)
    assert report["count"] == 1
    assert "probe text" in err


def test_input_variables_are_read_and_a_flag_wins_over_them(
    capsys: pytest.CaptureFixture[str],
) -> None:
    env = {"INPUT_COUNT": "7", "INPUT_NAMES": "x\ny", "INPUT_STRICT": "true"}
    _, report, _ = run_json(["probe"], env, capsys)
    assert (report["count"], report["names"], report["strict"]) == (7, ["x", "y"], True)
    _, report, _ = run_json(["probe", "--count", "8", "--no-strict"], env, capsys)
    assert (report["count"], report["names"], report["strict"]) == (8, ["x", "y"], False)


def test_a_switch_left_out_keeps_the_input_variable(capsys: pytest.CaptureFixture[str]) -> None:
    _, report, _ = run_json(["probe"], {"INPUT_STRICT": "yes"}, capsys)
    assert report["strict"] is True
    _, report, _ = run_json(["probe", "--strict"], {"INPUT_STRICT": "no"}, capsys)
    assert report["strict"] is True


def test_a_positional_input_is_also_a_flag(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["config", "schema", "--json"], BASE_ENV) == 0
    by_position = capsys.readouterr().out
    assert json.loads(by_position)["type"] == "object"
    assert cli.main(["config", "--mode", "schema", "--json"], BASE_ENV) == 0
    assert capsys.readouterr().out == by_position
    with pytest.raises(SystemExit):
        cli.main(["config", "--help"], BASE_ENV)
    text = " ".join(capsys.readouterr().out.split())
    assert "[MODE]" in text
    assert "MODE check, or schema to print the JSON Schema." in text
    assert "--mode" not in text  # the flag spelling works but is not shown


def test_the_root_action_names_its_command_in_an_input(capsys: pytest.CaptureFixture[str]) -> None:
    env = {**BASE_ENV, "INPUT_COMMAND": "probe --json --count 4"}
    assert cli.main([], env) == 0
    assert json.loads(capsys.readouterr().out)["count"] == 4
    # Arguments given win: the input is only read when there are none.
    assert cli.main(["probe", "--json", "--count", "5"], env) == 0
    assert json.loads(capsys.readouterr().out)["count"] == 5


def test_arguments_default_to_the_process_argv(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "argv", ["mlops-actions", "probe", "--json", "--count", "6"])
    assert cli.main(None, BASE_ENV) == 0
    assert json.loads(capsys.readouterr().out)["count"] == 6


def test_the_environment_defaults_to_the_process_environment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("INPUT_COUNT", "9")
    assert cli.main(["probe", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["count"] == 9
    # An environment given replaces the process's: its INPUT_COUNT is not read.
    assert cli.main(["probe", "--json"], BASE_ENV) == 0
    assert json.loads(capsys.readouterr().out)["count"] == 1


# -- arguments after `--` --------------------------------------------------------------------------


def test_everything_after_the_double_dash_is_the_programs(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, report, _ = run_json(
        ["probe", "--count", "2", "--", "train", "--count", "9", "--"], {}, capsys
    )
    assert code == 0
    assert report["count"] == 2
    assert report["trailing"] == ["train", "--count", "9", "--"]


def test_the_program_without_the_double_dash_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["probe", "train", "fast"], BASE_ENV)
    assert exited.value.code == 2
    assert "error: put the program after --: train fast" in capsys.readouterr().err


# -- the grammar ----------------------------------------------------------------------------------


def test_no_command_prints_the_help_and_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main([], BASE_ENV) == ExitCode.USAGE
    out = capsys.readouterr().out
    assert out.startswith("usage: mlops-actions [-h] [--version] COMMAND ...")
    assert "probe" in out and "config" in out  # every command is listed


@pytest.mark.parametrize("argv", [["probe", "--cou", "3"], ["--vers"], ["probe", "--stri"]])
def test_flags_are_never_abbreviated(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(argv, BASE_ENV)
    assert exited.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_a_choice_outside_the_literal_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["probe", "--level", "medium"], BASE_ENV)
    assert exited.value.code == 2
    assert "argument --level: invalid choice: 'medium' (choose from" in capsys.readouterr().err


def test_the_command_help_shows_each_inputs_grammar(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["probe", "--help"], BASE_ENV)
    assert exited.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert text.startswith(
        "usage: mlops-actions probe [-h] [--json] [--debug] [--mode {show,fail,bug,interrupt}] [--count N] [--ratio NUMBER] "
        "[--names NAME] [--strict | --no-strict] [--level {low,high}] [--exit-code N] "
        "[--token TOKEN] [--note TEXT] [--gate | --no-gate] [--color {true,false,never}] [--fast | --no-fast] "
        "[-- PROGRAM ...]"
    )
    assert "Reports what it was given." in text
    assert (
        "--json print the report as JSON on stdout (text goes to stderr) "
        "--debug show debug lines and tracebacks"
    ) in text
    assert "--names NAME Names. (repeatable)" in text
    assert "--strict, --no-strict A yes/no input." in text
    assert "--count N A whole number. --ratio NUMBER A number. --names" in text
    assert "-- PROGRAM the program and its arguments, after --" in text
    assert " ".join(cli.EXIT_CODES.split()) in text


def test_the_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["--version"], BASE_ENV)
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"mlops-actions {__version__}\n"


# -- failures ---------------------------------------------------------------------------------------


def test_a_usage_error_names_the_flag_on_the_command_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(["probe", "--mode", "fail", "--count", "3"], BASE_ENV) == 2
    assert capsys.readouterr().err == (
        "error: `--count`: must be even. Fix: give `--count` an even number.\n"
    )
    # Off a runner an input variable is named as the flag too: that is what a user types.
    assert cli.main(["probe", "--mode", "fail"], {**BASE_ENV, "INPUT_COUNT": "3"}) == 2
    assert "error: `--count`: must be even." in capsys.readouterr().err


def test_in_an_action_an_error_names_the_input_unless_it_came_as_a_flag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    summary = tmp_path / "summary"
    env = {**BASE_ENV, "GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    assert cli.main(["probe", "--mode", "fail"], {**env, "INPUT_COUNT": "3"}) == 2
    out = capsys.readouterr().out
    assert "::error title=UsageError::input `count`: must be even." in out
    assert summary.read_text(encoding="utf-8") == (
        "### :x: input `count`: must be even.\n\n**Fix:** give input `count` an even number.\n\n"
    )
    assert cli.main(["probe", "--mode", "fail", "--count", "3"], env) == 2
    assert "::error title=UsageError::`--count`: must be even." in capsys.readouterr().out


def test_a_usage_error_with_json_is_a_json_line_on_stdout(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(["probe", "--mode", "fail", "--json", "--count", "3"], BASE_ENV) == 2
    out = capsys.readouterr()
    assert json.loads(out.out) == {
        "ok": False,
        "error": "`--count`: must be even. Fix: give `--count` an even number.",
        "exit_code": 2,
    }
    assert "must be even" in out.err


def test_a_bad_input_value_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["probe", "--count", "three"], BASE_ENV) == 2
    assert capsys.readouterr().err == (
        "error: `--count`: 'three' is not a whole number. Fix: write digits only, e.g. 2.\n"
    )


def test_an_interrupt_exits_130(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["probe", "--mode", "interrupt"], BASE_ENV) == 130


def test_an_internal_error_is_one_line_and_its_traceback_needs_debug(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(["probe", "--mode", "bug"], BASE_ENV) == ExitCode.INTERNAL
    err = capsys.readouterr().err
    assert err == (
        f"error: internal error in mlops-actions {__version__}: KeyError: 'a bug'. Rerun with "
        "--debug (or RUNNER_DEBUG=1) and report the traceback.\n"
    )
    assert cli.main(["probe", "--mode", "bug", "--debug"], BASE_ENV) == ExitCode.INTERNAL
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err
    assert "debug: probe debug line" in err


def test_debug_lines_show_with_the_flag_or_runner_debug(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(["probe"], BASE_ENV) == 0
    assert "probe debug line" not in capsys.readouterr().err
    assert cli.main(["probe", "--debug"], BASE_ENV) == 0
    assert "debug: probe debug line" in capsys.readouterr().err
    assert cli.main(["probe"], {**BASE_ENV, "RUNNER_DEBUG": "1"}) == 0
    assert "debug: probe debug line" in capsys.readouterr().err


# -- secrets ----------------------------------------------------------------------------------------


def test_a_secret_input_is_masked_whether_flag_or_variable(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(["probe", "--token", SECRET], BASE_ENV) == 0
    assert capsys.readouterr().out == "probe text token=*** env-token=\n"
    assert cli.main(["probe"], {**BASE_ENV, "INPUT_TOKEN": SECRET}) == 0
    assert capsys.readouterr().out == "probe text token=*** env-token=\n"


def test_the_token_in_the_environment_is_masked(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["probe"], {**BASE_ENV, "GITHUB_TOKEN": SECRET}) == 0
    assert capsys.readouterr().out == "probe text token= env-token=***\n"


def test_a_secret_in_the_json_report_is_printed_masked(capsys: pytest.CaptureFixture[str]) -> None:
    code, report, err = run_json(["probe", "--token", SECRET], {"GITHUB_TOKEN": "ghs_env"}, capsys)
    assert code == 0
    assert report["token"] == "***" and report["github"] == {"GITHUB_TOKEN": "***"}
    assert SECRET not in err and "ghs_env" not in err


def test_a_closed_output_stops_the_command_without_a_traceback(tmp_path: Path) -> None:
    """`mlops-actions … | head`: the reader goes away before the command writes; the command
    stops with 141, as a process killed by SIGPIPE would, and says nothing on stderr."""
    for argv in (["version-guard", str(tmp_path)], ["version-guard", str(tmp_path), "--json"]):
        with subprocess.Popen(
            [sys.executable, "-m", "mlops_actions", *argv],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**BASE_ENV, "PYTHONPATH": str(Path(cli.__file__).parents[1])},
        ) as proc:
            assert proc.stdout is not None
            proc.stdout.close()
            _, err_bytes = proc.communicate(timeout=60)
        err = err_bytes.decode()
        assert proc.returncode == ExitCode.CLOSED_OUTPUT == 141, err
        assert "Traceback" not in err and "Exception ignored" not in err, err


@pytest.mark.parametrize("json_flag", [[], ["--json"]])
def test_a_closed_stdout_returns_141_and_is_pointed_at_dev_null(
    monkeypatch: pytest.MonkeyPatch, json_flag: list[str]
) -> None:
    """In this process: stdout is a pipe whose reader is gone. The text line (or the JSON
    report) fails as it is written, main() returns 141, and stdout then writes to /dev/null,
    so the interpreter's last flush cannot fail again."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    stdout = os.fdopen(write_end, "w")
    monkeypatch.setattr(sys, "stdout", stdout)
    try:
        assert cli.main(["probe", *json_flag], BASE_ENV) == ExitCode.CLOSED_OUTPUT
        stdout.write("after\n")
        stdout.flush()  # /dev/null now: no BrokenPipeError
    finally:
        stdout.close()


def test_on_a_runner_the_secrets_are_masked_for_the_runner_too(
    capsys: pytest.CaptureFixture[str],
) -> None:
    env = {**BASE_ENV, "GITHUB_ACTIONS": "true", "GITHUB_TOKEN": "ghs_from_the_environment"}
    assert cli.main(["probe", "--token", SECRET], env) == 0
    out = capsys.readouterr().out
    assert out.splitlines() == [
        f"::add-mask::{SECRET}",
        "::add-mask::ghs_from_the_environment",
        "probe text token=*** env-token=***",
        "::debug::probe debug line",  # the runner shows it when the run is debugged
    ]


# -- the workflow's facts --------------------------------------------------------------------------

GITHUB_FACTS = (
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


def test_the_command_sees_the_workflow_facts_and_nothing_else(
    capsys: pytest.CaptureFixture[str],
) -> None:
    facts = {name: f"value of {name.lower()}" for name in GITHUB_FACTS}
    # The token reaches the command; the printed report shows it masked.
    shown = {**facts, "GITHUB_TOKEN": "***"}
    _, report, _ = run_json(["probe"], {**facts, "GITHUB_JOB": "build", "HOME": "/root"}, capsys)
    assert report["github"] == shown
    _, report, _ = run_json(["probe"], {**facts, "GITHUB_BASE_REF": ""}, capsys)
    assert report["github"] == {k: v for k, v in shown.items() if k != "GITHUB_BASE_REF"}


def test_the_help_lists_the_exit_codes_the_readme_documents(
    capsys: pytest.CaptureFixture[str],
) -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    documented = {
        int(code): meaning.replace("`", "")
        for code, meaning in re.findall(r"^\| (\d+) \| (.+) \|$", readme, re.M)
    }
    assert sorted(documented) == sorted(int(code) for code in ExitCode)
    for argv in (["--help"], ["probe", "--help"]):
        with pytest.raises(SystemExit):
            cli.main(argv, BASE_ENV)
        epilog = capsys.readouterr().out.split("exit codes:\n", 1)[1]
        shown = {
            int(code): meaning for code, meaning in re.findall(r"^  (\d+) +(.+)$", epilog, re.M)
        }
        assert shown == documented


def test_on_a_runner_without_a_token_nothing_is_masked(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["probe", "--count", "2"], {**BASE_ENV, "GITHUB_ACTIONS": "true"}) == 0
    assert capsys.readouterr().out.splitlines() == [
        "probe text token= env-token=",
        "::debug::probe debug line",
    ]


def test_a_three_way_switch_keeps_its_default_until_given(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, report, _ = run_json(["probe"], {}, capsys)
    assert report["gate"] == "auto"
    _, report, _ = run_json(["probe", "--no-gate", "--color", "never"], {}, capsys)
    assert (report["gate"], report["color"]) == ("false", "never")


@pytest.mark.parametrize("key", ["INPUT_EXIT-CODE", "INPUT_EXIT_CODE"])
def test_an_input_variable_in_either_spelling_is_read(
    key: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # A Docker action gets INPUT_EXIT-CODE; a composite step passes INPUT_EXIT_CODE.
    code, report, _ = run_json(["probe"], {key: "3"}, capsys)
    assert (code, report["exit_code"]) == (3, 3)


def test_an_unknown_command_is_refused_listing_every_command(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["lint", "config"], BASE_ENV)  # a word after it changes nothing
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "argument COMMAND: invalid choice: 'lint'" in err
    for name in cli.COMMAND_MODULES:
        assert f"'{name}'" in err


def test_a_flag_given_twice_takes_the_last_value_unless_it_is_a_list(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, report, _ = run_json(["probe", "--count", "3", "--count", "4"], {}, capsys)
    assert report["count"] == 4
    _, report, _ = run_json(["probe", "--names", "a", "--names", "a"], {}, capsys)
    assert report["names"] == ["a", "a"]
