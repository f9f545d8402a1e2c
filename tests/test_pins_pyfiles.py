"""requirements, pyproject.toml, setup.cfg and .python-version scanners."""

from __future__ import annotations

from mlops_actions.pins.pyfiles import (
    scan_pyproject,
    scan_python_version,
    scan_requirements,
    scan_setup_cfg,
)


def test_requirements_pins_index_markers_and_includes() -> None:
    scan = scan_requirements(
        "reqs/gpu.txt",
        "# gpu\n"
        "--index-url https://download.pytorch.org/whl/cu124\n"
        "-r ../base.txt\n"
        "-c constraints.txt\n"
        "torch==2.4.1 ; sys_platform == 'linux'  # pinned\n"
        "torchvision==0.19.1 \\\n"
        "    --hash=sha256:abc\n"
        "numpy\n",
    )
    torch = next(p for p in scan.pins if p.component == "torch")
    assert (torch.line, torch.col, torch.value, torch.variant) == (5, 1, "2.4.1", "cu124")
    assert torch.context == "marker sys_platform == 'linux'"
    vision = next(p for p in scan.pins if p.component == "torchvision")
    assert vision.value == "0.19.1" and vision.line == 6
    cuda = next(p for p in scan.pins if p.component == "cuda")
    assert (cuda.line, cuda.col, cuda.value) == (2, 13, "12.4")
    assert [(ln.kind, ln.dst, ln.context) for ln in scan.links] == [
        ("includes", "base.txt", "-r"),
        ("includes", "reqs/constraints.txt", "-c"),
    ]


def test_requirements_local_versions_find_links_and_errors() -> None:
    scan = scan_requirements(
        "requirements.txt",
        "-f https://download.pytorch.org/whl/torch_stable.html\n"
        "torch==2.0.1+cu117\n"
        "--extra-index-url https://download.pytorch.org/whl/cpu\n"
        "--extra-index-url https://download.pytorch.org/whl/cu121\n"
        "torchaudio\n"
        "torch==\n"
        "torch==${TORCH_VERSION}\n",
    )
    torch = [p for p in scan.pins if p.component == "torch"]
    assert [(p.value, p.how, p.variant) for p in torch] == [
        ("2.0.1+cu117", "exact", "cu117"),
        ("torch==${TORCH_VERSION}", "unresolved", None),
    ]
    audio = next(p for p in scan.pins if p.component == "torchaudio")
    assert audio.how == "unpinned" and audio.variant is None  # two indexes: no guess
    assert len(scan.errors) == 1 and scan.errors[0].line == 6


def test_requirements_without_tracked_packages() -> None:
    scan = scan_requirements("requirements.txt", "numpy==1.26\nrequests>=2\n-e .\n")
    assert scan.pins == () and scan.errors == ()


def test_pyproject_pep621_groups_poetry_and_uv() -> None:
    text = (
        "[project]\n"
        'name = "x"\n'
        'requires-python = ">=3.10"\n'
        'dependencies = ["torch==2.5.1", "numpy"]\n'
        "[project.optional-dependencies]\n"
        'vision = ["torchvision==0.20.1"]\n'
        "[dependency-groups]\n"
        'dev = ["torchaudio>=2.5", {include-group = "x"}]\n'
        "[tool.poetry.dependencies]\n"
        'python = "^3.10"\n'
        'torch = {version = "2.5.1+cu124", source = "torch-cu124"}\n'
        "[[tool.poetry.source]]\n"
        'name = "torch-cu124"\n'
        'url = "https://download.pytorch.org/whl/cu124"\n'
    )
    scan = scan_pyproject("pyproject.toml", text)
    got = {(p.component, p.value, p.how, p.context, p.line) for p in scan.pins}
    assert ("torch", "2.5.1", "exact", "dependencies", 4) in got
    assert ("python", ">=3.10", "range", "requires-python", 3) in got
    assert ("torchvision", "0.20.1", "exact", "extra vision", 6) in got
    assert ("torchaudio", ">=2.5", "range", "group dev", 8) in got
    assert ("python", "^3.10", "range", "poetry", 10) in got
    poetry_torch = next(p for p in scan.pins if p.context == "poetry" and p.component == "torch")
    assert (poetry_torch.value, poetry_torch.variant, poetry_torch.line) == (
        "2.5.1+cu124",
        "cu124",
        11,
    )
    assert any(p.component == "cuda" and p.value == "12.4" for p in scan.pins)


def test_pyproject_invalid_and_empty() -> None:
    bad = scan_pyproject("pyproject.toml", "[project\nname=1\n")
    assert bad.pins == () and len(bad.errors) == 1 and "invalid TOML" in bad.errors[0].message
    assert scan_pyproject("pyproject.toml", '[project]\nname = "x"\n').pins == ()


def test_setup_cfg() -> None:
    scan = scan_setup_cfg(
        "setup.cfg",
        "[metadata]\nname = x\n[options]\npython_requires = >=3.9\ninstall_requires =\n"
        "    torch>=2.0\n    numpy\n[options.extras_require]\naudio =\n    torchaudio==2.1.0\n",
    )
    got = [(p.component, p.value, p.line, p.context) for p in scan.pins]
    assert got == [
        ("torch", ">=2.0", 6, "install_requires"),
        ("python", ">=3.9", 4, "python_requires"),
        ("torchaudio", "2.1.0", 10, "extra audio"),
    ]
    assert scan_setup_cfg("setup.cfg", "[metadata]\nname = x\n").pins == ()


def test_python_version_file() -> None:
    (pin,) = scan_python_version(".python-version", "\n3.11.9\n").pins
    assert (pin.line, pin.value, pin.how) == (2, "3.11.9", "exact")
    assert scan_python_version(".python-version", "").pins == ()


def test_pyproject_dynamic_dependencies_are_metadata_reads() -> None:
    text = (
        '[project]\nname = "x"\ndynamic = ["dependencies", "optional-dependencies"]\n'
        "[tool.setuptools.dynamic]\n"
        'dependencies = {file = ["requirements/base.txt"]}\n'
        'optional-dependencies.gpu = {file = ["requirements/gpu.txt"]}\n'
    )
    scan = scan_pyproject("pkg/pyproject.toml", text)
    assert [(ln.kind, ln.dst, ln.line) for ln in scan.links] == [
        ("reads", "pkg/requirements/base.txt", 5),
        ("reads", "pkg/requirements/gpu.txt", 6),
    ]
