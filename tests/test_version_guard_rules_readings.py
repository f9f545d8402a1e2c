"""How every rule family reads a pin: its version, CUDA variant, cuDNN major, Python minor or
range, where it comes from (index, matrix, YAML number, PyPI) and how it is named."""

from __future__ import annotations

from typing import Any

import pytest
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from mlops_actions.pins.model import Environment, Pin
from mlops_actions.version_guard.rules.readings import (
    cudnn_major,
    cudnn_text,
    from_index,
    from_matrix,
    from_pypi,
    indexed,
    join_items,
    members,
    python_minor,
    range_spec,
    variant_key,
    variant_text,
    version_of,
    wheel_cuda,
    where,
    yaml_number,
)


def pin(component: str = "torch", value: str = "2.4.1", how: str = "exact", **kw: Any) -> Pin:
    fields: dict[str, Any] = {"source": "requirements", "raw": f"{component}=={value}"}
    fields.update(kw)
    return Pin("req.txt", 3, 1, component, value, how, **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kw", "indexed_pin"),
    [
        ({"context": "--index-url"}, True),
        ({"context": "-i"}, True),
        ({"context": "--extra-index-url"}, True),
        ({"context": "-f"}, True),
        ({"context": "--find-links"}, True),
        ({"resolved_from": ("index https://download.pytorch.org/whl/cu121",)}, True),
        ({"resolved_from": ("find-links https://x",)}, True),
        ({"resolved_from": ("torch-backend cu121",)}, True),
        ({"resolved_from": ("ARG X (line 2)", "matrix.torch")}, False),
        ({"context": "--index"}, False),
        ({}, False),
    ],
)
def test_from_index(kw: dict[str, Any], indexed_pin: bool) -> None:
    p = pin(**kw)
    assert from_index(p) is indexed_pin
    assert indexed([pin(), p]) is indexed_pin


def test_where_a_value_comes_from() -> None:
    assert yaml_number(pin(resolved_from=("x", "unquoted YAML number 3.1")))
    assert not yaml_number(pin(resolved_from=("an unquoted YAML number",)))
    assert from_matrix(pin(context="job test matrix.torch"))
    assert from_matrix(pin(resolved_from=("matrix.torch=2.1.0",)))
    assert not from_matrix(pin(resolved_from=("a matrix.torch",), context="matrix"))
    assert where(pin()) == "req.txt:3"


@pytest.mark.parametrize(
    ("value", "how", "version"),
    [
        ("2.4.1+cu121", "exact", Version("2.4.1")),
        ("2.4.1", "exact", Version("2.4.1")),
        ("not-a-version", "exact", None),
        (">=2.1", "range", None),
    ],
)
def test_version_of(value: str, how: str, version: Version | None) -> None:
    assert version_of(pin(value=value, how=how)) == version


@pytest.mark.parametrize(
    ("component", "value", "variant", "how", "key"),
    [
        ("cuda", "12.1.1", None, "exact", "12.1"),
        ("cuda", "12.1", "cpu", "exact", "cpu"),
        ("cuda", "CPU", None, "exact", "cpu"),
        ("cuda", "None", None, "exact", "cpu"),
        ("cuda", "12.1", None, "range", None),
        ("rocm", "6.1", None, "exact", "rocm6.1"),
        ("rocm", "six", None, "exact", None),
        ("torch", "2.4.1", "cpu", "exact", "cpu"),
        ("torchvision", "0.19.1", "rocm6.1", "exact", "rocm6.1"),
        ("torchaudio", "2.4.1", "rocmX", "exact", None),
        ("torch", "2.4.1", "cu118", "exact", "11.8"),
        ("torch", "2.4.1", None, "exact", None),
        ("numpy", "1.26", "cu121", "exact", None),
    ],
)
def test_variant_key(
    component: str, value: str, variant: str | None, how: str, key: str | None
) -> None:
    assert variant_key(pin(component, value, how, variant=variant)) == key


@pytest.mark.parametrize(
    ("component", "value", "how", "major"),
    [
        ("cudnn", "8.9.2.26", "exact", "8"),
        ("cudnn", "9", "range", "9"),
        ("cudnn", "9", "unpinned", None),
        ("cudnn", "x", "exact", None),
        ("cuda", "9", "exact", None),
    ],
)
def test_cudnn_major(component: str, value: str, how: str, major: str | None) -> None:
    assert cudnn_major(pin(component, value, how)) == major


@pytest.mark.parametrize(
    ("value", "how", "resolved", "minor"),
    [
        ("3.11", "exact", (), "3.11"),
        (" 3.11.9 ", "exact", (), "3.11"),
        ("3.13t", "exact", (), "3.13t"),
        ("3", "exact", (), None),
        ("three", "exact", (), None),
        ("3.11", "range", (), None),
        ("3.1", "exact", ("unquoted YAML number 3.10",), None),
    ],
)
def test_python_minor(value: str, how: str, resolved: tuple[str, ...], minor: str | None) -> None:
    assert python_minor(pin("python", value, how, resolved_from=resolved)) == minor
    assert python_minor(pin("torch", value, how)) is None


def test_range_spec() -> None:
    assert range_spec(pin(value=">=2.1,<3", how="range")) == SpecifierSet(">=2.1,<3")
    assert range_spec(pin(value="~=", how="range")) is None
    assert range_spec(pin(value=">=2.1", how="exact")) is None


@pytest.mark.parametrize(
    ("items", "limit", "text"),
    [
        ([], 4, ""),
        (["a"], 4, "a"),
        (["a", "b"], 4, "a and b"),
        (["a", "b", "c"], 4, "a, b and c"),
        (["a", "b", "c", "d"], 4, "a, b, c and d"),
        (["a", "b", "c", "d", "e", "f"], 4, "a, b, c, d and 2 more"),
        (["a", "b", "c", "d"], 3, "a, b, c and 1 more"),
        (["a", "b"], 1, "a and 1 more"),
    ],
)
def test_join_items(items: list[str], limit: int, text: str) -> None:
    assert join_items(items, limit) == text


def test_join_items_default_limit_is_four() -> None:
    assert join_items(["a", "b", "c", "d", "e"]) == "a, b, c, d and 1 more"


def test_members_of_a_file_leave_out_matrix_alternatives() -> None:
    plain, matrixed = pin(), pin(value="2.1.0", context="matrix.torch")
    file_env = Environment("f", "file", "f", "file", ("req.txt",), (plain, matrixed, plain))
    assert members(file_env) == [plain]
    ci_env = Environment("c", "ci", "c", "ci", ("req.txt",), (plain, matrixed, plain))
    assert members(ci_env) == [plain, matrixed]


def test_texts() -> None:
    assert cudnn_text(pin("cudnn", "8"), "8") == "cuDNN 8"
    assert cudnn_text(pin("cudnn", "8.9.2"), "8") == "cuDNN 8 (8.9.2)"
    assert variant_text(pin("cuda", "12.1"), "12.1") == "CUDA 12.1"
    assert variant_text(pin("cuda", "cpu"), "cpu") == "CPU"
    assert variant_text(pin("rocm", "6.1"), "rocm6.1") == "rocm6.1"
    assert variant_text(pin("torch", "2.4.1+cu121"), "12.1") == "CUDA 12.1 (torch 2.4.1+cu121)"
    assert variant_text(pin("torchaudio", "2.4.1"), "cpu") == "CPU (torchaudio 2.4.1)"


@pytest.mark.parametrize(
    ("kw", "env_indexed", "pypi"),
    [
        ({}, False, True),
        ({}, True, False),
        ({"component": "torchvision", "raw": "torchvision==0.19"}, False, False),
        ({"variant": "cu121"}, False, False),
        ({"derived_from": "pytorch/pytorch:2.4.1-cuda12.1"}, False, False),
        ({"source": "conda"}, False, False),
        ({"source": "dockerfile", "raw": "  Torch==2.4.1"}, False, True),
        ({"source": "workflow"}, False, True),
        ({"source": "dockerfile", "raw": "ARG TORCH=2.4.1"}, False, False),
        ({"resolved_from": ("conda",)}, False, False),
    ],
)
def test_from_pypi(kw: dict[str, Any], env_indexed: bool, pypi: bool) -> None:
    component = kw.pop("component", "torch")
    assert from_pypi(pin(component, **kw), env_indexed) is pypi


@pytest.mark.parametrize(
    ("kw", "env_indexed", "cuda"),
    [
        ({"value": "2.4.1"}, False, "12.1"),  # PyPI's default wheel for 2.4
        ({"value": "2.5.1"}, False, "12.4"),
        ({"value": "2.4.1"}, True, None),  # an index chooses the wheel
        ({"value": "2.4.1+cu118", "variant": "cu118"}, False, "11.8"),
        ({"value": "2.4.1+cpu", "variant": "cpu"}, False, None),
        ({"value": "2.4.1", "variant": "rocm6.1"}, False, None),
        ({"value": ">=2.4", "how": "range"}, False, None),
        ({"value": "1.0.0"}, False, None),  # no known default
        ({"value": "2.4.1", "source": "conda"}, False, None),
    ],
)
def test_wheel_cuda(kw: dict[str, Any], env_indexed: bool, cuda: str | None) -> None:
    assert wheel_cuda(pin(**kw), env_indexed) == cuda
