"""What a pin says, read the same way by every rule family: its exact version, CUDA variant,
cuDNN major, Python minor or range, and how a pin is named in a message."""

from __future__ import annotations

from collections.abc import Sequence

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

from mlops_actions.compat import cuda_minor, cuda_tag_to_version, parse_version, pypi_default_cuda
from mlops_actions.pins.model import Component, Environment, Pin
from mlops_actions.pins.values import YAML_NUMBER

TORCH_FAMILY: tuple[Component, ...] = ("torch", "torchvision", "torchaudio")
INDEX_OPTIONS = frozenset({"-i", "--index-url", "--extra-index-url", "-f", "--find-links"})


def from_index(pin: Pin) -> bool:
    """A CUDA variant named by a package index, find-links URL or uv ``--torch-backend`` (a
    wheel choice, not a toolkit)."""
    return pin.context in INDEX_OPTIONS or any(
        r.startswith(("index ", "find-links ", "torch-backend ")) for r in pin.resolved_from
    )


def yaml_number(pin: Pin) -> bool:
    """A workflow value YAML read as a number that changed it (``3.10`` → ``3.1``)."""
    return any(r.startswith(YAML_NUMBER) for r in pin.resolved_from)


def from_matrix(pin: Pin) -> bool:
    """A value that comes from a CI matrix (a matrix tests several versions on purpose)."""
    return "matrix." in pin.context or any(r.startswith("matrix.") for r in pin.resolved_from)


def where(pin: Pin) -> str:
    return f"{pin.file}:{pin.line}"


def version_of(pin: Pin) -> Version | None:
    """The public version of an exact pin (local ``+cu121`` dropped)."""
    if pin.how != "exact":
        return None
    v = parse_version(pin.value)
    return None if v is None else parse_version(v.public)


def variant_key(pin: Pin) -> str | None:
    """The CUDA variant a pin names, as ``12.1`` / ``cpu`` / ``rocm6.1``; None if it names none."""
    if pin.how != "exact":
        return None
    if pin.component == "cuda":
        if pin.variant == "cpu" or pin.value.lower() in {"cpu", "none"}:
            return "cpu"
        return cuda_minor(pin.value)
    if pin.component == "rocm":
        v = parse_version(pin.value)
        return None if v is None else f"rocm{v}"
    if pin.component in TORCH_FAMILY and pin.variant:
        if pin.variant == "cpu":
            return "cpu"
        if pin.variant.startswith("rocm"):
            v = parse_version(pin.variant[4:])
            return None if v is None else f"rocm{v}"
        return cuda_tag_to_version(pin.variant)
    return None


def cudnn_major(pin: Pin) -> str | None:
    if pin.how not in {"exact", "range"} or pin.component != "cudnn":
        return None
    v = parse_version(pin.value)
    return None if v is None else str(v.release[0])


def python_minor(pin: Pin) -> str | None:
    if pin.how != "exact" or pin.component != "python" or yaml_number(pin):
        return None  # a YAML-number accident is reported once, by VG021
    text = pin.value.strip()
    threaded = text.endswith("t")
    v = parse_version(text[:-1] if threaded else text)
    if v is None or len(v.release) < 2:
        return None
    return f"{v.release[0]}.{v.release[1]}" + ("t" if threaded else "")


def range_spec(pin: Pin) -> SpecifierSet | None:
    if pin.how != "range":
        return None
    try:
        return SpecifierSet(pin.value)
    except InvalidSpecifier:
        return None


def join_items(items: Sequence[str], limit: int = 4) -> str:
    shown = list(items[:limit])
    if len(items) > limit:
        shown.append(f"{len(items) - limit} more")
    if len(shown) <= 1:
        return "".join(shown)
    return ", ".join(shown[:-1]) + " and " + shown[-1]


def members(env: Environment) -> list[Pin]:
    pins = list(dict.fromkeys(env.pins))
    if env.kind == "file":
        # Leftover matrix values of a workflow are alternatives, not one environment.
        pins = [p for p in pins if not from_matrix(p)]
    return pins


def cudnn_text(pin: Pin, major: str) -> str:
    return f"cuDNN {major}" if pin.value == major else f"cuDNN {major} ({pin.value})"


def variant_text(pin: Pin, key: str) -> str:
    shown = "CPU" if key == "cpu" else (key if key.startswith("rocm") else f"CUDA {key}")
    if pin.component in TORCH_FAMILY:
        return f"{shown} ({pin.component} {pin.value})"
    return shown


_PIP_SOURCES = frozenset({"requirements", "dockerfile", "workflow"})


def indexed(env_pins: Sequence[Pin]) -> bool:
    """Whether an index, find-links URL or uv backend of the environment chooses its wheels."""
    return any(from_index(p) for p in env_pins)


def from_pypi(pin: Pin, env_indexed: bool) -> bool:
    """A torch pin pip resolves on PyPI: no ``+cuXXX``, not decoded from an image tag, a pip
    line (conda builds are named by their channel), and no index, find-links or uv backend in
    its environment (``env_indexed``, from ``indexed``)."""
    return (
        pin.component == "torch"
        and pin.variant is None
        and not pin.derived_from
        and pin.source in _PIP_SOURCES
        and pin.raw.lstrip().lower().startswith("torch")  # a requirement, not `ARG TORCH=2.4`
        and "conda" not in pin.resolved_from
        and not env_indexed
    )


def wheel_cuda(pin: Pin, env_indexed: bool) -> str | None:
    """The CUDA minor of the torch wheel a pin installs: its ``+cuXXX``/index variant, or for a
    PyPI pin the release's PyPI default (Linux x86_64); None for CPU/ROCm or when unknown."""
    key = variant_key(pin)
    if key is not None:
        return None if key == "cpu" or key.startswith("rocm") else key
    v = version_of(pin)
    if v is None or not from_pypi(pin, env_indexed):
        return None
    return pypi_default_cuda(str(v))
