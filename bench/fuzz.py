"""Hostile input: a long fuzz run over every pin scanner and the config loader, then each
resource bomb through the CLI with its wall time and peak RSS.

    python bench/fuzz.py [--inputs 100000] [--seed 1] [--time-limit 1800] [--skip-fuzz]
                         [--skip-bombs] [--crashes DIR] [--json FILE]

Fuzz: mutations of the fixtures (bit flips, splices, tokens, cuts, numbers past Python's
4,300-digit limit, nesting thousands deep, YAML alias bombs, bytes that are not UTF-8; the
recipes of ``tests/support/fuzzing.py``), one target per input, in this process. Counts the
inputs actually run (``--time-limit`` stops early and says so), the crashes (any exception but
the project's own errors; distinct ones listed, and their inputs written to ``--crashes``) and
the inputs over 5 s (an alarm aborts an input at 60 s and counts it). Goal: >= 100,000 inputs,
0 crashes, 0 over 5 s.

Bombs: each in a fresh temporary repository, through ``python -m mlops_actions`` in a child
process (at most 1 GiB of address space, killed after 60 s); wall time from a stopwatch, peak
RSS from that child's own rusage (``os.wait4``).
Goal: each ends with exit 0, 1 or 2 and no internal error, in <= 10 s and <= 256 MiB.
"""

from __future__ import annotations

import argparse
import collections
import itertools
import json
import os
import random
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from _timing import Stopwatch, child_env

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from tests.support.fuzzing import MUTATORS, TARGETS, Crash, mutate, run_target, seeds  # noqa: E402

SLOW_S = 5.0
ABORT_S = 60
BOMB_WALL_S = 10.0
BOMB_RSS_MIB = 256.0
# A bomb that gets through must not take the shared machine with it: each child runs under an
# address-space limit (a MemoryError there is a failed bomb) and is killed after KILL_S.
CHILD_ADDRESS_SPACE = 1 << 30
KILL_S = 60


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (CHILD_ADDRESS_SPACE, CHILD_ADDRESS_SPACE))


class _Hang(BaseException):
    """Raised by the alarm in an input that runs past ``ABORT_S``."""


def _alarm(signum: int, frame: FrameType | None) -> None:
    raise _Hang


def fuzz(inputs: int, seed: int, time_limit: float, crash_dir: Path | None) -> dict[str, object]:
    pools = seeds()
    names = sorted(MUTATORS)
    targets = sorted(TARGETS)
    rng = random.Random(seed)
    crashes: collections.Counter[tuple[str, str, str]] = collections.Counter()
    slow: list[tuple[str, list[tuple[str, int]], float]] = []
    per_target: collections.Counter[str] = collections.Counter()
    outcomes: collections.Counter[str] = collections.Counter()
    signal.signal(signal.SIGALRM, _alarm)
    start = time.perf_counter()
    run = 0
    worst = 0.0
    stopped_early = False
    for _ in range(inputs):
        if time.perf_counter() - start > time_limit:
            stopped_early = True
            break
        target = targets[run % len(targets)]
        pool = pools[target]
        recipe = [(rng.choice(names), rng.randrange(2**32)) for _ in range(rng.randint(1, 3))]
        data = mutate(rng.choice(pool), recipe, pool)
        signal.alarm(ABORT_S)
        began = time.perf_counter()
        try:
            outcome = run_target(target, data)
        except _Hang:
            outcome = "aborted"
        finally:
            signal.alarm(0)
        took = time.perf_counter() - began
        worst = max(worst, took)
        run += 1
        per_target[target] += 1
        if took > SLOW_S:
            slow.append((target, recipe, took))
        crash = outcome if isinstance(outcome, Crash) else None
        outcomes["crash" if crash else str(outcome)] += 1
        if crash is not None:
            key = (crash.target, crash.error[:80], crash.where)
            if key not in crashes and crash_dir is not None:
                crash_dir.mkdir(parents=True, exist_ok=True)
                (crash_dir / f"{crash.target}-{len(crashes)}.bin").write_bytes(data)
            crashes[key] += 1
    return {
        "inputs": run,
        "seconds": round(time.perf_counter() - start, 1),
        "stopped_early": stopped_early,
        "per_target": dict(per_target),
        "outcomes": dict(outcomes),
        "crashes": sum(crashes.values()),
        "distinct_crashes": [
            {"target": t, "error": e, "where": w, "count": n}
            for (t, e, w), n in crashes.most_common()
        ],
        "over_5s": len(slow),
        "slow": [{"target": t, "recipe": r, "seconds": round(s, 1)} for t, r, s in slow[:20]],
        "slowest_s": round(worst, 3),
    }


# --- bombs -----------------------------------------------------------------------------------

Builder = Callable[[Path], list[str]]


def _write(repo: Path, rel: str, text: str | bytes) -> None:
    path = repo / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode() if isinstance(text, str) else text)


def _laughs() -> str:
    names = "abcdefghi"
    lines = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"{c}: &{c} [" + ", ".join(["*" + p] * 9) + "]" for p, c in itertools.pairwise(names)]
    return "\n".join(lines) + "\n"


def matrix_6x10(repo: Path) -> list[str]:
    keys = "".join(f"        {k}: [{', '.join(str(i) for i in range(10))}]\n" for k in "abcdef")
    _write(
        repo,
        ".github/workflows/ci.yml",
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    strategy:\n      matrix:\n"
        + keys
        + "    steps:\n      - run: pip install torch==${{ matrix.a }}\n",
    )
    return ["version-guard", "."]


def matrix_256_jobs_200_steps(repo: Path) -> list[str]:
    """The largest matrix that is expanded: 256 jobs, each scanning 200 steps."""
    keys = "".join(f"        {k}: [1, 2, 3, 4]\n" for k in "abcd")
    steps = "".join(
        f"      - run: pip install torch==2.${{{{ matrix.a }}}}.{i} numpy\n" for i in range(200)
    )
    _write(
        repo,
        ".github/workflows/ci.yml",
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    strategy:\n      matrix:\n"
        + keys
        + "    steps:\n"
        + steps,
    )
    return ["version-guard", "."]


def laughs_config(repo: Path) -> list[str]:
    _write(repo, ".github/mlops.yml", _laughs())
    return ["config", "check"]


def laughs_workflow(repo: Path) -> list[str]:
    _write(repo, ".github/workflows/ci.yml", "on: push\n" + _laughs())
    return ["version-guard", "."]


def dockerfile_100k_lines(repo: Path) -> list[str]:
    lines = ["FROM python:3.11"]
    lines += [f"COPY r{i}.txt /app/r{i}.txt" for i in range(50_000)]
    lines += [f"RUN pip install -r /app/r{i}.txt" for i in range(50_000)]
    _write(repo, "Dockerfile", "\n".join(lines) + "\n")
    return ["version-guard", "."]


def dockerfile_100k_line_heredoc(repo: Path) -> list[str]:
    body = "\n".join(f"pip install pkg{i}==1.0" for i in range(100_000))
    _write(repo, "Dockerfile", f"FROM python:3.11\nRUN <<EOF\n{body}\nEOF\n")
    return ["version-guard", "."]


def requirements_to_dev_zero(repo: Path) -> list[str]:
    repo.mkdir(parents=True, exist_ok=True)
    (repo / "requirements.txt").symlink_to("/dev/zero")
    return ["version-guard", "."]


def requirements_fifo(repo: Path) -> list[str]:
    repo.mkdir(parents=True, exist_ok=True)
    os.mkfifo(repo / "requirements.txt")
    return ["version-guard", "."]


def requirements_over_the_size_cap(repo: Path) -> list[str]:
    _write(repo, "requirements.txt", "numpy==1.26.4\n" * 400_000)  # 5.6 MB
    return ["version-guard", "."]


def link_out_of_the_repository(repo: Path) -> list[str]:
    outside = repo.parent / "outside-secret.txt"
    outside.write_text("torch==1.0.0  # OUTSIDE-SECRET\n")
    repo.mkdir(parents=True, exist_ok=True)
    (repo / "requirements.txt").symlink_to(outside)
    return ["version-guard", "."]


def json_nested_100k_deep(repo: Path) -> list[str]:
    _write(repo, ".devcontainer.json", '{"a": ' + "[" * 100_000 + "]" * 100_000 + "}")
    return ["version-guard", "."]


def numbers_of_100k_digits(repo: Path) -> list[str]:
    digits = "7" * 100_000
    _write(repo, ".python-version", digits + "\n")
    _write(repo, "pyproject.toml", f"[project]\nname = 'x'\nversion = {digits}\n")
    _write(repo, "requirements.txt", f"torch=={digits}\n")
    _write(repo, ".github/workflows/ci.yml", f"jobs:\n  a:\n    env:\n      TORCH: {digits}\n")
    return ["version-guard", "."]


def requirements_1500_distinct_torch_pins(repo: Path) -> list[str]:
    """Not a scanner bomb: 24 KB of pins that the agreement rules compare pair by pair."""
    _write(repo, "requirements.txt", "".join(f"torch==2.4.{i}\n" for i in range(1500)))
    return ["version-guard", "."]


def config_number_of_100k_digits(repo: Path) -> list[str]:
    _write(repo, ".github/mlops.yml", f"version-guard:\n  fail-on: {'7' * 100_000}\n")
    return ["config", "check"]


BOMBS: dict[str, Builder] = {
    "matrix 6 keys x 10 values": matrix_6x10,
    "matrix 256 jobs x 200 steps": matrix_256_jobs_200_steps,
    "billion laughs (config)": laughs_config,
    "billion laughs (workflow)": laughs_workflow,
    "Dockerfile 100k lines (COPY/RUN)": dockerfile_100k_lines,
    "Dockerfile 100k-line heredoc": dockerfile_100k_line_heredoc,
    "requirements.txt -> /dev/zero": requirements_to_dev_zero,
    "requirements.txt is a FIFO": requirements_fifo,
    "requirements.txt 5.6 MB": requirements_over_the_size_cap,
    "link out of the repository": link_out_of_the_repository,
    "JSON nested 100k deep": json_nested_100k_deep,
    "numbers of 100k digits (pin files)": numbers_of_100k_digits,
    "number of 100k digits (config)": config_number_of_100k_digits,
    "1,500 distinct torch pins (rules)": requirements_1500_distinct_torch_pins,
}


def run_bomb(name: str, build: Builder) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="bomb-") as tmp:
        repo = Path(tmp) / "repo"
        args = build(repo)
        env = child_env(GITHUB_WORKSPACE=str(repo))
        log = Path(tmp) / "out.log"
        with log.open("wb") as sink, Stopwatch() as watch:
            proc = subprocess.Popen(
                [sys.executable, "-m", "mlops_actions", *args],
                cwd=repo,
                env=env,
                stdout=sink,
                stderr=subprocess.STDOUT,
                preexec_fn=_limit_memory,
            )
            killer = threading.Timer(KILL_S, proc.kill)
            killer.start()
            # Reaped here with wait4: the rusage is this one child's, peak RSS included.
            _, status, usage = os.wait4(proc.pid, 0)
            killer.cancel()
        proc.returncode = code = os.waitstatus_to_exitcode(status)
        rss_mib = usage.ru_maxrss / 1024  # KiB on Linux
        text = log.read_text(encoding="utf-8", errors="replace")
        ok = (
            code in (0, 1, 2)
            and "internal error" not in text
            and "OUTSIDE-SECRET" not in text
            and watch.seconds <= BOMB_WALL_S
            and rss_mib <= BOMB_RSS_MIB
        )
        said = [ln for ln in text.splitlines() if ln.strip() and "version-guard:" not in ln]
        return {
            "bomb": name,
            "exit": code,
            "seconds": round(watch.seconds, 2),
            "peak_rss_mib": round(rss_mib, 1),
            "ok": ok,
            "says": (said[0] if said else text.strip()[:160])[:160],
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--inputs", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--time-limit", type=float, default=1800.0, help="seconds of fuzzing")
    parser.add_argument("--skip-fuzz", action="store_true")
    parser.add_argument("--skip-bombs", action="store_true")
    parser.add_argument("--crashes", type=Path, default=None, help="write crashing inputs here")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    result: dict[str, object] = {}
    good = True
    if not args.skip_bombs:
        bombs = [run_bomb(name, build) for name, build in BOMBS.items()]
        result["bombs"] = bombs
        print(f"{'bomb':34} {'exit':>4} {'wall s':>7} {'peak MiB':>9}  ok  says")
        for b in bombs:
            print(
                f"{b['bomb']:34} {b['exit']:>4} {b['seconds']:>7} {b['peak_rss_mib']:>9}  "
                f"{'yes' if b['ok'] else 'NO '} {b['says']}"
            )
        good &= all(b["ok"] for b in bombs)
        print(f"goal: every bomb exit 0/1/2, <= {BOMB_WALL_S:g} s, <= {BOMB_RSS_MIB:g} MiB")
    if not args.skip_fuzz:
        report = fuzz(args.inputs, args.seed, args.time_limit, args.crashes)
        result["fuzz"] = report
        print(
            f"fuzz: {report['inputs']:,} inputs in {report['seconds']} s"
            + (" (stopped at the time limit)" if report["stopped_early"] else "")
            + f"; crashes {report['crashes']}, over {SLOW_S:g} s {report['over_5s']}, "
            f"slowest {report['slowest_s']} s"
        )
        print("outcomes: " + ", ".join(f"{k} {v:,}" for k, v in report["outcomes"].items()))  # type: ignore[attr-defined]
        print("per target: " + ", ".join(f"{k} {v:,}" for k, v in report["per_target"].items()))  # type: ignore[attr-defined]
        for c in report["distinct_crashes"]:  # type: ignore[attr-defined]
            print(f"  crash {c['target']}: {c['error']} at {c['where']} (x{c['count']})")
        good &= report["crashes"] == 0 and report["over_5s"] == 0
        print("goal: >= 100,000 inputs, 0 crashes, 0 over 5 s")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0 if good else 1


if __name__ == "__main__":
    raise SystemExit(main())
