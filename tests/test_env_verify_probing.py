"""Running the probe in the background: bounded waits, failures in one line, nothing left behind."""

from __future__ import annotations

import json
import os
import py_compile
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from mlops_actions.env_verify.probing import LAUNCH, PROBE_FILE, ProbeRun, start_probe
from mlops_actions.errors import EnvironmentProblem


def test_a_probe_that_hangs_is_stopped_at_its_limit() -> None:
    scratch = tempfile.mkdtemp(prefix="probing-test-")
    process = subprocess.Popen(["sleep", "30"], stdout=subprocess.PIPE)
    run = ProbeRun("sleep", process, scratch, limit=0.5)
    start = time.monotonic()
    with pytest.raises(EnvironmentProblem, match=r"the probe did not finish within 0\.5 s"):
        run.facts()
    assert time.monotonic() - start < 5
    assert process.poll() is not None  # killed, not left running
    assert not Path(scratch).exists()


def test_a_failing_interpreter_is_one_line_with_its_last_error(tmp_path: Path) -> None:
    fake = tmp_path / "python3.7"
    fake.write_text(
        "#!/bin/sh\necho 'noise' >&2\necho 'SyntaxError: invalid syntax' >&2\nexit 1\n",
        encoding="utf-8",
    )
    fake.chmod(0o755)
    run = start_probe(str(fake), smoke=False, want_compile=False, timeout=5)
    with pytest.raises(EnvironmentProblem) as raised:
        run.facts()
    assert raised.value.args[0] == (
        f"the probe failed under {fake} (exit 1): SyntaxError: invalid syntax"
    )
    assert not Path(run.scratch).exists()


def test_the_probe_answers_as_soon_as_it_exits() -> None:
    """No polling delay: the wait ends with the probe (its stdout closing)."""
    run = start_probe(sys.executable, smoke=False, want_compile=False, timeout=5)
    facts = run.facts()
    assert facts["schema"] == "mlops-actions/env-probe"
    assert run.process.returncode == 0
    assert not Path(run.scratch).exists()


# -- how the probe starts: from its cached bytecode, exactly as a run by path -----------------


def _launch(script: Path, *args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-c", LAUNCH, str(script), *args],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    return done.stdout


def _by_path(script: Path, *args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [sys.executable, str(script), *args], capture_output=True, text=True, check=True, env=env
    )
    return done.stdout


SEES = (
    "import json, sys\n"
    "print(json.dumps([__name__, __file__, sys.argv, sys.path, sys.flags.dont_write_bytecode]))\n"
)


def test_the_launch_gives_a_script_what_a_run_by_path_gives(tmp_path: Path) -> None:
    script = tmp_path / "sees.py"
    script.write_text(SEES, encoding="utf-8")
    assert _launch(script, "--out", "x") == _by_path(script, "--out", "x")
    safe = {**os.environ, "PYTHONSAFEPATH": "1"}  # no script folder on sys.path either way
    assert _launch(script, env=safe) == _by_path(script, env=safe)


def test_the_launch_runs_the_cached_bytecode_and_writes_none(tmp_path: Path) -> None:
    script = tmp_path / "says.py"
    script.write_text("print('one')\n", encoding="utf-8")
    stamp = script.stat().st_mtime_ns
    py_compile.compile(str(script), doraise=True)
    # The same size and time: only a loader that reads the cache still says "one".
    script.write_text("print('two')\n", encoding="utf-8")
    os.utime(script, ns=(stamp, stamp))
    assert _launch(script) == "one\n"
    assert _by_path(script) == "two\n"

    fresh = tmp_path / "fresh"
    fresh.mkdir()
    (fresh / "says.py").write_text("print('three')\n", encoding="utf-8")
    assert _launch(fresh / "says.py") == "three\n"
    assert sorted(p.name for p in fresh.iterdir()) == ["says.py"]  # no __pycache__ written


def test_the_probe_document_is_the_same_launched_or_by_path(tmp_path: Path) -> None:
    launched, by_path = tmp_path / "launched.json", tmp_path / "by-path.json"
    _launch(PROBE_FILE, "--out", str(launched))
    _by_path(PROBE_FILE, "--out", str(by_path))
    first, second = (json.loads(p.read_text(encoding="utf-8")) for p in (launched, by_path))
    first.pop("probe_seconds")
    second.pop("probe_seconds")
    assert first == second


def test_a_bad_probe_argument_reads_the_same_launched() -> None:
    argv = [str(PROBE_FILE), "--bogus"]
    launched = subprocess.run(
        [sys.executable, "-c", LAUNCH, *argv], capture_output=True, text=True, check=False
    )
    by_path = subprocess.run([sys.executable, *argv], capture_output=True, text=True, check=False)
    assert launched.returncode == by_path.returncode == 2
    assert launched.stderr == by_path.stderr
    assert by_path.stderr.startswith("probe.py: unknown argument '--bogus'")
