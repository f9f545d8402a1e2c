"""What every command is: typed inputs, a run function, and what the CLI and actions need to know."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from mlops_actions.runner import Runner

InputsT = TypeVar("InputsT")

CONFIG_HELP = "Config file (default .github/mlops.yml)."


def text_input(
    help_text: str, *, default: str = "", secret: bool = False, metavar: str = ""
) -> Any:
    """A string input of a command's inputs dataclass: its default, its help, what goes after
    its flag on the command line (`BRANCH`, `PATH`, …) and whether it is a secret (masked in
    every log line)."""
    metadata: dict[str, Any] = {"help": help_text}
    if metavar:
        metadata["metavar"] = metavar
    if secret:
        metadata["secret"] = True
    return field(default=default, metadata=metadata)


@dataclass
class Context:
    """What a command may use besides its inputs; read once by the CLI."""

    runner: Runner
    github: Mapping[str, str] = field(default_factory=dict)  # GITHUB_* facts, see runner
    cwd: Path = field(default_factory=Path.cwd)
    trailing: tuple[str, ...] = ()  # the arguments after `--`, for commands that take them

    def workspace(self, working_directory: str | Path | None = None) -> Path:
        base = Path(self.github.get("GITHUB_WORKSPACE") or self.cwd)
        if working_directory:
            path = Path(working_directory)
            return path if path.is_absolute() else base / path
        return base


@dataclass
class Outcome:
    """A command's end: its exit code and the machine-readable report (``--json``)."""

    exit_code: int
    report: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Command(Generic[InputsT]):
    name: str
    summary: str
    inputs: type[InputsT]
    run: Callable[[InputsT, Context], Outcome]
    positional: tuple[str, ...] = ()  # inputs that the CLI also takes as positional arguments
    trailing: str = ""  # names what the arguments after `--` are (gpu-monitor: a command)
