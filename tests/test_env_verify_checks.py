"""env-verify's checks over probe documents: every check fires on a broken stack and stays quiet
on a sound one. Facts come from the real probe run over synthetic site-packages and stub
drivers; smoke results, which need a real torch, are edited into copies of those documents."""

from __future__ import annotations

import copy
import dataclasses
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from mlops_actions.env_verify import checks, report
from mlops_actions.env_verify.checks import CheckResult, ExpectationError, Expectations
from mlops_actions.pins.model import Pin
from tests.support.envs import (
    A100,
    BUILDS,
    H100_X2,
    V100,
    Dist,
    SmiGpu,
    TorchBuild,
    run_probe,
    smi_csv,
    write_nvidia_smi,
    write_site_packages,
)

Facts = dict[str, Any]
PY_MINOR = f"{sys.version_info[0]}.{sys.version_info[1]}"


@pytest.fixture(scope="module")
def probe(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Facts]:
    """probe(build, gpus=..., smi=...) → the probe document, cached per combination."""
    cache: dict[tuple[Any, ...], Facts] = {}

    def run(
        build: str | TorchBuild | None = None,
        gpus: Sequence[SmiGpu] = (),
        *,
        smi_stdout: str | None = None,
        smi_exit: int = 0,
        smi_hang: bool = False,
        extra: Sequence[Dist] = (),
    ) -> Facts:
        key = (repr(build), tuple(gpus), smi_stdout, smi_exit, smi_hang, tuple(extra))
        if key not in cache:
            root = tmp_path_factory.mktemp("env")
            torch_build = BUILDS[build] if isinstance(build, str) else build
            site = write_site_packages(root / "site", torch_build, extra)
            bins: list[Path] = []
            if gpus or smi_stdout is not None or smi_hang or smi_exit:
                text = smi_csv(gpus) if smi_stdout is None else smi_stdout
                write_nvidia_smi(
                    root / "bin",
                    stdout=text,
                    exit_code=smi_exit,
                    hang=smi_hang,
                    stderr="NVIDIA-SMI has failed" if smi_exit else "",
                )
                bins.append(root / "bin")
            cache[key] = run_probe(
                [site], bin_dirs=bins, args=["--command-timeout", "1"] if smi_hang else []
            )
        return copy.deepcopy(cache[key])

    return run


def by_id(results: Sequence[CheckResult], check_id: str) -> CheckResult:
    found = [r for r in results if r.id == check_id]
    assert len(found) == 1, f"{check_id}: {found}"
    return found[0]


def expect(**values: Any) -> Expectations:
    mapping = {k.replace("_", "-"): v for k, v in values.items()}
    return checks.expectations_from_mapping(mapping, lambda _k: "input")


def with_smoke(facts: Facts, **probes: dict[str, Any]) -> Facts:
    facts["smoke"] = {"timeout": 60.0, "compile": False, "probes": probes}
    return facts


def ok(value: Any) -> dict[str, Any]:
    return {"status": "ok", "seconds": 0.1, "value": value, "detail": None}


# -- version matching -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expected", "found", "variant", "result"),
    [
        ("2.4.1", "2.4.1+cu121", None, True),
        ("2.4.1", "2.4.0", None, False),
        ("2.4", "2.4.1", None, True),
        ("2.4", "2.5.0", None, False),
        ("2.4.0", "2.4", None, True),
        ("2.5.0", "2.5.0rc1", None, False),
        ("2.5.0rc1", "2.5.0rc1", None, True),
        ("9", "9.1.0", None, True),
        ("9.1.0", "9.1.0.70", None, True),
        ("2.4.1+cu121", "2.4.1+cu121", None, True),
        ("2.4.1+cu121", "2.4.1+cu118", None, False),
        ("2.4.1+cu121", "2.4.1", "cu121", True),
        ("2.4.1+cu121", "2.4.1", "cpu", False),
        (">=2.4,<2.6", "2.5.1+cu124", None, True),
        (">=2.4,<2.6", "2.6.0", None, False),
        ("~=2.4.0", "2.4.1", None, True),
        ("==2.4.*", "2.4.1+cpu", None, True),
        ("2.4.*", "2.5.0", None, False),
        ("==2.4.1+cu121", "2.4.1+cpu", None, False),
        ("==2.4.1+cu121", "2.4.1+cu121", None, True),
    ],
)
def test_version_matches(expected: str, found: str, variant: str | None, result: bool) -> None:
    assert checks.version_matches(expected, found, variant).ok is result


def test_unknown_variant_passes_with_a_note() -> None:
    match = checks.version_matches("0.19.1+cu121", "0.19.1")
    assert match.ok
    assert "not checked" in match.detail


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("torch", "two point four"),
        ("torch", "2.4.1 || 2.5"),
        ("cuda", "twelve"),
        ("min-driver", ">=535"),
        ("require-gpu", "maybe"),
        ("gpu-count", "several"),
        ("torch", " "),
    ],
)
def test_bad_expectation_values_are_rejected(key: str, value: str) -> None:
    with pytest.raises(ExpectationError) as info:
        checks.normalise_value(key, value)
    assert info.value.fix


def test_values_are_normalised() -> None:
    assert checks.normalise_value("cuda", "cu121") == "12.1"
    assert checks.normalise_value("cuda", "CPU") == "cpu"
    assert checks.normalise_value("require-gpu", "yes") == "true"
    assert checks.normalise_value("gpu-count", "02") == "2"
    assert checks.normalise_value("torch", ">=2.4,<2.6") == ">=2.4,<2.6"


def test_expect_items() -> None:
    assert checks.parse_expect_items(
        ["torch=2.4.1", "torchvision==0.19.1", "cuda=>=12.1", "<13", "python-version=3.11"]
    ) == {
        "torch": "2.4.1",
        "torchvision": "==0.19.1",
        "cuda": ">=12.1,<13",
        "python-version": "3.11",
    }
    assert checks.parse_expect_items(["gpu-count>=2", "require-gpu=true"]) == {
        "gpu-count": ">=2",
        "require-gpu": "true",
    }
    with pytest.raises(ExpectationError, match="known name"):
        checks.parse_expect_items(["tensorflow=2.15"])
    with pytest.raises(ExpectationError, match="twice"):
        checks.parse_expect_items(["torch=2.4.1", "torch=2.5.0"])


def test_layers_override_key_by_key() -> None:
    repo = checks.expectations_from_mapping({"torch": "2.3.0", "cuda": "11.8"}, lambda _k: "repo")
    config = checks.expectations_from_mapping(
        {"torch": "2.4.0", "python": "3.11", "require-gpu": True}, lambda _k: "config"
    )
    inputs = checks.expectations_from_mapping({"torch": "2.4.1"}, lambda _k: "input")
    merged = checks.merge(repo, config, inputs)
    assert merged.given() == {
        "torch": "2.4.1",
        "cuda": "11.8",
        "python": "3.11",
        "require_gpu": True,
    }
    assert merged.origin("torch") == "input"
    assert merged.origin("cuda") == "repo"
    assert merged.origin("python") == "config"


def pin(
    component: str, value: str, how: str = "exact", variant: str | None = None, **kw: Any
) -> Pin:
    return Pin(
        file=kw.get("file", "requirements.txt"),
        line=kw.get("line", 1),
        col=1,
        component=component,  # type: ignore[arg-type]
        value=value,
        how=how,  # type: ignore[arg-type]
        source="requirements",
        variant=variant,
    )


def test_repo_pins_give_expectations_when_unambiguous() -> None:
    found = checks.expectations_from_pins(
        [
            pin("torch", "2.4.1+cu121", variant="cu121"),
            pin("torch", "2.4.1", file="Dockerfile", line=4),
            pin("torchvision", "0.19.1"),
            pin("python", "3.11.4", file=".python-version"),
            pin("python", "3.11", file="pyproject.toml"),
        ]
    )
    assert found.notes == ()
    assert found.expectations.given() == {
        "torch": "2.4.1+cu121",
        "torchvision": "0.19.1",
        "cuda": "12.1",
        "python": "3.11",
    }
    assert "Dockerfile:4" in found.expectations.origin("torch")


def test_repo_pins_that_disagree_are_a_note_not_a_guess() -> None:
    found = checks.expectations_from_pins(
        [
            pin("torch", "2.4.1", variant="cu121"),
            pin("torch", "2.3.0", variant="cu118", file="Dockerfile", line=9),
            pin("python", "3.10"),
            pin("python", "3.11", file="ci.yml"),
            pin("torchaudio", ">=2.0", how="range"),
        ]
    )
    given = found.expectations.given()
    assert "torch" not in given
    assert "cuda" not in given
    assert "python" not in given
    assert "torchaudio" not in given
    text = " ".join(found.notes)
    assert "2.3.0 (Dockerfile:9)" in text
    assert "CUDA variant" in text
    assert "Python minor" in text
    assert "only by ranges" in text


# -- expectations against installed facts ---------------------------------------------------


def test_torch_expectations(probe: Callable[..., Facts]) -> None:
    facts = probe("2.4.1+cu121")
    for want, status in [
        ("2.4.1", "ok"),
        ("2.4.1+cu121", "ok"),
        ("2.4.1+cu118", "fail"),
        ("2.5", "fail"),
        (">=2.4,<2.5", "ok"),
    ]:
        result = by_id(checks.evaluate(facts, expect(torch=want)), "torch-version")
        assert result.status == status, (want, result)
    failed = by_id(checks.evaluate(facts, expect(torch="2.5.0")), "torch-version")
    assert failed.found == "2.4.1+cu121"
    assert failed.expected == "2.5.0 (input)"
    assert failed.fix.startswith(
        "pip install torch==2.5.0 torchvision==0.20.0 torchaudio==2.5.0 "
        "--index-url https://download.pytorch.org/whl/cu121 "
    )


def test_pypi_wheel_variant_comes_from_version_py(probe: Callable[..., Facts]) -> None:
    facts = probe("2.8.0 (PyPI)")
    assert (
        by_id(checks.evaluate(facts, expect(torch="2.8.0+cu128")), "torch-version").status == "ok"
    )
    assert (
        by_id(checks.evaluate(facts, expect(torch="2.8.0+cu126")), "torch-version").status == "fail"
    )


def test_no_torch_fails_unless_torch_is_optional(probe: Callable[..., Facts]) -> None:
    facts = probe(None)
    default = checks.evaluate(facts, Expectations())
    assert [r.id for r in checks.failed(default)] == ["torch-install"]
    missing = by_id(default, "torch-install")
    assert missing.message == "torch is not importable by this interpreter"
    assert "torch-optional: true" in missing.fix
    optional = checks.evaluate(facts, expect(torch_optional="true"))
    assert not checks.failed(optional)
    for check_id in ("torch-install", "driver-floor", "gpu-arch", "python-supported"):
        assert by_id(optional, check_id).status == "skip"
    assert "torch-optional: true allows that" in by_id(optional, "torch-install").message
    loud = checks.evaluate(facts, expect(torch="2.4.1", cuda="12.1"))
    assert by_id(loud, "torch-version").status == "fail"
    assert by_id(loud, "torch-version").found == "(none)"
    assert by_id(loud, "cuda-version").status == "fail"


def test_torch_metadata_without_its_package_fails(probe: Callable[..., Facts]) -> None:
    facts = copy.deepcopy(probe("2.4.1+cu121"))
    facts["torch"]["found"] = False
    result = by_id(checks.evaluate(facts, Expectations()), "torch-install")
    assert result.status == "fail"
    assert "in the metadata but its package is missing" in result.message


def test_cuda_expectation(probe: Callable[..., Facts]) -> None:
    cu121 = probe("2.4.1+cu121")
    assert by_id(checks.evaluate(cu121, expect(cuda="12.1")), "cuda-version").status == "ok"
    assert by_id(checks.evaluate(cu121, expect(cuda="cu121")), "cuda-version").status == "ok"
    assert by_id(checks.evaluate(cu121, expect(cuda=">=12.4")), "cuda-version").status == "fail"
    cpu_wanted = by_id(checks.evaluate(cu121, expect(cuda="cpu")), "cuda-version")
    assert cpu_wanted.status == "fail"
    assert "cu121 build, expected a CPU build" in cpu_wanted.message
    rocm = probe("2.4.1+rocm6.1")
    on_rocm = by_id(checks.evaluate(rocm, expect(cuda="12.1")), "cuda-version")
    assert on_rocm.status == "fail"
    assert "rocm6.1" in on_rocm.message


def test_old_unannotated_version_py(probe: Callable[..., Facts]) -> None:
    facts = probe("1.8.1+cu102")
    results = checks.evaluate(facts, expect(torch="1.8.1", cuda="10.2"))
    assert by_id(results, "torch-version").status == "ok"
    assert by_id(results, "cuda-version").status == "ok"


def test_cudnn_and_nccl_from_wheels(probe: Callable[..., Facts]) -> None:
    facts = probe("2.4.1+cu121")
    for want, status in [("9", "ok"), ("9.1.0.70", "ok"), ("9.1.0.71", "fail"), ("8", "fail")]:
        assert by_id(checks.evaluate(facts, expect(cudnn=want)), "cudnn-version").status == status
    assert by_id(checks.evaluate(facts, expect(nccl="2.20")), "nccl-version").status == "ok"
    assert by_id(checks.evaluate(facts, expect(nccl="2.21")), "nccl-version").status == "fail"
    missing = by_id(checks.evaluate(probe("2.4.1+rocm6.1"), expect(cudnn="9")), "cudnn-version")
    assert missing.status == "fail"
    assert "smoke: true" in missing.message


def test_python_expectation(probe: Callable[..., Facts]) -> None:
    facts = probe(None)
    assert by_id(checks.evaluate(facts, expect(python=PY_MINOR)), "python-version").status == "ok"
    assert by_id(checks.evaluate(facts, expect(python="3.7")), "python-version").status == "fail"


def test_min_driver_and_gpu_count(probe: Callable[..., Facts]) -> None:
    facts = probe("2.4.1+cu121", A100)
    assert by_id(checks.evaluate(facts, expect(min_driver="535")), "min-driver").status == "ok"
    low = by_id(checks.evaluate(facts, expect(min_driver="550.54.14")), "min-driver")
    assert (low.status, low.found) == ("fail", "535.104.05")
    driverless = probe("2.4.1+cu121")
    none = by_id(checks.evaluate(driverless, expect(min_driver="535")), "min-driver")
    assert none.status == "fail"
    # PATH has no nvidia-smi here; device nodes cannot be hidden, so the reason names them.
    nodes = driverless["gpu"]["device_nodes"]
    assert ("the driver lists no GPU" if nodes else "no NVIDIA driver") in none.message
    two = probe("2.4.1+cu121", H100_X2)
    assert by_id(checks.evaluate(two, expect(gpu_count="2")), "gpu-count").status == "ok"
    assert by_id(checks.evaluate(two, expect(gpu_count=">=3")), "gpu-count").status == "fail"


def test_require_gpu(probe: Callable[..., Facts]) -> None:
    no_gpu = by_id(checks.evaluate(probe("2.4.1+cu121"), expect(require_gpu=True)), "require-gpu")
    assert no_gpu.status == "fail"
    assert "none is visible" in no_gpu.message
    cpu_build = dataclasses.replace(BUILDS["2.4.1+cu121"], version="2.4.1+cpu", cuda=None)
    cpu_torch = by_id(
        checks.evaluate(probe(cpu_build, A100), expect(require_gpu=True)), "require-gpu"
    )
    assert cpu_torch.status == "fail"
    assert "CPU build" in cpu_torch.message
    facts = probe("2.4.1+cu121", A100)
    assert by_id(checks.evaluate(facts, expect(require_gpu=True)), "require-gpu").status == "ok"
    unusable = with_smoke(
        facts, import_torch=ok({"version": "2.4.1+cu121"}), cuda_available=ok(False)
    )
    result = by_id(checks.evaluate(unusable, expect(require_gpu=True)), "require-gpu")
    assert result.status == "fail"
    assert "cannot use them" in result.message
    # Not asked for: no check at all.
    assert not [r for r in checks.evaluate(facts, Expectations()) if r.id == "require-gpu"]


# -- checks that always run --------------------------------------------------------------------


def test_driver_floor(probe: Callable[..., Facts]) -> None:
    below_family = by_id(
        checks.evaluate(probe("2.9.0+cu130", A100), Expectations()), "driver-floor"
    )
    assert below_family.status == "fail"
    assert "below 580" in below_family.message
    assert below_family.found == "535.104.05"
    between = [dataclasses.replace(A100[0], driver="525.85.12")]
    minor_compat = by_id(
        checks.evaluate(probe("2.4.1+cu121", between), Expectations()), "driver-floor"
    )
    assert minor_compat.status == "warn"
    assert "minor-version compatibility" in minor_compat.message
    good = by_id(checks.evaluate(probe("2.4.1+cu121", H100_X2), Expectations()), "driver-floor")
    assert good.status == "ok"
    assert by_id(checks.evaluate(probe("2.4.1+cu121"), Expectations()), "driver-floor").status == (
        "skip"
    )
    rocm = by_id(checks.evaluate(probe("2.4.1+rocm6.1", A100), Expectations()), "driver-floor")
    assert rocm.status == "skip"


def test_gpu_arch_from_the_table(probe: Callable[..., Facts]) -> None:
    volta_cu130 = by_id(checks.evaluate(probe("2.9.0+cu130", V100), Expectations()), "gpu-arch")
    assert volta_cu130.status == "fail"
    assert "sm_70" in volta_cu130.message
    assert "CUDA 13 builds dropped" in volta_cu130.message
    assert (
        by_id(checks.evaluate(probe("2.4.1+cu121", V100), Expectations()), "gpu-arch").status
        == "ok"
    )
    assert (
        by_id(checks.evaluate(probe("2.9.0+cu130", H100_X2), Expectations()), "gpu-arch").status
        == "ok"
    )
    assert by_id(checks.evaluate(probe("2.9.0+cu130"), Expectations()), "gpu-arch").status == "skip"


def test_gpu_arch_from_the_smoke_arch_list(probe: Callable[..., Facts]) -> None:
    base = probe("2.4.1+cu121", V100)
    narrow = with_smoke(base, arch_list=ok(["sm_80", "sm_90"]))
    result = by_id(checks.evaluate(narrow, Expectations()), "gpu-arch")
    assert result.status == "fail"
    assert "get_arch_list" in result.expected
    assert checks.arch_list_supports(["sm_80"], "8.6") is True
    assert checks.arch_list_supports(["sm_80", "sm_90"], "7.5") is False
    assert checks.arch_list_supports(["sm_90", "compute_90"], "12.0") is True
    assert checks.arch_list_supports(["sm_90"], "12.0") is False


def test_cudnn_refuses_old_gpus(probe: Callable[..., Facts]) -> None:
    result = by_id(checks.evaluate(probe("2.9.0+cu130", V100), Expectations()), "cudnn-gpu")
    assert result.status == "fail"
    assert "9.13.0" in result.message
    assert by_id(
        checks.evaluate(probe("2.4.1+cu121", V100), Expectations()), "cudnn-gpu"
    ).status == ("ok")


def test_driver_faults(probe: Callable[..., Facts]) -> None:
    err_line = "0, NVIDIA A100-SXM4-80GB, GPU-1a2b, ERR!, 81920, [N/A]\n"
    bad = by_id(
        checks.evaluate(probe("2.4.1+cu121", smi_stdout=err_line), Expectations()), "driver-health"
    )
    assert bad.status == "fail"
    assert "ERR!" in bad.message
    hung = by_id(
        checks.evaluate(probe("2.4.1+cu121", smi_hang=True), Expectations()), "driver-health"
    )
    assert hung.status == "fail"
    assert "did not answer in time" in hung.message
    failed = by_id(
        checks.evaluate(probe("2.4.1+cu121", smi_exit=9, smi_stdout=""), Expectations()),
        "driver-health",
    )
    assert failed.status == "fail"
    assert "exit status 9" in failed.found
    assert (
        by_id(checks.evaluate(probe("2.4.1+cu121", A100), Expectations()), "driver-health").status
        == "ok"
    )
    assert (
        by_id(checks.evaluate(probe("2.4.1+cu121"), Expectations()), "driver-health").status
        == "skip"
    )
    required = by_id(
        checks.evaluate(probe("2.4.1+cu121", smi_hang=True), expect(require_gpu=True)),
        "require-gpu",
    )
    assert "driver is faulty" in required.message


def test_companions_match_torch(probe: Callable[..., Facts]) -> None:
    good = checks.evaluate(probe("2.4.1+cu121"), Expectations())
    assert by_id(good, "torchvision-matches-torch").status == "ok"
    assert by_id(good, "torchaudio-matches-torch").status == "ok"
    build = BUILDS["2.4.1+cu121"]
    mixed = dataclasses.replace(
        build,
        companions=tuple(
            Dist("torchvision", "0.18.0+cu121")
            if d.name == "torchvision"
            else Dist("torchaudio", "2.3.0+cu121")
            if d.name == "torchaudio"
            else d
            for d in build.companions
        ),
    )
    results = checks.evaluate(probe(mixed), Expectations())
    vision = by_id(results, "torchvision-matches-torch")
    assert vision.status == "fail"
    assert vision.expected.startswith("0.19.1")
    one_command = (
        "pip install torch==2.4.1 torchvision==0.19.1 torchaudio==2.4.1 "
        "--index-url https://download.pytorch.org/whl/cu121"
    )
    assert vision.fix.startswith(one_command + " (one command for the whole torch stack")
    audio = by_id(results, "torchaudio-matches-torch")
    assert audio.status == "fail"
    assert audio.fix == vision.fix
    assert (
        by_id(checks.evaluate(probe(None), Expectations()), "torchvision-matches-torch").status
        == "skip"
    )


def test_nvidia_wheels_match_torch_requirements(probe: Callable[..., Facts]) -> None:
    assert (
        by_id(checks.evaluate(probe("2.4.1+cu121"), Expectations()), "nvidia-wheels").status == "ok"
    )
    build = BUILDS["2.4.1+cu121"]
    upgraded = dataclasses.replace(
        build,
        companions=tuple(
            Dist("nvidia-cudnn-cu12", "9.5.1.17") if d.name == "nvidia-cudnn-cu12" else d
            for d in build.companions
        ),
    )
    result = by_id(checks.evaluate(probe(upgraded), Expectations()), "nvidia-wheels")
    assert result.status == "fail"
    assert "nvidia-cudnn-cu12 9.5.1.17 (torch requires ==9.1.0.70)" in result.found


def test_cudnn_runtime(probe: Callable[..., Facts]) -> None:
    facts = probe("2.4.1+cu121", A100)
    assert by_id(checks.evaluate(facts, Expectations()), "cudnn-runtime").status == "skip"

    def runtime(value: str, compiled: str = "9.1.0") -> CheckResult:
        doc = with_smoke(
            copy.deepcopy(facts),
            cudnn=ok({"available": True, "runtime": value, "compiled": compiled, "enabled": True}),
        )
        return by_id(checks.evaluate(doc, Expectations()), "cudnn-runtime")

    assert runtime("9.1.0").status == "ok"
    shadowed = runtime("8.9.7", compiled="8.9.2")
    assert shadowed.status == "fail"
    assert "another libcudnn shadows it" in shadowed.message
    older = runtime("9.0.0")
    assert older.status == "fail"
    assert "built with cuDNN 9.1.0 but loads 9.0.0" in older.message


def test_cuda_build_exists_and_python_supported(probe: Callable[..., Facts]) -> None:
    facts = probe("2.4.1+cu121")
    assert by_id(checks.evaluate(facts, Expectations()), "cuda-build").status == "ok"
    odd = dataclasses.replace(BUILDS["2.4.1+cu121"], version="2.4.1+cu130", cuda="13.0")
    assert by_id(checks.evaluate(probe(odd), Expectations()), "cuda-build").status == "warn"
    assert by_id(checks.evaluate(facts, Expectations()), "python-supported").status == (
        "ok" if (3, 8) <= sys.version_info[:2] <= (3, 12) else "fail"
    )
    facts["python"]["version"] = "3.13.1"
    unsupported = by_id(checks.evaluate(facts, Expectations()), "python-supported")
    assert unsupported.status == "fail"
    assert unsupported.expected == "Python 3.8..3.12"


def test_smoke_failures_and_timeouts(probe: Callable[..., Facts]) -> None:
    facts = with_smoke(
        probe("2.4.1+cu121"),
        import_torch=ok({"version": "2.4.1+cu121"}),
        cuda_available={
            "status": "timeout",
            "seconds": 20.0,
            "value": None,
            "detail": "no result within 20 s",
        },
        matmul_cpu={
            "status": "fail",
            "seconds": 0.2,
            "value": None,
            "detail": "RuntimeError: boom",
        },
        conv2d_cpu=ok({"cpu": {}}),
        devices={"status": "skipped", "seconds": 0.0, "value": None, "detail": "no GPU"},
    )
    results = checks.evaluate(facts, Expectations())
    assert by_id(results, "smoke-import-torch").status == "ok"
    hung = by_id(results, "smoke-cuda-available")
    assert hung.status == "fail"
    assert "hung" in hung.message
    assert by_id(results, "smoke-matmul-cpu").status == "fail"
    assert "boom" in by_id(results, "smoke-matmul-cpu").message
    assert by_id(results, "smoke-devices").status == "skip"
    assert by_id(results, "smoke-conv2d-cpu").status == "ok"
    other = with_smoke(probe("2.4.1+cu121"), import_torch=ok({"version": "2.3.0+cu121"}))
    mismatch = by_id(checks.evaluate(other, Expectations()), "smoke-import-torch")
    assert mismatch.status == "fail"
    assert "loads 2.3.0+cu121" in mismatch.message


def test_shadowed_torch_and_probe_errors(probe: Callable[..., Facts]) -> None:
    facts = probe("2.4.1+cu121")
    assert by_id(checks.evaluate(facts, Expectations()), "torch-install").status == "ok"
    facts["distributions"]["torch"]["shadowed"] = [{"version": "2.3.0", "path": "/usr/lib/x"}]
    facts["errors"] = [{"section": "os", "error": "OSError: denied"}]
    results = checks.evaluate(facts, Expectations())
    assert by_id(results, "torch-install").status == "warn"
    assert by_id(results, "probe-section").status == "warn"
    assert not checks.failed(results)


def test_a_sound_gpu_stack_passes_everything(probe: Callable[..., Facts]) -> None:
    facts = probe("2.4.1+cu121", H100_X2)
    results = checks.evaluate(
        facts,
        expect(
            torch="2.4.1+cu121",
            torchvision="0.19.1",
            torchaudio="2.4.1",
            cuda="12.1",
            cudnn="9.1",
            nccl="2.20.5",
            python=PY_MINOR,
            min_driver="535",
            gpu_count="2",
            require_gpu=True,
        ),
    )
    assert [r for r in results if r.status in ("fail", "warn") and r.id != "python-supported"] == []


# -- report ------------------------------------------------------------------------------------


def test_outputs_labels_and_summary(probe: Callable[..., Facts]) -> None:
    facts = probe("2.4.1+cu121", H100_X2)
    results = checks.evaluate(facts, expect(torch="2.5.0"))
    labels = report.image_labels(
        facts,
        verified_at="2026-01-02T03:04:05+00:00",
        ok=False,
        github={"GITHUB_REPOSITORY": "o/r", "GITHUB_SHA": "abc123"},
    )
    out = report.outputs(facts, results, report_path="/tmp/r.json", labels=labels)
    assert out["ok"] is False
    assert out["torch-version"] == "2.4.1+cu121"
    assert out["cuda-version"] == "12.1"
    assert out["cudnn-version"] == "9.1.0"
    assert out["nccl-version"] == "2.20.5"
    assert out["driver-version"] == "550.54.15"
    assert out["gpu-count"] == 2
    assert out["gpu-names"] == '["NVIDIA H100 80GB HBM3", "NVIDIA H100 80GB HBM3"]'
    assert out["compute-capabilities"] == '["9.0", "9.0"]'
    assert out["failed-checks"] == '["torch-version"]'
    lines = str(out["image-labels"]).splitlines()
    assert "org.opencontainers.image.source=https://github.com/o/r" in lines
    assert "org.opencontainers.image.revision=abc123" in lines
    assert "io.mlops-actions.torch.version=2.4.1+cu121" in lines
    assert "io.mlops-actions.cuda.version=12.1" in lines
    assert "io.mlops-actions.cudnn.version=9.1.0" in lines
    assert f"io.mlops-actions.python.version={facts['python']['version']}" in lines
    assert "io.mlops-actions.verified-at=2026-01-02T03:04:05+00:00" in lines
    assert "io.mlops-actions.verified=false" in lines
    text = report.summary(facts, results, report_path="/tmp/r.json")
    assert text.startswith("### env-verify: :x: 1 check(s) failed")
    assert "| `torch-version` | :x: fail | 2.5.0 (input) | 2.4.1+cu121 |" in text
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    assert rows[0].startswith("| `torch-version`")  # failures first


def test_summary_escapes_table_cells(probe: Callable[..., Facts]) -> None:
    facts = probe(None)
    weird = CheckResult("x", "fail", "a|b", "c\nd", "m", "f")
    text = report.summary(facts, [weird])
    assert "| `x` | :x: fail | a\\|b | c d | m. **Fix:** f. |" in text


# -- one install command for the whole torch stack --------------------------------------------

CPU_241 = TorchBuild(
    version="2.4.1+cpu",
    dist_version="2.4.1+cpu",
    companions=(
        Dist("torchvision", "0.19.1+cpu", ("torch==2.4.1",)),
        Dist("torchaudio", "2.4.1+cpu", ("torch==2.4.1",)),
    ),
)


def stack_fixes(results: Sequence[CheckResult]) -> set[str]:
    return {r.fix for r in results if r.status == "fail"}


def test_cpu_build_with_a_cuda_pin_gets_one_command(probe: Callable[..., Facts]) -> None:
    """torch 2.4.1 and CUDA 12.1 expected on a CPU build: one command, the cu121 index, the
    companions paired from the table — never a cpu-index fix beside a cu121 one."""
    results = checks.evaluate(probe(CPU_241), expect(torch="2.4.1", cuda="12.1"))
    assert [r.id for r in checks.failed(results)] == ["cuda-version"]
    [fix] = stack_fixes(results)
    assert fix.startswith(
        "pip install torch==2.4.1 torchvision==0.19.1 torchaudio==2.4.1 "
        "--index-url https://download.pytorch.org/whl/cu121 "
    )
    assert "whl/cpu" not in fix


def test_every_failing_stack_check_gets_the_same_command(probe: Callable[..., Facts]) -> None:
    results = checks.evaluate(
        probe("2.4.1+cu121"), expect(torch="2.5.1", torchvision="0.20.1", cuda="12.4")
    )
    assert [r.id for r in checks.failed(results)] == [
        "torch-version",
        "torchvision-version",
        "cuda-version",
    ]
    [fix] = stack_fixes(results)
    # torchaudio is installed, so the command re-pairs it from the table too.
    assert fix.startswith(
        "pip install torch==2.5.1 torchvision==0.20.1 torchaudio==2.5.1 "
        "--index-url https://download.pytorch.org/whl/cu124 "
    )


def test_stack_command_keeps_specifiers_and_quotes_them(probe: Callable[..., Facts]) -> None:
    facts = probe("2.4.1+cu121")
    command = checks.torch_stack_command(facts, expect(torch=">=2.5,<2.7", cuda="cpu"))
    assert command == (
        'pip install "torch>=2.5,<2.7" torchvision torchaudio '
        "--index-url https://download.pytorch.org/whl/cpu"
    )
    # Inside the range already: torch stays, the companions stay paired.
    kept = checks.torch_stack_command(facts, expect(torch=">=2.4,<2.6"))
    assert kept == (
        "pip install torch==2.4.1 torchvision==0.19.1 torchaudio==2.4.1 "
        "--index-url https://download.pytorch.org/whl/cu121"
    )


def test_stack_command_says_when_the_table_has_no_such_build(
    probe: Callable[..., Facts],
) -> None:
    results = checks.evaluate(probe("2.4.1+cu121"), expect(cuda="13.0"))
    [fix] = stack_fixes(results)
    assert "--index-url https://download.pytorch.org/whl/cu130" in fix
    assert "torch 2.4.1 has no official CUDA 13.0 wheels (its builds: 11.8, 12.1, 12.4)" in fix


def test_contradictory_companion_pin_is_named(probe: Callable[..., Facts]) -> None:
    results = checks.evaluate(probe("2.4.1+cu121"), expect(torch="2.4.1", torchvision="0.20.1"))
    [fix] = stack_fixes(results)
    assert "torchvision==0.20.1" in fix
    assert "the expectations disagree: torchvision 0.20.1 does not pair with torch 2.4.1" in fix


def test_no_torch_fix_installs_the_expected_stack(probe: Callable[..., Facts]) -> None:
    results = checks.evaluate(probe(None), expect(torch="2.4.1", cuda="cpu"))
    assert {r.id for r in checks.failed(results)} == {
        "torch-version",
        "cuda-version",
        "torch-install",
    }
    [fix] = stack_fixes(results)
    assert fix.startswith(
        "pip install torch==2.4.1 --index-url https://download.pytorch.org/whl/cpu "
    )
    assert fix.endswith("set torch-optional: true.")


def test_require_gpu_on_a_cpu_build_gets_the_cuda_install(probe: Callable[..., Facts]) -> None:
    results = checks.evaluate(probe(CPU_241, A100), expect(require_gpu="true"))
    [fix] = stack_fixes(results)
    # PyPI's default CUDA for 2.4 is 12.1 (compatibility table).
    assert fix.startswith(
        "pip install torch==2.4.1 torchvision==0.19.1 torchaudio==2.4.1 "
        "--index-url https://download.pytorch.org/whl/cu121 "
    )


def test_every_declared_check_names_what_it_reads_and_its_fix() -> None:
    ids = [c.id for c in checks.CATALOGUE]
    assert len(ids) == len(set(ids))
    for check in checks.CATALOGUE:
        assert check.reads, check.id
        assert check.fix.endswith("."), check.id
    # Each declared check's id appears in the documentation's table.
    docs = (Path(__file__).parents[1] / "docs" / "env-verify.md").read_text(encoding="utf-8")
    missing = [i for i in ids if f"`{i}`" not in docs]
    assert missing == []


def test_min_driver_at_its_exact_boundary(probe: Callable[..., Facts]) -> None:
    facts = probe("2.4.1+cu121", A100)  # driver 535.104.05
    for want, status in [
        ("535.104.05", "ok"),  # equal meets the minimum
        ("535.104.06", "fail"),
        ("535.104.04", "ok"),
        ("535.105", "fail"),
    ]:
        assert by_id(checks.evaluate(facts, expect(min_driver=want)), "min-driver").status == status
