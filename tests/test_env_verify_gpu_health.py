"""GPU health in the fast path: the probe reads ECC, memory repairs, persistence, throttle reasons
and MIG through the real nvidia-ml-py bindings (against the C-ABI driver stand-in) and through
real-format `nvidia-smi` stubs, both sources agree, and the checks turn them into verdicts."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from mlops_actions.env_verify import checks
from mlops_actions.env_verify.checks import CheckResult, Expectations
from tests.support.envs import (
    H100_X2,
    GpuHealth,
    build_fake_nvml,
    copy_pynvml,
    nvml_env,
    nvml_health_env,
    run_probe,
    smi_csv,
    smi_health_csv,
    smi_listing,
    write_nvidia_smi,
)

MIG_A = "MIG-6f1c4f0a-2b7e-5c1d-9e3a-0b4c5d6e7f80"
MIG_B = "MIG-0d9e8f7a-6b5c-5d4e-8f3a-2b1c0d9e8f7a"
HEALTHY = GpuHealth()
# GPU 0 sliced into two MIG devices; GPU 1 in trouble on every count.
FLEET = {
    0: GpuHealth(mig=True, mig_pending=True, mig_devices=(MIG_A, MIG_B)),
    1: GpuHealth(
        ecc_uncorrected=3,
        retired_pending=True,
        remap_pending=True,
        persistence=False,
        throttle=0x1 | 0x40,  # idle and hardware thermal slowdown
        mig_pending=True,  # MIG switched on, waiting for a reset
    ),
}


@pytest.fixture(scope="module")
def nvml_library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_fake_nvml(tmp_path_factory.mktemp("nvml"))


def through_nvml(
    tmp_path: Path, library: Path, health: dict[int, GpuHealth], **env: str
) -> dict[str, Any]:
    site = copy_pynvml(tmp_path / "nvml-site")
    # A driver is reachable only with device nodes or nvidia-smi; this one must not be asked.
    log = tmp_path / "nvml-smi.log"
    write_nvidia_smi(tmp_path / "nvml-bin", stdout=smi_csv(H100_X2), log=log)
    extra = {**nvml_env(library, H100_X2), **nvml_health_env(health), **env}
    facts = run_probe([site], bin_dirs=[tmp_path / "nvml-bin"], extra_env=extra)
    assert facts["gpu"]["source"] == "nvml" and not log.exists()
    return facts


def through_smi(tmp_path: Path, health: dict[int, GpuHealth], **env: str) -> dict[str, Any]:
    bin_dir = tmp_path / "smi-bin"
    write_nvidia_smi(
        bin_dir,
        stdout=smi_csv(H100_X2),
        health=smi_health_csv(H100_X2, health),
        listing=smi_listing(H100_X2, health),
    )
    return run_probe([], bin_dirs=[bin_dir], extra_env=env)


def by_id(results: list[CheckResult], check_id: str) -> CheckResult:
    [result] = [r for r in results if r.id == check_id]
    return result


def test_nvml_and_nvidia_smi_read_the_same_health(tmp_path: Path, nvml_library: Path) -> None:
    nvml = through_nvml(tmp_path, nvml_library, FLEET)["gpu"]
    smi = through_smi(tmp_path, FLEET)["gpu"]
    assert (nvml["source"], smi["source"]) == ("nvml", "nvidia-smi")
    assert nvml["faults"] == smi["faults"] == []
    assert [d["health"] for d in nvml["devices"]] == [d["health"] for d in smi["devices"]]
    sliced, troubled = (d["health"] for d in nvml["devices"])
    assert sliced["mig_mode"] is True and sliced["mig_devices"] == [MIG_A, MIG_B]
    assert troubled == {
        "ecc_volatile_uncorrected": 3,
        "retired_pages_pending": True,
        "remapped_rows_pending": True,
        "remapped_rows_failure": False,
        "persistence_mode": False,
        "throttle_mask": 0x41,
        "throttle_reasons": ["gpu_idle", "hw_thermal_slowdown"],
        "mig_mode": False,
        "mig_pending": True,
        "mig_devices": [],
        "unreadable": [],
    }


def test_a_gpu_without_the_features_has_no_health(tmp_path: Path, nvml_library: Path) -> None:
    """A GeForce answers NotSupported (NVML) or [N/A] (nvidia-smi): no fact, and checks skip.

    The NVML stand-in always answers the clock-event reasons (its telemetry block, 0 when
    idle), so through NVML only that one is known."""
    unsupported = GpuHealth(None, None, None, None, None, None, None, None)
    smi = through_smi(tmp_path, {0: unsupported, 1: unsupported})
    assert [d["health"] for d in smi["gpu"]["devices"]] == [None, None]
    nvml = through_nvml(tmp_path, nvml_library, {0: unsupported, 1: unsupported})
    for device in nvml["gpu"]["devices"]:
        known = {k: v for k, v in device["health"].items() if v not in (None, [])}
        assert known == {"throttle_mask": 0}
    for source, throttle in ((smi, "skip"), (nvml, "ok")):
        results = checks.evaluate(source, Expectations(torch_optional=True))
        for check_id in ("gpu-ecc", "gpu-memory-repair", "gpu-persistence", "gpu-mig"):
            assert by_id(results, check_id).status == "skip", check_id
        assert by_id(results, "gpu-throttle").status == throttle


def test_health_verdicts_for_a_troubled_fleet(tmp_path: Path, nvml_library: Path) -> None:
    facts = through_nvml(tmp_path, nvml_library, FLEET)
    results = checks.evaluate(facts, Expectations(torch_optional=True))
    ecc = by_id(results, "gpu-ecc")
    assert ecc.status == "fail"
    assert "GPU 1 (NVIDIA H100 80GB HBM3): 3" in ecc.message
    assert ecc.fix.startswith("take the runner out of rotation")
    repair = by_id(results, "gpu-memory-repair")
    assert repair.status == "fail"
    assert "retired pages pending a reset" in repair.found
    assert "row remapping pending a reset" in repair.found
    assert "nvidia-smi -r" in repair.fix
    persistence = by_id(results, "gpu-persistence")
    assert (persistence.status, persistence.found) == ("warn", "off: GPU 1 (NVIDIA H100 80GB HBM3)")
    assert "nvidia-smi -pm 1" in persistence.fix
    throttle = by_id(results, "gpu-throttle")
    assert throttle.status == "warn"
    assert "hw_thermal_slowdown" in throttle.message and "gpu_idle" not in throttle.message
    mig = by_id(results, "gpu-mig")
    assert mig.status == "warn"
    assert mig.message == "GPU 1 switches MIG on only after a reset"
    assert by_id(results, "gpu-visible").status == "skip"


def test_healthy_fleet_passes(tmp_path: Path) -> None:
    facts = through_smi(tmp_path, {0: HEALTHY, 1: HEALTHY})
    results = checks.evaluate(facts, Expectations(torch_optional=True))
    for check_id in ("gpu-ecc", "gpu-memory-repair", "gpu-persistence", "gpu-throttle", "gpu-mig"):
        assert by_id(results, check_id).status == "ok", by_id(results, check_id)


def test_cuda_visible_devices_selects_a_mig_device(tmp_path: Path, nvml_library: Path) -> None:
    """A MIG UUID is a valid device: the job sees that one slice, and GPU 1's trouble is not
    this job's."""
    facts = through_nvml(tmp_path, nvml_library, FLEET, CUDA_VISIBLE_DEVICES=MIG_B)
    results = checks.evaluate(facts, Expectations(torch_optional=True, gpu_count="1"))
    assert by_id(results, "gpu-count").status == "ok"
    visible = by_id(results, "gpu-visible")
    assert visible.status == "ok"
    assert visible.message == f"selects GPU 0 (NVIDIA H100 80GB HBM3) MIG {MIG_B}"
    assert by_id(results, "gpu-mig").status == "ok"
    assert MIG_B in by_id(results, "gpu-mig").message
    assert by_id(results, "gpu-ecc").status == "ok"  # GPU 1 is not visible


def test_a_mig_gpu_named_whole_fails(tmp_path: Path) -> None:
    facts = through_smi(tmp_path, FLEET, CUDA_VISIBLE_DEVICES="0")
    mig = by_id(checks.evaluate(facts, Expectations(torch_optional=True)), "gpu-mig")
    assert mig.status == "fail"
    assert "GPU 0 is in MIG mode, so CUDA cannot use it whole" in mig.message
    assert MIG_A in mig.message and MIG_B in mig.message
    assert "one MIG device UUID" in mig.fix


def test_two_mig_devices_selected_warns(tmp_path: Path) -> None:
    facts = through_smi(tmp_path, FLEET, CUDA_VISIBLE_DEVICES=f"{MIG_A},{MIG_B}")
    mig = by_id(checks.evaluate(facts, Expectations(torch_optional=True)), "gpu-mig")
    assert mig.status == "warn"
    assert f"a CUDA process uses only the first ({MIG_A})" in mig.message


def test_unknown_visible_device_fails_and_hides_the_rest(tmp_path: Path) -> None:
    uuid_prefix = H100_X2[1].uuid[:12]
    facts = through_smi(
        tmp_path, {0: HEALTHY, 1: HEALTHY}, CUDA_VISIBLE_DEVICES=f"{uuid_prefix},GPU-dead,0"
    )
    results = checks.evaluate(facts, Expectations(torch_optional=True, gpu_count="2"))
    visible = by_id(results, "gpu-visible")
    assert visible.status == "fail"
    assert "entry 'GPU-dead' matches no GPU or MIG device" in visible.message
    assert "(1 device(s) remain visible)" in visible.message
    assert by_id(results, "gpu-count").found == "1"


def test_empty_cuda_visible_devices_hides_every_gpu(tmp_path: Path) -> None:
    facts = through_smi(tmp_path, {0: HEALTHY, 1: HEALTHY}, CUDA_VISIBLE_DEVICES="")
    results = checks.evaluate(facts, Expectations(torch_optional=True, require_gpu=True))
    assert (
        by_id(results, "gpu-visible").message
        == "CUDA_VISIBLE_DEVICES hides all 2 GPU(s) on purpose"
    )
    required = by_id(results, "require-gpu")
    assert required.status == "fail"
    assert "CUDA_VISIBLE_DEVICES='' selects none of the 2 GPU(s)" in required.message


def test_remapping_failure_says_replace(tmp_path: Path) -> None:
    facts = through_smi(tmp_path, {0: HEALTHY, 1: GpuHealth(remap_failure=True)})
    repair = by_id(checks.evaluate(facts, Expectations(torch_optional=True)), "gpu-memory-repair")
    assert repair.status == "fail"
    assert repair.message == "the GPU could not remap a failing memory row"
    assert "must be replaced" in repair.fix


def test_health_of_a_copied_document_is_data_only() -> None:
    """Checks read plain data: a document with odd health values does not crash them."""
    facts: dict[str, Any] = {
        "gpu": {
            "devices": [{"index": 0, "name": "X", "uuid": "GPU-1", "health": {"mig_mode": None}}],
            "env": {"CUDA_VISIBLE_DEVICES": None},
        }
    }
    results = checks.evaluate(copy.deepcopy(facts), Expectations(torch_optional=True))
    assert by_id(results, "gpu-ecc").status == "skip"
    assert by_id(results, "gpu-mig").status == "skip"


def test_minus_one_hides_gpus_on_purpose_and_old_mig_names_resolve(tmp_path: Path) -> None:
    hidden = through_smi(tmp_path, {0: HEALTHY, 1: HEALTHY}, CUDA_VISIBLE_DEVICES="-1")
    visible = by_id(checks.evaluate(hidden, Expectations(torch_optional=True)), "gpu-visible")
    assert (visible.status, visible.message) == (
        "ok",
        "CUDA_VISIBLE_DEVICES hides all 2 GPU(s) on purpose",
    )
    old_form = f"MIG-{H100_X2[0].uuid}/1/0"
    facts = through_smi(tmp_path, FLEET, CUDA_VISIBLE_DEVICES=old_form)
    results = checks.evaluate(facts, Expectations(torch_optional=True, gpu_count="1"))
    assert by_id(results, "gpu-visible").status == "ok"
    assert by_id(results, "gpu-count").status == "ok"
    assert by_id(results, "gpu-mig").status == "ok"
