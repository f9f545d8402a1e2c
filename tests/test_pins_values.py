"""Decoding of tags, requirement lines, index URLs and version texts (incl. property tests)."""

from __future__ import annotations

from typing import cast

from hypothesis import given
from hypothesis import strategies as st

from mlops_actions.pins.expand import expand
from mlops_actions.pins.model import Component
from mlops_actions.pins.values import (
    Decoded,
    classify_value,
    component_for_name,
    decode_apt_package,
    decode_conda_spec,
    decode_image,
    decode_requirement,
    decode_wheel_url,
    index_variant,
    local_variant,
    parse_image_ref,
)


def _one(line: str) -> Decoded:
    out = decode_requirement(line)
    assert isinstance(out, tuple) and len(out) == 1, out
    return out[0]


def test_pytorch_tag_grammar() -> None:
    out = decode_image("pytorch/pytorch:2.1.0-cuda11.8-cudnn8-devel")
    assert [(d.component, d.value, d.how) for d in out] == [
        ("image", "pytorch/pytorch:2.1.0-cuda11.8-cudnn8-devel", "exact"),
        ("torch", "2.1.0", "exact"),
        ("cuda", "11.8", "exact"),
        ("cudnn", "8", "exact"),
    ]
    assert {d.variant for d in out[1:]} == {"cu118"}
    assert {d.flavour for d in out[1:]} == {"devel"}
    cpu = decode_image("docker.io/pytorch/pytorch:2.4.0-runtime")
    assert [(d.component, d.value, d.variant) for d in cpu[1:]] == [("torch", "2.4.0", "cpu")]


def test_pytorch_tag_not_following_grammar_is_unresolved() -> None:
    out = decode_image("pytorch/pytorch:2.1.0-cuda11.8-weird")
    assert out[1].component == "torch" and out[1].how == "unresolved"
    assert out[1].reason is not None and "cudnn" in out[1].reason


def test_nvidia_cuda_tag_grammar() -> None:
    old = decode_image("nvidia/cuda:11.8.0-cudnn8-runtime-ubuntu22.04")
    assert [(d.component, d.value, d.how) for d in old[1:]] == [
        ("cuda", "11.8.0", "exact"),
        ("cudnn", "8", "exact"),
        ("python", "3.10", "exact"),  # ubuntu22.04's python3
    ]
    new = decode_image("nvidia/cuda:12.6.3-cudnn-devel-ubuntu24.04")
    assert new[1].value == "12.6.3" and new[1].variant == "cu126"
    assert new[2].component == "cudnn" and new[2].how == "unresolved"
    assert (new[3].component, new[3].value) == ("python", "3.12")
    base = decode_image("nvidia/cuda:12.4.1-base-ubuntu22.04")
    assert [d.component for d in base] == ["image", "cuda", "python"]


def test_image_pinning_kinds() -> None:
    assert decode_image("pytorch/pytorch:latest")[0].how == "latest"
    assert decode_image("pytorch/pytorch")[0].how == "unpinned"
    assert decode_image("nvidia/cuda:12.1.0-base-ubuntu22.04@sha256:ab")[0].how == "digest"
    assert decode_image("pytorch/pytorch:${TAG}")[0].how == "unresolved"
    assert decode_image("localhost:5000/team/img")[0].how == "unpinned"
    ref = parse_image_ref("localhost:5000/team/img:1.0")
    assert ref is not None and ref.repository == "localhost:5000/team/img" and ref.tag == "1.0"


def test_ngc_and_rocm_images() -> None:
    ngc = decode_image("nvcr.io/nvidia/pytorch:24.01-py3")
    assert ngc[1].component == "torch" and ngc[1].how == "unresolved"
    assert ngc[1].reason is not None and "24.01" in ngc[1].reason
    rocm = decode_image("rocm/pytorch:rocm6.2.3_ubuntu22.04_py3.10_pytorch_release_2.3.0")
    values = {(d.component, d.value) for d in rocm[1:]}
    assert values == {("torch", "2.3.0"), ("rocm", "6.2.3"), ("python", "3.10")}
    assert decode_image("rocm/pytorch:rocm6.1_ubuntu22.04")[-1].how == "unresolved"
    assert decode_image("python:3.11-slim-bookworm")[1].value == "3.11"


def test_requirement_lines() -> None:
    torch = _one("torch==2.9.0+cu128")
    assert (torch.value, torch.how, torch.variant) == ("2.9.0+cu128", "exact", "cu128")
    rng = _one("torch>=2.1,<3 ; python_version >= '3.9'")
    assert rng.how == "range" and rng.value == "<3,>=2.1"
    bare = _one("torchvision")
    assert bare.how == "unpinned"
    assert decode_requirement("numpy==1.26") == ()
    assert isinstance(decode_requirement("torch=="), str)
    url = _one(
        "torch @ https://download.pytorch.org/whl/cu121/"
        "torch-2.1.0%2Bcu121-cp310-cp310-linux_x86_64.whl"
    )
    assert (url.value, url.variant) == ("2.1.0+cu121", "cu121")


def test_wheel_url_and_indexes() -> None:
    (w,) = decode_wheel_url(
        "https://download.pytorch.org/whl/cu118/torchaudio-2.0.2%2Bcu118-cp39-cp39-linux_x86_64.whl"
    )
    assert (w.component, w.value) == ("torchaudio", "2.0.2+cu118")
    assert decode_wheel_url("https://example.com/numpy-1.0-py3-none-any.whl") == ()
    assert index_variant("https://download.pytorch.org/whl/cu124") == "cu124"
    assert index_variant("https://download.pytorch.org/whl/nightly/cu130/") == "cu130"
    assert index_variant("https://download.pytorch.org/whl/rocm6.1") == "rocm6.1"
    assert index_variant("https://download.pytorch.org/whl/torch_stable.html") is None
    assert local_variant("2.4.1+cpu") == "cpu"
    assert local_variant("2.4.1+abc") is None


def test_classify_value() -> None:
    assert classify_value("python", "3.x").how == "range"
    assert classify_value("python", "3.13t").how == "exact"
    assert classify_value("torch", ">=2.1").how == "range"
    assert classify_value("torch", "nightly").how == "latest"
    assert classify_value("torch", "").how == "unpinned"
    assert classify_value("torch", "two").how == "unresolved"
    cu = classify_value("cuda", "cu124")
    assert (cu.value, cu.variant) == ("12.4", "cu124")
    assert classify_value("cuda", "12-8").value == "12.8"


def test_names_to_components() -> None:
    assert component_for_name("PYTORCH_VERSION") == "torch"
    assert component_for_name("python-version") == "python"
    assert component_for_name("CUDA_VER") == "cuda"
    assert component_for_name("cudnn") == "cudnn"
    assert component_for_name("NUMPY_VERSION") is None
    assert component_for_name("version") is None


def test_conda_and_apt() -> None:
    spec = decode_conda_spec("pytorch==2.1.0=py3.10_cuda12.1_cudnn8.9.2_0")
    assert spec is not None and not isinstance(spec, str)
    assert (spec.value, spec.variant) == ("2.1.0", "cu121")
    cuda = decode_conda_spec("pytorch-cuda=12.1")
    assert cuda is not None and not isinstance(cuda, str) and cuda.value == "12.1"
    py = decode_conda_spec("python>=3.10")
    assert py is not None and not isinstance(py, str) and py.how == "range"
    star = decode_conda_spec("cudatoolkit=11.8.*")
    assert star is not None and not isinstance(star, str) and star.how == "range"
    assert decode_conda_spec("numpy=1.26") is None
    apt = decode_apt_package("cuda-toolkit-12-8")
    assert apt is not None and (apt.component, apt.value) == ("cuda", "12.8")
    cudnn = decode_apt_package("libcudnn8=8.9.2.26-1+cuda12.1")
    assert cudnn is not None and (cudnn.value, cudnn.variant) == ("8.9.2.26", "cu121")
    assert decode_apt_package("curl") is None


def test_expansion_forms() -> None:
    env: dict[str, str | None] = {"A": "1", "EMPTY": "", "UNSET": None}
    assert expand("${A:-x}", env).text == "1"
    assert expand("${EMPTY:-x}", env).text == "x"
    assert expand("${UNSET:-x}", env).text == "x"
    assert expand("${A:+-cuda$A}", env).text == "-cuda1"
    assert expand("${UNSET:+yes}", env).text == ""
    assert expand("${UNSET:-${A}}", env).text == "1"
    assert not expand("$UNSET", env).ok
    assert not expand("${MISSING:-x}", env).ok
    assert not expand("${A#1}", env).ok


_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=60)


@given(st.one_of(_text, st.from_regex(r"[a-z./:@-]{0,20}:[0-9a-z.-]{0,30}", fullmatch=True)))
def test_image_decoding_is_total(ref: str) -> None:
    out = decode_image(ref)
    assert out and out[0].component == "image"
    for d in out:
        assert d.how in {"exact", "range", "unpinned", "latest", "unresolved", "digest"}
        assert d.how != "unresolved" or d.reason


@given(st.one_of(_text, st.from_regex(r"torch[=<>!~ ]{0,3}[0-9a-z.+*]{0,12}", fullmatch=True)))
def test_requirement_decoding_is_total(line: str) -> None:
    out = decode_requirement(line)
    assert isinstance(out, (str, tuple))


@given(_text, st.sampled_from(["torch", "cuda", "python", "cudnn", "rocm", "image"]))
def test_value_classification_is_total(text: str, component: str) -> None:
    d = classify_value(cast(Component, component), text)
    assert d.how in {"exact", "range", "unpinned", "latest", "unresolved", "digest"}
    assert d.how != "unresolved" or d.reason


@given(_text)
def test_conda_and_expansion_are_total(text: str) -> None:
    decode_conda_spec(text)
    decode_apt_package(text)
    expand(text, {"A": "1"})
