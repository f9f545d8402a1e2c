"""The probe started before the command line is imported: read from the same flags and inputs,
taken over by the command only when it is the probe the command asks for, stopped otherwise."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from mlops_actions.cli import main
from mlops_actions.env_verify import early, probing

BASE = {"python": "", "facts": "", "image": "", "smoke": "", "compile": "", "timeout": ""}


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        ([], {}, {}),
        (
            [],
            {"INPUT_PYTHON": "python3.11", "INPUT_TIMEOUT": "30"},
            {"python": "python3.11", "timeout": "30"},
        ),
        # A flag wins over its variable; both spellings of a value; switches both ways.
        (
            ["--python", "a", "--timeout=5", "--smoke", "--no-compile"],
            {"INPUT_PYTHON": "b", "INPUT_COMPILE": "true"},
            {"python": "a", "timeout": "5", "smoke": "true", "compile": "false"},
        ),
        # Other flags are stepped over with their values, whatever those look like.
        (
            [
                "--torch",
                "2.4.1",
                "--report=--python",
                "--json",
                "--python",
                "p",
                "--expect",
                "facts=x",
            ],
            {},
            {"python": "p"},
        ),
        (["--facts", "f.json"], {"INPUT_IMAGE": "img"}, {"facts": "f.json", "image": "img"}),
    ],
)
def test_the_inputs_the_probe_depends_on(
    args: list[str], env: dict[str, str], expected: dict[str, str]
) -> None:
    assert early.probe_inputs(args, env) == {**BASE, **expected}


@pytest.mark.parametrize(
    "given",
    [
        {"facts": "probe.json"},
        {"image": "pytorch/pytorch:2.4.1"},
        {"smoke": "true"},
        {"compile": "maybe"},
        {"timeout": "soon"},
        {"timeout": "0"},
        {"timeout": "nan"},
    ],
)
def test_no_early_probe_when_the_command_may_want_another(given: dict[str, str]) -> None:
    assert early.early_request({**BASE, **given}) is None


def test_the_early_request_is_what_the_command_asks_for() -> None:
    assert early.early_request({**BASE, "python": " py ", "compile": "true"}) == {
        "interpreter": "py",
        "smoke": False,
        "want_compile": True,
        "timeout": 120.0,
    }


def _report(code: int, out: str) -> dict[str, Any]:
    """The JSON report without what differs from run to run (the time, the probe's duration)."""
    assert code in (0, 1), out
    document: dict[str, Any] = json.loads(out)
    document.pop("verified_at")
    document["facts"].pop("probe_seconds")
    document["outputs"].pop("image-labels")
    return document


def _env(tmp_path: Path) -> dict[str, str]:
    return {"PATH": os.environ["PATH"], "GITHUB_WORKSPACE": str(tmp_path), "TMPDIR": str(tmp_path)}


def _count_probes(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """The probes started from now on (a counting wrapper around the real Popen)."""
    started: list[object] = []
    real = subprocess.Popen

    def popen(*args: Any, **kwargs: Any) -> subprocess.Popen[bytes]:
        started.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(probing.subprocess, "Popen", popen)
    return started


def test_the_command_takes_the_early_probe_and_reports_the_same(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    env = _env(tmp_path)
    args = ["--python", sys.executable, "--json", "--torch-optional"]
    code = main(["env-verify", *args], env)
    plain = _report(code, capsys.readouterr().out)

    run = early.start(args, env)
    assert run is not None
    started = _count_probes(monkeypatch)
    code = main(["env-verify", *args], env)
    assert _report(code, capsys.readouterr().out) == plain
    assert started == []  # the command started none of its own
    assert run.process.returncode == 0  # waited for to the end: taken, not stopped
    assert not Path(run.scratch).exists()
    assert not probing._EARLY


def _sleeper(tmp_path: Path) -> Path:
    """An "interpreter" that only sleeps, after writing down its process id."""
    stub = tmp_path / "sleepy-python"
    stub.write_text(f"#!/bin/sh\necho $$ >> {tmp_path / 'pid'}\nexec sleep 30\n", encoding="utf-8")
    stub.chmod(0o755)
    return stub


def test_an_early_probe_the_command_does_not_ask_for_is_stopped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    env = _env(tmp_path)
    run = early.start(["--python", str(_sleeper(tmp_path))], env)
    assert run is not None
    started = _count_probes(monkeypatch)
    code = main(["env-verify", "--python", sys.executable, "--json", "--torch-optional"], env)
    facts = _report(code, capsys.readouterr().out)["facts"]
    assert facts["python"]["executable"] == sys.executable
    assert len(started) == 1  # its own probe
    assert run.process.returncode == -9  # killed: a probe of another interpreter
    assert not Path(run.scratch).exists()


def _gone(pid: int) -> bool:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("extra", [["--expect-from", "nope"], ["--help"], ["--torch", "==="]])
def test_python_m_stops_the_early_probe_when_the_command_ends_without_it(
    tmp_path: Path, extra: list[str]
) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {**_env(tmp_path), "TMPDIR": str(scratch)}
    args = ["env-verify", "--python", str(_sleeper(tmp_path)), *extra]

    def run(module: str) -> tuple[int, str, str]:
        done = subprocess.run(
            [sys.executable, "-m", module, *args],
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=20,  # never waits for the sleeper
        )
        return done.returncode, done.stdout, done.stderr

    with_early = run("mlops_actions")
    pid_file = tmp_path / "pid"
    if extra == ["--help"]:
        assert not pid_file.exists()  # help starts nothing
    else:
        [pid] = pid_file.read_text().split()  # started early, once
        assert _gone(int(pid))
    assert list(scratch.iterdir()) == []
    # The same answer as the command line without an early probe, in a bounded time.
    assert with_early == run("mlops_actions.cli")
    assert with_early[0] == (0 if extra == ["--help"] else 2)
    assert "Traceback" not in with_early[2]


def test_python_m_reports_what_the_command_line_without_an_early_probe_reports(
    tmp_path: Path,
) -> None:
    env = _env(tmp_path)
    args = ["env-verify", "--python", sys.executable, "--json", "--torch-optional"]
    reports = []
    for module in ("mlops_actions", "mlops_actions.cli"):
        done = subprocess.run(
            [sys.executable, "-m", module, *args], env=env, capture_output=True, text=True
        )
        reports.append((_report(done.returncode, done.stdout), done.stderr))
    assert reports[0] == reports[1]
    assert list((tmp_path).glob("mlops-env-verify-*")) == []
