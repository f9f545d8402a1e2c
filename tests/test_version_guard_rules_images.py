"""VG001 image-unpinned over the fixture repositories: a floating tag reached through an `ARG`
and an untagged service image are found; digests and versioned tags pass."""

from __future__ import annotations

from typing import Any

from mlops_actions.pins.model import Environment, Link, Pin, ScanResult
from mlops_actions.version_guard.rules.findings import Context, Findings
from mlops_actions.version_guard.rules.images import check as images_check
from mlops_actions.version_guard.rules.images import floating_tag
from mlops_actions.version_guard.rules.settings import Settings
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


# --- exact findings, from pins -----------------------------------------------------------------


def _image(file: str, line: int, value: str, how: str = "latest", **kw: Any) -> Pin:
    kw.setdefault("source", "dockerfile")
    return Pin(file, line, 1, "image", value, how, raw=f"FROM {value}", **kw)  # type: ignore[arg-type]


def _fix(example: str, local: bool = False) -> str:
    tail = ", and tag the base build with the same version." if local else "."
    return f"pin a versioned tag ({example}) or a digest{tail}"


def _own(repository: str) -> str:
    return f"{repository}:<version>, the release you test with"


BUILT = "; the image is built in this repository, so the tag is what the build chain last made"


def test_vg001_each_kind_of_image_exactly() -> None:
    pins = [
        _image(
            "Dockerfile",
            1,
            "pytorch/pytorch:latest",
            resolved_from=("ARG BASE=pytorch/pytorch:latest (line 1)",),
        ),
        _image("Dockerfile", 2, "nvidia/cuda", "unpinned"),
        _image("Dockerfile", 3, "python:rolling", "exact"),
        _image("Dockerfile", 4, "ghcr.io/o/x:latest-rust-1.85.1", "exact"),
        _image("Dockerfile", 5, "acme/base:latest"),  # docker/Dockerfile.base
        _image("Dockerfile", 6, "acme-torch2-trainer", "unpinned"),  # trainer.Dockerfile
        _image("Dockerfile", 7, "ghcr.io/o/out:latest"),  # a repository a build step tags
        _image("Dockerfile", 8, "pytorch/pytorch-nightly:latest"),
        _image("Dockerfile", 9, "alpine:latest"),
        _image("compose.yml", 10, "redis:latest", source="compose"),  # users run it: an error
        _image("compose.yml", 11, "acme/app:latest", source="compose"),  # the build's output
        _image("Dockerfile", 12, "python:3.11.9", "exact"),
        _image("Dockerfile", 13, "acme/x_web:latest"),  # web/Dockerfile
        _image("Dockerfile", 14, "acme/svc:latest"),
        _image("Dockerfile", 15, "acme/trainer-gpu:latest"),  # Containerfile.gpu
    ]
    links = [
        Link(
            "builds", "compose.yml", "Dockerfile", 1, images=("acme/app:latest", "ghcr.io/o/out:v1")
        ),
        Link("builds", ".github/workflows/ci.yml", "svc/Dockerfile", 1, images=("acme/svc:1",)),
        Link("installs", "Dockerfile", "r.txt", 1, images=("other/img:latest",)),
    ]
    stages: dict[str, Any] = {
        "docker/Dockerfile.base": (),
        "trainer.Dockerfile": (),
        "web/Dockerfile": (),
        "Containerfile.gpu": (),
        "Dockerfile": (),
    }
    scan = ScanResult(".", ("Dockerfile", "compose.yml"), tuple(pins), tuple(links), (), stages)
    out = Findings(Settings())
    images_check(Context(scan, [], Settings()), out)
    floating = "image {} uses the floating tag `{}`"
    assert [(f.severity, f.message, f.line, f.fix) for f in out.result()] == [
        (
            "error",
            floating.format("pytorch/pytorch:latest", "latest")
            + " (resolved from ARG BASE=pytorch/pytorch:latest (line 1))",
            1,
            _fix("such as pytorch/pytorch:2.4.1-cuda12.1-cudnn9-runtime"),
        ),
        (
            "error",
            "image nvidia/cuda has no tag",
            2,
            _fix("such as nvidia/cuda:12.4.1-runtime-ubuntu22.04"),
        ),
        (
            "error",
            floating.format("python:rolling", "rolling"),
            3,
            _fix("such as python:3.11.9-slim"),
        ),
        (
            "warning",
            floating.format("ghcr.io/o/x:latest-rust-1.85.1", "latest-rust-1.85.1")
            + "; part of the tag is versioned, the rest moves",
            4,
            _fix(_own("ghcr.io/o/x")),
        ),
        (
            "notice",
            floating.format("acme/base:latest", "latest") + BUILT,
            5,
            _fix(_own("acme/base"), True),
        ),
        (
            "notice",
            "image acme-torch2-trainer has no tag" + BUILT,
            6,
            _fix(_own("acme-torch2-trainer"), True),
        ),
        (
            "notice",
            floating.format("ghcr.io/o/out:latest", "latest") + BUILT,
            7,
            _fix(_own("ghcr.io/o/out"), True),
        ),
        (
            "notice",
            floating.format("pytorch/pytorch-nightly:latest", "latest")
            + "; a nightly image tracks the newest build on purpose",
            8,
            _fix(_own("pytorch/pytorch-nightly")),
        ),
        (
            "warning",
            floating.format("alpine:latest", "latest")
            + "; a utility image that carries no torch, CUDA or Python stack",
            9,
            _fix(_own("alpine")),
        ),
        (
            "notice",
            floating.format("acme/x_web:latest", "latest") + BUILT,
            13,
            _fix(_own("acme/x_web"), True),
        ),
        (
            "notice",
            floating.format("acme/svc:latest", "latest") + BUILT,
            14,
            _fix(_own("acme/svc"), True),
        ),
        (
            "notice",
            floating.format("acme/trainer-gpu:latest", "latest") + BUILT,
            15,
            _fix(_own("acme/trainer-gpu"), True),
        ),
        ("error", floating.format("redis:latest", "latest"), 10, _fix(_own("redis"))),
    ]


def test_vg020_exactly_per_environment_kind() -> None:
    auto = Pin(
        "Dockerfile",
        3,
        1,
        "cuda",
        "auto",
        "exact",
        "dockerfile",
        raw="uv pip install --torch-backend=auto torch",
        resolved_from=("torch-backend auto",),
    )
    cuda = Pin(
        "Dockerfile", 1, 1, "cuda", "12.4.1", "exact", "dockerfile", raw="FROM nvidia/cuda:12.4.1"
    )
    cpu = Pin("Dockerfile", 2, 1, "torch", "2.4.1+cpu", "exact", "dockerfile", variant="cpu")
    rocm = Pin(
        "Dockerfile", 4, 1, "torch", "2.4.1+rocm6.1", "exact", "dockerfile", variant="rocm6.1"
    )
    not_auto = Pin("Dockerfile", 5, 1, "cuda", "auto", "exact", "dockerfile")  # not from a backend

    def vg020(kind: str, pins: list[Pin], deployable: bool = True) -> list[tuple[object, ...]]:
        settings = Settings() if deployable else Settings(library=("Dockerfile",))
        scan = ScanResult(".", ("Dockerfile",), tuple(pins), (), (), {"Dockerfile": ()})
        env = Environment("e", kind, "e", kind, ("Dockerfile",), tuple(pins))  # type: ignore[arg-type]
        out = Findings(settings)
        images_check(Context(scan, [env], settings), out)
        return [
            (f.severity, f.message, f.related, f.fix) for f in out.result() if f.rule_id == "VG020"
        ]

    message = "uv picks the torch build from the GPU of the machine that builds this image{}; a build machine without a GPU installs the CPU build"
    assert vg020("docker", [auto, cpu, rocm, cuda]) == [
        (
            "error",
            message.format(" on CUDA 12.4 (Dockerfile:1)"),
            (("Dockerfile", 1),),
            "write --torch-backend=cu124 (the CUDA of the image) instead of auto.",
        )
    ]
    without = [
        (
            "warning",
            message.format(""),
            (),
            "write --torch-backend=cu126 (the CUDA of the image) instead of auto.",
        )
    ]
    assert vg020("devcontainer", [auto, cpu, rocm]) == without
    assert vg020("compose", [auto]) == without
    assert vg020("ci", [auto, cuda]) == []
    assert vg020("docker", [not_auto, cuda]) == []
    assert vg020("docker", [auto, cuda], deployable=False) == []


def test_vg001_a_dotted_dockerfile_name_and_a_registry_path_name_a_local_build() -> None:
    pins = [
        _image("Dockerfile", 1, "acme/base.gpu:latest"),
        _image("Dockerfile", 2, "ghcr.io/acme/trainer:latest"),
    ]
    stages: dict[str, Any] = {"Dockerfile.base.gpu": (), "docker/trainer/Dockerfile": ()}
    scan = ScanResult(".", ("Dockerfile",), tuple(pins), (), (), stages)
    out = Findings(Settings())
    images_check(Context(scan, [], Settings()), out)
    assert [(f.severity, f.line) for f in out.result()] == [("notice", 1), ("notice", 2)]


def test_vg020_points_at_the_first_cuda_pin_only() -> None:
    auto = Pin(
        "Dockerfile",
        3,
        1,
        "cuda",
        "auto",
        "exact",
        "dockerfile",
        raw="uv pip install --torch-backend=auto torch",
        resolved_from=("torch-backend auto",),
    )
    cudas = [
        Pin("Dockerfile", 1, 1, "cuda", "12.4.1", "exact", "dockerfile"),
        Pin("Dockerfile", 2, 1, "cuda", "12.4.1", "exact", "dockerfile"),
    ]
    pins = (auto, *cudas)
    scan = ScanResult(".", ("Dockerfile",), pins, (), (), {"Dockerfile": ()})
    env = Environment("e", "docker", "e", "docker", ("Dockerfile",), pins)
    out = Findings(Settings())
    images_check(Context(scan, [env], Settings()), out)
    [finding] = [f for f in out.result() if f.rule_id == "VG020"]
    assert finding.related == (("Dockerfile", 1),)


def test_vg001_an_image_reference_that_does_not_parse_and_every_source_of_a_value() -> None:
    pins = [
        _image("Dockerfile", 1, "a b", "unpinned"),
        _image("Dockerfile", 2, "foo:", "latest"),
        _image(
            "Dockerfile",
            3,
            "acme/x:latest",
            resolved_from=("ARG A=acme/x (line 1)", "--build-arg A"),
        ),
        _image("Dockerfile", 4, "acme/trainer:latest"),
    ]
    stages: dict[str, Any] = {"ops/docker/trainer/Dockerfile": ()}
    scan = ScanResult(".", ("Dockerfile",), tuple(pins), (), (), stages)
    out = Findings(Settings())
    images_check(Context(scan, [], Settings()), out)
    assert [(f.severity, f.message, f.fix) for f in out.result()] == [
        ("error", "image a b has no tag", "pin a versioned tag (<image>:<version>) or a digest."),
        (
            "error",
            "image foo: uses the floating tag `foo:`",
            "pin a versioned tag (<image>:<version>) or a digest.",
        ),
        (
            "error",
            "image acme/x:latest uses the floating tag `latest` (resolved from ARG A=acme/x (line 1); "
            "--build-arg A)",
            _fix(_own("acme/x")),
        ),
        (
            "notice",
            "image acme/trainer:latest uses the floating tag `latest`" + BUILT,
            _fix(_own("acme/trainer"), True),
        ),
    ]
