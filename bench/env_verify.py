"""Benchmark env-verify's fast path against what teams run today, on one machine in one run.

    python bench/env_verify.py [--runs N] [--python PATH] [--json]

Each round runs every contender once, in a shuffled order, so drift (caches, CPU frequency)
spreads over all of them; the table shows medians and ratios. Contenders:

- ``bare``: ``python -c pass`` (interpreter start);
- ``import-torch``: ``python -c "import torch; print(torch.__version__, torch.cuda.is_available())"``;
- ``collect-env``: ``python -m torch.utils.collect_env``;
- ``probe``: the probe alone, as the action's first step runs it (``probe.py --out FILE``): the
  complete facts document, read without importing torch;
- ``probe+checks``: the probe, then every check and the report in one lean process (what the
  checks cost without the command line's start-up);
- ``action``: the probe, then ``python -m mlops_actions env-verify --facts FILE``, exactly the two
  processes the composite action starts.

Goals (issue 3): the fast path at most 0.05x collect-env and at most 4x a bare interpreter.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

from _timing import Stopwatch, child_env, medians, rounds

ROOT = Path(__file__).resolve().parents[1]
PROBE = ROOT / "src" / "mlops_actions" / "env_verify" / "probe.py"
DEFAULT_PYTHON = ROOT / ".venv" / "bin" / "python"

LEAN_CHECKS = """
import json, sys
from mlops_actions.env_verify import checks, report
facts = json.load(open(sys.argv[1]))
results = checks.evaluate(facts, checks.Expectations())
labels = report.image_labels(facts, verified_at="now", ok=not checks.failed(results))
outputs = report.outputs(facts, results, report_path=sys.argv[2], labels=labels)
document = report.report(facts, checks.Expectations(), results, verified_at="now", outputs_=outputs)
open(sys.argv[2], "w").write(json.dumps(document))
report.summary(facts, results)
"""


def timed(commands: Sequence[Sequence[str]], env: dict[str, str]) -> float:
    with Stopwatch() as watch:
        for argv in commands:
            done = subprocess.run(argv, env=env, capture_output=True, check=False)
            if done.returncode not in (0, 1):  # env-verify exits 1 when a check fails: still timed
                tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
                raise SystemExit(f"{' '.join(argv)} exited {done.returncode}: {' | '.join(tail)}")
    return watch.seconds


def contenders(python: str, scratch: Path) -> dict[str, Callable[[dict[str, str]], float]]:
    facts = str(scratch / "facts.json")
    out = str(scratch / "report.json")
    probe = [python, str(PROBE), "--out", facts]
    table: dict[str, list[list[str]]] = {
        "bare": [[python, "-c", "pass"]],
        "import-torch": [
            [python, "-c", "import torch; print(torch.__version__, torch.cuda.is_available())"]
        ],
        "collect-env": [[python, "-m", "torch.utils.collect_env"]],
        "probe": [probe],
        "probe+checks": [probe, [python, "-c", LEAN_CHECKS, facts, out]],
        "action": [
            probe,
            [python, "-m", "mlops_actions", "env-verify", "--facts", facts, "--report", out],
        ],
    }
    return {name: (lambda env, argv=argv: timed(argv, env)) for name, argv in table.items()}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="rounds (default 10)")
    parser.add_argument(
        "--python",
        default=str(DEFAULT_PYTHON if DEFAULT_PYTHON.exists() else sys.executable),
        help="interpreter with torch installed (default: the project's .venv)",
    )
    parser.add_argument("--json", action="store_true", help="print the medians as JSON")
    args = parser.parse_args(argv)
    env = child_env()
    with tempfile.TemporaryDirectory(prefix="bench-env-verify-") as scratch:
        runs = {
            name: partial(run, env) for name, run in contenders(args.python, Path(scratch)).items()
        }
        names = list(runs)
        # Warm-up (page cache, .pyc files), then rounds in a shuffled order.
        samples = rounds(runs, args.runs, warm=True, rng=random.Random(0))
    middle = medians(samples)
    if args.json:
        print(json.dumps({"runs": args.runs, "python": args.python, "median_s": middle}))
        return 0
    bare, collect = middle["bare"], middle["collect-env"]
    print(f"{args.runs} rounds, python {args.python}, {os.cpu_count()} CPUs")
    print(f"{'contender':<14} {'median s':>9} {'x collect-env':>14} {'x bare':>8}")
    for name in names:
        m = middle[name]
        print(f"{name:<14} {m:>9.3f} {m / collect:>14.3f} {m / bare:>8.1f}")
    for name in ("probe", "probe+checks", "action"):
        m = middle[name]
        verdict = "meets" if m <= 0.05 * collect and m <= 4 * bare else "misses"
        print(f"goal (<= 0.05x collect-env and <= 4x bare): {name} {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
