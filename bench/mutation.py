"""Mutation score of the gate, routing, idempotency, retry and exit-code code, within a budget.

Runs mutmut (the `mutation` dependency group; configuration in pyproject.toml `[tool.mutmut]`)
over the given modules, each for at most `--budget` seconds, then prints per module: mutants
tried, killed, survived, with no test reaching them, timed out, and the score
killed / (killed + survived + no tests + timeouts). mutmut runs only the tests that reach each
mutated function (its per-function test selection), and the selected tests are the fast ones:
no act, no Docker. Results are kept under mutants/ (mutmut's log per module in
mutants/bench-<module>.log); delete the folder after changing tests or the `[tool.mutmut]`
settings (a changed setting voids the kept results), so that mutmut collects which tests reach
which function again.

    python bench/mutation.py                                  # the default modules
    python bench/mutation.py --budget 300 mlops_actions.cli   # one module, 5 minutes
    python bench/mutation.py --survivors                      # also list surviving mutants

Default modules: label_dispatch/*, milestone_release/release.py, github_client.py, runner.py,
cli.py and the version-guard rules. A package stands for its modules: each is run within its own
budget and reported on its own line (`mlops_actions.version_guard.rules` for its `__init__.py`,
`mlops_actions.version_guard.rules.agreement` and so on).
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MUTMUT = Path(sys.executable).parent / "mutmut"
DEFAULT_MODULES = (
    "mlops_actions.label_dispatch.route",
    "mlops_actions.label_dispatch.event",
    "mlops_actions.label_dispatch.marker",
    "mlops_actions.label_dispatch.model",
    "mlops_actions.label_dispatch.api",
    "mlops_actions.label_dispatch.command",
    "mlops_actions.label_dispatch.taxonomy",
    "mlops_actions.label_dispatch.sync",
    "mlops_actions.label_dispatch.lint",
    "mlops_actions.label_dispatch.docs",
    "mlops_actions.label_dispatch.gpu",
    "mlops_actions.milestone_release.release",
    "mlops_actions.github_client",
    "mlops_actions.runner",
    "mlops_actions.cli",
    "mlops_actions.version_guard.rules",
)
# mutmut's result lines: "    mlops_actions.cli.x_main__mutmut_12: survived".
RESULT = re.compile(r"^\s*(?P<name>[\w.]+?)\.(?:x_|xǁ)\S*__mutmut_\d+: (?P<status>[\w ]+)$")
SCORED = ("killed", "survived", "no tests", "timeout")


def expand(modules: list[str]) -> list[str]:
    """Each package replaced by itself (its __init__.py) and its modules, in name order."""
    expanded: list[str] = []
    for module in modules:
        expanded.append(module)
        folder = ROOT / "src" / Path(*module.split("."))
        if (folder / "__init__.py").is_file():
            expanded += [
                f"{module}.{path.stem}"
                for path in sorted(folder.glob("*.py"))
                if path.stem != "__init__"
            ]
    return expanded


def mutant_patterns(module: str) -> list[str]:
    """mutmut's names for this module's mutants only (a package's `pkg.*` would take its
    modules' mutants as well): functions are `module.x_name`, methods `module.xǁClassǁname`."""
    return [f"{module}.x_*", f"{module}.xǁ*"]


def run_module(module: str, budget: float, children: int) -> float:
    """mutmut for one module's mutants, stopped (results kept) when the budget is spent."""
    env = dict(os.environ)
    env.setdefault(
        "MLOPS_GITHUB_OPENAPI", str(ROOT.parent / "shared" / "github-api" / "openapi.json")
    )
    started = time.monotonic()
    log_path = ROOT / "mutants" / f"bench-{module}.log"
    log_path.parent.mkdir(exist_ok=True)
    with (
        log_path.open("wb") as log,
        subprocess.Popen(
            [str(MUTMUT), "run", "--max-children", str(children), *mutant_patterns(module)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        ) as proc,
    ):
        try:
            proc.wait(timeout=budget)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGINT)  # mutmut saves what it has and stops
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    return time.monotonic() - started


def results() -> dict[str, Counter[str]]:
    done = subprocess.run(
        [str(MUTMUT), "results", "--all", "true"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    by_module: dict[str, Counter[str]] = defaultdict(Counter)
    for line in done.stdout.splitlines():
        match = RESULT.match(line)
        if match:
            by_module[match.group("name")][match.group("status").strip()] += 1
    return by_module


def survivors(modules: list[str]) -> list[str]:
    done = subprocess.run(
        [str(MUTMUT), "results"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    matches = [RESULT.match(line) for line in done.stdout.splitlines()]
    return [
        m.group(0).strip().rsplit(":", 1)[0]
        for m in matches
        if m and m.group("status").strip() == "survived" and m.group("name") in modules
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("modules", nargs="*", default=list(DEFAULT_MODULES))
    parser.add_argument("--budget", type=float, default=600.0, help="seconds per module")
    parser.add_argument("--children", type=int, default=2, help="parallel mutmut workers")
    parser.add_argument("--survivors", action="store_true", help="list surviving mutants")
    parser.add_argument("--report-only", action="store_true", help="print kept results only")
    args = parser.parse_args()
    if not MUTMUT.exists():
        print(f"mutmut is not installed next to {sys.executable}: pip install --group mutation")
        return 2
    modules = expand(args.modules)
    spent: dict[str, float] = {}
    if not args.report_only:
        for module in modules:
            spent[module] = run_module(module, args.budget, args.children)
    by_module = results()
    print(
        f"{'module':<44} {'tried':>6} {'killed':>6} {'surv.':>6} {'no test':>7} {'t/o':>4} {'score':>6} {'time':>6}"
    )
    total: Counter[str] = Counter()
    for module in modules:
        counts = by_module.get(module, Counter())
        tried = sum(counts[s] for s in SCORED)
        total.update(counts)
        score = f"{100 * counts['killed'] / tried:.1f}%" if tried else "—"
        took = f"{spent[module]:.0f}s" if module in spent else ""
        print(
            f"{module:<44} {tried:>6} {counts['killed']:>6} {counts['survived']:>6} "
            f"{counts['no tests']:>7} {counts['timeout']:>4} {score:>6} {took:>6}"
        )
    tried = sum(total[s] for s in SCORED)
    if tried:
        print(
            f"{'all':<44} {tried:>6} {total['killed']:>6} {total['survived']:>6} "
            f"{total['no tests']:>7} {total['timeout']:>4} {100 * total['killed'] / tried:.1f}%"
        )
    if args.survivors:
        for name in survivors(modules):
            print("survived:", name)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
