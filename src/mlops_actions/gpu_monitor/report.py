"""The gpu-monitor report: JSON document, step summary (table and Mermaid chart), outputs.

Pure functions over `GpuStats`; the command writes what they return.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mlops_actions.gpu_monitor.stats import Bucket, GpuStats, downsample
from mlops_actions.markdown import cell

SCHEMA = "mlops-actions/gpu-monitor"
CHART_POINTS = 60  # points per chart line in the step summary
P95_NOTE = (
    "exact: utilisation arrives in whole percents and is counted in a 101-bin histogram "
    "(nearest-rank p95 over every sample)"
)
MEMORY_NOTE = (
    "device memory in use as the driver reports it: every process on the GPU (this job's CUDA "
    "contexts and caching allocator, and any other process), not the memory-controller busy %"
)


@dataclass(frozen=True)
class RunFacts:
    """What the command knows besides the GPUs."""

    command: tuple[str, ...]
    exit_code: int
    wall_time_s: float
    interval_s: float
    source: str | None  # "nvml" | "nvidia-smi" | None
    started_at: str
    unavailable: str = ""  # why no GPU was sampled


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def gpu_seconds(stats: GpuStats, wall_time_s: float) -> float:
    """How long this GPU was watched: the whole run, or until it was lost."""
    return max(0.0, stats.lost_at if stats.lost_at is not None else wall_time_s)


def gpu_figures(stats: GpuStats, wall_time_s: float) -> dict[str, Any]:
    ident = stats.identity
    total = stats.memory_total_mib
    peak = stats.memory_peak_mib
    return {
        "index": ident.index,
        "name": ident.name,
        "uuid": ident.uuid,
        "samples": stats.util_count,
        "polls": stats.polls,
        "utilization": {
            "mean": _round(stats.util_mean),
            "p95": stats.util_percentile(95),
            "max": stats.util_max,
            "idle_fraction": _round(stats.idle_fraction, 3),
        },
        "memory": {
            "peak_mib": _round(peak),
            "total_mib": _round(total),
            "peak_percent": _round(100 * peak / total) if peak is not None and total else None,
        },
        "power": {
            "mean_w": _round(stats.power_sum / stats.power_count if stats.power_count else None),
            "max_w": _round(stats.power_max_w),
        },
        "energy_wh": _round(stats.energy_wh, 4),
        "energy_source": stats.energy_source,
        "temperature_max_c": _round(stats.temperature_max_c),
        "sm_clock_max_mhz": _round(stats.sm_clock_max_mhz, 0),
        "throttle_reasons": stats.throttle_names(),
        "events": [{"t": round(e.t, 2), "kind": e.kind, "code": e.code} for e in stats.events],
        "event_counts": dict(sorted(stats.event_counts.items())),
        "processes": [
            {"pid": pid, "peak_mib": round(mib, 1)}
            for pid, mib in sorted(stats.processes.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
        "gpu_seconds": round(gpu_seconds(stats, wall_time_s), 3),
        "lost": stats.lost_at is not None,
        "lost_at_s": _round(stats.lost_at, 2),
        "lost_reason": stats.lost_reason,
    }


def timeline_json(stats: GpuStats) -> dict[str, Any]:
    return {
        "bucket_s": stats.timeline.width,
        "t": [round(b.start, 3) for b in stats.timeline.buckets],
        "utilization": [_round(b.utilization) for b in stats.timeline.buckets],
        "memory_mib": [_round(b.memory_max_mib) for b in stats.timeline.buckets],
    }


def build_report(facts: RunFacts, gpus: Sequence[GpuStats]) -> dict[str, Any]:
    figures = [gpu_figures(s, facts.wall_time_s) for s in gpus]
    return {
        "schema": SCHEMA,
        "version": 1,
        "command": list(facts.command),
        "exit_code": facts.exit_code,
        "started_at": facts.started_at,
        "wall_time_s": round(facts.wall_time_s, 3),
        "interval_s": facts.interval_s,
        "source": facts.source,
        "unavailable": facts.unavailable,
        "gpu_count": len(gpus),
        "gpu_hours": round(sum(f["gpu_seconds"] for f in figures) / 3600, 6),
        "notes": {"p95": P95_NOTE, "memory": MEMORY_NOTE},
        "gpus": figures,
        "timeline": [timeline_json(s) for s in gpus],
    }


# -- outputs ------------------------------------------------------------------------------------


def outputs(report: Mapping[str, Any], path: str) -> dict[str, object]:
    gpus = report["gpus"]
    peaks = [g["memory"]["peak_mib"] for g in gpus if g["memory"]["peak_mib"] is not None]
    means = [g["utilization"]["mean"] for g in gpus if g["utilization"]["mean"] is not None]
    return {
        "peak-memory-mib": round(max(peaks)) if peaks else "",
        "mean-utilization": round(sum(means) / len(means), 1) if means else "",
        "gpu-hours": report["gpu_hours"],
        "gpu-count": report["gpu_count"],
        "report": path,
        "gpus": json.dumps(compact_gpus(report), separators=(",", ":")),
    }


def compact_gpus(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The per-GPU figures another job shows (the label-route status comment)."""
    return [
        {
            "index": g["index"],
            "name": g["name"],
            "util_mean": g["utilization"]["mean"],
            "util_p95": g["utilization"]["p95"],
            "peak_mib": g["memory"]["peak_mib"],
            "peak_percent": g["memory"]["peak_percent"],
            "power_mean_w": g["power"]["mean_w"],
            "energy_wh": g["energy_wh"],
            "temperature_max_c": g["temperature_max_c"],
            "throttle": g["throttle_reasons"],
            "xid": g["event_counts"].get("xid", 0),
            "ecc": sum(n for k, n in g["event_counts"].items() if k.startswith("ecc")),
            "lost": g["lost"],
        }
        for g in report["gpus"]
    ]


# -- step summary -------------------------------------------------------------------------------


def _num(value: object, unit: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"{value}{unit}"


def summary_markdown(report: Mapping[str, Any]) -> str:
    lines = ["### GPU use"]
    wall = report["wall_time_s"]
    head = (
        f"Command exited **{report['exit_code']}** after {wall:.1f} s · "
        f"{report['gpu_count']} GPU(s) · {report['gpu_hours']:.4f} GPU-hours"
    )
    if report["source"]:
        head += f" · source `{report['source']}`, every {_num(report['interval_s'])} s"
    lines += ["", head]
    if not report["gpus"]:
        lines += ["", cell(report["unavailable"] or "no NVIDIA GPU visible")]
        return "\n".join(lines) + "\n"
    lines += [
        "",
        "| GPU | util mean / p95 / max | idle | peak memory | power mean / max | energy "
        "| max temp | throttle | events |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for g in report["gpus"]:
        util = g["utilization"]
        mem = g["memory"]
        idle = util["idle_fraction"]
        events = ", ".join(f"{k} x{n}" for k, n in g["event_counts"].items())
        if g["lost"]:
            events = (events + ", " if events else "") + f"lost at {g['lost_at_s']} s"
        peak = _num(mem["peak_mib"], " MiB")
        if mem["peak_percent"] is not None:
            peak += f" ({_num(mem['peak_percent'])}%)"
        lines.append(
            "| "
            + " | ".join(
                [
                    cell(f"{g['index']} {g['name']}"),
                    f"{_num(util['mean'], '%')} / {_num(util['p95'], '%')} / "
                    f"{_num(util['max'], '%')}",
                    _num(None if idle is None else round(100 * idle), "%"),
                    peak,
                    f"{_num(g['power']['mean_w'], ' W')} / {_num(g['power']['max_w'], ' W')}",
                    _num(g["energy_wh"], " Wh"),
                    _num(g["temperature_max_c"], " °C"),
                    cell(", ".join(g["throttle_reasons"])),
                    cell(events),
                ]
            )
            + " |"
        )
    lines += ["", "Peak memory: " + MEMORY_NOTE + ". p95: " + P95_NOTE + "."]
    chart = mermaid_chart(report)
    if chart:
        lines += ["", chart]
    return "\n".join(lines) + "\n"


def mermaid_chart(report: Mapping[str, Any], points: int = CHART_POINTS) -> str:
    """Utilisation and memory (% of total) per GPU over time, as a Mermaid xychart."""
    series: list[tuple[str, list[float]]] = []
    axis: list[float] = []
    for g, line in zip(report["gpus"], report["timeline"], strict=True):
        buckets = [
            Bucket(t, (u or 0.0), 1 if u is not None else 0, m)
            for t, u, m in zip(line["t"], line["utilization"], line["memory_mib"], strict=True)
        ]
        sampled = downsample(buckets, points)
        if len(sampled) > len(axis):
            axis = [b.start for b in sampled]
        total = g["memory"]["total_mib"]
        series.append((f"GPU {g['index']} util %", [_pct(b.utilization) for b in sampled]))
        if total:
            series.append(
                (
                    f"GPU {g['index']} memory %",
                    [
                        _pct(None if b.memory_max_mib is None else 100 * b.memory_max_mib / total)
                        for b in sampled
                    ],
                )
            )
    if len(axis) < 2:
        return ""
    minutes = axis[-1] >= 120
    digits = 0 if axis[-1] >= 20 else 1  # short runs: tenths, so labels stay distinct
    labels = ", ".join(f'"{t / 60:.0f}"' if minutes else f'"{t:.{digits}f}"' for t in axis)
    legend = "; ".join(f"line {i + 1}: {name}" for i, (name, _) in enumerate(series))
    body = [
        "```mermaid",
        "xychart-beta",
        '    title "GPU utilisation and memory (%)"',
        f'    x-axis "{"minutes" if minutes else "seconds"}" [{labels}]',
        '    y-axis "%" 0 --> 100',
    ]
    for _, values in series:
        padded = values + [values[-1] if values else 0.0] * (len(axis) - len(values))
        body.append("    line [" + ", ".join(f"{v:g}" for v in padded) + "]")
    body.append("```")
    return "\n".join(body) + f"\n\n{cell(legend)}"


def _pct(value: float | None) -> float:
    return 0.0 if value is None else round(min(100.0, max(0.0, value)), 1)
