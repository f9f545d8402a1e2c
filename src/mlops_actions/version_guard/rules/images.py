"""Image rules: base and service images must name a version.

VG001 image-unpinned. Docs: docs/version-guard.md#vg001-image-unpinned.
Tests: tests/test_version_guard_rules_images.py."""

from __future__ import annotations

from mlops_actions.pins.model import ScanResult
from mlops_actions.pins.values import parse_image_ref
from mlops_actions.version_guard.rules.catalog import Rule, define
from mlops_actions.version_guard.rules.findings import Context, Findings

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
)


def check(ctx: Context, out: Findings) -> None:
    _image_pinned(ctx.scan, out)


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
