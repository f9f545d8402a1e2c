"""VG003, VG004, VG005, VG006 and VG013 exactly, from one environment's pins: each component's
disagreement, ranges that exclude the pinned version, PyPI's default CUDA against the image,
and the components declared shared across deployable environments."""

from __future__ import annotations

from typing import Any

from mlops_actions.pins.model import Environment, Pin, ScanResult
from mlops_actions.version_guard.rules.agreement import check
from mlops_actions.version_guard.rules.findings import Context, Findings
from mlops_actions.version_guard.rules.settings import Settings

NO_STORY = Settings(severities={"VG016": "off"})


def _p(file: str, line: int, component: str, value: str, how: str = "exact", **kw: Any) -> Pin:
    kw.setdefault("source", "requirements")
    kw.setdefault("raw", f"{component}=={value}")
    return Pin(file, line, 1, component, value, how, **kw)  # type: ignore[arg-type]


def _agree(
    pins: list[Pin],
    envs: list[Environment],
    settings: Settings = NO_STORY,
    stages: dict[str, Any] | None = None,
) -> list[tuple[object, ...]]:
    scan = ScanResult(
        ".", tuple(dict.fromkeys(p.file for p in pins)), tuple(pins), (), (), stages or {}
    )
    out = Findings(settings)
    check(Context(scan, envs, settings), out)
    return [
        (f.rule_id, f.severity, f.message, f.file, f.line, f.related, f.fix) for f in out.result()
    ]


def _conflict(
    rule: str,
    here: str,
    there: str,
    at: tuple[str, int],
    file: str,
    line: int,
    label: str,
    env: str = "environment train",
) -> tuple[object, ...]:
    return (
        rule,
        "error",
        f"{here} here, but {there} at {at[0]}:{at[1]} ({env})",
        file,
        line,
        (at,),
        f"use one {label} in all of these lines.",
    )


def test_every_component_of_one_environment_agrees() -> None:
    pins = [
        _p("a.txt", 1, "torch", "2.4.1+cu121", variant="cu121"),
        _p("b.txt", 2, "torch", "2.4.0"),
        _p("b.txt", 3, "torchvision", ">=0.20", "range"),
        _p("a.txt", 4, "torchvision", "0.19.1"),
        _p("Dockerfile", 5, "cudnn", "8", source="dockerfile"),
        _p("Dockerfile", 6, "cudnn", "9.1.0", source="dockerfile"),
        _p("Dockerfile", 7, "python", "3.11", source="dockerfile"),
        _p("c.txt", 8, "python", "3.10"),
        _p("pyproject.toml", 9, "python", ">=3.11", "range", source="pyproject"),
        _p("Dockerfile", 10, "cuda", "11.8", source="dockerfile"),
        _p("d.txt", 11, "torchaudio", ">=2.4", "range"),  # no exact torchaudio: nothing to contain
    ]
    files = tuple(dict.fromkeys(p.file for p in pins))
    env = Environment("e", "docker", "train", "docker", files, tuple(pins))
    assert _agree(pins, [env]) == [
        _conflict(
            "VG005", "cuDNN 8", "cuDNN 9 (9.1.0)", ("Dockerfile", 6), "Dockerfile", 5, "cuDNN major"
        ),
        _conflict(
            "VG005", "cuDNN 9 (9.1.0)", "cuDNN 8", ("Dockerfile", 5), "Dockerfile", 6, "cuDNN major"
        ),
        _conflict(
            "VG006", "Python 3.11", "Python 3.10", ("c.txt", 8), "Dockerfile", 7, "Python minor"
        ),
        _conflict(
            "VG004",
            "CUDA 11.8",
            "CUDA 12.1 (torch 2.4.1+cu121)",
            ("a.txt", 1),
            "Dockerfile",
            10,
            "CUDA variant",
        ),
        _conflict("VG003", "torch 2.4.1+cu121", "torch 2.4.0", ("b.txt", 2), "a.txt", 1, "torch"),
        _conflict(
            "VG004",
            "CUDA 12.1 (torch 2.4.1+cu121)",
            "CUDA 11.8",
            ("Dockerfile", 10),
            "a.txt",
            1,
            "CUDA variant",
        ),
        _conflict(
            "VG003",
            "torchvision 0.19.1",
            "torchvision `>=0.20`",
            ("b.txt", 3),
            "a.txt",
            4,
            "torchvision",
        ),
        _conflict("VG003", "torch 2.4.0", "torch 2.4.1+cu121", ("a.txt", 1), "b.txt", 2, "torch"),
        (
            "VG004",
            "error",
            "torch 2.4.0 from PyPI is the CUDA 12.1 build (PyPI's default for torch 2.4.0), but this "
            "environment runs CUDA 11.8 (Dockerfile:10)",
            "b.txt",
            2,
            (("Dockerfile", 10),),
            "install the cu118 build (torch==2.4.0+cu118, or the PyTorch index "
            "https://download.pytorch.org/whl/cu118), or use an image on CUDA 12.1.",
        ),
        _conflict(
            "VG003",
            "torchvision `>=0.20`",
            "torchvision 0.19.1",
            ("a.txt", 4),
            "b.txt",
            3,
            "torchvision",
        ),
        (
            "VG006",
            "error",
            "Python 3.10 here, but Python 3.11 at Dockerfile:7 and Python `>=3.11` at "
            "pyproject.toml:9 (environment train)",
            "c.txt",
            8,
            (("Dockerfile", 7), ("pyproject.toml", 9)),
            "use one Python minor in all of these lines.",
        ),
        _conflict(
            "VG006",
            "Python `>=3.11`",
            "Python 3.10",
            ("c.txt", 8),
            "pyproject.toml",
            9,
            "Python minor",
        ),
    ]


def test_pypi_default_cuda_against_the_image_exactly() -> None:
    pins = [
        _p("r.txt", 1, "torch", "2.4.1"),
        _p("Dockerfile", 2, "cuda", "12.4", source="dockerfile"),
        _p("Dockerfile", 3, "cuda", "11.6", source="dockerfile"),
        _p("w.yml", 4, "torch", "2.4.1", source="workflow", resolved_from=("matrix.x",)),
        _p("r.txt", 5, "torch", ">=2.4,<2.5", "range"),  # contains 2.4.1
        _p("c.txt", 6, "cuda", "12.4", context="--index-url"),  # an index: not a toolkit
    ]
    image = Environment("e", "docker", "", "docker", ("r.txt", "Dockerfile"), tuple(pins[:3]))
    job = Environment("w", "ci", "w", "ci", ("w.yml", "Dockerfile"), (pins[3], pins[1], pins[4]))
    default = "torch 2.4.1 from PyPI is the CUDA 12.1 build (PyPI's default for torch 2.4.1), but this environment runs CUDA {}"
    cu124 = (
        "install the cu124 build (torch==2.4.1+cu124, or the PyTorch index "
        "https://download.pytorch.org/whl/cu124), or use an image on CUDA 12.1."
    )
    assert _agree(pins, [image, job]) == [
        _conflict(
            "VG004",
            "CUDA 12.4",
            "CUDA 11.6",
            ("Dockerfile", 3),
            "Dockerfile",
            2,
            "CUDA variant",
            "environment e",
        ),
        _conflict(
            "VG004",
            "CUDA 11.6",
            "CUDA 12.4",
            ("Dockerfile", 2),
            "Dockerfile",
            3,
            "CUDA variant",
            "environment e",
        ),
        (
            "VG004",
            "error",  # another major
            default.format("11.6 (Dockerfile:3)"),
            "r.txt",
            1,
            (("Dockerfile", 3),),
            "use an image on CUDA 12.1, or a torch release built for CUDA 11.6.",
        ),
        (
            "VG004",
            "warning",
            default.format("12.4 (Dockerfile:2)"),
            "r.txt",
            1,
            (("Dockerfile", 2),),
            cu124,
        ),
        # Another minor only: a warning (the wheel carries its own CUDA runtime).
        (
            "VG004",
            "warning",
            default.format("12.4 (Dockerfile:2)"),
            "w.yml",
            4,
            (("Dockerfile", 2),),
            cu124,
        ),
    ]


def test_a_variable_torch_against_another_cuda_major_is_a_warning() -> None:
    pins = [
        _p("w.yml", 1, "torch", "2.4.1", source="workflow", resolved_from=("env.TORCH=2.4.1",)),
        _p("w.yml", 2, "cuda", "11.6", source="workflow"),
    ]
    env = Environment("w", "ci", "w", "ci", ("w.yml",), tuple(pins))
    [finding] = [f for f in _agree(pins, [env]) if f[4] == 1]
    assert finding[:2] == ("VG004", "warning")


def test_declared_shared_components_across_deployable_images() -> None:
    pins = [
        _p("Dockerfile", 1, "torch", "2.4.1+cu121", source="dockerfile", variant="cu121"),
        _p("serve/Dockerfile", 2, "torch", "2.5.1+cu124", source="dockerfile", variant="cu124"),
        _p("Dockerfile", 3, "python", "3.11", source="dockerfile"),
        _p("serve/Dockerfile", 4, "python", "3.12", source="dockerfile"),
        _p("Dockerfile", 5, "cudnn", "9", source="dockerfile"),
        _p("serve/Dockerfile", 6, "cudnn", "8", source="dockerfile"),
        _p("examples/Dockerfile", 7, "torch", "2.0.0", source="dockerfile"),  # not deployed
        _p("serve/Dockerfile", 8, "torch", "2.1.0", source="dockerfile", context="matrix.torch"),
    ]
    env = Environment(
        "a", "docker", "train", "docker", ("Dockerfile",), (pins[0], pins[2], pins[4])
    )
    settings = Settings(shared=("torch", "cudnn", "python"), severities={"VG016": "off"})
    stages: dict[str, Any] = {"Dockerfile": (), "serve/Dockerfile": ()}
    scope = "declared shared across deployable environments"

    def shared(
        here: str, there: str, at: tuple[str, int], file: str, line: int, label: str
    ) -> tuple[object, ...]:
        return _conflict("VG013", here, there, at, file, line, label, scope)

    assert _agree(pins, [env], settings, stages) == [
        shared(
            "torch 2.4.1+cu121",
            "torch 2.5.1+cu124",
            ("serve/Dockerfile", 2),
            "Dockerfile",
            1,
            "torch",
        ),
        shared(
            "Python 3.11", "Python 3.12", ("serve/Dockerfile", 4), "Dockerfile", 3, "Python minor"
        ),
        shared("cuDNN 9", "cuDNN 8", ("serve/Dockerfile", 6), "Dockerfile", 5, "cuDNN major"),
        shared(
            "torch 2.5.1+cu124",
            "torch 2.4.1+cu121",
            ("Dockerfile", 1),
            "serve/Dockerfile",
            2,
            "torch",
        ),
        shared(
            "Python 3.12", "Python 3.11", ("Dockerfile", 3), "serve/Dockerfile", 4, "Python minor"
        ),
        shared("cuDNN 8", "cuDNN 9", ("Dockerfile", 5), "serve/Dockerfile", 6, "cuDNN major"),
    ]
    assert _agree(pins, [env], NO_STORY, stages) == []  # nothing declared shared


# --- VG016: one story per repository -----------------------------------------------------------

STORY_FIX = (
    "make these pins name one release, or declare the separate stack under "
    "version-guard.environments."
)


def _stories(
    pins: list[Pin], envs: list[Environment], settings: Settings
) -> list[tuple[object, ...]]:
    return [
        (f[1], f[2], f[3], f[4], f[5], f[6])
        for f in _agree(pins, envs, settings)
        if f[0] == "VG016"
    ]


def test_vg016_torch_stories_exactly() -> None:
    pins = [
        _p("Dockerfile", 1, "torch", "2.4.1", source="dockerfile"),
        _p("requirements.txt", 2, "torch", "2.4.1"),
        _p("serve/requirements.txt", 3, "torch", "2.3.0"),
        _p(
            "env.yml", 4, "torch", "2.4", source="conda", raw="pytorch=2.4"
        ),  # 2.4 is 2.4.1's prefix
        _p("examples/r.txt", 5, "torch", "1.0.0"),  # a side tree tells no story
        _p("ci.yml", 6, "torch", "2.1.0", source="workflow", context="matrix.torch"),  # a matrix
    ]
    envs = [
        Environment(f"e{i}", "requirements", f"e{i}", "requirements", (p.file,), (p,))
        for i, p in enumerate(pins)
    ]
    stories = (
        "torch 2.4.1: Dockerfile and requirements.txt; torch 2.3.0: serve/requirements.txt; "
        "torch 2.4.0: env.yml"
    )
    assert _stories(pins, envs, Settings()) == [
        (
            "warning",
            f"torch 2.4.0 here, but this repository tells 3 stories ({stories})",
            "env.yml",
            4,
            (("serve/requirements.txt", 3),),
            STORY_FIX,
        ),
        (
            "warning",
            f"torch 2.3.0 here, but this repository tells 3 stories ({stories})",
            "serve/requirements.txt",
            3,
            (("Dockerfile", 1), ("requirements.txt", 2), ("env.yml", 4)),
            STORY_FIX,
        ),
    ]
    # A declared separate stack, torch declared shared (VG013's business) or the rule off: quiet.
    assert _stories(pins, envs, Settings(groups=(("serving", ("serve/*",)),))) == []
    assert _stories(pins, envs, Settings(shared=("torch",))) == []
    assert _stories(pins, envs, Settings(severities={"VG016": "off"})) == []


def test_vg016_pins_of_one_environment_tell_one_story() -> None:
    pins = [
        _p("Dockerfile", 1, "torch", "2.4.1", source="dockerfile"),
        _p("requirements.txt", 2, "torch", "2.3.0"),
    ]
    together = [
        Environment("e", "docker", "e", "docker", ("Dockerfile", "requirements.txt"), tuple(pins))
    ]
    assert _stories(pins, together, Settings()) == []


def test_vg016_a_ci_container_on_another_cuda_than_the_build() -> None:
    pins = [
        _p("Dockerfile", 1, "torch", "2.4.1+cu121", source="dockerfile", variant="cu121"),
        _p(
            ".github/workflows/ci.yml",
            7,
            "cuda",
            "11.8",
            source="workflow",
            context="job test container",
        ),
        _p("requirements-cu118.txt", 3, "torch", "2.4.1+cu118", variant="cu118"),  # a flavour file
    ]
    envs = [
        Environment("a", "docker", "a", "docker", ("Dockerfile",), (pins[0],)),
        Environment("b", "ci", "b", "ci", (".github/workflows/ci.yml",), (pins[1],)),
    ]
    stories = "CUDA 12.1: Dockerfile; CUDA 11.8: .github/workflows/ci.yml"
    assert _stories(pins, envs, Settings()) == [
        (
            "warning",
            f"CUDA 11.8 here, but this repository tells 2 stories ({stories})",
            ".github/workflows/ci.yml",
            7,
            (("Dockerfile", 1),),
            STORY_FIX,
        ),
        (
            "warning",
            f"CUDA 12.1 here, but this repository tells 2 stories ({stories})",
            "Dockerfile",
            1,
            ((".github/workflows/ci.yml", 7),),
            STORY_FIX,
        ),
    ]
    assert _stories(pins, envs, Settings(shared=("cuda",))) == []


def test_vg016_the_majority_is_the_reference_and_three_lines_are_named() -> None:
    pins = [
        _p("a/Dockerfile", 1, "torch", "2.4.1", source="dockerfile"),
        _p("b/requirements.txt", 2, "torch", "2.4.1"),
        _p("c/requirements.txt", 3, "torch", "2.4.1"),
        _p("d/requirements.txt", 4, "torch", "2.4.1"),
        _p("e/requirements.txt", 5, "torch", "3"),  # in no environment
    ]
    stories = (
        "torch 2.4.1: a/Dockerfile, b/requirements.txt, c/requirements.txt and d/requirements.txt; "
        "torch 3.0.0: e/requirements.txt"
    )
    assert _stories(pins, [], Settings()) == [
        (
            "warning",
            f"torch 3.0.0 here, but this repository tells 2 stories ({stories})",
            "e/requirements.txt",
            5,
            (("a/Dockerfile", 1), ("b/requirements.txt", 2), ("c/requirements.txt", 3)),
            STORY_FIX,
        )
    ]


def test_vg016_ci_containers_disagree_with_the_build_not_with_each_other() -> None:
    pins = [
        _p("Dockerfile", 1, "torch", "2.4.1+cu121", source="dockerfile", variant="cu121"),
        _p(
            ".github/workflows/ci.yml",
            7,
            "cuda",
            "11.8",
            source="workflow",
            context="job test container",
        ),
        _p(
            ".github/workflows/train.yml",
            3,
            "cuda",
            "12.4",
            source="workflow",
            context="job train container",
        ),
    ]
    stories = (
        "CUDA 12.1: Dockerfile; CUDA 11.8: .github/workflows/ci.yml; "
        "CUDA 12.4: .github/workflows/train.yml"
    )
    message = "CUDA {} here, but this repository tells 3 stories (" + stories + ")"
    assert _stories(pins, [], Settings()) == [
        (
            "warning",
            message.format("11.8"),
            ".github/workflows/ci.yml",
            7,
            (("Dockerfile", 1),),
            STORY_FIX,
        ),
        (
            "warning",
            message.format("12.4"),
            ".github/workflows/train.yml",
            3,
            (("Dockerfile", 1),),
            STORY_FIX,
        ),
        (
            "warning",
            message.format("12.1"),
            "Dockerfile",
            1,
            ((".github/workflows/ci.yml", 7), (".github/workflows/train.yml", 3)),
            STORY_FIX,
        ),
    ]


def test_a_range_holds_a_pinned_pre_release_it_allows() -> None:
    pins = [_p("a.txt", 1, "torch", "2.6.0rc1"), _p("b.txt", 2, "torch", ">=2.5", "range")]
    env = Environment("e", "docker", "train", "docker", ("a.txt", "b.txt"), tuple(pins))
    assert _agree(pins, [env]) == []


def test_a_python_range_against_a_free_threaded_or_a_lone_python() -> None:
    pins = [
        _p("Dockerfile", 1, "python", "3.13t", source="dockerfile"),
        _p("pyproject.toml", 2, "python", ">=3.10,<3.13", "range", source="pyproject"),
    ]
    env = Environment(
        "e", "docker", "train", "docker", ("Dockerfile", "pyproject.toml"), tuple(pins)
    )
    assert _agree(pins, [env]) == [
        _conflict(
            "VG006",
            "Python 3.13t",
            "Python `>=3.10,<3.13`",
            ("pyproject.toml", 2),
            "Dockerfile",
            1,
            "Python minor",
        ),
        _conflict(
            "VG006",
            "Python `>=3.10,<3.13`",
            "Python 3.13t",
            ("Dockerfile", 1),
            "pyproject.toml",
            2,
            "Python minor",
        ),
    ]


def test_vg016_inside_a_declared_stack_names_the_stack() -> None:
    pins = [
        _p("serve/a.txt", 1, "torch", "2.4.1"),
        _p("serve/b.txt", 2, "torch", "2.3.0"),
        _p("serve/b.txt", 3, "torch", "2.3.0"),  # one finding per file and story
    ]
    settings = Settings(groups=(("serving", ("serve/*",)),))
    stories = "torch 2.4.1: serve/a.txt; torch 2.3.0: serve/b.txt"
    assert _stories(pins, [], settings) == [
        (
            "warning",
            f"torch 2.4.1 here, but environment serving tells 2 stories ({stories})",
            "serve/a.txt",
            1,
            (("serve/b.txt", 2), ("serve/b.txt", 3)),
            STORY_FIX,
        ),
        (
            "warning",
            f"torch 2.3.0 here, but environment serving tells 2 stories ({stories})",
            "serve/b.txt",
            2,
            (("serve/a.txt", 1),),
            STORY_FIX,
        ),
    ]
