"""Whole version-guard scan of a synthetic monorepo against `git grep -n torch` over the same tree.

    python bench/version_guard_scan.py [--runs 7] [--files 20000] [--pin-files 300] [--json FILE]

Generates, in a temporary directory, a git repository of `--files` files of which `--pin-files`
bear pins (Dockerfiles with ARGs, requirements with includes and a PyTorch index, conda files,
workflows with a 6-key matrix of 96 combinations, compose files, pyproject files), the rest
filler of mixed types (Python, C++/CUDA, Markdown, reStructuredText, JSON, YAML configs, shell
scripts, notebooks, CSV, plain text, TOML and INI configs, small binaries; some mention torch,
as real code does). Then runs, interleaved so drift hits all alike: `git grep -n torch`, the
scan in-process (`scan_repo` + grouping + rules; peak memory by tracemalloc) and the CLI in a
subprocess in the monorepo's root, as a workflow step runs it (the `mlops-actions` console
script beside `--python`, else `python -m mlops_actions`: `version-guard . --fail-on never`,
SARIF written; its peak RSS from one more run that reads its own VmHWM). Prints medians and the
ratios to git grep.
`cli_startup` is the CLI's interpreter start plus importing the version-guard command (no scan),
to separate start-up from scanning.

Gate: the `mlops-actions version-guard` process <= 1.5x the `git grep -n torch` process
(`ratio_cli`); the script exits 1 when it misses. The in-process ratio is secondary.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import tracemalloc
from pathlib import Path

from _timing import Stopwatch, child_env, medians, rounds

SRC = Path(__file__).resolve().parents[1] / "src"
sys.path.insert(0, str(SRC))

from mlops_actions.pins import environments, scan_repo  # noqa: E402
from mlops_actions.version_guard.rules import Settings, evaluate  # noqa: E402

GATE = 1.5
TORCHES = [("2.4.1", "0.19.1", "12.1"), ("2.5.1", "0.20.1", "12.4"), ("2.3.1", "0.18.1", "12.1")]


def pin_files(i: int, torch: str, vision: str, cuda: str) -> dict[str, str]:
    cu = "cu" + cuda.replace(".", "")
    cudnn = 9 if torch >= "2.4" else 8
    return {
        f"services/svc{i}/Dockerfile": (
            f"ARG TORCH={torch}\nARG CUDA={cuda}\n"
            f"FROM pytorch/pytorch:${{TORCH}}-cuda${{CUDA}}-cudnn{cudnn}-runtime AS base\n"
            "WORKDIR /app\nCOPY requirements/ /app/requirements/\n"
            "RUN pip install --no-cache-dir -r requirements/train.txt\n"
        ),
        f"services/svc{i}/requirements/train.txt": (
            f"--extra-index-url https://download.pytorch.org/whl/{cu}\n-r base.txt\n"
            f"torch=={torch}+{cu}\ntorchvision=={vision}+{cu}\n"
        ),
        f"services/svc{i}/requirements/base.txt": "numpy==1.26.4\ntqdm==4.66.4\n",
        f"services/svc{i}/environment.yml": (
            f"name: svc{i}\nchannels: [pytorch, nvidia]\ndependencies:\n  - python=3.11\n"
            f"  - pytorch={torch}\n  - pytorch-cuda={cuda}\n  - pip\n"
            "  - pip:\n      - -r requirements/base.txt\n"
        ),
        f"services/svc{i}/pyproject.toml": (
            f'[project]\nname = "svc{i}"\nversion = "0.1.0"\nrequires-python = ">=3.9"\n'
            'dependencies = ["torch>=2.1", "numpy"]\n'
        ),
        f"services/svc{i}/docker-compose.yml": (
            f"services:\n  app:\n    image: ghcr.io/acme/svc{i}:{torch}\n    build:\n"
            "      context: .\n      dockerfile: Dockerfile\n  cache:\n    image: redis:7.2.4\n"
        ),
    }


def workflow(i: int) -> str:
    """A test job with a 6-key matrix (3 x 2 x 2 x 2 x 2 x 2 = 96 combinations)."""
    return (
        f"name: ci{i}\non: [pull_request]\njobs:\n  test:\n    runs-on: ubuntu-latest\n"
        "    strategy:\n      matrix:\n"
        '        torch: ["2.1.2", "2.4.1", "2.5.1"]\n        python: ["3.10", "3.11"]\n'
        "        os: [a, b]\n        shard: [1, 2]\n        precision: [fp16, bf16]\n"
        "        compile: [on, off]\n"
        "    steps:\n      - uses: actions/checkout@v4\n"
        "      - uses: actions/setup-python@v5\n        with:\n"
        "          python-version: ${{ matrix.python }}\n"
        "      - run: pip install torch==${{ matrix.torch }} "
        "--index-url https://download.pytorch.org/whl/cpu\n"
        "      - run: |\n          pip install -r requirements/test.txt\n"
        "          pytest --shard ${{ matrix.shard }} --precision ${{ matrix.precision }}\n"
        '      - run: echo "compile=${{ matrix.compile }} on ${{ matrix.os }}"\n'
    )


_FILLER_KINDS = (
    ("py", 30),
    ("md", 8),
    ("cpp", 6),
    ("cu", 3),
    ("h", 5),
    ("json", 8),
    ("yaml", 8),
    ("sh", 4),
    ("ipynb", 3),
    ("csv", 4),
    ("txt", 6),
    ("rst", 4),
    ("toml", 3),
    ("cfg", 2),
    ("png", 6),
)


def filler_file(rng: random.Random, i: int) -> tuple[str, str | bytes]:
    """One filler file of a type drawn by weight: (extension, content)."""
    kinds, weights = zip(*_FILLER_KINDS, strict=True)
    ext = rng.choices(kinds, weights)[0]
    torchy = rng.random() < 0.3
    words = " ".join("filler" for _ in range(rng.randint(5, 60)))
    if ext == "py":
        return ext, source_file(rng, i)
    if ext in {"cpp", "cu", "h"}:
        head = "#include <torch/extension.h>\n" if torchy else "#include <cmath>\n"
        return ext, head + "".join(
            f"// {words}\nint f{k}(int x) {{ return x + {k}; }}\n"
            for k in range(rng.randint(3, 30))
        )
    if ext in {"md", "rst", "txt"}:
        mention = "Install torch first.\n" if torchy else ""
        return ext, f"Notes {i}\n\n{mention}" + f"{words}\n" * rng.randint(3, 40)
    if ext == "json":
        return ext, json.dumps({"id": i, "model": "torch" if torchy else "none", "notes": words})
    if ext == "yaml":
        return (
            ext,
            f"model:\n  name: m{i}\n  backend: {'torch' if torchy else 'jax'}\n  lr: 0.001\n",
        )
    if ext == "sh":
        return ext, f"#!/bin/sh\nset -eu\npython -m train --run {i}\n# {words}\n"
    if ext == "ipynb":
        cell = {"cell_type": "code", "source": ["import torch\n" if torchy else "import math\n"]}
        return ext, json.dumps({"cells": [cell] * rng.randint(1, 10), "nbformat": 4})
    if ext == "csv":
        return ext, "a,b,c\n" + "".join(
            f"{k},{k * 2},{k * 3}\n" for k in range(rng.randint(5, 200))
        )
    if ext == "toml":
        return ext, f'[tool.task{i}]\nname = "t{i}"\nuses = "{"torch" if torchy else "numpy"}"\n'
    if ext == "cfg":
        return ext, f"[section{i}]\nkey = value\n# {words}\n"
    return ext, bytes(rng.randrange(256) for _ in range(rng.randint(64, 2048)))


def source_file(rng: random.Random, i: int) -> str:
    body = [f'"""Module {i}."""', ""]
    if rng.random() < 0.3:
        body += ["import torch", "", "def f(x: torch.Tensor) -> torch.Tensor:", "    return x * 2"]
    else:
        body += ["import math", "", "def f(x: float) -> float:", "    return math.sqrt(x)"]
    body += [f"# {'filler ' * rng.randint(5, 60)}" for _ in range(rng.randint(5, 40))]
    return "\n".join(body) + "\n"


def generate(root: Path, total: int, pin_target: int) -> int:
    rng = random.Random(20)
    files: dict[str, str | bytes] = {}
    i = 0
    while sum(1 for _ in files) < pin_target - 10:
        torch, vision, cuda = TORCHES[i % len(TORCHES)]
        files.update(pin_files(i, torch, vision, cuda))
        i += 1
    for w in range(pin_target - len(files)):
        files[f".github/workflows/ci{w}.yml"] = workflow(w)
    pins = len(files)
    n = 0
    while len(files) < total:
        pkg = f"packages/pkg{n // 200}/mod{n // 20 % 10}"
        ext, content = filler_file(rng, n)
        files[f"{pkg}/file{n}.{ext}"] = content
        n += 1
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    git = ["git", "-C", str(root), "-c", "user.name=b", "-c", "user.email=b@example.invalid"]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "synthetic"], check=True)
    return pins


def cpu_seconds(usage: resource.struct_rusage) -> float:
    """User and system time of a child process, all its threads (git grep runs several)."""
    return usage.ru_utime + usage.ru_stime


def time_git_grep(root: Path, cpu: list[float] | None = None) -> float:
    with Stopwatch() as watch:
        proc = subprocess.Popen(
            ["git", "-C", str(root), "grep", "-n", "torch"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        assert proc.stdout is not None
        out = proc.stdout.read()
        proc.stdout.close()
        _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    assert proc.returncode == 0 and out
    if cpu is not None:
        cpu.append(cpu_seconds(usage))
    return watch.seconds


def scan_once(root: Path) -> tuple[int, int, int]:
    scan = scan_repo(root)
    envs = environments(scan)
    findings = evaluate(scan, envs, Settings())
    return len(scan.files), len(scan.pins), len(findings)


def time_in_process(root: Path) -> float:
    with Stopwatch() as watch:
        scan_once(root)
    return watch.seconds


def cli_command(python: str) -> list[str]:
    """The `mlops-actions` console script installed beside the interpreter (what a user runs),
    or `python -m mlops_actions` where there is none."""
    script = Path(python).parent / "mlops-actions"
    return [str(script)] if script.is_file() else [python, "-m", "mlops_actions"]


def time_cli(root: Path, python: str) -> tuple[float, float]:
    env = child_env(PYTHONPATH=str(SRC))
    argv = [*cli_command(python), "version-guard", ".", "--fail-on", "never"]
    with Stopwatch() as watch:
        # In the repository's root, as in a workflow step: the config it looks up is the
        # monorepo's own (none), not the one of the directory the benchmark was started in.
        proc = subprocess.Popen(
            [*argv, "--sarif-file", os.devnull],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
            cwd=root,
        )
        _, status, usage = os.wait4(proc.pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    return watch.seconds, cpu_seconds(usage)


# The child's own peak, read by the child as it exits: ru_maxrss would count the pages it shared
# with this (large) process between fork and exec.
_PEAK_HOOK = """import atexit, os
def _peak():
    with open("/proc/self/status") as status, open(os.environ["BENCH_PEAK_FILE"], "w") as out:
        out.write(next(l for l in status if l.startswith("VmHWM:")).split()[1])
atexit.register(_peak)
"""


def cli_peak_rss_mib(root: Path, python: str) -> float:
    """Peak resident memory of one CLI run (VmHWM), through a sitecustomize hook."""
    with tempfile.TemporaryDirectory(prefix="vg-peak-") as tmp:
        (Path(tmp) / "sitecustomize.py").write_text(_PEAK_HOOK, encoding="utf-8")
        peak = Path(tmp) / "peak"
        env = child_env(PYTHONPATH=f"{tmp}{os.pathsep}{SRC}", BENCH_PEAK_FILE=str(peak))
        subprocess.run(
            [*cli_command(python), "version-guard", ".", "--fail-on", "never"],
            cwd=root,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=True,
        )
        return int(peak.read_text(encoding="utf-8")) / 1024  # KiB


def time_cli_startup(python: str) -> float:
    """What the CLI costs before any scanning: interpreter start and importing its command."""
    env = child_env(PYTHONPATH=str(SRC))
    with Stopwatch() as watch:
        subprocess.run(
            [python, "-c", "from mlops_actions.cli import commands; commands(['version-guard'])"],
            env=env,
            check=True,
        )
    return watch.seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--files", type=int, default=20000)
    parser.add_argument("--pin-files", type=int, default=300)
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="vg-bench-") as tmp:
        root = Path(tmp) / "monorepo"
        pins = generate(root, args.files, args.pin_files)
        files, pin_count, finding_count = scan_once(root)  # warm the page cache and imports
        time_git_grep(root)
        tracemalloc.start()
        scan_once(root)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        cpu: dict[str, list[float]] = {"grep": [], "cli": []}

        def cli() -> float:
            elapsed, cpu_s = time_cli(root, args.python)
            cpu["cli"].append(cpu_s)
            return elapsed

        samples = rounds(
            {
                "startup": lambda: time_cli_startup(args.python),
                "grep": lambda: time_git_grep(root, cpu["grep"]),
                "in_process": lambda: time_in_process(root),
                "cli": cli,
            },
            args.runs,
        )
        middle = medians(samples)
        g = middle["grep"]
        results = {
            "files": args.files,
            "pin_bearing_files": pins,
            "files_scanned": files,
            "pins": pin_count,
            "findings": finding_count,
            "runs": args.runs,
            "git_grep_median_s": g,
            "scan_in_process_median_s": middle["in_process"],
            "scan_cli_median_s": middle["cli"],
            "cli_startup_median_s": middle["startup"],
            "ratio_in_process": middle["in_process"] / g,
            "ratio_cli": middle["cli"] / g,
            # CPU time (user + system, every thread) says how much work each did; on a busy
            # machine it moves less than wall time. The gate stays on wall time.
            "git_grep_cpu_median_s": statistics.median(cpu["grep"]),
            "scan_cli_cpu_median_s": statistics.median(cpu["cli"]),
            "peak_tracemalloc_mib": peak / 2**20,
            "cli_peak_rss_mib": cli_peak_rss_mib(root, args.python),
            "gate": f"version-guard process <= {GATE}x the git grep process",
            "gate_met": middle["cli"] / g <= GATE,
        }
    width = max(len(k) for k in results)
    for key, value in results.items():
        shown = f"{value:.3f}" if isinstance(value, float) else str(value)
        print(f"{key:<{width}}  {shown}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    if not results["gate_met"]:
        print(
            f"FAIL: the version-guard process took {results['ratio_cli']:.2f}x the git grep "
            f"process (gate {GATE}x)",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
