"""Running the probe in the background: bounded waits, failures in one line, nothing left behind."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from mlops_actions.env_verify.probing import ProbeRun, start_probe
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
