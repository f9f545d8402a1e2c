"""Files a command writes for the user (reports, SARIF, LABELS.md): whole or not at all."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from mlops_actions.errors import UsageError


def write_atomically(path: Path, text: str, *, what: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename, so a reader never sees
    half a file and a failure leaves the old one. ``what`` names the input that chose the path,
    for the one-line error when it cannot be written."""
    special = path.exists() and not path.is_file() and not path.is_dir()
    try:
        if special:
            # A device or a pipe (`--sarif-file /dev/null`): a rename would put a plain file
            # in place of the device, so it is written to as it is.
            path.write_text(text, encoding="utf-8")
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as exc:
        raise UsageError(
            f"cannot write {path}: {exc.strerror or exc}",
            fix="point {input} at a writable path.",
            input=what,
        ) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        os.replace(temp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise UsageError(
            f"cannot write {path}: {exc.strerror or exc}",
            fix="point {input} at a writable path.",
            input=what,
        ) from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
