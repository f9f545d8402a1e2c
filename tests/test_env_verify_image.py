"""Image mode against the real Docker engine: images built here from the local base image, with a
synthetic torch installed and labels, ENV and tags that tell the truth or lie."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mlops_actions.cli import main
from mlops_actions.env_verify.checks.image import (
    Claim,
    check_require_cuda,
    claims_from_image,
    compare_claims,
)
from tests.support.envs import (
    A100,
    BUILDS,
    run_probe,
    smi_csv,
    write_nvidia_smi,
    write_site_packages,
)

# Until tests/conftest.py registers the Docker fixtures for every module.
pytest_plugins = ["tests.support.act_fixtures"]

# Named like pytorch/pytorch so its tags are read with that scheme; unique per test run.
REPO = f"mlops-actions-test-{uuid.uuid4().hex[:8]}/pytorch"
LYING_TAG = f"{REPO}:2.4.1-cuda12.1-cudnn9-runtime"
HONEST_TAG = f"{REPO}:2.4.1-cuda12.1-cudnn9-devel"
NO_PYTHON_TAG = f"{REPO}:no-python"


def _build(client: Any, context: Path, tag: str, dockerfile: str) -> None:
    # A label unique to this run: other test runs on the same engine build identical images,
    # and their tags on the same image id would be read as claims too.
    dockerfile += f"\nLABEL org.example.test-run={REPO.split('/')[0]}\n"
    (context / "Dockerfile").write_text(dockerfile, encoding="utf-8")
    client.images.build(path=str(context), tag=tag, rm=True, forcerm=True, pull=False)


def _torch_context(root: Path, version: str) -> Path:
    build = dataclasses.replace(
        BUILDS["2.4.1+cu121"],
        version=f"{version}+cu121",
        dist_version=f"{version}+cu121",
        # Only the NVIDIA wheels: torchvision/torchaudio pairings are not what this tests.
        companions=tuple(
            d for d in BUILDS["2.4.1+cu121"].companions if d.name.startswith("nvidia-")
        ),
    )
    write_site_packages(root / "site", build)
    return root


@pytest.fixture(scope="module")
def images(base_image: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    import docker  # type: ignore[import-untyped]

    client = docker.from_env()
    lying = _torch_context(tmp_path_factory.mktemp("lying"), "2.4.0")
    # pytorch/pytorch#91097 in miniature: the tag, label and ENV say 2.4.1; 2.4.0 is installed.
    _build(
        client,
        lying,
        LYING_TAG,
        f"FROM {base_image}\nCOPY site /opt/site\n"
        "ENV PYTHONPATH=/opt/site PYTORCH_VERSION=2.4.1\n"
        "LABEL io.mlops-actions.torch.version=2.4.1 io.mlops-actions.cuda.version=12.1\n",
    )
    honest = _torch_context(tmp_path_factory.mktemp("honest"), "2.4.1")
    _build(
        client,
        honest,
        HONEST_TAG,
        f"FROM {base_image}\nCOPY site /opt/site\n"
        "ENV PYTHONPATH=/opt/site PYTORCH_VERSION=2.4.1\n"
        "LABEL io.mlops-actions.torch.version=2.4.1+cu121 io.mlops-actions.cudnn.version=9.1.0\n",
    )
    bare = tmp_path_factory.mktemp("bare")
    (bare / "hello.txt").write_text("no interpreter here\n", encoding="utf-8")
    _build(client, bare, NO_PYTHON_TAG, "FROM scratch\nCOPY hello.txt /hello.txt\n")
    try:
        yield REPO
    finally:
        for tag in (LYING_TAG, HONEST_TAG, NO_PYTHON_TAG):
            with contextlib.suppress(docker.errors.ImageNotFound):
                client.images.remove(tag, force=True)
        client.close()


def run_image(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    *args: str,
    env: dict[str, str] | None = None,
) -> tuple[int, dict[str, Any], str]:
    environ = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "GITHUB_ACTIONS": "true"}
    if "DOCKER_HOST" in os.environ:
        environ["DOCKER_HOST"] = os.environ["DOCKER_HOST"]
    environ.update(env or {})
    report = tmp_path / "report.json"
    code = main(["env-verify", "--python", sys.executable, "--report", str(report), *args], environ)
    out = capsys.readouterr().out
    document = json.loads(report.read_text(encoding="utf-8")) if report.exists() else {}
    return code, document, out


def statuses(document: dict[str, Any]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for check in document["checks"]:
        out.setdefault(check["id"], []).append(check["status"])
    return out


def test_lying_labels_are_reported(
    images: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, document, out = run_image(tmp_path, capsys, "--image", LYING_TAG)
    assert code == 1, out
    found = statuses(document)
    # The label, the ENV line and the tag each claim 2.4.1.
    assert found["image-claim-torch"] == ["fail", "fail", "fail"], document["image"]
    assert found["image-claim-cuda"] == ["ok", "ok"]
    assert found["image-claim-variant"] == ["ok"]
    assert found["image-claim-cudnn"] == ["ok"]
    errors = [line for line in out.splitlines() if line.startswith("::error")]
    assert len(errors) == 3
    assert any(
        "label io.mlops-actions.torch.version says torch 2.4.1, the image has 2.4.0+cu121" in e
        for e in errors
    )
    assert any("env PYTORCH_VERSION says torch 2.4.1" in e for e in errors)
    assert any(f"tag {LYING_TAG} says torch 2.4.1" in e for e in errors)
    assert document["outputs"]["torch-version"] == "2.4.0+cu121"
    assert document["image"]["interpreter"] == "python3"
    assert document["image"]["labels"]["io.mlops-actions.torch.version"] == "2.4.1"
    # The facts are the image's, not the host's.
    assert document["facts"]["torch"]["package_dir"] == "/opt/site/torch"
    assert document["host_facts"]["python"]["executable"] == sys.executable


def test_consistent_image_passes(
    images: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, document, out = run_image(tmp_path, capsys, "--image", HONEST_TAG, "--torch", "2.4.1")
    assert code == 0, out
    found = statuses(document)
    assert found["image-claim-torch"] == ["ok", "ok", "ok"]
    assert found["torch-version"] == ["ok"]
    assert document["ok"] is True
    labels = document["outputs"]["image-labels"].splitlines()
    assert "io.mlops-actions.torch.version=2.4.1+cu121" in labels


def test_image_without_python(
    images: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, out = run_image(tmp_path, capsys, "--image", NO_PYTHON_TAG)
    assert code == 4
    [error] = [line for line in out.splitlines() if line.startswith("::error")]
    assert "has neither python3 nor python" in error


def test_no_docker_engine_is_exit_4(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, out = run_image(
        tmp_path,
        capsys,
        "--image",
        "example/any:1",
        env={"DOCKER_HOST": f"unix://{tmp_path}/no-docker.sock"},
    )
    assert code == 4
    [error] = [line for line in out.splitlines() if line.startswith("::error")]
    assert "image mode needs a Docker engine and none answers" in error
    assert "Fix: start Docker" in error


# -- what the NVIDIA container toolkit would say, through the real engine ---------------------

CUDA_124_TAG = f"{REPO}:needs-cuda-12.4"
NO_COMPUTE_TAG = f"{REPO}:no-compute"


@pytest.fixture(scope="module")
def nvidia_images(
    images: str, base_image: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """Images carrying the NVIDIA_* settings the official CUDA images set."""
    import docker

    client = docker.from_env()
    honest = _torch_context(tmp_path_factory.mktemp("cuda124"), "2.4.1")
    # What nvidia/cuda:12.4.1-runtime sets: CUDA 12.4, or driver 470 with the forward-compat libs.
    _build(
        client,
        honest,
        CUDA_124_TAG,
        f"FROM {base_image}\nCOPY site /opt/site\nENV PYTHONPATH=/opt/site\n"
        'ENV NVIDIA_REQUIRE_CUDA="cuda>=12.4 brand=tesla,driver>=470,driver<471"\n'
        "ENV NVIDIA_VISIBLE_DEVICES=all NVIDIA_DRIVER_CAPABILITIES=compute,utility\n",
    )
    _build(
        client,
        honest,
        NO_COMPUTE_TAG,
        f"FROM {base_image}\nCOPY site /opt/site\nENV PYTHONPATH=/opt/site\n"
        'ENV NVIDIA_REQUIRE_CUDA="cuda>=12.1"\n'
        "ENV NVIDIA_VISIBLE_DEVICES=all NVIDIA_DRIVER_CAPABILITIES=utility\n",
    )
    try:
        yield REPO
    finally:
        for tag in (CUDA_124_TAG, NO_COMPUTE_TAG):
            with contextlib.suppress(docker.errors.ImageNotFound):
                client.images.remove(tag, force=True)
        client.close()


def gpu_host_facts(tmp_path: Path) -> Path:
    """The runner's probe document: one A100 on driver 535.104.05 (CUDA 12.2), read through a
    real-format nvidia-smi stub. The engine under test has no NVIDIA toolkit."""
    write_nvidia_smi(tmp_path / "host-bin", stdout=smi_csv(A100))
    facts = run_probe([], bin_dirs=[tmp_path / "host-bin"])
    assert facts["gpu"]["count"] == 1
    path = tmp_path / "host.json"
    path.write_text(json.dumps(facts), encoding="utf-8")
    return path


def check(document: dict[str, Any], check_id: str) -> dict[str, Any]:
    [found] = [c for c in document["checks"] if c["id"] == check_id]
    return found


def test_image_needing_a_newer_cuda_than_the_host_driver(
    nvidia_images: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    host = gpu_host_facts(tmp_path)
    code, document, out = run_image(
        tmp_path, capsys, "--image", CUDA_124_TAG, "--facts", str(host), "--torch-optional"
    )
    assert code == 1, out
    required = check(document, "image-require-cuda")
    assert required["status"] == "fail"
    assert "unsatisfied condition: cuda>=12.4" in required["message"]
    assert "the driver supports CUDA 12.2" in required["message"]
    assert required["found"] == "driver 535.104.05 (CUDA 12.2, from the driver table)"
    assert "upgrade the runner's NVIDIA driver" in required["fix"]
    # No NVIDIA toolkit on this engine: the probe ran without GPUs, which is a warning here.
    runtime = check(document, "image-gpu-runtime")
    assert runtime["status"] == "warn"
    assert "cannot pass GPUs to containers" in runtime["message"]
    assert document["image"]["gpus"] is False and document["image"]["gpus_refused"]
    assert check(document, "image-gpu-env")["status"] == "ok"
    assert (
        "NVIDIA_REQUIRE_CUDA=cuda>=12.4 brand=tesla,driver>=470,driver<471"
        in document["image"]["env"]
    )


def test_require_gpu_without_the_nvidia_runtime_fails(
    nvidia_images: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    host = gpu_host_facts(tmp_path)
    code, document, out = run_image(
        tmp_path,
        capsys,
        "--image",
        NO_COMPUTE_TAG,
        "--facts",
        str(host),
        "--require-gpu",
        "--torch-optional",
    )
    assert code == 1, out
    assert check(document, "image-require-cuda")["status"] == "ok"  # 12.2 >= 12.1
    runtime = check(document, "image-gpu-runtime")
    assert runtime["status"] == "fail"
    assert "nvidia-ctk runtime configure" in runtime["fix"]
    caps = check(document, "image-gpu-env")
    assert caps["status"] == "fail"
    assert "lacks `compute`" in caps["message"]
    errors = [line for line in out.splitlines() if line.startswith("::error")]
    assert any("env-verify image-gpu-runtime" in e for e in errors)


# -- claims, without the engine ---------------------------------------------------------------


def test_claims_from_labels_env_and_tags() -> None:
    claims = claims_from_image(
        {
            "io.mlops-actions.torch.version": "2.4.1",
            "io.mlops-actions.python.version": "3.11.9",
            "org.opencontainers.image.version": "2.4.1",
            "org.opencontainers.image.title": "PyTorch runtime",
        },
        ["PATH=/usr/bin", "PYTORCH_VERSION=v2.4.1", "PYTHON_VERSION=3.11.9"],
        ["pytorch/pytorch:2.4.1-cuda12.1-cudnn9-runtime", "ghcr.io/o/train:latest"],
    )
    assert [(c.component, c.value) for c in claims] == [
        ("torch", "2.4.1"),
        ("python", "3.11.9"),
        ("torch", "2.4.1"),
        ("torch", "2.4.1"),
        ("python", "3.11.9"),
        ("torch", "2.4.1"),
        ("variant", "cu121"),
        ("cuda", "12.1"),
        ("cudnn", "9"),
    ]
    # An application image's own version is not a torch claim.
    assert (
        claims_from_image({"org.opencontainers.image.version": "1.0.3"}, [], ["o/app:1.0.3"]) == []
    )


def test_claim_that_is_not_a_version_is_a_warning() -> None:
    facts = {"torch": {"found": True, "version": "2.4.1+cu121", "variant": "cu121"}}
    [result] = compare_claims([Claim("torch", "stable", "label x")], facts)
    assert result.status == "warn"
    [missing] = compare_claims([Claim("torch", "2.4.1", "label x")], {"torch": {"found": False}})
    assert missing.status == "fail"
    assert compare_claims([], facts)[0].status == "skip"


def test_require_cuda_reads_alternatives_like_the_toolkit() -> None:
    """Space-separated alternatives, comma-separated conditions; the driver's own CUDA from
    NVML when the probe has it, else from the driver table."""
    nvml_host = {"gpu": {"cuda_driver_version": "12.4", "driver_version": "550.54.15"}}
    smi_host = {"gpu": {"cuda_driver_version": None, "driver_version": "470.239.06"}}
    needs_124 = {"NVIDIA_REQUIRE_CUDA": "cuda>=12.4 brand=tesla,driver>=470,driver<471"}
    ok = check_require_cuda(needs_124, nvml_host)
    assert (ok.status, ok.message) == ("ok", "the host driver satisfies cuda>=12.4")
    # Driver 470 is CUDA 11.4; only the Tesla forward-compatibility rule could let it start,
    # and the probe does not know the brand: a warning, not a failure.
    maybe = check_require_cuda(needs_124, smi_host)
    assert maybe.status == "warn"
    assert "unless brand=tesla,driver>=470,driver<471 holds" in maybe.message
    refused = check_require_cuda({"NVIDIA_REQUIRE_CUDA": "cuda>=12.4"}, smi_host)
    assert refused.status == "fail"
    assert "unsatisfied condition: cuda>=12.4" in refused.message
    assert refused.found == "driver 470.239.06 (CUDA 11.4, from the driver table)"
    disabled = check_require_cuda({**needs_124, "NVIDIA_DISABLE_REQUIRE": "true"}, smi_host)
    assert disabled.status == "skip"
    assert check_require_cuda({}, nvml_host).status == "skip"
    assert check_require_cuda(needs_124, {"gpu": {"driver_version": None}}).status == "skip"
