"""Torch build checks: the torch the job imports, its CUDA variant, its Python, the smoke run."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from mlops_actions import compat
from mlops_actions.env_verify.checks.expectations import (
    Expectations,
    version_matches,
    version_or_none,
)
from mlops_actions.env_verify.checks.facts import (
    get,
    python_version,
    torch_cuda,
    torch_found,
    torch_variant,
    torch_version,
)
from mlops_actions.env_verify.checks.model import (
    STACK_FIX_PLACEHOLDER,
    Check,
    CheckResult,
    expected_text,
    show,
    table_verdict,
    version_check,
)

TORCH_INSTALL = Check(
    "torch-install",
    reads=("torch.found", "torch.version", "distributions.torch", "torch-optional"),
    fix="uninstall the extra copies (pip uninstall -y torch, repeated) and reinstall once.",
)

CUDA_VERSION = Check(
    "cuda-version",
    reads=("cuda", "torch.cuda", "torch.variant"),
    fix="install the expected torch stack, or update the expectation.",
)

CUDA_BUILD = Check(
    "cuda-build",
    reads=("torch.version", "torch.cuda"),
    fix="prefer an official wheel from https://download.pytorch.org/whl/ for reproducible CI.",
)

PYTHON_SUPPORTED = Check(
    "python-supported",
    reads=("torch.version", "python.version", "python.abiflags"),
    fix="use a Python the torch release supports (actions/setup-python), or a torch release "
    "that supports this Python.",
)

PROBE_SECTION = Check(
    "probe-section",
    reads=("errors",),
    fix="report this with the probe JSON attached.",
)

CHECKS = (
    TORCH_INSTALL,
    CUDA_VERSION,
    CUDA_BUILD,
    PYTHON_SUPPORTED,
    PROBE_SECTION,
)


def check_torch_version(facts: Mapping[str, Any], exp: Expectations) -> CheckResult | None:
    if exp.torch is None:
        return None
    return version_check(
        "torch-version",
        "torch",
        exp,
        "torch",
        torch_version(facts),
        variant=torch_variant(facts),
        missing="torch is not installed for this interpreter",
        fix=STACK_FIX_PLACEHOLDER,
    )


def check_cuda_version(facts: Mapping[str, Any], exp: Expectations) -> CheckResult | None:
    if exp.cuda is None:
        return None
    return _check_cuda_expectation(facts, exp)


def check_python_version(facts: Mapping[str, Any], exp: Expectations) -> CheckResult | None:
    if exp.python is None:
        return None
    return version_check(
        "python-version",
        "Python",
        exp,
        "python",
        python_version(facts),
        missing="the probe could not read the Python version",
        fix="run the job with that Python (actions/setup-python, or the image's "
        "interpreter via the `python` input), or update the expectation.",
    )


def _check_cuda_expectation(facts: Mapping[str, Any], exp: Expectations) -> CheckResult:
    want = str(exp.cuda)
    expected = expected_text(exp, "cuda")
    variant = torch_variant(facts)
    fix = STACK_FIX_PLACEHOLDER
    if not torch_found(facts):
        return CUDA_VERSION.result("fail", expected, "(none)", "torch is not installed", fix)
    if want == "cpu":
        ok = variant == "cpu"
        return CUDA_VERSION.result(
            "ok" if ok else "fail",
            expected,
            show(variant),
            "torch is a CPU build" if ok else f"torch is a {variant} build, expected a CPU build",
            "" if ok else fix,
        )
    found = torch_cuda(facts)
    if found is None:
        return CUDA_VERSION.result(
            "fail",
            expected,
            show(variant),
            f"torch is a {variant or 'non-CUDA'} build, expected CUDA {want}",
            fix,
        )
    match = version_matches(want, found)
    return CUDA_VERSION.result(
        "ok" if match.ok else "fail",
        expected,
        found,
        f"torch is built for CUDA {found}" + ("" if match.ok else f", expected {want}"),
        "" if match.ok else fix,
    )


_NO_TORCH_FIX = (
    "install torch into the interpreter the job runs (or point the `python` input at the one "
    "that has it); if this job is meant to run without torch, set torch-optional: true."
)


def check_torch_install(facts: Mapping[str, Any], exp: Expectations) -> CheckResult:
    """A PyTorch environment check fails without an importable torch, unless torch-optional."""
    package = get(facts, "torch", "found")
    if not torch_found(facts) or package is False:
        what = (
            f"torch {torch_version(facts)} is in the metadata but its package is missing"
            if torch_found(facts)
            else "torch is not importable by this interpreter"
        )
        if exp.torch_optional:
            return TORCH_INSTALL.result(
                "skip",
                "torch or nothing (torch-optional)",
                "no torch",
                f"{what}; torch-optional: true allows that",
            )
        return TORCH_INSTALL.result(
            "fail",
            "an importable torch",
            "no torch",
            what,
            _NO_TORCH_FIX,
        )
    shadowed = get(facts, "distributions", "torch", "shadowed") or []
    problems: list[str] = []
    if shadowed:
        problems.append(
            "other torch installs later on the path: "
            + ", ".join(f"{s.get('version')} at {s.get('path')}" for s in shadowed)
        )
    dist = get(facts, "torch", "distribution_version")
    disk = get(facts, "torch", "version")
    if dist and disk:
        d, v = version_or_none(str(dist)), version_or_none(str(disk))
        if d is not None and v is not None and d.public != v.public:
            problems.append(f"torch metadata says {dist} but torch/version.py says {disk}")
    found = show(torch_version(facts))
    if problems:
        return TORCH_INSTALL.result(
            "warn",
            "one consistent torch install",
            found,
            "; ".join(problems),
        )
    return TORCH_INSTALL.result("ok", "one consistent torch install", found, "one torch install")


def check_cuda_build_exists(facts: Mapping[str, Any]) -> CheckResult:
    tv = torch_version(facts)
    cuda = torch_cuda(facts)
    if tv is None or cuda is None:
        return CUDA_BUILD.result("skip", "", show(torch_variant(facts)), "no CUDA build of torch")
    builds = compat.cuda_builds(tv)
    expected = "one of " + ", ".join(builds) if builds else "an official CUDA build"
    return table_verdict(
        "cuda-build",
        compat.has_cuda_build(tv, cuda),
        expected,
        cuda,
        unknown=f"the CUDA builds of torch {tv}",
        ok=f"torch {tv} has official CUDA {cuda} wheels",
        bad=(
            "warn",
            f"torch {tv} has no official CUDA {cuda} build: a source or third-party build, or "
            "mislabelled metadata",
            CUDA_BUILD.fix,
        ),
    )


def check_python_supported(facts: Mapping[str, Any]) -> CheckResult:
    tv = torch_version(facts)
    py = python_version(facts)
    if tv is None or py is None:
        return PYTHON_SUPPORTED.result("skip", "", show(py), "no torch")
    abiflags = str(get(facts, "python", "abiflags") or "")
    query = ".".join(py.split(".")[:2]) + ("t" if "t" in abiflags else "")
    release = compat.torch_release(tv)
    expected = (
        f"Python {release.python_min}..{release.python_max}"
        if release and release.python_min
        else "a supported Python"
    )
    return table_verdict(
        "python-supported",
        compat.python_supported(tv, query),
        expected,
        query,
        unknown=f"Python support of torch {tv}",
        ok=f"torch {tv} ships wheels for Python {query}",
        bad=(
            "fail",
            f"torch {tv} has no wheels for Python {query}: this install cannot be reproduced "
            "from PyPI and may not import",
            PYTHON_SUPPORTED.fix,
        ),
    )


_SMOKE_FIX = {
    "import_torch": "run `python -c 'import torch'` in the job to see the error; a missing "
    "shared library usually means a broken or mixed install.",
    "cuda_available": "check the driver (driver-floor) and CUDA_VISIBLE_DEVICES.",
    "torchvision_nms": "install torchvision built for this torch, in the same pip command and "
    "from the same index as torch (see torchvision-matches-torch).",
    "cuda_assert": "a device-side assert that does not come back as an error hides kernel bugs: "
    "check the driver and the torch build on this runner by hand.",
}
# What a failing probe means, when its detail says it plainly.
_SMOKE_MEANING = (
    (
        "torchvision::nms does not exist",
        "torchvision's C++ ops are not registered: torchvision was built for another torch",
    ),
    ("device-side assert", "a CUDA kernel hit a device-side assert"),
)


def check_smoke(facts: Mapping[str, Any]) -> list[CheckResult]:
    probes = get(facts, "smoke", "probes")
    if not isinstance(probes, Mapping):
        return []
    out: list[CheckResult] = []
    for name, probe in probes.items():
        if not isinstance(probe, Mapping):
            continue
        check_id = "smoke-" + str(name).replace("_", "-")
        status = probe.get("status")
        detail = str(probe.get("detail") or "")
        seconds = probe.get("seconds")
        took = f" after {seconds:.1f} s" if isinstance(seconds, int | float) else ""
        if status == "ok":
            message = "passed"
            if name == "cuda_available":
                message = f"torch.cuda.is_available() is {probe.get('value')}"
            result = CheckResult(check_id, "ok", "", _smoke_summary(probe.get("value")), message)
            if name == "import_torch":
                result = _imported_matches_disk(facts, probe.get("value"), result)
            out.append(result)
        elif status == "skipped":
            out.append(CheckResult(check_id, "skip", "", "", detail or "skipped"))
        elif status == "timeout":
            out.append(
                CheckResult(
                    check_id,
                    "fail",
                    "an answer in time",
                    f"timeout{took}",
                    f"smoke probe {name} hung: {detail}",
                    "a hang in CUDA initialisation usually means a driver or device problem; "
                    "raise `timeout` only if the machine is known to be slow.",
                )
            )
        else:
            out.append(
                CheckResult(
                    check_id,
                    "fail",
                    "success",
                    _smoke_summary(probe.get("value")) or "failed",
                    _smoke_failure(str(name), detail),
                    _SMOKE_FIX.get(
                        str(name),
                        "a numerical error or crash here points at a broken CUDA/cuDNN install "
                        "or a faulty GPU; compare with the CPU probes.",
                    ),
                )
            )
    return out


def _smoke_failure(name: str, detail: str) -> str:
    for needle, meaning in _SMOKE_MEANING:
        if needle in detail:
            return f"smoke probe {name} failed: {meaning} ({detail})"
    if name == "cuda_assert" and not detail:
        return "smoke probe cuda_assert failed: an out-of-bounds index on the GPU raised no error"
    return f"smoke probe {name} failed: {detail or 'wrong results'}"


def _smoke_summary(value: object) -> str:
    if isinstance(value, Mapping) and "version" in value:
        return str(value["version"])
    if isinstance(value, bool | str | int):
        return str(value)
    return ""


def _imported_matches_disk(
    facts: Mapping[str, Any], value: object, result: CheckResult
) -> CheckResult:
    on_disk = torch_version(facts)
    imported = value.get("version") if isinstance(value, Mapping) else None
    if on_disk and imported and str(imported) != on_disk:
        return replace(
            result,
            status="fail",
            expected=on_disk,
            found=str(imported),
            message=f"`import torch` loads {imported}, but the torch on the path reads {on_disk}",
            fix="remove the second torch install (check PYTHONPATH, user site, shadowed copies).",
        )
    return result


def check_probe_errors(facts: Mapping[str, Any]) -> list[CheckResult]:
    errors = facts.get("errors")
    if not isinstance(errors, list) or not errors:
        return []
    return [
        PROBE_SECTION.result(
            "warn",
            "",
            str(e.get("section")),
            f"the probe could not read {e.get('section')}: {e.get('error')}",
        )
        for e in errors
        if isinstance(e, Mapping)
    ]
