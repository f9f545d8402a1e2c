"""How much a warm `actions/bootstrap.sh` adds to a composite action's step.

Builds the cached environment once (cold, timed once), then times warm runs against `bash -c
true` (the floor of any `run:` step), interleaved, and prints medians and the difference.
Goal: a warm run adds well under a second.

    python bench/bootstrap.py [--runs 15]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
from pathlib import Path

from _timing import Stopwatch, medians, rounds

ROOT = Path(__file__).resolve().parents[1]


def timed(command: list[str], env: dict[str, str]) -> float:
    with Stopwatch() as watch:
        subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
    return watch.seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bootstrap-bench-") as cache:
        # A GitHub-hosted runner: the one place the shared tool cache is used without opt-in.
        env = {**os.environ, "RUNNER_TOOL_CACHE": cache, "RUNNER_ENVIRONMENT": "github-hosted"}
        script = ["bash", str(ROOT / "actions" / "bootstrap.sh")]
        cold = timed(script, env)
        samples = rounds(
            {
                "bash -c true": lambda: timed(["bash", "-c", "true"], env),
                "bootstrap (warm)": lambda: timed(script, env),
            },
            args.runs,
        )
    middle = medians(samples)
    print(f"cold bootstrap (venv + pip install, once): {cold:.2f} s")
    for name, seconds in middle.items():
        print(f"{name:18s} median {seconds * 1000:7.1f} ms")
    added = middle["bootstrap (warm)"] - middle["bash -c true"]
    print(f"warm bootstrap adds {added * 1000:.1f} ms per step (goal: well under 1 s)")
    return 0 if added < 1.0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
