"""Running `mlops-actions gpu-monitor` as users do (a process) against driver stand-ins.

- `GpuSpec` describes one GPU: what the NVML stand-in (tests/fixtures/env_verify/
  fake_libnvidia_ml.c, through the real nvidia-ml-py bindings) or the `nvidia-smi` stand-in
  answers for it.
- `nvml_env()` is the environment for the NVML stand-in: FAKE_NVML (devices) and
  FAKE_NVML_TELEMETRY (what each device measures).
- `write_smi()` puts an `nvidia-smi` on a bin folder that prints `--query-gpu` answers in the
  real `--format=csv,noheader,nounits` shape, in the order the fields were asked for.
- `start_monitor()` / `run_monitor()` run the CLI in a fresh interpreter (the NVML library is
  found through LD_LIBRARY_PATH at process start, as for the real driver).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.envs import SmiGpu
from tests.support.envs import nvml_env as devices_env

H100 = "NVIDIA H100 80GB HBM3"


@dataclass(frozen=True)
class GpuSpec:
    uuid: str
    name: str = H100
    memory_mib: int = 81559
    telemetry: Mapping[str, str] = field(default_factory=dict)  # FAKE_NVML_TELEMETRY fields


def nvml_env(library: Path | None, gpus: Sequence[GpuSpec]) -> dict[str, str]:
    smi_gpus = [
        SmiGpu(i, g.name, g.uuid, "550.54.15", g.memory_mib, "9.0") for i, g in enumerate(gpus)
    ]
    env = devices_env(library, smi_gpus)
    env["FAKE_NVML_TELEMETRY"] = "\n".join(
        " ".join(f"{k}={v}" for k, v in g.telemetry.items()) or "-" for g in gpus
    )
    return env


def write_smi(bin_dir: Path, rows: Sequence[Mapping[str, str]], *, log: Path | None = None) -> Path:
    """`nvidia-smi --query-gpu=a,b,c --format=csv,noheader,nounits`: one line per row, the
    values of the asked fields joined by ", " ("[N/A]" for fields a row lacks). Like the real
    tool it refuses an unknown field with exit status 2."""
    known = sorted({k for row in rows for k in row})
    script = bin_dir / "nvidia-smi"
    bin_dir.mkdir(parents=True, exist_ok=True)
    source = f"""#!{sys.executable}
import sys
rows = {json.dumps(list(rows))}
known = {json.dumps(known)}
args = sys.argv[1:]
{"open(" + repr(str(log)) + ", 'a').write(' '.join(args) + chr(10))" if log else ""}
query = next((a.split("=", 1)[1] for a in args if a.startswith("--query-gpu=")), None)
if query is None or "--format=csv,noheader,nounits" not in args:
    sys.exit("this stand-in answers --query-gpu=... --format=csv,noheader,nounits only")
fields = query.split(",")
for name in fields:
    if name not in known:
        print('Field "' + name + '" is not a valid field to query.')
        print()
        print('Please run "nvidia-smi --help-query-gpu" for more information.')
        sys.exit(2)
for row in rows:
    print(", ".join(row.get(name, "[N/A]") for name in fields))
"""
    script.write_text(source, encoding="utf-8")
    script.chmod(0o755)
    return script


def monitor_env(
    extra: Mapping[str, str] | None = None, bin_dirs: Sequence[Path] = ()
) -> dict[str, str]:
    env = {
        "PATH": os.pathsep.join(
            [*map(str, bin_dirs), str(Path(sys.executable).parent), "/usr/bin", "/bin"]
        ),
        "LC_ALL": "C.UTF-8",
        "HOME": os.environ.get("HOME", "/tmp"),
    }
    env.update(extra or {})
    return env


def start_monitor(
    args: Sequence[str], env: Mapping[str, str], **popen: Any
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "mlops_actions", "gpu-monitor", *args],
        env=dict(env),
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        **popen,
    )


@dataclass
class MonitorRun:
    returncode: int
    stdout: str
    stderr: str
    report: dict[str, Any]
    outputs: dict[str, str]
    summary: str


def read_outputs(path: Path) -> dict[str, str]:
    """GITHUB_OUTPUT entries written as `name<<DELIM ... DELIM` blocks."""
    outputs: dict[str, str] = {}
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    i = 0
    while i < len(lines):
        name, _, delimiter = lines[i].partition("<<")
        end = lines.index(delimiter, i + 1)
        outputs[name] = "\n".join(lines[i + 1 : end])
        i = end + 1
    return outputs


def run_monitor(
    tmp: Path, args: Sequence[str], env: Mapping[str, str], timeout: float = 60
) -> MonitorRun:
    """Run gpu-monitor as an action step would (GITHUB_OUTPUT, step summary, RUNNER_TEMP)."""
    tmp.mkdir(parents=True, exist_ok=True)
    files = {
        "GITHUB_OUTPUT": tmp / "output.txt",
        "GITHUB_STEP_SUMMARY": tmp / "summary.md",
    }
    full = {**env, **{k: str(v) for k, v in files.items()}, "RUNNER_TEMP": str(tmp)}
    process = start_monitor(args, full)
    stdout, stderr = process.communicate(timeout=timeout)
    report_path = tmp / "gpu-monitor.json"
    report = json.loads(report_path.read_text(encoding="utf-8")) if report_path.exists() else {}
    summary = files["GITHUB_STEP_SUMMARY"]
    return MonitorRun(
        process.returncode,
        stdout,
        stderr,
        report,
        read_outputs(files["GITHUB_OUTPUT"]),
        summary.read_text(encoding="utf-8") if summary.exists() else "",
    )
