"""Errors that end a command with a one-line explanation and a fix, and the exit-code table."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Exit codes shared by every command (documented in README "Exit codes")."""

    OK = 0
    FINDINGS = 1  # the check ran and found problems
    USAGE = 2  # bad input, flag or config file
    GITHUB = 3  # the GitHub API refused or kept failing (permission, rate limit, network)
    ENVIRONMENT = 4  # something the command needs is missing (Docker engine, git, an interpreter)
    INTERNAL = 70  # a bug in mlops-actions: rerun with --debug and report it


class ActionError(Exception):
    """A failure the user can fix; `message` says what is wrong, `fix` what to do."""

    exit_code: ExitCode = ExitCode.USAGE

    def __init__(
        self,
        message: str,
        *,
        fix: str = "",
        file: str | None = None,
        line: int | None = None,
        col: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix
        self.file = file
        self.line = line
        self.col = col

    def one_line(self) -> str:
        where = ""
        if self.file:
            where = self.file
            if self.line:
                where += f":{self.line}"
                if self.col:
                    where += f":{self.col}"
            where += ": "
        text = f"{where}{self.message}"
        if self.fix:
            text += f" Fix: {self.fix}"
        return text


class UsageError(ActionError):
    exit_code = ExitCode.USAGE


class ConfigError(ActionError):
    exit_code = ExitCode.USAGE


class GitHubError(ActionError):
    """A refused or failed API call. ``ambiguous``: the request may have been applied (a 5xx,
    a timeout or a reset after sending), so a write must be looked up before it is sent again."""

    exit_code = ExitCode.GITHUB

    def __init__(self, message: str, *, fix: str = "", ambiguous: bool = False) -> None:
        super().__init__(message, fix=fix)
        self.ambiguous = ambiguous


class EnvironmentProblem(ActionError):
    exit_code = ExitCode.ENVIRONMENT
