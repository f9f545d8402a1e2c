"""Prometheus export of a gpu-monitor report, through prometheus-client (never hand-written).

`--prometheus-textfile` writes node-exporter's textfile-collector format (prometheus-client
writes a temporary file and renames it, so the collector never reads half a file);
`--pushgateway` pushes the same metrics under a grouping key of repository, workflow, run id
and runner.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Gauge, push_to_gateway, write_to_textfile

PREFIX = "mlops_gpu_monitor"
RUN_LABELS = ("repository", "workflow", "run_id", "runner")
GPU_LABELS = ("gpu", "uuid", "name")


def run_labels(github: Mapping[str, str]) -> dict[str, str]:
    return {
        "repository": github.get("GITHUB_REPOSITORY", ""),
        "workflow": github.get("GITHUB_WORKFLOW", ""),
        "run_id": github.get("GITHUB_RUN_ID", ""),
        "runner": github.get("RUNNER_NAME", ""),
    }


def registry_for(report: Mapping[str, Any], labels: Mapping[str, str]) -> CollectorRegistry:
    """The report as gauges; `labels` (run labels, or none for a push) go on every series."""
    registry = CollectorRegistry()
    run_names = tuple(labels)

    def gauge(name: str, doc: str, per_gpu: bool) -> Gauge:
        names = run_names + (GPU_LABELS if per_gpu else ())
        return Gauge(f"{PREFIX}_{name}", doc, names, registry=registry)

    wall = gauge("wall_time_seconds", "Wall time of the monitored command.", False)
    hours = gauge("gpu_hours", "GPU-hours the command held (GPUs x wall time).", False)
    code = gauge("exit_code", "Exit status of the monitored command.", False)
    for metric, value in ((wall, "wall_time_s"), (hours, "gpu_hours"), (code, "exit_code")):
        (metric.labels(**labels) if labels else metric).set(report[value])
    per_gpu = {
        "utilization_mean_percent": ("Mean GPU utilisation.", ("utilization", "mean")),
        "utilization_p95_percent": ("95th percentile GPU utilisation.", ("utilization", "p95")),
        "utilization_max_percent": ("Highest GPU utilisation.", ("utilization", "max")),
        "idle_ratio": ("Fraction of utilisation samples at 0%.", ("utilization", "idle_fraction")),
        "memory_peak_bytes": ("Peak device memory in use.", ("memory", "peak_mib")),
        "memory_total_bytes": ("Device memory.", ("memory", "total_mib")),
        "power_mean_watts": ("Mean power draw.", ("power", "mean_w")),
        "power_max_watts": ("Highest power draw.", ("power", "max_w")),
        "energy_joules": ("Energy used during the command.", ("energy_wh",)),
        "temperature_max_celsius": ("Highest GPU temperature.", ("temperature_max_c",)),
        "samples": ("Utilisation samples taken.", ("samples",)),
        "xid_events": ("Xid critical error events.", ("event_counts", "xid")),
    }
    gauges = {name: gauge(name, doc, True) for name, (doc, _) in per_gpu.items()}
    for gpu in report["gpus"]:
        gpu_labels = {
            **labels,
            "gpu": str(gpu["index"]),
            "uuid": gpu["uuid"],
            "name": gpu["name"],
        }
        for name, (_, path) in per_gpu.items():
            value = _dig(gpu, path, default=0 if name == "xid_events" else None)
            if value is None:
                continue
            if name.endswith("_bytes"):
                value = value * 1024 * 1024
            elif name == "energy_joules":
                value = value * 3600
            gauges[name].labels(**gpu_labels).set(value)
    return registry


def write_textfile(path: str, report: Mapping[str, Any], github: Mapping[str, str]) -> None:
    write_to_textfile(path, registry_for(report, run_labels(github)))


def push(url: str, job: str, report: Mapping[str, Any], github: Mapping[str, str]) -> None:
    grouping = {k: v for k, v in run_labels(github).items() if v}
    push_to_gateway(
        url, job=job, registry=registry_for(report, {}), grouping_key=grouping, timeout=10
    )


def _dig(data: Mapping[str, Any], path: tuple[str, ...], default: Any = None) -> Any:
    value: Any = data
    for key in path:
        if not isinstance(value, Mapping) or key not in value:
            return default
        value = value[key]
    return value
