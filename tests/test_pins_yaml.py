"""Workflow, conda, compose and devcontainer scanners."""

from __future__ import annotations

from mlops_actions.pins.devcontainer import scan_devcontainer
from mlops_actions.pins.workflow import scan_workflow
from mlops_actions.pins.yamlnodes import scan_compose, scan_conda

MATRIX = """\
on: pull_request
jobs:
  test:
    runs-on: ${{ matrix.runner }}
    container: pytorch/pytorch:${{ matrix.torch }}-cuda${{ matrix.cuda }}-cudnn9-runtime
    strategy:
      matrix:
        torch: ["2.4.1", "2.5.1"]
        cuda: ["12.1", "12.4"]
        runner: [gpu-cu124]
        exclude:
          - torch: "2.5.1"
            cuda: "12.1"
        include:
          - torch: "2.4.1"
            python: "3.12"
          - torch: "2.6.0"
            cuda: "12.6"
            runner: gpu-cu126
    steps:
      - uses: actions/setup-python@v5
        with:
          python-version: |
            3.11
            ${{ matrix.python }}
      - uses: org/repo/env-verify@v1
        with:
          torch: ${{ matrix.torch }}
          cuda: ${{ matrix.cuda }}
          expect-from: repo
"""


def test_matrix_combinations_follow_github_include_exclude() -> None:
    scan = scan_workflow(".github/workflows/ci.yml", MATRIX)
    ids = [g.id.removeprefix("ci:.github/workflows/ci.yml:") for g in scan.groups]
    combos = [
        "test[torch=2.4.1, cuda=12.1, runner=gpu-cu124, python=3.12]",
        "test[torch=2.4.1, cuda=12.4, runner=gpu-cu124, python=3.12]",
        "test[torch=2.5.1, cuda=12.4, runner=gpu-cu124]",
        "test[torch=2.6.0, cuda=12.6, runner=gpu-cu126]",
    ]
    # A container job with setup-python: the image's interpreter and setup-python's are two.
    assert ids == [i for c in combos for i in (c, c + "/setup-python")]


def test_matrix_values_resolve_into_images_inputs_and_labels() -> None:
    scan = scan_workflow(".github/workflows/ci.yml", MATRIX)
    container, last = scan.groups[-2:]
    got = {(p.component, p.value, p.context.split(" ", 2)[-1]) for p in last.pins}
    in_image = {(p.component, p.value, p.context.split(" ", 2)[-1]) for p in container.pins}
    assert ("image", "pytorch/pytorch:2.6.0-cuda12.6-cudnn9-runtime", "container") in in_image
    assert ("torch", "2.6.0", "container") in in_image
    assert not any(p.component == "python" for p in container.pins)
    assert not any(c == "container" for _, _, c in got)
    assert ("torch", "2.6.0", "step #2 env-verify torch") in got
    assert ("cuda", "12.6", "runs-on") in got
    python = [p for p in last.pins if p.component == "python"]
    # matrix.python is not defined for this combination: reported, never guessed.
    assert {(p.value, p.how) for p in python} == {
        ("3.11", "exact"),
        ("${{ matrix.python }}", "unresolved"),
    }
    first = scan.groups[1]
    py = sorted((p.line, p.value) for p in first.pins if p.component == "python")
    assert py == [(16, "3.12"), (24, "3.11"), (25, "3.12")]
    matrix_torch = [p for p in scan.pins if p.context == "job test matrix.torch"]
    assert [(p.line, p.col, p.value) for p in matrix_torch] == [(8, 18, "2.4.1"), (8, 27, "2.5.1")]


def test_workflow_expression_matrix_and_plain_jobs() -> None:
    scan = scan_workflow(
        "w.yml",
        "jobs:\n  a:\n    runs-on: ubuntu-latest\n    strategy:\n      matrix: ${{ fromJSON(x) }}\n"
        "    container:\n      image: nvidia/cuda:${{ matrix.v }}\n"
        "    services:\n      db:\n        image: postgres:16\n"
        "  b:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo hi\n",
    )
    image = next(p for p in scan.pins if p.context == "job a container")
    assert image.how == "unresolved" and image.reason and "expression" in image.reason
    assert any(p.value == "postgres:16" for p in scan.pins)
    assert [g.name for g in scan.groups] == ["a"]


def test_workflow_docker_build_links_and_pip_installs() -> None:
    scan = scan_workflow(
        "w.yml",
        "env:\n  CUDA: '12.4'\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: |\n"
        "          docker build -f docker/Dockerfile --build-arg CUDA=${{ env.CUDA }} "
        "-t ghcr.io/a/b:1 .\n"
        "          pip install -r requirements/ci.txt torch==2.5.1\n",
    )
    builds = [ln for ln in scan.links if ln.kind == "builds"]
    assert [(ln.dst, ln.build_args, ln.images, ln.line) for ln in builds] == [
        ("docker/Dockerfile", (("CUDA", "12.4"),), ("ghcr.io/a/b:1",), 8)
    ]
    installs = [ln.dst for ln in scan.links if ln.kind == "installs"]
    assert installs == ["requirements/ci.txt"]
    torch = next(p for p in scan.pins if p.component == "torch")
    assert (torch.line, torch.col) == (9, 46)


def test_workflow_invalid_yaml_is_an_error() -> None:
    scan = scan_workflow("w.yml", "jobs: [\n")
    assert scan.pins == () and len(scan.errors) == 1 and scan.errors[0].file == "w.yml"


def test_conda_environment() -> None:
    scan = scan_conda(
        "env/environment.yml",
        "name: gpu\ndependencies:\n  - python=3.10\n  - pytorch::pytorch=2.1.0\n"
        "  - pytorch-cuda=12.1\n  - cudatoolkit=11.8\n  - numpy\n  - pip:\n"
        "    - --extra-index-url https://download.pytorch.org/whl/cu121\n"
        "    - torchvision==0.16.0\n    - -r requirements.txt\n",
    )
    got = [(p.component, p.value, p.line) for p in scan.pins]
    assert got[:4] == [
        ("python", "3.10", 3),
        ("torch", "2.1.0", 4),
        ("cuda", "12.1", 5),
        ("cuda", "11.8", 6),
    ]
    vision = next(p for p in scan.pins if p.component == "torchvision")
    assert (vision.line, vision.variant, vision.context) == (10, "cu121", "conda env gpu pip")
    assert [(ln.kind, ln.dst, ln.line) for ln in scan.links] == [
        ("installs", "env/requirements.txt", 11)
    ]
    assert scan_conda("environment.yml", "name: x\ndependencies: [numpy]\n").pins == ()


def test_compose_images_and_builds() -> None:
    scan = scan_compose(
        "deploy/compose.yaml",
        "services:\n  api:\n    image: pytorch/pytorch:2.4.0-cuda12.4-cudnn9-runtime\n"
        "  worker:\n    build:\n      context: ..\n      dockerfile: docker/Dockerfile\n"
        "      args:\n        CUDA: '12.4'\n  web:\n    image: ${WEB_IMAGE}\n",
    )
    assert {p.component for p in scan.pins if p.line == 3} == {"image", "torch", "cuda", "cudnn"}
    web = next(p for p in scan.pins if p.line == 11)
    assert web.how == "unresolved"
    (build,) = [ln for ln in scan.links if ln.kind == "builds"]
    assert (build.dst, build.build_args, build.build_context) == (
        "docker/Dockerfile",
        (("CUDA", "12.4"),),
        ".",
    )


def test_devcontainer_with_comments() -> None:
    text = (
        '// top comment\n{\n  "image": "nvidia/cuda:12.4.1-cudnn-devel-ubuntu22.04", // x\n'
        '  "features": {\n    "ghcr.io/devcontainers/features/nvidia-cuda:1": '
        '{"cudaVersion": "12.4", "cudnnVersion": "8.9.7.29"},\n  },\n}\n'
    )
    scan = scan_devcontainer(".devcontainer/devcontainer.json", text)
    got = [(p.component, p.value, p.line) for p in scan.pins]
    assert ("image", "nvidia/cuda:12.4.1-cudnn-devel-ubuntu22.04", 3) in got
    assert ("cuda", "12.4", 5) in got and ("cudnn", "8.9.7.29", 5) in got
    image = next(p for p in scan.pins if p.component == "image")
    assert image.col == 13
    bad = scan_devcontainer(".devcontainer/devcontainer.json", "{ nope")
    assert bad.pins == () and bad.errors
    assert scan_devcontainer(".devcontainer.json", '{"name": "x"}').pins == ()
