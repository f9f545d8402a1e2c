"""What env-verify gives back: step outputs, the JSON report, the step summary, image labels.

Pure functions over the probe document and the check results; the command writes them out.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from mlops_actions.env_verify import checks
from mlops_actions.env_verify.checks import CheckResult, Expectations
from mlops_actions.env_verify.checks.image import LABEL_COMPONENTS, LABEL_PREFIX
from mlops_actions.errors import end_sentence

REPORT_SCHEMA = "mlops-actions/env-verify-report"
REPORT_SCHEMA_VERSION = 1
_STATUS_ICON = {
    "ok": ":white_check_mark:",
    "fail": ":x:",
    "warn": ":warning:",
    "skip": ":fast_forward:",
}


def installed(facts: Mapping[str, Any]) -> dict[str, str]:
    """The versions the report, the outputs and the labels share ("" when absent)."""
    return {
        "torch": checks.torch_version(facts) or "",
        "variant": checks.torch_variant(facts) or "",
        "torchvision": checks.distribution_version(facts, "torchvision") or "",
        "torchaudio": checks.distribution_version(facts, "torchaudio") or "",
        "cuda": checks.torch_cuda(facts) or "",
        "cudnn": checks.cudnn_version(facts) or "",
        "nccl": checks.nccl_version(facts) or "",
        "python": checks.python_version(facts) or "",
        "driver": checks.driver_version(facts) or "",
    }


def image_labels(
    facts: Mapping[str, Any],
    *,
    verified_at: str,
    ok: bool,
    github: Mapping[str, str] | None = None,
) -> list[tuple[str, str]]:
    """OCI labels for an image built from this environment: known values only.

    ``org.opencontainers.image.source`` / ``revision`` come from the workflow run; the
    namespaced ``io.mlops-actions.*`` set records the stack this run verified.
    """
    github = github or {}
    labels: list[tuple[str, str]] = []
    server = github.get("GITHUB_SERVER_URL", "https://github.com")
    if github.get("GITHUB_REPOSITORY"):
        labels.append(
            ("org.opencontainers.image.source", f"{server}/{github['GITHUB_REPOSITORY']}")
        )
    if github.get("GITHUB_SHA"):
        labels.append(("org.opencontainers.image.revision", github["GITHUB_SHA"]))
    values = installed(facts)
    for suffix, component in LABEL_COMPONENTS.items():
        if values.get(component):
            labels.append((LABEL_PREFIX + suffix, values[component]))
    labels.append((LABEL_PREFIX + "verified-at", verified_at))
    labels.append((LABEL_PREFIX + "verified", "true" if ok else "false"))
    return labels


def labels_text(labels: Sequence[tuple[str, str]]) -> str:
    """``key=value`` lines, as docker/build-push-action's ``labels:`` takes them."""
    return "\n".join(f"{k}={v.replace(chr(10), ' ')}" for k, v in labels)


_COUNT_WORDS = (("ok", "passed"), ("skip", "skipped"), ("warn", "warned"), ("fail", "failed"))


def counts(results: Sequence[CheckResult]) -> dict[str, int]:
    """How many checks passed, were skipped, warned and failed (a skip is never a pass)."""
    tally = {word: 0 for _, word in _COUNT_WORDS}
    words = dict(_COUNT_WORDS)
    for result in results:
        tally[words[result.status]] += 1
    return tally


def counts_text(results: Sequence[CheckResult]) -> str:
    """``3 passed, 8 skipped, 0 warned, 1 failed``."""
    return ", ".join(f"{n} {word}" for word, n in counts(results).items())


def failed_ids(results: Sequence[CheckResult]) -> list[str]:
    seen: list[str] = []
    for result in results:
        if result.status == "fail" and result.id not in seen:
            seen.append(result.id)
    return seen


def outputs(
    facts: Mapping[str, Any],
    results: Sequence[CheckResult],
    *,
    report_path: str,
    labels: Sequence[tuple[str, str]],
) -> dict[str, object]:
    values = installed(facts)
    devices = checks.visible_devices(facts)
    return {
        "ok": not checks.failed(results),
        "torch-version": values["torch"],
        "torch-variant": values["variant"],
        "cuda-version": values["cuda"],
        "cudnn-version": values["cudnn"],
        "nccl-version": values["nccl"],
        "python-version": values["python"],
        "driver-version": values["driver"],
        "gpu-count": checks.gpu_count(facts),
        "gpu-names": json.dumps([str(d.get("name") or "") for d in devices]),
        "compute-capabilities": json.dumps(
            [str(d.get("compute_capability") or "") for d in devices]
        ),
        "failed-checks": json.dumps(failed_ids(results)),
        "report-path": report_path,
        "image-labels": labels_text(labels),
    }


def report(
    facts: Mapping[str, Any],
    expectations: Expectations,
    results: Sequence[CheckResult],
    *,
    verified_at: str,
    outputs_: Mapping[str, object],
    notes: Sequence[str] = (),
    image: Mapping[str, Any] | None = None,
    host_facts: Mapping[str, Any] | None = None,
    install: str = "",
) -> dict[str, Any]:
    """The JSON report file: everything the step knew, and what it concluded."""
    expected = {
        checks.FIELD_NAMES[name]: {"value": value, "from": expectations.origin(name)}
        for name, value in expectations.given().items()
    }
    return {
        "schema": REPORT_SCHEMA,
        "schema_version": REPORT_SCHEMA_VERSION,
        "ok": not checks.failed(results),
        "verified_at": verified_at,
        "expected": expected,
        "installed": installed(facts),
        "counts": counts(results),
        "checks": [r.as_dict() for r in results],
        "failed": failed_ids(results),
        "install": install,
        "notes": list(notes),
        "outputs": {k: _plain(v) for k, v in outputs_.items()},
        "image": dict(image) if image is not None else None,
        "facts": dict(facts),
        "host_facts": dict(host_facts) if host_facts is not None else None,
    }


def _plain(value: object) -> object:
    return value if isinstance(value, str | int | bool) or value is None else str(value)


def _cell(text: object) -> str:
    value = "" if text is None else str(text)
    return value.replace("|", "\\|").replace("\n", " ") or " "


def summary(
    facts: Mapping[str, Any],
    results: Sequence[CheckResult],
    *,
    title: str = "env-verify",
    report_path: str = "",
    notes: Sequence[str] = (),
    install: str = "",
) -> str:
    """The step summary: a verdict line, what is installed, and one row per check."""
    bad = checks.failed(results)
    verdict = (
        f":x: {len(bad)} check(s) failed" if bad else ":white_check_mark: the environment matches"
    )
    verdict += f" ({counts_text(results)})"
    values = installed(facts)
    devices = checks.visible_devices(facts)
    gpus = ", ".join(
        f"{d.get('name') or 'GPU'} (sm {d.get('compute_capability') or '?'})" for d in devices
    )
    lines = [
        f"### {title}: {verdict}",
        "",
        "| Component | Installed |",
        "|---|---|",
        f"| torch | {_cell(values['torch'] or 'not installed')} |",
        f"| build | {_cell(values['variant'] or '-')} |",
        f"| torchvision | {_cell(values['torchvision'] or '-')} |",
        f"| torchaudio | {_cell(values['torchaudio'] or '-')} |",
        f"| CUDA (torch build) | {_cell(values['cuda'] or '-')} |",
        f"| cuDNN | {_cell(values['cudnn'] or '-')} |",
        f"| NCCL | {_cell(values['nccl'] or '-')} |",
        f"| Python | {_cell(values['python'] or '-')} |",
        f"| NVIDIA driver | {_cell(values['driver'] or 'none')} |",
        f"| GPUs | {_cell(gpus or 'none')} |",
        "",
        "| Check | Status | Expected | Found | Detail |",
        "|---|---|---|---|---|",
    ]
    order = {status: i for i, status in enumerate(checks.STATUS_ORDER)}
    for result in sorted(results, key=lambda r: order[r.status]):
        detail = end_sentence(result.message) + (
            f" **Fix:** {end_sentence(result.fix)}"
            if result.status == "fail" and result.fix
            else ""
        )
        lines.append(
            f"| `{result.id}` | {_STATUS_ICON[result.status]} {result.status} "
            f"| {_cell(result.expected)} | {_cell(result.found)} | {_cell(detail)} |"
        )
    if install:
        lines.extend(["", f"**Fix the torch stack with one command:** `{install}`"])
    variables = facts.get("env")
    if isinstance(variables, Mapping) and variables:
        lines.extend(
            [
                "",
                f"<details><summary>Job variables ({len(variables)}: NCCL_*, CUDA_*, "
                "PYTORCH_*, TORCH_*; secret-looking values masked)</summary>",
                "",
                "| Variable | Value |",
                "|---|---|",
                *(f"| `{_cell(k)}` | {_cell(v)} |" for k, v in variables.items()),
                "",
                "</details>",
            ]
        )
    for note in notes:
        lines.extend(["", f"> {note}"])
    if report_path:
        lines.extend(["", f"Full report: `{report_path}`"])
    return "\n".join(lines) + "\n"
