"""Wall time of the env-verify fast path against the usual ways of asking the same questions.

    python bench/env_probe.py [--runs 7] [--python PATH] [--json FILE]

Runs, interleaved so that drift hits all alike, with the same interpreter (default: this one):
`python -c pass`, the probe's fast path (`probe.py`), `python -c "import torch;
print(torch.__version__, torch.cuda.is_available())"` and `python -m torch.utils.collect_env`.
Prints the median of each and its ratio to `python -c pass` and to collect_env. The goals:
probe <= 4x a bare interpreter start and <= 0.05x collect_env.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from functools import partial
from pathlib import Path

from _timing import Stopwatch, medians, rounds

PROBE = Path(__file__).resolve().parents[1] / "src" / "mlops_actions" / "env_verify" / "probe.py"


def commands(python: str) -> dict[str, list[str]]:
    return {
        "python -c pass": [python, "-c", "pass"],
        "probe fast path": [python, str(PROBE)],
        "import torch": [
            python,
            "-c",
            "import torch; print(torch.__version__, torch.cuda.is_available())",
        ],
        "collect_env": [python, "-m", "torch.utils.collect_env"],
    }


def timed(name: str, argv: list[str]) -> float:
    with Stopwatch() as watch:
        done = subprocess.run(argv, capture_output=True, check=False)
    if done.returncode != 0:
        sys.exit(f"{name} failed ({done.returncode}): {done.stderr.decode()[-500:]}")
    return watch.seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    args = parser.parse_args()
    cmds = commands(args.python)
    for argv in cmds.values():  # warm the page cache once
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    times = rounds({name: partial(timed, name, argv) for name, argv in cmds.items()}, args.runs)
    middle = medians(times)
    bare, collect = middle["python -c pass"], middle["collect_env"]
    print(
        f"{'command':<18} {'median s':>9} {'x bare':>8} {'x collect_env':>14}  ({args.runs} runs)"
    )
    for name, value in middle.items():
        print(f"{name:<18} {value:>9.4f} {value / bare:>8.2f} {value / collect:>14.4f}")
    if args.json:
        args.json.write_text(
            json.dumps({"python": args.python, "runs": args.runs, "seconds": times}, indent=2)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
