"""Companion rules: torchvision and torchaudio built for the torch they are installed with, and
explicit NVIDIA library wheels (cuDNN, NCCL) the torch build requires.

VG007 companion-mismatch (docs/version-guard.md#vg007-companion-mismatch) and VG018
cuda-library-pin (docs/version-guard.md#vg018-cuda-library-pin).
Tests: tests/test_version_guard_rules_companions.py."""

from __future__ import annotations

from mlops_actions.compat import (
    expected_cudnn,
    expected_nccl,
    parse_version,
    torchaudio_compatible,
    torchvision_compatible,
)
from mlops_actions.pins.model import Environment, Pin
from mlops_actions.version_guard.rules.catalog import Rule, define
from mlops_actions.version_guard.rules.findings import Context, Findings
from mlops_actions.version_guard.rules.readings import (
    indexed,
    members,
    version_of,
    wheel_cuda,
    where,
)

RULES = define(
    __name__,
    Rule(
        "VG007",
        "companion-mismatch",
        "error",
        "torchvision or torchaudio does not match the torch it is installed with.",
        "torchvision and torchaudio are built against one torch release (torch 2.x pairs with "
        "torchvision 0.(x+15)); another pairing fails at import with undefined symbols or makes "
        "pip replace torch. Checked against the compatibility table; pairs the table does not "
        "know are not reported.",
        "Pin the torchvision/torchaudio release made for that torch (the message names it), or "
        "change torch.",
    ),
    Rule(
        "VG018",
        "cuda-library-pin",
        "error",
        "An explicit `nvidia-cudnn-cu1x` or `nvidia-nccl-cu1x` pin differs from the one torch "
        "requires.",
        "torch wheels from PyPI and the PyTorch index require one exact cuDNN and NCCL wheel "
        "(torch 2.4.1+cu121: `nvidia-cudnn-cu12==9.1.0.70`). Another pin in the same "
        "requirements file stops pip with a resolution conflict (an error); installed by a "
        "separate command it replaces the library torch was built against (a warning: sometimes "
        "a deliberate workaround). Compared for the torch build's CUDA: its `+cuXXX`, index, or "
        "for a PyPI pin the release's default CUDA; releases and CUDA versions the table does not "
        "record are not reported.",
        "Drop the explicit pin and let torch bring its own, or pin the version the message names.",
    ),
)


def check(ctx: Context, out: Findings) -> None:
    for env in ctx.distinct_environments:
        _companions(env, out)
        _cuda_libraries(env, out)


def _companions(env: Environment, out: Findings) -> None:
    pins = members(env)
    torches = [(p, v) for p in pins if p.component == "torch" and (v := version_of(p))]
    for comp in ("torchvision", "torchaudio"):
        check = torchvision_compatible if comp == "torchvision" else torchaudio_compatible
        bad: list[tuple[Pin, str, Pin, str]] = []
        for c in pins:
            cv = version_of(c) if c.component == comp else None
            if cv is None:
                continue
            same_file = [(p, v) for p, v in torches if p.file == c.file]
            for t, tv in same_file or torches:
                if check(str(tv), str(cv)) is False:
                    bad.append((c, f"{comp} {cv}", t, f"torch {tv}"))
        out.pairs(
            "VG007",
            bad,
            "{this} here and {that} ({where}) were not built for each other",
            f"pin the {comp} release made for that torch (torch 2.x pairs with torchvision "
            "0.(x+15)), or change torch.",
        )


_LIBRARIES = (("nvidia-cudnn-cu", "cudnn", "cuDNN"), ("nvidia-nccl-cu", "nccl", "NCCL"))


def _cuda_libraries(env: Environment, out: Findings) -> None:
    pins = members(env)
    libraries = [p for p in pins if p.component in ("cudnn", "nccl") and p.how == "exact"]
    if not libraries:
        return
    env_indexed = indexed(pins)
    builds = [(p, v, c) for p in pins if (v := version_of(p)) and (c := wheel_cuda(p, env_indexed))]
    if not builds:
        return
    for prefix, component, label in _LIBRARIES:
        expect = expected_cudnn if component == "cudnn" else expected_nccl
        for lib in libraries:
            raw = lib.raw.lower().replace("_", "-")
            if lib.component != component or lib.how != "exact" or not raw.startswith(prefix):
                continue
            have = parse_version(lib.value)
            package = raw.split("=")[0].split("<")[0].split(">")[0].strip()
            for torch, tv, cuda in builds:
                wanted = expect(str(tv), cuda)
                if wanted is None or have is None:
                    continue
                suffix = f"-cu{cuda.split('.')[0]}"
                wrong_package = not package.endswith(suffix)
                if parse_version(wanted) == have and not wrong_package:
                    continue
                build = f"torch {torch.value} (CUDA {cuda}, {where(torch)})"
                needs = f"{prefix}{cuda.split('.')[0]}=={wanted}"
                # In one requirements file pip refuses the pair: an error. A separate install
                # (a later RUN) overrides torch's library on purpose or by accident: a warning.
                together = lib.file == torch.file and lib.source == "requirements"
                out.add(
                    "VG018",
                    f"{package}=={lib.value} here, but {build} requires {needs}",
                    lib,
                    related=[(torch.file, torch.line)],
                    fix=f"remove the {label} pin and let torch bring its own, or pin {needs}.",
                    at_most=None if together else "warning",
                )
