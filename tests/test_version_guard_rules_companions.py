"""VG007 companion-mismatch: torchvision/torchaudio built for another torch."""

from __future__ import annotations

from typing import Any

from mlops_actions.pins.model import Environment, Pin, ScanResult
from mlops_actions.version_guard.rules.companions import check
from mlops_actions.version_guard.rules.findings import Context, Finding, Findings
from mlops_actions.version_guard.rules.settings import Settings
from tests.support.version_guard import at, of, run


def test_vg007_torchvision_for_another_torch() -> None:
    findings = run("vg-mismatch")
    assert at(findings, "VG007") == {("requirements/train.txt", 3), ("requirements/train.txt", 4)}
    (tv,) = of(findings, "VG007", "requirements/train.txt", 4)
    assert "torchvision 0.18.1" in tv.message and "torch 2.5.0" in tv.message


# --- VG018 cuda-library-pin -----------------------------------------------------------------


def test_vg018_explicit_cudnn_and_nccl_pins_against_the_torch_build() -> None:
    """vg-cuda-libs: PyPI torch 2.4.1 (CUDA 12.1) needs nvidia-cudnn-cu12==9.1.0.70; torch
    2.7.1 needs nvidia-nccl-cu12==2.26.2; a cu118 build needs the cu11 package. What the table
    does not know (NCCL of 2.4) is not reported."""
    findings = run("vg-cuda-libs")
    assert at(findings, "VG018") == {
        ("Dockerfile", 3),  # a later RUN: a warning (see below)
        ("requirements/train.txt", 2),
        ("requirements/nccl.txt", 2),
        ("requirements/cu118.txt", 3),
    }
    (cudnn,) = of(findings, "VG018", "requirements/train.txt", 2)
    assert "nvidia-cudnn-cu12==9.1.0.70" in cudnn.message and cudnn.severity == "error"
    (cu11,) = of(findings, "VG018", "requirements/cu118.txt", 3)
    assert "nvidia-cudnn-cu11==9.1.0.70" in cu11.message
    (nccl,) = of(findings, "VG018", "requirements/nccl.txt", 2)
    assert "nvidia-nccl-cu12==2.26.2" in nccl.message


def test_vg018_on_the_constructs_fixture() -> None:
    findings = run("vg-constructs")
    (cudnn,) = of(findings, "VG018", "requirements/cudnn.txt", 3)
    assert cudnn.severity == "error" and "9.1.0.70" in cudnn.message


def test_vg018_a_separate_install_overriding_the_library_is_a_warning() -> None:
    """vg-cuda-libs/Dockerfile installs torch 2.7.1, then NCCL 2.25.1 in a later RUN."""
    (later,) = of(run("vg-cuda-libs"), "VG018", "Dockerfile", 3)
    assert later.severity == "warning" and "nvidia-nccl-cu12==2.26.2" in later.message


# --- exact findings from one environment's pins ------------------------------------------------


def _pin(file: str, line: int, component: str, value: str, raw: str = "", **kw: Any) -> Pin:
    raw = raw or f"{component}=={value}"
    kw.setdefault("source", "requirements")
    return Pin(file, line, 1, component, value, "exact", raw=raw, **kw)  # type: ignore[arg-type]


def _check(pins: list[Pin]) -> list[Finding]:
    env = Environment("e", "docker", "e", "docker", tuple({p.file for p in pins}), tuple(pins))
    out = Findings(Settings())
    check(Context(ScanResult(".", env.files, env.pins, (), ()), [env], Settings()), out)
    return out.result()


VISION_FIX = (
    "pin the {} release made for that torch (torch 2.x pairs with torchvision 0.(x+15)), or "
    "change torch."
)


def _cudnn(
    file: str, line: int, have: str, torch: str, where: tuple[str, int], needs: str, severity: str
) -> Finding:
    return Finding(
        "VG018",
        severity,  # type: ignore[arg-type]
        f"{have} here, but torch {torch} (CUDA 12.1, {where[0]}:{where[1]}) requires {needs}",
        file,
        line,
        1,
        (where,),
        f"remove the cuDNN pin and let torch bring its own, or pin {needs}.",
    )


def test_companions_and_cuda_libraries_exactly() -> None:
    pins = [
        _pin("r.txt", 1, "torch", "2.4.1"),
        _pin("r.txt", 2, "cudnn", "9.0.0", raw="nvidia_cudnn_cu12==9.0.0"),
        _pin("r.txt", 3, "nccl", "2.20.5", raw="nvidia-nccl-cu12==2.20.5"),  # unknown for 2.4
        _pin(
            "d/Dockerfile",
            4,
            "cudnn",
            "9.1.0.70",
            "nvidia-cudnn-cu11==9.1.0.70",
            source="dockerfile",
        ),
        _pin("r.txt", 5, "torchvision", "0.15.0"),
        _pin("o.txt", 6, "torchaudio", "2.3.0"),  # checked against the torch of its own file
        _pin("o.txt", 7, "torch", "2.3.0"),
        _pin("x.txt", 8, "torchaudio", "2.4.1"),  # no torch in its file: against every torch
        _pin(
            "y.txt", 9, "cudnn", "8.9", raw="libcudnn8=8.9", source="dockerfile"
        ),  # apt: not a wheel
        _pin("r.txt", 10, "cudnn", "9.1.0.70", raw="nvidia-cudnn-cu12==9.1.0.70"),
    ]
    r1, o7 = ("r.txt", 1), ("o.txt", 7)
    assert _check(pins) == [
        _cudnn(
            "d/Dockerfile",
            4,
            "nvidia-cudnn-cu11==9.1.0.70",
            "2.4.1",
            r1,
            "nvidia-cudnn-cu12==9.1.0.70",
            "warning",
        ),
        _cudnn(
            "d/Dockerfile",
            4,
            "nvidia-cudnn-cu11==9.1.0.70",
            "2.3.0",
            o7,
            "nvidia-cudnn-cu12==8.9.2.26",
            "warning",
        ),
        Finding(
            "VG007",
            "error",
            "torch 2.3.0 here and torchaudio 2.4.1 (x.txt:8) were not built for each other",
            "o.txt",
            7,
            1,
            (("x.txt", 8),),
            VISION_FIX.format("torchaudio"),
        ),
        Finding(
            "VG007",
            "error",
            "torch 2.4.1 here and torchvision 0.15.0 (r.txt:5) were not built for each other",
            "r.txt",
            1,
            1,
            (("r.txt", 5),),
            VISION_FIX.format("torchvision"),
        ),
        _cudnn(
            "r.txt",
            2,
            "nvidia-cudnn-cu12==9.0.0",
            "2.4.1",
            r1,
            "nvidia-cudnn-cu12==9.1.0.70",
            "error",
        ),
        _cudnn(
            "r.txt",
            2,
            "nvidia-cudnn-cu12==9.0.0",
            "2.3.0",
            o7,
            "nvidia-cudnn-cu12==8.9.2.26",
            "warning",
        ),
        Finding(
            "VG007",
            "error",
            "torchvision 0.15.0 here and torch 2.4.1 (r.txt:1) were not built for each other",
            "r.txt",
            5,
            1,
            (("r.txt", 1),),
            VISION_FIX.format("torchvision"),
        ),
        _cudnn(
            "r.txt",
            10,
            "nvidia-cudnn-cu12==9.1.0.70",
            "2.3.0",
            o7,
            "nvidia-cudnn-cu12==8.9.2.26",
            "warning",
        ),
        Finding(
            "VG007",
            "error",
            "torchaudio 2.4.1 here and torch 2.3.0 (o.txt:7) were not built for each other",
            "x.txt",
            8,
            1,
            (("o.txt", 7),),
            VISION_FIX.format("torchaudio"),
        ),
    ]


def test_a_library_pin_without_a_torch_build_says_nothing() -> None:
    assert _check([_pin("r.txt", 2, "cudnn", "9.0.0", raw="nvidia_cudnn_cu12==9.0.0")]) == []
    cpu = [
        _pin("r.txt", 1, "torch", "2.4.1+cpu", variant="cpu"),
        _pin("r.txt", 2, "cudnn", "9.0.0", raw="nvidia_cudnn_cu12==9.0.0"),
    ]
    assert _check(cpu) == []


def test_the_nccl_wheel_the_torch_build_needs() -> None:
    pins = [
        _pin("r.txt", 1, "torch", "2.7.1"),
        _pin("r.txt", 2, "nccl", "2.25.1", raw="nvidia-nccl-cu12==2.25.1"),
    ]
    [finding] = _check(pins)
    assert finding.message == (
        "nvidia-nccl-cu12==2.25.1 here, but torch 2.7.1 (CUDA 12.6, r.txt:1) requires "
        "nvidia-nccl-cu12==2.26.2"
    )
    assert (
        finding.fix
        == "remove the NCCL pin and let torch bring its own, or pin nvidia-nccl-cu12==2.26.2."
    )
    assert finding.severity == "error"


def test_an_index_chooses_the_wheel_so_pypis_default_cuda_says_nothing() -> None:
    pins = [
        _pin("r.txt", 1, "torch", "2.4.1"),
        _pin("r.txt", 2, "cudnn", "9.0.0", raw="nvidia-cudnn-cu12==9.0.0"),
        _pin(
            "r.txt",
            3,
            "cuda",
            "11.8",
            context="--index-url",
            raw="--index-url https://download.pytorch.org/whl/cu118",
        ),
    ]
    assert _check(pins) == []
    assert [f.rule_id for f in _check(pins[:2])] == ["VG018"]  # PyPI's 12.1 build needs 9.1.0.70
