"""`mlops-actions config check`: validate the config file."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from mlops_actions.command import Command, Context, Outcome
from mlops_actions.config import SECTIONS, load_config, schema
from mlops_actions.errors import ExitCode


@dataclass(frozen=True)
class ConfigInputs:
    config: str = field(
        default="", metadata={"metavar": "FILE", "help": "Config file (default .github/mlops.yml)."}
    )
    working_directory: str = field(
        default="",
        metadata={"metavar": "PATH", "help": "Repository root (default: the workspace)."},
    )
    mode: Literal["check", "schema"] = field(
        default="check", metadata={"help": "check, or schema to print the JSON Schema."}
    )


def run(inputs: ConfigInputs, ctx: Context) -> Outcome:
    runner = ctx.runner
    if inputs.mode == "schema":
        runner.print(json.dumps(schema(), indent=2))
        return Outcome(ExitCode.OK, schema())
    root = ctx.workspace(inputs.working_directory)
    config = load_config(
        Path(inputs.config) if inputs.config else None, root=root, required=bool(inputs.config)
    )
    if config.path is None:
        runner.notice("no config file found (.github/mlops.yml); every action runs on its defaults")
        report: dict[str, Any] = {"ok": True, "path": None, "sections": []}
    else:
        present = [name for name in SECTIONS if name in config.data]
        runner.print(f"ok: {config.path} is valid (sections: {', '.join(present) or 'none'})")
        report = {"ok": True, "path": config.path, "sections": present}
    runner.set_outputs({"ok": True, "path": report["path"] or ""})
    runner.summary(f"### Config\n\n`{report['path'] or '(none)'}` is valid.")
    return Outcome(ExitCode.OK, report)


COMMAND = Command(
    name="config",
    summary="Validate the config file (.github/mlops.yml) or print its JSON Schema.",
    inputs=ConfigInputs,
    run=run,
    positional=("mode",),
)
