"""VG001 image-unpinned over the fixture repositories: a floating tag reached through an `ARG`
and an untagged service image are found; digests and versioned tags pass."""

from __future__ import annotations

from mlops_actions.version_guard.rules.images import floating_tag
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


def test_vg001_floating_tags_beyond_latest() -> None:
    """vg-images: `rolling`, `cu121-latest`, `latest-release` and a compose `latest-gpu` move;
    a dated nightly, a versioned nvidia/cuda and postgres:16.4 are pinned."""
    findings = run("vg-images")
    errors = {(f.file, f.line) for f in findings if f.rule_id == "VG001" and f.severity == "error"}
    assert errors == {
        ("docker/base.Dockerfile", 1),  # continuumio/miniconda3:latest
        ("docker/base.Dockerfile", 2),  # rolling
        ("docker/base.Dockerfile", 3),  # cu121-latest
        ("docker/base.Dockerfile", 6),  # latest-release
        ("docker-compose.yml", 3),  # latest-gpu
    }
    assert floating_tag("latest-gpu") and floating_tag("gpu-latest") and floating_tag("nightly")
    assert not floating_tag("nightly-20240501") and not floating_tag("2.4.1-cuda12.1-runtime")
    assert not floating_tag("stablehlo-1.2")  # a word that only starts like one


def test_vg001_images_this_repository_builds() -> None:
    """A compose `image:` beside `build:` names the build's output: not checked. `FROM
    acme/base:latest` after `docker/Dockerfile.base` (a build chain, as a build script runs it)
    is a notice, not a gate."""
    findings = run("vg-images")
    assert ("docker-compose.yml", 7) not in at(findings, "VG001")  # image: acme-app + build:
    (chain,) = of(findings, "VG001", "docker/Dockerfile.nlp", 2)
    assert chain.severity == "notice" and "built in this repository" in chain.message


def test_vg001_fix_names_the_image_it_is_about() -> None:
    findings = run("vg-images")
    (conda,) = of(findings, "VG001", "docker/base.Dockerfile", 1)
    assert "continuumio/miniconda3:<version>" in conda.fix and "pytorch/pytorch" not in conda.fix
    (via_arg,) = of(run("vg-floating"), "VG001", "docker/Dockerfile", 3)
    assert "pytorch/pytorch:2.4.1-cuda12.1-cudnn9-runtime" in via_arg.fix


# --- VG020 torch-backend-auto ---------------------------------------------------------------


def test_vg020_torch_backend_auto_in_an_image() -> None:
    """An error in a CUDA image, a warning in a CPU image; a named backend passes."""
    findings = run("vg-images")
    assert at(findings, "VG020") == {
        ("docker/auto.Dockerfile", 2),
        ("docker/auto-cpu.Dockerfile", 2),
    }
    (cuda,) = of(findings, "VG020", "docker/auto.Dockerfile", 2)
    assert cuda.severity == "error" and "--torch-backend=cu126" in cuda.fix
    (cpu,) = of(findings, "VG020", "docker/auto-cpu.Dockerfile", 2)
    assert cpu.severity == "warning"


def test_vg001_and_vg020_on_tags_and_backends_the_scan_records() -> None:
    findings = run("vg-constructs")
    assert {("docker/floating.Dockerfile", n) for n in (1, 2, 3)} <= at(findings, "VG001")
    (auto,) = of(findings, "VG020", "docker/uv-auto.Dockerfile", 2)
    assert "machine that builds this image" in auto.message
    assert not of(findings, "VG014", "docker/uv-auto.Dockerfile", 2)


def test_vg001_a_moving_word_beside_a_version_is_a_warning() -> None:
    (chef,) = of(run("vg-images"), "VG001", "docker/chef.Dockerfile", 2)
    assert chef.severity == "warning" and "latest-rust-1.85.1" in chef.message


def test_vg001_an_untagged_image_named_after_a_dockerfile_of_the_repository() -> None:
    """`FROM acme-torch2-base` beside docker/Dockerfile.base: a local build chain."""
    (chain,) = of(run("vg-images"), "VG001", "docker/Dockerfile.test", 2)
    assert chain.severity == "notice" and "has no tag" in chain.message


def test_vg001_utility_and_nightly_images_are_not_a_gate() -> None:
    """vg-image-roles: alpine or manylinux untagged is a warning (hygiene, no torch/CUDA/Python
    stack); a nightly image on `latest` is a notice; a team's own image and any compose image
    stay errors."""
    severities = {
        (f.file, f.line): f.severity for f in run("vg-image-roles") if f.rule_id == "VG001"
    }
    assert severities == {
        ("Dockerfile", 1): "warning",
        ("Dockerfile", 2): "error",
        (".github/workflows/ci.yml", 6): "warning",
        (".github/workflows/ci.yml", 11): "notice",
        ("docker-compose.yml", 3): "error",
    }
