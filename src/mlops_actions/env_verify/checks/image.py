"""Image checks: what an image's labels, ENV lines and tags claim, against what it holds."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mlops_actions.env_verify.checks.expectations import version_matches
from mlops_actions.env_verify.checks.facts import (
    cudnn_version,
    distribution_version,
    nccl_version,
    python_version,
    torch_cuda,
    torch_variant,
    torch_version,
)
from mlops_actions.env_verify.checks.model import CheckResult, show

LABEL_PREFIX = "io.mlops-actions."

# Namespaced labels this action writes and image mode reads back: label suffix → component.
LABEL_COMPONENTS: dict[str, str] = {
    "torch.version": "torch",
    "torch.variant": "variant",
    "torchvision.version": "torchvision",
    "torchaudio.version": "torchaudio",
    "cuda.version": "cuda",
    "cudnn.version": "cudnn",
    "nccl.version": "nccl",
    "python.version": "python",
}

# Env variables whose value names the torch or Python the image is meant to hold.
ENV_CLAIMS = {"PYTORCH_VERSION": "torch", "TORCH_VERSION": "torch", "PYTHON_VERSION": "python"}
# Repositories whose tags follow pytorch/pytorch's {torch}-cuda{X.Y}-cudnn{N}-{flavour} scheme:
# the official one and mirrors or rebuilds that keep its name.
PYTORCH_TAG_NAMES = ("pytorch", "torch")


@dataclass(frozen=True)
class Claim:
    component: str
    """torch, variant, torchvision, torchaudio, cuda, cudnn, nccl or python."""
    value: str
    source: str
    """Where it was read: ``label io.mlops-actions.torch.version``, ``env PYTORCH_VERSION``,
    ``tag pytorch/pytorch:2.4.1-cuda12.1-cudnn9-runtime``."""


# -- claims --------------------------------------------------------------------------


def _torch_named(ref: str) -> bool:
    # The pin scanners cost ~50 ms to import; only image mode needs them, and report.py imports
    # this module for its label names.
    from mlops_actions.pins.values import parse_image_ref

    parsed = parse_image_ref(ref)
    if parsed is None:
        return False
    return parsed.repository.rsplit("/", 1)[-1] in PYTORCH_TAG_NAMES


def tag_claims(ref: str) -> list[Claim]:
    """What a pytorch-style tag says: torch, its variant, CUDA and the cuDNN major."""
    from mlops_actions.pins.values import decode_image, parse_image_ref

    parsed = parse_image_ref(ref)
    if parsed is None or parsed.tag is None or not _torch_named(ref):
        return []
    decoded = decode_image(f"pytorch/pytorch:{parsed.tag}")
    out: list[Claim] = []
    for item in decoded[1:]:
        if item.how != "exact" or not item.value:
            continue
        out.append(Claim(item.component, item.value, f"tag {ref}"))
        if item.component == "torch" and item.variant:
            out.append(Claim("variant", item.variant, f"tag {ref}"))
    return out


def claims_from_image(
    labels: Mapping[str, str], env: Sequence[str], tags: Sequence[str]
) -> list[Claim]:
    """Every version claim the image's labels, ENV lines and tags make."""
    out: list[Claim] = []
    for suffix, component in LABEL_COMPONENTS.items():
        value = labels.get(LABEL_PREFIX + suffix)
        if value:
            out.append(Claim(component, value.strip(), f"label {LABEL_PREFIX}{suffix}"))
    title = labels.get("org.opencontainers.image.title", "")
    oci_version = labels.get("org.opencontainers.image.version", "")
    # The OCI version names the image's own release; it is torch's only for a torch image.
    if oci_version and (
        any(name in title.lower() for name in PYTORCH_TAG_NAMES)
        or any(_torch_named(tag) for tag in tags)
    ):
        out.append(Claim("torch", oci_version.strip(), "label org.opencontainers.image.version"))
    for line in env:
        key, sep, value = line.partition("=")
        if sep and key in ENV_CLAIMS and value.strip():
            out.append(Claim(ENV_CLAIMS[key], value.strip().removeprefix("v"), f"env {key}"))
    for tag in tags:
        out.extend(tag_claims(tag))
    return out


def _found_for(component: str, facts: Mapping[str, Any]) -> str | None:
    values = {
        "torch": torch_version(facts),
        "variant": torch_variant(facts),
        "torchvision": distribution_version(facts, "torchvision"),
        "torchaudio": distribution_version(facts, "torchaudio"),
        "cuda": torch_cuda(facts),
        "cudnn": cudnn_version(facts),
        "nccl": nccl_version(facts),
        "python": python_version(facts),
    }
    return values.get(component)


def compare_claim(claim: Claim, facts: Mapping[str, Any]) -> CheckResult:
    check_id = f"image-claim-{claim.component}"
    expected = f"{claim.value} ({claim.source})"
    fix = (
        "fix the label/tag/ENV at its source (the Dockerfile or the build workflow), or "
        "rebuild the image so it installs what it claims; set labels from env-verify's "
        "`image-labels` output so they are read from the installed stack."
    )
    variant = torch_variant(facts)
    if claim.component == "variant" or (claim.component == "cuda" and claim.value == "cpu"):
        want = "cpu" if claim.component == "cuda" else claim.value
        ok = variant == want
        return CheckResult(
            check_id,
            "ok" if ok else "fail",
            expected,
            show(variant),
            f"the image claims a {want} build; torch is "
            + (f"a {variant} build" if variant else "not installed"),
            "" if ok else fix,
        )
    found = _found_for(claim.component, facts)
    if found is None:
        if claim.component in ("cudnn", "nccl"):
            return CheckResult(
                check_id,
                "skip",
                expected,
                "(unknown)",
                f"no {claim.component} wheel in the image; run with smoke: true to ask torch",
            )
        what = "torch is not a CUDA build" if claim.component == "cuda" else "not installed"
        return CheckResult(
            check_id,
            "fail",
            expected,
            "(none)",
            f"the image claims {claim.component} {claim.value} but {what}",
            fix,
        )
    try:
        match = version_matches(claim.value, found, variant if claim.component == "torch" else None)
    except ValueError:
        return CheckResult(
            check_id,
            "warn",
            expected,
            found,
            f"{claim.source} is not a version: {claim.value!r}",
            fix,
        )
    if match.ok:
        return CheckResult(
            check_id, "ok", expected, found, f"{claim.source} agrees with the installed {found}"
        )
    reason = f" ({match.detail})" if match.detail else ""
    return CheckResult(
        check_id,
        "fail",
        expected,
        found,
        f"{claim.source} says {claim.component} {claim.value}, the image has {found}{reason}",
        fix,
    )


def compare_claims(claims: Sequence[Claim], facts: Mapping[str, Any]) -> list[CheckResult]:
    if not claims:
        return [
            CheckResult(
                "image-claims",
                "skip",
                "",
                "",
                "the image makes no version claim (no io.mlops-actions.* labels, no "
                "PYTORCH_VERSION, no pytorch-style tag)",
            )
        ]
    return [compare_claim(claim, facts) for claim in claims]
