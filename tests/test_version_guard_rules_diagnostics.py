"""VG014 unresolved and VG015 scan-error: what cannot be checked is said, never guessed."""

from __future__ import annotations

from tests.support.version_guard import at, of, run


def test_vg014_unresolved_is_a_notice_never_a_guess() -> None:
    findings = run("vg-floating")
    (notice,) = of(findings, "VG014", "docker/Dockerfile", 6)
    assert notice.severity == "notice" and "CUDA_VERSION" in notice.message
    assert at(findings, "VG004") == set()


def test_vg015_invalid_yaml() -> None:
    findings = run("vg-floating")
    assert {f for f, _ in at(findings, "VG015")} == {".github/workflows/broken.yml"}
    assert at(run("vg-consistent"), "VG015") == set()


# --- VG019 invalid-local-version ------------------------------------------------------------


def test_vg019_a_local_version_with_a_range_is_an_error() -> None:
    findings = run("vg-invalid-local")
    (bad,) = of(findings, "VG019", "requirements.txt", 1)
    assert bad.severity == "error" and "torch>=2.12.0+cpu" in bad.message
    assert "torch==2.12.0+cpu" in bad.fix and "whl/cpu" in bad.fix
    assert at(findings, "VG015") == set()  # not also a scan warning


def test_vg019_from_the_pin_the_scanner_records() -> None:
    # The scanner keeps `torch>=2.12.0+cpu` as an `invalid` pin rather than a scan error.
    findings = run("vg-constructs")
    (bad,) = of(findings, "VG019", "requirements/invalid-local.txt", 1)
    assert bad.severity == "error" and "whl/cpu" in bad.fix
    assert not of(findings, "VG015", "requirements/invalid-local.txt", 1)
