"""Constructs users ask peers about, as the scanners record them (fixture: vg-constructs)."""

from __future__ import annotations

from unittest import mock

from mlops_actions.pins import shell, workflow
from mlops_actions.pins.dockerfile import scan_dockerfile
from mlops_actions.pins.matrix import MAX_MATRIX_JOBS
from mlops_actions.pins.model import Pin
from mlops_actions.pins.values import (
    PYTORCH_CHANNEL,
    YAML_NUMBER,
    decode_conda_spec,
    decode_image,
    decode_requirement,
)
from mlops_actions.pins.workflow import scan_workflow
from tests.support.version_guard import REPOS, scanned

FIXTURE = REPOS / "vg-constructs"


def _workflow(name: str) -> workflow.FileScan:
    path = f".github/workflows/{name}"
    return scan_workflow(path, (FIXTURE / path).read_text(encoding="utf-8"))


def _pins(file: str) -> list[Pin]:
    return [p for p in scanned("vg-constructs").pins if p.file == file]


def test_unquoted_python_version_is_read_as_github_reads_it() -> None:
    (py,) = [p for p in _workflow("python-float.yml").pins if p.component == "python"]
    assert (py.value, py.raw, py.line, py.col) == ("3.1", "3.10", 10, 27)
    assert py.resolved_from[0].startswith(YAML_NUMBER)
    # Quoted, or a number YAML keeps as written: no note.
    text = "jobs:\n  a:\n    runs-on: x\n    steps:\n      - with: {python-version: 3.9}\n"
    (kept,) = scan_workflow(".github/workflows/a.yml", text).pins
    assert (kept.value, kept.resolved_from) == ("3.9", ())


def test_setup_python_steps_under_different_if_are_alternatives() -> None:
    scan = _workflow("alternatives.yml")
    groups = [g for g in scan.groups if "os=ubuntu-latest" in g.id]
    assert [g.id.rsplit("]", 2)[-2].split("[if: ")[-1] for g in groups] == [
        "runner.os == 'Linux'",
        "runner.os != 'Linux'",
    ]
    for group, python in zip(groups, ("3.12", "3.11"), strict=True):
        assert {p.value for p in group.pins if p.component == "python"} == {python}
        assert {p.value for p in group.pins if p.component == "torch"} == {"2.5.1"}
    conditions = {p.condition for p in scan.pins if p.component == "python"}
    assert conditions == {"runner.os == 'Linux'", "runner.os != 'Linux'"}


def test_setup_python_in_a_container_job_is_another_interpreter() -> None:
    scan = _workflow("container.yml")
    image, steps = scan.groups
    assert image.id == "ci:.github/workflows/container.yml:gpu"
    assert {p.component for p in image.pins} == {"image", "torch", "cuda", "cudnn"}
    assert steps.id == image.id + "/setup-python"
    assert [(p.component, p.value) for p in steps.pins] == [("python", "3.12")]


def test_matrix_entries_are_compared_one_entry_at_a_time() -> None:
    scan = _workflow("matrix-entry.yml")
    entries = {
        next(p.value for p in g.pins if p.component == "torch" and p.context.endswith("step #1")): {
            p.value for p in g.pins if p.component == "cuda" and "matrix" in p.context
        }
        for g in scan.groups
    }
    assert entries == {"2.4.1": {"12.8"}, "2.7.0": {"12.8"}}  # `12-8` read as CUDA 12.8


def test_a_six_key_matrix_scans_each_run_step_once_per_distinct_value() -> None:
    keys = "\n".join(f"        k{i}: [a, b]" for i in range(5))
    text = (
        "jobs:\n  t:\n    runs-on: x\n    strategy:\n      matrix:\n"
        f'        torch: ["2.4.1", "2.5.1"]\n{keys}\n'
        "    steps:\n      - run: pip install torch==${{ matrix.torch }}\n"
        "      - run: echo ${{ matrix.k0 }}\n"
    )
    with mock.patch.object(workflow, "scan_shell", wraps=shell.scan_shell) as spy:
        scan = scan_workflow(".github/workflows/m.yml", text)
    assert len(scan.groups) == 64
    # Two torch values for the install step, two k0 values for the echo step.
    assert spy.call_count == 4
    torches = {p.value for g in scan.groups for p in g.pins if p.component == "torch"}
    assert torches == {"2.4.1", "2.5.1"}


def test_a_matrix_past_githubs_limit_is_refused_and_reported() -> None:
    keys = "\n".join(f"        k{i}: [a, b, c, d]" for i in range(5))
    text = f"jobs:\n  t:\n    runs-on: x\n    strategy:\n      matrix:\n{keys}\n"
    text += "    steps:\n      - run: pip install torch==2.4.1\n"
    scan = scan_workflow(".github/workflows/big.yml", text)
    # GitHub refuses such a run: the job is read once, without its matrix, and the scan says so.
    assert len(scan.groups) == 1
    (error,) = scan.errors
    assert f"more than {MAX_MATRIX_JOBS} jobs" in error.message and error.line == 6


def test_floating_tags_besides_latest() -> None:
    hows = {p.value: p.how for p in _pins("docker/floating.Dockerfile") if p.component == "image"}
    assert hows == {
        "tensorflow/tensorflow:latest-gpu": "latest",
        "rayproject/ray:nightly-py310-cu121": "latest",
        "ghcr.io/acme/trainer:2024-latest": "latest",
    }
    assert decode_image("python:3.11-slim")[0].how == "exact"
    assert decode_image("nvidia/cuda:12.1.1-devel-ubuntu22.04")[0].how == "exact"


def test_python_from_the_base_images_os_unless_another_is_installed() -> None:
    (py,) = [p for p in _pins("docker/os-python.Dockerfile") if p.component == "python"]
    assert (py.value, py.line) == ("3.6", 1)
    assert py.reason is not None and "ubuntu 18.04" in py.reason
    # get-pip.Dockerfile installs Python 3.8 on ubuntu:22.04: the OS's 3.10 is dropped.
    got = {(p.line, p.value) for p in _pins("docker/get-pip.Dockerfile") if p.component == "python"}
    assert got == {(2, "3.8"), (3, "3.8")}  # apt python3.8, get-pip for 3.8
    debian = scan_dockerfile("Dockerfile", "FROM debian:bookworm-slim\n").pins
    assert [(p.component, p.value) for p in debian if p.component == "python"] == [
        ("python", "3.11")
    ]


def test_conda_forge_build_strings_and_the_pytorch_channel() -> None:
    forge = [
        (p.value, p.how, p.variant)
        for p in _pins("conda/environment-forge.yml")
        if p.component == "torch"
    ]
    assert forge == [(">=2.5", "range", "cu126"), ("2.5.1", "exact", "cu118")]
    legacy = _pins("conda/environment-pytorch-channel.yml")
    torch = next(p for p in legacy if p.component == "torch")
    assert PYTORCH_CHANNEL in torch.resolved_from
    cuda = next(p for p in legacy if p.component == "cuda")
    assert (cuda.value, cuda.raw) == ("12.4", "pytorch-cuda=12.4")
    assert not any(PYTORCH_CHANNEL in p.resolved_from for p in _pins("conda/environment-forge.yml"))
    bracket = decode_conda_spec("conda-forge::pytorch[version='2.5.1',build='cuda126*']")
    assert not isinstance(bracket, str) and bracket is not None
    assert (bracket.value, bracket.variant) == ("2.5.1", "cu126")


def test_cuda_library_wheels_and_invalid_local_specifiers_are_recorded() -> None:
    libs = {(p.component, p.value) for p in _pins("requirements/cudnn.txt")}
    assert {("cudnn", "8.9.7.29"), ("nccl", "2.18.1")} <= libs
    (bad,) = _pins("requirements/invalid-local.txt")
    assert (bad.component, bad.how, bad.variant) == ("torch", "invalid", "cpu")
    assert scanned("vg-constructs").errors == ()
    # Valid forms stay valid.
    (exact,) = decode_requirement("torch==2.12.0+cpu")  # type: ignore[misc]
    assert exact.how == "exact"
    assert isinstance(decode_requirement("torch>=2.1 junk"), str)
