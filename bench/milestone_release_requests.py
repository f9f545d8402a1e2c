"""Requests one milestone release takes, counted by the GitHub API double.

    python bench/milestone_release_requests.py [--items 1000]

Seeds a closed milestone of N issues and pull requests, runs `milestone-release` on the
`milestone.closed` event, prints the request log by endpoint and checks the budget
⌈N/100⌉ + 6. Exits 1 when the run fails or the budget is exceeded.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
from collections import Counter
from pathlib import Path

from _timing import Stopwatch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.github_double import GitHubDouble, State
from tests.support.milestones import milestone_event, run_release, seed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1000, help="issues and PRs in the milestone")
    args = parser.parse_args()
    state = State()
    seed(state, items=args.items)
    with GitHubDouble(state) as double, tempfile.TemporaryDirectory() as tmp:
        with Stopwatch() as watch:
            result = run_release(double, Path(tmp), event=milestone_event(double, 1))
        entries = double.log.entries
        violations = double.take_violations()
    budget = math.ceil(args.items / 100) + 6
    by_endpoint = Counter(f"{e.method} {e.path}" for e in entries)
    print(f"milestone of {args.items} issues and pull requests: exit {result.code}")
    for endpoint, count in by_endpoint.most_common():
        print(f"  {count:4d}  {endpoint}")
    print(f"requests: {len(entries)} (budget ceil({args.items}/100) + 6 = {budget})")
    print(f"wall time: {watch.seconds:.2f}s (includes PyGithub's pause between writes)")
    ok = result.code == 0 and len(entries) <= budget and not violations
    for violation in violations:
        print(f"violation: {violation}")
    if result.code != 0:
        print(result.stdout + result.stderr)
    print("OK" if ok else "OVER BUDGET OR FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
