"""Companion checks: torchvision, torchaudio and the NVIDIA libraries (cuDNN, NCCL) beside torch."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from packaging.version import Version

from mlops_actions import compat
from mlops_actions.env_verify.checks.expectations import Expectations, version_or_none
from mlops_actions.env_verify.checks.facts import (
    cudnn_version,
    distribution_version,
    get,
    nccl_version,
    smoke_probe,
    torch_cuda,
    torch_version,
)
from mlops_actions.env_verify.checks.model import (
    STACK_FIX_PLACEHOLDER,
    Check,
    CheckResult,
    show,
    table_verdict,
    version_check,
)

NVIDIA_WHEELS = Check(
    "nvidia-wheels",
    reads=("distributions.torch.requires", "distributions.nvidia-*"),
    fix="reinstall torch so pip pulls its own pins (pip install --force-reinstall "
    '"torch==<version>"), and remove later installs that upgraded these wheels.',
)

CUDNN_RUNTIME = Check(
    "cudnn-runtime",
    reads=("smoke.probes.cudnn", "cudnn.version", "cudnn.package"),
    fix="install the nvidia-cudnn wheel torch requires, or check LD_LIBRARY_PATH.",
)

CHECKS = (
    NVIDIA_WHEELS,
    CUDNN_RUNTIME,
)


def check_companion_version(
    facts: Mapping[str, Any], exp: Expectations, package: str
) -> CheckResult | None:
    want = getattr(exp, package)
    if want is None:
        return None
    return version_check(
        f"{package}-version",
        package,
        exp,
        package,
        distribution_version(facts, package),
        missing=f"{package} is not installed for this interpreter",
        fix=STACK_FIX_PLACEHOLDER,
    )


def check_cudnn_version(facts: Mapping[str, Any], exp: Expectations) -> CheckResult | None:
    if exp.cudnn is None:
        return None
    found = cudnn_version(facts)
    cudnn_want = version_or_none(exp.cudnn)
    want_parts = len(cudnn_want.release) if cudnn_want is not None else 0
    wheel = get(facts, "cudnn", "package_version")
    if want_parts > 3 and wheel:
        found = str(wheel)
    return version_check(
        "cudnn-version",
        "cuDNN",
        exp,
        "cudnn",
        found,
        missing="no cuDNN found (no nvidia-cudnn wheel; run with smoke: true to ask torch)",
        fix="install the torch build that ships this cuDNN, or the matching "
        "nvidia-cudnn-cu1x wheel; update the expectation if the pin is stale.",
    )


def check_nccl_version(facts: Mapping[str, Any], exp: Expectations) -> CheckResult | None:
    if exp.nccl is None:
        return None
    return version_check(
        "nccl-version",
        "NCCL",
        exp,
        "nccl",
        nccl_version(facts),
        missing="no NCCL found (no nvidia-nccl wheel; run with smoke: true to ask torch)",
        fix="install the torch build that ships this NCCL, or the matching "
        "nvidia-nccl-cu1x wheel; update the expectation if the pin is stale.",
    )


def check_companions(facts: Mapping[str, Any]) -> list[CheckResult]:
    out: list[CheckResult] = []
    tv = torch_version(facts)
    for package, matches, expected_of in (
        ("torchvision", compat.torchvision_compatible, compat.expected_torchvision),
        ("torchaudio", compat.torchaudio_compatible, compat.expected_torchaudio),
    ):
        check_id = f"{package}-matches-torch"
        found = distribution_version(facts, package)
        if found is None:
            out.append(CheckResult(check_id, "skip", "", "", f"{package} is not installed"))
            continue
        if tv is None:
            out.append(CheckResult(check_id, "skip", "", found, "torch is not installed"))
            continue
        want = expected_of(tv)
        expected = f"{want} (pairs with torch {tv})" if want else f"a release for torch {tv}"
        out.append(
            table_verdict(
                check_id,
                matches(tv, found),
                expected,
                found,
                unknown=f"{package} {found} with torch {tv}",
                ok=f"{package} {found} pairs with torch",
                bad=(
                    "fail",
                    f"{package} {found} was built for another torch than {tv}: importing it "
                    "fails or its C++ ops crash",
                    STACK_FIX_PLACEHOLDER,
                ),
            )
        )
    return out


def check_nvidia_wheels(facts: Mapping[str, Any]) -> CheckResult:
    """The nvidia-* wheels installed satisfy torch's own Requires-Dist pins."""
    requires = get(facts, "distributions", "torch", "requires")
    if not isinstance(requires, list):
        return NVIDIA_WHEELS.result("skip", "", "", "torch metadata not found")
    if not any("nvidia" in str(line).lower() for line in requires):
        return NVIDIA_WHEELS.result("skip", "", "", "torch pins no nvidia-* wheel")
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    bad: list[str] = []
    good: list[str] = []
    for line in requires:
        try:
            req = Requirement(str(line))
        except InvalidRequirement:
            continue
        name = canonicalize_name(req.name)
        if not name.startswith("nvidia-") or not req.specifier:
            continue
        if req.marker is not None and "extra" in str(req.marker):
            continue
        installed = distribution_version(facts, name)
        if installed is None:
            continue
        have = version_or_none(installed)
        if have is not None and req.specifier.contains(have, prereleases=True):
            good.append(f"{name} {installed}")
        else:
            bad.append(f"{name} {installed} (torch requires {req.specifier})")
    if bad:
        return NVIDIA_WHEELS.result(
            "fail",
            "the versions torch's metadata requires",
            "; ".join(bad),
            "NVIDIA library wheels do not match what torch was built against: " + "; ".join(bad),
        )
    if not good:
        return NVIDIA_WHEELS.result("skip", "", "", "torch pins no installed nvidia-* wheel")
    return NVIDIA_WHEELS.result(
        "ok",
        "the versions torch's metadata requires",
        "; ".join(good),
        "the NVIDIA wheels match torch's pins",
    )


def check_cudnn_runtime(facts: Mapping[str, Any]) -> CheckResult:
    probe = smoke_probe(facts, "cudnn")
    if probe is None:
        return CUDNN_RUNTIME.result("skip", "", "", "needs smoke: true (import torch)")
    if probe.get("status") != "ok":
        return CUDNN_RUNTIME.result("skip", "", "", str(probe.get("detail") or probe.get("status")))
    value = probe.get("value") or {}
    runtime = value.get("runtime")
    compiled = value.get("compiled")
    wheel = get(facts, "cudnn", "version")
    if not runtime:
        return CUDNN_RUNTIME.result(
            "fail" if torch_cuda(facts) else "skip",
            show(compiled),
            "(none)",
            "torch.backends.cudnn.is_available() is False: cuDNN could not be loaded",
        )
    problems: list[str] = []
    warn = False
    have = version_or_none(str(runtime))
    if compiled and have is not None and version_or_none(str(compiled)) is not None:
        built = Version(str(compiled))
        if have.release[:1] != built.release[:1] or have < built:
            problems.append(f"torch was built with cuDNN {compiled} but loads {runtime}")
        elif have != built:
            warn = True
    wheel_version = version_or_none(str(wheel)) if wheel else None
    if (
        have is not None
        and wheel_version is not None
        and wheel_version.release[:3] != have.release[:3]
    ):
        problems.append(
            f"the {get(facts, 'cudnn', 'package')} wheel is {wheel} but torch loads "
            f"{runtime} (another libcudnn shadows it)"
        )
    expected = f"compiled {show(compiled)}; wheel {show(wheel)}"
    if problems:
        return CUDNN_RUNTIME.result(
            "fail",
            expected,
            str(runtime),
            "; ".join(problems),
            "remove the other cuDNN from LD_LIBRARY_PATH / the system, or reinstall the "
            "nvidia-cudnn wheel torch requires.",
        )
    if warn:
        return CUDNN_RUNTIME.result(
            "warn",
            expected,
            str(runtime),
            f"torch loads cuDNN {runtime}, newer than the {compiled} it was built with",
        )
    return CUDNN_RUNTIME.result(
        "ok", expected, str(runtime), "the cuDNN torch loads is the one it expects"
    )
