"""The CPU time of `mlops-actions branch-policy` checking a head and a base, against
`python -c pass` measured in the same run (the interpreter's own start).

Contenders, each a fresh process timed by its rusage (user + system, children included):
- the name/target check alone: `--head --base`, no config file, no checkout (goal: ≤ 0.15 s);
- the same with a `.github/mlops.yml` (the config is read and validated against the schema);
- the same in a git checkout, where the drift of the head behind the base is measured too;
- a checkout with a config file: what a workflow run with both pays.

The config file costs what the shared config layer costs every command (importing yaml and
jsonschema, then validating); the goal is set for the name/target check the action is for.

    python bench/branch_policy.py [--runs 15]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from _timing import child_env, medians, rounds

ROOT = Path(__file__).resolve().parents[1]
GOAL_CPU_S = 0.15
CHECK = ["-m", "mlops_actions", "branch-policy", "--head", "feature/123-amp", "--base", "develop"]
CONFIG = "branch-policy:\n  integration: [develop]\n  drift: {max-commits: 50, max-days: 14}\n"


def cpu_seconds(argv: list[str], cwd: Path) -> float:
    """User + system CPU seconds of one run of ``argv`` (and what it waited for: git)."""
    env = child_env(PYTHONPATH=str(ROOT / "src"))
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(argv)} failed in {cwd}")
    return usage.ru_utime + usage.ru_stime


def git_checkout(root: Path) -> None:
    def git(*args: str) -> None:
        subprocess.run(
            ["git", "-C", str(root), "-c", "user.name=b", "-c", "user.email=b@x", *args],
            check=True,
            capture_output=True,
        )

    git("init", "-q", "-b", "develop")
    for i in range(30):
        git("commit", "-q", "--allow-empty", "-m", f"c{i}")
    git("branch", "feature/123-amp", "HEAD~20")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--python", default=sys.executable)
    args = parser.parse_args()
    py = args.python
    with tempfile.TemporaryDirectory(prefix="branch-policy-bench-") as tmp:
        names = ("bare", "configured", "checkout", "both")
        bare, configured, checkout, both = (Path(tmp) / n for n in names)
        for folder in (bare, configured, checkout, both):
            folder.mkdir()
        for folder in (configured, both):
            (folder / ".github").mkdir()
            (folder / ".github" / "mlops.yml").write_text(CONFIG)
        git_checkout(checkout)
        git_checkout(both)
        samples = rounds(
            {
                "python -c pass": lambda: cpu_seconds([py, "-c", "pass"], bare),
                "name/target check": lambda: cpu_seconds([py, *CHECK], bare),
                "  + config file": lambda: cpu_seconds([py, *CHECK], configured),
                "  + drift (git checkout)": lambda: cpu_seconds([py, *CHECK], checkout),
                "  + config file + drift": lambda: cpu_seconds([py, *CHECK], both),
            },
            args.runs,
            warm=True,
        )
    middle = medians(samples)
    baseline = middle["python -c pass"]
    print(f"{args.runs} rounds, python {py}, {os.cpu_count()} CPUs; CPU = user + system")
    for name, seconds in middle.items():
        ratio = seconds / baseline if baseline else float("inf")
        print(f"{name:26s} median {seconds * 1000:7.1f} ms CPU  ({ratio:5.1f}x python -c pass)")
    check = middle["name/target check"]
    print(f"name/target check: {check:.3f} s CPU (goal: <= {GOAL_CPU_S} s)")
    return 0 if check <= GOAL_CPU_S else 1


if __name__ == "__main__":
    raise SystemExit(main())
