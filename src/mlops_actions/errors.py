"""Errors that end a command with a one-line explanation and a fix, and the exit-code table."""

from __future__ import annotations

from collections.abc import Callable
from enum import IntEnum

SENTENCE_ENDS = (".", "!", "?")


def with_fix(message: str, fix: str) -> str:
    """``message`` as a sentence, then ``Fix: fix`` as another: the one shape of every message.

    Every producer of a message with a fix goes through here, so a message never runs on into
    its fix ("… not found Fix: …").
    """
    message = end_sentence(message)
    return f"{message} Fix: {end_sentence(fix)}" if fix.strip() else message


def end_sentence(text: str) -> str:
    text = text.rstrip()
    if not text or text.endswith(SENTENCE_ENDS):
        return text
    # A message ending in code or a quote still gets its full stop after it.
    return text + "."


def refer_to_input(name: str) -> str:
    """How a message names an input inside a workflow step."""
    return f"input `{name}`"


def refer_to_flag(name: str) -> str:
    """How a message names an input given on the command line."""
    return f"`--{name}`"


class ExitCode(IntEnum):
    """Exit codes shared by every command (documented in README "Exit codes")."""

    OK = 0
    FINDINGS = 1  # the check ran and found problems
    USAGE = 2  # bad input, flag or config file
    GITHUB = 3  # the GitHub API refused or kept failing (permission, rate limit, network)
    ENVIRONMENT = 4  # something the command needs is missing (Docker engine, git, an interpreter)
    INTERNAL = 70  # a bug in mlops-actions: rerun with --debug and report it
    CLOSED_OUTPUT = 141  # the output's reader went away (`| head`): 128 + SIGPIPE, as a shell says


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
        input: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix
        self.file = file
        self.line = line
        self.col = col
        # The input the problem is about. Where it is named depends on where it came from
        # (`--repository` on the command line, input `repository` in a workflow), so the message
        # leaves it out and `refer` puts it in front; a fix names it as "{input}".
        self.input = input

    def message_text(self, refer: Callable[[str], str] = refer_to_input) -> str:
        return f"{refer(self.input)}: {self.message}" if self.input else self.message

    def fix_text(self, refer: Callable[[str], str] = refer_to_input) -> str:
        return self.fix.replace("{input}", refer(self.input)) if self.input else self.fix

    def text(self, refer: Callable[[str], str] = refer_to_input) -> str:
        """The message and fix as one line, the input named the way ``refer`` says."""
        return with_fix(self.message_text(refer), self.fix_text(refer))

    def one_line(self, refer: Callable[[str], str] = refer_to_input) -> str:
        where = ""
        if self.file:
            where = self.file
            if self.line:
                where += f":{self.line}"
                if self.col:
                    where += f":{self.col}"
            where += ": "
        return where + self.text(refer)


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
