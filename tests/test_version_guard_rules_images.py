"""VG001 image-unpinned over the fixture repositories: a floating tag reached through an `ARG`
and an untagged service image are found; digests and versioned tags pass."""

from __future__ import annotations

from tests.support.version_guard import at, of, run


def test_vg001_floating_tag_through_arg_and_untagged_service() -> None:
    findings = run("vg-floating")
    assert at(findings, "VG001") == {("docker/Dockerfile", 3), ("docker-compose.yml", 3)}
    (via_arg,) = of(findings, "VG001", "docker/Dockerfile", 3)
    assert "latest" in via_arg.message and "ARG BASE_TAG=latest (line 2)" in via_arg.message


def test_vg001_digest_and_versioned_tags_pass() -> None:
    # docker-compose.yml:5 pins pytorch/pytorch by digest; vg-consistent pins versioned tags.
    assert ("docker-compose.yml", 5) not in at(run("vg-floating"), "VG001")
    assert at(run("vg-consistent"), "VG001") == set()


# --- floating tags besides latest, VG020 torch-backend-auto ----------------------------------


def test_vg001_floating_tags_besides_latest() -> None:
    findings = run("vg-constructs")
    assert {("docker/floating.Dockerfile", n) for n in (1, 2, 3)} <= at(findings, "VG001")
    (gpu,) = of(findings, "VG001", "docker/floating.Dockerfile", 1)
    assert "`latest-gpu`" in gpu.message


def test_vg020_torch_backend_auto_in_an_image() -> None:
    findings = run("vg-constructs")
    (auto,) = of(findings, "VG020", "docker/uv-auto.Dockerfile", 2)
    assert auto.severity == "warning" and "builds the image" in auto.message
    assert not of(findings, "VG014", "docker/uv-auto.Dockerfile", 2)
