"""Plain records the scanners produce: pins, links between files, scan errors."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Literal

Component = Literal[
    "torch", "torchvision", "torchaudio", "cuda", "cudnn", "python", "image", "nccl", "rocm"
]
How = Literal["exact", "range", "unpinned", "latest", "unresolved", "digest", "invalid"]
"""``invalid``: written so that the installer rejects it (``torch>=2.1+cpu``)."""
Source = Literal[
    "dockerfile",
    "requirements",
    "pyproject",
    "setup.cfg",
    "conda",
    "workflow",
    "compose",
    "devcontainer",
    "python-version",
    "setup.py",
    "script",
    "action",
]
# The files that describe a local project ``pip install .`` builds, in the order pip reads them.
PROJECT_FILES = ("pyproject.toml", "setup.py", "setup.cfg")
LinkKind = Literal[
    "includes", "installs", "builds", "runs-in", "project", "reads", "reads-dir", "uses"
]

COMPONENTS: tuple[Component, ...] = (
    "torch",
    "torchvision",
    "torchaudio",
    "cuda",
    "cudnn",
    "python",
    "image",
    "nccl",
    "rocm",
)


@dataclass(frozen=True)
class Pin:
    """One place a file pins (or fails to pin) a component.

    ``value`` is the version as written or resolved: ``"2.4.1+cu121"`` for an exact torch pin,
    the specifier text (``">=2.1,<3"``) for a range, ``""`` when unpinned, the full image
    reference for images. CUDA values are ``"12.1"`` or ``"12.1.1"``; cuDNN values are what the
    source says (``"8"`` from an image tag, ``"8.9.2.26"`` from apt).
    """

    file: str
    """Repository-relative POSIX path."""
    line: int
    col: int
    component: Component
    value: str
    how: How
    source: Source
    context: str = ""
    """Where in the file: Dockerfile stage, workflow job, matrix entry, extras name..."""
    variant: str | None = None
    """Build variant: ``cu121``, ``cpu``, ``rocm6.1``, from a local version, index or image."""
    environment: str | None = None
    """Environment id when the scanner knows it (a matrix combination); see ``group_environments``."""
    raw: str = ""
    """The text the pin was read from."""
    resolved_from: tuple[str, ...] = ()
    """How the value was obtained: ``ARG CUDA=12.1 (line 3)``, ``matrix.torch=2.1.0``..."""
    reason: str | None = None
    """Why the value is unresolved (``how == "unresolved"``), or a note on a partial decode."""
    derived_from: str | None = None
    """The image reference a version was decoded from (tags can lie: prefer installed facts)."""
    flavour: str | None = None
    """Image flavour: ``runtime``, ``devel``, ``base``."""
    condition: str | None = None
    """The ``if:`` of the workflow step that sets it: steps whose conditions differ are
    alternatives (one or the other runs), not one environment."""

    @property
    def location(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"

    def __hash__(self) -> int:
        # Pins key dicts and sets once per matrix combination and environment: tens of
        # thousands of hashes a scan, so the fields' hash is computed once per pin.
        cached: int | None = self.__dict__.get("_hash")
        if cached is None:
            cached = hash(tuple(self.__dict__[name] for name in _PIN_FIELDS))
            object.__setattr__(self, "_hash", cached)
        return cached


_PIN_FIELDS = tuple(f.name for f in fields(Pin))


@dataclass(frozen=True)
class Link:
    """A relation between files that environment grouping follows.

    ``includes``: a requirements file ``-r``/``-c`` another; ``installs``: a Dockerfile stage,
    workflow job or conda file installs a requirements file; ``builds``: a workflow job, compose
    service or devcontainer builds a Dockerfile (``images`` lists the image names it tags,
    ``build_args`` the build arguments it passes); ``runs-in``: a workflow job or compose service
    runs in an image (``images``); ``project``: a Dockerfile stage or workflow job installs a
    local project (``pip install .[extras]``; ``dst`` is its pyproject.toml / setup.py /
    setup.cfg, or its directory when none was found; ``extras`` the extras asked for);
    ``reads``: project metadata (``setup.py``, ``pyproject.toml`` dynamic dependencies) reads a
    file as its requirement list; ``reads-dir``: it builds its requirement lists from the files
    of a directory (``os.path.join(here, "requirements")``, file names chosen at run time);
    ``uses``: a workflow job (``context``) uses a local composite action (``dst`` is its
    action.yml).
    """

    kind: LinkKind
    src: str
    dst: str
    line: int
    context: str = ""
    images: tuple[str, ...] = ()
    build_args: tuple[tuple[str, str], ...] = ()
    stage: str | None = None
    """Dockerfile stage/target the link concerns, when known."""
    build_context: str | None = None
    """``builds``: the build context directory, repository-relative."""
    extras: tuple[str, ...] = ()
    """``project``: the extras installed (``pip install .[dev]`` → ``("dev",)``)."""


@dataclass(frozen=True)
class ScanError:
    """A file that could not be read or parsed; reported as a finding, never raised."""

    file: str
    line: int
    col: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}: {self.message}"


@dataclass(frozen=True)
class PinGroup:
    """Pins a scanner already knows belong together: one CI matrix combination or one job.

    ``id`` is the environment id; ``installs`` the repository files the job installs
    (``pip install -r``), ``images`` the images it runs in.
    """

    id: str
    kind: Literal["ci", "compose", "devcontainer"]
    name: str
    file: str
    pins: tuple[Pin, ...]
    installs: tuple[str, ...] = ()
    images: tuple[str, ...] = ()


@dataclass(frozen=True)
class FileScan:
    """What one scanner found in one file."""

    pins: tuple[Pin, ...] = ()
    links: tuple[Link, ...] = ()
    errors: tuple[ScanError, ...] = ()
    stages: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """Dockerfiles: stage name → the stages it builds on (``FROM`` alias, ``COPY --from``)."""
    groups: tuple[PinGroup, ...] = ()


@dataclass(frozen=True)
class ScanResult:
    root: str
    files: tuple[str, ...]
    """Every file scanned, repository-relative."""
    pins: tuple[Pin, ...]
    links: tuple[Link, ...]
    errors: tuple[ScanError, ...]
    stages: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = field(default_factory=dict)
    """Per Dockerfile: its stage graph (see ``FileScan.stages``)."""
    groups: tuple[PinGroup, ...] = ()

    @property
    def metadata_files(self) -> tuple[str, ...]:
        """Files that project metadata reads as its requirement list (``setup.py``'s
        ``open('requirements.txt')``, pyproject dynamic dependencies): metadata, not something
        deployed on its own. A directory read (``reads-dir``) counts every scanned file in it."""
        read = [ln.dst for ln in self.links if ln.kind == "reads"]
        folders = tuple(f"{ln.dst}/" for ln in self.links if ln.kind == "reads-dir")
        if folders:
            read += [f for f in self.files if f.startswith(folders)]
        return tuple(dict.fromkeys(read))


@dataclass(frozen=True)
class Environment:
    """Pins that must agree with each other: one place software actually runs."""

    id: str
    kind: Literal[
        "docker", "conda", "devcontainer", "ci", "compose", "requirements", "project", "file"
    ]
    name: str
    rule: str
    """The grouping rule that formed it (documented in docs/version-guard.md)."""
    files: tuple[str, ...]
    pins: tuple[Pin, ...]
