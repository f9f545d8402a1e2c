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
