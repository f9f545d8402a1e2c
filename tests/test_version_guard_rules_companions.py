"""VG007 companion-mismatch: torchvision/torchaudio built for another torch."""

from __future__ import annotations

from tests.support.version_guard import at, of, run


def test_vg007_torchvision_for_another_torch() -> None:
    findings = run("vg-mismatch")
    assert at(findings, "VG007") == {("requirements/train.txt", 3), ("requirements/train.txt", 4)}
    (tv,) = of(findings, "VG007", "requirements/train.txt", 4)
    assert "torchvision 0.18.1" in tv.message and "torch 2.5.0" in tv.message


# --- VG018 cuda-library-pin -----------------------------------------------------------------


def test_vg018_explicit_cudnn_and_nccl_pins_against_the_torch_build() -> None:
    """vg-cuda-libs: PyPI torch 2.4.1 (CUDA 12.1) needs nvidia-cudnn-cu12==9.1.0.70; torch
    2.7.1 needs nvidia-nccl-cu12==2.26.2; a cu118 build needs the cu11 package. What the table
    does not know (NCCL of 2.4) is not reported."""
    findings = run("vg-cuda-libs")
    assert at(findings, "VG018") == {
        ("Dockerfile", 3),  # a later RUN: a warning (see below)
        ("requirements/train.txt", 2),
        ("requirements/nccl.txt", 2),
        ("requirements/cu118.txt", 3),
    }
    (cudnn,) = of(findings, "VG018", "requirements/train.txt", 2)
    assert "nvidia-cudnn-cu12==9.1.0.70" in cudnn.message and cudnn.severity == "error"
    (cu11,) = of(findings, "VG018", "requirements/cu118.txt", 3)
    assert "nvidia-cudnn-cu11==9.1.0.70" in cu11.message
    (nccl,) = of(findings, "VG018", "requirements/nccl.txt", 2)
    assert "nvidia-nccl-cu12==2.26.2" in nccl.message


def test_vg018_on_the_constructs_fixture() -> None:
    findings = run("vg-constructs")
    (cudnn,) = of(findings, "VG018", "requirements/cudnn.txt", 3)
    assert cudnn.severity == "error" and "9.1.0.70" in cudnn.message


def test_vg018_a_separate_install_overriding_the_library_is_a_warning() -> None:
    """vg-cuda-libs/Dockerfile installs torch 2.7.1, then NCCL 2.25.1 in a later RUN."""
    (later,) = of(run("vg-cuda-libs"), "VG018", "Dockerfile", 3)
    assert later.severity == "warning" and "nvidia-nccl-cu12==2.26.2" in later.message
