"""Shell scripts that a Dockerfile ``RUN`` or a workflow ``run:`` step runs (``bash ci/install.sh``).

A script is only read when something runs it: its pins then belong to whatever ran it. It is
tokenised like any other shell text (``shell.scan_shell``), never executed; variables assigned
at the top level of the script (``TORCH=2.4.1``) are expanded, others stay unresolved.
"""

from __future__ import annotations

import posixpath
import re

from mlops_actions.pins.expand import Expansion, expand
from mlops_actions.pins.model import FileScan, Link, Pin, ScanError
from mlops_actions.pins.pyfiles import _Locator
from mlops_actions.pins.shell import scan_shell, split_words
from mlops_actions.pins.values import pin_from

_ASSIGNMENT = re.compile(r"^(?:export\s+)?([A-Za-z_]\w*)=(.*)$", re.DOTALL)


def _assignments(text: str) -> dict[str, str | None]:
    """``NAME=value`` commands (and ``export NAME=value``) anywhere in the script; a name
    assigned twice with different values is left unset (which value applies depends on flow)."""
    env: dict[str, str | None] = {}
    for command in split_words(text):
        words = command[1:] if command[0].text == "export" else command
        if not words or not all(_ASSIGNMENT.match(w.text) for w in words):
            continue
        for w in words:
            m = _ASSIGNMENT.match(w.text)
            if m is None or "$" in m.group(2):
                continue
            name, value = m.group(1), m.group(2)
            env[name] = value if env.get(name, value) == value else None
    return env


def scan_script(path: str, text: str) -> FileScan:
    env = _assignments(text)

    def word_expand(word: str) -> Expansion:
        return expand(word, env, undeclared="is not set in this script")

    result = scan_shell(text, expand=word_expand)
    loc = _Locator(text)
    pins: list[Pin] = []
    for sp in result.pins:
        notes = sp.resolved + ((sp.note,) if sp.note else ())
        pins.append(
            pin_from(sp.decoded, path, loc.pos(sp.offset), "script", "", sp.raw, resolved=notes)
        )
    errors = [ScanError(path, *loc.pos(off), message) for off, message in result.errors]
    links: list[Link] = []
    for ref in result.files:
        line = loc.pos(ref.offset)[0]
        # Paths are taken from the repository root, where CI runs scripts from.
        target = posixpath.normpath(ref.path).lstrip("/")
        if ref.kind == "project":
            links.append(Link("project", path, target, line, context=path, extras=ref.extras))
        else:
            links.append(Link("installs", path, target, line, context=path))
    return FileScan(pins=tuple(pins), links=tuple(links), errors=tuple(errors))
