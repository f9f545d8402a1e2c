"""Build rules: an official build exists for the torch release, its CUDA/ROCm variant or image
tag, and the environment's Python.

VG008 no-official-build (docs/version-guard.md#vg008-no-official-build), VG009
python-unsupported (docs/version-guard.md#vg009-python-unsupported) and VG017
conda-pytorch-channel (docs/version-guard.md#vg017-conda-pytorch-channel).
Tests: tests/test_version_guard_rules_builds.py."""

from __future__ import annotations

from packaging.version import Version

from mlops_actions.compat import (
    cuda_builds,
    has_cuda_build,
    has_rocm_build,
    python_supported,
    pytorch_image_cudnn_major,
)
from mlops_actions.pins.model import Environment, Pin, ScanResult
from mlops_actions.pins.values import PYTORCH_CHANNEL, parse_image_ref
from mlops_actions.version_guard.rules.catalog import Rule, define
from mlops_actions.version_guard.rules.findings import Context, Findings
from mlops_actions.version_guard.rules.readings import (
    INDEX_OPTIONS,
    cudnn_major,
    join_items,
    members,
    python_minor,
    variant_key,
    version_of,
    where,
)

RULES = define(
    __name__,
    Rule(
        "VG008",
        "no-official-build",
        "error",
        "No official build exists for this torch version and CUDA/ROCm variant or image tag.",
        "`torch==2.0.1+cu124`, torch 2.1 from the `cu124` index, torch 2.4 from `cu128` or a "
        "`pytorch/pytorch:2.4.0-…-cudnn8-…` image do not exist. Such pins are common in public "
        "repositories and fail at install time, usually in the release pipeline. Checked against "
        "the compatibility table shipped with the package.",
        "Pick a CUDA variant that was built for this torch (the message lists them) or a torch "
        "release built for your CUDA.",
    ),
    Rule(
        "VG009",
        "python-unsupported",
        "error",
        "The environment's Python has no torch wheels for the pinned torch.",
        "Each torch release ships wheels for a range of Python minors (torch 2.1: 3.8 to 3.11, "
        "torch 2.9: 3.10 to 3.14); outside it pip either fails or falls back to a source build.",
        "Move Python into the range of the torch release, or move torch to a release that "
        "supports your Python.",
    ),
    Rule(
        "VG017",
        "conda-pytorch-channel",
        "error",
        "torch comes from the discontinued `pytorch` conda channel or uses `pytorch-cuda=`.",
        "PyTorch stopped publishing conda packages after 2.5 (pytorch/pytorch#138506): the "
        "`pytorch` channel has no torch 2.6 or later, and `pytorch-cuda=` (the channel's CUDA "
        "selector) has no successor there. A conda torch past 2.5 next to `pytorch-cuda=` or "
        "from `pytorch::` cannot be installed: an error. `pytorch-cuda=` or `pytorch::` with an "
        "older torch still installs but is frozen at 2.5: a warning. The channel is recognised "
        "by `pytorch-cuda=` or a `pytorch::` prefix in the same file.",
        "Install torch with pip from the PyTorch index for your CUDA "
        "(`--index-url https://download.pytorch.org/whl/cu126`), or take `pytorch` from "
        "conda-forge and choose the CUDA build with `cuda-version=12.6`.",
    ),
)


def check(ctx: Context, out: Findings) -> None:
    for env in ctx.distinct_environments:
        _python_support(env, out)
        _env_builds(env, out)
    _builds(ctx.scan, out)
    _conda_channel(ctx.scan, out)


def _no_build(torch: Pin, tv: Version, key: str, out: Findings, via: Pin | None = None) -> None:
    if key == "cpu":
        return
    if key.startswith("rocm"):
        known = has_rocm_build(str(tv), key)
        what = f"ROCm {key[4:]}"
    else:
        known = has_cuda_build(str(tv), key)
        what = f"CUDA {key}"
    if known is not False:
        return
    builds = cuda_builds(str(tv)) or ()
    offered = f"; torch {tv} was built for CUDA {join_items(list(builds), 8)}" if builds else ""
    source = f" (variant from {where(via)})" if via is not None else ""
    related = [(via.file, via.line)] if via is not None else []
    out.add(
        "VG008",
        f"no official torch {tv} build exists for {what}{source}{offered}",
        torch,
        related=related,
        fix="choose a CUDA variant built for this torch, or a torch release built for your CUDA.",
    )
    if via is not None:
        out.add(
            "VG008",
            f"{what} here, but no official build of torch {tv} ({where(torch)}) exists for it"
            + offered,
            via,
            related=[(torch.file, torch.line)],
            fix="choose a CUDA variant built for this torch, or a torch release built for your "
            "CUDA.",
        )


def _builds(scan: ScanResult, out: Findings) -> None:
    by_file: dict[str, list[Pin]] = {}
    for pin in scan.pins:
        by_file.setdefault(pin.file, []).append(pin)
    for pin in scan.pins:
        if pin.component != "torch":
            continue
        tv = version_of(pin)
        if tv is None:
            continue
        key = variant_key(pin)
        if key is not None:
            _no_build(pin, tv, key, out)
        elif pin.source == "conda":
            # conda names the variant in a separate spec: pytorch-cuda=12.1.
            for other in by_file[pin.file]:
                k = variant_key(other) if other.component == "cuda" else None
                if k is not None and other.source == "conda":
                    _no_build(pin, tv, k, out, via=other)
        if pin.derived_from and (image := parse_image_ref(pin.derived_from)):
            if image.repository != "pytorch/pytorch" or key in (None, "cpu"):
                continue
            expected = pytorch_image_cudnn_major(str(tv))
            for other in by_file[pin.file]:
                if (
                    other.component == "cudnn"
                    and other.derived_from == pin.derived_from
                    and (other.line, other.col) == (pin.line, pin.col)
                    and expected is not None
                    and cudnn_major(other) not in (None, str(expected))
                ):
                    out.add(
                        "VG008",
                        f"image {pin.derived_from} does not exist: pytorch/pytorch images of "
                        f"torch {tv} carry cuDNN {expected}, not cuDNN {cudnn_major(other)}",
                        pin,
                        fix=f"use the cudnn{expected} tag.",
                    )


def _env_builds(env: Environment, out: Findings) -> None:
    """torch pinned without a variant in one file, installed from a PyTorch index named in
    another file of the environment (``-r`` include, ``--index-url`` in a constraints file)."""
    pins = members(env)
    indexes = [
        p
        for p in pins
        if p.component == "cuda" and p.source == "requirements" and p.context in INDEX_OPTIONS
    ]
    if not indexes:
        return
    for pin in pins:
        tv = version_of(pin) if pin.component == "torch" else None
        if tv is None or pin.variant is not None or pin.source != "requirements":
            continue
        for idx in indexes:
            key = variant_key(idx)
            if key is not None and idx.file != pin.file:
                _no_build(pin, tv, key, out, via=idx)


def _python_support(env: Environment, out: Findings) -> None:
    pins = members(env)
    torches = [(p, v) for p in pins if p.component == "torch" and (v := version_of(p))]
    pythons = [(p, k) for p in pins if (k := python_minor(p))]
    bad = [
        (t, f"torch {tv}", p, f"Python {k}")
        for t, tv in torches
        for p, k in pythons
        if python_supported(str(tv), k) is False
    ]
    out.pairs(
        "VG009",
        bad,
        "no torch wheels exist for {this} here with {that} ({where})",
        "use a Python that this torch release supports, or a torch release that supports "
        "your Python.",
    )


# --- VG017: the discontinued pytorch conda channel ---------------------------------------------

_LAST_CHANNEL_RELEASE = (2, 5)


def _from_conda(pin: Pin) -> bool:
    """A conda package spec (``pytorch=2.4``), not a pip line of a conda file."""
    conda = pin.source == "conda" or "conda" in pin.resolved_from
    return conda and pin.raw.lower().lstrip().startswith(("pytorch", "torch"))


def _conda_channel(scan: ScanResult, out: Findings) -> None:
    by_file: dict[str, list[Pin]] = {}
    for pin in scan.pins:
        if _from_conda(pin) or (pin.component == "cuda" and pin.raw.startswith("pytorch-cuda")):
            by_file.setdefault(pin.file, []).append(pin)
    for pins in by_file.values():
        selectors = [p for p in pins if p.raw.startswith("pytorch-cuda")]
        torches = [
            p for p in pins if p.component == "torch" and p.raw.lower().startswith("pytorch")
        ]
        past = [
            p for p in torches if (v := version_of(p)) and v.release[:2] > _LAST_CHANNEL_RELEASE
        ]
        for sel in selectors:
            if past:
                message = (
                    f"{sel.raw} selects the CUDA build on the pytorch conda channel, which has no "
                    f"torch past 2.5, but {where(past[0])} asks for torch {past[0].value}"
                )
            else:
                message = (
                    f"{sel.raw} comes from the pytorch conda channel, discontinued after torch "
                    "2.5 (pytorch/pytorch#138506)"
                )
            out.add(
                "VG017",
                message,
                sel,
                related=[(p.file, p.line) for p in past[:1]],
                fix="install torch with pip from the PyTorch index for your CUDA, or take pytorch "
                "from conda-forge with cuda-version=<x.y>.",
                at_most=None if past else "warning",
            )
        for pin in torches:
            channel = (
                pin.raw.lower().startswith("pytorch::")
                or bool(selectors)
                or PYTORCH_CHANNEL in pin.resolved_from  # the file's channels list names it
            )
            if not channel:
                continue
            if pin in past:
                out.add(
                    "VG017",
                    f"torch {pin.value} does not exist on the pytorch conda channel: it stopped at "
                    "2.5 (pytorch/pytorch#138506)",
                    pin,
                    fix="install torch with pip from the PyTorch index for your CUDA, or take "
                    "pytorch from conda-forge.",
                )
            elif pin.raw.lower().startswith("pytorch::"):
                out.add(
                    "VG017",
                    f"{pin.raw} pins the pytorch conda channel, discontinued after torch 2.5 "
                    "(pytorch/pytorch#138506)",
                    pin,
                    fix="take pytorch from conda-forge, or install torch with pip.",
                    at_most="warning",
                )
