"""VG007 companion-mismatch: torchvision/torchaudio built for another torch."""

from __future__ import annotations

from tests.support.version_guard import at, of, run


def test_vg007_torchvision_for_another_torch() -> None:
    findings = run("vg-mismatch")
    assert at(findings, "VG007") == {("requirements/train.txt", 3), ("requirements/train.txt", 4)}
    (tv,) = of(findings, "VG007", "requirements/train.txt", 4)
    assert "torchvision 0.18.1" in tv.message and "torch 2.5.0" in tv.message


# --- VG021 cuda-library-pin --------------------------------------------------------------------


def test_vg021_explicit_cudnn_wheel_against_the_torch_build() -> None:
    findings = run("vg-constructs")
    (cudnn,) = of(findings, "VG021", "requirements/cudnn.txt", 3)
    assert cudnn.severity == "error"
    assert "nvidia-cudnn-cu12==9.1.0.70" in cudnn.message
    assert cudnn.related == (("requirements/cudnn.txt", 2),)
    # The table holds no NCCL versions: the nccl pin is recorded, never guessed at.
    assert not of(findings, "VG021", "requirements/cudnn.txt", 4)
