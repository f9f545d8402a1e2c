"""`mlops-actions gpu-monitor`: run a command, sample every GPU while it runs, report the use.

    mlops-actions gpu-monitor [--interval S] [--out FILE] -- python train.py --epochs 3

The command's exit status is the wrapper's; its output is not touched. In an action the command
comes as a shell script (`run` input, run by `shell` the way GitHub runs a `run:` step).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shlex
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from mlops_actions.command import Command, Context, Outcome
from mlops_actions.errors import UsageError, with_fix
from mlops_actions.files import write_atomically
from mlops_actions.gpu_monitor.child import NOT_EXECUTABLE, NOT_FOUND, Child, start_without_signals
from mlops_actions.runner import Runner

if TYPE_CHECKING:
    from mlops_actions.gpu_monitor.sampler import Sampler

MIN_INTERVAL_S = 0.05
MAX_INTERVAL_S = 3600.0
# GitHub's templates for the `shell:` keywords, so `run` behaves as it would in a `run:` step.
SHELLS = {
    "bash": ("bash --noprofile --norc -eo pipefail {0}", ".sh"),
    "sh": ("sh -e {0}", ".sh"),
    "python": ("python {0}", ".py"),
    "pwsh": ("pwsh -command \". '{0}'\"", ".ps1"),
}


@dataclass(frozen=True)
class GpuMonitorInputs:
    run: str = field(
        default="",
        metadata={
            "metavar": "SCRIPT",
            "help": "The command as a script for `shell` (instead of arguments after --).",
        },
    )
    shell: str = field(
        default="bash",
        metadata={
            "metavar": "SHELL",
            "help": "Shell for `run`: bash, sh, python, pwsh, or a template with {0}.",
        },
    )
    interval: float = field(
        default=1.0,
        metadata={"metavar": "SECONDS", "help": "Seconds between samples (0.05 to 3600)."},
    )
    out: str = field(
        default="",
        metadata={
            "metavar": "FILE",
            "help": "JSON report path (default $RUNNER_TEMP/gpu-monitor.json).",
        },
    )
    prometheus_textfile: str = field(
        default="",
        metadata={
            "metavar": "FILE",
            "help": "Also write the metrics in node-exporter textfile format here.",
        },
    )
    pushgateway: str = field(
        default="",
        metadata={"metavar": "URL", "help": "Also push the metrics to this Pushgateway URL."},
    )
    job: str = field(
        default="gpu-monitor", metadata={"metavar": "NAME", "help": "Pushgateway job name."}
    )


@dataclass(frozen=True)
class Plan:
    """What to start, checked before anything runs."""

    argv: tuple[str, ...]
    script: str  # the `run` text written to a file, or "" for argv mode
    suffix: str
    out: Path | None


def plan(inputs: GpuMonitorInputs, trailing: Sequence[str], ctx: Context) -> Plan:
    if not MIN_INTERVAL_S <= inputs.interval <= MAX_INTERVAL_S:
        raise UsageError(
            f"{inputs.interval:g} s is out of range",
            fix=f"use {MIN_INTERVAL_S:g} to {MAX_INTERVAL_S:g} seconds (1 is a good default).",
            input="interval",
        )
    if inputs.pushgateway:
        parts = urlsplit(inputs.pushgateway)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise UsageError(
                f"{inputs.pushgateway!r} is not an http(s) URL",
                fix="write it as http://pushgateway.example:9091.",
                input="pushgateway",
            )
        if not inputs.job.strip():
            raise UsageError("is empty", fix="name the Pushgateway job, e.g. train.", input="job")
    out = Path(inputs.out) if inputs.out else None
    if out is None and ctx.github.get("RUNNER_TEMP"):
        out = Path(ctx.github["RUNNER_TEMP"]) / "gpu-monitor.json"
    if inputs.run.strip() and trailing:
        raise UsageError(
            "gpu-monitor got a command twice: `run` and arguments after --",
            fix="give one of them.",
        )
    if trailing:
        return Plan(tuple(trailing), "", "", out)
    if not inputs.run.strip():
        raise UsageError(
            "gpu-monitor needs a command to run",
            fix="pass it after --, e.g. `mlops-actions gpu-monitor -- python train.py`, "
            "or set the `run` input.",
        )
    template, suffix = SHELLS.get(inputs.shell.strip(), (inputs.shell.strip(), ".sh"))
    if "{0}" not in template:
        template += " {0}"  # `shell: bash -x` style: the script path goes last
    try:
        argv = tuple(shlex.split(template))
    except ValueError as exc:
        raise UsageError(
            f"{inputs.shell!r} cannot be split into words ({exc})",
            fix="use bash, sh, python, pwsh, or a command template such as `bash -x {0}`.",
            input="shell",
        ) from None
    return Plan(argv, inputs.run, suffix, out)


def run(inputs: GpuMonitorInputs, ctx: Context) -> Outcome:
    runner = ctx.runner
    chosen = plan(inputs, ctx.trailing, ctx)
    script_path = _write_script(chosen, ctx) if chosen.script else None
    argv = (
        tuple(a.replace("{0}", str(script_path)) for a in chosen.argv)
        if script_path
        else chosen.argv
    )
    started_at = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    started = time.monotonic()
    child = Child(argv)
    try:
        try:
            child.start()
        except FileNotFoundError:
            runner.error(f"gpu-monitor: {argv[0]}: command not found")
            return Outcome(NOT_FOUND, {"exit_code": NOT_FOUND})
        except PermissionError:
            runner.error(f"gpu-monitor: {argv[0]}: permission denied")
            return Outcome(NOT_EXECUTABLE, {"exit_code": NOT_EXECUTABLE})
        # Imported once the child runs, so their import time overlaps the command's.
        from mlops_actions.gpu_monitor.sampler import Sampler

        sampler = Sampler(inputs.interval)
        start_without_signals(sampler)
        code = child.wait()
    finally:
        if script_path is not None:
            with contextlib.suppress(OSError):
                script_path.unlink()
    wall = time.monotonic() - started
    finished = sampler.finish()
    return Outcome(
        code, _report(inputs, ctx, chosen, argv, code, wall, started_at, sampler, finished)
    )


def _write_script(chosen: Plan, ctx: Context) -> Path:
    folder = ctx.github.get("RUNNER_TEMP") or None
    fd, name = tempfile.mkstemp(prefix="gpu-monitor-", suffix=chosen.suffix, dir=folder)
    with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(chosen.script)
        if not chosen.script.endswith("\n"):
            handle.write("\n")
    return Path(name)


def _report(
    inputs: GpuMonitorInputs,
    ctx: Context,
    chosen: Plan,
    argv: Sequence[str],
    code: int,
    wall: float,
    started_at: str,
    sampler: Sampler,
    finished: bool,
) -> dict[str, object]:
    """Write the report everywhere it goes; problems here are warnings, never the exit code."""
    from mlops_actions.gpu_monitor import report as render

    runner = ctx.runner
    with sampler.lock:
        source = sampler.source
        unavailable = sampler.unavailable.text() if sampler.unavailable else ""
        if not finished:
            unavailable = (
                unavailable or "the GPU source did not answer in time; figures are partial"
            )
        facts = render.RunFacts(
            command=tuple(argv) if not chosen.script else (*argv[:-1], inputs.run),
            exit_code=code,
            wall_time_s=wall,
            interval_s=inputs.interval,
            source=source.name if source is not None else None,
            started_at=started_at,
            unavailable=unavailable or sampler.error,
        )
        document = render.build_report(facts, sampler.stats)
    if sampler.unavailable is not None:
        runner.notice(f"gpu-monitor: {sampler.unavailable.text()}; the command ran unmonitored.")
    if sampler.error:
        runner.warning(f"gpu-monitor: sampling stopped early: {sampler.error}")
    if not finished:
        runner.warning("gpu-monitor: the GPU source did not answer its last poll in time.")
    for message in sampler.lost_messages:
        runner.warning(f"gpu-monitor: {message}")
    path = ""
    if chosen.out is not None:
        try:
            write_atomically(chosen.out, json.dumps(document, indent=2) + "\n", what="out")
            path = str(chosen.out)
        except UsageError as error:
            runner.warning(error.one_line())
    runner.set_outputs(render.outputs(document, path))
    runner.summary(render.summary_markdown(document))
    _export(inputs, ctx, runner, document)
    return document


def _export(
    inputs: GpuMonitorInputs, ctx: Context, runner: Runner, document: dict[str, object]
) -> None:
    if not (inputs.prometheus_textfile or inputs.pushgateway):
        return
    from mlops_actions.gpu_monitor import export  # prometheus-client only when asked for

    if inputs.prometheus_textfile:
        try:
            export.write_textfile(inputs.prometheus_textfile, document, ctx.github)
        except OSError as exc:
            runner.warning(
                with_fix(
                    f"{runner.refer('prometheus-textfile')}: cannot write "
                    f"{inputs.prometheus_textfile}: {exc.strerror or exc}",
                    "point it at the node-exporter textfile directory.",
                )
            )
    if inputs.pushgateway:
        try:
            export.push(inputs.pushgateway, inputs.job, document, ctx.github)
        except Exception as exc:  # network errors of every kind: the job's result stands
            runner.warning(
                with_fix(
                    f"{runner.refer('pushgateway')}: push to {inputs.pushgateway} failed: "
                    f"{' '.join(str(exc).split())[:200]}",
                    "check the URL and that the gateway is reachable from the runner.",
                )
            )


COMMAND = Command(
    name="gpu-monitor",
    summary="Run a command and report how it used the GPUs (utilisation, memory, power, events).",
    inputs=GpuMonitorInputs,
    run=run,
    trailing="command",
)
