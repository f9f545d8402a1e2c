"""What gpu-monitor costs: sampler CPU at 1 Hz, wrapper overhead, wrapper memory, report size.

Runs the real CLI as a process around a child, against the NVML driver stand-in (the C-ABI
library the tests compile, read through the real nvidia-ml-py bindings) playing 8 GPUs, and
simulates a 24-hour job at 1 Hz through the aggregates. Goals (docs/gpu-monitor.md):

- sampling at 1 Hz costs at most 1% of one core (CPU of a 20 s run minus a 0 s run, per second);
- the wrapper adds at most 0.3 s to a child's wall time (median of interleaved rounds against the
  same child started directly);
- the wrapper's peak RSS is at most 40 MiB;
- a simulated 24 h at 1 Hz keeps the report about the size of a 1 h one (bounded).

    python bench/gpu_monitor.py [--runs 5] [--seconds 20]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _timing import Stopwatch, child_env, medians, rounds

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mlops_actions.gpu_monitor import report as render  # noqa: E402
from mlops_actions.gpu_monitor.stats import Identity, Reading, new_stats  # noqa: E402
from tests.support.envs import build_fake_nvml  # noqa: E402
from tests.support.gpu_monitor import GpuSpec, nvml_env  # noqa: E402

TELEMETRY = {
    "util": "0,35,70,99",
    "mem": "20480,40960,61440",
    "power": "300000,450000,700000",
    "temp": "60,70,80",
    "sm": "1755,1980",
    "throttle": "0,4",
    "procs": "4242:61000/4343:512",
}
GPUS = [
    GpuSpec(f"GPU-00000000-0000-0000-0000-00000000000{i}", telemetry=TELEMETRY) for i in range(8)
]


def run_wrapped(args: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """(wall s, CPU s of the wrapper and its child, peak RSS KiB) of one gpu-monitor run."""
    command = [sys.executable, "-m", "mlops_actions", "gpu-monitor", *args]
    with Stopwatch() as watch:
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
        _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"gpu-monitor exited {process.returncode}: {command}")
    return watch.seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss


def run_direct(argv: list[str], env: dict[str, str]) -> float:
    with Stopwatch() as watch:
        subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL)
    return watch.seconds


def simulate(seconds: int, gpus: int = 8) -> tuple[int, int, float]:
    """(report JSON bytes, step summary bytes, µs per reading) for a job of `seconds` at 1 Hz."""
    identities = [Identity(i, "NVIDIA H100 80GB HBM3", f"GPU-{i}", 81559.0) for i in range(gpus)]
    stats = new_stats(identities, 1.0)
    started = time.perf_counter()
    for tick in range(seconds):
        for gpu in stats:
            gpu.add(
                Reading(
                    t=float(tick),
                    utilization=(float(tick % 101), float((tick * 7) % 101)),
                    memory_used_mib=20000.0 + tick % 40000,
                    memory_total_mib=81559.0,
                    power_w=300.0 + tick % 400,
                    energy_mj=10**9 + tick * 500_000,
                    temperature_c=60.0 + tick % 25,
                    sm_clock_mhz=1980.0,
                    throttle_reasons=0x4 if tick % 600 == 0 else 0,
                    processes=((4242, 61000.0),),
                )
            )
    per_reading = (time.perf_counter() - started) / (seconds * gpus) * 1e6
    facts = render.RunFacts(("python", "train.py"), 0, float(seconds), 1.0, "nvml", "now")
    document = render.build_report(facts, stats)
    return len(json.dumps(document, indent=2)), len(render.summary_markdown(document)), per_reading


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=20)
    args = parser.parse_args()
    ok = True
    with tempfile.TemporaryDirectory(prefix="gpu-monitor-bench-") as temp:
        library = build_fake_nvml(Path(temp) / "nvml")
        env = child_env(**nvml_env(library, GPUS))

        # CPU of sampling: a long run minus an empty one, over the long run's length.
        _, cpu_empty, _ = run_wrapped(["--interval", "1", "--", "true"], env)
        wall, cpu_long, rss_kib = run_wrapped(
            ["--interval", "1", "--", "sleep", str(args.seconds)], env
        )
        share = (cpu_long - cpu_empty) / args.seconds
        print(
            f"sampler CPU at 1 Hz, 8 GPUs: {cpu_long:.3f} s CPU in {wall:.1f} s, "
            f"{cpu_empty:.3f} s for an empty run -> {100 * share:.2f}% of one core (goal <= 1%)"
        )
        ok &= share <= 0.01
        print(f"wrapper peak RSS: {rss_kib / 1024:.1f} MiB (goal <= 40 MiB)")
        ok &= rss_kib / 1024 <= 40

        # Overhead on the child's wall time: the same child, direct and wrapped, interleaved.
        child = ["sleep", "1"]
        samples = rounds(
            {
                "sleep 1": lambda: run_direct(child, env),
                "gpu-monitor -- sleep 1": lambda: run_wrapped(["--", *child], env)[0],
            },
            args.runs,
            warm=True,
        )
        middle = medians(samples)
        overhead = middle["gpu-monitor -- sleep 1"] - middle["sleep 1"]
        for name, value in middle.items():
            print(f"  {name}: median {value:.3f} s over {args.runs} runs")
        print(f"wrapper overhead on the child's wall time: {overhead:.3f} s (goal <= 0.3 s)")
        ok &= overhead <= 0.3

    hour_json, hour_md, _ = simulate(3600)
    day_json, day_md, per_reading = simulate(24 * 3600)
    print(
        f"simulated 8 GPUs at 1 Hz: report {hour_json / 1024:.1f} KiB after 1 h, "
        f"{day_json / 1024:.1f} KiB after 24 h ({day_json / hour_json:.2f}x); step summary "
        f"{hour_md / 1024:.1f} / {day_md / 1024:.1f} KiB (GitHub's limit: 1024 KiB); "
        f"{per_reading:.1f} µs per reading"
    )
    ok &= day_json <= 1.5 * hour_json and day_md < 64 * 1024
    print("all goals met" if ok else "GOAL MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
