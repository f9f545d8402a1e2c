"""Running the probe: probe.py with the job's interpreter, started before the checks are imported.

``start_probe`` returns at once with the probe running; the command imports the checks, reads
the config and builds the expectations meanwhile, then ``ProbeRun.facts()`` waits for the
document. Standard library only, so nothing here delays the start.
"""

from __future__ import annotations

import atexit
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mlops_actions.errors import EnvironmentProblem, UsageError

PROBE_FILE = Path(__file__).with_name("probe.py")
# How probe.py starts: `python -c LAUNCH probe.py ARGS...` runs it as `python probe.py ARGS...`
# would (as __main__, with the same sys.argv, __file__ and sys.path), but from the bytecode
# cached beside it when that interpreter has one (pip compiles it on install): compiling its
# 1,700 lines costs as much as starting the interpreter. It writes no cache itself: an action's
# environment is checked file by file against its digest.
LAUNCH = """import os, sys
if sys.path and sys.path[0] == "" and not getattr(sys.flags, "safe_path", False):
    sys.path[0] = os.path.dirname(os.path.realpath(sys.argv[1]))
del os, sys.argv[0]
__file__ = sys.argv[0]
try:
    from importlib.machinery import SourceFileLoader
except ImportError:  # Python 2: compiled here, to fail as a run by path fails
    _code = compile(open(__file__).read(), __file__, "exec")
else:
    _write, sys.dont_write_bytecode = sys.dont_write_bytecode, True
    _code = SourceFileLoader("__main__", __file__).get_code("__main__")
    sys.dont_write_bytecode = _write
    del SourceFileLoader, _write
exec(_code)
"""
PROBE_SCHEMA = "mlops-actions/env-probe"
# Per smoke probe the probe's own limit applies; this bounds the whole run on top.
SMOKE_PROBE_COUNT = 14
BASE_PROBE_LIMIT = 90.0


def load_facts(path: Path, *, bounded: bool = True) -> dict[str, Any]:
    """The probe document at ``path``. A file the user names (`facts`) is read as untrusted
    data (nesting, long numbers); the document our own probe just wrote is read plainly, which
    keeps the YAML-capable bounded parser off the start-up path."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(
            f"cannot read {path} ({exc.strerror or exc})",
            fix="pass the file written by probe.py --out, or leave {input} empty to probe now.",
            input="facts",
        ) from None
    if bounded:
        from mlops_actions.parse import ParseError, loads_json

        try:
            data = loads_json(text)
        except ParseError as exc:
            raise UsageError(
                f"{path} is not usable JSON ({exc.message}"
                + (f", line {exc.line})" if exc.line else ")"),
                fix="pass the file written by probe.py --out.",
                input="facts",
            ) from None
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise UsageError(
                f"{path} is not JSON ({exc.msg} at line {exc.lineno})",
                fix="pass the file written by probe.py --out.",
                input="facts",
            ) from None
    if not isinstance(data, dict) or data.get("schema") != PROBE_SCHEMA:
        raise UsageError(
            f"{path} is not an env-verify probe document",
            fix="pass the file written by probe.py --out.",
            input="facts",
        )
    return data


def find_interpreter(name: str, path: str | None = None) -> str:
    candidates = [name] if name else ["python", "python3"]
    for candidate in candidates:
        found = shutil.which(candidate, path=path) if os.sep not in candidate else candidate
        if found and os.access(found, os.X_OK):
            return found
    if name:
        raise EnvironmentProblem(
            f"interpreter {name!r} not found or not executable",
            fix="give the path or name of the job's Python (e.g. python3.11).",
            input="python",
        )
    raise EnvironmentProblem(
        "no `python` or `python3` on PATH to probe",
        fix="set {input} to the interpreter the job uses.",
        input="python",
    )


class ProbeRun:
    """A probe started in the background; ``facts()`` waits for it (bounded) and reads it."""

    def __init__(
        self,
        python: str,
        process: subprocess.Popen[bytes],
        scratch: str,
        limit: float,
        request: tuple[Any, ...] = (),
    ) -> None:
        self.python = python
        self.process = process
        self.scratch = scratch
        self.limit = limit
        self.request = request  # what start_probe was asked for: an early run is taken on it

    def facts(self) -> dict[str, Any]:
        out = Path(self.scratch) / "probe.json"
        try:
            self._wait()
        except subprocess.TimeoutExpired:
            self.close()
            raise EnvironmentProblem(
                f"the probe did not finish within {self.limit:g} s",
                fix="raise `timeout`, or run with smoke: false to find which part hangs.",
            ) from None
        try:
            if self.process.returncode != 0 or not out.is_file():
                log = Path(self.scratch) / "stderr.txt"
                text = log.read_text(encoding="utf-8", errors="replace").strip()
                last = (text.splitlines() or ["no output"])[-1][:300]
                raise EnvironmentProblem(
                    f"the probe failed under {self.python} (exit {self.process.returncode}): "
                    f"{last}",
                    fix="the probe needs Python 3.8 or newer; set {input} to such an interpreter.",
                    input="python",
                )
            return load_facts(out, bounded=False)
        finally:
            self.close()

    def _wait(self) -> None:
        """Wait for the probe to exit, at most ``limit`` seconds.

        Popen.wait(timeout) polls with sleeps of up to 50 ms; the end of the probe's stdout
        (it writes nothing there, so the pipe closes when it exits) wakes this at once."""
        stream = self.process.stdout
        deadline = time.monotonic() + self.limit
        if stream is not None:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise subprocess.TimeoutExpired(self.process.args, self.limit)
                ready, _, _ = select.select([stream], [], [], left)
                if ready and not os.read(stream.fileno(), 65536):
                    break
        self.process.wait(timeout=max(0.0, deadline - time.monotonic()))

    def close(self) -> None:
        """Stop the probe if it still runs and remove its scratch folder; safe to repeat."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        shutil.rmtree(self.scratch, ignore_errors=True)


# A probe started before the command line was imported (see env_verify.early), until the
# command's start_probe asks for the same one.
_EARLY: list[ProbeRun] = []


def hold_early(run: ProbeRun) -> None:
    """Keep ``run`` for the command's ``start_probe`` to take; stopped at exit if none does."""
    _EARLY.append(run)
    atexit.register(_drop_early)


def _drop_early() -> None:
    while _EARLY:
        _EARLY.pop().close()


def _take_early(request: tuple[Any, ...]) -> ProbeRun | None:
    """The early probe when it is the one asked for (else it is stopped: a new one runs)."""
    match = next((run for run in _EARLY if run.request == request), None)
    for run in _EARLY:
        if run is not match:
            run.close()
    _EARLY.clear()
    return match


def start_probe(
    interpreter: str,
    *,
    smoke: bool,
    want_compile: bool,
    timeout: float,
    env: Mapping[str, str] | None = None,
) -> ProbeRun:
    """Start probe.py (see LAUNCH) with ``interpreter`` and return without waiting.

    ``env`` is the environment the probe sees (the runner's), so PATH, PYTHONPATH and
    CUDA_VISIBLE_DEVICES are the job's. The probe bounds each external call itself.
    """
    python = find_interpreter(interpreter, None if env is None else env.get("PATH", ""))
    limit = BASE_PROBE_LIMIT + (timeout * SMOKE_PROBE_COUNT if smoke else 0)
    request = (python, smoke, want_compile, timeout, None if env is None else dict(env))
    early = _take_early(request)
    if early is not None:
        return early
    scratch = tempfile.mkdtemp(prefix="mlops-env-verify-")
    argv = [python, "-c", LAUNCH, str(PROBE_FILE), "--out", str(Path(scratch) / "probe.json")]
    argv += ["--timeout", f"{timeout:g}"]
    if smoke:
        argv.append("--smoke")
    if want_compile:
        argv.append("--compile")
    try:
        # stderr to a file: nobody reads a pipe while the checks are being imported.
        with open(Path(scratch) / "stderr.txt", "wb") as log:
            process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,  # only to learn the moment it exits; see _wait
                stderr=log,
                env=None if env is None else dict(env),
            )
    except OSError as exc:
        shutil.rmtree(scratch, ignore_errors=True)
        raise EnvironmentProblem(
            f"could not run {python}: {exc.strerror or exc}",
            fix="set {input} to a working interpreter.",
            input="python",
        ) from None
    return ProbeRun(python, process, scratch, limit, request)


def run_probe(
    interpreter: str,
    *,
    smoke: bool,
    want_compile: bool,
    timeout: float,
    env: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Start the probe and wait for its document."""
    return start_probe(
        interpreter, smoke=smoke, want_compile=want_compile, timeout=timeout, env=env
    ).facts()
