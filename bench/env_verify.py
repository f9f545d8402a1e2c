"""Benchmark env-verify's fast path against what teams run today, on one machine in one run.

    python bench/env_verify.py [--runs N] [--python PATH] [--json]

Each round runs every contender once, in a shuffled order, so drift (caches, CPU frequency)
spreads over all of them; the table shows medians and ratios. Contenders:

- ``bare``: ``python -c pass`` (interpreter start);
- ``import-torch``: ``python -c "import torch; print(torch.__version__, torch.cuda.is_available())"``;
- ``collect-env``: ``python -m torch.utils.collect_env``;
- ``probe``: the probe alone, by path (``probe.py --out FILE``): the complete facts document,
  read without importing torch;
- ``probe-start``: the probe as the command starts it (``python -c LAUNCH probe.py``): the same
  document from the bytecode pip compiled beside it;
- ``checks``: ``python -m mlops_actions env-verify --facts FILE``: the checks, the report and
  the command line's start-up, on a document already written;
- ``cli-json``: ``python -m mlops_actions env-verify --json``: one process that starts the probe
  first and imports the checks while it runs;
- ``cli-json-config``: the same in this repository, which has a config file: reading and
  validating ``.github/mlops.yml`` (PyYAML, jsonschema) comes on top;
- ``script-json``: the same through the ``mlops-actions`` console script;
- ``two-process``: the probe, then ``env-verify --facts FILE --json``: the same work as
  ``cli-json`` in the earlier shape of two processes one after the other;
- ``bootstrap``: ``actions/bootstrap.sh`` with its environment already built (a warm runner);
- ``action``: the action's whole work as ``env-verify/action.yml`` runs it: each step's
  ``run:`` under ``bash --noprofile --norc -eo pipefail`` (as GitHub runs a composite step),
  the warm bootstrap, then the command with the step's ``INPUT_*`` variables (the inputs'
  defaults, the job's interpreter), on a runner (``GITHUB_ACTIONS``, outputs, step summary,
  report in ``$RUNNER_TEMP``).

The command's rows but ``cli-json-config`` run on a workspace without a config file, as the
action's row does. The bootstrap gets the interpreter through ``MLOPS_ACTIONS_PYTHON`` (the base interpreter of
``--python``): on this machine ``python3.13`` and its siblings on PATH are pyenv shims that cost
~100 ms each to fail, which a runner's real interpreters do not. The probe's bytecode is
compiled first, as ``pip install`` does.

Goals: the action and the command line at most 0.05x collect-env and at most 4x a bare interpreter.
"""

from __future__ import annotations

import argparse
import json
import os
import py_compile
import random
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import yaml
from _timing import Stopwatch, child_env, medians, rounds

from mlops_actions.env_verify.probing import LAUNCH

ROOT = Path(__file__).resolve().parents[1]
PROBE = ROOT / "src" / "mlops_actions" / "env_verify" / "probe.py"
BOOTSTRAP = ROOT / "actions" / "bootstrap.sh"
DEFAULT_PYTHON = ROOT / ".venv" / "bin" / "python"


def timed(commands: Sequence[Sequence[str]], env: dict[str, str]) -> float:
    with Stopwatch() as watch:
        for argv in commands:
            done = subprocess.run(argv, env=env, capture_output=True, check=False)
            if done.returncode not in (0, 1):  # env-verify exits 1 when a check fails: still timed
                tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
                raise SystemExit(f"{' '.join(argv)} exited {done.returncode}: {' | '.join(tail)}")
    return watch.seconds


def base_interpreter(python: str) -> str:
    """The interpreter a venv's python runs on: what a runner has on PATH."""
    code = "import os, sys; print(os.path.realpath(sys._base_executable))"
    done = subprocess.run([python, "-I", "-c", code], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def load_action() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(
        (ROOT / "env-verify" / "action.yml").read_text(encoding="utf-8")
    )
    return loaded


def action_steps() -> list[str]:
    """The ``run:`` values of env-verify/action.yml, in order."""
    return [step["run"] for step in load_action()["runs"]["steps"]]


def action_env(scratch: Path, python: str) -> dict[str, str]:
    """A runner step's environment for env-verify/action.yml: every input as GitHub passes it
    (declared defaults, the job's interpreter as `python`), the runner's files in scratch."""
    inputs = {
        "INPUT_" + name.upper().replace("-", "_"): str(spec.get("default", ""))
        for name, spec in load_action()["inputs"].items()
    }
    workspace = scratch / "workspace"
    workspace.mkdir(exist_ok=True)
    return {
        **inputs,
        "INPUT_PYTHON": python,
        "GITHUB_ACTIONS": "true",
        "GITHUB_ACTION_PATH": str(ROOT / "env-verify"),
        "GITHUB_WORKSPACE": str(workspace),
        "GITHUB_OUTPUT": str(scratch / "github-output"),
        "GITHUB_STEP_SUMMARY": str(scratch / "step-summary"),
        "RUNNER_TEMP": str(scratch),
        "MLOPS_ACTIONS_PYTHON": base_interpreter(python),
    }


def contenders(python: str, scratch: Path) -> dict[str, Callable[[dict[str, str]], float]]:
    facts = str(scratch / "facts.json")
    out = str(scratch / "report.json")
    cli = [python, "-m", "mlops_actions", "env-verify"]
    script = str(Path(python).with_name("mlops-actions"))
    runner = action_env(scratch, python)
    # A repository without a config file, as the action's workspace (cli-json-config reads this
    # repository's .github/mlops.yml: YAML and the JSON Schema validation on top).
    bare_repo = {"GITHUB_WORKSPACE": runner["GITHUB_WORKSPACE"]}
    # The warm runner: the bootstrap builds its environment once, before any round.
    built = subprocess.run(
        ["bash", str(BOOTSTRAP)], env={**child_env(), **runner}, capture_output=True, text=True
    )
    if built.returncode != 0:
        raise SystemExit(f"bootstrap failed: {built.stderr.strip()[-500:]}")
    runner["MLOPS_PYTHON"] = built.stdout.strip().splitlines()[-1]
    step = ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c"]
    table: dict[str, tuple[list[list[str]], dict[str, str]]] = {
        "bare": ([[python, "-c", "pass"]], {}),
        "import-torch": (
            [[python, "-c", "import torch; print(torch.__version__, torch.cuda.is_available())"]],
            {},
        ),
        "collect-env": ([[python, "-m", "torch.utils.collect_env"]], {}),
        "probe": ([[python, str(PROBE), "--out", facts]], {}),
        "probe-start": ([[python, "-c", LAUNCH, str(PROBE), "--out", facts]], {}),
        "checks": ([[*cli, "--facts", facts, "--report", out]], bare_repo),
        "cli-json": ([[*cli, "--python", python, "--json"]], bare_repo),
        "cli-json-config": (
            [[*cli, "--python", python, "--json"]],
            {"GITHUB_WORKSPACE": str(ROOT)},
        ),
        "script-json": ([[script, "env-verify", "--python", python, "--json"]], bare_repo),
        # The same work in the earlier two-process shape: the probe, then the checks on its file.
        "two-process": (
            [[python, str(PROBE), "--out", facts], [*cli, "--facts", facts, "--json"]],
            bare_repo,
        ),
        "bootstrap": ([["bash", str(BOOTSTRAP)]], runner),
        "action": ([[*step, run] for run in action_steps()], runner),
    }
    # The probe writes the document `checks` reads before any round starts; its bytecode is
    # compiled as pip compiles it on install.
    py_compile.compile(str(PROBE), doraise=True)
    subprocess.run([python, str(PROBE), "--out", facts], check=True)
    return {
        name: (lambda env, argv=argv, extra=extra: timed(argv, {**env, **extra}))
        for name, (argv, extra) in table.items()
    }


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
    print(f"{'contender':<16} {'median s':>9} {'x collect-env':>14} {'x bare':>8}")
    for name in names:
        m = middle[name]
        print(f"{name:<16} {m:>9.3f} {m / collect:>14.3f} {m / bare:>8.1f}")
    for name in (
        "probe",
        "probe-start",
        "cli-json",
        "cli-json-config",
        "script-json",
        "bootstrap",
        "action",
    ):
        m = middle[name]
        verdict = "meets" if m <= 0.05 * collect and m <= 4 * bare else "misses"
        print(f"goal (<= 0.05x collect-env and <= 4x bare): {name} {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
