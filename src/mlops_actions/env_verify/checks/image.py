"""Image checks: what an image's labels, ENV lines and tags claim, against what it holds."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from packaging.version import Version

from mlops_actions.env_verify.checks.expectations import version_matches, version_or_none
from mlops_actions.env_verify.checks.facts import (
    cudnn_version,
    distribution_version,
    get,
    nccl_version,
    python_version,
    torch_cuda,
    torch_variant,
    torch_version,
)
from mlops_actions.env_verify.checks.model import Check, CheckResult, Status, show

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


# -- what the NVIDIA container toolkit will say before the job starts --------------------------

IMAGE_REQUIRE_CUDA = Check(
    "image-require-cuda",
    reads=(
        "image env NVIDIA_REQUIRE_CUDA",
        "host gpu.cuda_driver_version",
        "host gpu.driver_version",
    ),
    fix="upgrade the runner's NVIDIA driver to one that supports that CUDA, or use an image built "
    "for an older CUDA; NVIDIA_DISABLE_REQUIRE=true skips the toolkit's check but the CUDA "
    "runtime still needs the driver.",
)
IMAGE_GPU_ENV = Check(
    "image-gpu-env",
    reads=("image env NVIDIA_VISIBLE_DEVICES", "image env NVIDIA_DRIVER_CAPABILITIES"),
    fix="set NVIDIA_VISIBLE_DEVICES=all and NVIDIA_DRIVER_CAPABILITIES=compute,utility (or "
    "remove them so the toolkit's defaults apply) in the image.",
)
IMAGE_GPU_RUNTIME = Check(
    "image-gpu-runtime",
    reads=("the Docker engine's answer to a GPU device request", "require-gpu"),
    fix="install and configure the NVIDIA container toolkit on the runner "
    "(nvidia-ctk runtime configure --runtime=docker, then restart Docker).",
)
_CONDITION = re.compile(r"^(cuda|driver|arch|brand)\s*(>=|<=|!=|=|>|<)\s*(\S+)$")


def image_env(env: Sequence[str]) -> dict[str, str]:
    """``KEY=value`` lines of an image's config as a mapping."""
    out: dict[str, str] = {}
    for line in env:
        key, sep, value = line.partition("=")
        if sep:
            out[key] = value
    return out


def host_cuda(host: Mapping[str, Any]) -> tuple[str | None, str]:
    """The CUDA version the host driver supports, and where it was read."""
    from mlops_actions import compat

    reported = get(host, "gpu", "cuda_driver_version")
    if reported:
        return str(reported), "NVML"
    driver = version_or_none(get(host, "gpu", "driver_version"))
    if driver is None:
        return None, ""
    supported = [
        row.cuda
        for row in compat.load_table().drivers
        if (floor := version_or_none(row.driver)) is not None and floor <= driver
    ]
    if not supported:
        return None, ""
    return max(supported, key=lambda c: version_or_none(c) or Version("0")), "the driver table"


def _condition_holds(key: str, op: str, want: str, values: Mapping[str, str | None]) -> bool | None:
    have = values.get(key)
    if have is None:
        return None
    if key in ("brand", "arch"):
        same = have.lower() == want.lower()
        return same if op == "=" else (not same if op == "!=" else None)
    left, right = version_or_none(have), version_or_none(want)
    if left is None or right is None:
        return None
    return {
        ">=": left >= right,
        "<=": left <= right,
        ">": left > right,
        "<": left < right,
        "=": left == right,
        "!=": left != right,
    }[op]


def check_require_cuda(env: Mapping[str, str], host: Mapping[str, Any] | None) -> CheckResult:
    """NVIDIA_REQUIRE_CUDA as the toolkit reads it: space-separated alternatives, each a
    comma-separated list of conditions that must all hold (``cuda>=12.4`` or, for a Tesla on
    driver 470, ``brand=tesla,driver>=470,driver<471`` with the forward-compatibility libs)."""
    spec = env.get("NVIDIA_REQUIRE_CUDA", "").strip()
    if not spec:
        return IMAGE_REQUIRE_CUDA.result("skip", "", "", "the image sets no NVIDIA_REQUIRE_CUDA")
    if env.get("NVIDIA_DISABLE_REQUIRE", "").lower() in ("1", "true", "yes"):
        return IMAGE_REQUIRE_CUDA.result(
            "skip", spec, "", "NVIDIA_DISABLE_REQUIRE is set: the toolkit does not check it"
        )
    cuda, source = host_cuda(host or {})
    driver = get(host or {}, "gpu", "driver_version")
    if cuda is None:
        return IMAGE_REQUIRE_CUDA.result(
            "skip", spec, "no driver", "the host has no NVIDIA driver to check it against"
        )
    # The probe does not read the GPU brand or architecture: conditions on them are unknown.
    values = {"cuda": cuda, "driver": str(driver) if driver else None, "brand": None, "arch": None}
    found = f"driver {driver or '?'} (CUDA {cuda}, from {source})"
    unsatisfied: list[str] = []
    unknown: list[str] = []
    for group in spec.split():
        results = []
        for condition in group.split(","):
            match = _CONDITION.match(condition.strip())
            holds = (
                None if match is None else _condition_holds(match[1], match[2], match[3], values)
            )
            results.append((condition, holds))
        if all(h is True for _, h in results):
            return IMAGE_REQUIRE_CUDA.result(
                "ok", spec, found, f"the host driver satisfies {group}"
            )
        if all(h is not False for _, h in results):
            unknown.append(group)
        unsatisfied.extend(c for c, h in results if h is False and c.startswith("cuda"))
    if unknown:
        # An alternative that may hold (say, a Tesla GPU's forward-compatibility rule): the
        # toolkit may start the image, so not a failure.
        return IMAGE_REQUIRE_CUDA.result(
            "warn",
            spec,
            found,
            f"the driver supports CUDA {cuda}, below what the image asks, unless {unknown[0]} "
            "holds (brand and architecture are not probed)",
        )
    first = unsatisfied[0] if unsatisfied else spec.split()[0]
    return IMAGE_REQUIRE_CUDA.result(
        "fail",
        spec,
        found,
        f"the NVIDIA container toolkit refuses to start this image on this host before the job "
        f'runs ("requirement error: unsatisfied condition: {first}"): the driver supports '
        f"CUDA {cuda}",
    )


def check_gpu_env(env: Mapping[str, str], require_gpu: bool) -> CheckResult:
    """The image's NVIDIA_VISIBLE_DEVICES / NVIDIA_DRIVER_CAPABILITIES let the toolkit mount a
    usable GPU: not ``void``/``none``, and capabilities with ``compute`` (libcuda)."""
    visible = env.get("NVIDIA_VISIBLE_DEVICES")
    capabilities = env.get("NVIDIA_DRIVER_CAPABILITIES")
    found = f"NVIDIA_VISIBLE_DEVICES={visible!r}, NVIDIA_DRIVER_CAPABILITIES={capabilities!r}"
    status: Status = "fail" if require_gpu else "warn"
    problems: list[str] = []
    if visible is not None and visible.strip().lower() in ("void", "none", ""):
        problems.append(
            f"NVIDIA_VISIBLE_DEVICES={visible!r} tells the toolkit to give the container no GPU"
        )
    caps = {c.strip().lower() for c in (capabilities or "").split(",") if c.strip()}
    if capabilities is not None and "all" not in caps:
        if "compute" not in caps:
            problems.append(
                "NVIDIA_DRIVER_CAPABILITIES lacks `compute`: libcuda is not mounted and "
                "torch.cuda.is_available() is False"
            )
        elif "utility" not in caps:
            status = "warn"
            problems.append(
                "NVIDIA_DRIVER_CAPABILITIES lacks `utility`: no nvidia-smi or NVML inside, so "
                "the driver facts cannot be read"
            )
    if visible is None and capabilities is None:
        return IMAGE_GPU_ENV.result(
            "ok", "", found, "the image leaves GPU selection to the toolkit's defaults"
        )
    if problems:
        return IMAGE_GPU_ENV.result(status, "GPUs and compute mounted", found, "; ".join(problems))
    return IMAGE_GPU_ENV.result("ok", "GPUs and compute mounted", found, "usable GPU settings")


def check_gpu_runtime(gpus_refused: str | None, host_gpus: bool, require_gpu: bool) -> CheckResult:
    """Whether the engine could pass the host's GPUs to the container (the toolkit is there)."""
    if not host_gpus:
        return IMAGE_GPU_RUNTIME.result("skip", "", "no GPU", "the host has no GPU to pass")
    if gpus_refused is None:
        return IMAGE_GPU_RUNTIME.result(
            "ok", "GPUs passed to the container", "passed", "the engine passed the GPUs"
        )
    message = (
        f"the Docker engine cannot pass GPUs to containers ({gpus_refused}): the NVIDIA "
        "container toolkit is missing, so the image was probed without GPUs"
    )
    return IMAGE_GPU_RUNTIME.result(
        "fail" if require_gpu else "warn", "GPUs passed to the container", "refused", message
    )


CHECKS = (IMAGE_GPU_RUNTIME, IMAGE_REQUIRE_CUDA, IMAGE_GPU_ENV)
