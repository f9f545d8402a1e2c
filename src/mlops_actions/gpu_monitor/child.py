"""The monitored command as a child process: signals forwarded, exit status passed through.

Without a terminal (CI) the child gets its own session and process group, and a signal sent to the wrapper
(SIGTERM when a run is cancelled) is forwarded to that whole group, so a child that forked
workers stops with them. On a terminal the child stays in the wrapper's group, where Ctrl-C
already reaches it; SIGTERM and the others are forwarded to the child itself.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from types import FrameType

FORWARDED = (
    signal.SIGTERM,
    signal.SIGINT,
    signal.SIGHUP,
    signal.SIGQUIT,
    signal.SIGUSR1,
    signal.SIGUSR2,
)
NOT_FOUND = 127
NOT_EXECUTABLE = 126


def exit_status(returncode: int) -> int:
    """A shell's convention: a child killed by signal N ends with 128 + N."""
    return 128 - returncode if returncode < 0 else returncode


class Child:
    def __init__(self, argv: Sequence[str], env: Mapping[str, str] | None = None) -> None:
        self.argv = list(argv)
        self.env = dict(env) if env is not None else None
        self.own_group = not _stdin_is_terminal()
        self.process: subprocess.Popen[bytes] | None = None
        self._previous: dict[int, object] = {}
        self._early: list[int] = []  # signals that came before Popen returned

    def start(self) -> None:
        """Start the child (raises OSError when it cannot be executed)."""
        self._install_handlers()
        try:
            self.process = subprocess.Popen(
                self.argv,
                env=self.env,
                start_new_session=self.own_group,
            )
        except BaseException:
            self._restore_handlers()
            raise
        # The child can run (and be signalled for) before Popen returns its pid to us.
        for signum in self._early:
            self._forward(signum, None)
        self._early.clear()

    def wait(self) -> int:
        """Wait for the child and return its exit status (128 + N when signal N killed it)."""
        assert self.process is not None
        try:
            return exit_status(self.process.wait())
        finally:
            self._restore_handlers()

    def _forward(self, signum: int, _frame: FrameType | None) -> None:
        process = self.process
        if process is None:
            self._early.append(signum)
            return
        if process.returncode is not None:
            return
        if signum == signal.SIGINT and not self.own_group:
            return  # the terminal already sent it to the child's group (ours)
        try:
            if self.own_group:
                os.killpg(process.pid, signum)
            else:
                os.kill(process.pid, signum)
        except ProcessLookupError:
            pass

    def _install_handlers(self) -> None:
        for signum in FORWARDED:
            self._previous[signum] = signal.signal(signum, self._forward)

    def _restore_handlers(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)  # type: ignore[arg-type]
        self._previous.clear()


def _stdin_is_terminal() -> bool:
    try:
        return os.isatty(sys.stdin.fileno())
    except (AttributeError, OSError, ValueError):
        return False


def start_without_signals(thread: threading.Thread) -> None:
    """Start `thread` with the forwarded signals blocked in it, so the kernel delivers them to
    the main thread: the one blocked in waitpid, where Python runs the forwarding handler."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, FORWARDED)
    try:
        thread.start()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
