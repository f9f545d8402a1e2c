"""`mlops-actions env-verify` end to end through `cli.main`, with a fake runner (GITHUB_OUTPUT,
GITHUB_STEP_SUMMARY and RUNNER_TEMP in tmp_path): against the real torch in the test venv, and
against synthetic installs with stub `nvidia-smi` executables.

Each run states its machine: PATH holds no GPU tool (only the stubs a test writes), and the
runs against the real torch hide any GPU with CUDA_VISIBLE_DEVICES="", so the tests pass the
same on a GPU machine and with a CUDA build of torch."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import importlib.util
import json
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mlops_actions.cli import main
from tests.support.envs import (
    A100,
    BUILDS,
    H100_X2,
    V100,
    SmiGpu,
    gpu_free_tools,
    run_probe,
    smi_csv,
    write_nvidia_smi,
    write_site_packages,
)

HAVE_TORCH = importlib.util.find_spec("torch") is not None
needs_torch = pytest.mark.skipif(not HAVE_TORCH, reason="the test venv has no torch")
# A runner whose GPUs, if it has any, the job does not see.
NO_GPU = {"CUDA_VISIBLE_DEVICES": ""}
# The interpreter the venv was made from: same Python, without the venv's torch.
BASE_PYTHON = str(Path(sys.base_prefix) / "bin" / "python3")


@dataclass
class Run:
    code: int
    outputs: dict[str, str]
    summary: str
    stdout: str
    stderr: str
    report: dict[str, Any]

    @property
    def errors(self) -> list[str]:
        return [line for line in self.stdout.splitlines() if line.startswith("::error")]


def parse_outputs(text: str) -> dict[str, str]:
    """Read GITHUB_OUTPUT back: `name<<DELIM` blocks as the runner writes them."""
    outputs: dict[str, str] = {}
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        match = re.fullmatch(r"([^<=]+)<<(\S+)", lines[i])
        if match is None:
            i += 1
            continue
        name, delimiter = match.groups()
        end = lines.index(delimiter, i + 1)
        outputs[name] = "\n".join(lines[i + 1 : end])
        i = end + 1
    return outputs


def run_cli(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    args: Sequence[str],
    env: dict[str, str] | None = None,
) -> Run:
    out = tmp_path / "github_output"
    summary = tmp_path / "step_summary"
    temp = tmp_path / "runner_temp"
    temp.mkdir(exist_ok=True)
    environ = {
        "PATH": str(gpu_free_tools()),
        "GITHUB_ACTIONS": "true",
        "GITHUB_OUTPUT": str(out),
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_WORKSPACE": str(tmp_path / "workspace"),
        "RUNNER_TEMP": str(temp),
        "GITHUB_REPOSITORY": "octo/train",
        "GITHUB_SHA": "f" * 40,
    }
    (tmp_path / "workspace").mkdir(exist_ok=True)
    environ.update(env or {})
    code = main(["env-verify", *args], environ)
    captured = capsys.readouterr()
    outputs = parse_outputs(out.read_text(encoding="utf-8")) if out.exists() else {}
    report_path = Path(outputs.get("report-path") or temp / "env-verify.json")
    document = json.loads(report_path.read_text(encoding="utf-8")) if report_path.exists() else {}
    return Run(
        code,
        outputs,
        summary.read_text(encoding="utf-8") if summary.exists() else "",
        captured.out,
        captured.err,
        document,
    )


def facts_file(
    tmp_path: Path,
    build: str | None,
    gpus: Sequence[SmiGpu] = (),
    *,
    smi_stdout: str | None = None,
) -> Path:
    """What the action's first step writes: the probe run over a synthetic install."""
    site = write_site_packages(tmp_path / "site", BUILDS[build] if build else None)
    bins = []
    if gpus or smi_stdout is not None:
        write_nvidia_smi(
            tmp_path / "bin", stdout=smi_csv(gpus) if smi_stdout is None else smi_stdout
        )
        bins.append(tmp_path / "bin")
    document = run_probe([site], bin_dirs=bins)
    path = tmp_path / "probe.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


# -- the real torch in the test venv --------------------------------------------------------


@needs_torch
def test_real_torch_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    version = importlib.metadata.version("torch")
    public = version.split("+", 1)[0]
    run = run_cli(
        tmp_path,
        capsys,
        [
            "--python",
            sys.executable,
            "--torch",
            public,
            "--expect",
            f"python-version={sys.version_info[0]}.{sys.version_info[1]}",
        ],
        NO_GPU,
    )
    assert run.code == 0, run.stdout + run.stderr
    assert run.errors == []
    assert run.outputs["ok"] == "true"
    assert run.outputs["torch-version"].split("+")[0] == public
    assert run.outputs["python-version"] == ".".join(map(str, sys.version_info[:3]))
    assert run.outputs["gpu-count"] == "0"
    assert run.outputs["gpu-names"] == "[]"
    assert run.outputs["failed-checks"] == "[]"
    assert run.outputs["report-path"] == str(tmp_path / "runner_temp" / "env-verify.json")
    assert (
        f"io.mlops-actions.torch.version={run.outputs['torch-version']}"
        in run.outputs["image-labels"].splitlines()
    )
    assert (
        "org.opencontainers.image.source=https://github.com/octo/train"
        in run.outputs["image-labels"].splitlines()
    )
    assert run.summary.startswith("### env-verify: :white_check_mark:")
    assert "| `torch-version` | :white_check_mark: ok |" in run.summary
    assert run.report["schema"] == "mlops-actions/env-verify-report"
    assert run.report["ok"] is True
    assert run.report["facts"]["torch"]["version"] == run.outputs["torch-version"]
    assert run.report["expected"]["torch"] == {"value": public, "from": "input"}
    # Written in one piece: no temp file left beside it.
    assert sorted(p.name for p in (tmp_path / "runner_temp").iterdir()) == ["env-verify.json"]


@needs_torch
def test_wrong_torch_pin_fails_with_one_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    installed = importlib.metadata.version("torch")
    run = run_cli(tmp_path, capsys, ["--python", sys.executable, "--expect", "torch=2.4.1"], NO_GPU)
    assert run.code == 1
    assert len(run.errors) == 1, run.stdout
    [error] = run.errors
    assert error.startswith("::error title=env-verify torch-version::")
    assert f"torch is {installed}, expected 2.4.1" in error
    assert "Expected: 2.4.1 (input); found:" in error
    # The index is the installed build's (cpu here, cu12x with a CUDA build of torch).
    variant = run.report["installed"]["variant"]
    command = f"pip install torch==2.4.1 --index-url https://download.pytorch.org/whl/{variant}"
    assert f"Fix: {command} (" in error
    assert run.report["install"] == command
    assert f"**Fix the torch stack with one command:** `{command}`" in run.summary
    assert run.outputs["ok"] == "false"
    assert run.outputs["failed-checks"] == '["torch-version"]'
    assert run.report["failed"] == ["torch-version"]
    assert "### env-verify: :x: 1 check(s) failed" in run.summary


@needs_torch
def test_smoke_on_the_real_torch_without_gpu(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = run_cli(
        tmp_path, capsys, ["--python", sys.executable, "--smoke", "--timeout", "120"], NO_GPU
    )
    assert run.code == 0, run.stdout
    checks = {c["id"]: c["status"] for c in run.report["checks"]}
    assert checks["smoke-import-torch"] == "ok"
    assert checks["smoke-matmul-cpu"] == "ok"
    assert checks["smoke-conv2d-cpu"] == "ok"
    assert checks["smoke-matmul-cuda"] == "skip"


def test_no_torch_fails_and_counts_say_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    facts = facts_file(tmp_path, None)
    run = run_cli(tmp_path, capsys, ["--facts", str(facts)])
    assert run.code == 1
    [error] = run.errors
    assert error.startswith("::error title=env-verify torch-install::")
    assert "torch is not importable" in error
    counts = run.report["counts"]
    assert counts["failed"] == 1 and counts["passed"] + counts["skipped"] >= 1
    assert sum(counts.values()) == len(run.report["checks"])
    last = run.stdout.strip().splitlines()[-1]
    assert last == (
        f"env-verify: failed ({counts['passed']} passed, {counts['skipped']} skipped, "
        f"{counts['warned']} warned, 1 failed): torch-install"
    )


def test_torch_optional_passes_without_torch_and_never_calls_skips_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    facts = facts_file(tmp_path, None)
    run = run_cli(tmp_path, capsys, ["--facts", str(facts), "--torch-optional"])
    assert run.code == 0, run.stdout
    counts = run.report["counts"]
    assert counts["failed"] == 0 and counts["skipped"] >= 10
    assert f"{counts['skipped']} skipped" in run.stdout.strip().splitlines()[-1]
    assert (
        run.stdout.strip()
        .splitlines()[-1]
        .startswith(f"env-verify: ok ({counts['passed']} passed, {counts['skipped']} skipped")
    )
    assert f"{counts['skipped']} skipped" in run.summary


def test_require_gpu_on_a_cpu_runner(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = run_cli(tmp_path, capsys, ["--python", sys.executable, "--require-gpu"], NO_GPU)
    assert run.code == 1
    [error] = run.errors
    assert error.startswith("::error title=env-verify require-gpu::")
    assert "a GPU is required but none is visible" in error
    assert "Fix: run this job on a GPU runner" in error
    assert run.outputs["failed-checks"] == '["require-gpu"]'


# -- synthetic installs and stub drivers, as the action's probe step leaves them ---------------


def test_driver_below_the_floor_for_cu130(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    facts = facts_file(tmp_path, "2.9.0+cu130", H100_X2)  # driver 550: below the 13.x floor (580)
    run = run_cli(tmp_path, capsys, ["--facts", str(facts), "--torch", "2.9.0"])
    assert run.code == 1
    assert run.outputs["failed-checks"] == '["driver-floor"]'
    [error] = run.errors
    assert "driver 550.54.15 is below 580" in error
    assert run.outputs["driver-version"] == "550.54.15"
    assert run.outputs["gpu-names"] == '["NVIDIA H100 80GB HBM3", "NVIDIA H100 80GB HBM3"]'
    assert run.outputs["compute-capabilities"] == '["9.0", "9.0"]'
    assert run.outputs["cuda-version"] == "13.0"
    assert run.outputs["cudnn-version"] == "9.13.0"


def test_volta_gpu_with_a_cu130_build(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    volta = [SmiGpu(0, "Tesla V100-SXM2-16GB", "GPU-0f1e", "580.65.06", 16384, "7.0")]
    facts = facts_file(tmp_path, "2.9.0+cu130", volta)
    run = run_cli(tmp_path, capsys, ["--facts", str(facts)])
    assert run.code == 1
    failed = json.loads(run.outputs["failed-checks"])
    assert failed == ["gpu-arch", "cudnn-gpu"]
    assert any("sm_70" in e and "gpu-arch" in e for e in run.errors)


def test_the_same_volta_with_a_cu121_build_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    facts = facts_file(tmp_path, "2.4.1+cu121", V100)
    run = run_cli(
        tmp_path, capsys, ["--facts", str(facts), "--torch", "2.4.1+cu121", "--require-gpu"]
    )
    assert run.code == 0, run.stdout
    assert run.outputs["ok"] == "true"


def test_driver_fault_err(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    line = "0, NVIDIA A100-SXM4-80GB, GPU-1a2b, ERR!, 81920, 8.0\n"
    facts = facts_file(tmp_path, "2.4.1+cu121", smi_stdout=line)
    run = run_cli(tmp_path, capsys, ["--facts", str(facts)])
    assert run.code == 1
    [error] = run.errors
    assert error.startswith("::error title=env-verify driver-health::")
    assert "ERR!" in error
    assert "Fix: take the runner out of rotation" in error


def test_command_runs_the_probe_with_the_jobs_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without `facts` the command probes itself, seeing the job's PATH and PYTHONPATH."""
    site = write_site_packages(tmp_path / "site", BUILDS["2.4.1+cu121"])
    write_nvidia_smi(tmp_path / "bin", stdout=smi_csv(A100))
    run = run_cli(
        tmp_path,
        capsys,
        ["--python", BASE_PYTHON, "--cuda", "cu121", "--min-driver", "535"],
        env={
            "PATH": f"{tmp_path / 'bin'}{os.pathsep}{gpu_free_tools()}",
            "PYTHONPATH": str(site),
            "NCCL_DEBUG": "INFO",
            "TORCH_HUB_TOKEN": "hunter2",
        },
    )
    assert run.code == 0, run.stdout + run.stderr
    assert run.outputs["torch-version"] == "2.4.1+cu121"
    assert run.outputs["driver-version"] == "535.104.05"
    # The job's variables, as the job sees them, with the secret-looking one masked.
    assert run.report["facts"]["env"] == {"NCCL_DEBUG": "INFO", "TORCH_HUB_TOKEN": "***"}
    assert "| `NCCL_DEBUG` | INFO |" in run.summary
    assert "hunter2" not in run.summary + json.dumps(run.report)


# -- expectations from the config file and the repository ------------------------------------


def test_config_expectations_and_precedence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    facts = facts_file(tmp_path, "2.4.1+cu121", A100)
    config = tmp_path / "workspace" / ".github" / "mlops.yml"
    config.parent.mkdir(parents=True)
    config.write_text(
        'version: 1\nenvironment:\n  torch: "2.3.0"\n  cuda: "12.1"\n  min-driver: "550"\n',
        encoding="utf-8",
    )
    run = run_cli(tmp_path, capsys, ["--facts", str(facts)])
    assert run.code == 1
    assert json.loads(run.outputs["failed-checks"]) == ["torch-version", "min-driver"]
    assert run.report["expected"]["torch"] == {"value": "2.3.0", "from": ".github/mlops.yml:3"}
    # The input wins over the config key; the rest of the config still applies.
    run = run_cli(tmp_path, capsys, ["--facts", str(facts), "--torch", "2.4.1"])
    assert json.loads(run.outputs["failed-checks"]) == ["min-driver"]
    # expect-from: inputs ignores the config file.
    run = run_cli(tmp_path, capsys, ["--facts", str(facts), "--expect-from", "inputs"])
    assert run.code == 0, run.stdout


def test_bad_config_value_names_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    facts = facts_file(tmp_path, "2.4.1+cu121")
    config = tmp_path / "workspace" / ".github" / "mlops.yml"
    config.parent.mkdir(parents=True)
    config.write_text('version: 1\nenvironment:\n  torch: "two"\n', encoding="utf-8")
    run = run_cli(tmp_path, capsys, ["--facts", str(facts)])
    assert run.code == 2
    [error] = run.errors
    assert "line=3" in error
    assert "mlops.yml" in error
    assert "neither a version nor a PEP 440 specifier" in error


def test_expect_from_repo(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    (workspace / "requirements.txt").write_text("numpy\ntorch==2.9.0\n", encoding="utf-8")
    facts = facts_file(tmp_path, "2.4.1+cu121")
    run = run_cli(tmp_path, capsys, ["--facts", str(facts), "--expect-from", "repo"])
    assert run.code == 1
    [error] = run.errors
    assert "torch is 2.4.1+cu121, expected 2.9.0" in error
    assert "requirements.txt:2" in error
    (workspace / "Dockerfile").write_text("FROM python:3.11\nRUN pip install torch==2.4.1\n")
    run = run_cli(tmp_path, capsys, ["--facts", str(facts), "--expect-from", "repo"])
    assert run.code == 0, run.stdout
    notices = [line for line in run.stdout.splitlines() if line.startswith("::notice")]
    assert any("pins torch several ways" in n for n in notices)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--torch", "banana"], "`--torch`: 'banana' is neither a version"),
        (["--expect", "jax=0.4"], "does not start with a known name"),
        (["--torch", "2.4.1", "--expect", "torch=2.5.0"], "given as an input"),
        (["--facts", "/nonexistent/probe.json"], "`--facts`: cannot read"),
        (["--python", "/nonexistent/python3"], "interpreter '/nonexistent/python3' not found"),
        (["--timeout", "0"], "`--timeout`: must be above 0"),
    ],
)
def test_bad_inputs_are_one_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    run = run_cli(tmp_path, capsys, args)
    assert run.code in (2, 4)
    assert len(run.errors) == 1, run.stdout
    assert message in run.errors[0]
    assert "Traceback" not in run.stdout + run.stderr


def test_json_report_on_stdout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    facts = facts_file(tmp_path, "2.4.1+rocm6.1")
    code = main(
        ["env-verify", "--json", "--facts", str(facts), "--report", str(tmp_path / "r.json")],
        {"PATH": "/usr/bin"},
    )
    printed = json.loads(capsys.readouterr().out)
    assert code == 0
    assert printed["installed"]["variant"] == "rocm6.1"
    # When it ran, in UTC to the second, as ISO 8601 with the offset written out.
    verified = dt.datetime.fromisoformat(printed["verified_at"])
    assert printed["verified_at"] == verified.isoformat() and verified.microsecond == 0
    assert verified.utcoffset() == dt.timedelta(0)
    assert abs(dt.datetime.now(dt.timezone.utc) - verified) < dt.timedelta(minutes=5)
    assert printed == json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
