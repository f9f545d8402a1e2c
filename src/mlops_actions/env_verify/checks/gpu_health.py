"""GPU health checks: the facts people read by hand from ``nvidia-smi -q`` before trusting a GPU.

Each reads the ``health`` the probe took from NVML (or nvidia-smi) for every GPU the job sees:
uncorrected ECC errors since the driver loaded, page retirement or row remapping waiting for a
reset, persistence mode, the current clock throttle reasons, and MIG mode with the MIG devices
``CUDA_VISIBLE_DEVICES`` selects. A GPU that lacks a feature (no ECC on a GeForce) has no fact,
and the check skips for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlops_actions.env_verify.checks.facts import (
    Selected,
    cuda_visible_devices,
    gpu_devices,
    visible_selection,
)
from mlops_actions.env_verify.checks.model import Check, CheckResult

_RESET = "reset the GPU (`nvidia-smi -r -i <index>` with no process on it, or reboot the runner)"

GPU_ECC = Check(
    "gpu-ecc",
    reads=("gpu.devices[].health.ecc_volatile_uncorrected", "gpu.env.CUDA_VISIBLE_DEVICES"),
    fix="take the runner out of rotation: uncorrected ECC errors corrupt results or crash "
    f"kernels; {_RESET}, and have the GPU replaced if they come back.",
)
GPU_MEMORY_REPAIR = Check(
    "gpu-memory-repair",
    reads=(
        "gpu.devices[].health.retired_pages_pending",
        "gpu.devices[].health.remapped_rows_pending",
        "gpu.devices[].health.remapped_rows_failure",
    ),
    fix=f"{_RESET} so the pending page retirement / row remapping takes effect; a row "
    "remapping failure means the GPU must be replaced.",
)
GPU_PERSISTENCE = Check(
    "gpu-persistence",
    reads=("gpu.devices[].health.persistence_mode",),
    fix="enable persistence mode on the runner (`sudo nvidia-smi -pm 1`, or run "
    "nvidia-persistenced) so the driver stays initialised between jobs.",
)
GPU_THROTTLE = Check(
    "gpu-throttle",
    reads=("gpu.devices[].health.throttle_reasons",),
    fix="check the runner's cooling and power (`nvidia-smi -q -d PERFORMANCE,TEMPERATURE`); "
    "timings on a throttled GPU are not representative.",
)
GPU_MIG = Check(
    "gpu-mig",
    reads=(
        "gpu.devices[].health.mig_mode",
        "gpu.devices[].health.mig_pending",
        "gpu.devices[].health.mig_devices",
        "gpu.env.CUDA_VISIBLE_DEVICES",
    ),
    fix="set CUDA_VISIBLE_DEVICES to one MIG device UUID (`nvidia-smi -L` lists them, "
    "MIG-...), or disable MIG mode on the GPU (`nvidia-smi -mig 0`, then a reset).",
)
GPU_VISIBLE = Check(
    "gpu-visible",
    reads=("gpu.env.CUDA_VISIBLE_DEVICES", "gpu.devices[].uuid", "gpu.devices[].index"),
    fix="list indices, GPU-... or MIG-... UUIDs that exist (`nvidia-smi -L`) in "
    "CUDA_VISIBLE_DEVICES; the runner's device plugin or the job's env sets it.",
)
CHECKS = (GPU_VISIBLE, GPU_MIG, GPU_ECC, GPU_MEMORY_REPAIR, GPU_PERSISTENCE, GPU_THROTTLE)

# Throttle reasons that mean the GPU runs slower than it should; the others (idle, application
# clocks, sync boost, display clocks, the software power cap) are normal operation.
BAD_THROTTLE = (
    "hw_slowdown",
    "sw_thermal_slowdown",
    "hw_thermal_slowdown",
    "hw_power_brake_slowdown",
)


def _label(selected: Selected) -> str:
    device = selected.device
    name = f"GPU {device.get('index')} ({device.get('name') or 'GPU'})"
    return f"{name} MIG {selected.mig}" if selected.mig else name


def _health(selected: Selected) -> Mapping[str, Any] | None:
    health = selected.device.get("health")
    return health if isinstance(health, Mapping) else None


def _physical(facts: Mapping[str, Any]) -> list[Selected]:
    """The visible GPUs, each physical GPU once (two of its MIG devices are one GPU)."""
    seen: set[int] = set()
    out: list[Selected] = []
    for selected in visible_selection(facts)[0]:
        if id(selected.device) not in seen:
            seen.add(id(selected.device))
            out.append(selected)
    return out


def _per_gpu(
    check: Check, facts: Mapping[str, Any], field: str
) -> tuple[list[tuple[Selected, Any]], CheckResult | None]:
    """(visible GPU, value of ``field``) for GPUs that report it, or a skip result."""
    gpus = _physical(facts)
    if not gpus:
        return [], check.result("skip", "", "no GPU", "no visible GPU")
    known: list[tuple[Selected, Any]] = []
    for gpu in gpus:
        value = (_health(gpu) or {}).get(field)
        if value is not None:
            known.append((gpu, value))
    if not known:
        what = field.replace("_", " ")
        return [], check.result("skip", "", "unknown", f"the driver reports no {what} here")
    return known, None


def check_ecc(facts: Mapping[str, Any]) -> CheckResult:
    known, skipped = _per_gpu(GPU_ECC, facts, "ecc_volatile_uncorrected")
    if skipped is not None:
        return skipped
    bad = [f"{_label(g)}: {n}" for g, n in known if int(n) > 0]
    found = "; ".join(f"{_label(g)}: {n}" for g, n in known)
    if bad:
        return GPU_ECC.result(
            "fail",
            "0 uncorrected ECC errors",
            found,
            "uncorrected (volatile) ECC errors since the driver loaded: " + "; ".join(bad),
        )
    return GPU_ECC.result("ok", "0 uncorrected ECC errors", found, "no uncorrected ECC errors")


def check_memory_repair(facts: Mapping[str, Any]) -> CheckResult:
    gpus = _physical(facts)
    if not gpus:
        return GPU_MEMORY_REPAIR.result("skip", "", "no GPU", "no visible GPU")
    problems: list[str] = []
    failures = False
    read = 0
    for gpu in gpus:
        health = _health(gpu) or {}
        values = [health.get(k) for k in ("retired_pages_pending", "remapped_rows_pending")]
        failure = health.get("remapped_rows_failure")
        if all(v is None for v in (*values, failure)):
            continue
        read += 1
        if health.get("retired_pages_pending"):
            problems.append(f"{_label(gpu)}: retired pages pending a reset")
        if health.get("remapped_rows_pending"):
            problems.append(f"{_label(gpu)}: row remapping pending a reset")
        if failure:
            failures = True
            problems.append(f"{_label(gpu)}: row remapping failed")
    if not read:
        return GPU_MEMORY_REPAIR.result(
            "skip", "", "unknown", "the driver reports no page retirement or row remapping"
        )
    expected = "no page retirement or row remapping pending"
    if problems:
        why = (
            "the GPU could not remap a failing memory row"
            if failures
            else "memory repairs wait for a GPU reset; until then the bad memory is still in use"
        )
        return GPU_MEMORY_REPAIR.result("fail", expected, "; ".join(problems), why)
    return GPU_MEMORY_REPAIR.result("ok", expected, "none pending", "no memory repair pending")


def check_persistence(facts: Mapping[str, Any]) -> CheckResult:
    known, skipped = _per_gpu(GPU_PERSISTENCE, facts, "persistence_mode")
    if skipped is not None:
        return skipped
    off = [_label(g) for g, on in known if not on]
    if off:
        return GPU_PERSISTENCE.result(
            "warn",
            "persistence mode on",
            "off: " + ", ".join(off),
            "persistence mode is off: the driver tears down and re-initialises the GPU for every "
            "job, adding seconds to CUDA start-up and losing its state between jobs",
        )
    return GPU_PERSISTENCE.result("ok", "persistence mode on", "on", "persistence mode is on")


def check_throttle(facts: Mapping[str, Any]) -> CheckResult:
    known, skipped = _per_gpu(GPU_THROTTLE, facts, "throttle_reasons")
    if skipped is not None:
        return skipped
    bad = [
        f"{_label(g)}: " + ", ".join(r for r in reasons if r in BAD_THROTTLE)
        for g, reasons in known
        if any(r in BAD_THROTTLE for r in reasons)
    ]
    found = "; ".join(f"{_label(g)}: {', '.join(r) or 'none'}" for g, r in known)
    expected = "no thermal, power-brake or hardware slowdown"
    if bad:
        return GPU_THROTTLE.result(
            "warn", expected, found, "the GPU is slowing its clocks now: " + "; ".join(bad)
        )
    return GPU_THROTTLE.result("ok", expected, found, "no hardware or thermal slowdown")


def check_visible(facts: Mapping[str, Any]) -> CheckResult:
    spec = cuda_visible_devices(facts)
    devices = gpu_devices(facts)
    if spec is None:
        return GPU_VISIBLE.result("skip", "", "unset", "CUDA_VISIBLE_DEVICES is not set")
    if not devices:
        return GPU_VISIBLE.result("skip", "", spec, "no GPU listed by the driver")
    selected, unmatched = visible_selection(facts)
    found = f"CUDA_VISIBLE_DEVICES={spec!r}"
    if unmatched:
        return GPU_VISIBLE.result(
            "fail",
            "entries that name existing devices",
            found,
            f"CUDA_VISIBLE_DEVICES entry {unmatched[0]!r} matches no GPU or MIG device: CUDA "
            "ignores it and every entry after it"
            + (
                f" ({len(selected)} device(s) remain visible)"
                if selected
                else ", so no GPU is visible"
            ),
        )
    if not selected:
        return GPU_VISIBLE.result(
            "ok", "", found, f"CUDA_VISIBLE_DEVICES hides all {len(devices)} GPU(s) on purpose"
        )
    return GPU_VISIBLE.result("ok", "", found, "selects " + ", ".join(_label(s) for s in selected))


def check_mig(facts: Mapping[str, Any]) -> CheckResult:
    # Only the GPUs this job sees: another job's MIG layout is not this job's problem.
    modes = [(g.device, h) for g in _physical(facts) if (h := _health(g)) is not None]
    if not any(h.get("mig_mode") is not None for _, h in modes):
        return GPU_MIG.result("skip", "", "", "no visible GPU reports a MIG mode")
    selected, _ = visible_selection(facts)
    problems: list[str] = []
    warnings: list[str] = []
    for device, health in modes:
        if health.get("mig_pending") is not None and health.get("mig_pending") != health.get(
            "mig_mode"
        ):
            state = "on" if health.get("mig_pending") else "off"
            warnings.append(f"GPU {device.get('index')} switches MIG {state} only after a reset")
    # Unset, CUDA enumerates MIG devices itself; only naming a MIG-mode GPU whole is wrong.
    explicit = selected if cuda_visible_devices(facts) is not None else []
    for chosen in explicit:
        health = _health(chosen) or {}
        if health.get("mig_mode") and chosen.mig is None:
            migs = health.get("mig_devices") or []
            problems.append(
                f"GPU {chosen.device.get('index')} is in MIG mode, so CUDA cannot use it whole"
                + (f"; its MIG devices: {', '.join(migs)}" if migs else "; it has no MIG devices")
            )
    migs_selected = [s.mig for s in selected if s.mig]
    if len(migs_selected) > 1:
        warnings.append(
            f"{len(migs_selected)} MIG devices selected: a CUDA process uses only the first "
            f"({migs_selected[0]})"
        )
    found = ", ".join(
        f"GPU {d.get('index')}: MIG {'on' if h.get('mig_mode') else 'off'}" for d, h in modes
    )
    if problems:
        return GPU_MIG.result("fail", "a MIG device per process", found, "; ".join(problems))
    if warnings:
        return GPU_MIG.result("warn", "a MIG device per process", found, "; ".join(warnings))
    chosen_mig = f"; CUDA uses {migs_selected[0]}" if migs_selected else ""
    return GPU_MIG.result("ok", "", found, "MIG configuration is usable" + chosen_mig)


def evaluate(facts: Mapping[str, Any]) -> list[CheckResult]:
    """The GPU health checks, in ``CHECKS`` order."""
    return [
        check_visible(facts),
        check_mig(facts),
        check_ecc(facts),
        check_memory_repair(facts),
        check_persistence(facts),
        check_throttle(facts),
    ]
