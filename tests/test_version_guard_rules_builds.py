"""VG008 no-official-build and VG009 python-unsupported against the compatibility table."""

from __future__ import annotations

from tests.support.version_guard import at, of, run


def test_vg008_builds_that_never_existed() -> None:
    findings = run("vg-nonexistent")
    assert at(findings, "VG008") == {
        ("requirements/legacy.txt", 2),  # torch==2.0.1+cu124
        ("requirements/old-index.txt", 2),  # torch 2.1 from the cu124 index
        ("requirements/serve.txt", 2),  # torch 2.4 from cu128, the index in an include
        ("requirements/base.txt", 1),
        ("docker/Dockerfile", 1),  # pytorch/pytorch 2.4.0 … cudnn8
        ("environment.yml", 5),  # pytorch=2.1.0 with pytorch-cuda=12.4
        ("environment.yml", 6),
    }
    (legacy,) = of(findings, "VG008", "requirements/legacy.txt", 2)
    assert "11.7 and 11.8" in legacy.message


def test_vg008_real_builds_pass() -> None:
    assert at(run("vg-consistent"), "VG008") == set()
    assert at(run("vg-mismatch"), "VG008") == set()  # 2.5.0+cu124 exists


def test_vg009_matrix_entry_with_unsupported_python() -> None:
    findings = run("vg-mismatch")
    # include entry torch 2.1.2 + Python 3.12: the matrix values and the resolved step lines.
    assert at(findings, "VG009") == {
        (".github/workflows/ci.yml", 9),
        (".github/workflows/ci.yml", 10),
        (".github/workflows/ci.yml", 17),
        (".github/workflows/ci.yml", 18),
    }


def test_vg009_supported_matrix_passes() -> None:
    assert at(run("vg-consistent"), "VG009") == set()


# --- VG017 conda-pytorch-channel ------------------------------------------------------------


def test_vg017_the_discontinued_pytorch_conda_channel() -> None:
    """vg-conda: torch 2.6 with pytorch-cuda cannot install (errors); torch 2.4.1 with
    pytorch-cuda and a pytorch:: 2.5.1 still install but are frozen (warnings); conda-forge's
    pytorch 2.6 with cuda-version passes."""
    findings = run("vg-conda")
    levels = {(f.file, f.line): f.severity for f in findings if f.rule_id == "VG017"}
    assert levels == {
        ("environment.yml", 7): "error",  # pytorch=2.6.0
        ("environment.yml", 8): "error",  # pytorch-cuda=12.4 beside it
        ("environment-old.yml", 8): "warning",  # pytorch-cuda=12.1 with 2.4.1
        ("docker/Dockerfile", 2): "warning",  # conda install pytorch::pytorch=2.5.1
    }
    (selector,) = of(findings, "VG017", "environment.yml", 8)
    assert "environment.yml:7" in selector.message and "138506" not in selector.fix
    assert not [f for f in findings if f.rule_id == "VG017" and f.file == "environment-forge.yml"]


# --- what the scan now reads: an OS base image's Python, a matrix entry, the channels list ------


def test_vg009_python_of_the_base_images_os() -> None:
    findings = run("vg-constructs")
    # nvidia/cuda:...-ubuntu18.04 gives Python 3.6; torch 2.4.1 has no wheels for it.
    assert {("docker/os-python.Dockerfile", 1), ("docker/os-python.Dockerfile", 3)} <= at(
        findings, "VG009"
    )
    # get-pip for 3.8 (and apt python3.8) with torch 2.6.0; ubuntu:22.04's own 3.10 is not used.
    (get_pip,) = of(findings, "VG009", "docker/get-pip.Dockerfile", 3)
    assert "Python 3.8" in get_pip.message
    assert "3.10" not in " ".join(f.message for f in findings if "get-pip" in (f.file or ""))


def test_vg008_per_matrix_entry() -> None:
    findings = run("vg-constructs")
    (entry,) = of(findings, "VG008", ".github/workflows/matrix-entry.yml", 16)
    assert "torch 2.4.1" in entry.message and "CUDA 12.8" in entry.message


def test_vg017_channel_named_by_the_channels_list() -> None:
    # environment-pytorch-channel.yml lists `pytorch` under channels: torch 2.6.0 is not there.
    findings = run("vg-constructs")
    (torch,) = of(findings, "VG017", "conda/environment-pytorch-channel.yml", 7)
    assert torch.severity == "error" and "2.6.0" in torch.message
    assert not [f for f in findings if f.rule_id == "VG017" and "forge" in (f.file or "")]
