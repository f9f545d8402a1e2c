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
