"""Build rules: an official build exists for the torch release, its CUDA/ROCm variant or image
tag, and the environment's Python.

VG008 no-official-build (docs/version-guard.md#vg008-no-official-build), VG009
python-unsupported (docs/version-guard.md#vg009-python-unsupported) and VG019
conda-pytorch-channel (docs/version-guard.md#vg019-conda-pytorch-channel).
Tests: tests/test_version_guard_rules_builds.py."""

from __future__ import annotations

from packaging.version import Version

from mlops_actions.compat import (
    cuda_builds,
    has_cuda_build,
    has_rocm_build,
    python_supported,
    pytorch_channel_last,
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
        "VG019",
        "conda-pytorch-channel",
        "error",
        "A torch past 2.5 is pinned from the discontinued conda `pytorch` channel.",
        "The anaconda `pytorch` channel published its last torch with 2.5 (pytorch/pytorch#138506)"
        "; `pytorch-cuda`, its CUDA selector, exists only there. A torch newer than its last "
        "release cannot be installed from it, nor can `pytorch-cuda` pinned with it. Older "
        "pins still install and are only recorded: moving off the channel is advised, not "
        "required.",
        "Install torch from conda-forge (`pytorch` with a CUDA build string such as "
        "`pytorch=2.5.1=cuda126*`, with `cuda-version`), or with pip from a PyTorch index "
        "(`--index-url https://download.pytorch.org/whl/cu126`).",
    ),
)


def check(ctx: Context, out: Findings) -> None:
    for env in ctx.environments:
        _python_support(env, out)
        _env_builds(env, out)
    _builds(ctx.scan, out)
    _pytorch_channel(ctx.scan, out)


def _pytorch_channel(scan: ScanResult, out: Findings) -> None:
    last = Version(pytorch_channel_last())
    fix = "install torch from conda-forge or with pip from a PyTorch index."
    past: dict[str, Pin] = {}
    for pin in scan.pins:
        v = version_of(pin) if pin.component == "torch" else None
        if v is not None and v > last and PYTORCH_CHANNEL in pin.resolved_from:
            past.setdefault(pin.file, pin)
            out.add(
                "VG019",
                f"torch {v} from the conda pytorch channel does not exist: the channel's "
                f"last release is {last}",
                pin,
                fix=fix,
            )
    for pin in scan.pins:
        torch = past.get(pin.file)
        if torch is not None and pin.component == "cuda" and _is_pytorch_cuda(pin):
            out.add(
                "VG019",
                f"pytorch-cuda exists only on the conda pytorch channel, which has no torch "
                f"{torch.value} ({where(torch)})",
                pin,
                related=[(torch.file, torch.line)],
                fix="on conda-forge choose the CUDA build with cuda-version and a pytorch build "
                "string (pytorch=*=cuda126*).",
            )


def _is_pytorch_cuda(pin: Pin) -> bool:
    return pin.raw.strip().lower().startswith("pytorch-cuda")


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
