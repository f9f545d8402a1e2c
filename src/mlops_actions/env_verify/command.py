"""`mlops-actions env-verify`: check the installed PyTorch stack against what the repository declares."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from mlops_actions.command import Command, Context, Outcome
from mlops_actions.config import load_config
from mlops_actions.env_verify import checks, report
from mlops_actions.env_verify.checks import CheckResult, ExpectationError, Expectations
from mlops_actions.errors import (
    EnvironmentProblem,
    ExitCode,
    UsageError,
    end_sentence,
    with_fix,
)
from mlops_actions.files import write_atomically

PROBE_FILE = Path(__file__).with_name("probe.py")
PROBE_SCHEMA = "mlops-actions/env-probe"
# Per smoke probe the probe's own limit applies; this bounds the whole run on top.
SMOKE_PROBE_COUNT = 12
BASE_PROBE_LIMIT = 90.0


@dataclass(frozen=True)
class EnvVerifyInputs:
    python: str = field(
        default="",
        metadata={
            "metavar": "INTERPRETER",
            "help": "Interpreter to probe (default: `python`, else `python3`, on PATH).",
        },
    )
    facts: str = field(
        default="",
        metadata={
            "metavar": "FILE",
            "help": "A probe JSON file already written (probe.py --out FILE); no probe runs.",
        },
    )
    torch: str = field(
        default="",
        metadata={"metavar": "VERSION", "help": "Expected torch: 2.4.1, 2.4.1+cu121, >=2.4."},
    )
    torchvision: str = field(
        default="", metadata={"metavar": "VERSION", "help": "Expected torchvision version."}
    )
    torchaudio: str = field(
        default="", metadata={"metavar": "VERSION", "help": "Expected torchaudio version."}
    )
    cuda: str = field(
        default="",
        metadata={
            "metavar": "VERSION",
            "help": "Expected CUDA of the torch build: 12.1, cu121 or cpu.",
        },
    )
    cudnn: str = field(
        default="", metadata={"metavar": "VERSION", "help": "Expected cuDNN: 9, 9.1.0, >=9.1."}
    )
    nccl: str = field(default="", metadata={"metavar": "VERSION", "help": "Expected NCCL version."})
    python_version: str = field(
        default="",
        metadata={
            "metavar": "VERSION",
            "help": "Expected Python of the probed interpreter: 3.11, >=3.10.",
        },
    )
    min_driver: str = field(
        default="",
        metadata={"metavar": "VERSION", "help": "Lowest NVIDIA driver accepted, e.g. 535.104.05."},
    )
    gpu_count: str = field(
        default="", metadata={"metavar": "COUNT", "help": "GPUs the job must see: 2 or >=1."}
    )
    require_gpu: bool | None = field(
        default=None, metadata={"help": "Fail unless a usable GPU is present."}
    )
    expect: tuple[str, ...] = field(
        default=(),
        metadata={"metavar": "NAME=VALUE", "help": "Expectations as name=value, e.g. torch=2.4.1"},
    )
    expect_from: Literal["inputs", "config", "repo"] = field(
        default="config",
        metadata={
            "help": "Where expectations come from besides inputs: config (the environment "
            "section), repo (also the repository's own pins), inputs (inputs only)."
        },
    )
    smoke: bool = field(
        default=False, metadata={"help": "Also import torch and run small CPU/GPU smoke probes."}
    )
    compile: bool = field(default=False, metadata={"help": "With smoke: also try torch.compile."})
    timeout: float = field(
        default=120.0, metadata={"metavar": "SECONDS", "help": "Seconds per smoke probe."}
    )
    image: str = field(
        default="",
        metadata={
            "metavar": "IMAGE",
            "help": "Verify this image through the Docker engine instead.",
        },
    )
    report: str = field(
        default="",
        metadata={
            "metavar": "FILE",
            "help": "JSON report path (default $RUNNER_TEMP/env-verify.json).",
        },
    )
    config: str = field(
        default="", metadata={"metavar": "FILE", "help": "Config file (default .github/mlops.yml)."}
    )
    working_directory: str = field(
        default="",
        metadata={"metavar": "PATH", "help": "Repository root (default: the workspace)."},
    )


# -- expectations ---------------------------------------------------------------------------

# Each expectation key has an input of the same name, except `python` (that input names the
# interpreter to probe; its expectation is `python-version`) and the boolean `require-gpu`.
_VERSION_INPUTS = tuple(k for k in checks.EXPECTATION_KEYS if k not in ("python", "require-gpu"))


def input_expectations(inputs: EnvVerifyInputs) -> Expectations:
    values: dict[str, str] = {}
    for key in _VERSION_INPUTS:
        text = str(getattr(inputs, key.replace("-", "_"))).strip()
        if text:
            values[key] = text
    if inputs.require_gpu is not None:
        values["require-gpu"] = "true" if inputs.require_gpu else "false"
    given = set(values)
    try:
        extra = checks.parse_expect_items(inputs.expect)
        for key, text in extra.items():
            canon = "python-version" if key == "python" else key
            if canon in values and values[canon] != text:
                raise ExpectationError(
                    canon,
                    f"`{canon}` is given as an input ({values[canon]!r}) and in `expect` "
                    f"({text!r})",
                    "give it once.",
                )
            values[canon] = text
        return checks.expectations_from_mapping(values, lambda _key: "input")
    except ExpectationError as exc:
        # A bad value of its own input names that input; one from `expect` names `expect`.
        prefix = f"`{exc.key}`: "
        own = exc.key in given and exc.message.startswith(prefix)
        raise UsageError(
            exc.message[len(prefix) :] if own else exc.message,
            fix=exc.fix,
            input=exc.key if own else "expect",
        ) from None


def config_expectations(inputs: EnvVerifyInputs, root: Path) -> Expectations:
    config = load_config(
        Path(inputs.config) if inputs.config else None, root=root, required=bool(inputs.config)
    )
    section = config.section("environment")
    if not section:
        return Expectations()
    shown = _relative(config.path, root) if config.path else "config"

    def origin(key: str) -> str:
        line, _ = config.where(["environment", key])
        return f"{shown}:{line}" if line else shown

    for key, value in section.items():
        try:
            checks.normalise_value(key, _config_text(value))
        except ExpectationError as exc:
            raise config.error(["environment", key], exc.message, exc.fix) from None
    try:
        return checks.expectations_from_mapping(
            {k: _config_text(v) for k, v in section.items()}, origin
        )
    except ExpectationError as exc:
        raise config.error(["environment"], exc.message, exc.fix) from None


def _config_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def repo_expectations(root: Path) -> checks.RepoExpectations:
    try:
        from mlops_actions.pins import scan_repo
    except ImportError:
        raise EnvironmentProblem(
            "expect-from: repo needs the pin scanners, which this install lacks",
            fix="use expect-from: config and write the expectations in .github/mlops.yml.",
        ) from None
    result = scan_repo(root)
    return checks.expectations_from_pins(result.pins)


def _relative(path: str | Path, root: Path) -> str:
    try:
        return Path(path).resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


def gather_expectations(inputs: EnvVerifyInputs, root: Path) -> tuple[Expectations, list[str]]:
    """Repo pins < config < inputs (see checks module docstring)."""
    layers: list[Expectations] = []
    notes: list[str] = []
    if inputs.expect_from == "repo":
        repo = repo_expectations(root)
        layers.append(repo.expectations)
        notes.extend(repo.notes)
    if inputs.expect_from in ("config", "repo"):
        layers.append(config_expectations(inputs, root))
    layers.append(input_expectations(inputs))
    return checks.merge(*layers), notes


# -- facts ----------------------------------------------------------------------------------


def load_facts(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(
            f"cannot read {path} ({exc.strerror or exc})",
            fix="pass the file written by probe.py --out, or leave {input} empty to probe now.",
            input="facts",
        ) from None
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


def run_probe(
    interpreter: str,
    *,
    smoke: bool,
    want_compile: bool,
    timeout: float,
    env: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Run probe.py by path with ``interpreter``; the probe itself bounds each external call.

    ``env`` is the environment the probe sees (the runner's), so PATH, PYTHONPATH and
    CUDA_VISIBLE_DEVICES are the job's.
    """
    python = find_interpreter(interpreter, None if env is None else env.get("PATH", ""))
    limit = BASE_PROBE_LIMIT + (timeout * SMOKE_PROBE_COUNT if smoke else 0)
    with tempfile.TemporaryDirectory(prefix="mlops-env-verify-") as scratch:
        out = Path(scratch) / "probe.json"
        argv = [python, str(PROBE_FILE), "--out", str(out), "--timeout", f"{timeout:g}"]
        if smoke:
            argv.append("--smoke")
        if want_compile:
            argv.append("--compile")
        try:
            done = subprocess.run(
                argv,
                capture_output=True,
                text=True,
                timeout=limit,
                stdin=subprocess.DEVNULL,
                check=False,
                env=None if env is None else dict(env),
            )
        except subprocess.TimeoutExpired:
            raise EnvironmentProblem(
                f"the probe did not finish within {limit:g} s",
                fix="raise `timeout`, or run with smoke: false to find which part hangs.",
            ) from None
        except OSError as exc:
            raise EnvironmentProblem(
                f"could not run {python}: {exc.strerror or exc}",
                fix="set {input} to a working interpreter.",
                input="python",
            ) from None
        if done.returncode != 0 or not out.is_file():
            last = (done.stderr.strip().splitlines() or ["no output"])[-1][:300]
            raise EnvironmentProblem(
                f"the probe failed under {python} (exit {done.returncode}): {last}",
                fix="the probe needs Python 3.8 or newer; set {input} to such an interpreter.",
                input="python",
            )
        return load_facts(out)


# -- running --------------------------------------------------------------------------------


def default_report_path(ctx: Context) -> Path | None:
    """On a runner the report goes to the job's temp folder; locally it is written only when
    `--report` names a file (`--json` prints it), so a check leaves nothing behind."""
    temp = ctx.github.get("RUNNER_TEMP")
    return Path(temp) / "env-verify.json" if temp else None


def annotate(ctx: Context, results: list[CheckResult]) -> None:
    for result in results:
        if result.status not in ("fail", "warn"):
            continue
        text = with_fix(
            f"{end_sentence(result.message)} Expected: {result.expected or '-'}; "
            f"found: {result.found or '-'}",
            result.fix,
        )
        if result.status == "fail":
            ctx.runner.error(text, title=f"env-verify {result.id}")
        else:
            ctx.runner.warning(text, title=f"env-verify {result.id}")


def log_results(ctx: Context, results: list[CheckResult]) -> None:
    for result in results:
        if result.status in ("ok", "skip"):
            ctx.runner.print(f"{result.status:>4}  {result.id}: {result.message}")


def run(inputs: EnvVerifyInputs, ctx: Context) -> Outcome:
    runner = ctx.runner
    root = ctx.workspace(inputs.working_directory)
    if inputs.timeout <= 0:
        raise UsageError("must be above 0", fix="give seconds, e.g. 120.", input="timeout")
    expectations, notes = gather_expectations(inputs, root)
    for note in notes:
        runner.notice(note)

    host_facts: dict[str, Any] | None = None
    image_info: dict[str, Any] | None = None
    extra: list[CheckResult] = []
    if inputs.image:
        from mlops_actions.env_verify import image as image_mode

        host_facts = (
            load_facts(Path(inputs.facts))
            if inputs.facts
            else run_probe(
                inputs.python or sys.executable,
                smoke=False,
                want_compile=False,
                timeout=inputs.timeout,
                env=runner.env,
            )
        )
        with runner.group(f"probing image {inputs.image}"):
            probed = image_mode.verify_image(
                inputs.image,
                environment=runner.env,
                host_gpus=checks.gpu_count(host_facts) > 0,
                smoke=inputs.smoke,
                want_compile=inputs.compile,
                timeout=inputs.timeout,
            )
        facts = probed.facts
        image_info = probed.as_dict()
        for note in probed.notes:
            runner.warning(note)
        notes.extend(probed.notes)
        claims = image_mode.claims_from_image(probed.info.labels, probed.info.env, probed.info.tags)
        image_info["claims"] = [c.__dict__ for c in claims]
        extra = image_mode.compare_claims(claims, facts)
    elif inputs.facts:
        facts = load_facts(Path(inputs.facts))
    else:
        facts = run_probe(
            inputs.python,
            smoke=inputs.smoke,
            want_compile=inputs.compile,
            timeout=inputs.timeout,
            env=runner.env,
        )

    results = [*extra, *checks.evaluate(facts, expectations)]
    ok = not checks.failed(results)
    verified_at = dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()
    report_path = Path(inputs.report) if inputs.report else default_report_path(ctx)
    if report_path is not None and not report_path.is_absolute():
        report_path = ctx.cwd / report_path
    shown_path = str(report_path or "")
    labels = report.image_labels(facts, verified_at=verified_at, ok=ok, github=ctx.github)
    outputs = report.outputs(facts, results, report_path=shown_path, labels=labels)
    document = report.report(
        facts,
        expectations,
        results,
        verified_at=verified_at,
        outputs_=outputs,
        notes=notes,
        image=image_info,
        host_facts=host_facts,
    )
    if report_path is not None:
        write_atomically(
            report_path, json.dumps(document, indent=2, default=str) + "\n", what="report"
        )

    log_results(ctx, results)
    annotate(ctx, results)
    runner.set_outputs(outputs)
    title = f"env-verify {inputs.image}" if inputs.image else "env-verify"
    if shown_path:
        runner.report_pointer = f"`{shown_path}` (the `report-path` output)"
    runner.summary(report.summary(facts, results, title=title, report_path=shown_path, notes=notes))
    bad = checks.failed(results)
    runner.print(
        f"env-verify: {len(bad)} failed check(s): {', '.join(r.id for r in bad)}"
        if bad
        else f"env-verify: ok ({len(results)} checks)"
        + (f"; report {report_path}" if report_path else "")
    )
    return Outcome(ExitCode.FINDINGS if bad else ExitCode.OK, document)


COMMAND = Command(
    name="env-verify",
    summary="Check the installed PyTorch / CUDA / cuDNN / driver stack (or an image's) "
    "against what the repository declares.",
    inputs=EnvVerifyInputs,
    run=run,
)
