"""Companion rules: torchvision and torchaudio built for the torch they are installed with.

VG007 companion-mismatch (docs/version-guard.md#vg007-companion-mismatch) and VG021
cuda-library-pin (docs/version-guard.md#vg021-cuda-library-pin).
Tests: tests/test_version_guard_rules_companions.py."""

from __future__ import annotations

from packaging.version import Version

from mlops_actions.compat import (
    expected_cudnn,
    expected_nccl,
    pypi_default_cuda,
    torchaudio_compatible,
    torchvision_compatible,
)
from mlops_actions.pins.model import Environment, Pin
from mlops_actions.version_guard.rules.catalog import Rule, define
from mlops_actions.version_guard.rules.findings import Context, Findings
from mlops_actions.version_guard.rules.readings import members, variant_key, version_of, where

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
        "VG021",
        "cuda-library-pin",
        "error",
        "An explicit `nvidia-cudnn-cu12` / `nvidia-nccl-cu12` pin differs from the one the torch "
        "build requires.",
        "A CUDA wheel of torch depends on exact versions of the NVIDIA library wheels (torch "
        "2.4.1+cu121 requires `nvidia-cudnn-cu12==9.1.0.70`). Another explicit pin makes pip "
        "refuse the set or, when installed separately, replaces the library torch was built "
        "against: errors at the first convolution or collective. Checked against the "
        "compatibility table; releases whose NCCL the table does not know are not reported.",
        "Drop the explicit pin (torch brings the right one), or pin the version the message names.",
    ),
)


def check(ctx: Context, out: Findings) -> None:
    for env in ctx.environments:
        _companions(env, out)
        _library_pins(env, out)


_LIBRARY_WHEELS = {"cudnn": "nvidia-cudnn-", "nccl": "nvidia-nccl-"}


def _library_pins(env: Environment, out: Findings) -> None:
    pins = members(env)
    torches = [p for p in pins if p.component == "torch" and version_of(p) is not None]
    for lib in pins:
        prefix = _LIBRARY_WHEELS.get(lib.component)
        if prefix is None or lib.how != "exact" or not lib.raw.strip().lower().startswith(prefix):
            continue
        for torch in torches:
            tv = version_of(torch)
            cuda = _torch_cuda(torch)
            if tv is None or cuda is None:
                continue
            want = (expected_cudnn if lib.component == "cudnn" else expected_nccl)(str(tv), cuda)
            if want is None or Version(want) == Version(lib.value):
                continue
            name = lib.raw.split("=", 1)[0].strip().rstrip("<>!~")
            out.add(
                "VG021",
                f"{name}=={lib.value} here, but torch {torch.value} ({where(torch)}) requires "
                f"{name}=={want}",
                lib,
                related=[(torch.file, torch.line)],
                fix=f"drop the explicit pin, or pin {name}=={want}.",
            )


def _torch_cuda(torch: Pin) -> str | None:
    """The CUDA minor of a torch pin's build: its variant, else PyPI's default for the release."""
    key = variant_key(torch)
    if key is not None:
        return key if key[0].isdigit() else None
    v = version_of(torch)
    return pypi_default_cuda(str(v)) if v is not None and torch.variant is None else None


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
