"""Fuzzing the readers of repository data: seeds from the fixtures, mutations, one target each.

Shared by the hypothesis harness (``tests/test_fuzz.py``, a few seconds per target) and the
long run (``bench/fuzz.py``, 100,000 inputs and more). A target gets raw bytes, decodes them
as the shared reading layer does and runs one scanner (or the config loader) on the text. It
may return anything and may raise the project's own errors (``ActionError``: a one-line error
with a fix); any other exception is a crash.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mlops_actions.config import parse_config
from mlops_actions.errors import ActionError
from mlops_actions.files import decode_utf8
from mlops_actions.pins.devcontainer import scan_devcontainer
from mlops_actions.pins.dockerfile import scan_dockerfile
from mlops_actions.pins.model import FileScan
from mlops_actions.pins.pyfiles import (
    scan_pyproject,
    scan_python_version,
    scan_requirements,
    scan_setup_cfg,
)
from mlops_actions.pins.scan import classify
from mlops_actions.pins.workflow import scan_workflow
from mlops_actions.pins.yamlnodes import scan_compose, scan_conda

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"


def _config(path: str, text: str) -> object:
    return parse_config(text, path)


def _dockerfile(path: str, text: str) -> FileScan:
    return scan_dockerfile(path, text, build_args={"TORCH": "2.4.1"}, exists=lambda _: True)


# Target name → (file name it is shown as, function of (path, text)).
TARGETS: dict[str, tuple[str, Callable[[str, str], object]]] = {
    "requirements": ("requirements.txt", scan_requirements),
    "pyproject": ("pyproject.toml", scan_pyproject),
    "setup.cfg": ("setup.cfg", scan_setup_cfg),
    "python-version": (".python-version", scan_python_version),
    "conda": ("environment.yml", scan_conda),
    "compose": ("docker-compose.yml", scan_compose),
    "workflow": (".github/workflows/ci.yml", scan_workflow),
    "devcontainer": (".devcontainer/devcontainer.json", scan_devcontainer),
    "dockerfile": ("Dockerfile", _dockerfile),
    "config": (".github/mlops.yml", _config),
}

# No fixture has a setup.cfg: one seed written here.
_SETUP_CFG = b"""[options]
python_requires = >=3.10
install_requires =
    torch==2.4.1
    numpy>=1.26
[options.extras_require]
gpu = torchvision==0.19.1
"""


def seeds() -> dict[str, list[bytes]]:
    """Every fixture file a scanner reads, by target; the config fixtures for the loader."""
    out: dict[str, list[bytes]] = {name: [] for name in TARGETS}
    for path in sorted((FIXTURES / "repos").rglob("*")):
        if not path.is_file() or path.is_symlink():
            continue
        rel_dir = path.parent.relative_to(FIXTURES / "repos").as_posix()
        kind = classify(rel_dir, path.name)
        if kind in out:
            out[kind].append(path.read_bytes())
    for path in sorted((FIXTURES / "config").glob("*.yml")):
        out["config"].append(path.read_bytes())
    out["config"].append((FIXTURES / "label_dispatch" / "mlops.yml").read_bytes())
    out["setup.cfg"].append(_SETUP_CFG)
    return out


# --- mutations -------------------------------------------------------------------------------

_TOKENS = (
    b"${{ matrix.a }}",
    b"${A:-${B}}",
    b"$",
    b"\\\n",
    b"<<EOF\n",
    b"[[",
    b"]]",
    b"&a ",
    b"*a",
    b"? ",
    b"!!binary ",
    b"---\n",
    b"\t",
    b": ",
    b"-r ",
    b"--index-url https://download.pytorch.org/whl/cu121\n",
    b"FROM ",
    b"COPY . /app/\n",
    b"ARG TORCH=",
    b"@sha256:",
    b"://",
    b"==",
    b"+cu121",
    b'"',
    b"'",
    b"{",
    b"}",
    b"#",
    b"\x00",
    b"true",
    b"1e400",
    b"2001-13-45",
)


def _flip(rng: random.Random, data: bytes, _: list[bytes]) -> bytes:
    if not data:
        return bytes([rng.randrange(256)])
    buf = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        i = rng.randrange(len(buf))
        buf[i] ^= 1 << rng.randrange(8)
    return bytes(buf)


def _splice(rng: random.Random, data: bytes, pool: list[bytes]) -> bytes:
    other = rng.choice(pool) if pool else data
    i = rng.randint(0, len(data))
    j = rng.randint(0, len(other))
    k = rng.randint(j, min(len(other), j + 400))
    return data[:i] + other[j:k] + data[i + rng.randint(0, 40) :]


def _token(rng: random.Random, data: bytes, _: list[bytes]) -> bytes:
    i = rng.randint(0, len(data))
    return data[:i] + rng.choice(_TOKENS) + data[i:]


def _cut(rng: random.Random, data: bytes, _: list[bytes]) -> bytes:
    i = rng.randint(0, len(data))
    return data[:i] + data[i + rng.randint(1, 64) :]


def _huge_number(rng: random.Random, data: bytes, _: list[bytes]) -> bytes:
    """A number past Python's 4,300-digit int conversion limit, over a digit or anywhere."""
    digits = b"1" * rng.choice((4301, 5000, 20000))
    spots = [i for i, c in enumerate(data) if 48 <= c <= 57]
    i = rng.choice(spots) if spots and rng.random() < 0.8 else rng.randint(0, len(data))
    return data[:i] + digits + data[i + 1 :]


def _deep(rng: random.Random, data: bytes, _: list[bytes]) -> bytes:
    depth = rng.choice((70, 500, 1000, 3000))
    opener, closer = rng.choice(((b"[", b"]"), (b"{a: ", b"}"), (b'{"a": ', b"}")))
    i = rng.randint(0, len(data))
    return data[:i] + opener * depth + closer * depth + data[i:]


def _aliases(rng: random.Random, data: bytes, _: list[bytes]) -> bytes:
    """Billion laughs: nine levels of nine aliases, placed as a key or a value."""
    names = "abcdefghi"
    lines = ["x0: &a [x,x,x,x,x,x,x,x,x]"]
    lines += [
        f"x{n}: &{c} [" + ",".join(["*" + p] * 9) + "]"
        for n, (p, c) in enumerate(itertools.pairwise(names), start=1)
    ]
    bomb = ("\n".join(lines) + "\n").encode()
    if rng.random() < 0.5:
        return bomb + data
    return data + b"\n" + bomb


def _not_utf8(rng: random.Random, data: bytes, _: list[bytes]) -> bytes:
    i = rng.randint(0, len(data))
    return (
        data[:i] + rng.choice((b"\xff", b"\xfe\xff", b"\xc3", b"\xed\xa0\x80", b"\x80")) + data[i:]
    )


MUTATORS: dict[str, Callable[[random.Random, bytes, list[bytes]], bytes]] = {
    "flip": _flip,
    "splice": _splice,
    "token": _token,
    "cut": _cut,
    "huge-number": _huge_number,
    "deep": _deep,
    "aliases": _aliases,
    "not-utf8": _not_utf8,
}


def mutate(data: bytes, steps: list[tuple[str, int]], pool: list[bytes]) -> bytes:
    """Apply named mutations, each with its own seed, so an input is replayable from its
    recipe."""
    for name, seed in steps:
        data = MUTATORS[name](random.Random(seed), data, pool)
    return data


@dataclass(frozen=True)
class Crash:
    target: str
    error: str
    where: str


def run_target(target: str, data: bytes) -> Crash | str:
    """Run one target on raw bytes: ``"read"`` when it returns, ``"refused"`` when it ends with
    the project's own error (a one-line error with a fix), a ``Crash`` for anything else."""
    shown, function = TARGETS[target]
    try:
        text = decode_utf8(data, shown)
        function(shown, text)
    except ActionError:
        return "refused"
    except Exception as exc:  # a crash: anything but the project's own errors
        tb = exc.__traceback__
        where = "?"
        while tb is not None:
            where = f"{Path(tb.tb_frame.f_code.co_filename).name}:{tb.tb_lineno}"
            tb = tb.tb_next
        return Crash(target, f"{type(exc).__name__}: {str(exc)[:200]}", where)
    return "read"
