"""The env-verify probe: facts read without importing torch, stub drivers, and the smoke path."""

from __future__ import annotations

import ast
import ctypes.util
import importlib.metadata
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlops_actions.env_verify import checks, probe
from mlops_actions.env_verify.checks import Expectations
from tests.support.envs import (
    A100,
    BUILDS,
    H100_X2,
    PROBE,
    SMI_FIELDS,
    V100,
    Dist,
    GpuHealth,
    SmiGpu,
    TorchBuild,
    build_fake_nvml,
    copy_pynvml,
    nvml_env,
    probe_env,
    python_interpreters,
    run_probe,
    smi_csv,
    smi_health_csv,
    version_py_source,
    write_nvidia_smi,
    write_rocm_smi,
    write_scripted_torch,
    write_site_packages,
    write_torchvision,
)

# What each synthetic build must be reported as: (variant, cudnn, nccl).
EXPECTED = {
    "2.1.2+cu118": ("cu118", "8.7.0", "2.19.3"),
    "2.4.1+cu121": ("cu121", "9.1.0", "2.20.5"),
    "2.9.0+cu130": ("cu130", "9.13.0", "2.27.7"),
    "2.4.1+rocm6.1": ("rocm6.1", None, None),
    "1.8.1+cu102": ("cu102", None, None),
    "2.8.0 (PyPI)": ("cu128", "9.10.2", "2.27.3"),
}
EXTRA_PYTHONS = {
    v: p for v, p in python_interpreters().items() if v != f"3.{sys.version_info.minor}"
}


def _site(tmp_path: Path, key: str) -> Path:
    return write_site_packages(tmp_path / "site", BUILDS[key])


# ---------------------------------------------------------------- pure helpers


@pytest.mark.parametrize("key", sorted(BUILDS))
def test_version_py_fields_parsed_in_both_forms(key: str) -> None:
    build = BUILDS[key]
    fields = probe.parse_version_py(version_py_source(build))
    assert fields["__version__"] == build.version
    assert fields["cuda"] == build.cuda
    assert fields["hip"] == build.hip
    assert fields["git_version"] == build.git_version
    assert fields["debug"] is False
    assert ("xpu" in fields) == build.with_xpu


def test_version_py_ignores_what_is_not_a_literal_field() -> None:
    source = "import os\n__version__ = os.environ['X']\ncuda = '12.1'\nother = '1'\nhip: str\n"
    assert probe.parse_version_py(source) == {"cuda": "12.1"}


@pytest.mark.parametrize(
    ("label", "cuda", "hip", "xpu", "expected"),
    [
        ("cu121", "12.1", None, None, ("cu121", "local-label")),
        ("cu117.with.pypi.cudnn", "11.7", None, None, ("cu117", "local-label")),
        ("rocm6.1", None, "6.1.40091-a8dbc0c19", None, ("rocm6.1", "local-label")),
        ("cpu", None, None, None, ("cpu", "local-label")),
        ("xpu", None, None, "20240200", ("xpu", "local-label")),
        (None, "12.8", None, None, ("cu128", "version-fields")),
        (None, None, "6.2.41133-dd7f95766", None, ("rocm6.2", "version-fields")),
        (None, None, None, "20250101", ("xpu", "version-fields")),
        (None, None, None, None, ("cpu", "version-fields")),
        ("gitabc123", "12.4", None, None, ("cu124", "version-fields")),
    ],
)
def test_build_variant(
    label: str | None, cuda: str | None, hip: str | None, xpu: str | None, expected: Any
) -> None:
    assert probe.build_variant(label, cuda, hip, xpu) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(8902, "8.9.2"), (8700, "8.7.0"), (90100, "9.1.0"), (91002, "9.10.2"), (2708, "2.7.8")],
)
def test_decode_library_version(raw: int, expected: str) -> None:
    assert probe.decode_library_version(raw) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("nvidia_cudnn_cu12", "nvidia-cudnn-cu12"),
        ("Torch", "torch"),
        ("pytorch-triton-rocm", "pytorch-triton-rocm"),
        ("flash_attn.._x", "flash-attn-x"),
    ],
)
def test_normalize_name(name: str, expected: str) -> None:
    assert probe.normalize_name(name) == expected


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("cu121", "cu121"),
        ("cu117.with.pypi.cudnn", "cu117"),
        ("rocm6.1", "rocm6.1"),
        ("rocm5.4.2", "rocm5.4.2"),
        ("rocm6.1.with", "rocm6.1"),
        ("cpu.cxx11.abi", "cpu"),
        ("xpu", "xpu"),
        ("cuda", None),
        ("cu", None),
        ("cpux", None),
        ("rocm", None),
        ("git1234", None),
    ],
)
def test_label_variant(label: str, expected: str | None) -> None:
    assert probe.label_variant(label) == expected


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(_JSON)
def test_to_json_matches_the_json_module(value: Any) -> None:
    text = probe.to_json(value)
    assert text.isascii()
    assert json.loads(text) == value
    assert text == json.dumps(value, indent=2)


def test_to_json_turns_non_finite_floats_into_null() -> None:
    assert json.loads(probe.to_json([float("nan"), float("inf"), 1.5])) == [None, None, 1.5]


def test_smi_csv_with_comma_in_name_and_bad_fields() -> None:
    text = (
        "0, NVIDIA A100, rev 2, GPU-1, 535.104.05, 81920, 8.0\n"
        "1, NVIDIA A100-SXM4-80GB, GPU-2, 535.104.05, [N/A], ERR!\n"
        "garbage\n"
    )
    devices, faults = probe.parse_smi_csv(text, SMI_FIELDS)
    assert [d["name"] for d in devices] == ["NVIDIA A100, rev 2", "NVIDIA A100-SXM4-80GB"]
    assert devices[1]["memory_total_mib"] is None
    assert devices[1]["compute_capability"] is None
    assert [f["kind"] for f in faults] == ["bad-field", "bad-field", "parse"]
    assert "memory.total is '[N/A]'" in faults[0]["detail"]
    assert "compute_cap is 'ERR!'" in faults[1]["detail"]


def test_probe_source_is_python_3_8_syntax_and_stdlib_only() -> None:
    source = PROBE.read_text(encoding="utf-8")
    tree = ast.parse(source, feature_version=(3, 8))
    # Annotations must never be evaluated on 3.8 (they use list[...] and X | None).
    assert any(isinstance(n, ast.ImportFrom) and n.module == "__future__" for n in tree.body[:3])
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            imported.add(node.module.split(".")[0])
    imported |= {"pynvml", "torch"}  # loaded through importlib only when present
    assert imported - set(sys.stdlib_module_names) <= {"pynvml", "torch"}
    for name in ("removeprefix", "removesuffix", "functools.cache", "strict="):
        assert name not in source


# ---------------------------------------------------------------- synthetic site-packages


@pytest.mark.parametrize("key", sorted(BUILDS))
def test_synthetic_build_facts(tmp_path: Path, key: str) -> None:
    build = BUILDS[key]
    report = run_probe([_site(tmp_path, key)])
    variant, cudnn, nccl = EXPECTED[key]
    torch = report["torch"]
    assert report["errors"] == []
    assert report["schema_version"] == 1
    assert torch["found"] is True
    assert torch["version"] == build.version
    assert torch["cuda"] == build.cuda
    assert torch["hip"] == build.hip
    assert torch["git_version"] == build.git_version
    assert torch["distribution_version"] == build.dist_version
    assert torch["variant"] == variant
    assert torch["local_label"] == build.version.split("+")[1]
    assert ("xpu" in torch["fields_present"]) == build.with_xpu
    assert torch["version_file"] == str(tmp_path / "site" / "torch" / "version.py")
    listed = {name: info["version"] for name, info in report["distributions"].items()}
    expected = {probe.normalize_name(d.name): d.version for d in build.companions}
    assert listed == {"torch": build.dist_version, **expected}
    assert report["distributions"]["torch"]["requires"] == list(build.requires)
    assert (report["cudnn"] or {}).get("version") == cudnn
    assert (report["nccl"] or {}).get("version") == nccl
    if cudnn:
        assert report["cudnn"]["package_version"].startswith(cudnn)


def test_pypi_wheel_without_local_label(tmp_path: Path) -> None:
    report = run_probe([_site(tmp_path, "2.8.0 (PyPI)")])
    assert report["torch"]["distribution_version"] == "2.8.0"
    assert report["torch"]["version"] == "2.8.0+cu128"
    assert report["torch"]["variant_source"] == "local-label"
    assert report["cudnn"] == {
        "version": "9.10.2",
        "package": "nvidia-cudnn-cu12",
        "package_version": "9.10.2.21",
    }


def test_label_missing_everywhere_derives_variant_from_fields(tmp_path: Path) -> None:
    build = TorchBuild(version="2.3.0", dist_version="2.3.0", cuda="12.1")
    report = run_probe([write_site_packages(tmp_path / "site", build)])
    assert report["torch"]["local_label"] is None
    assert (report["torch"]["variant"], report["torch"]["variant_source"]) == (
        "cu121",
        "version-fields",
    )


@pytest.mark.parametrize("version", sorted(EXTRA_PYTHONS))
def test_same_facts_under_other_pythons(tmp_path: Path, version: str) -> None:
    sites = [_site(tmp_path / key.replace(" ", "_"), key) for key in sorted(BUILDS)]
    for site in sites:
        here = run_probe([site])
        there = run_probe([site], python=EXTRA_PYTHONS[version])
        assert there["python"]["version"].startswith(version + ".")
        assert there["errors"] == []
        for section in ("torch", "distributions", "cudnn", "nccl", "os"):
            assert there[section] == here[section], section


@pytest.mark.parametrize("version", sorted(EXTRA_PYTHONS))
def test_smoke_worker_under_other_pythons(tmp_path: Path, version: str) -> None:
    site = write_scripted_torch(tmp_path / "site")
    report = run_probe(
        [site],
        python=EXTRA_PYTHONS[version],
        args=["--smoke", "--timeout", "30"],
        extra_env={"FAKE_TORCH_PLAN": json.dumps({"nccl": "crash"})},
    )
    probes = report["smoke"]["probes"]
    assert report["errors"] == []
    assert probes["import_torch"]["status"] == "ok"
    assert probes["cudnn"]["value"]["runtime"] == "9.1.0"
    assert probes["nccl"]["status"] == "fail"
    assert probes["matmul_cpu"]["status"] == "fail"  # ran in the restarted worker


def test_python_3_8_runs_the_probe() -> None:
    if "3.8" not in EXTRA_PYTHONS:
        pytest.skip("no Python 3.8 interpreter on this machine")
    report = run_probe([], python=EXTRA_PYTHONS["3.8"])
    assert report["python"]["version_info"][:2] == [3, 8]
    assert report["errors"] == []


def test_no_torch_is_a_fact(tmp_path: Path) -> None:
    site = write_site_packages(tmp_path / "site", None, [Dist("numpy", "2.0.0")])
    report = run_probe([site])
    assert report["errors"] == []
    assert report["torch"]["found"] is False
    assert report["torch"]["variant"] is None
    assert report["distributions"] == {}
    assert report["cudnn"] is None


def test_first_copy_on_the_path_wins_and_later_ones_are_shadowed(tmp_path: Path) -> None:
    first = _site(tmp_path / "a", "2.4.1+cu121")
    second = _site(tmp_path / "b", "2.1.2+cu118")
    report = run_probe([first, second])
    assert report["torch"]["version"] == "2.4.1+cu121"
    torch_dist = report["distributions"]["torch"]
    assert torch_dist["version"] == "2.4.1+cu121"
    assert torch_dist["shadowed"] == [
        {"version": "2.1.2+cu118", "path": str(second / "torch-2.1.2+cu118.dist-info")}
    ]


def test_path_option_adds_search_folders(tmp_path: Path) -> None:
    site = _site(tmp_path, "2.9.0+cu130")
    report = run_probe([], args=["--path", str(site)])
    assert report["torch"]["version"] == "2.9.0+cu130"
    assert report["python"]["sys_path"][0] == str(site)
    assert report["python"]["flags"] == ["-S"]


def test_unparsable_version_file_is_reported(tmp_path: Path) -> None:
    site = _site(tmp_path, "2.4.1+cu121")
    (site / "torch" / "version.py").write_text("__version__ = '2.4.1+cu121\n", encoding="utf-8")
    report = run_probe([site])
    assert report["errors"] == []
    assert report["torch"]["found"] is True
    assert report["torch"]["version"] is None
    assert "SyntaxError" in report["torch"]["version_file_error"]
    assert report["torch"]["variant"] == "cu121"  # still known from the dist-info label


def test_python_and_os_facts(tmp_path: Path) -> None:
    report = run_probe([])
    python = report["python"]
    assert python["executable"] == sys.executable
    assert python["implementation"] == sys.implementation.name
    assert python["version_info"][:3] == list(sys.version_info[:3])
    assert python["venv"] == (sys.prefix != sys.base_prefix)
    osf = report["os"]
    assert osf["machine"] == os.uname().machine
    assert osf["release"] == os.uname().release
    if Path("/etc/os-release").exists():
        assert osf["distro"]["id"]
    assert osf["container"]["detected"] == bool(osf["container"]["markers"])
    if Path("/.dockerenv").exists():
        assert "/.dockerenv" in osf["container"]["markers"]


# ---------------------------------------------------------------- drivers


def _gpu_report(tmp_path: Path, extra_env: dict[str, str] | None = None, **stub: Any) -> Any:
    bin_dir = tmp_path / "bin"
    write_nvidia_smi(bin_dir, **stub)
    report = run_probe([], bin_dirs=[bin_dir], args=["--command-timeout", "2"], extra_env=extra_env)
    assert report["errors"] == []
    return report["gpu"]


# The NVML stand-in always answers the clock-event reasons (0 unless its telemetry says
# otherwise) and nothing else of the GPU health unless asked to.
NVML_DEFAULT_HEALTH: dict[str, Any] = {
    "ecc_volatile_uncorrected": None,
    "retired_pages_pending": None,
    "remapped_rows_pending": None,
    "remapped_rows_failure": None,
    "persistence_mode": None,
    "throttle_mask": 0,
    "throttle_reasons": [],
    "mig_mode": None,
    "mig_pending": None,
    "mig_devices": [],
    "unreadable": [],
}


def _expected_devices(
    gpus: tuple[SmiGpu, ...], health: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    return [
        {
            "index": g.index,
            "name": g.name,
            "uuid": g.uuid,
            "memory_total_mib": g.memory_mib,
            "compute_capability": g.compute_cap,
            "health": health,
        }
        for g in gpus
    ]


@pytest.mark.parametrize("gpus", [H100_X2, A100, V100], ids=["h100x2", "a100", "v100"])
def test_nvidia_smi_devices(tmp_path: Path, gpus: tuple[SmiGpu, ...]) -> None:
    gpu = _gpu_report(tmp_path, stdout=smi_csv(gpus))
    assert gpu["source"] == "nvidia-smi"
    assert gpu["nvidia_smi"] == str(tmp_path / "bin" / "nvidia-smi")
    assert gpu["driver_version"] == gpus[0].driver
    assert gpu["count"] == len(gpus)
    assert gpu["devices"] == _expected_devices(gpus)
    assert gpu["faults"] == []


def test_old_driver_without_compute_cap(tmp_path: Path) -> None:
    old = (SmiGpu(0, "Tesla T4", "GPU-aa", "470.82.01", 15109, "7.5"),)
    fields = [f for f in SMI_FIELDS if f != "compute_cap"]
    gpu = _gpu_report(tmp_path, without_compute_cap=smi_csv(old, fields))
    assert gpu["faults"] == []
    assert gpu["driver_version"] == "470.82.01"
    assert gpu["devices"][0]["name"] == "Tesla T4"
    assert gpu["devices"][0]["compute_capability"] is None
    assert any("compute_cap" in note for note in gpu["notes"])


def test_hanging_nvidia_smi_is_a_timeout_fault(tmp_path: Path) -> None:
    start = time.monotonic()
    gpu = _gpu_report(tmp_path, hang=True, stdout=smi_csv(A100))
    assert time.monotonic() - start < 30  # the stub sleeps 60 s in a child process
    assert [f["kind"] for f in gpu["faults"]] == ["timeout"]
    assert gpu["faults"][0]["source"] == "nvidia-smi"
    assert gpu["source"] is None
    assert gpu["count"] == 0


def test_failing_nvidia_smi_is_an_exit_fault(tmp_path: Path) -> None:
    message = (
        "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. "
        "Make sure that the latest NVIDIA driver is installed and running.\n"
    )
    gpu = _gpu_report(tmp_path, stdout=message, exit_code=9)
    assert gpu["faults"] == [
        {"kind": "exit", "source": "nvidia-smi", "detail": "exit status 9: " + message.strip()}
    ]
    assert gpu["count"] == 0


def test_err_and_na_fields_are_bad_field_faults(tmp_path: Path) -> None:
    text = (
        "0, NVIDIA A100-SXM4-80GB, GPU-1a2b, 535.104.05, [N/A], 8.0\n"
        "1, NVIDIA A100-SXM4-80GB, GPU-3c4d, 535.104.05, 81920, ERR!\n"
        "2, [Unknown Error], GPU-5e6f, 535.104.05, 81920, 8.0\n"
    )
    gpu = _gpu_report(tmp_path, stdout=text)
    assert gpu["count"] == 3
    assert gpu["driver_version"] == "535.104.05"
    assert [f["kind"] for f in gpu["faults"]] == ["bad-field"] * 3
    assert gpu["devices"][0]["memory_total_mib"] is None
    assert gpu["devices"][1]["compute_capability"] is None
    assert gpu["devices"][2]["name"] is None
    assert gpu["devices"][2]["memory_total_mib"] == 81920


def test_no_nvidia_smi_and_visible_devices_env(tmp_path: Path) -> None:
    report = run_probe(
        [], extra_env={"CUDA_VISIBLE_DEVICES": "0,1", "NVIDIA_VISIBLE_DEVICES": "all"}
    )
    gpu = report["gpu"]
    assert gpu["nvidia_smi"] is None
    assert gpu["env"]["CUDA_VISIBLE_DEVICES"] == "0,1"
    assert gpu["env"]["NVIDIA_VISIBLE_DEVICES"] == "all"
    assert gpu["env"]["HIP_VISIBLE_DEVICES"] is None
    nodes = sorted(str(p) for p in Path("/dev").glob("nvidia*"))
    assert gpu["device_nodes"] == nodes
    if not nodes:
        assert (gpu["source"], gpu["count"], gpu["faults"]) == (None, 0, [])


@pytest.fixture(scope="session")
def nvml_library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_fake_nvml(tmp_path_factory.mktemp("nvml"))


def test_nvml_preferred_when_importable(tmp_path: Path, nvml_library: Path) -> None:
    site = copy_pynvml(tmp_path / "site")
    log = tmp_path / "smi.log"
    write_nvidia_smi(tmp_path / "bin", stdout=smi_csv(A100), log=log)
    report = run_probe(
        [site], bin_dirs=[tmp_path / "bin"], extra_env=nvml_env(nvml_library, H100_X2)
    )
    gpu = report["gpu"]
    assert gpu["source"] == "nvml"
    assert gpu["nvml"] == {"importable": True, "detail": None}
    assert gpu["cuda_driver_version"] == "12.4"
    assert gpu["driver_version"] == "550.54.15"
    assert gpu["devices"] == _expected_devices(H100_X2, NVML_DEFAULT_HEALTH)
    assert gpu["faults"] == []
    assert not log.exists()  # nvidia-smi was not needed


def test_nvml_and_nvidia_smi_agree_on_the_same_machine(tmp_path: Path, nvml_library: Path) -> None:
    """The two sources describe one fleet identically, so checks never depend on which answered."""
    site = copy_pynvml(tmp_path / "site")
    # The same GPUs' health as nvidia-smi prints it: only the (idle) clock-event reasons known.
    unknown = GpuHealth(None, None, None, None, None, 0, None, None)
    write_nvidia_smi(
        tmp_path / "bin",
        stdout=smi_csv(H100_X2),
        health=smi_health_csv(H100_X2, {0: unknown, 1: unknown}),
    )
    through_nvml = run_probe(
        [site], bin_dirs=[tmp_path / "bin"], extra_env=nvml_env(nvml_library, H100_X2)
    )["gpu"]
    through_smi = run_probe([], bin_dirs=[tmp_path / "bin"])["gpu"]
    assert (through_nvml["source"], through_smi["source"]) == ("nvml", "nvidia-smi")
    for key in ("driver_version", "count", "devices", "faults"):
        assert through_nvml[key] == through_smi[key], key


@pytest.mark.parametrize(
    ("mode", "fault_kinds", "detail"),
    [
        ("driver-not-loaded", ["nvml"], "Driver Not Loaded"),
        ("no-library", [], "libnvidia-ml not found"),
        ("hang", ["timeout"], None),
    ],
)
def test_nvml_trouble_falls_back_to_nvidia_smi(
    tmp_path: Path, nvml_library: Path, mode: str, fault_kinds: list[str], detail: str | None
) -> None:
    if mode == "no-library" and ctypes.util.find_library("nvidia-ml"):
        pytest.skip("this machine has a real libnvidia-ml")
    site = copy_pynvml(tmp_path / "site")
    write_nvidia_smi(tmp_path / "bin", stdout=smi_csv(A100))
    library = None if mode == "no-library" else nvml_library
    report = run_probe(
        [site],
        bin_dirs=[tmp_path / "bin"],
        args=["--command-timeout", "2"],
        extra_env=nvml_env(library, H100_X2, mode=mode),
    )
    gpu = report["gpu"]
    assert [f["kind"] for f in gpu["faults"]] == fault_kinds, gpu["faults"]
    assert all(f["source"] == "nvml" for f in gpu["faults"])
    assert gpu["nvml"]["importable"] is True
    if detail is None:
        assert gpu["nvml"]["detail"] is None
    else:
        assert detail in gpu["nvml"]["detail"]
    assert gpu["source"] == "nvidia-smi"
    assert gpu["devices"] == _expected_devices(A100)


def test_nvml_lost_gpu_is_a_fault_and_the_others_still_report(
    tmp_path: Path, nvml_library: Path
) -> None:
    site = copy_pynvml(tmp_path / "site")
    write_nvidia_smi(tmp_path / "bin", stdout=smi_csv(A100))
    report = run_probe(
        [site], bin_dirs=[tmp_path / "bin"], extra_env=nvml_env(nvml_library, H100_X2, lost=[1])
    )
    gpu = report["gpu"]
    assert gpu["source"] == "nvml"
    assert gpu["count"] == 2
    assert gpu["devices"][0] == _expected_devices(H100_X2, NVML_DEFAULT_HEALTH)[0]
    assert gpu["devices"][1] == {
        "index": 1,
        "name": None,
        "uuid": None,
        "memory_total_mib": None,
        "compute_capability": None,
        "health": None,
    }
    assert [(f["kind"], f["source"]) for f in gpu["faults"]] == [("nvml", "nvml")]
    assert "GPU 1" in gpu["faults"][0]["detail"]
    assert "GPU is lost" in gpu["faults"][0]["detail"]


@pytest.mark.parametrize("version", sorted(EXTRA_PYTHONS))
def test_nvml_path_under_other_pythons(tmp_path: Path, nvml_library: Path, version: str) -> None:
    """Old PyTorch images carry old interpreters: the bindings and the probe must work there."""
    site = copy_pynvml(tmp_path / "site")
    write_nvidia_smi(tmp_path / "bin", stdout=smi_csv(A100))
    env = nvml_env(nvml_library, H100_X2)
    here = run_probe([site], bin_dirs=[tmp_path / "bin"], extra_env=env)["gpu"]
    there = run_probe(
        [site], bin_dirs=[tmp_path / "bin"], extra_env=env, python=EXTRA_PYTHONS[version]
    )["gpu"]
    assert there["source"] == "nvml"
    assert there == here


def test_rocm_smi_output(tmp_path: Path) -> None:
    payload = {"card0": {"Card series": "AMD Instinct MI300X", "Driver version": "6.7.0"}}
    write_rocm_smi(tmp_path / "bin", payload)
    report = run_probe([], bin_dirs=[tmp_path / "bin"])
    rocm = report["gpu"]["rocm"]
    assert rocm["rocm_smi"] == str(tmp_path / "bin" / "rocm-smi")
    assert rocm["rocm_smi_output"] == payload
    assert rocm["kfd"] == Path("/dev/kfd").exists()


# ---------------------------------------------------------------- command line


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--timeout", "soon"], "--timeout needs a positive number of seconds, got 'soon'"),
        (["--timeout", "0"], "--timeout needs a positive number of seconds, got '0'"),
        (["--out"], "--out needs a value"),
        (["--gpu"], "unknown argument '--gpu'"),
    ],
)
def test_bad_arguments(args: list[str], message: str) -> None:
    done = subprocess.run(
        [sys.executable, "-S", str(PROBE), *args],
        env=probe_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith(f"probe.py: {message} (usage: ")
    assert len(done.stderr.strip().splitlines()) == 1


def test_out_file(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    done = subprocess.run(
        [sys.executable, "-S", str(PROBE), "--out", str(out)],
        env=probe_env([_site(tmp_path, "2.4.1+cu121")]),
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout == ""
    assert json.loads(out.read_text(encoding="utf-8"))["torch"]["version"] == "2.4.1+cu121"


# ---------------------------------------------------------------- smoke worker orchestration


def test_smoke_records_import_failure(tmp_path: Path) -> None:
    report = run_probe([_site(tmp_path, "2.4.1+cu121")], args=["--smoke", "--timeout", "30"])
    probes = report["smoke"]["probes"]
    assert list(probes) == list(probe.SMOKE_PROBES)
    assert probes["import_torch"]["status"] == "fail"
    assert "synthetic torch" in probes["import_torch"]["detail"]
    assert {p["status"] for name, p in probes.items() if name != "import_torch"} == {"skipped"}
    assert report["torch"]["version"] == "2.4.1+cu121"  # the fast facts are still there


def test_smoke_hang_and_crash_do_not_hide_other_probes(tmp_path: Path) -> None:
    site = write_scripted_torch(tmp_path / "site")
    plan = {"cuda_available": "hang", "nccl": "crash"}
    start = time.monotonic()
    report = run_probe(
        [site],
        args=["--smoke", "--timeout", "3"],
        extra_env={"FAKE_TORCH_PLAN": json.dumps(plan)},
    )
    assert time.monotonic() - start < 60
    probes = report["smoke"]["probes"]
    assert probes["import_torch"]["status"] == "ok"
    assert probes["import_torch"]["value"]["version"] == "2.4.1+cu121"
    assert probes["cuda_available"]["status"] == "timeout"
    assert probes["cuda_available"]["seconds"] >= 3
    for name in ("devices", "arch_list", "matmul_cuda", "conv2d_cuda"):
        assert probes[name]["status"] == "skipped"
        assert probes[name]["detail"].startswith("no GPU")
    assert probes["cudnn"]["status"] == "ok"
    assert probes["cudnn"]["value"]["runtime"] == "9.1.0"
    assert probes["cudnn"]["value"]["compiled"] == "9.1.0"
    assert probes["nccl"]["status"] == "fail"
    assert "worker exited with status 3" in probes["nccl"]["detail"]
    assert probes["matmul_cpu"]["status"] == "fail"  # the stand-in has no tensors
    assert probes["compile"]["status"] == "skipped"


def test_device_side_assert_is_named_and_the_rest_runs_in_a_fresh_worker(tmp_path: Path) -> None:
    site = write_scripted_torch(tmp_path / "site")
    report = run_probe(
        [site],
        args=["--smoke", "--timeout", "10"],
        extra_env={"FAKE_TORCH_PLAN": json.dumps({"nccl": "device-assert"})},
    )
    probes = report["smoke"]["probes"]
    assert probes["nccl"]["status"] == "fail"
    assert probes["nccl"]["detail"].startswith(
        "a CUDA kernel hit a device-side assert (the CUDA context is unusable after it; rerun "
        "with CUDA_LAUNCH_BLOCKING=1 to see which kernel): RuntimeError: CUDA error: "
        "device-side assert triggered"
    )
    # The next probe ran (in a new worker) and failed on its own: the stand-in has no tensors.
    assert probes["matmul_cpu"]["status"] == "fail"
    assert "worker exited" not in probes["matmul_cpu"]["detail"]
    assert "AttributeError" in probes["matmul_cpu"]["detail"]
    assert probes["cuda_assert"]["status"] == "skipped"  # no GPU


def test_job_environment_is_reported_with_secrets_masked(tmp_path: Path) -> None:
    report = run_probe(
        [],
        extra_env={
            "NCCL_DEBUG": "INFO",
            "NCCL_IB_DISABLE": "1",
            "CUDA_LAUNCH_BLOCKING": "1",
            "PYTORCH_CUDA_ALLOC_CONF": "expandable_segments:True",
            "TORCH_HUB_TOKEN": "hunter2",
            "TORCH_SECRET_KEY": "hunter3",
            "HOME": "/root",
        },
    )
    assert report["env"] == {
        "CUDA_LAUNCH_BLOCKING": "1",
        "NCCL_DEBUG": "INFO",
        "NCCL_IB_DISABLE": "1",
        "PYTORCH_CUDA_ALLOC_CONF": "expandable_segments:True",
        "TORCH_HUB_TOKEN": "***",
        "TORCH_SECRET_KEY": "***",
    }
    assert "hunter" not in json.dumps(report)


def test_smoke_import_hang_times_out(tmp_path: Path) -> None:
    site = write_scripted_torch(tmp_path / "site")
    report = run_probe(
        [site],
        args=["--smoke", "--timeout", "2"],
        extra_env={"FAKE_TORCH_PLAN": json.dumps({"import": "hang"})},
    )
    probes = report["smoke"]["probes"]
    assert probes["import_torch"]["status"] == "timeout"
    assert probes["cuda_available"] == {
        "status": "skipped",
        "seconds": 0.0,
        "value": None,
        "detail": "import torch did not succeed",
    }


# ---------------------------------------------------------------- the real torch in this venv


def _real_torch() -> tuple[str, Path]:
    spec = importlib.util.find_spec("torch")
    if spec is None or spec.origin is None:
        pytest.skip("torch is not installed in the test environment")
    return importlib.metadata.version("torch"), Path(spec.origin).parent


def test_real_torch_fast_path() -> None:
    version, package = _real_torch()
    report = run_probe(isolated=False)
    torch = report["torch"]
    assert report["errors"] == []
    assert torch["package_dir"] == str(package)
    assert torch["distribution_version"] == version
    assert torch["version"].split("+")[0] == version.split("+")[0]
    if torch["cuda"] is None and torch["hip"] is None:
        assert torch["variant"] in ("cpu", "xpu")
    assert report["distributions"]["torch"]["version"] == version
    assert report["smoke"] is None


def test_real_torch_smoke_on_this_machine() -> None:
    _real_torch()
    report = run_probe(isolated=False, args=["--smoke", "--timeout", "120"], timeout=600)
    probes = report["smoke"]["probes"]
    assert probes["import_torch"]["status"] == "ok"
    assert probes["import_torch"]["value"]["version"] == report["torch"]["version"]
    assert probes["import_torch"]["value"]["cuda"] == report["torch"]["cuda"]
    assert probes["matmul_cpu"]["status"] == "ok", probes["matmul_cpu"]
    assert set(probes["matmul_cpu"]["value"]["cpu"]) == {"float32", "bfloat16"}
    assert probes["conv2d_cpu"]["status"] == "ok", probes["conv2d_cpu"]
    assert probes["compile"]["detail"] == "not requested (--compile)"
    if probes["cuda_available"]["value"] is True:
        for name in ("devices", "arch_list", "matmul_cuda", "conv2d_cuda"):
            assert probes[name]["status"] == "ok", probes[name]
        assert probes["devices"]["value"]["count"] >= 1
    else:
        for name in ("devices", "arch_list", "matmul_cuda", "conv2d_cuda"):
            assert probes[name]["status"] == "skipped"
            assert probes[name]["detail"].startswith("no GPU")
    if report["torch"]["cuda"] is None and report["torch"]["hip"] is None:
        assert probes["cudnn"]["status"] == "skipped"
        assert probes["nccl"]["status"] == "skipped"


@pytest.mark.parametrize(
    ("kind", "status"), [("working", "ok"), ("unregistered", "fail")], ids=["ok", "mismatch"]
)
def test_torchvision_nms_on_the_real_torch(tmp_path: Path, kind: str, status: str) -> None:
    """The real CPU torch with a torchvision whose C++ ops are there, or never registered."""
    _real_torch()
    site = write_torchvision(tmp_path / "site", kind)
    report = run_probe([site], isolated=False, args=["--smoke", "--timeout", "120"], timeout=600)
    nms = report["smoke"]["probes"]["torchvision_nms"]
    assert nms["status"] == status, nms
    if status == "ok":
        assert nms["value"]["cpu"] == {"kept": [0, 2], "ok": True}
    else:
        assert "operator torchvision::nms does not exist" in nms["detail"]
        results = checks.evaluate(report, Expectations())
        [failed] = [r for r in results if r.id == "smoke-torchvision-nms"]
        assert failed.status == "fail"
        assert "torchvision was built for another torch" in failed.message
        assert "same pip command" in failed.fix


def test_real_torch_compile() -> None:
    _real_torch()
    if not any(shutil.which(cc) for cc in ("c++", "g++", "clang++")):
        pytest.skip("torch.compile on CPU needs a C++ compiler")
    # Inductor runs the machine's C++ compiler, so this one probe keeps the machine's PATH.
    report = run_probe(
        isolated=False,
        args=["--smoke", "--compile", "--timeout", "300"],
        extra_env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        timeout=900,
    )
    compiled = report["smoke"]["probes"]["compile"]
    assert compiled["status"] == "ok", compiled
    assert compiled["value"]["ok"] is True
