"""Which files are deployed: the files whose pins decide what runs in production.

Deployable means deployed: a Dockerfile's own lines, compose files and devcontainers, the files
they install (``RUN pip install -r``, ``conda env create -f``) with everything those include,
and what the config's ``deployable`` globs name. Example, tutorial, demo, notebook and docs
trees are not deployed, nor is library metadata (``pyproject.toml``, ``setup.cfg``, pip-tools
``*.in``, files ``setup.py``/``pyproject`` read as install_requires) or a requirement list only
CI installs: a test job may install the newest torch on purpose.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

from mlops_actions.compat import parse_version
from mlops_actions.pins.model import Pin, ScanResult
from mlops_actions.version_guard.rules.settings import DEFAULT_LIBRARY, Settings, glob_match

SIDE_TREES = frozenset(
    {
        "example",
        "examples",
        "tutorial",
        "tutorials",
        "demo",
        "demos",
        "doc",
        "docs",
        "notebook",
        "notebooks",
        "archive",
        "archived",
        "attic",
        "deprecated",
        "previous_version",
        "previous_versions",
    }
)
"""Directory names whose files show how to use the project, or keep an old state of it, rather
than deploy it."""

_DEPLOYED_SOURCES = frozenset({"dockerfile", "compose", "devcontainer"})
_STACK_SOURCES = frozenset({*_DEPLOYED_SOURCES, "requirements", "conda"})
_FOLLOWED = frozenset({"installs", "includes"})
_METADATA_FILES = frozenset({"setup.py", "pyproject.toml", "setup.cfg"})
# Workflows and the local composite actions their jobs use: CI, not deployment.
_CI_SOURCES = frozenset({"workflow", "action"})


def in_side_tree(path: str) -> bool:
    """A file under an example, tutorial, demo, notebook or docs directory."""
    return any(part.lower() in SIDE_TREES for part in path.split("/")[:-1])


def is_nightly(pin: Pin) -> bool:
    """A pin from a nightly lane: a dev/pre-release version or a nightly package index."""
    if any("/nightly" in r for r in pin.resolved_from) or "/nightly" in pin.raw:
        return True
    if pin.how != "exact":
        return False
    v = parse_version(pin.value)
    return v is not None and (v.dev is not None or v.pre is not None)


@dataclass(frozen=True)
class Roles:
    """The role of every scanned file (see the module docstring)."""

    deployed: frozenset[str]
    """Files an image, compose file or devcontainer builds from or installs."""
    settings: Settings
    ci_only: frozenset[str] = frozenset()
    """Files only CI workflows install: test lanes, not deployed."""
    metadata: frozenset[str] = frozenset()
    """Files a package's metadata reads (``setup.py`` install_requires from
    ``requirements/*.txt``): library ranges, even when an image installs them too."""

    def deployable(self, path: str) -> bool:
        """Whether the file's torch pins must be exact (VG002) and count as deployed."""
        if any(glob_match(path, p) for p in self.settings.deployable):
            return True
        if any(glob_match(path, p) for p in self.settings.library):
            return False
        if in_side_tree(path) or any(glob_match(path, p) for p in DEFAULT_LIBRARY):
            return False
        return path in self.deployed and path not in self.metadata

    def installed_metadata(self, path: str) -> bool:
        """Library metadata an image installs too (``COPY requirements.txt`` beside a
        ``setup.py`` that reads it, then ``pip install -r``), outside side trees."""
        return path in self.metadata and path in self.deployed and not in_side_tree(path)

    def in_stack(self, pin: Pin) -> bool:
        """Whether a pin describes the repository's own stack: deployed, or an environment
        definition (requirements, conda, image) outside example and docs trees that is not
        library metadata. Files of the stack are expected to move together."""
        if self.deployable(pin.file):
            return True
        if in_side_tree(pin.file) or any(glob_match(pin.file, p) for p in self.settings.library):
            return False
        if pin.file in self.metadata:
            return False
        return pin.source in _STACK_SOURCES and not any(
            glob_match(pin.file, p) for p in DEFAULT_LIBRARY
        )

    def tells_the_story(self, pin: Pin) -> bool:
        """Whether an exact pin states the repository's stack (VG016): images, requirement
        and conda files, project metadata and CI job containers, outside example and docs trees,
        matrices, nightly lanes and files only CI installs (test lanes such as a minimum-versions
        job)."""
        if pin.how != "exact" or in_side_tree(pin.file) or is_nightly(pin):
            return False
        if any(glob_match(pin.file, p) for p in self.settings.library):
            return False
        if pin.file in self.metadata:
            # A requirement list the package's metadata reads (an extra such as `typing`):
            # what the package asks of its users, told by the project file itself.
            return False
        if pin.source in _CI_SOURCES:
            return " container" in pin.context or " service " in pin.context
        return pin.file not in self.ci_only or self.deployable(pin.file)


def file_roles(scan: ScanResult, settings: Settings) -> Roles:
    """Follow ``installs``/``includes`` links from every image definition outside side trees,
    and from every CI workflow."""
    edges: dict[str, list[str]] = {}
    for link in scan.links:
        if link.kind in _FOLLOWED:
            edges.setdefault(link.src, []).append(link.dst)
    images = {p.file for p in scan.pins if p.source in _DEPLOYED_SOURCES} | set(scan.stages)
    deployed = _reached({f for f in images if not in_side_tree(f)}, edges)
    workflows = {p.file for p in scan.pins if p.source in _CI_SOURCES}
    workflows |= {src for src in edges if src.startswith(".github/workflows/")}
    ci = _reached(workflows, edges) - workflows
    # A package's metadata files read requirement files (the scanner links setup.py /
    # pyproject.toml / setup.cfg to what they read, with includes).
    readers = [src for src in edges if posixpath.basename(src) in _METADATA_FILES]
    metadata = _reached(set(readers), edges) - set(readers)
    # ... and the files setup.py / pyproject read as their requirement list (``reads`` links).
    metadata |= set(scan.metadata_files)
    return Roles(frozenset(deployed), settings, frozenset(ci - deployed), frozenset(metadata))


def _reached(seeds: set[str], edges: dict[str, list[str]]) -> set[str]:
    out = set(seeds)
    todo = list(seeds)
    while todo:
        for dst in edges.get(todo.pop(), ()):
            if dst not in out:
                out.add(dst)
                todo.append(dst)
    return out
