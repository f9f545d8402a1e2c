"""Request counts of label-dispatch against the API double, for the issue's two budgets.

    .venv/bin/python bench/label_dispatch_requests.py

Prints, from the double's request log: sync of 100 labels with 5 changes (budget 7 requests),
and validating one labeled event up to the first comment write (budget 3). Exits 1 when a
budget is exceeded.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.github_double import GitHubDouble  # noqa: E402
from tests.support.label_dispatch import (  # noqa: E402
    Scenario,
    requests_before_first_comment_write,
    sync_scenario,
)


def sync_requests(scratch: Path) -> tuple[int, list[str]]:
    with GitHubDouble() as double:
        root = scratch / "sync"
        root.mkdir()
        scenario = sync_scenario(double, root)
        result = scenario.run("sync", "--no-dry-run")
        if result.code != 0 or result.outputs.get("changes") != "5":
            raise SystemExit(f"sync scenario did not run as planned: {result.log}")
        return len(double.log.entries), [f"{e.method} {e.path}" for e in double.log.entries]


def validate_requests(scratch: Path) -> tuple[int, int, list[str]]:
    """A read-only user applies the restricted gpu:required: permission, removal, comments."""
    with GitHubDouble() as double:
        root = scratch / "validate"
        root.mkdir()
        scenario = Scenario(double, root)
        scenario.seed_labels()
        number = scenario.issue(["task:training", "gpu:required"])
        event = scenario.issues_labeled(number, "gpu:required", "reader")
        result = scenario.run("validate", event=event, event_name="issues")
        if result.code != 1 or len(scenario.comments(number)) != 1:
            raise SystemExit(f"validate scenario did not run as planned: {result.log}")
        before = requests_before_first_comment_write(double)
        return before, len(double.log.entries), [f"{e.method} {e.path}" for e in double.log.entries]


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        sync_total, sync_log = sync_requests(scratch)
        before, validate_total, validate_log = validate_requests(scratch)
    rows = [
        ("sync: 100 labels, 5 changes (3 renames, 1 update, 1 create)", sync_total, 7),
        ("validate: one labeled event, before the comment write", before, 3),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'scenario':<{width}}  requests  budget  ok")
    for name, count, budget in rows:
        print(f"{name:<{width}}  {count:>8}  {budget:>6}  {'yes' if count <= budget else 'NO'}")
    print()
    print("sync requests:     " + "; ".join(sync_log))
    print(
        f"validate requests ({validate_total} in all, comment write included): "
        + "; ".join(validate_log)
    )
    return 0 if all(count <= budget for _, count, budget in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
