"""The label-route work job's GPU figures (gpu-monitor's `gpus` output) as status-comment rows.

That output crossed from a job that ran the pull request's code, so it is data of unknown
shape: parsed as JSON, every field checked, every string escaped, the row count bounded.
"""

from __future__ import annotations

import json
import math
from typing import Any

from mlops_actions.markdown import cell

MAX_GPUS = 16
MAX_NAME = 80


def gpu_rows(text: str) -> tuple[tuple[str, str], ...] | None:
    """(key, value) rows for the metrics table; None when `text` is not gpu-monitor's shape."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return None
    if not isinstance(data, list) or not all(isinstance(g, dict) for g in data):
        return None
    if not data:
        return (("GPUs", "no NVIDIA GPU visible"),)
    rows = [_row(g) for g in data[:MAX_GPUS]]
    if len(data) > MAX_GPUS:
        rows.append(("GPUs", f"{len(data) - MAX_GPUS} more not shown"))
    return tuple(rows)


def _row(gpu: dict[str, Any]) -> tuple[str, str]:
    index = _number(gpu.get("index"))
    raw_name = gpu.get("name")
    name = raw_name[:MAX_NAME] if isinstance(raw_name, str) else ""
    key = cell(f"GPU {'?' if index is None else int(index)} {name}".strip())
    parts = []
    mean, p95 = _number(gpu.get("util_mean")), _number(gpu.get("util_p95"))
    if mean is not None:
        parts.append(f"util {mean:g}% mean" + (f", {p95:g}% p95" if p95 is not None else ""))
    peak, share = _number(gpu.get("peak_mib")), _number(gpu.get("peak_percent"))
    if peak is not None:
        parts.append(f"peak {peak:.0f} MiB" + (f" ({share:g}%)" if share is not None else ""))
    power, energy = _number(gpu.get("power_mean_w")), _number(gpu.get("energy_wh"))
    if power is not None:
        parts.append(f"{power:g} W mean")
    if energy is not None:
        parts.append(f"{energy:g} Wh")
    temperature = _number(gpu.get("temperature_max_c"))
    if temperature is not None:
        parts.append(f"max {temperature:g} °C")
    throttle = gpu.get("throttle")
    if isinstance(throttle, list) and throttle:
        parts.append("throttled: " + ", ".join(str(t)[:40] for t in throttle[:10]))
    for field, label in (("xid", "Xid events"), ("ecc", "ECC events")):
        count = _number(gpu.get(field))
        if count:
            parts.append(f"{count:g} {label}")
    if gpu.get("lost") is True:
        parts.append("lost during the run")
    return key, cell(" · ".join(parts) or "no samples")


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None
