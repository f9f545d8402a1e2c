"""The one install command that fixes the torch stack.

torch, torchvision, torchaudio and the CUDA variant are one decision: a fix per check (torch from
``…/whl/cpu``, then CUDA from ``…/whl/cu121``) undoes itself. ``stack_install`` turns every
expectation about the stack, what is installed and the compatibility table into one pip command
that names all the packages and the index; ``apply_stack_fix`` gives that command to every
failing check about the stack.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from packaging.version import Version

from mlops_actions import compat
from mlops_actions.env_verify.checks.expectations import (
    Expectations,
    parse_spec,
    version_matches,
    version_or_none,
)
from mlops_actions.env_verify.checks.facts import (
    distribution_version,
    gpu_count,
    torch_found,
    torch_variant,
    torch_version,
)
from mlops_actions.env_verify.checks.model import CheckResult

INDEX_URL = "https://download.pytorch.org/whl/"
COMPANIONS = ("torchvision", "torchaudio")
# The checks whose failure a different torch stack install fixes.
STACK_CHECKS = frozenset(
    {
        "torch-install",
        "torch-version",
        "torchvision-version",
        "torchaudio-version",
        "cuda-version",
        "torchvision-matches-torch",
        "torchaudio-matches-torch",
    }
)
_NEEDS_QUOTES = frozenset("<>!~*, ;")


@dataclass(frozen=True)
class StackInstall:
    requirements: tuple[str, ...]
    """``torch==2.4.1``, ``torchvision==0.19.1``, ``"torch>=2.4,<2.6"``, …"""
    variant: str | None
    """``cu121``, ``cpu``, ``rocm6.1``; None: PyPI's default build (no index)."""
    notes: tuple[str, ...] = ()
    """What the command cannot promise (the table does not know, expectations disagree)."""

    @property
    def command(self) -> str:
        words = ["pip install", *(_shell_word(r) for r in self.requirements)]
        if self.variant:
            words.append(f"--index-url {INDEX_URL}{self.variant}")
        return " ".join(words)

    def fix_text(self) -> str:
        text = (
            f"{self.command} (one command for the whole torch stack, so pip pairs torch, its "
            "companions and the CUDA variant; or update the expectation if the pin is stale)"
        )
        if self.notes:
            text += "; note: " + "; ".join(self.notes)
        return text + "."


def _shell_word(requirement: str) -> str:
    return f'"{requirement}"' if any(c in _NEEDS_QUOTES for c in requirement) else requirement


def _requirement(package: str, want: str) -> str:
    """``torch==2.4.1`` for an exact release, ``torch==2.4.*`` for a series, else the specifier."""
    spec = parse_spec(want)
    if not isinstance(spec, Version):
        return f"{package}{want.replace(' ', '')}"
    if len(spec.release) < 3 and spec.pre is None and spec.dev is None:
        return f"{package}=={spec.public}.*"
    return f"{package}=={spec.public}"


def _exact(want: str | None) -> str | None:
    """The release an expectation names exactly (three parts), else None."""
    if want is None:
        return None
    spec = parse_spec(want)
    if isinstance(spec, Version) and len(spec.release) >= 3:
        return spec.public
    return None


def _public(version: str) -> str:
    parsed = version_or_none(version)
    return parsed.public if parsed is not None else version


def _choose_torch(facts: Mapping[str, Any], exp: Expectations) -> tuple[str, str | None]:
    """(requirement, the exact torch release the table is asked about, if known).

    Without an expectation, or when the installed torch satisfies it, torch stays as it is."""
    installed = torch_version(facts)
    exact = _exact(exp.torch)
    if exact is not None:
        return f"torch=={exact}", exact
    if installed is not None and (exp.torch is None or version_matches(exp.torch, installed).ok):
        return f"torch=={_public(installed)}", _public(installed)
    if exp.torch is None:
        return "torch", None
    return _requirement("torch", exp.torch), None


def _choose_variant(
    facts: Mapping[str, Any], exp: Expectations, target: str | None, notes: list[str]
) -> str | None:
    installed = torch_variant(facts)
    if exp.cuda == "cpu":
        return "cpu"
    if exp.cuda is not None:
        spec = parse_spec(exp.cuda)
        if isinstance(spec, Version):
            return compat.cuda_version_to_tag(exp.cuda)
        # A range of CUDA versions: keep the installed build when it is inside, else the newest
        # official build inside it.
        have = compat.cuda_tag_to_version(installed or "")
        if have is not None and spec.contains(have, prereleases=True):
            return installed
        builds = [c for c in compat.cuda_builds(target or "") or () if spec.contains(c)]
        if builds:
            return compat.cuda_version_to_tag(max(builds, key=Version))
        notes.append(f"no known CUDA build of torch {target or ''} satisfies cuda {exp.cuda}")
        return None
    wanted = parse_spec(exp.torch) if exp.torch is not None else None
    if isinstance(wanted, Version) and wanted.local:
        return str(wanted.local)
    if exp.require_gpu and installed == "cpu":
        default = compat.pypi_default_cuda(target or "")
        return compat.cuda_version_to_tag(default) if default else None
    return installed


def _companion(
    package: str, facts: Mapping[str, Any], exp: Expectations, target: str | None, notes: list[str]
) -> str | None:
    want: str | None = getattr(exp, package)
    if want is None and distribution_version(facts, package) is None:
        return None
    paired = {"torchvision": compat.expected_torchvision, "torchaudio": compat.expected_torchaudio}
    table = paired[package](target) if target else None
    if want is None:
        return f"{package}=={table}" if table else package
    exact = _exact(want)
    if exact is not None and table is not None and not version_matches(want, table).ok:
        notes.append(
            f"the expectations disagree: {package} {want} does not pair with torch {target} "
            f"(the compatibility table pairs {table})"
        )
    return _requirement(package, want)


def stack_install(facts: Mapping[str, Any], exp: Expectations) -> StackInstall:
    """The one pip command that satisfies every expectation about the torch stack."""
    notes: list[str] = []
    torch_req, target = _choose_torch(facts, exp)
    variant = _choose_variant(facts, exp, target, notes)
    cuda = compat.cuda_tag_to_version(variant or "")
    if target is not None and cuda is not None and compat.has_cuda_build(target, cuda) is False:
        builds = ", ".join(compat.cuda_builds(target) or ())
        notes.append(
            f"torch {target} has no official CUDA {cuda} wheels (its builds: {builds}): "
            "change one of the two expectations"
        )
    requirements = [torch_req]
    for package in COMPANIONS:
        requirement = _companion(package, facts, exp, target, notes)
        if requirement is not None:
            requirements.append(requirement)
    return StackInstall(tuple(requirements), variant, tuple(notes))


def _needs_stack_fix(result: CheckResult, facts: Mapping[str, Any]) -> bool:
    if result.status != "fail":
        return False
    if result.id in STACK_CHECKS:
        return True
    # A CPU build on a machine with GPUs is fixed by the same install; no GPU at all is not.
    return result.id == "require-gpu" and torch_variant(facts) == "cpu" and gpu_count(facts) > 0


def apply_stack_fix(
    results: Sequence[CheckResult], facts: Mapping[str, Any], exp: Expectations
) -> list[CheckResult]:
    """Every failing check about the torch stack gets the same single install command."""
    if not any(_needs_stack_fix(r, facts) for r in results):
        return list(results)
    fix = stack_install(facts, exp).fix_text()
    if not exp.torch_optional and not torch_found(facts):
        fix += " If this job is meant to run without torch, set torch-optional: true."
    return [replace(r, fix=fix) if _needs_stack_fix(r, facts) else r for r in results]


def stack_command_if_needed(
    results: Sequence[CheckResult], facts: Mapping[str, Any], exp: Expectations
) -> str:
    """The stack's install command when a failing check needs it, else ``""``."""
    if any(_needs_stack_fix(r, facts) for r in results):
        return stack_install(facts, exp).command
    return ""
