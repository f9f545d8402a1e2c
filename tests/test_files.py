"""`files.write_atomically`: whole files through a rename, and devices or pipes left in place."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from mlops_actions.files import write_atomically


def test_a_file_is_replaced_whole(tmp_path: Path) -> None:
    target = tmp_path / "out" / "report.sarif"
    write_atomically(target, "first\n", what="sarif-file")
    write_atomically(target, "second\n", what="sarif-file")
    assert target.read_text() == "second\n"
    assert [p.name for p in target.parent.iterdir()] == ["report.sarif"]


def test_a_pipe_is_written_to_not_replaced(tmp_path: Path) -> None:
    """Like `--sarif-file /dev/null`: a rename would swap the device for a plain file."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    # The read end is open first (without blocking), so the write neither waits nor hangs.
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        write_atomically(fifo, "through the pipe\n", what="sarif-file")
        received = os.read(reader, 4096)
    finally:
        os.close(reader)
    assert received == b"through the pipe\n"
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe"]
