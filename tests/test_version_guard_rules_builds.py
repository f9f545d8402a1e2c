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


# --- VG009 with the Python of a base image's OS, VG019 conda-pytorch-channel -----------------


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


def test_vg019_conda_pytorch_channel() -> None:
    findings = run("vg-constructs")
    (torch,) = of(findings, "VG019", "conda/environment-pytorch-channel.yml", 7)
    assert torch.severity == "error" and "last release is 2.5.1" in torch.message
    (cuda,) = of(findings, "VG019", "conda/environment-pytorch-channel.yml", 8)
    assert cuda.severity == "error" and "pytorch-cuda" in cuda.message
    assert not [f for f in findings if f.rule_id == "VG019" and "forge" in (f.file or "")]
    # torch 2.4.1 with pytorch-cuda=12.1 from the channel still installs: recorded, not reported.
    assert at(run("vg-consistent"), "VG019") == set()


def test_vg008_per_matrix_entry() -> None:
    findings = run("vg-constructs")
    (entry,) = of(findings, "VG008", ".github/workflows/matrix-entry.yml", 16)
    assert "torch 2.4.1" in entry.message and "CUDA 12.8" in entry.message
