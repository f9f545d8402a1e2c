"""Files a command writes for the user (reports, SARIF, LABELS.md), and repository files it
reads as data (pin files, the config, workflows): both bounded and safe against odd targets.

Writing: a regular file (or a new one) is replaced through a temporary file and a rename, so a
reader never sees half a file and a failure leaves the old one. Anything else is written in
place, as a shell's ``>`` would: a device (``/dev/null``), a FIFO or ``/dev/stdout`` must stay
what it is, and a rename over it would replace ``/dev/null`` with a regular file when run as
root. (A FIFO, as with ``>``, waits for its reader.) A symbolic link is written through, in place: the link and the file it names both stay
(renaming over the link would cut it; renaming over its target would strand a shell's open
``/dev/stdout`` on the old file); give the real path for an all-or-nothing write.

Reading: only regular files inside the repository, at most ``MAX_DATA_BYTES``, and valid UTF-8.
A link to a file outside the tree is neither read nor followed into a message, a link to
``/dev/zero`` or a FIFO is refused before a byte is read, and bad bytes name their line.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

from mlops_actions.errors import UsageError

MAX_DATA_BYTES = 4 * 1024 * 1024
"""Largest repository data file read (a 100,000-line Dockerfile is about 3.3 MiB)."""


def write_atomically(path: Path, text: str, *, what: str) -> None:
    """Write a report to ``path``: atomically over a regular file or a new one, in place over
    anything else (device, FIFO, symbolic link), which an atomic rename would destroy. The one
    helper for every report path. ``what`` names the input that chose the path, for the
    one-line error when it cannot be written."""
    try:
        if _writes_in_place(path):
            with open(path, "w", encoding="utf-8", newline="\n") as handle:
                handle.write(text)
            return
        import tempfile  # here: a scan that writes no regular file never pays for its import

        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as exc:
        raise _unwritable(path, what, exc) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        os.replace(temp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise _unwritable(path, what, exc) from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


def _writes_in_place(path: Path) -> bool:
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return False
    return not stat.S_ISREG(mode)


def _unwritable(path: Path, what: str, exc: OSError) -> UsageError:
    return UsageError(
        f"cannot write {path}: {exc.strerror or exc}",
        fix="point {input} at a writable path.",
        input=what,
    )


class DataFileError(UsageError):
    """A repository file that is not read as data: outside the tree, not a regular file, too
    large or not UTF-8. ``file`` and ``line`` say where; scanners turn it into a finding."""


# O_NONBLOCK: opening a FIFO must not wait for a writer; regular files ignore it.
_OPEN_FLAGS = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
_NO_FOLLOW = getattr(os, "O_NOFOLLOW", 0)


def read_data_file(
    root: Path, rel: str, *, limit: int = MAX_DATA_BYTES, walked: bool = False
) -> str:
    """The text of ``root/rel``, a repository file read as data. Raises ``DataFileError``
    (never ``OSError``) naming ``rel`` (never where a link points) and the fix.

    ``walked``: a directory walk of ``root`` that follows no link found ``rel`` as a plain
    file, so the path cannot leave the tree and resolving it again (an ``lstat`` per
    component) is skipped; the open follows no link, and a link put there since the walk is
    resolved and checked like any other path."""
    if walked and _NO_FOLLOW:
        try:
            fd = os.open(os.path.join(root, rel), _OPEN_FLAGS | _NO_FOLLOW)
        except OSError:
            return read_data_file(root, rel, limit=limit)
        return _read_open(fd, rel, limit)
    root_real = os.path.realpath(root)
    real = os.path.realpath(os.path.join(root, rel))
    if real != root_real and not real.startswith(root_real.rstrip(os.sep) + os.sep):
        raise DataFileError(
            "not read: a symbolic link to a file outside the repository",
            fix="commit the file itself, or exclude the link from the scan.",
            file=rel,
        )
    try:
        fd = os.open(real, _OPEN_FLAGS)
    except OSError as exc:
        raise DataFileError(
            f"cannot read: {exc.strerror or exc}",
            fix="make it a readable file, or exclude it.",
            file=rel,
        ) from None
    return _read_open(fd, rel, limit)


def _read_open(fd: int, rel: str, limit: int) -> str:
    """Read an opened repository file (closing it): a regular file within the size limit."""
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise DataFileError(
                "not read: not a regular file (a device, FIFO, socket or directory)",
                fix="replace it with a regular file, or exclude it.",
                file=rel,
            )
        data = _read_at_most(fd, info.st_size, limit) if info.st_size <= limit else None
    finally:
        os.close(fd)
    if data is None:
        raise DataFileError(
            f"not read: larger than {limit // (1024 * 1024)} MiB",
            fix="split it, or exclude it if it holds no pins.",
            file=rel,
        )
    return decode_utf8(data, rel)


def _read_at_most(fd: int, size: int, limit: int) -> bytes | None:
    """The file's bytes up to its end, or None past ``limit``. Asks first for the size fstat
    gave plus one byte: a buffer of ``limit`` bytes for every small file costs more than the
    reading."""
    chunks: list[bytes] = []
    total = 0
    want = size + 1
    while chunk := os.read(fd, want):
        chunks.append(chunk)
        total += len(chunk)
        if total > limit:
            return None
        want = min(65536, limit + 1 - total)
    return b"".join(chunks)


def read_named_file(path: Path, root: Path) -> tuple[str, str]:
    """A file an input names, and how to show it: under ``root`` it is held to the repository
    (``read_data_file``, shown relative); elsewhere the workflow chose it, so only the
    regular-file, size and UTF-8 checks apply."""
    try:
        rel = os.path.relpath(os.path.abspath(path), os.path.abspath(root))
    except ValueError:
        rel = os.pardir
    if rel == os.pardir or rel.startswith(os.pardir + os.sep):
        return read_data_file(path.parent, path.name), str(path)
    shown = Path(rel).as_posix()
    return read_data_file(root, shown), shown


def decode_utf8(data: bytes, shown: str) -> str:
    """``data`` as UTF-8, or a ``DataFileError`` naming the line and column of the first bad
    byte."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise DataFileError(
            f"not UTF-8 text (byte 0x{data[exc.start]:02x})",
            fix="save the file as UTF-8.",
            file=shown,
            line=line,
            col=col,
        ) from None
