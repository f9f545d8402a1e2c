"""gpu-monitor's pure parts: streaming aggregates, the bounded timeline, the report and its
Markdown, and the nvidia-smi CSV parser."""

from __future__ import annotations

import json
import math

from hypothesis import given
from hypothesis import strategies as st

from mlops_actions.gpu_monitor import report as render
from mlops_actions.gpu_monitor.sources import parse_smi_rows, smi_number
from mlops_actions.gpu_monitor.stats import (
    TIMELINE_POINTS,
    Event,
    Identity,
    Reading,
    histogram_percentile,
    new_stats,
    throttle_names,
)

H100 = Identity(0, "NVIDIA H100 80GB HBM3", "GPU-4f9a", 81559.0)


@given(st.lists(st.integers(min_value=0, max_value=100), min_size=1, max_size=500))
def test_histogram_p95_is_the_exact_nearest_rank(values: list[int]) -> None:
    histogram = [0] * 101
    for v in values:
        histogram[v] += 1
    ordered = sorted(values)
    expected = ordered[math.ceil(0.95 * len(ordered)) - 1]
    assert histogram_percentile(histogram, 95) == expected


def test_histogram_percentile_of_nothing() -> None:
    assert histogram_percentile([0] * 101, 95) is None


def simulate(seconds: int, interval: float = 1.0) -> dict[str, object]:
    """A job of `seconds` at `interval`: utilisation climbs and falls, memory grows."""
    [stats] = new_stats([H100], interval)
    for tick in range(int(seconds / interval)):
        t = tick * interval
        stats.add(
            Reading(
                t=t,
                utilization=(float(tick % 101), float((tick * 7) % 101)),
                memory_used_mib=1000.0 + (tick % 5000),
                memory_total_mib=81559.0,
                power_w=300.0 + tick % 50,
                energy_mj=10**9 + int(t * 300_000),
                temperature_c=60.0 + tick % 20,
                sm_clock_mhz=1980.0,
                throttle_reasons=0x4 if tick % 1000 == 0 else 0,
                processes=((1000 + tick % 3, 2048.0),),
            )
        )
        if tick % 3600 == 1:
            stats.add_event(Event(t, "xid", 79))
    facts = render.RunFacts(("python", "train.py"), 0, float(seconds), interval, "nvml", "now")
    return render.build_report(facts, [stats])


def test_a_day_at_1hz_keeps_a_bounded_report() -> None:
    hour = simulate(3600)
    day = simulate(24 * 3600)
    [timeline] = day["timeline"]  # type: ignore[misc]
    assert len(timeline["t"]) <= TIMELINE_POINTS
    assert timeline["bucket_s"] == 512  # 240 one-second buckets halved nine times
    assert timeline["t"][-1] + timeline["bucket_s"] >= 24 * 3600 - 1
    day_size = len(json.dumps(day))
    assert day_size < 40_000
    assert day_size < 1.5 * len(json.dumps(hour))  # size does not grow with duration
    [gpu] = day["gpus"]  # type: ignore[misc]
    assert gpu["samples"] == 2 * 24 * 3600
    assert gpu["utilization"]["max"] == 100
    assert gpu["processes"] == [{"pid": p, "peak_mib": 2048.0} for p in (1000, 1001, 1002)]
    assert gpu["event_counts"] == {"xid": 24} and len(gpu["events"]) == 24
    # 300 W for a day by the counter: 7.2 kWh.
    assert gpu["energy_source"] == "counter"
    assert gpu["energy_wh"] == round(7200.0 - 300 / 3600, 4)  # the last second is not polled
    summary = render.summary_markdown(day)
    assert len(summary.encode()) < 16_000  # far below the 1 MiB step-summary limit
    chart_lines = [line for line in summary.splitlines() if line.startswith("    line [")]
    assert len(chart_lines) == 2
    assert all(line.count(",") + 1 <= render.CHART_POINTS for line in chart_lines)


def test_timeline_merging_keeps_the_mean_and_the_peak() -> None:
    [stats] = new_stats([H100], 1.0)
    for tick in range(1000):
        stats.add(Reading(t=float(tick), utilization=(float(tick % 10),), memory_used_mib=tick))
    buckets = stats.timeline.buckets
    assert len(buckets) <= TIMELINE_POINTS
    assert sum(b.util_count for b in buckets) == 1000
    assert sum(b.util_sum for b in buckets) / 1000 == stats.util_mean == 4.5
    assert max(b.memory_max_mib or 0 for b in buckets) == 999


def test_energy_falls_back_to_integrated_power() -> None:
    [stats] = new_stats([H100], 1.0)
    for t, watts in ((0.0, 100.0), (1.0, 300.0), (2.0, 300.0)):
        stats.add(Reading(t=t, power_w=watts))
    assert stats.energy_source == "integrated-power"
    assert stats.energy_wh == (200 + 300) / 3600
    # A counter that went backwards (driver reload) is not trusted either.
    [reset] = new_stats([H100], 1.0)
    reset.add(Reading(t=0.0, power_w=100.0, energy_mj=5_000))
    reset.add(Reading(t=1.0, power_w=100.0, energy_mj=10))
    assert reset.energy_source == "integrated-power"
    assert reset.energy_wh == 100 / 3600


def test_throttle_names() -> None:
    assert throttle_names(0) == []
    assert throttle_names(0x4 | 0x40) == ["sw-power-cap", "hw-thermal-slowdown"]
    assert throttle_names(0x1000) == ["other-0x1000"]


def test_untrusted_text_stays_inert_in_the_summary() -> None:
    hostile = Identity(0, "GPU | <img src=x> @org/team [link](http://x) `code`", "GPU-1", 100.0)
    [stats] = new_stats([hostile], 1.0)
    stats.add(Reading(t=0.0, utilization=(50.0,), memory_used_mib=50.0))
    stats.add(Reading(t=1.0, utilization=(50.0,), memory_used_mib=50.0))
    facts = render.RunFacts(("x",), 0, 2.0, 1.0, "nvml", "now")
    summary = render.summary_markdown(render.build_report(facts, [stats]))
    row = next(line for line in summary.splitlines() if "GPU-1" in line or "img" in line)
    assert "<img" not in row and "&lt;img src=x&gt;" in row
    assert "\\@org/team" in row and "\\[link\\]" in row and "\\`code\\`" in row
    assert row.count(" | ") == 8  # the name's pipe is escaped, not a column


def test_no_gpu_summary_and_outputs() -> None:
    facts = render.RunFacts(("x",), 3, 1.5, 1.0, None, "now", "no NVIDIA GPU visible (x)")
    document = render.build_report(facts, [])
    assert "no NVIDIA GPU visible (x)" in render.summary_markdown(document)
    outputs = render.outputs(document, "")
    assert outputs["peak-memory-mib"] == "" and outputs["mean-utilization"] == ""
    assert outputs["gpus"] == "[]" and outputs["gpu-count"] == 0


def test_smi_rows_with_commas_in_names_and_missing_values() -> None:
    fields = ("index", "name", "uuid", "utilization.gpu")
    text = "0, NVIDIA A100-SXM4-80GB, GPU-1, 87\n1, Quadro RTX 8000, Max-Q, GPU-2, [N/A]\n\n"
    rows = parse_smi_rows(text, fields)
    assert rows[1]["name"] == "Quadro RTX 8000, Max-Q" and rows[1]["uuid"] == "GPU-2"
    assert smi_number(rows[0]["utilization.gpu"]) == 87.0
    assert smi_number(rows[1]["utilization.gpu"]) is None
    assert smi_number("[Not Supported]") is None and smi_number("0x0000000000000004") == 4.0
