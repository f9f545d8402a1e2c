"""`mlops-actions env-verify`: check the installed PyTorch stack against what the repository declares."""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from mlops_actions.command import Command, Context, Outcome
from mlops_actions.env_verify.probing import ProbeRun, load_facts, start_probe
from mlops_actions.errors import (
    EnvironmentProblem,
    ExitCode,
    UsageError,
    end_sentence,
    with_fix,
)

if TYPE_CHECKING:
    from mlops_actions.env_verify import checks
    from mlops_actions.env_verify.checks import CheckResult, Expectations

# The checks, the report and the config (with their packaging, compatibility data and YAML) are
# imported inside `run`, after the probe has been started: their import overlaps its run.


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
    torch_optional: bool | None = field(
        default=None,
        metadata={"help": "Let a job without torch pass (by default it fails)."},
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


def input_expectations(inputs: EnvVerifyInputs) -> Expectations:
    from mlops_actions.env_verify import checks
    from mlops_actions.env_verify.checks import ExpectationError

    # Each expectation key has an input of the same name, except `python` (that input names the
    # interpreter to probe; its expectation is `python-version`) and the booleans.
    booleans = [k for k, name in checks.EXPECTATION_KEYS.items() if name in checks.BOOLEAN_FIELDS]
    values: dict[str, str] = {}
    for key in (k for k in checks.EXPECTATION_KEYS if k != "python" and k not in booleans):
        text = str(getattr(inputs, key.replace("-", "_"))).strip()
        if text:
            values[key] = text
    for key in booleans:
        flag = getattr(inputs, key.replace("-", "_"))
        if flag is not None:
            values[key] = "true" if flag else "false"
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
    from mlops_actions.config import load_config
    from mlops_actions.env_verify import checks
    from mlops_actions.env_verify.checks import ExpectationError, Expectations

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
    from mlops_actions.env_verify import checks

    result = scan_repo(root)
    return checks.expectations_from_pins(result.pins)


def _relative(path: str | Path, root: Path) -> str:
    try:
        return Path(path).resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


def gather_expectations(inputs: EnvVerifyInputs, root: Path) -> tuple[Expectations, list[str]]:
    """Repo pins < config < inputs (see checks module docstring)."""
    from mlops_actions.env_verify import checks

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
    # The probe first: it runs in the job's interpreter while this process imports the checks
    # and reads the config. In image mode this one only describes the host.
    pending: ProbeRun | None = None
    cannot_probe: EnvironmentProblem | None = None
    if not inputs.facts:
        try:
            pending = start_probe(
                (inputs.python or sys.executable) if inputs.image else inputs.python,
                smoke=inputs.smoke and not inputs.image,
                want_compile=inputs.compile and not inputs.image,
                timeout=inputs.timeout,
                env=runner.env,
            )
        except EnvironmentProblem as exc:
            cannot_probe = exc  # said after the inputs are checked: a bad input comes first
    try:
        return _verify(inputs, ctx, root, pending, cannot_probe)
    finally:
        if pending is not None:
            pending.close()


def _verify(
    inputs: EnvVerifyInputs,
    ctx: Context,
    root: Path,
    pending: ProbeRun | None,
    cannot_probe: EnvironmentProblem | None,
) -> Outcome:
    from mlops_actions.env_verify import checks, report
    from mlops_actions.files import write_atomically

    runner = ctx.runner
    expectations, notes = gather_expectations(inputs, root)
    if cannot_probe is not None:
        raise cannot_probe
    for note in notes:
        runner.notice(note)

    host_facts: dict[str, Any] | None = None
    image_info: dict[str, Any] | None = None
    extra: list[CheckResult] = []
    if inputs.image:
        from mlops_actions.env_verify import image as image_mode
        from mlops_actions.env_verify.checks import image as image_checks

        host_facts = pending.facts() if pending else load_facts(Path(inputs.facts))
        host_gpus = checks.gpu_count(host_facts) > 0
        with runner.group(f"probing image {inputs.image}"):
            probed = image_mode.verify_image(
                inputs.image,
                environment=runner.env,
                host_gpus=host_gpus,
                smoke=inputs.smoke,
                want_compile=inputs.compile,
                timeout=inputs.timeout,
            )
        facts = probed.facts
        image_info = probed.as_dict()
        for note in probed.notes:
            runner.warning(note)
        notes.extend(probed.notes)
        claims = image_checks.claims_from_image(
            probed.info.labels, probed.info.env, probed.info.tags
        )
        image_info["claims"] = [c.__dict__ for c in claims]
        settings = image_checks.image_env(probed.info.env)
        require_gpu = bool(expectations.require_gpu)
        extra = [
            image_checks.check_gpu_runtime(probed.gpus_refused, host_gpus, require_gpu),
            image_checks.check_require_cuda(settings, host_facts),
            image_checks.check_gpu_env(settings, require_gpu),
            *image_checks.compare_claims(claims, facts),
        ]
    elif pending is None:
        facts = load_facts(Path(inputs.facts))
    else:
        assert pending is not None  # started in `run` whenever `facts` is empty
        facts = pending.facts()

    results = [*extra, *checks.evaluate(facts, expectations)]
    install = checks.stack_fix(results, facts, expectations)
    ok = not checks.failed(results)
    # ISO 8601 in UTC to the second, as datetime's isoformat() writes it, without its import.
    verified_at = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
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
        install=install,
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
    runner.summary(
        report.summary(
            facts, results, title=title, report_path=shown_path, notes=notes, install=install
        )
    )
    bad = checks.failed(results)
    tally = report.counts_text(results)
    runner.print(
        f"env-verify: failed ({tally}): {', '.join(r.id for r in bad)}"
        if bad
        else f"env-verify: ok ({tally})" + (f"; report {report_path}" if report_path else "")
    )
    return Outcome(ExitCode.FINDINGS if bad else ExitCode.OK, document)


COMMAND = Command(
    name="env-verify",
    summary="Check the installed PyTorch / CUDA / cuDNN / driver stack (or an image's) "
    "against what the repository declares.",
    inputs=EnvVerifyInputs,
    run=run,
)
