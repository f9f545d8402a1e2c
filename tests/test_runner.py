"""Runner I/O against a fake runner: files in tmp_path, environment given explicitly."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
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
        },
    )
    assert inputs == Sample(
        torch="2.4.1",
        min_driver="535",
        require_gpu=True,
        gpu_count=2,
        labels=("a", "b", "c"),
        mode="validate",
    )
    assert read_inputs(Sample, {"gpu-count": ""}).gpu_count is None


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"require-gpu": "maybe"}, "input `require-gpu`: 'maybe' is not a boolean"),
        ({"gpu-count": "two"}, "input `gpu-count`: 'two' is not a whole number"),
        ({"mode": "delete"}, "input `mode`: 'delete' is not one of sync, validate"),
    ],
)
def test_bad_inputs_are_one_line_errors(raw: dict[str, str], message: str) -> None:
    with pytest.raises(UsageError) as caught:
        read_inputs(Sample, raw)
    assert caught.value.one_line().startswith(message)
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
