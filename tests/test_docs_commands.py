"""Every `mlops-actions …` command line shown in README.md and docs/ exists with those flags.

Lines in fenced code blocks and inline code spans are both read. A concrete command is parsed by
the real CLI parser; a synopsis (placeholders in capitals, `[optional]` parts, `a|b` choices) has
each of its flags looked up in that command's parser instead.
"""

from __future__ import annotations

import argparse
import re
import shlex
from pathlib import Path

import pytest

from mlops_actions.cli import COMMAND_MODULES, build_parser, commands

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^(```|~~~)[^\n]*\n(.*?)^\1[ \t]*$", re.S | re.M)
PROGRAM = re.compile(r"^(?:\$ )?(?:\.venv/bin/)?mlops-actions(?: |$)|^bash tools/dev\.sh(?: |$)")
SYNOPSIS = re.compile(r"[\[\]|…]|\b[A-Z][A-Z_=/]{2,}\b")


def shown_commands() -> list[tuple[str, str]]:
    """(where, command line) for every mlops-actions command the docs show."""
    found: list[tuple[str, str]] = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        name = path.relative_to(ROOT).as_posix()
        for block in FENCE.finditer(text):
            line_no = text.count("\n", 0, block.start()) + 2
            for offset, line in enumerate(block.group(2).splitlines()):
                line = line.strip()
                if PROGRAM.match(line):
                    found.append((f"{name}:{line_no + offset}", line))
        prose = FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), text)
        for span in re.finditer(r"`([^`]+)`", prose):
            code = " ".join(span.group(1).split())
            if PROGRAM.match(code) and " " in code:  # a command, not the program's name
                found.append((f"{name}:{prose.count(chr(10), 0, span.start()) + 1}", code))
    return found


def _argv(line: str) -> list[str]:
    line = re.sub(r"\s+#.*$", "", line)  # a shell comment
    line = line.split(" > ", 1)[0]  # a redirect
    words = shlex.split(line)
    if words[0] == "$":
        words = words[1:]
    if words[:2] == ["bash", "tools/dev.sh"]:
        return words[2:] or ["version-guard", "."]
    return words[1:]


def _subparser(command: str) -> argparse.ArgumentParser:
    parser = build_parser(commands([command]))
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices[command]


def test_the_docs_show_commands() -> None:
    # The extraction itself works: README's command-line block alone has seven.
    assert len(shown_commands()) >= 10


@pytest.mark.parametrize(("where", "line"), shown_commands(), ids=lambda v: v)
def test_shown_command_exists_with_its_flags(where: str, line: str) -> None:
    argv = _argv(line)
    if not argv or argv[0].startswith("-"):
        with pytest.raises(SystemExit) as exited:  # `mlops-actions --help` prints and exits 0
            build_parser(commands()).parse_args(argv)
        assert exited.value.code == 0, where
        return
    assert argv[0] in COMMAND_MODULES, f"{where}: no command {argv[0]!r}"
    if SYNOPSIS.search(line):
        known = set(_subparser(argv[0])._option_string_actions)
        options = line.split(" -- ", 1)[0]  # after a lone `--` come the child's own words
        flags = [w.split("=")[0] for w in re.findall(r"--[a-z][a-z0-9-]*", options)]
        assert [f for f in flags if f not in known] == [], where
        return
    try:
        build_parser(commands([argv[0]])).parse_args(argv)
    except SystemExit as exited:
        assert exited.code == 0, f"{where}: `{line}` does not parse"


def test_readme_set_up_is_two_commands_that_exist() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Running it on this repository", 1)[1].split("\n## ", 1)[0]
    shown = [
        line.strip()
        for block in FENCE.finditer(section)
        for line in block.group(2).splitlines()
        if line.strip()
    ]
    assert shown == ["bash tools/dev.sh", "bash tools/test.sh"]
    for line in shown:
        assert (ROOT / line.split()[1]).is_file()
    # CI runs the README's test command, nothing else.
    assert "exec bash tools/test.sh" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_a_wrong_flag_is_caught() -> None:
    """The check can fail: the README's old `--base` flag does not exist (and flags are never
    abbreviated, so it is not taken for `--base-ref`)."""
    with pytest.raises(SystemExit) as exited:
        build_parser(commands(["version-guard"])).parse_args(
            _argv("mlops-actions version-guard . --base origin/main")
        )
    assert exited.value.code == 2
