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
