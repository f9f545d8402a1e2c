"""Dockerfile scanner: lexing, ARG resolution, stages, RUN installs."""

from __future__ import annotations

from mlops_actions.pins.dockerfile import lex, scan_dockerfile
from mlops_actions.pins.model import Pin


def _pins(text: str, **kw: object) -> list[Pin]:
    return list(scan_dockerfile("Dockerfile", text, **kw).pins)  # type: ignore[arg-type]


def _find(pins: list[Pin], component: str, line: int | None = None) -> list[Pin]:
    return [p for p in pins if p.component == component and (line is None or p.line == line)]


def test_from_with_composed_args_and_build_arg_override() -> None:
    text = (
        "ARG CUDA=12.1\n"
        "ARG TORCH=2.3.1\n"
        "ARG BASE=pytorch/pytorch:${TORCH}-cuda${CUDA}-cudnn8-runtime\n"
        "FROM ${BASE} AS base\n"
    )
    pins = _pins(text)
    (image,) = _find(pins, "image")
    assert image.value == "pytorch/pytorch:2.3.1-cuda12.1-cudnn8-runtime"
    assert (image.line, image.col) == (4, 6)
    assert "TORCH=2.3.1" in image.resolved_from[0]
    (torch,) = _find(pins, "torch", 4)
    assert torch.derived_from == image.value and torch.variant == "cu121"
    overridden = _pins(text, build_args={"CUDA": "11.8"})
    (cuda,) = _find(overridden, "cuda", 4)
    assert cuda.value == "11.8"
    assert _find(overridden, "cuda", 1)[0].resolved_from == ("build arg CUDA=11.8",)


def test_conditional_substitutions() -> None:
    text = (
        "ARG CUDA\n"
        "ARG SUFFIX=${CUDA:+-cuda${CUDA}-cudnn9}\n"
        "FROM pytorch/pytorch:2.4.0${SUFFIX}-runtime\n"
    )
    cpu = _find(_pins(text), "torch", 3)
    assert [(p.value, p.variant) for p in cpu] == [("2.4.0", "cpu")]
    gpu = _pins(text, build_args={"CUDA": "12.4"})
    assert [(p.value, p.variant) for p in _find(gpu, "torch", 3)] == [("2.4.0", "cu124")]
    fallback = _pins("ARG V\nFROM python:${V:-3.11}-slim\n")
    assert _find(fallback, "python")[0].value == "3.11"


def test_unresolved_arg_is_reported_not_guessed() -> None:
    pins = _pins("ARG TAG\nFROM pytorch/pytorch:${TAG}\n")
    (image,) = _find(pins, "image")
    assert image.how == "unresolved"
    assert image.reason is not None and "TAG has no value" in image.reason
    latest = _pins("ARG V=latest\nFROM nvidia/cuda:${V}\n")
    assert _find(latest, "image")[0].how == "latest"


def test_stage_args_are_not_global() -> None:
    pins = _pins("FROM python:3.11\nARG V=3.10\nFROM python:${V}\n")
    assert _find(pins, "image", 3)[0].how == "unresolved"


def test_stage_alias_platform_and_digest() -> None:
    scan = scan_dockerfile(
        "Dockerfile",
        "FROM --platform=$BUILDPLATFORM nvidia/cuda:12.1.1-devel-ubuntu22.04@sha256:0f AS build\n"
        "FROM build AS final\n"
        "COPY --from=build /x /x\n",
    )
    images = _find(list(scan.pins), "image")
    assert len(images) == 1 and images[0].how == "digest"
    assert "--platform=$BUILDPLATFORM" in images[0].resolved_from
    assert dict(scan.stages) == {"build": (), "final": ("build",)}


def test_run_pip_with_continuations_comments_and_index() -> None:
    text = (
        "FROM python:3.11\n"
        "ARG TORCH=2.1.0\n"
        "RUN pip install --no-cache-dir \\\n"
        "    # the wheel\n"
        "\n"
        "    torch==${TORCH} \\\n"
        "    torchvision==0.16.0 \\\n"
        "    --index-url https://download.pytorch.org/whl/cu121\n"
    )
    pins = _pins(text)
    assert [p.line for p in _find(pins, "torch")] == [2, 6]
    (torch,) = _find(pins, "torch", 6)
    assert (torch.line, torch.col, torch.value, torch.variant) == (6, 5, "2.1.0", "cu121")
    assert any("TORCH=2.1.0" in r for r in torch.resolved_from)
    (index,) = _find(pins, "cuda")
    assert (index.line, index.value) == (8, "12.1")


def test_run_exec_form_apt_and_encoded_wheel() -> None:
    text = (
        "FROM ubuntu:22.04\n"
        'RUN ["pip", "install", "torch==2.4.1"]\n'
        "RUN apt-get install -y cuda-toolkit-12-8 && echo done\n"
        "RUN pip3 install https://download.pytorch.org/whl/cu118/"
        "torch-2.0.1%2Bcu118-cp310-cp310-linux_x86_64.whl\n"
    )
    pins = _pins(text)
    assert [p.value for p in _find(pins, "torch")] == ["2.4.1", "2.0.1+cu118"]
    assert [(p.line, p.value) for p in _find(pins, "cuda")] == [(3, "12.8")]


def test_env_versions_and_undeclared_variables() -> None:
    pins = _pins(
        "FROM ubuntu:22.04\n"
        "ENV CUDA_VERSION=12.4.1 PYTHON_VERSION=3.12\n"
        "ENV LANG C.UTF-8\n"
        "RUN pip install torch==$TORCH_VERSION\n"
    )
    assert _find(pins, "cuda")[0].value == "12.4.1"
    assert _find(pins, "python")[0].value == "3.12"
    (torch,) = _find(pins, "torch")
    assert torch.how == "unresolved" and torch.reason and "base image" in torch.reason


def test_escape_directive_and_heredoc() -> None:
    insts = lex("# escape=`\nFROM a\nRUN echo `\n  hi\nRUN <<EOF\npip install torch==2.2.0\nEOF\n")
    assert [i.keyword for i in insts] == ["FROM", "RUN", "RUN"]
    assert insts[1].args == "echo   hi"
    pins = _pins("FROM python:3.11\nRUN <<EOF\npip install torch==2.2.0\nEOF\n")
    assert [(p.line, p.value) for p in _find(pins, "torch")] == [(3, "2.2.0")]


def test_copy_resolves_installed_requirement_files() -> None:
    scan = scan_dockerfile(
        "docker/Dockerfile",
        "FROM python:3.11\nWORKDIR /app\nCOPY reqs/ ./reqs/\nRUN pip install -r reqs/gpu.txt\n",
        exists=lambda p: p == "reqs/gpu.txt",
    )
    assert [(ln.kind, ln.dst) for ln in scan.links] == [("installs", "reqs/gpu.txt")]


def test_no_pins_in_unrelated_dockerfile() -> None:
    pins = _pins("FROM scratch\nCOPY app /app\nRUN echo torch==1.0\nENV FOO=1\n")
    assert pins == []


def test_bind_mounted_script_and_unmapped_image_paths() -> None:
    scan = scan_dockerfile(
        "docker/Dockerfile",
        "FROM python:3.11\n"
        "RUN --mount=type=bind,source=docker/nccl.sh,target=/opt/nccl.sh bash /opt/nccl.sh\n"
        "RUN bash /opt/unmapped.sh\n",
        exists=lambda p: p == "docker/nccl.sh",
    )
    assert [(ln.kind, ln.dst, ln.line) for ln in scan.links] == [
        ("installs", "docker/nccl.sh", 2),
        ("installs", "/opt/unmapped.sh", 3),
    ]


def test_os_python_gives_way_to_conda_and_other_installers() -> None:
    base = "FROM nvidia/cuda:12.1.0-cudnn8-devel-ubuntu20.04\n"
    assert [p.value for p in _pins(base) if p.component == "python"] == ["3.8"]
    conda = base + "RUN bash Miniconda3-py310_23.1.0-1-Linux-x86_64.sh -b -p /opt/conda\n"
    assert [p for p in _pins(conda) if p.component == "python"] == []
