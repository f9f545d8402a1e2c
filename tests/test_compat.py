"""The compatibility data file: its own regularities, then each query against known facts."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from packaging.version import Version

from mlops_actions import compat
from mlops_actions.compat import (
    arch_supported,
    cuda_builds,
    cuda_minor,
    cuda_tag_to_version,
    cuda_version_to_tag,
    driver_floor,
    expected_cudnn,
    expected_nccl,
    expected_torchaudio,
    expected_torchvision,
    experimental_cuda,
    has_cuda_build,
    has_rocm_build,
    load_raw,
    load_table,
    min_driver,
    min_driver_minor_compat,
    parse_compute_capability,
    pypi_default_cuda,
    python_supported,
    pytorch_image_cudnn_major,
    supported_arches,
    table_from_dict,
    torch_release,
    torchaudio_compatible,
    torchvision_compatible,
)

RAW = load_raw()
TABLE = load_table()


def _rows_with_source(data: dict[str, Any]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    rows += data["torch"]
    rows += data["drivers"]
    rows += data["driver_families"]
    rows += data["gpu_arches"]
    rows.append(data["cudnn_gpu_floor"])
    rows += list(data["images"].values())
    rows += data["os_python"]
    return rows


# --- regularities of the data file --------------------------------------------------------


def test_every_row_names_a_known_source() -> None:
    known = set(RAW["sources"])
    for row in _rows_with_source(RAW):
        assert row["source"], row
        assert set(row["source"]) <= known, row
    for field, letters in RAW["field_sources"].items():
        assert set(letters) <= known, field


def test_torch_rows_are_unique_and_ordered() -> None:
    versions = [Version(r.torch) for r in TABLE.releases]
    assert versions == sorted(versions)
    assert len(set(versions)) == len(versions)
    assert [r.status for r in TABLE.releases].count("candidate") <= 1


def test_torchvision_series_is_minor_plus_15_for_torch_2() -> None:
    for rel in TABLE.releases:
        major, minor = (int(x) for x in rel.torch.split("."))
        if major != 2 or rel.torchvision is None:
            continue
        assert rel.torchvision.series == f"0.{minor + 15}", rel.torch


def test_torchvision_series_is_minor_plus_1_for_torch_1() -> None:
    for rel in TABLE.releases:
        major, minor = (int(x) for x in rel.torch.split("."))
        if major == 1:
            assert rel.torchvision is not None
            assert rel.torchvision.series == f"0.{minor + 1}", rel.torch


def test_torchaudio_same_rule_spans_2_1_to_2_10_then_stable_abi() -> None:
    for rel in TABLE.releases:
        assert rel.torchaudio is not None
        v = Version(rel.torch)
        if Version("2.1") <= v <= Version("2.10"):
            assert rel.torchaudio.rule == "same", rel.torch
        if v >= Version("2.11"):
            assert rel.torchaudio.rule == "stable_abi", rel.torch
            assert rel.torchaudio.minimum == "2.11.0"


def test_cuda_lists_are_sorted_and_well_formed() -> None:
    for rel in TABLE.releases:
        cudas = [Version(c) for c in rel.cuda]
        assert cudas == sorted(cudas), rel.torch
        assert all(len(v.release) == 2 for v in cudas), rel.torch
        assert not set(rel.cuda) & set(rel.cuda_uncertain), rel.torch


def test_every_experimental_and_default_cuda_is_built() -> None:
    for rel in TABLE.releases:
        if rel.experimental_cuda is not None:
            assert rel.experimental_cuda in rel.cuda, rel.torch
        if rel.pypi_default_cuda is not None:
            assert rel.pypi_default_cuda in rel.cuda, rel.torch


def test_cudnn_major_8_before_2_4_and_9_from_2_4() -> None:
    seen = 0
    for rel in TABLE.releases:
        if rel.cudnn is None:
            continue
        for key, value in rel.cudnn:
            assert key == "*" or key in rel.cuda, (rel.torch, key)
            major = Version(value).release[0]
            expected = 8 if Version(rel.torch) < Version("2.4") else 9
            assert major == expected, (rel.torch, key, value)
            seen += 1
    assert seen > 20


def test_cudnn_never_decreases_with_cuda_within_a_release() -> None:
    for rel in TABLE.releases:
        if rel.cudnn is None or len(rel.cudnn) < 2:
            continue
        by_cuda = sorted(
            ((Version(k), Version(v)) for k, v in rel.cudnn if k != "*"), key=lambda p: p[0]
        )
        cudnns = [v for _, v in by_cuda]
        assert cudnns == sorted(cudnns), rel.torch


def test_nccl_keys_are_built_variants() -> None:
    for rel in TABLE.releases:
        if rel.nccl is None:
            assert Version(rel.torch) < Version("2.10") or rel.status == "candidate"
            continue
        for key, _ in rel.nccl:
            assert key == "*" or key in rel.cuda, (rel.torch, key)


def test_python_range_is_ordered_and_narrows_slowly() -> None:
    for rel in TABLE.releases:
        if rel.python_min is None or rel.python_max is None:
            assert rel.status == "candidate"
            continue
        assert Version(rel.python_min) < Version(rel.python_max)
        for ft in rel.python_freethreaded or ():
            assert Version(rel.python_min) <= Version(ft) <= Version(rel.python_max)


def test_driver_table_is_monotonic_in_cuda_version() -> None:
    def key(row: compat.DriverRow) -> tuple[Version, int]:
        return (Version(row.cuda), row.update or 0)

    rows = sorted(TABLE.drivers, key=key)
    drivers = [Version(r.driver) for r in rows]
    assert drivers == sorted(drivers)
    assert len({key(r) for r in rows}) == len(rows)


def test_family_floors_sit_in_the_family_driver_branch() -> None:
    # 11.x's floor (450.80.02) is above 11.0 GA (450.51.05): minor-version compatibility
    # started after 11.0, so the floor is only bounded by the family's driver branch.
    for major, floor in TABLE.driver_families:
        first = min(
            (r for r in TABLE.drivers if int(r.cuda.split(".")[0]) == major),
            key=lambda r: (Version(r.cuda), r.update or 0),
        )
        last = max(
            (r for r in TABLE.drivers if int(r.cuda.split(".")[0]) == major),
            key=lambda r: (Version(r.cuda), r.update or 0),
        )
        assert Version(floor).release[0] == Version(first.driver).release[0], major
        assert Version(floor) < Version(last.driver), major


def test_arch_rows_are_sane() -> None:
    for arch in TABLE.arches:
        assert arch.min_sm < arch.max_sm
        assert (arch.cuda is None) != (arch.cuda_major is None)


def test_monotonic_check_would_catch_a_swapped_driver() -> None:
    broken = copy.deepcopy(RAW)
    broken["drivers"][-1]["driver"] = "400.00"
    table = table_from_dict(broken)
    rows = sorted(table.drivers, key=lambda r: (Version(r.cuda), r.update or 0))
    drivers = [Version(r.driver) for r in rows]
    assert drivers != sorted(drivers)


# --- queries ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("torch", "vision"),
    [
        ("2.4.1", "0.19.1"),
        ("2.0.0", "0.15.1"),
        ("2.1.1", "0.16.1"),
        ("2.3.1+cu121", "0.18.1"),
        ("2.12.1", "0.27.1"),
        ("2.13.0", "0.28.0"),
        ("2.0.1", None),
        ("1.10.0", None),
        ("2.14.0", None),
        ("3.0.0", None),
        ("not a version", None),
    ],
)
def test_expected_torchvision(torch: str, vision: str | None) -> None:
    assert expected_torchvision(torch) == vision


@pytest.mark.parametrize(
    ("torch", "vision", "ok"),
    [
        ("2.4.1", "0.19.1", True),
        ("2.4.1", "0.19.1+cu121", True),
        ("2.4.1", "0.19.0", False),
        ("2.4.1", "0.20.1", False),
        ("2.0.0", "0.15.1", True),
        ("2.0.0", "0.15.0", True),
        ("2.0.0", "0.15.2", False),
        ("2.0.1", "0.15.2", None),
        ("2.0.1", "0.16.0", False),
        ("1.10.0", "0.11.1", None),
        ("1.10.0", "0.12.0", False),
        ("2.14.0", "0.29.0", None),
        ("2.4.1", "bogus", None),
    ],
)
def test_torchvision_compatible(torch: str, vision: str, ok: bool | None) -> None:
    assert torchvision_compatible(torch, vision) is ok


@pytest.mark.parametrize(
    ("torch", "audio", "ok"),
    [
        ("2.4.1", "2.4.1", True),
        ("2.4.1", "2.4.0", False),
        ("2.0.0", "2.0.1", True),
        ("2.0.0", "2.0.0", True),
        ("2.0.1", "2.0.2", True),
        ("2.0.1", "2.0.1", False),
        ("1.10.0", "0.10.0", True),
        ("1.10.2", "0.10.2", None),
        ("1.12.1", "0.12.1", True),
        ("1.12.1", "0.13.0", False),
        ("2.11.0", "2.11.0", True),
        ("2.13.0", "2.11.0", True),
        ("2.13.0", "2.10.0", False),
        ("2.11.0", "2.12.0", False),
        ("2.13.0", "2.12.0", None),
        ("9.9.0", "2.11.0", None),
    ],
)
def test_torchaudio_compatible(torch: str, audio: str, ok: bool | None) -> None:
    assert torchaudio_compatible(torch, audio) is ok


def test_expected_torchaudio() -> None:
    assert expected_torchaudio("2.5.1") == "2.5.1"
    assert expected_torchaudio("2.0.0") == "2.0.1"
    assert expected_torchaudio("2.13.0") == "2.11.0"
    assert expected_torchaudio("1.12.0") is None
    assert expected_torchaudio("1.11.0") == "0.11.0"


def test_cuda_builds_and_has_cuda_build() -> None:
    assert cuda_builds("2.4.0") == ("11.8", "12.1", "12.4")
    assert cuda_builds("2.13.0+cu130") == ("12.6", "13.0", "13.2")
    assert cuda_builds("0.4") is None
    # The three non-existent wheels named in the version-guard issue.
    assert has_cuda_build("2.0.1", "12.4") is False
    assert has_cuda_build("2.1.0", "cu124") is False
    assert has_cuda_build("2.4.0", "cu128") is False
    assert has_cuda_build("2.7.1", "cu128") is True
    assert has_cuda_build("2.4.1", "12.4.1") is True
    assert has_cuda_build("1.10.0", "11.3") is None
    assert has_cuda_build("5.0", "12.4") is None
    assert has_cuda_build("2.4", "cuda") is None


def test_builds_that_exist_beyond_the_install_pages() -> None:
    """Wheels on download.pytorch.org that the previous-versions page does not list (sources J,
    K, L of the data file)."""
    for torch in ("2.9.0", "2.9.1", "2.10.0", "2.11.0"):
        assert has_cuda_build(torch, "cu129") is True, torch
    assert has_cuda_build("2.12.0", "cu129") is False
    assert has_cuda_build("1.11.0", "cu115") is True
    assert has_cuda_build("1.12.0", "cu115") is False
    assert python_supported("2.5.0", "3.13") is True
    assert python_supported("2.5.0", "3.13t") is False


def test_defaults_and_experimental() -> None:
    assert pypi_default_cuda("2.5.1") == "12.4"
    assert pypi_default_cuda("2.11.0") == "13.0"
    assert pypi_default_cuda("1.10.0") is None
    assert experimental_cuda("2.8.0") == "12.9"
    assert experimental_cuda("2.5.0") is None


def test_rocm() -> None:
    assert has_rocm_build("2.4.1", "rocm6.1") is True
    assert has_rocm_build("2.4.1", "6.2") is False
    assert has_rocm_build("2.6.0", "6.2.4") is True
    assert has_rocm_build("2.6.0", "x") is None


@pytest.mark.parametrize(
    ("torch", "py", "ok"),
    [
        ("2.5.1", "3.12", True),
        ("2.5.1", "3.13", True),  # Linux x86_64 wheels, experimental
        ("2.4.1", "3.13", False),
        ("2.5.1", "3.8", False),
        ("2.4.0", "3.8.18", True),
        ("1.13.1", "3.7", True),
        ("1.13.1", "3.7.1", False),
        ("1.13.1", "3.7.2", True),
        ("2.9.0", "3.14", True),
        ("2.9.0", "3.14t", True),
        ("2.9.0", "3.13t", False),
        ("2.10.0", "3.13t", True),
        ("2.6.0", "3.13t", None),
        ("2.9.0", "3.x", None),
        ("2.14.0", "3.12", None),
    ],
)
def test_python_supported(torch: str, py: str, ok: bool | None) -> None:
    assert python_supported(torch, py) is ok


def test_expected_cudnn() -> None:
    assert expected_cudnn("2.1.2", "11.8") == "8.7.0.84"
    assert expected_cudnn("2.1.2", "cu121") == "8.9.2.26"
    assert expected_cudnn("2.4.0", "12.4") == "9.1.0.70"
    assert expected_cudnn("2.6.0", "12.6") == "9.5.1.17"
    assert expected_cudnn("2.6.0", "11.8") == "9.1.0.70"
    assert expected_cudnn("2.12.0", "13.2") == "9.20.0.48"
    assert expected_cudnn("2.4.0", "12.8") is None  # no such build
    assert expected_cudnn("1.11.0", "11.3") is None  # not recorded


def test_expected_nccl() -> None:
    assert expected_nccl("2.10.0", "12.8") == "2.27.5"
    assert expected_nccl("2.10.0", "13.0") == "2.28.9"
    assert expected_nccl("2.11.0", "12.6") == "2.28.9"
    assert expected_nccl("2.12.0", "13.2") == "2.29.7"
    assert expected_nccl("2.9.0", "12.8") is None


def test_drivers() -> None:
    assert min_driver("12.4") == "550.54.14"
    assert min_driver("12.4.1") == "550.54.15"
    assert min_driver("13.2.2") == "595.71.05"
    assert min_driver("11.8.0") == "520.61.05"
    assert min_driver("cu121") == "530.30.02"
    assert min_driver("12.7") is None
    assert min_driver("junk") is None
    floor = driver_floor("12.6.3")
    assert floor is not None
    assert floor.driver == "560.28.03"
    assert floor.exact is False
    exact = driver_floor("12.6")
    assert exact is not None and exact.exact
    assert min_driver_minor_compat("11.4") == "450.80.02"
    assert min_driver_minor_compat("12.8.1") == "525.60.13"
    assert min_driver_minor_compat("cu130") == "580"
    assert min_driver_minor_compat("10.2") is None


def test_arches() -> None:
    assert supported_arches("12.6") == (50, 90)
    assert supported_arches("12.4") == (50, 90)
    assert supported_arches("13.0") == (75, 120)
    assert supported_arches("cu132") == (75, 120)
    assert supported_arches("11.8") is None
    assert arch_supported("12.6", "8.0") is True
    assert arch_supported("12.6", "5.0") is True
    assert arch_supported("12.6", "3.7") is False
    assert arch_supported("12.6", "10.0") is False
    assert arch_supported("12.8", "12.0") is None  # family default: above max is unknown
    assert arch_supported("13.0", "6.1") is False  # Pascal dropped
    assert arch_supported("13.0", "7.5") is True
    assert arch_supported("13.0", "12.1") is True  # PTX
    assert arch_supported("13.0", "eight") is None


def test_compute_capability_parsing() -> None:
    assert parse_compute_capability("8.0") == 80
    assert parse_compute_capability("12.0") == 120
    assert parse_compute_capability("sm_86") == 86
    assert parse_compute_capability("9") is None


def test_cuda_tags_round_trip() -> None:
    assert cuda_tag_to_version("cu121") == "12.1"
    assert cuda_tag_to_version("cu92") == "9.2"
    assert cuda_tag_to_version("CU130") == "13.0"
    assert cuda_tag_to_version("cpu") is None
    assert cuda_tag_to_version("cu1211") is None
    assert cuda_version_to_tag("12.1") == "cu121"
    assert cuda_version_to_tag("11.8.0") == "cu118"
    assert cuda_version_to_tag("12") is None
    assert cuda_minor("12-8") == "12.8"
    for rel in TABLE.releases:
        for c in rel.cuda:
            tag = cuda_version_to_tag(c)
            assert tag is not None and cuda_tag_to_version(tag) == c


def test_torch_release_matches_on_minor() -> None:
    rel = torch_release("2.4.1+cu124")
    assert rel is not None and rel.torch == "2.4"
    assert torch_release("2.40.0") is None
    assert torch_release("2") is None
    assert load_table() is load_table()


def test_pytorch_image_cudnn_major() -> None:
    assert pytorch_image_cudnn_major("2.3.1") == 8
    assert pytorch_image_cudnn_major("2.1.0") == 8
    assert pytorch_image_cudnn_major("2.4.0") == 9
    assert pytorch_image_cudnn_major("x") is None
