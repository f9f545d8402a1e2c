"""Start env-verify's probe before the command line is imported (`python -m mlops_actions`).

The probe runs in the job's interpreter, and on a GPU runner its driver queries can take longer
than this process takes to import the command line, the checks and the config; started here,
it runs during all of that. Only the flags and ``INPUT_*`` variables the probe depends on are
read, plainly: when they leave any doubt (a facts file, image mode, smoke runs, a value that is
not a plain yes/no or number), nothing starts early and the command starts the probe as before.
``probing.start_probe`` takes the early probe only when the command asks for exactly the same
one (interpreter, flags, environment), so the report never depends on this reading; an early
probe that nothing takes (a bad input, ``--help``) is stopped at exit.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from mlops_actions.env_verify import probing
from mlops_actions.errors import EnvironmentProblem

# The inputs the probe depends on; EnvVerifyInputs holds the same names and defaults.
PROBE_INPUTS = ("python", "facts", "image", "smoke", "compile", "timeout")
SWITCHES = ("smoke", "compile")
DEFAULT_TIMEOUT = 120.0


def probe_inputs(args: Sequence[str], env: Mapping[str, str]) -> dict[str, str]:
    """The text of the inputs the probe depends on; a flag wins over its ``INPUT_*`` variable.

    Flags it does not know are stepped over with their value; whatever argparse would refuse
    ends the command before it asks for a probe, so a misreading costs one stopped probe."""
    raw = {name: env.get(f"INPUT_{name.upper()}", "") for name in PROBE_INPUTS}
    position = 0
    while position < len(args):
        arg = args[position]
        position += 1
        if not arg.startswith("--"):
            continue
        name, has_value, value = arg[2:].partition("=")
        switch = name.removeprefix("no-")
        if switch in SWITCHES and not has_value:
            raw[switch] = "false" if name.startswith("no-") else "true"
            continue
        if not has_value and position < len(args) and not args[position].startswith("-"):
            value = args[position]
            position += 1
        if name in raw and (has_value or value):
            raw[name] = value
    return raw


def _yes_no(text: str) -> bool | None:
    word = text.strip().lower()
    return {"": False, "false": False, "true": True}.get(word)


def early_request(raw: Mapping[str, str]) -> dict[str, Any] | None:
    """``start_probe``'s arguments for these inputs, or None when the command may want
    another probe or none."""
    if raw["facts"].strip() or raw["image"].strip():
        return None
    smoke, want_compile = _yes_no(raw["smoke"]), _yes_no(raw["compile"])
    if smoke is None or smoke or want_compile is None:
        return None  # smoke runs take minutes: never before the inputs are checked
    text = raw["timeout"].strip()
    try:
        timeout = float(text) if text else DEFAULT_TIMEOUT
    except ValueError:
        return None
    if not timeout > 0:
        return None
    return {
        "interpreter": raw["python"].strip(),
        "smoke": False,
        "want_compile": want_compile,
        "timeout": timeout,
    }


def start(args: Sequence[str], env: Mapping[str, str] | None = None) -> probing.ProbeRun | None:
    """Start the probe for env-verify's arguments (after the command name) when they say
    plainly which one; the command takes it over."""
    if "-h" in args or "--help" in args:
        return None
    environ = dict(os.environ if env is None else env)
    wanted = early_request(probe_inputs(args, environ))
    if wanted is None:
        return None
    try:
        run = probing.start_probe(**wanted, env=environ)
    except EnvironmentProblem:
        return None  # the command says so, after it has checked the inputs
    probing.hold_early(run)
    return run
