"""VG007 companion-mismatch: torchvision/torchaudio built for another torch."""

from __future__ import annotations

from tests.support.version_guard import at, of, run


def test_vg007_torchvision_for_another_torch() -> None:
    findings = run("vg-mismatch")
    assert at(findings, "VG007") == {("requirements/train.txt", 3), ("requirements/train.txt", 4)}
    (tv,) = of(findings, "VG007", "requirements/train.txt", 4)
    assert "torchvision 0.18.1" in tv.message and "torch 2.5.0" in tv.message
