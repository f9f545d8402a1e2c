"""`mlops-actions version-guard [PATH]`: scan the pins, apply the rules, report at the line."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from mlops_actions.command import Command, Context, Outcome
from mlops_actions.config import load_config
from mlops_actions.errors import ExitCode, UsageError, with_fix
from mlops_actions.files import write_atomically
from mlops_actions.pins import Environment, Pin, ScanResult, environments, scan_repo
from mlops_actions.runner import Annotation, load_event
from mlops_actions.version_guard.baseref import base_from_event, scan_ref
from mlops_actions.version_guard.rules import (
    FailOn,
    Finding,
    config_environments,
    evaluate,
    fails,
    settings_from_config,
)
from mlops_actions.version_guard.sarif import to_sarif

SARIF_NAME = "version-guard.sarif"
MATRIX_COMPONENTS = ("torch", "torchvision", "torchaudio", "cuda", "cudnn", "python", "image")
_MAX_ROWS = 300


@dataclass(frozen=True)
class VersionGuardInputs:
    path: str = field(
        default=".",
        metadata={
            "metavar": "PATH",
            "help": "Directory to scan, relative to the working directory.",
        },
    )
    config: str = field(
        default="", metadata={"metavar": "FILE", "help": "Config file (default .github/mlops.yml)."}
    )
    base_ref: str = field(
        default="",
        metadata={
            "metavar": "REF",
            "help": "Git ref to compare with for the change gate; in a pull_request event the "
            "PR base by default. Needs the history (actions/checkout fetch-depth: 0).",
        },
    )
    fail_on: FailOn | None = field(
        default=None,
        metadata={
            "help": "Lowest severity that fails: error, warning, notice or never "
            "(default: version-guard.fail-on in the config, else error)."
        },
    )
    format: Literal["text", "json", "sarif"] = field(
        default="text", metadata={"help": "What to print: text, json (the report) or sarif."}
    )
    sarif_file: str = field(
        default="",
        metadata={
            "metavar": "FILE",
            "help": f"Where to write SARIF (default on a runner: $RUNNER_TEMP/{SARIF_NAME}; "
            "locally: not written unless given).",
        },
    )
    exclude: tuple[str, ...] = field(
        default=(),
        metadata={
            "metavar": "GLOB",
            "help": "Glob patterns of paths not to scan (added to the config's).",
        },
    )
    build_args: tuple[str, ...] = field(
        default=(),
        metadata={
            "metavar": "KEY=VALUE",
            "help": "Docker build arguments KEY=VALUE, one a line (override the config's).",
        },
    )
    working_directory: str = field(
        default="",
        metadata={"metavar": "PATH", "help": "Repository root (default: the workspace)."},
    )


def _build_args(lines: Sequence[str], config: dict[str, Any]) -> dict[str, str]:
    args = {str(k): str(v) for k, v in (config.get("build-args") or {}).items()}
    for line in lines:
        key, eq, value = line.partition("=")
        if not eq or not key.strip():
            raise UsageError(
                f"{line!r} is not KEY=VALUE",
                fix="write one build argument a line, e.g. TORCH=2.4.1.",
                input="build-args",
            )
        args[key.strip()] = value.strip()
    return args


def _prefix(scan_root: Path, repo_root: Path) -> str:
    """Scan-root paths → repository-root paths, so annotations land in the PR diff."""
    try:
        rel = scan_root.resolve().relative_to(repo_root.resolve()).as_posix()
    except ValueError:
        return ""
    return "" if rel in ("", ".") else rel + "/"


_PIN_FIELDS = tuple(f.name for f in dataclasses.fields(Pin))


def _pin_dict(pin: Pin, prefix: str) -> dict[str, Any]:
    # Fields read directly: dataclasses.asdict deep-copies each value, and a monorepo has
    # thousands of pins.
    data = {name: getattr(pin, name) for name in _PIN_FIELDS}
    data["file"] = prefix + pin.file
    data["resolved_from"] = list(pin.resolved_from)
    return {k: v for k, v in data.items() if v not in (None, "", [])}


def _env_dict(env: Environment, prefix: str) -> dict[str, Any]:
    return {
        "id": env.id,
        "kind": env.kind,
        "name": env.name,
        "rule": env.rule,
        "files": [prefix + f for f in env.files],
        "pins": len(env.pins),
    }


def _finding_dict(finding: Finding, prefix: str) -> dict[str, Any]:
    data = finding.to_dict()
    if finding.file:
        data["file"] = prefix + finding.file
    for item in data["related"]:
        item["file"] = prefix + item["file"]
    return data


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def summary_markdown(
    scan: ScanResult,
    envs: Sequence[Environment],
    findings: Sequence[Finding],
    prefix: str,
    base: str | None,
) -> str:
    counts = {s: sum(f.severity == s for f in findings) for s in ("error", "warning", "notice")}
    head = ":white_check_mark:" if not counts["error"] else ":x:"
    out = [
        f"### {head} version-guard",
        "",
        f"{len(scan.files)} files, {len(scan.pins)} pins, {len(envs)} environments; "
        f"{counts['error']} errors, {counts['warning']} warnings, {counts['notice']} notices"
        + (f"; compared with base `{base[:12]}`" if base else "")
        + ".",
        "",
    ]
    if findings:
        out += ["#### Findings", "", "| | Rule | Where | Message |", "|---|---|---|---|"]
        icon = {"error": ":x:", "warning": ":warning:", "notice": ":information_source:"}
        for f in findings[:_MAX_ROWS]:
            where = f"`{prefix}{f.file}:{f.line}`" if f.file else ""
            out.append(
                f"| {icon[f.severity]} | {f.rule_id} {f.rule.name} | {where} | {_cell(f.message)} |"
            )
        if len(findings) > _MAX_ROWS:
            out.append(f"\n{len(findings) - _MAX_ROWS} more findings in the `findings` output.")
        out.append("")
    by_file: dict[str, dict[str, list[str]]] = {}
    for pin in scan.pins:
        if pin.component in MATRIX_COMPONENTS and pin.environment is None:
            cells = by_file.setdefault(pin.file, {})
            shown = pin.value or f"({pin.how})"
            values = cells.setdefault(pin.component, [])
            if shown not in values:
                values.append(shown)
    used = [c for c in MATRIX_COMPONENTS if any(c in cells for cells in by_file.values())]
    if used:
        out += [
            "<details><summary>Pin matrix (file by component)</summary>",
            "",
            "| File | " + " | ".join(used) + " |",
            "|---" * (len(used) + 1) + "|",
        ]
        for file in sorted(by_file)[:_MAX_ROWS]:
            cells = by_file[file]
            row = [_cell("<br>".join(cells.get(c, []))) for c in used]
            out.append(f"| `{prefix}{file}` | " + " | ".join(row) + " |")
        out += ["", "</details>", ""]
    if envs:
        out += [
            "<details><summary>Environments (grouping, see docs/version-guard.md)</summary>",
            "",
            "| Environment | Kind | Rule | Files |",
            "|---|---|---|---|",
        ]
        for env in envs[:_MAX_ROWS]:
            files = ", ".join(f"`{prefix}{f}`" for f in env.files)
            out.append(f"| {_cell(env.name)} | {env.kind} | {_cell(env.rule)} | {files} |")
        out += ["", "</details>"]
    return "\n".join(out)


def run(inputs: VersionGuardInputs, ctx: Context) -> Outcome:
    runner = ctx.runner
    repo_root = ctx.workspace()
    base_dir = ctx.workspace(inputs.working_directory)
    scan_root = Path(inputs.path)
    if not scan_root.is_absolute():
        scan_root = base_dir / scan_root
    if not scan_root.is_dir():
        raise UsageError(
            f"{inputs.path} is not a directory",
            fix="give the directory to scan, relative to the working directory.",
            input="path",
        )
    config = load_config(
        Path(inputs.config) if inputs.config else None,
        root=base_dir,
        required=bool(inputs.config),
    )
    section = config.section("version-guard")
    settings = settings_from_config(config)
    fail_on: FailOn = inputs.fail_on or section.get("fail-on") or "error"
    build_args = _build_args(inputs.build_args, section)
    exclude = (*(section.get("exclude") or ()), *inputs.exclude)

    scan = scan_repo(scan_root, build_args=build_args, exclude=exclude)
    envs = [*environments(scan), *config_environments(scan, settings)]

    event_name = ctx.github.get("GITHUB_EVENT_NAME", "")
    event = load_event(ctx.github.get("GITHUB_EVENT_PATH")) if event_name else {}
    event_base, labels = base_from_event(event_name, event)
    base_ref = inputs.base_ref or event_base
    base_scan: ScanResult | None = None
    base_sha: str | None = None
    if base_ref:
        base_scan, base_sha = scan_ref(scan_root, base_ref, build_args=build_args, exclude=exclude)
        runner.debug(f"base {base_ref} is {base_sha}: {len(base_scan.pins)} pins")

    findings = evaluate(scan, envs, settings, base_scan=base_scan, pr_labels=labels)
    prefix = _prefix(scan_root, repo_root)

    for f in findings:
        runner.annotate(
            Annotation(
                f.severity,
                with_fix(f.message, f.fix),
                file=prefix + f.file if f.file else None,
                line=f.line,
                col=f.col,
                title=f"{f.rule_id} {f.rule.name}",
            )
        )

    sarif = to_sarif(findings, prefix)
    sarif_path = Path(inputs.sarif_file) if inputs.sarif_file else None
    if sarif_path is None:
        # On a runner the SARIF file goes to the job's temp folder for upload-sarif; locally it
        # is written only when asked for, so a scan leaves nothing behind in the repository.
        temp = ctx.github.get("RUNNER_TEMP")
        sarif_path = Path(temp) / SARIF_NAME if temp else None
    elif not sarif_path.is_absolute():
        sarif_path = base_dir / sarif_path
    if sarif_path is not None:
        # Compact: json's C encoder only serves dumps without indent (5-10x faster on a
        # monorepo's results); upload-sarif and viewers do not care about layout.
        write_atomically(sarif_path, json.dumps(sarif) + "\n", what="sarif-file")

    failed = fails(findings, fail_on)
    pins_out = [_pin_dict(p, prefix) for p in scan.pins]
    findings_out = [_finding_dict(f, prefix) for f in findings]
    envs_out = [_env_dict(e, prefix) for e in envs]
    report: dict[str, Any] = {
        "ok": not failed,
        "fail_on": fail_on,
        "base": base_sha,
        "files": [prefix + f for f in scan.files],
        "pins": pins_out,
        "environments": envs_out,
        "findings": findings_out,
        "sarif_file": str(sarif_path or ""),
    }
    runner.set_outputs(
        {
            "ok": not failed,
            "pins": pins_out,
            "findings": findings_out,
            "environments": envs_out,
            "sarif-file": str(sarif_path or ""),
        }
    )
    runner.report_pointer = "the `findings` and `pins` outputs" + (
        f" and the SARIF file `{sarif_path}`" if sarif_path else ""
    )
    runner.summary(summary_markdown(scan, envs, findings, prefix, base_sha))
    counts = {s: sum(f.severity == s for f in findings) for s in ("error", "warning", "notice")}
    line = (
        f"version-guard: {len(scan.files)} files, {len(scan.pins)} pins, {len(envs)} "
        f"environments; {counts['error']} errors, {counts['warning']} warnings, "
        f"{counts['notice']} notices (fail-on: {fail_on})"
        + (f"; SARIF: {sarif_path}" if sarif_path else "")
    )
    if inputs.format == "json":
        runner.print(json.dumps(report, indent=2, sort_keys=True))
    elif inputs.format == "sarif":
        runner.print(json.dumps(sarif, indent=2))
    else:
        runner.print(line)
    return Outcome(ExitCode.FINDINGS if failed else ExitCode.OK, report)


COMMAND = Command(
    name="version-guard",
    summary="Check that torch / CUDA / cuDNN / Python pins agree in every file and environment.",
    inputs=VersionGuardInputs,
    run=run,
    positional=("path",),
)

__all__ = ["COMMAND", "VersionGuardInputs", "run", "summary_markdown"]
