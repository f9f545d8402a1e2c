"""What the API double's OpenAPI validation costs the tests.

Seeds a 1,000-item milestone (issues, pull requests, bots among the authors), then lists it
through PyGithub in pages of 100 from a double that validates every request and response and
from one that does not, interleaved. Prints medians, the ratio, and the median validation time
per request from the double's request log.

    python bench/github_double.py [--runs 5] [--items 1000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

from _timing import Stopwatch, medians, rounds

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.github_double.server import GitHubDouble
from tests.support.milestones import REPO, seed


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--items", type=int, default=1000)
    args = parser.parse_args()
    doubles = {}
    milestones = {}
    for name, validate in (("validated", True), ("unvalidated", False)):
        double = GitHubDouble(validate=validate).start()
        milestones[name] = seed(double.state, items=args.items).milestone
        doubles[name] = double

    def listing(name: str) -> float:
        double = doubles[name]
        repo = double.github().get_repo(REPO)
        with Stopwatch() as watch:
            count = sum(
                1
                for _ in repo.get_issues(
                    milestone=repo.get_milestone(milestones[name]), state="all"
                )
            )
        assert count == args.items, count
        return watch.seconds

    try:
        samples = rounds(
            {name: (lambda n=name: listing(n)) for name in doubles}, args.runs, warm=True
        )
        per_request = [e.validation_ms for e in doubles["validated"].log.entries]
        violations = doubles["validated"].take_violations()
    finally:
        for double in doubles.values():
            double.stop()
    middle = medians(samples)
    pages = -(-args.items // 100)
    print(f"{args.items} items, {pages} pages of 100, {args.runs} rounds")
    for name, seconds in middle.items():
        print(f"{name:12s} median {seconds:.3f} s")
    print(f"ratio validated / unvalidated: {middle['validated'] / middle['unvalidated']:.1f}x")
    print(
        f"validation per request, median: {statistics.median(per_request):.1f} ms "
        f"over {len(per_request)} requests"
    )
    print(f"violations: {len(violations)}")
    return 1 if violations else 0


if __name__ == "__main__":
    raise SystemExit(main())
