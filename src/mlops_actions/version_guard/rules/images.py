"""Image rules: base and service images must name a version.

VG001 image-unpinned (docs/version-guard.md#vg001-image-unpinned) and VG020
torch-backend-auto (docs/version-guard.md#vg020-torch-backend-auto).
Tests: tests/test_version_guard_rules_images.py."""

from __future__ import annotations

from mlops_actions.pins.model import ScanResult
from mlops_actions.pins.values import parse_image_ref
from mlops_actions.version_guard.rules.catalog import Rule, define
from mlops_actions.version_guard.rules.findings import Context, Findings
from mlops_actions.version_guard.rules.roles import Roles

RULES = define(
    __name__,
    Rule(
        "VG001",
        "image-unpinned",
        "error",
        "A base or service image is untagged or uses a floating tag such as `latest`.",
        "An image without a tag, or with `latest`/`nightly`/`stable`, changes under you: the next "
        "build silently gets another torch, CUDA or Python. The check follows `ARG` values and "
        "build arguments, so `ARG BASE=pytorch/pytorch:latest` / `FROM ${BASE}` is caught "
        "(hadolint's DL3007/DL3006 see only literal tags). Images pinned by digest pass.",
        "Pin a versioned tag that names the stack, e.g. "
        "`pytorch/pytorch:2.4.1-cuda12.1-cudnn9-runtime`, or a digest "
        "(`image@sha256:…`); when the tag comes from an `ARG`, give the `ARG` a versioned default "
        "and pass versioned build arguments.",
    ),
    Rule(
        "VG020",
        "torch-backend-auto",
        "warning",
        "`uv pip install --torch-backend=auto` lets the installing machine pick torch's CUDA build.",
        "With `auto`, uv reads the NVIDIA driver of the machine that runs the install and picks "
        "the matching PyTorch index. In an image build that is the build machine (often without "
        "a GPU, so the CPU build), not the machine the image runs on: the same Dockerfile gives "
        "different images on different builders. In a CI step or a script run on the target "
        "machine it is what you want, so there it is a notice.",
        "Name the backend (`--torch-backend=cu126`) or the index (`--index-url "
        "https://download.pytorch.org/whl/cu126`) in image builds.",
    ),
)


def check(ctx: Context, out: Findings) -> None:
    _image_pinned(ctx.scan, out)
    _torch_backend_auto(ctx.scan, ctx.roles, out)


def _torch_backend_auto(scan: ScanResult, roles: Roles, out: Findings) -> None:
    for pin in scan.pins:
        if pin.component != "cuda" or pin.how != "latest" or pin.value != "auto":
            continue
        built = pin.source == "dockerfile" or roles.deployable(pin.file)
        where = "the machine that builds the image" if built else "the machine that runs it"
        out.add(
            "VG020",
            f"--torch-backend=auto: torch's CUDA build is chosen by the driver of {where}",
            pin,
            fix="name the backend (--torch-backend=cu126) or the PyTorch index.",
            at_most=None if built else "notice",
        )


def _image_pinned(scan: ScanResult, out: Findings) -> None:
    for pin in scan.pins:
        if pin.component != "image" or pin.how not in {"latest", "unpinned"}:
            continue
        ref = parse_image_ref(pin.value)
        via = f" (resolved from {'; '.join(pin.resolved_from)})" if pin.resolved_from else ""
        if pin.how == "latest":
            what = f"image {pin.value} uses the floating tag `{ref.tag if ref else pin.value}`"
        else:
            what = f"image {pin.value} has no tag"
        out.add(
            "VG001",
            what + via,
            pin,
            fix=f"pin a versioned tag of {ref.repository if ref else 'the image'} (such as "
            "pytorch/pytorch:2.4.1-cuda12.1-cudnn9-runtime) or a digest.",
        )
