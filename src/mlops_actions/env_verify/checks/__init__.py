"""What env-verify expects and the checks it runs: pure functions over the probe document.

The checks live in one module per fact family: ``torch_build`` (the torch the job imports, its
CUDA variant and Python, the smoke run), ``companions`` (torchvision, torchaudio, cuDNN, NCCL),
``cuda_driver`` (driver, GPU count, architectures), ``gpu_health`` (ECC, memory repairs,
persistence, throttling, MIG and ``CUDA_VISIBLE_DEVICES``) and ``image`` (what an image claims).
``expectations`` turns inputs, config and pins into ``Expectations``; ``facts`` reads the probe
document. ``evaluate(facts, expectations)`` runs them all in report order. Missing pieces (no
torch, no GPU) make the checks that need them ``skip`` with a reason, unless an expectation asks
for them, in which case they ``fail``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from mlops_actions.env_verify.checks import (
    companions,
    cuda_driver,
    gpu_health,
    image,
    install,
    torch_build,
)
from mlops_actions.env_verify.checks.cuda_driver import arch_list_supports
from mlops_actions.env_verify.checks.expectations import (
    BOOLEAN_FIELDS,
    EXPECTATION_KEYS,
    FIELD_NAMES,
    ExpectationError,
    Expectations,
    Match,
    PinLike,
    RepoExpectations,
    count_matches,
    expectations_from_mapping,
    expectations_from_pins,
    merge,
    normalise_value,
    parse_expect_items,
    parse_spec,
    version_matches,
)
from mlops_actions.env_verify.checks.facts import (
    cudnn_version,
    distribution_version,
    driver_version,
    gpu_count,
    gpu_devices,
    gpu_faults,
    nccl_version,
    python_version,
    smoke_probe,
    smoke_value,
    torch_cuda,
    torch_found,
    torch_variant,
    torch_version,
    visible_devices,
)
from mlops_actions.env_verify.checks.model import STATUS_ORDER, Check, CheckResult, Status, show

__all__ = [
    "BOOLEAN_FIELDS",
    "CATALOGUE",
    "EXPECTATION_KEYS",
    "FIELD_NAMES",
    "STATUS_ORDER",
    "Check",
    "CheckResult",
    "ExpectationError",
    "Expectations",
    "Match",
    "PinLike",
    "RepoExpectations",
    "Status",
    "arch_list_supports",
    "count_matches",
    "cudnn_version",
    "distribution_version",
    "driver_version",
    "evaluate",
    "expectations_from_mapping",
    "expectations_from_pins",
    "failed",
    "gpu_count",
    "gpu_devices",
    "gpu_faults",
    "merge",
    "nccl_version",
    "normalise_value",
    "parse_expect_items",
    "parse_spec",
    "python_version",
    "show",
    "smoke_probe",
    "smoke_value",
    "stack_fix",
    "torch_cuda",
    "torch_found",
    "torch_stack_command",
    "torch_variant",
    "torch_version",
    "version_matches",
    "visible_devices",
]


# Every check declared with its id, what it reads and its fix, family by family. The families
# of ids made per package or per probe (`*-version`, `*-matches-torch`, `smoke-*`,
# `image-claim-*`) are built where they run.
CATALOGUE: tuple[Check, ...] = (
    *torch_build.CHECKS,
    *companions.CHECKS,
    *cuda_driver.CHECKS,
    *gpu_health.CHECKS,
    *image.CHECKS,
)


def evaluate(facts: Mapping[str, Any], expectations: Expectations) -> list[CheckResult]:
    """Every check over one probe document; the order is the order of the report."""
    exp = expectations
    expected = [
        torch_build.check_torch_version(facts, exp),
        companions.check_companion_version(facts, exp, "torchvision"),
        companions.check_companion_version(facts, exp, "torchaudio"),
        torch_build.check_cuda_version(facts, exp),
        companions.check_cudnn_version(facts, exp),
        companions.check_nccl_version(facts, exp),
        torch_build.check_python_version(facts, exp),
        cuda_driver.check_min_driver(facts, exp),
        cuda_driver.check_gpu_count(facts, exp),
        cuda_driver.check_require_gpu(facts, exp),
    ]
    results: list[CheckResult] = [r for r in expected if r is not None]
    # Then family by family, in the order of the probe document's sections: the torch build,
    # the libraries beside it, the driver and GPUs, their health, the smoke run.
    results.append(torch_build.check_torch_install(facts, exp))
    results.append(torch_build.check_cuda_build_exists(facts))
    results.append(torch_build.check_python_supported(facts))
    results.extend(companions.check_companions(facts))
    results.append(companions.check_nvidia_wheels(facts))
    results.append(companions.check_cudnn_runtime(facts))
    results.append(cuda_driver.check_driver_health(facts))
    results.append(cuda_driver.check_driver_floor(facts))
    results.append(cuda_driver.check_gpu_arch(facts))
    results.append(cuda_driver.check_cudnn_gpu_floor(facts))
    results.extend(gpu_health.evaluate(facts))
    results.extend(torch_build.check_smoke(facts))
    results.extend(torch_build.check_probe_errors(facts))
    return install.apply_stack_fix(results, facts, exp)


def torch_stack_command(facts: Mapping[str, Any], expectations: Expectations) -> str:
    """The one pip command that installs the torch stack the expectations ask for."""
    return install.stack_install(facts, expectations).command


def stack_fix(
    results: Sequence[CheckResult], facts: Mapping[str, Any], expectations: Expectations
) -> str:
    """That command when a failing check about the torch stack needs it, else ``""``."""
    return install.stack_command_if_needed(results, facts, expectations)


def failed(results: Iterable[CheckResult]) -> list[CheckResult]:
    return [r for r in results if r.status == "fail"]
