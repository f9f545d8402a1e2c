"""gpu-monitor as users run it: a process wrapping a command, against the NVML driver stand-in
(real nvidia-ml-py bindings over ctypes), the nvidia-smi stand-in, or no GPU at all."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

from tests.support.envs import build_fake_nvml
from tests.support.gpu_monitor import (
    GpuSpec,
    monitor_env,
    nvml_env,
    run_monitor,
    start_monitor,
    write_smi,
)

BUSY = GpuSpec(
    "GPU-4f9a1f5e-8c3e-6a0b-2b7e-1d2c3e4f5a6b",
    telemetry={
        "util": "0,50,100,90",
        "mem": "1024,61440,2048",
        "power": "300000,400000",
        "temp": "61,74",
        "sm": "1755,1980",
        "throttle": "0,4,20",
        "procs": "4242:61000/4343:512",
        "xid": "79@150",
    },
)
POLLED = GpuSpec(
    "GPU-9b8c7d6e-5f4a-3b2c-1d0e-f9e8d7c6b5a4",
    name="NVIDIA A100-SXM4-80GB",
    memory_mib=81920,
    telemetry={
        "util": "30",
        "nosamples": "1",
        "mem": "8192",
        "power": "250000",
        "ecc": "double@150",
    },
)


@pytest.fixture(scope="module")
def nvml_lib(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_fake_nvml(tmp_path_factory.mktemp("nvml"))


def sleeper(seconds: float, code: int = 0) -> list[str]:
    return [sys.executable, "-c", f"import time, sys; time.sleep({seconds}); sys.exit({code})"]


def test_two_gpus_every_figure(nvml_lib: Path, tmp_path: Path) -> None:
    env = monitor_env(nvml_env(nvml_lib, [BUSY, POLLED]))
    run = run_monitor(tmp_path, ["--interval", "0.1", "--", *sleeper(1.0)], env)
    assert run.returncode == 0, run.stderr
    report = run.report
    assert report["source"] == "nvml" and report["gpu_count"] == 2
    assert 1.0 <= report["wall_time_s"] < 5
    busy, polled = report["gpus"]
    assert (busy["index"], busy["name"], busy["uuid"]) == (0, BUSY.name, BUSY.uuid)
    # The driver's sample buffer (one sample per 100 ms) cycles 0, 50, 100, 90.
    assert busy["samples"] >= 8
    assert busy["utilization"]["max"] == 100
    assert busy["utilization"]["p95"] in (90, 100)
    assert 40 <= busy["utilization"]["mean"] <= 75
    assert 0.1 <= busy["utilization"]["idle_fraction"] <= 0.45
    assert busy["memory"] == {"peak_mib": 61440.0, "total_mib": 81559.0, "peak_percent": 75.3}
    assert busy["power"]["max_w"] == 400.0 and 300 <= busy["power"]["mean_w"] <= 400
    # The energy counter grows at 300 W in the stand-in: about 300 J a second.
    assert busy["energy_source"] == "counter"
    assert 0.9 * 300 / 3600 <= busy["energy_wh"] <= 1.6 * 300 / 3600
    assert busy["temperature_max_c"] == 74.0
    assert busy["sm_clock_max_mhz"] == 1980.0
    assert busy["throttle_reasons"] == ["sw-power-cap", "sw-thermal-slowdown"]
    assert busy["events"] and busy["events"][0]["kind"] == "xid"
    assert busy["events"][0]["code"] == 79 and busy["event_counts"] == {"xid": 1}
    assert busy["processes"] == [
        {"pid": 4242, "peak_mib": 61000.0},
        {"pid": 4343, "peak_mib": 512.0},
    ]
    # Without a sample buffer the polled rate counts once per poll.
    assert polled["samples"] == polled["polls"] >= 5
    assert polled["utilization"] == {"mean": 30.0, "p95": 30, "max": 30, "idle_fraction": 0.0}
    assert polled["memory"]["peak_mib"] == 8192.0
    assert polled["event_counts"] == {"ecc-double-bit": 1}
    assert report["gpu_hours"] == pytest.approx(2 * report["wall_time_s"] / 3600, rel=0.01)

    outputs = run.outputs
    assert outputs["peak-memory-mib"] == "61440"
    assert float(outputs["mean-utilization"]) == pytest.approx(
        (busy["utilization"]["mean"] + 30.0) / 2, abs=0.06
    )
    assert float(outputs["gpu-hours"]) == report["gpu_hours"]
    assert outputs["report"] == str(tmp_path / "gpu-monitor.json")
    compact = json.loads(outputs["gpus"])
    assert [g["index"] for g in compact] == [0, 1]
    assert compact[0]["xid"] == 1 and compact[0]["peak_mib"] == 61440.0
    assert compact[1]["ecc"] == 1 and compact[1]["xid"] == 0

    assert f"| 0 {BUSY.name} |" in run.summary
    assert "61440 MiB (75.3%)" in run.summary and "xid x1" in run.summary
    assert "```mermaid\nxychart-beta" in run.summary
    assert run.summary.count("    line [") == 4  # util and memory for each GPU


@pytest.mark.parametrize("code", [0, 1, 3, 42, 255])
def test_exit_code_is_the_childs(nvml_lib: Path, tmp_path: Path, code: int) -> None:
    env = monitor_env(nvml_env(nvml_lib, [BUSY]))
    run = run_monitor(tmp_path, ["--interval", "0.05", "--", *sleeper(0.1, code)], env)
    assert run.returncode == code, run.stderr
    assert run.report["exit_code"] == code


def test_output_is_untouched(nvml_lib: Path, tmp_path: Path) -> None:
    script = "import sys; sys.stdout.write('out\\n'); sys.stderr.write('err\\n'); sys.stdout.write('end')"
    env = monitor_env(nvml_env(nvml_lib, [BUSY]))
    run = run_monitor(tmp_path, ["--", sys.executable, "-c", script], env)
    assert run.returncode == 0
    assert run.stdout == "out\nend"
    assert run.stderr == "err\n"


def test_everything_after_the_double_dash_is_the_childs(tmp_path: Path) -> None:
    script = "import json, sys; print(json.dumps(sys.argv[1:]))"
    child_args = ["--interval", "9", "--", "two words", "--json", "$HOME"]
    run = run_monitor(tmp_path, ["--", sys.executable, "-c", script, *child_args], monitor_env())
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == child_args
    assert run.report["interval_s"] == 1.0  # the child's --interval was not the wrapper's


def test_sigterm_reaches_the_child(nvml_lib: Path, tmp_path: Path) -> None:
    marker = tmp_path / "got-term"
    script = (
        "import signal, sys, time, pathlib\n"
        "def on_term(n, f):\n"
        f"    pathlib.Path({str(marker)!r}).write_text('term')\n"
        "    sys.exit(7)\n"
        "signal.signal(signal.SIGTERM, on_term)\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)\n"
    )
    env = monitor_env({**nvml_env(nvml_lib, [BUSY]), "RUNNER_TEMP": str(tmp_path)})
    process = start_monitor(["--interval", "0.1", "--", sys.executable, "-c", script], env)
    assert process.stdout is not None
    assert process.stdout.readline() == "ready\n"
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=30)
    assert marker.read_text() == "term"
    assert process.returncode == 7  # the child's own exit status, not the wrapper's
    assert json.loads((tmp_path / "gpu-monitor.json").read_text())["exit_code"] == 7


def test_child_killed_by_a_signal_ends_with_128_plus_n(nvml_lib: Path, tmp_path: Path) -> None:
    env = monitor_env(nvml_env(nvml_lib, [BUSY]))
    run = run_monitor(tmp_path, ["--", "sh", "-c", "kill -KILL $$"], env)
    assert run.returncode == 128 + signal.SIGKILL
    assert run.report["exit_code"] == 137


def test_a_child_that_forks(nvml_lib: Path, tmp_path: Path) -> None:
    """SIGTERM to the wrapper reaches the child's workers too (its whole process group), and
    the wrapper returns when the child itself ends."""
    pid_file = tmp_path / "worker.pid"
    script = f"sleep 60 & echo $! > {pid_file}; echo ready; wait"
    env = monitor_env(nvml_env(nvml_lib, [BUSY]))
    process = start_monitor(["--interval", "0.1", "--", "sh", "-c", script], env)
    assert process.stdout is not None
    assert process.stdout.readline() == "ready\n"
    worker = int(pid_file.read_text())
    os.kill(worker, 0)  # the grandchild runs
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=30)
    assert time.monotonic() - started < 20
    assert process.returncode == 128 + signal.SIGTERM
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _alive(worker):
        time.sleep(0.05)
    assert not _alive(worker), "the forked worker outlived the SIGTERM"


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            return handle.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def test_a_gpu_lost_mid_run(nvml_lib: Path, tmp_path: Path) -> None:
    fading = GpuSpec(POLLED.uuid, telemetry={**POLLED.telemetry, "lost_after": "300"})
    env = monitor_env(nvml_env(nvml_lib, [BUSY, fading]))
    run = run_monitor(tmp_path, ["--interval", "0.1", "--", *sleeper(1.0, 5)], env)
    assert run.returncode == 5, run.stderr
    kept, lost = run.report["gpus"]
    assert not kept["lost"] and kept["polls"] >= 8
    assert lost["lost"] and 0.2 <= lost["lost_at_s"] <= 0.9
    assert lost["lost_reason"] == "NVML: GPU is lost"
    assert 2 <= lost["polls"] <= 6
    assert lost["gpu_seconds"] == pytest.approx(lost["lost_at_s"], abs=0.01)
    assert f"GPU 1 ({POLLED.uuid}) was lost after" in run.stderr
    assert "lost at" in run.summary


def test_a_hanging_driver_delays_only_the_report(nvml_lib: Path, tmp_path: Path) -> None:
    """nvmlInit never returns: the command runs and ends as usual; the report says so."""
    env = monitor_env({**nvml_env(nvml_lib, [BUSY]), "FAKE_NVML": "hang\t550.54.15\t12040"})
    started = time.monotonic()
    run = run_monitor(tmp_path, ["--", *sleeper(0.2, 6)], env)
    assert run.returncode == 6
    assert time.monotonic() - started < 30
    assert "did not answer its last poll in time" in run.stderr
    assert run.report["gpus"] == [] and "did not answer in time" in run.report["unavailable"]


def test_no_gpu_at_all(tmp_path: Path) -> None:
    env = monitor_env()  # no NVML library, no nvidia-smi
    run = run_monitor(tmp_path, ["--", *sleeper(0.1, 4)], env)
    assert run.returncode == 4
    assert run.stderr.count("no NVIDIA GPU visible") == 1, run.stderr
    assert run.report["gpus"] == [] and run.report["source"] is None
    assert "nvidia-smi: not on PATH" in run.report["unavailable"]
    assert run.outputs["peak-memory-mib"] == "" and run.outputs["gpu-hours"] == "0.0"
    assert "no NVIDIA GPU visible" in run.summary


SMI_ROWS = [
    {
        "index": "0",
        "name": "NVIDIA H100 80GB HBM3",
        "uuid": BUSY.uuid,
        "utilization.gpu": "87",
        "memory.used": "40321",
        "memory.total": "81559",
        "power.draw": "512.34",
        "temperature.gpu": "66",
        "clocks.sm": "1980",
        "clocks_throttle_reasons.active": "0x0000000000000004",
    },
    {
        "index": "1",
        "name": "Tesla V100-SXM2-16GB",
        "uuid": POLLED.uuid,
        "utilization.gpu": "0",
        "memory.used": "0",
        "memory.total": "16384",
        "power.draw": "[N/A]",
        "temperature.gpu": "35",
        "clocks.sm": "[Not Supported]",
        "clocks_throttle_reasons.active": "0x0000000000000001",
    },
]


def test_nvidia_smi_fallback(tmp_path: Path) -> None:
    log = tmp_path / "smi.log"
    bin_dir = tmp_path / "bin"
    write_smi(bin_dir, SMI_ROWS, log=log)
    env = monitor_env(bin_dirs=[bin_dir])
    run = run_monitor(tmp_path / "run", ["--interval", "0.1", "--", *sleeper(0.6)], env)
    assert run.returncode == 0, run.stderr
    assert run.report["source"] == "nvidia-smi"
    h100, v100 = run.report["gpus"]
    assert h100["utilization"] == {"mean": 87.0, "p95": 87, "max": 87, "idle_fraction": 0.0}
    assert h100["memory"]["peak_mib"] == 40321.0 and h100["power"]["max_w"] == 512.3
    assert h100["energy_source"] == "integrated-power"
    assert h100["throttle_reasons"] == ["sw-power-cap"]
    assert v100["name"] == "Tesla V100-SXM2-16GB" and v100["power"]["mean_w"] is None
    assert v100["utilization"]["idle_fraction"] == 1.0 and v100["sm_clock_max_mhz"] is None
    calls = log.read_text().splitlines()
    # The newer field name was refused (exit 2), the older one kept for every later poll.
    assert "clocks_event_reasons.active" in calls[0]
    assert all("clocks_throttle_reasons.active" in c for c in calls[1:])
    assert all(c.endswith("--format=csv,noheader,nounits") for c in calls)


def test_run_input_goes_through_the_shell(nvml_lib: Path, tmp_path: Path) -> None:
    """The action's `run` text is a bash script (set -e, pipefail), never split or re-quoted."""
    script = "echo \"$((6 * 7)) 'quoted' | $HOME\"\nfalse | true\nfalse\necho never"
    env = monitor_env({**nvml_env(nvml_lib, [BUSY]), "INPUT_RUN": script, "INPUT_SHELL": "bash"})
    run = run_monitor(tmp_path, ["--interval", "0.1"], env)
    assert run.stdout == f"42 'quoted' | {env['HOME']}\n"
    assert run.returncode == 1
    assert run.report["command"][-1] == script
    assert not list(tmp_path.glob("gpu-monitor-*.sh")), "the script file was left behind"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--interval", "0", "--", "true"], "`--interval`: 0 s is out of range"),
        (["--interval", "soon", "--", "true"], "`--interval`: 'soon' is not a number"),
        ([], "gpu-monitor needs a command to run"),
        (["--run", "true", "--", "true"], "gpu-monitor got a command twice"),
        (["--pushgateway", "gateway:9091", "--", "true"], "is not an http(s) URL"),
        (["true"], "put the command after --: true"),
    ],
)
def test_usage_errors(tmp_path: Path, args: list[str], message: str) -> None:
    marker = tmp_path / "ran"
    process = start_monitor([*args], monitor_env({"RUNNER_TEMP": str(tmp_path)}))
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 2, stderr
    assert message in stderr
    assert "Traceback" not in stderr and not marker.exists()
    assert not (tmp_path / "gpu-monitor.json").exists()


def test_command_not_found(tmp_path: Path) -> None:
    run = run_monitor(tmp_path, ["--", "no-such-command-here"], monitor_env())
    assert run.returncode == 127
    assert "no-such-command-here: command not found" in run.stderr


RUN_FACTS = {
    "GITHUB_REPOSITORY": "octo/trainer",
    "GITHUB_WORKFLOW": "gpu",
    "GITHUB_RUN_ID": "987",
    "RUNNER_NAME": "gpu-box-2",
}


def assert_peak_memory(exposition: str, extra_labels: dict[str, str]) -> dict[str, Metric]:
    """The busy GPU's peak memory, labelled with the run and the GPU; returns every family."""
    families = {f.name: f for f in text_string_to_metric_families(exposition)}
    [peak] = families["mlops_gpu_monitor_memory_peak_bytes"].samples
    assert peak.value == 61440 * 1024 * 1024
    assert peak.labels == {
        "repository": "octo/trainer",
        "workflow": "gpu",
        "run_id": "987",
        "runner": "gpu-box-2",
        "gpu": "0",
        "uuid": BUSY.uuid,
        "name": BUSY.name,
        **extra_labels,
    }
    return families


def test_prometheus_textfile(nvml_lib: Path, tmp_path: Path) -> None:
    textfile = tmp_path / "collector" / "gpu.prom"
    textfile.parent.mkdir()
    env = monitor_env({**nvml_env(nvml_lib, [BUSY]), **RUN_FACTS})
    args = ["--interval", "0.1", "--prometheus-textfile", str(textfile), "--", *sleeper(0.4)]
    run = run_monitor(tmp_path, args, env)
    assert run.returncode == 0, run.stderr
    families = assert_peak_memory(textfile.read_text(), {})
    [hours] = families["mlops_gpu_monitor_gpu_hours"].samples
    assert hours.value == run.report["gpu_hours"]
    assert [p.name for p in textfile.parent.iterdir()] == ["gpu.prom"]  # no temporary left


@pytest.fixture
def pushgateway(tmp_path: Path) -> Iterator[str]:
    """A real Prometheus Pushgateway (Debian's prometheus-pushgateway) on loopback."""
    binary = shutil.which("prometheus-pushgateway")
    if binary is None:
        message = "prometheus-pushgateway is not installed (apt-get install prometheus-pushgateway)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message + " (CI must run this test)", pytrace=False)
        pytest.skip(message)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    log = (tmp_path / "pushgateway.log").open("w")
    process = subprocess.Popen(
        [binary, f"--web.listen-address=127.0.0.1:{port}"], stdout=log, stderr=log
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{url}/-/ready", timeout=1) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise AssertionError((tmp_path / "pushgateway.log").read_text()) from None
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def test_pushgateway(nvml_lib: Path, tmp_path: Path, pushgateway: str) -> None:
    env = monitor_env({**nvml_env(nvml_lib, [BUSY]), **RUN_FACTS})
    args = ["--interval", "0.1", "--pushgateway", pushgateway, "--job", "train", "--"]
    run = run_monitor(tmp_path, [*args, *sleeper(0.4)], env)
    assert run.returncode == 0, run.stderr
    assert "warning" not in run.stderr
    with urllib.request.urlopen(f"{pushgateway}/metrics", timeout=10) as answer:
        text = answer.read().decode()
    # The Pushgateway adds the job and the grouping key (the run labels) to every series.
    families = assert_peak_memory(text, {"job": "train", "instance": ""})
    [code] = families["mlops_gpu_monitor_exit_code"].samples
    assert code.value == 0 and code.labels["run_id"] == "987"


def test_pushgateway_unreachable_is_a_warning(nvml_lib: Path, tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens here once the probe closes
    env = monitor_env(nvml_env(nvml_lib, [BUSY]))
    args = ["--pushgateway", f"http://127.0.0.1:{port}", "--", *sleeper(0.1, 3)]
    run = run_monitor(tmp_path, args, env)
    assert run.returncode == 3  # the child's status, whatever the push did
    assert f"push to http://127.0.0.1:{port} failed" in run.stderr
    assert run.report["exit_code"] == 3
