"""Runner I/O against a fake runner: files in tmp_path, environment given explicitly."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Literal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlops_actions.errors import ConfigError, ExitCode, UsageError
from mlops_actions.runner import (
    SUMMARY_LIMIT,
    Annotation,
    Runner,
    escape_data,
    fit_sections,
    format_annotation,
    input_help,
    load_event,
    read_inputs,
)


def parse_outputs(text: str) -> dict[str, str]:
    """Read GITHUB_OUTPUT back the way the runner does (heredoc blocks and name=value)."""
    values: dict[str, str] = {}
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            body: list[str] = []
            i += 1
            while lines[i] != delimiter:
                body.append(lines[i])
                i += 1
            values[name] = "\n".join(body)
        elif "=" in line:
            name, value = line.split("=", 1)
            values[name] = value
        i += 1
    return values


def unescape(value: str) -> str:
    return (
        value.replace("%0D", "\r")
        .replace("%0A", "\n")
        .replace("%3A", ":")
        .replace("%2C", ",")
        .replace("%25", "%")
    )


@pytest.fixture
def actions_env(tmp_path: Path) -> dict[str, str]:
    out = tmp_path / "output"
    summary = tmp_path / "summary"
    out.write_text("")
    summary.write_text("")
    return {
        "GITHUB_ACTIONS": "true",
        "GITHUB_OUTPUT": str(out),
        "GITHUB_STEP_SUMMARY": str(summary),
    }


@pytest.mark.parametrize(
    "value",
    [
        "plain",
        "two\nlines",
        "ends with newline\n",
        "ghadelimiter_0123456789abcdef0123456789abcdef",
        "EOF\nEOF",
        "name<<EOF",
        "",
        "unicode: torch ✓ 2.4.1+cu121",
    ],
)
def test_outputs_round_trip(actions_env: dict[str, str], value: str) -> None:
    runner = Runner(actions_env, out=io.StringIO())
    runner.set_output("value", value)
    runner.set_output("after", "still-there")
    written = Path(actions_env["GITHUB_OUTPUT"]).read_text()
    assert parse_outputs(written) == {"value": value, "after": "still-there"}


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r")))
def test_any_output_value_round_trips(value: str) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "out"
        path.write_text("")
        runner = Runner({"GITHUB_OUTPUT": str(path)}, out=io.StringIO())
        runner.set_output("x", value)
        assert parse_outputs(path.read_text(encoding="utf-8"))["x"] == value


def test_structured_outputs_are_json_and_booleans_lowercase(actions_env: dict[str, str]) -> None:
    runner = Runner(actions_env, out=io.StringIO())
    runner.set_outputs({"ok": False, "count": 3, "plan": {"runs-on": ["self-hosted", "gpu"]}})
    outputs = parse_outputs(Path(actions_env["GITHUB_OUTPUT"]).read_text())
    assert outputs == {"ok": "false", "count": "3", "plan": '{"runs-on":["self-hosted","gpu"]}'}


def test_annotation_escapes_properties_and_message() -> None:
    line = format_annotation(
        Annotation(
            "error",
            "100% wrong\nsecond line",
            file="dir,with:odd/Dockerfile",
            line=3,
            col=7,
            title="torch: pin, mismatch",
        )
    )
    match = re.fullmatch(r"::error (.*)::(.*)", line)
    assert match, line
    props = dict(p.split("=", 1) for p in match.group(1).split(","))
    assert unescape(props["file"]) == "dir,with:odd/Dockerfile"
    assert unescape(props["title"]) == "torch: pin, mismatch"
    assert props["line"] == "3" and props["col"] == "7"
    assert "\n" not in line
    assert unescape(match.group(2)) == "100% wrong\nsecond line"


@given(st.text(), st.text())
def test_escaping_never_leaves_separators(message: str, title: str) -> None:
    line = format_annotation(Annotation("warning", message, file="f", title=title))
    head, _, body = line.partition("::")[2].partition("::")
    assert "\n" not in line and "\r" not in line
    assert unescape(body) == message
    # Only the separator between file= and title= (no title property when it is empty).
    assert head.count(",") == (1 if title else 0)


def test_local_annotation_is_readable_text() -> None:
    err = io.StringIO()
    runner = Runner({}, out=io.StringIO(), err=err)
    runner.error("torch differs", file="Dockerfile", line=4, col=6)
    assert err.getvalue() == "Dockerfile:4:6: error: torch differs\n"


def test_summary_is_appended(actions_env: dict[str, str]) -> None:
    runner = Runner(actions_env, out=io.StringIO())
    runner.summary("# one")
    runner.summary("| a | b |\n|---|---|")
    assert (
        Path(actions_env["GITHUB_STEP_SUMMARY"]).read_text() == "# one\n\n| a | b |\n|---|---|\n\n"
    )


def test_mask_hides_secret_in_our_lines(actions_env: dict[str, str]) -> None:
    out = io.StringIO()
    runner = Runner(actions_env, out=out)
    runner.mask("ghp_secret123")
    runner.print("token is ghp_secret123")
    runner.error("failed with ghp_secret123")
    lines = out.getvalue().splitlines()
    assert lines[0] == "::add-mask::ghp_secret123"
    assert all("ghp_secret123" not in line for line in lines[1:])
    assert "***" in lines[1]


def test_mask_is_announced_once(actions_env: dict[str, str]) -> None:
    out = io.StringIO()
    runner = Runner(actions_env, out=out)
    runner.mask("ghs_token")
    runner.mask("ghs_token")
    assert out.getvalue().splitlines() == ["::add-mask::ghs_token"]


def test_fail_writes_one_error_line_and_fix_to_summary(actions_env: dict[str, str]) -> None:
    out = io.StringIO()
    runner = Runner(actions_env, out=out)
    code = runner.fail(
        ConfigError("`environment.torch`: bad", fix="quote it.", file=".github/mlops.yml", line=2)
    )
    assert code == ExitCode.USAGE
    lines = out.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].startswith("::error file=.github/mlops.yml,line=2,")
    assert "Fix: quote it." in lines[0]
    summary = Path(actions_env["GITHUB_STEP_SUMMARY"]).read_text()
    assert "**Fix:** quote it." in summary


@dataclass(frozen=True)
class Sample:
    torch: str = ""
    min_driver: str = field(default="", metadata={"help": "floor"})
    require_gpu: bool = False
    gpu_count: int | None = None
    labels: tuple[str, ...] = ()
    mode: Literal["sync", "validate"] = "sync"
    token: str = field(default="", metadata={"secret": True})
    timeout: float | None = None
    root: Path = Path(".")


def test_read_inputs_types() -> None:
    inputs = read_inputs(
        Sample,
        {
            "torch": " 2.4.1 ",
            "min-driver": "535",
            "require-gpu": "TRUE",
            "gpu-count": "2",
            "labels": "a, b\nc\n",
            "mode": "validate",
            "timeout": " 2.5 ",
            "root": " sub/dir ",
        },
    )
    assert inputs == Sample(
        torch="2.4.1",
        min_driver="535",
        require_gpu=True,
        gpu_count=2,
        labels=("a", "b", "c"),
        mode="validate",
        timeout=2.5,
        root=Path("sub/dir"),
    )
    assert read_inputs(Sample, {"gpu-count": ""}).gpu_count is None


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            {"require-gpu": "maybe"},
            "input `require-gpu`: 'maybe' is not a boolean. Fix: use true or false.",
        ),
        (
            {"gpu-count": "two"},
            "input `gpu-count`: 'two' is not a whole number. Fix: write digits only, e.g. 2.",
        ),
        (
            {"mode": "delete"},
            "input `mode`: 'delete' is not one of sync, validate. Fix: use one of sync, validate.",
        ),
        (
            {"timeout": "soon"},
            "input `timeout`: 'soon' is not a number. Fix: write a number, e.g. 30.",
        ),
    ],
)
def test_bad_inputs_are_one_line_errors(raw: dict[str, str], message: str) -> None:
    with pytest.raises(UsageError) as caught:
        read_inputs(Sample, raw)
    assert caught.value.one_line() == message
    assert "\n" not in caught.value.one_line()


def test_escape_data_keeps_percent_reversible() -> None:
    assert escape_data("50%0A") == "50%250A"


# -- the step summary stays under GitHub's 1 MiB ------------------------------------------------


def _sections(count: int, size: int) -> str:
    return "".join(f"### Section {i}\n\n" + ("x" * 99 + "\n") * (size // 100) for i in range(count))


def test_summary_keeps_whole_sections_under_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "summary.md"
    path.write_text("# Written earlier in this step\n\n", encoding="utf-8")
    runner = Runner({"GITHUB_STEP_SUMMARY": str(path)})
    runner.report_pointer = "`/tmp/report.json`"
    big = _sections(30, 100_000)  # ~3 MB in 30 sections
    runner.summary(big)
    runner.summary("### Written after the cut\n")
    text = path.read_text(encoding="utf-8")
    assert len(text.encode("utf-8")) < SUMMARY_LIMIT
    assert text.startswith("# Written earlier in this step\n\n### Section 0\n")
    body, _, cut = text.rpartition("\n_The rest of this summary is left out")
    assert "`/tmp/report.json`" in cut and "Written after the cut" not in text
    kept = body.split("### Section ")[1:]
    assert 8 <= len(kept) < 30
    # Every kept section is whole: exactly as it was given.
    for section in kept:
        assert "### Section " + section in big


def test_summary_under_the_limit_is_written_as_given(tmp_path: Path) -> None:
    path = tmp_path / "summary.md"
    runner = Runner({"GITHUB_STEP_SUMMARY": str(path)})
    runner.summary(_sections(3, 1000))
    assert path.read_text(encoding="utf-8") == _sections(3, 1000).rstrip("\n") + "\n\n"


@given(st.lists(st.integers(min_value=0, max_value=400), max_size=12), st.integers(0, 3000))
def test_fit_sections_keeps_a_prefix_of_whole_sections(sizes: list[int], room: int) -> None:
    text = "".join(f"## s{i}\n" + "y" * n + "\n" for i, n in enumerate(sizes))
    kept, whole = fit_sections(text, room)
    assert text.startswith(kept)
    assert len(kept.encode("utf-8")) <= room or (whole and len(text.encode("utf-8")) <= room)
    assert whole == (kept == text)
    assert kept == "" or kept == text or text[len(kept) :].startswith("## s")


# -- what each call writes, on a runner and in a terminal ---------------------------------------


def test_an_annotation_carries_every_position_in_the_runners_order() -> None:
    line = format_annotation(
        Annotation("warning", "m", file="a.py", line=3, col=5, end_line=4, end_col=9, title="t")
    )
    assert line == "::warning file=a.py,line=3,endLine=4,col=5,endColumn=9,title=t::m"
    odd = Annotation("error", "a: b, c", file="dir:x,y.py", title="VG001: pin, range")
    assert format_annotation(odd) == (
        "::error file=dir%3Ax%2Cy.py,title=VG001%3A pin%2C range::a: b, c"
    )
    assert format_annotation(Annotation("notice", "only a message")) == "::notice::only a message"


@pytest.mark.parametrize(
    ("where", "shown"),
    [
        ({"file": "a.py", "line": 3, "col": 5, "title": "VG001"}, "a.py:3:5: warning: [VG001] m\n"),
        ({"file": "a.py", "line": 3}, "a.py:3: warning: m\n"),
        ({"file": "a.py", "col": 5}, "a.py: warning: m\n"),  # a column needs its line
        ({"line": 3}, "warning: m\n"),  # a line needs its file
        ({}, "warning: m\n"),
    ],
)
def test_a_local_annotation_says_where_as_a_compiler_would(
    where: dict[str, object], shown: str
) -> None:
    out, err = io.StringIO(), io.StringIO()
    runner = Runner({}, out=out, err=err)
    runner.warning("m", **where)
    assert err.getvalue() == shown
    assert out.getvalue() == ""
    assert runner.annotations == [Annotation("warning", "m", **where)]  # type: ignore[arg-type]


def test_each_level_has_its_call(actions_env: dict[str, str]) -> None:
    out = io.StringIO()
    runner = Runner(actions_env, out=out)
    runner.error("e", file="a", line=1)
    runner.warning("w", file="b", line=2)
    runner.notice("n", file="c", line=3)
    runner.print()
    assert out.getvalue() == (
        "::error file=a,line=1::e\n::warning file=b,line=2::w\n::notice file=c,line=3::n\n\n"
    )


def test_a_long_unbroken_word_is_shown_by_its_ends(actions_env: dict[str, str]) -> None:
    out = io.StringIO()
    runner = Runner(actions_env, out=out)
    word = "1" * 60 + "2" * 500 + "3" * 20
    runner.error(f"version {word} is too long. Fix: shorten it.")
    assert out.getvalue() == (
        f"::error::version {'1' * 60}…(580 characters)…{'3' * 20} is too long. Fix: shorten it.\n"
    )
    out.truncate(0)
    out.seek(0)
    runner.error("x" * 200)  # 200 characters is still shown whole
    assert out.getvalue() == "::error::" + "x" * 200 + "\n"


def test_the_default_streams_are_the_processes(capsys: pytest.CaptureFixture[str]) -> None:
    runner = Runner({})
    runner.print("to stdout")
    runner.error("to stderr")
    out = capsys.readouterr()
    assert (out.out, out.err) == ("to stdout\n", "error: to stderr\n")


def test_the_environment_defaults_to_the_processes(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("GITHUB_OUTPUT", str(tmp_path / "out"))
    Runner(out=io.StringIO()).set_output("ok", True)
    assert parse_outputs((tmp_path / "out").read_text()) == {"ok": "true"}


@pytest.mark.parametrize(
    ("env", "debug", "enabled"),
    [
        ({}, None, False),
        ({"RUNNER_DEBUG": "1"}, None, True),
        ({"RUNNER_DEBUG": "0"}, None, False),
        ({"MLOPS_ACTIONS_DEBUG": "TRUE"}, None, True),
        ({"MLOPS_ACTIONS_DEBUG": "1"}, None, True),
        ({"MLOPS_ACTIONS_DEBUG": "yes"}, None, False),
        ({"RUNNER_DEBUG": "1"}, False, False),  # a caller's choice wins
        ({}, True, True),
    ],
)
def test_debug_lines_show_when_debugging(
    env: dict[str, str], debug: bool | None, enabled: bool
) -> None:
    err = io.StringIO()
    runner = Runner(env, out=io.StringIO(), err=err, debug=debug)
    runner.mask("hunter2")
    runner.debug("token hunter2 used")
    assert err.getvalue() == ("debug: token *** used\n" if enabled else "")


def test_on_a_runner_debug_lines_go_to_the_runner_escaped(actions_env: dict[str, str]) -> None:
    out = io.StringIO()
    Runner(actions_env, out=out).debug("two\nlines 100%")
    assert out.getvalue() == "::debug::two%0Alines 100%25\n"


def test_without_a_runner_file_an_output_is_printed_only_when_debugging(
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = io.StringIO()
    quiet = Runner({}, out=out)
    quiet.set_output("count", 3)
    assert out.getvalue() == ""
    assert quiet.outputs == {"count": "3"}
    loud = Runner({}, out=out, err=io.StringIO(), debug=True)
    loud.set_output("plan", {"a": [1, None]})
    assert out.getvalue() == 'output plan={"a":[1,null]}\n'


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        (1.5, "1.5"),
        (True, "true"),
        ([1, "a"], '[1,"a"]'),
        ({"b": 1, "a": {"d": 2, "c": 3}}, '{"a":{"c":3,"d":2},"b":1}'),  # the same text each run
    ],
)
def test_output_values_are_rendered_as_workflows_read_them(
    actions_env: dict[str, str], value: object, text: str
) -> None:
    runner = Runner(actions_env, out=io.StringIO())
    runner.set_output("v", value)
    assert parse_outputs(Path(actions_env["GITHUB_OUTPUT"]).read_text()) == {"v": text}


@pytest.mark.parametrize("name", ["", "a=b", "a<b", "two\nlines", "cr\r"])
def test_an_output_name_that_would_break_the_file_is_refused(
    actions_env: dict[str, str], name: str
) -> None:
    runner = Runner(actions_env, out=io.StringIO())
    with pytest.raises(ValueError, match="invalid output name"):
        runner.set_output(name, "x")
    assert Path(actions_env["GITHUB_OUTPUT"]).read_text() == ""


def test_an_output_file_gets_one_block_per_value_with_unix_newlines(
    actions_env: dict[str, str],
) -> None:
    runner = Runner(actions_env, out=io.StringIO())
    runner.set_output("XLA_version", "x")  # any name without a separator: capitals, _ and -
    raw = Path(actions_env["GITHUB_OUTPUT"]).read_bytes().decode()
    match = re.fullmatch(r"XLA_version<<(ghadelimiter_[0-9a-f]{32})\nx\n\1\n", raw)
    assert match, raw


def test_a_group_folds_the_log_on_a_runner(actions_env: dict[str, str]) -> None:
    out = io.StringIO()
    runner = Runner(actions_env, out=out)
    with pytest.raises(KeyError), runner.group("Probe\nfirst"):
        runner.print("inside")
        raise KeyError("the group still ends")
    assert out.getvalue() == "::group::Probe%0Afirst\ninside\n::endgroup::\n"


def test_a_group_is_a_heading_in_a_terminal() -> None:
    out = io.StringIO()
    with Runner({}, out=out).group("Probe"):
        pass
    assert out.getvalue() == "== Probe\n"


def test_a_mask_is_announced_on_a_runner_only_and_empty_is_not_a_secret(
    actions_env: dict[str, str],
) -> None:
    out = io.StringIO()
    runner = Runner(actions_env, out=out)
    runner.mask("")
    runner.mask("50%\nsecret")
    runner.print("value 50%\nsecret")
    assert out.getvalue() == "::add-mask::50%25%0Asecret\nvalue ***\n"
    local = io.StringIO()
    terminal = Runner({}, out=local)
    terminal.mask("s3cret")
    terminal.print("s3cret and s3cret")
    assert local.getvalue() == "*** and ***\n"


def test_a_failure_is_one_error_line_and_a_summary_with_where_and_fix(
    actions_env: dict[str, str],
) -> None:
    out = io.StringIO()
    runner = Runner(actions_env, out=out)
    error = UsageError("not a version", fix="use X.Y.Z", file="pyproject.toml", line=7, col=3)
    assert runner.fail(error) == ExitCode.USAGE
    assert out.getvalue() == (
        "::error file=pyproject.toml,line=7,col=3,title=UsageError::not a version. "
        "Fix: use X.Y.Z.\n"
    )
    assert Path(actions_env["GITHUB_STEP_SUMMARY"]).read_text() == (
        "### :x: not a version (`pyproject.toml`:7).\n\n**Fix:** use X.Y.Z.\n\n"
    )


def test_a_failure_without_a_fix_or_line_says_what_it_has(actions_env: dict[str, str]) -> None:
    runner = Runner(actions_env, out=io.StringIO())
    runner.fail(ConfigError("no sections", file=".github/mlops.yml"))
    runner.fail(ConfigError("broken"))
    assert Path(actions_env["GITHUB_STEP_SUMMARY"]).read_text() == (
        "### :x: no sections (`.github/mlops.yml`).\n\n### :x: broken.\n\n"
    )


def test_a_failure_in_a_terminal_has_no_title_and_names_the_flag() -> None:
    err = io.StringIO()
    runner = Runner({}, out=io.StringIO(), err=err)
    runner.refer = lambda name: f"`--{name}`"
    runner.fail(UsageError("is required", fix="give {input} a value.", input="token"))
    assert err.getvalue() == "error: `--token`: is required. Fix: give `--token` a value.\n"


def test_die_fails_and_exits_with_the_code(actions_env: dict[str, str]) -> None:
    out = io.StringIO()
    runner = Runner(actions_env, out=out)
    with pytest.raises(SystemExit) as exited:
        runner.die(
            "no engine", fix="start Docker", exit_code=ExitCode.ENVIRONMENT, file="x", line=2
        )
    assert exited.value.code == ExitCode.ENVIRONMENT
    assert out.getvalue() == (
        "::error file=x,line=2,title=ActionError::no engine. Fix: start Docker.\n"
    )
    with pytest.raises(SystemExit) as exited:
        runner.die("bad input")
    assert exited.value.code == ExitCode.USAGE
    assert Path(actions_env["GITHUB_STEP_SUMMARY"]).read_text().endswith("### :x: bad input.\n\n")


def test_a_cut_summary_points_to_the_json_report_by_default(tmp_path: Path) -> None:
    path = tmp_path / "summary.md"
    runner = Runner({"GITHUB_STEP_SUMMARY": str(path)})
    runner.summary(_sections(300, 5_000))
    text = path.read_text(encoding="utf-8")
    assert text.endswith(
        "\n_The rest of this summary is left out: GitHub shows at most 1 MiB of a step summary. "
        "The full report is in the command's JSON report (`--json`)._\n"
    )
    # Whole sections up to the budget (1 MiB less 4 KiB), then the cut line.
    assert (
        SUMMARY_LIMIT - 4 * 1024 - 5_100
        < len(text.encode("utf-8"))
        < SUMMARY_LIMIT - 4 * 1024 + 200
    )


def test_a_summary_fills_up_to_its_budget_counting_what_is_there(tmp_path: Path) -> None:
    path = tmp_path / "summary.md"
    budget = SUMMARY_LIMIT - 4 * 1024
    path.write_text("e" * (budget - 12), encoding="utf-8")
    runner = Runner({"GITHUB_STEP_SUMMARY": str(path)})
    runner.summary("### A\n\n12")  # 10 characters and "\n\n": exactly the room left
    assert path.read_text(encoding="utf-8").endswith("### A\n\n12\n\n")
    runner.summary("### B")
    assert "### B" not in path.read_text(encoding="utf-8")


def test_no_summary_without_a_runner_file(tmp_path: Path) -> None:
    runner = Runner({}, out=io.StringIO())
    runner.summary("### nowhere")
    assert list(tmp_path.iterdir()) == []


def test_fit_sections_counts_bytes_not_characters() -> None:
    text = "## é\n" + "é" * 10 + "\n"  # 16 characters, 27 bytes
    assert fit_sections(text, 27) == (text, True)
    assert fit_sections(text, 26) == ("", False)
    two = "## a\nx\n## b\ny\n"
    assert fit_sections(two, len(two) - 1) == ("## a\nx\n", False)
    assert fit_sections(two, 7) == ("## a\nx\n", False)
    assert fit_sections(two, 6) == ("", False)
    # Only a heading at a line's start, of at most six #, followed by a space, starts a section.
    assert fit_sections("## a\n#x\n####### y\nz ## c\n", 10) == ("", False)


def test_a_summary_keeps_its_trailing_spaces_and_ends_in_one_blank_line(
    actions_env: dict[str, str],
) -> None:
    runner = Runner(actions_env, out=io.StringIO())
    runner.summary("a hard break  \n\n\n")  # two spaces: Markdown's line break
    runner.summary("ends in X")
    assert Path(actions_env["GITHUB_STEP_SUMMARY"]).read_text() == (
        "a hard break  \n\nends in X\n\n"
    )


def test_a_new_summary_file_has_the_whole_budget(tmp_path: Path) -> None:
    path = tmp_path / "summary.md"
    budget = SUMMARY_LIMIT - 4 * 1024
    runner = Runner({"GITHUB_STEP_SUMMARY": str(path)})
    runner.summary("### A\n" + "a" * (budget - 8))  # with its "\n\n": exactly the budget
    assert len(path.read_bytes()) == budget
    assert "left out" not in path.read_text(encoding="utf-8")


# -- the event payload ------------------------------------------------------------------------


def test_the_event_payload_is_read_as_utf8_json(tmp_path: Path) -> None:
    path = tmp_path / "event.json"
    path.write_bytes('{"pull_request": {"title": "Füge ✓ hinzu"}}'.encode())
    assert load_event(str(path)) == {"pull_request": {"title": "Füge ✓ hinzu"}}
    assert load_event(None) == {}
    assert load_event("") == {}


@pytest.mark.parametrize(
    ("content", "line"),
    [
        (
            None,
            "event file {path} does not exist. Fix: run inside a workflow, or point "
            "GITHUB_EVENT_PATH at a webhook payload.",
        ),
        (
            "{\n  'action': 1}",
            "event file {path} is not JSON (Expecting property name enclosed in double quotes "
            "at line 2). Fix: pass the webhook payload as JSON.",
        ),
        ("[1, 2]", "event file {path} holds no JSON object. Fix: pass a webhook payload."),
    ],
)
def test_an_unreadable_event_payload_is_a_usage_error(
    tmp_path: Path, content: str | None, line: str
) -> None:
    path = tmp_path / "event.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(UsageError) as caught:
        load_event(str(path))
    assert caught.value.one_line() == line.format(path=path)
    assert caught.value.exit_code == ExitCode.USAGE


# -- reading inputs: what is missing, blank or not a dataclass --------------------------------


@dataclass(frozen=True)
class Needs:
    repository: str
    labels: list[str] = field(default_factory=list)
    depth: int = 1


def test_a_blank_input_keeps_the_default_and_a_missing_required_one_is_named() -> None:
    assert read_inputs(Needs, {"repository": "o/r", "depth": "  \n"}) == Needs("o/r")
    with pytest.raises(UsageError) as caught:
        read_inputs(Needs, {"repository": " ", "depth": "2"})
    assert caught.value.one_line() == (
        "input `repository`: is required. Fix: give input `repository` a value."
    )


@dataclass(frozen=True)
class Checked:
    depth: int = 1

    def __post_init__(self) -> None:
        if self.depth < 0:
            raise TypeError("a bug in the inputs' own check")


def test_a_type_error_that_is_no_missing_input_is_not_hidden() -> None:
    with pytest.raises(TypeError, match="a bug in the inputs' own check"):
        read_inputs(Checked, {"depth": "-1"})


def test_only_a_dataclass_has_inputs() -> None:
    with pytest.raises(TypeError, match="is not a dataclass"):
        read_inputs(int, {})


@dataclass(frozen=True)
class Pair:
    owner: str
    name: str


def test_the_missing_input_is_named_not_one_that_was_given() -> None:
    with pytest.raises(UsageError) as caught:
        read_inputs(Pair, {"owner": "acme"})
    assert caught.value.input == "name"


def test_an_input_without_help_has_none() -> None:
    assert [input_help(f) for f in fields(Pair)] == ["", ""]


def test_a_failure_names_the_input_as_a_workflow_does_by_default() -> None:
    err = io.StringIO()
    Runner({}, out=io.StringIO(), err=err).fail(UsageError("bad", fix="fix {input}.", input="x"))
    assert err.getvalue() == "error: input `x`: bad. Fix: fix input `x`.\n"


def test_text_before_the_first_heading_is_a_section_of_its_own() -> None:
    text = "intro\n## b\ny\n"
    assert fit_sections(text, 6) == ("intro\n", False)
