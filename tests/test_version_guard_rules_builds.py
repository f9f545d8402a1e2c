"""VG008 no-official-build and VG009 python-unsupported against the compatibility table."""

from __future__ import annotations

from typing import Any

from mlops_actions.pins.model import Environment, Pin, ScanResult
from mlops_actions.version_guard.rules.builds import check
from mlops_actions.version_guard.rules.findings import Context, Findings
from mlops_actions.version_guard.rules.settings import Settings
from tests.support.version_guard import at, of, run


def test_vg008_builds_that_never_existed() -> None:
    findings = run("vg-nonexistent")
    assert at(findings, "VG008") == {
        ("requirements/legacy.txt", 2),  # torch==2.0.1+cu124
        ("requirements/old-index.txt", 2),  # torch 2.1 from the cu124 index
        ("requirements/serve.txt", 2),  # torch 2.4 from cu128, the index in an include
        ("requirements/base.txt", 1),
        ("docker/Dockerfile", 1),  # pytorch/pytorch 2.4.0 … cudnn8
        ("environment.yml", 5),  # pytorch=2.1.0 with pytorch-cuda=12.4
        ("environment.yml", 6),
    }
    (legacy,) = of(findings, "VG008", "requirements/legacy.txt", 2)
    assert "11.7 and 11.8" in legacy.message


def test_vg008_real_builds_pass() -> None:
    assert at(run("vg-consistent"), "VG008") == set()
    assert at(run("vg-mismatch"), "VG008") == set()  # 2.5.0+cu124 exists


def test_vg009_matrix_entry_with_unsupported_python() -> None:
    findings = run("vg-mismatch")
    # include entry torch 2.1.2 + Python 3.12: the matrix values and the resolved step lines.
    assert at(findings, "VG009") == {
        (".github/workflows/ci.yml", 9),
        (".github/workflows/ci.yml", 10),
        (".github/workflows/ci.yml", 17),
        (".github/workflows/ci.yml", 18),
    }


def test_vg009_supported_matrix_passes() -> None:
    assert at(run("vg-consistent"), "VG009") == set()


# --- VG017 conda-pytorch-channel ------------------------------------------------------------


def test_vg017_the_discontinued_pytorch_conda_channel() -> None:
    """vg-conda: torch 2.6 with pytorch-cuda cannot install (errors); torch 2.4.1 with
    pytorch-cuda and a pytorch:: 2.5.1 still install but are frozen (warnings); conda-forge's
    pytorch 2.6 with cuda-version passes."""
    findings = run("vg-conda")
    levels = {(f.file, f.line): f.severity for f in findings if f.rule_id == "VG017"}
    assert levels == {
        ("environment.yml", 7): "error",  # pytorch=2.6.0
        ("environment.yml", 8): "error",  # pytorch-cuda=12.4 beside it
        ("environment-old.yml", 8): "warning",  # pytorch-cuda=12.1 with 2.4.1
        ("docker/Dockerfile", 2): "warning",  # conda install pytorch::pytorch=2.5.1
    }
    (selector,) = of(findings, "VG017", "environment.yml", 8)
    assert "environment.yml:7" in selector.message and "138506" not in selector.fix
    assert not [f for f in findings if f.rule_id == "VG017" and f.file == "environment-forge.yml"]


# --- what the scan now reads: an OS base image's Python, a matrix entry, the channels list ------


def test_vg009_python_of_the_base_images_os() -> None:
    findings = run("vg-constructs")
    # nvidia/cuda:...-ubuntu18.04 gives Python 3.6; torch 2.4.1 has no wheels for it.
    assert {("docker/os-python.Dockerfile", 1), ("docker/os-python.Dockerfile", 3)} <= at(
        findings, "VG009"
    )
    # get-pip for 3.8 (and apt python3.8) with torch 2.6.0; ubuntu:22.04's own 3.10 is not used.
    (get_pip,) = of(findings, "VG009", "docker/get-pip.Dockerfile", 3)
    assert "Python 3.8" in get_pip.message
    assert "3.10" not in " ".join(f.message for f in findings if "get-pip" in (f.file or ""))


def test_vg008_per_matrix_entry() -> None:
    findings = run("vg-constructs")
    (entry,) = of(findings, "VG008", ".github/workflows/matrix-entry.yml", 16)
    assert "torch 2.4.1" in entry.message and "CUDA 12.8" in entry.message


def test_vg017_channel_named_by_the_channels_list() -> None:
    # environment-pytorch-channel.yml lists `pytorch` under channels: torch 2.6.0 is not there.
    findings = run("vg-constructs")
    (torch,) = of(findings, "VG017", "conda/environment-pytorch-channel.yml", 7)
    assert torch.severity == "error" and "2.6.0" in torch.message
    assert not [f for f in findings if f.rule_id == "VG017" and "forge" in (f.file or "")]


# --- exact findings from pins ------------------------------------------------------------------


def _pin(
    file: str, line: int, component: str, value: str, raw: str | None = None, **kw: Any
) -> Pin:
    kw.setdefault("source", "requirements")
    raw = raw if raw is not None else f"{component}=={value}"
    return Pin(file, line, 1, component, value, "exact", raw=raw, **kw)  # type: ignore[arg-type]


def _check(pins: list[Pin]) -> list[tuple[object, ...]]:
    scan = ScanResult(".", tuple(dict.fromkeys(p.file for p in pins)), tuple(pins), (), ())
    env = Environment("e", "docker", "e", "docker", scan.files, scan.pins)
    out = Findings(Settings())
    check(Context(scan, [env], Settings()), out)
    return [
        (f.rule_id, f.severity, f.message, f.file, f.line, f.related, f.fix) for f in out.result()
    ]


NO_BUILD_FIX = "choose a CUDA variant built for this torch, or a torch release built for your CUDA."
BUILT_241 = "torch 2.4.1 was built for CUDA 11.8, 12.1 and 12.4"


def test_vg008_per_variant_exactly() -> None:
    pins = [
        _pin("r.txt", 1, "torch", "2.4.1+cu116", variant="cu116"),
        _pin("r.txt", 2, "torch", "2.4.1+cpu", variant="cpu"),
        _pin("r.txt", 3, "torch", "2.4.1+rocm5.2", variant="rocm5.2"),
        _pin("r.txt", 4, "torch", "2.4.1+cu121", variant="cu121"),
    ]
    assert _check(pins) == [
        (
            "VG008",
            "error",
            f"no official torch 2.4.1 build exists for CUDA 11.6; {BUILT_241}",
            "r.txt",
            1,
            (),
            NO_BUILD_FIX,
        ),
        (
            "VG008",
            "error",
            f"no official torch 2.4.1 build exists for ROCm 5.2; {BUILT_241}",
            "r.txt",
            3,
            (),
            NO_BUILD_FIX,
        ),
    ]


def test_vg008_and_vg017_in_a_conda_file_exactly() -> None:
    pins = [
        _pin("env.yml", 1, "torch", "2.4.1", raw="pytorch=2.4.1", source="conda"),
        _pin("env.yml", 2, "cuda", "11.6", raw="pytorch-cuda=11.6", source="conda"),
        _pin("env.yml", 3, "torch", "2.6.0", raw="pytorch::pytorch=2.6.0", source="conda"),
    ]
    built_260 = "torch 2.6.0 was built for CUDA 11.8, 12.4 and 12.6"
    assert _check(pins) == [
        (
            "VG008",
            "error",
            f"no official torch 2.4.1 build exists for CUDA 11.6 (variant from env.yml:2); {BUILT_241}",
            "env.yml",
            1,
            (("env.yml", 2),),
            NO_BUILD_FIX,
        ),
        (
            "VG008",
            "error",
            f"CUDA 11.6 here, but no official build of torch 2.4.1 (env.yml:1) exists for it; {BUILT_241}",
            "env.yml",
            2,
            (("env.yml", 1),),
            NO_BUILD_FIX,
        ),
        (
            "VG008",
            "error",
            f"CUDA 11.6 here, but no official build of torch 2.6.0 (env.yml:3) exists for it; {built_260}",
            "env.yml",
            2,
            (("env.yml", 3),),
            NO_BUILD_FIX,
        ),
        (
            "VG017",
            "error",
            "pytorch-cuda=11.6 selects the CUDA build on the pytorch conda channel, which has no "
            "torch past 2.5, but env.yml:3 asks for torch 2.6.0",
            "env.yml",
            2,
            (("env.yml", 3),),
            "install torch with pip from the PyTorch index for your CUDA, or take pytorch from "
            "conda-forge with cuda-version=<x.y>.",
        ),
        (
            "VG008",
            "error",
            f"no official torch 2.6.0 build exists for CUDA 11.6 (variant from env.yml:2); {built_260}",
            "env.yml",
            3,
            (("env.yml", 2),),
            NO_BUILD_FIX,
        ),
        (
            "VG017",
            "error",
            "torch 2.6.0 does not exist on the pytorch conda channel: it stopped at 2.5 "
            "(pytorch/pytorch#138506)",
            "env.yml",
            3,
            (),
            "install torch with pip from the PyTorch index for your CUDA, or take pytorch from "
            "conda-forge.",
        ),
    ]


def test_vg017_channel_pins_exactly() -> None:
    pinned = [_pin("env.yml", 1, "torch", "2.4.1", raw="pytorch::pytorch=2.4.1", source="conda")]
    assert _check(pinned) == [
        (
            "VG017",
            "warning",
            "pytorch::pytorch=2.4.1 pins the pytorch conda channel, discontinued after torch 2.5 "
            "(pytorch/pytorch#138506)",
            "env.yml",
            1,
            (),
            "take pytorch from conda-forge, or install torch with pip.",
        )
    ]
    selector = [
        _pin("env.yml", 1, "torch", "2.4.1", raw="pytorch=2.4.1", source="conda"),
        _pin("env.yml", 2, "cuda", "12.1", raw="pytorch-cuda=12.1", source="conda"),
    ]
    assert _check(selector) == [
        (
            "VG017",
            "warning",
            "pytorch-cuda=12.1 comes from the pytorch conda channel, discontinued after torch 2.5 "
            "(pytorch/pytorch#138506)",
            "env.yml",
            2,
            (),
            "install torch with pip from the PyTorch index for your CUDA, or take pytorch from "
            "conda-forge with cuda-version=<x.y>.",
        )
    ]
    listed = [
        _pin(
            "env.yml",
            1,
            "torch",
            "2.6.0",
            raw="pytorch=2.6.0",
            source="conda",
            resolved_from=("conda channel pytorch",),
        ),
        _pin("env2.yml", 1, "torch", "2.6.0", raw="pytorch=2.6.0", source="conda"),
        _pin("env3.yml", 1, "torch", "2.6.0", raw="torch==2.6.0", source="conda"),
    ]
    assert [f[3:5] for f in _check(listed)] == [("env.yml", 1)]


def test_vg008_vg009_from_an_index_in_another_file_exactly() -> None:
    pins = [
        _pin("r.txt", 1, "torch", "2.4.1"),
        _pin(
            "c.txt",
            2,
            "cuda",
            "11.6",
            context="--index-url",
            raw="--index-url https://download.pytorch.org/whl/cu116",
        ),
        _pin("r.txt", 3, "python", "3.13", source="dockerfile"),
        _pin("c.txt", 4, "torch", "2.4.1"),  # the index's own file: the variant is its own
        _pin("r.txt", 5, "torch", "2.4.1+cu121", variant="cu121"),
    ]
    python_fix = "use a Python that this torch release supports, or a torch release that supports your Python."
    vg009 = "no torch wheels exist for torch 2.4.1 here with Python 3.13 (r.txt:3)"
    assert _check(pins) == [
        (
            "VG008",
            "error",
            f"CUDA 11.6 here, but no official build of torch 2.4.1 (r.txt:1) exists for it; {BUILT_241}",
            "c.txt",
            2,
            (("r.txt", 1),),
            NO_BUILD_FIX,
        ),
        ("VG009", "error", vg009, "c.txt", 4, (("r.txt", 3),), python_fix),
        (
            "VG008",
            "error",
            f"no official torch 2.4.1 build exists for CUDA 11.6 (variant from c.txt:2); {BUILT_241}",
            "r.txt",
            1,
            (("c.txt", 2),),
            NO_BUILD_FIX,
        ),
        ("VG009", "error", vg009, "r.txt", 1, (("r.txt", 3),), python_fix),
        (
            "VG009",
            "error",
            "no torch wheels exist for Python 3.13 here with torch 2.4.1 (r.txt:1, c.txt:4 and r.txt:5)",
            "r.txt",
            3,
            (("r.txt", 1), ("c.txt", 4), ("r.txt", 5)),
            python_fix,
        ),
        ("VG009", "error", vg009, "r.txt", 5, (("r.txt", 3),), python_fix),
    ]


def test_vg008_a_pytorch_image_tag_with_the_wrong_cudnn() -> None:
    image = "pytorch/pytorch:2.4.1-cuda12.1-cudnn8-runtime"
    pins = [
        _pin(
            "Dockerfile",
            1,
            "torch",
            "2.4.1",
            variant="cu121",
            source="dockerfile",
            derived_from=image,
        ),
        _pin("Dockerfile", 1, "cudnn", "8", source="dockerfile", derived_from=image),
    ]
    assert _check(pins) == [
        (
            "VG008",
            "error",
            f"image {image} does not exist: pytorch/pytorch images of torch 2.4.1 carry cuDNN 9, "
            "not cuDNN 8",
            "Dockerfile",
            1,
            (),
            "use the cudnn9 tag.",
        )
    ]
    right = [pins[0], _pin("Dockerfile", 1, "cudnn", "9", source="dockerfile", derived_from=image)]
    assert _check(right) == []
    other_repo = "nvcr.io/nvidia/pytorch:24.05-py3"
    assert (
        _check(
            [
                _pin(
                    "Dockerfile",
                    1,
                    "torch",
                    "2.4.1",
                    variant="cu121",
                    source="dockerfile",
                    derived_from=other_repo,
                ),
                _pin("Dockerfile", 1, "cudnn", "8", source="dockerfile", derived_from=other_repo),
            ]
        )
        == []
    )


def test_vg008_every_torch_pin_is_checked_whatever_comes_before_it() -> None:
    pins = [
        _pin("r.txt", 1, "cuda", "12.1"),
        _pin(
            "Dockerfile",
            2,
            "torch",
            "2.4.1",
            variant="cu121",
            source="dockerfile",
            derived_from="nvcr.io/nvidia/pytorch:24.05-py3",
        ),
        _pin("r.txt", 3, "torch", "2.4.1+cu116", variant="cu116"),
    ]
    assert [f[3:5] for f in _check(pins)] == [("r.txt", 3)]


def test_vg008_a_cpu_torch_from_a_pytorch_image_is_not_held_to_its_cudnn() -> None:
    image = "pytorch/pytorch:2.4.1-cpu"
    pins = [
        _pin(
            "Dockerfile",
            1,
            "torch",
            "2.4.1+cpu",
            variant="cpu",
            source="dockerfile",
            derived_from=image,
        ),
        _pin("Dockerfile", 1, "cudnn", "8", source="dockerfile", derived_from=image),
    ]
    assert _check(pins) == []


def test_vg008_a_conda_file_takes_its_variant_from_cuda_pins_only() -> None:
    pins = [
        _pin("env.yml", 1, "torch", "2.4.1", raw="pytorch=2.4.1", source="conda"),
        _pin(
            "env.yml",
            2,
            "torchvision",
            "0.19.1",
            raw="torchvision=0.19.1",
            source="conda",
            variant="cu116",
        ),
    ]
    assert _check(pins) == []


def test_vg008_only_an_index_line_of_a_requirements_file_names_the_variant() -> None:
    base = [_pin("r.txt", 2, "torch", "2.4.1")]
    toolkit = [_pin("Dockerfile", 1, "cuda", "11.6", source="dockerfile")]  # not an index
    assert _check([*toolkit, *base]) == []
    a_torch_line = [
        _pin("c.txt", 1, "torch", "2.4.1+cu116", variant="cu116", context="--index-url")
    ]
    assert [f[3:5] for f in _check([*a_torch_line, *base])] == [("c.txt", 1)]  # its own VG008 only
    index = [_pin("c.txt", 1, "cuda", "11.6", context="--index-url")]
    assert {f[3:5] for f in _check([_pin("x.txt", 9, "numpy", "1.26"), *index, *base])} == {
        ("c.txt", 1),
        ("r.txt", 2),
    }


def test_vg008_a_torch_pin_without_a_version_does_not_stop_the_check() -> None:
    pins = [
        Pin("r.txt", 1, 1, "torch", ">=2", "range", "requirements", raw="torch>=2"),
        _pin("r.txt", 3, "torch", "2.4.1+cu116", variant="cu116"),
    ]
    assert [f[3:5] for f in _check(pins)] == [("r.txt", 3)]


def test_vg017_every_torch_of_a_conda_file_is_judged() -> None:
    selector = [
        _pin("env.yml", 1, "torch", "2.6.0", raw="pytorch=2.6.0", source="conda"),
        _pin("env.yml", 2, "torch", "2.7.0", raw="pytorch=2.7.0", source="conda"),
        _pin("env.yml", 3, "cuda", "12.4", raw="pytorch-cuda=12.4", source="conda"),
    ]
    found = [(f[0], f[4], f[5]) for f in _check(selector) if f[0] == "VG017"]
    assert found == [("VG017", 1, ()), ("VG017", 2, ()), ("VG017", 3, (("env.yml", 1),))]
    plain_first = [
        _pin("env.yml", 1, "torch", "2.6.0", raw="pytorch=2.6.0", source="conda"),
        _pin("env.yml", 2, "torch", "2.6.0", raw="pytorch::pytorch=2.6.0", source="conda"),
    ]
    assert [f[4] for f in _check(plain_first) if f[0] == "VG017"] == [2]
