"""Whole version-guard scan of a synthetic monorepo against `git grep -n torch` over the same tree.

    python bench/version_guard_scan.py [--runs 7] [--files 20000] [--pin-files 300] [--json FILE]

Generates, in a temporary directory, a git repository of `--files` files of which `--pin-files`
bear pins (Dockerfiles with ARGs, requirements with includes and a PyTorch index, conda files,
workflows with a matrix, compose files, pyproject files), the rest ordinary source files (some
of which mention torch, as real code does). Then runs, interleaved so drift hits all alike:
`git grep -n torch`, the scan in-process (`scan_repo` + grouping + rules; peak memory by
tracemalloc) and the CLI in a subprocess (`python -m mlops_actions version-guard --fail-on
never`; peak RSS from the child's rusage). Prints medians and the ratios to git grep.
`cli_startup` is the CLI's interpreter start plus importing the version-guard command (no
scan), to separate start-up from scanning. Goal: in-process scan <= 1.5x git grep.
"""

from __future__ import annotations

import argparse
import json
import os
import random
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
    return (
        f"name: ci{i}\non: [pull_request]\njobs:\n  test:\n    runs-on: ubuntu-latest\n"
        '    strategy:\n      matrix:\n        torch: ["2.1.2", "2.4.1"]\n'
        '        python: ["3.10", "3.11"]\n    steps:\n      - uses: actions/checkout@v4\n'
        "      - uses: actions/setup-python@v5\n        with:\n"
        "          python-version: ${{ matrix.python }}\n"
        "      - run: pip install torch==${{ matrix.torch }} "
        "--index-url https://download.pytorch.org/whl/cpu\n"
    )


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
    files: dict[str, str] = {}
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
        files[f"{pkg}/file{n}.py"] = source_file(rng, n)
        n += 1
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    git = ["git", "-C", str(root), "-c", "user.name=b", "-c", "user.email=b@example.invalid"]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "synthetic"], check=True)
    return pins


def time_git_grep(root: Path) -> float:
    with Stopwatch() as watch:
        done = subprocess.run(
            ["git", "-C", str(root), "grep", "-n", "torch"], capture_output=True, check=False
        )
    assert done.returncode == 0 and done.stdout
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


def time_cli(root: Path, python: str) -> tuple[float, float]:
    env = child_env(PYTHONPATH=str(SRC))
    argv = [python, "-m", "mlops_actions", "version-guard", str(root), "--fail-on", "never"]
    with Stopwatch() as watch:
        proc = subprocess.Popen(
            [*argv, "--sarif-file", os.devnull],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        _, status, usage = os.wait4(proc.pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    return watch.seconds, usage.ru_maxrss / 1024  # KiB on Linux → MiB


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
        rss: list[float] = []

        def cli() -> float:
            elapsed, maxrss = time_cli(root, args.python)
            rss.append(maxrss)
            return elapsed

        samples = rounds(
            {
                "startup": lambda: time_cli_startup(args.python),
                "grep": lambda: time_git_grep(root),
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
            "peak_tracemalloc_mib": peak / 2**20,
            "cli_peak_rss_mib": max(rss),
            "goal": "in-process scan <= 1.5x git grep",
        }
    width = max(len(k) for k in results)
    for key, value in results.items():
        shown = f"{value:.3f}" if isinstance(value, float) else str(value)
        print(f"{key:<{width}}  {shown}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
