"""Pin-bearing files beyond the usual names: setup.py, local composite actions, scripts that
images and jobs run, and the project ``pip install .`` pulls in."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from mlops_actions.pins import environments, scan_repo
from mlops_actions.pins.model import Pin, ScanResult
from mlops_actions.pins.scripts import scan_script
from mlops_actions.pins.setuppy import scan_setup_py
from mlops_actions.pins.workflow import scan_action

REPO = Path(__file__).parent / "fixtures" / "repos" / "vg-scan-forms"


def _scan() -> ScanResult:
    return scan_repo(REPO)


def _at(pins: tuple[Pin, ...] | list[Pin], file: str) -> set[tuple[int, str, str]]:
    return {(p.line, p.component, p.value) for p in pins if p.file == file}


def test_setup_py_is_read_with_ast() -> None:
    result = _scan()
    assert result.errors == ()
    assert _at(result.pins, "setup.py") == {
        (15, "python", ">=3.9"),
        (16, "torch", "2.4.1"),
        (10, "torchvision", "0.19.1"),  # VISION, bound at line 10
        (18, "cudnn", "9.1.0.70"),
        (19, "torchaudio", "2.4.1"),
    }
    vision = next(p for p in result.pins if p.file == "setup.py" and p.component == "torchvision")
    assert vision.resolved_from == ("VISION (line 10)",) and vision.context == "install_requires"
    # The requirement file setup.py opens is metadata, and part of the project environment.
    assert result.metadata_files == ("requirements/runtime.txt",)
    envs = {e.id: e for e in environments(result)}
    assert "requirements:requirements/runtime.txt" not in envs
    assert envs["project:setup.py"].files == ("setup.py", "requirements/runtime.txt")


def test_setup_py_is_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    text = (
        f"import os\nos.system('touch {marker}')\nopen({str(marker)!r}, 'w')\n"
        "from setuptools import setup\nsetup(install_requires=['torch==2.1.0'])\n"
    )
    scan = scan_setup_py("setup.py", text)
    assert [(p.component, p.value, p.line) for p in scan.pins] == [("torch", "2.1.0", 5)]
    assert not marker.exists()


def test_setup_py_forms_and_errors() -> None:
    text = (
        "from pathlib import Path\nimport setuptools\n"
        "BASE = ['numpy', 'torch>=2.0']\n"
        "def reqs(p):\n    return Path(p).read_text().splitlines()\n"
        "setuptools.setup(\n"
        "    install_requires=BASE + reqs('requirements/extra.txt'),\n"
        "    extras_require={'dev': reqs(Path(__file__).parent / 'requirements-dev.txt')},\n"
        "    python_requires='>=3.10',\n"
        ")\n"
    )
    scan = scan_setup_py("pkg/setup.py", text)
    assert [(p.component, p.value, p.context) for p in scan.pins] == [
        ("torch", ">=2.0", "install_requires"),
        ("python", ">=3.10", "python_requires"),
    ]
    assert [ln.dst for ln in scan.links] == [
        "pkg/requirements/extra.txt",
        "pkg/requirements-dev.txt",
    ]
    (error,) = scan_setup_py("setup.py", "setup(install_requires=[\n").errors
    assert error.file == "setup.py" and "read, never run" in error.message
    deep = scan_setup_py("setup.py", "x = " + " / ".join(["'a'"] * 5000) + "\n")
    assert len(deep.errors) <= 1


def test_scripts_that_images_and_jobs_run_are_scanned() -> None:
    result = _scan()
    # RUN bash /opt/scripts/install.sh after COPY scripts/ /opt/scripts/.
    assert _at(result.pins, "scripts/install.sh") == {(5, "torchvision", "0.19.1")}
    (vision,) = [p for p in result.pins if p.file == "scripts/install.sh"]
    assert vision.resolved_from == ("VISION=0.19.1",) and vision.source == "script"
    # run: ./ci/install.sh with conda run -n ci pip install.
    assert _at(result.pins, "ci/install.sh") == {(2, "torch", "2.4.1+cpu")}
    envs = {e.id: e for e in environments(result)}
    assert "scripts/install.sh" in envs["docker:docker/Dockerfile"].files
    assert "ci/install.sh" in envs["ci:.github/workflows/ci.yml:test"].files


def test_dockerfile_shell_forms() -> None:
    pins = _at(_scan().pins, "docker/Dockerfile")
    assert (6, "torch", "2.4.1+cu121") in pins  # then-branch, pip${PYTHON_VERSION}
    assert (8, "torch", "2.4.1") in pins  # else-branch, python3.10 -m pip
    assert (10, "torchaudio", "2.4.1") in pins  # && python -m uv pip install ... || true


def test_pip_install_dot_pulls_project_requirements_into_the_image() -> None:
    result = _scan()
    line13 = [p for p in result.pins if p.file == "docker/Dockerfile" and p.line == 13]
    # install_requires (with the file it reads) and the [audio] extra; not the gpu extra. The
    # file's torch>=2.1 is decided by install_requires' torch==2.4.1 in the same install.
    assert {(p.component, p.value) for p in line13} == {
        ("torch", "2.4.1"),
        ("torchvision", "0.19.1"),
        ("torchaudio", "2.4.1"),
    }
    assert all(p.context == "stage 0" and p.source == "dockerfile" for p in line13)
    torch = next(p for p in line13 if p.value == "2.4.1" and p.component == "torch")
    expected = "setup.py:16 (install_requires) via pip install of the project [audio]"
    assert torch.resolved_from[-1] == expected


def test_local_composite_action_joins_the_job_that_uses_it() -> None:
    result = _scan()
    assert _at(result.pins, ".github/actions/setup-env/action.yml") == {
        (12, "python", "3.11"),
        (14, "torch", "2.4.1"),
    }
    py = next(p for p in result.pins if p.file.endswith("action.yml") and p.component == "python")
    assert py.resolved_from == ("input python-version default=3.11",)
    envs = {e.id: e for e in environments(result)}
    job = envs["ci:.github/workflows/ci.yml:test"]
    got = {(p.file, p.component, p.value) for p in job.pins}
    assert (".github/actions/setup-env/action.yml", "python", "3.11") in got
    assert (".github/actions/setup-env/action.yml", "torch", "2.4.1") in got
    # pip install -e .[gpu]: the project's requirements and the gpu extra join the job.
    assert (".github/workflows/ci.yml", "cudnn", "9.1.0.70") in got
    assert (".github/workflows/ci.yml", "torch", "2.4.1") in got
    assert not any(e.startswith("action:") for e in envs)


def test_exclude_wins_over_installs_runs_and_reads() -> None:
    result = scan_repo(REPO, exclude=["requirements", "ci/install.sh"])
    assert "requirements/runtime.txt" not in result.files
    assert "ci/install.sh" not in result.files
    assert not any(p.file in {"requirements/runtime.txt", "ci/install.sh"} for p in result.pins)
    # Nor do its pins come back through the project install that reads it.
    assert not any("requirements/runtime.txt" in r for p in result.pins for r in p.resolved_from)


@given(st.text(max_size=300))
def test_new_scanners_are_total(text: str) -> None:
    # Whatever the text: records or one-line errors, never an exception.
    for scan in (
        scan_setup_py("setup.py", text),
        scan_setup_py("setup.py", "setup(install_requires=[" + repr(text) + "])\n"),
        scan_script("ci/install.sh", text),
        scan_action(".github/actions/a/action.yml", text),
        scan_action(".github/actions/a/action.yml", "runs:\n  using: composite\n  steps:\n" + text),
    ):
        assert all("\n" not in e.message for e in scan.errors)


def test_a_project_install_of_ranges_only_keeps_them(tmp_path: Path) -> None:
    # Without an exact pin beside it, a range pulled into an image stays a range (VG002's case).
    (tmp_path / "Dockerfile").write_text(
        "FROM python:3.11\nCOPY . /app\nWORKDIR /app\nRUN pip install .\n", encoding="utf-8"
    )
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\ndependencies = ["torch>=2.1"]\n', encoding="utf-8"
    )
    result = scan_repo(tmp_path)
    (torch,) = [p for p in result.pins if p.file == "Dockerfile" and p.component == "torch"]
    assert (torch.line, torch.how, torch.value) == (4, "range", ">=2.1")


def test_an_image_that_already_pins_torch_decides_a_projects_range(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text(
        "FROM pytorch/pytorch:2.4.1-cuda12.1-cudnn9-runtime\nWORKDIR /app\nCOPY . .\n"
        "RUN pip install .[train]\nRUN bash /opt/not-from-here.sh\n",
        encoding="utf-8",
    )
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\ndependencies = ["torch>=2.1"]\n'
        '[project.optional-dependencies]\ntrain = ["torchvision==0.19.1"]\n',
        encoding="utf-8",
    )
    result = scan_repo(tmp_path)
    line4 = {(p.component, p.how) for p in result.pins if p.file == "Dockerfile" and p.line == 4}
    assert line4 == {("torchvision", "exact")}
    assert result.errors == ()  # /opt/not-from-here.sh: an image path, not a repository file


def test_setup_py_that_loads_a_requirements_folder_makes_it_metadata(tmp_path: Path) -> None:
    """`os.path.join(here, "requirements")` with the file names chosen at run time (a loader
    over `requirements/*.txt`, as torchmetrics does): every file in that folder is metadata."""
    (tmp_path / "requirements").mkdir()
    (tmp_path / "requirements" / "base.txt").write_text("torch>=2.0,<2.11\n")
    (tmp_path / "requirements" / "image.txt").write_text("torchvision>=0.15\n")
    (tmp_path / "tools").mkdir()
    (tmp_path / "tools" / "requirements.txt").write_text("torch==2.4.1\n")
    (tmp_path / "setup.py").write_text(
        "import os\nfrom setuptools import setup\n"
        "_REQ = os.path.join(os.path.dirname(__file__), 'requirements')\n"
        "def load(name):\n    return open(os.path.join(_REQ, name)).read().splitlines()\n"
        "setup(install_requires=load('base' + '.txt'))\n"
    )
    result = scan_repo(tmp_path)
    assert set(result.metadata_files) == {"requirements/base.txt", "requirements/image.txt"}
