"""CUDA and driver checks: the driver answers, is new enough, and the GPUs are ones torch can use."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from packaging.version import Version

from mlops_actions import compat
from mlops_actions.env_verify.checks.expectations import (
    Expectations,
    count_matches,
    version_or_none,
)
from mlops_actions.env_verify.checks.facts import (
    cudnn_version,
    driver_version,
    get,
    gpu_count,
    gpu_devices,
    gpu_faults,
    no_gpu_reason,
    smoke_value,
    torch_cuda,
    torch_found,
    torch_variant,
    torch_version,
)
from mlops_actions.env_verify.checks.model import Check, CheckResult, expected_text, show

MIN_DRIVER = Check(
    "min-driver",
    reads=("min-driver", "gpu.driver_version"),
    fix="upgrade the runner's NVIDIA driver, or run on a newer runner image.",
)

GPU_COUNT = Check(
    "gpu-count",
    reads=("gpu-count", "gpu.devices", "gpu.env.CUDA_VISIBLE_DEVICES"),
    fix="run on a runner with that many GPUs, and check CUDA_VISIBLE_DEVICES / "
    "NVIDIA_VISIBLE_DEVICES and the container's --gpus option.",
)

REQUIRE_GPU = Check(
    "require-gpu",
    reads=(
        "require-gpu",
        "gpu.devices",
        "gpu.faults",
        "torch.variant",
        "smoke.probes.cuda_available",
    ),
    fix="run this job on a GPU runner (runs-on: a GPU label; container: add `options: --gpus "
    "all`), or set require-gpu: false.",
)

DRIVER_HEALTH = Check(
    "driver-health",
    reads=("gpu.faults", "gpu.driver_version", "gpu.devices"),
    fix="take the runner out of rotation and check `nvidia-smi -q` and the kernel log (dmesg:"
    " NVRM / Xid errors); a GPU reset or a reboot usually clears it.",
)

DRIVER_FLOOR = Check(
    "driver-floor",
    reads=("torch.cuda", "torch.variant", "gpu.driver_version"),
    fix="upgrade the NVIDIA driver, or install a torch build for an older CUDA that this "
    "driver supports.",
)

GPU_ARCH = Check(
    "gpu-arch",
    reads=(
        "torch.cuda",
        "gpu.devices[].compute_capability",
        "smoke.probes.arch_list",
        "smoke.probes.devices",
    ),
    fix="install a torch build whose CUDA supports this GPU (see the PyTorch compatibility "
    "matrix), or run on a newer GPU.",
)

CUDNN_GPU = Check(
    "cudnn-gpu",
    reads=("cudnn.version", "smoke.probes.cudnn", "gpu.devices[].compute_capability"),
    fix="install a torch build that ships an older cuDNN for this GPU.",
)

CHECKS = (
    MIN_DRIVER,
    GPU_COUNT,
    REQUIRE_GPU,
    DRIVER_HEALTH,
    DRIVER_FLOOR,
    GPU_ARCH,
    CUDNN_GPU,
)


def check_min_driver(facts: Mapping[str, Any], exp: Expectations) -> CheckResult | None:
    return None if exp.min_driver is None else _check_min_driver(facts, exp)


def check_gpu_count(facts: Mapping[str, Any], exp: Expectations) -> CheckResult | None:
    return None if exp.gpu_count is None else _check_gpu_count(facts, exp)


def check_require_gpu(facts: Mapping[str, Any], exp: Expectations) -> CheckResult | None:
    return _check_require_gpu(facts, exp) if exp.require_gpu else None


def _check_min_driver(facts: Mapping[str, Any], exp: Expectations) -> CheckResult:
    expected = f">= {expected_text(exp, 'min_driver')}"
    found = driver_version(facts)
    if found is None:
        return MIN_DRIVER.result(
            "fail",
            expected,
            "(none)",
            f"no NVIDIA driver version could be read: {no_gpu_reason(facts)}",
            "run on a runner with the NVIDIA driver, or drop `min-driver`.",
        )
    have, want = version_or_none(found), version_or_none(str(exp.min_driver))
    if have is None or want is None:
        return MIN_DRIVER.result("fail", expected, found, f"driver version {found!r} is unreadable")
    ok = have >= want
    return MIN_DRIVER.result(
        "ok" if ok else "fail",
        expected,
        found,
        f"driver {found} " + ("meets" if ok else "is below") + f" {exp.min_driver}",
    )


def _check_gpu_count(facts: Mapping[str, Any], exp: Expectations) -> CheckResult:
    want = str(exp.gpu_count)
    count = gpu_count(facts)
    ok = count_matches(want, count)
    detail = "" if count else f" ({no_gpu_reason(facts)})"
    return GPU_COUNT.result(
        "ok" if ok else "fail",
        expected_text(exp, "gpu_count"),
        str(count),
        f"{count} GPU(s) visible{detail}" + ("" if ok else f", expected {want}"),
    )


def _check_require_gpu(facts: Mapping[str, Any], exp: Expectations) -> CheckResult:
    expected = expected_text(exp, "require_gpu")
    count = gpu_count(facts)
    if count == 0:
        faults = gpu_faults(facts)
        why = (
            "the driver is faulty: " + faults[0].get("detail", "")
            if faults
            else no_gpu_reason(facts)
        )
        return REQUIRE_GPU.result(
            "fail",
            expected,
            "no GPU",
            f"a GPU is required but none is visible: {why}",
        )
    variant = torch_variant(facts)
    if variant == "cpu":
        return REQUIRE_GPU.result(
            "fail",
            expected,
            f"{count} GPU(s), torch {torch_version(facts)} (CPU build)",
            "a GPU is required but the installed torch is a CPU build and cannot use it",
            "install a CUDA build of torch (--index-url https://download.pytorch.org/whl/cuXYZ).",
        )
    if (
        smoke_value(facts, "import_torch") is not None
        and smoke_value(facts, "cuda_available") is False
    ):
        return REQUIRE_GPU.result(
            "fail",
            expected,
            f"{count} GPU(s), torch.cuda.is_available() is False",
            "GPUs are present but torch cannot use them",
            "check the driver against the torch CUDA build (driver-floor) and "
            "CUDA_VISIBLE_DEVICES.",
        )
    return REQUIRE_GPU.result("ok", expected, f"{count} GPU(s)", "a GPU is visible")


def check_driver_health(facts: Mapping[str, Any]) -> CheckResult:
    faults = gpu_faults(facts)
    if faults:
        details = "; ".join(
            f"{f.get('source', '?')} {f.get('kind', '?')}: {f.get('detail', '')}" for f in faults
        )
        kinds = {f.get("kind") for f in faults}
        if "timeout" in kinds:
            headline = "the NVIDIA driver did not answer in time (a hung driver or GPU)"
        elif "bad-field" in kinds:
            headline = "the NVIDIA driver reports errors (ERR! / unusable values)"
        else:
            headline = "querying the NVIDIA driver failed"
        return DRIVER_HEALTH.result(
            "fail",
            "a driver that answers with valid values",
            details,
            headline,
        )
    if driver_version(facts) is None and gpu_count(facts) == 0:
        return DRIVER_HEALTH.result("skip", "", "no driver", no_gpu_reason(facts))
    return DRIVER_HEALTH.result(
        "ok",
        "a driver that answers with valid values",
        show(driver_version(facts)),
        f"driver {show(driver_version(facts))} answered for {gpu_count(facts)} GPU(s)",
    )


def check_driver_floor(facts: Mapping[str, Any]) -> CheckResult:
    cuda = torch_cuda(facts)
    driver = driver_version(facts)
    if cuda is None:
        reason = "no torch" if not torch_found(facts) else "torch is not a CUDA build"
        return DRIVER_FLOOR.result("skip", "", show(driver), reason)
    if driver is None:
        return DRIVER_FLOOR.result(
            "skip", "", "(none)", f"no driver to check: {no_gpu_reason(facts)}"
        )
    family = compat.min_driver_minor_compat(cuda)
    full = compat.min_driver(cuda)
    have = version_or_none(driver)
    if have is None or (family is None and full is None):
        return DRIVER_FLOOR.result(
            "skip",
            "",
            driver,
            f"no driver floor known for CUDA {cuda}",
        )
    expected = (
        f">= {family} (CUDA {cuda.split('.')[0]}.x family), >= {full} for CUDA {cuda} in full"
        if family and full
        else f">= {family or full}"
    )
    fix = (
        f"upgrade the NVIDIA driver to {full or family} or newer, or install a torch build for "
        "an older CUDA that this driver supports."
    )
    if family is not None and have < Version(family):
        return DRIVER_FLOOR.result(
            "fail",
            expected,
            driver,
            f"driver {driver} is below {family}, the lowest that runs any CUDA "
            f"{cuda.split('.')[0]}.x build: torch {torch_version(facts)} cannot use the GPU",
            fix,
        )
    if full is not None and have < Version(full):
        return DRIVER_FLOOR.result(
            "warn",
            expected,
            driver,
            f"driver {driver} runs CUDA {cuda} only through minor-version compatibility "
            f"(below {full}): features that need a newer driver (e.g. PTX JIT of newer code) fail",
            fix,
        )
    return DRIVER_FLOOR.result("ok", expected, driver, f"driver {driver} supports CUDA {cuda}")


def _sm(text: str) -> int | None:
    return compat.parse_compute_capability(text)


def arch_list_supports(arch_list: Sequence[str], capability: str) -> bool | None:
    """Whether kernels in ``torch.cuda.get_arch_list()`` run on a GPU of ``capability``.

    A cubin for sm_XY runs on sm_XZ with Z >= Y (same major); PTX for compute_N is JIT-compiled
    for any GPU of N or newer.
    """
    sm = _sm(capability)
    if sm is None:
        return None
    for arch in arch_list:
        text = arch.strip().lower()
        value = _sm(text.removeprefix("compute_")) if text.startswith("compute_") else _sm(text)
        if value is None:
            continue
        if text.startswith("compute_") and value <= sm:
            return True
        if text.startswith("sm_") and value // 10 == sm // 10 and value <= sm:
            return True
    return False


def check_gpu_arch(facts: Mapping[str, Any]) -> CheckResult:
    cuda = torch_cuda(facts)
    devices = gpu_devices(facts)
    smoke_devices = get(smoke_value(facts, "devices") or {}, "devices") or []
    capabilities = [
        (
            str(d.get("index", i)),
            str(d.get("name") or "GPU"),
            d.get("compute_capability"),
        )
        for i, d in enumerate(devices)
    ]
    if not capabilities:
        capabilities = [
            (str(d.get("index", i)), str(d.get("name") or "GPU"), d.get("capability"))
            for i, d in enumerate(smoke_devices)
            if isinstance(d, Mapping)
        ]
    if cuda is None:
        reason = "no torch" if not torch_found(facts) else "torch is not a CUDA build"
        return GPU_ARCH.result("skip", "", "", reason)
    if not capabilities:
        return GPU_ARCH.result("skip", "", "no GPU", no_gpu_reason(facts))
    arch_list = smoke_value(facts, "arch_list")
    span = compat.supported_arches(cuda)
    if isinstance(arch_list, list) and arch_list:
        expected = "a GPU covered by torch.cuda.get_arch_list(): " + ", ".join(arch_list)
    elif span:
        expected = f"sm_{span[0]}..sm_{span[1]} (torch builds for CUDA {cuda})"
    else:
        expected = f"an architecture torch's CUDA {cuda} builds support"
    bad: list[str] = []
    unknown: list[str] = []
    seen: list[str] = []
    for index, name, capability in capabilities:
        if not capability:
            unknown.append(f"GPU {index} ({name}): compute capability unknown")
            continue
        seen.append(f"GPU {index} {name} sm_{_sm(str(capability))}")
        supported: bool | None
        if isinstance(arch_list, list) and arch_list:
            supported = arch_list_supports(arch_list, str(capability))
        else:
            supported = compat.arch_supported(cuda, str(capability))
        if supported is False:
            bad.append(f"GPU {index} ({name}, sm_{_sm(str(capability))})")
        elif supported is None:
            unknown.append(f"GPU {index} ({name}, sm_{_sm(str(capability))})")
    found = "; ".join(seen) or "unknown"
    if bad:
        older = (
            " (CUDA 13 builds dropped Maxwell, Pascal and Volta: use a cu126 build)"
            if cuda.startswith("13")
            else ""
        )
        return GPU_ARCH.result(
            "fail",
            expected,
            found,
            f"torch {torch_version(facts)} has no kernels for " + ", ".join(bad) + older,
        )
    if unknown:
        return GPU_ARCH.result(
            "warn",
            expected,
            found,
            "support not known for " + ", ".join(unknown),
            "run with smoke: true so the check reads torch.cuda.get_arch_list().",
        )
    return GPU_ARCH.result(
        "ok", expected, found, f"every GPU is supported by the CUDA {cuda} build"
    )


def check_cudnn_gpu_floor(facts: Mapping[str, Any]) -> CheckResult:
    cudnn = cudnn_version(facts)
    devices = gpu_devices(facts)
    if cudnn is None or not devices:
        return CUDNN_GPU.result("skip", "", show(cudnn), "needs both cuDNN and a GPU")
    floor_version, min_sm = compat.load_table().cudnn_gpu_floor
    have = version_or_none(cudnn)
    if have is None or have < Version(floor_version):
        return CUDNN_GPU.result("ok", "", cudnn, f"cuDNN {cudnn} still supports older GPUs")
    old = [
        f"GPU {d.get('index')} ({d.get('name')}, sm_{_sm(str(d.get('compute_capability')))})"
        for d in devices
        if d.get("compute_capability") and (_sm(str(d.get("compute_capability"))) or 999) < min_sm
    ]
    if old:
        return CUDNN_GPU.result(
            "fail",
            f"GPUs sm_{min_sm} or newer for cuDNN >= {floor_version}",
            cudnn,
            f"cuDNN {cudnn} refuses " + ", ".join(old),
            f"install a torch build that ships cuDNN older than {floor_version} for this GPU.",
        )
    return CUDNN_GPU.result("ok", f"GPUs sm_{min_sm}+", cudnn, f"every GPU is sm_{min_sm} or newer")
