"""Decoding what pins say: version texts, requirement lines, index URLs, image tags, conda specs.

Everything here is pure and total: malformed input yields an ``unresolved`` decode with a reason,
never an exception. Versions and specifiers are parsed with ``packaging`` only; the regular
expressions below split image tags and package names into fields, they never compare versions.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import unquote, urlsplit

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from mlops_actions.compat import (
    cuda_minor,
    cuda_tag_to_version,
    cuda_version_to_tag,
    is_version,
    os_python,
    parse_version,
)
from mlops_actions.pins.model import Component, How, Pin, Source

# Distribution names (canonical) → component.
PACKAGE_COMPONENTS: dict[str, Component] = {
    "torch": "torch",
    "pytorch": "torch",
    "torchvision": "torchvision",
    "torchaudio": "torchaudio",
    "nvidia-cudnn-cu11": "cudnn",
    "nvidia-cudnn-cu12": "cudnn",
    "nvidia-cudnn-cu13": "cudnn",
    "nvidia-nccl-cu11": "nccl",
    "nvidia-nccl-cu12": "nccl",
    "nvidia-nccl-cu13": "nccl",
}

_NAME_COMPONENTS: dict[str, Component] = {
    "torch": "torch",
    "pytorch": "torch",
    "pt": "torch",
    "torchvision": "torchvision",
    "vision": "torchvision",
    "torchaudio": "torchaudio",
    "audio": "torchaudio",
    "cuda": "cuda",
    "cu": "cuda",
    "cudatoolkit": "cuda",
    "cudnn": "cudnn",
    "python": "python",
    "py": "python",
    "pyver": "python",
    "nccl": "nccl",
    "rocm": "rocm",
    "image": "image",
    "container": "image",
    "docker-image": "image",
    "base-image": "image",
}
_NAME_SUFFIXES = ("version", "ver", "v")
# Tags and values that name a moving target rather than a build.
MOVING_TAGS = frozenset(
    {
        "latest",
        "nightly",
        "stable",
        "main",
        "master",
        "edge",
        "head",
        "dev",
        "rolling",
        "canary",
        "next",
        "beta",
        "alpha",
        "preview",
        "unstable",
        "testing",
        "current",
    }
)
# An image tag naming only a major version (`python:3`, `node:20-slim`, `action:v1`) follows
# every release of that line: it moves as surely as `latest`. (A date stamp has more digits.)
_MAJOR_ONLY_TAG = re.compile(r"^v?\d{1,3}(?:[-_][A-Za-z][A-Za-z0-9._-]*)?$", re.IGNORECASE)
# A tag holding one of these words moves too (``latest-gpu``, ``cu121-latest``, ``nightly-cuda``,
# ``rolling``), unless it also carries a date (``nightly-20240501``).
_MOVING_WORDS = frozenset({"latest", "nightly", "stable", "rolling", "edge"})
_TAG_WORDS = re.compile(r"[-_.]")
_DATED = re.compile(r"(?:19|20)\d{2}-?\d{2}-?\d{2}")
YAML_NUMBER = "unquoted YAML number"
"""Start of the ``resolved_from`` note of a workflow value YAML reads as a number whose text
changes (``python-version: 3.10`` is the number 3.1; setup-python issues #662 and #198)."""
OS_PYTHON = "system python3 of"
"""Start of the ``resolved_from`` note of a Python inferred from a base image's OS."""
INVALID_LOCAL = "a local version label (+cpu, +cu121) is only valid with == or !="


@dataclass(frozen=True)
class Decoded:
    """A component value read from text, before it gets a file position."""

    component: Component
    value: str
    how: How
    variant: str | None = None
    reason: str | None = None
    flavour: str | None = None


# packaging converts every release number with int(), which refuses more than Python's limit of
# digits (4,300 by default) with a ValueError that is no InvalidVersion. Such text is no version:
# it is turned away here, where text first meets packaging, and no Pin ever holds it.
_MAX_DIGITS = sys.get_int_max_str_digits() or 4300
_TOO_LONG = f"holds a number of more than {_MAX_DIGITS} digits"
_DIGITS = re.compile(r"\d+")


def _too_long(text: str) -> bool:
    # One match per run of digits: linear, where \d{4301,} would backtrack at every start. A
    # text shorter than the limit holds no such run (most pins: a few characters).
    return len(text) > _MAX_DIGITS and any(
        m.end() - m.start() > _MAX_DIGITS for m in _DIGITS.finditer(text)
    )


def pin_from(
    d: Decoded,
    file: str,
    at: tuple[int, int],
    source: Source,
    context: str,
    raw: str,
    *,
    resolved: tuple[str, ...] = (),
    environment: str | None = None,
    reason: str | None = None,
    derived_from: str | None = None,
) -> Pin:
    """The pin a decoded value makes at ``at`` (line, column); ``reason`` overrides the decode's."""
    line, col = at
    if _too_long(d.value):
        d = Decoded(d.component, d.value, "unresolved", reason=_TOO_LONG)
    return Pin(
        file=file,
        line=line,
        col=col,
        component=d.component,
        value=d.value,
        how=d.how,
        source=source,
        context=context,
        variant=d.variant,
        environment=environment,
        raw=raw,
        resolved_from=resolved,
        reason=reason or d.reason,
        derived_from=derived_from,
        flavour=d.flavour,
    )


def component_for_name(name: str) -> Component | None:
    """Which component a variable, input or matrix key names: ``PYTORCH_VERSION`` → torch,
    ``python-version`` → python, ``cuda`` → cuda; None for anything else."""
    parts = [p for p in re.split(r"[-_.\s]+", name.strip().lower()) if p]
    while len(parts) > 1 and parts[-1] in _NAME_SUFFIXES:
        parts.pop()
    if not parts:
        return None
    key = "-".join(parts)
    return _NAME_COMPONENTS.get(key)


def local_variant(version: str) -> str | None:
    """``2.4.1+cu121`` → ``cu121``; ``+cpu`` → ``cpu``; ``+rocm6.1`` → ``rocm6.1``."""
    parsed = parse_version(version)
    local = parsed.local if parsed is not None else None
    if local is None:
        return None
    if cuda_tag_to_version(local) is not None or local == "cpu" or local.startswith("rocm"):
        return local
    return None


_INDEX_VARIANT = re.compile(r"/whl/(?:nightly/|test/)?(cu\d{2,3}|cpu|rocm\d+(?:\.\d+)*|xpu)(?:/|$)")


def index_variant(url: str) -> str | None:
    """Variant served by a PyTorch wheel index (``…/whl/cu121`` → ``cu121``)."""
    m = _INDEX_VARIANT.search(unquote(url).rstrip("/") + "/")
    return m.group(1) if m else None


def variant_pin(variant: str, how: How = "exact") -> Decoded | None:
    """The CUDA or ROCm pin a variant implies (``cu121`` → cuda 12.1; ``rocm6.1`` → rocm 6.1)."""
    cuda = cuda_tag_to_version(variant)
    if cuda is not None:
        return Decoded("cuda", cuda, how, variant=variant)
    if variant.startswith("rocm") and is_version(variant[4:]):
        return Decoded("rocm", variant[4:], how, variant=variant)
    return None


def is_moving(tag: str) -> bool:
    """Whether a tag or value (any case) names a moving target: ``latest``, ``nightly``,
    ``rolling``, and tags that join such a word to a flavour (``latest-gpu``, ``cu121-latest``)
    unless they also carry a date (``nightly-20240501`` is one build)."""
    lower = tag.lower()
    if lower in MOVING_TAGS:
        return True
    return bool(_MOVING_WORDS.intersection(_TAG_WORDS.split(lower))) and not _DATED.search(tag)


def is_moving_image_tag(tag: str) -> bool:
    """A moving value (``latest``, ``canary``, …) or a major-only image tag (``3``, ``v1``)."""
    return is_moving(tag) or bool(_MAJOR_ONLY_TAG.match(tag))


def classify_value(component: Component, text: str) -> Decoded:
    """Decode a bare value given to a named variable/input (``2.1.0``, ``>=2.1``, ``3.x``,
    ``cu121``, ``12-8``, ``latest``)."""
    value = text.strip().strip("'\"")
    if _too_long(value):
        return Decoded(component, value, "unresolved", reason=_TOO_LONG)
    if value == "":
        return Decoded(component, "", "unpinned", reason="empty value")
    if "$" in value:
        return Decoded(component, value, "unresolved", reason="value holds an unresolved variable")
    if is_moving(value):
        return Decoded(component, value, "latest")
    if component == "image":
        return decode_image(value)[0]
    if component == "cuda":
        if value.lower() in {"cpu", "none"}:
            return Decoded("cuda", value, "exact", variant="cpu")
        minor = cuda_minor(value)
        if minor is not None:
            normal = value if re.fullmatch(r"\d+(?:\.\d+)*", value) else minor
            return Decoded("cuda", normal, "exact", variant=cuda_version_to_tag(minor))
    if component == "rocm":
        v = value.removeprefix("rocm")
        if is_version(v):
            return Decoded("rocm", v, "exact", variant=f"rocm{v}")
    if component == "python" and re.fullmatch(r"\d+\.\d+t", value):
        return Decoded("python", value, "exact")
    if re.fullmatch(r"\d+(\.\d+)*\.[x*]", value):
        return Decoded(component, value, "range")
    if is_version(value):
        return Decoded(component, value, "exact", variant=local_variant(value))
    try:
        spec = SpecifierSet(value)
    except InvalidSpecifier:
        return Decoded(component, value, "unresolved", reason=f"{value!r} is not a version")
    return _from_specifier(component, spec, value)


def _from_specifier(component: Component, spec: SpecifierSet, text: str) -> Decoded:
    items = list(spec)
    if not items:
        return Decoded(component, "", "unpinned")
    if any(not item.version for item in items):
        return Decoded(component, text, "unresolved", reason=f"{text!r} names no version")
    if len(items) == 1 and items[0].operator in {"==", "==="} and "*" not in items[0].version:
        version = items[0].version
        return Decoded(component, version, "exact", variant=local_variant(version))
    return Decoded(component, str(spec) if text.strip() else text, "range")


_REQ_NAME = re.compile(r"\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)")


def decode_requirement(text: str) -> tuple[Decoded, ...] | str:
    """Pins from a PEP 508 requirement (``torch==2.4.1+cu121; python_version>='3.9'``).

    Returns the decoded pins (empty for packages we do not track) or an error message.
    """
    # Cheap name check first: packaging's parser is the slow part of a scan, and only
    # tracked packages matter (their malformed lines are still reported).
    m = _REQ_NAME.match(text)
    if m is not None and canonicalize_name(m.group(1)) not in PACKAGE_COMPONENTS:
        return ()
    if _too_long(text):
        return f"not a valid requirement: it {_TOO_LONG}"
    try:
        req = Requirement(text)
    except InvalidRequirement as exc:
        invalid = _invalid_local(text)
        # packaging's message carries the text and a caret on further lines: keep one line.
        first = str(exc).splitlines()[0] if str(exc) else "unreadable"
        return (invalid,) if invalid is not None else f"not a valid requirement: {first}"
    name = canonicalize_name(req.name)
    component = PACKAGE_COMPONENTS.get(name)
    if component is None:
        return ()
    if req.url:
        wheel = decode_wheel_url(req.url)
        if wheel:
            return wheel
        return (Decoded(component, req.url, "unresolved", reason="installed from a URL"),)
    return (_from_specifier(component, req.specifier, str(req.specifier)),)


_LOCAL_IN_RANGE = re.compile(r"(?P<op>~=|>=|<=|>|<)\s*(?P<version>[^\s,;]+\+[^\s,;]+)")


def _invalid_local(text: str) -> Decoded | None:
    """``torch>=2.12.0+cpu``: a local label in an ordering specifier, which pip rejects (the
    file cannot be installed); recorded as ``invalid`` so it is reported as the error it is."""
    m = _LOCAL_IN_RANGE.search(text)
    name = _REQ_NAME.match(text)
    if m is None or name is None:
        return None
    component = PACKAGE_COMPONENTS.get(canonicalize_name(name.group(1)))
    if component is None:
        return None
    try:
        local = Version(m.group("version")).local
        Requirement(
            text[: m.start("version")]
            + m.group("version").split("+", 1)[0]
            + text[m.end("version") :]
        )
    except (InvalidVersion, InvalidRequirement):
        return None
    spec = f"{m.group('op')}{m.group('version')}"
    reason = f"{spec}: {INVALID_LOCAL}; pip rejects the requirement"
    return Decoded(
        component,
        text.strip(),
        "invalid",
        variant=local_variant(m.group("version")) or local,
        reason=reason,
    )


def decode_wheel_url(url: str) -> tuple[Decoded, ...]:
    """A wheel URL (``…/torch-2.1.0%2Bcu121-cp310-…whl``) → its torch-family pin, if any."""
    if _too_long(url):
        return ()
    try:
        path = unquote(urlsplit(url).path)
    except ValueError:  # "s://]": an unbalanced IPv6 bracket in the host
        return ()
    filename = path.rsplit("/", 1)[-1]
    if not filename.endswith(".whl"):
        return ()
    try:
        name, version, _, _ = parse_wheel_filename(filename)
    except ValueError:  # InvalidWheelFilename, InvalidVersion, an over-long number
        return ()
    component = PACKAGE_COMPONENTS.get(canonicalize_name(name))
    if component is None:
        return ()
    v = str(version)
    return (Decoded(component, v, "exact", variant=local_variant(v) or index_variant(url)),)


# --- images --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImageRef:
    repository: str
    """Normalised: no ``docker.io/``, no ``library/``."""
    tag: str | None
    digest: str | None


@lru_cache(maxsize=4096)
def parse_image_ref(ref: str) -> ImageRef | None:
    text = ref.strip()
    if not text or any(c.isspace() for c in text):
        return None
    name, _, digest = text.partition("@")
    tag: str | None = None
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        name, tag = name[:colon], name[colon + 1 :]
    for prefix in ("docker.io/", "index.docker.io/", "registry-1.docker.io/"):
        if name.startswith(prefix):
            name = name[len(prefix) :]
    name = name.removeprefix("library/")
    if not name or (tag is not None and not tag):
        return None
    return ImageRef(name.lower(), tag, digest or None)


_DIGEST = re.compile(r"^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[0-9a-fA-F]{32,}$")


def is_pinned_image(ref: str) -> tuple[bool, str]:
    """Whether an image reference pins what runs, and why not when it does not.

    Pinned: a well-formed digest (``name@sha256:…``) or a tag that is not a moving one.
    """
    if "$" in ref:
        return False, "it holds a variable or expression whose value cannot be checked"
    image = parse_image_ref(ref)
    if image is None:
        return False, "it is not an image reference (empty, or with whitespace)"
    if image.digest is not None:
        if not _DIGEST.match(image.digest):
            return False, f"the digest {image.digest!r} is malformed (expected sha256:<64 hex>)"
        return True, "pinned by digest"
    if image.tag is None:
        return False, "it has no tag, which means latest"
    if is_moving(image.tag):
        return False, f"the tag {image.tag} moves with every push"
    if is_moving_image_tag(image.tag):
        return False, f"the tag {image.tag} names only a major version and moves with each release"
    return True, f"pinned by tag {image.tag}"


_PYTORCH_TAG = re.compile(
    r"^(?P<torch>\d+\.\d+(?:\.\d+)?)"
    r"(?:-cuda(?P<cuda>\d+\.\d+(?:\.\d+)?)-cudnn(?P<cudnn>\d+))?"
    r"-(?P<flavour>runtime|devel)$"
)
_CUDA_TAG = re.compile(
    r"^(?P<cuda>\d+\.\d+(?:\.\d+)?)-(?:(?P<withcudnn>cudnn(?P<cudnn>\d*))-)?"
    r"(?P<flavour>base|runtime|devel)-(?P<os>[a-z]+)(?P<osver>[\d.]+)$"
)
_NGC_TAG = re.compile(r"^(?P<release>\d{2}\.\d{2})-py3(?:-.*)?$")
_PYTHON_TAG = re.compile(r"^(?P<py>\d+\.\d+(?:\.\d+)?)(?:[a-z]+\d*)?(?:-.*)?$")


def decode_image(ref: str) -> tuple[Decoded, ...]:
    """The image pin followed by what its tag says about torch / CUDA / cuDNN / Python."""
    if "$" in ref:
        return (Decoded("image", ref, "unresolved", reason="image holds an unresolved variable"),)
    image = parse_image_ref(ref)
    if image is None:
        return (Decoded("image", ref, "unresolved", reason=f"{ref!r} is not an image reference"),)
    if image.digest:
        how: How = "digest"
    elif image.tag is None:
        how = "unpinned"
    elif is_moving_image_tag(image.tag):
        how = "latest"
    else:
        how = "exact"
    head = Decoded("image", ref.strip(), how)
    tag = image.tag
    if tag is None:
        return (head,)
    repo = image.repository
    if repo == "pytorch/pytorch":
        return (head, *_pytorch_tag(tag))
    if repo == "pytorch/pytorch-nightly":
        return (head, Decoded("torch", tag, "latest", reason="nightly image"))
    if repo == "nvidia/cuda":
        return (head, *_nvidia_cuda_tag(tag))
    if repo == "nvcr.io/nvidia/pytorch":
        return (head, *_ngc_tag(tag))
    if repo == "rocm/pytorch":
        return (head, *_rocm_tag(tag))
    if repo == "python":
        m = _PYTHON_TAG.match(tag)
        if m:
            return (head, Decoded("python", m.group("py"), "exact"))
    if repo in {"ubuntu", "debian"} and not is_moving(tag):
        release = tag.split("-", 1)[0]
        return (head, *_os_python(repo, release))
    return (head,)


def _os_python(os_name: str, release: str) -> tuple[Decoded, ...]:
    """The Python an OS base image gives when nothing else installs one (``ubuntu22.04`` →
    3.10): recorded with a reason starting ``OS_PYTHON`` so the Dockerfile scanner can drop it
    when the file installs another Python."""
    python = os_python(os_name, release)
    if python is None:
        return ()
    reason = f"{OS_PYTHON} {os_name} {release} is {python} (the image installs no other Python)"
    return (Decoded("python", python, "exact", reason=reason),)


def _pytorch_tag(tag: str) -> tuple[Decoded, ...]:
    if is_moving(tag):
        return (Decoded("torch", tag, "latest"),)
    m = _PYTORCH_TAG.match(tag)
    if m is None:
        return (
            Decoded(
                "torch",
                tag,
                "unresolved",
                reason="tag does not follow {torch}-cuda{X.Y}-cudnn{N}-{runtime|devel} "
                "or {torch}-runtime",
            ),
        )
    flavour = m.group("flavour")
    cuda = m.group("cuda")
    if cuda is None:
        return (Decoded("torch", m.group("torch"), "exact", variant="cpu", flavour=flavour),)
    variant = cuda_version_to_tag(cuda)
    return (
        Decoded("torch", m.group("torch"), "exact", variant=variant, flavour=flavour),
        Decoded("cuda", cuda, "exact", variant=variant, flavour=flavour),
        Decoded("cudnn", m.group("cudnn"), "exact", variant=variant, flavour=flavour),
    )


def _nvidia_cuda_tag(tag: str) -> tuple[Decoded, ...]:
    m = _CUDA_TAG.match(tag)
    if m is None:
        return (
            Decoded(
                "cuda",
                tag,
                "unresolved",
                reason="tag does not follow {X.Y.Z}-[cudnn[N]-]{base|runtime|devel}-{os}{ver}",
            ),
        )
    cuda = m.group("cuda")
    flavour = m.group("flavour")
    variant = cuda_version_to_tag(cuda)
    out = [Decoded("cuda", cuda, "exact", variant=variant, flavour=flavour)]
    if m.group("withcudnn"):
        major = m.group("cudnn")
        if major:
            out.append(Decoded("cudnn", major, "exact", variant=variant, flavour=flavour))
        else:
            out.append(
                Decoded(
                    "cudnn",
                    "",
                    "unresolved",
                    variant=variant,
                    flavour=flavour,
                    reason="the tag names cuDNN without its major (dropped from about CUDA 12.4);"
                    " read it from the image",
                )
            )
    return (*out, *_os_python(m.group("os"), m.group("osver")))


def _ngc_tag(tag: str) -> tuple[Decoded, ...]:
    m = _NGC_TAG.match(tag)
    what = f"NGC release {m.group('release')}" if m else f"NGC tag {tag!r}"
    return (
        Decoded(
            "torch",
            "",
            "unresolved",
            reason=f"{what}: the torch and CUDA versions it ships are not in the compatibility "
            "table; pin torch in a requirements file or check the installed version",
        ),
    )


def _rocm_tag(tag: str) -> tuple[Decoded, ...]:
    if is_moving(tag):
        return (Decoded("torch", tag, "latest"),)
    out: list[Decoded] = []
    parts = tag.split("_")
    torch: str | None = None
    for i, part in enumerate(parts):
        if part.startswith("rocm") and is_version(part[4:]):
            out.append(Decoded("rocm", part[4:], "exact", variant=f"rocm{part[4:]}"))
        elif re.fullmatch(r"py\d+\.\d+", part):
            out.append(Decoded("python", part[2:], "exact"))
        elif part == "pytorch":
            rest = [p for p in parts[i + 1 :] if p not in {"release", "staging"}]
            if rest and is_version(rest[0]):
                torch = rest[0]
    if torch is None:
        out.append(
            Decoded(
                "torch", "", "unresolved", reason="rocm/pytorch tag does not name a torch version"
            )
        )
    else:
        rocm = next((d.variant for d in out if d.component == "rocm"), None)
        out.insert(0, Decoded("torch", torch, "exact", variant=rocm))
    return tuple(out)


# --- conda ---------------------------------------------------------------------------------

_CONDA_NAMES: dict[str, Component] = {
    "pytorch": "torch",
    "torch": "torch",
    "torchvision": "torchvision",
    "torchaudio": "torchaudio",
    "pytorch-gpu": "torch",
    "pytorch-cpu": "torch",
    "pytorch-cuda": "cuda",
    "cudatoolkit": "cuda",
    "cuda-toolkit": "cuda",
    "cuda-version": "cuda",
    "cudnn": "cudnn",
    "nccl": "nccl",
    "python": "python",
}
_CONDA_SPEC = re.compile(r"^(?:(?P<channel>[\w.-]+)::)?(?P<name>[A-Za-z0-9_.-]+)\s*(?P<rest>.*)$")
_CONDA_BRACKET = re.compile(r"(?P<key>version|build)\s*=\s*['\"]?(?P<value>[^'\",\]]*)")
_BUILD_CUDA = re.compile(r"(?:^|[_.-])cuda(?P<major>\d{2})(?:\.?(?P<minor>\d))?(?=$|[_.*-])")
_BUILD_CPU = re.compile(r"(?:^|[_.-])cpu(?=$|[_.*-])")
_TORCH_FAMILY = frozenset({"torch", "torchvision", "torchaudio"})
PYTORCH_CHANNEL = "conda channel pytorch"
"""``resolved_from`` note of a torch-family conda pin taken from the ``pytorch`` channel, which
stopped publishing after torch 2.5 (pytorch/pytorch#138506)."""


def from_pytorch_channel(spec: str, channels: Sequence[str]) -> bool:
    """Whether a torch-family conda spec comes from the ``pytorch`` channel: it names the
    channel (``pytorch::pytorch``) or the channel list holds it."""
    m = _CONDA_SPEC.match(spec.strip())
    if m is None or _CONDA_NAMES.get(m.group("name").lower()) not in _TORCH_FAMILY:
        return False
    if m.group("channel"):
        return m.group("channel").lower() == "pytorch"
    return any(c.strip().lower() == "pytorch" for c in channels)


def build_variant(build: str) -> str | None:
    """The variant a conda build string names: ``cuda126_generic_py312_h1`` / ``cuda126*`` →
    ``cu126``, ``py3.10_cuda12.1_cudnn8_0`` → ``cu121``, ``cpu_generic_*`` → ``cpu``."""
    m = _BUILD_CUDA.search(build.lower())
    if m is not None:
        major, minor = m.group("major"), m.group("minor")
        if minor is None:
            return None  # ``cuda12`` alone names no build
        return cuda_version_to_tag(f"{int(major)}.{minor}")
    return "cpu" if _BUILD_CPU.search(build.lower()) else None


def decode_conda_spec(spec: str) -> Decoded | str | None:
    """``pytorch=2.1.0``, ``pytorch-cuda=12.1``, ``python>=3.10``, conda-forge build strings
    (``pytorch >=2.5 cuda126*``, ``pytorch=2.5.1=cuda126_*``, ``pytorch[version='>=2.5',
    build='cuda*']``) whose CUDA becomes the pin's variant.

    Returns None for packages we do not track, an error message for an unreadable spec.
    """
    m = _CONDA_SPEC.match(spec.strip())
    if m is None:
        return f"not a conda package spec: {spec!r}"
    if _too_long(spec):
        return f"not a conda package spec: it {_TOO_LONG}"
    name = m.group("name").lower()
    component = _CONDA_NAMES.get(name)
    if component is None:
        return None
    version, build = _conda_version_build(m.group("rest").strip())
    decoded = _conda_version(component, version, spec)
    variant = build_variant(build) if build and component in {"torch", "torchvision"} else None
    if name == "pytorch-cpu" or (name == "pytorch" and build and build.startswith("cpu")):
        variant = variant or "cpu"
    if variant is not None and decoded.variant is None:
        return Decoded(
            component, decoded.value, decoded.how, variant=variant, reason=decoded.reason
        )
    return decoded


def _conda_version_build(rest: str) -> tuple[str, str]:
    """Split what follows a conda package name into its version and build parts."""
    if rest.startswith("["):
        fields = {mm.group("key"): mm.group("value") for mm in _CONDA_BRACKET.finditer(rest)}
        return fields.get("version", "").strip(), fields.get("build", "").strip()
    if " " in rest:
        version, _, build = rest.partition(" ")
        return version.strip(), build.strip()
    if rest.startswith("=="):
        version, _, build = rest[2:].partition("=")
        return "==" + version, build
    if rest.startswith("="):
        version, _, build = rest[1:].partition("=")
        return version, build
    return rest, ""


def _conda_version(component: Component, version: str, spec: str) -> Decoded:
    if not version:
        return Decoded(component, "", "unpinned")
    bare = version.removeprefix("==")
    if bare.endswith("*"):
        return Decoded(component, bare, "range")
    if version[0] not in "<>!~=":
        return classify_value(component, bare)
    try:
        spec_set = SpecifierSet(version)
    except InvalidSpecifier:
        return Decoded(
            component, version, "unresolved", reason=f"conda spec {spec!r} not understood"
        )
    return _from_specifier(component, spec_set, version)


# --- apt packages --------------------------------------------------------------------------

_APT_CUDA = re.compile(
    r"^cuda(?:-(?:toolkit|libraries|libraries-dev|runtime|nvcc|compiler|cudart|cudart-dev|"
    r"command-line-tools|minimal-build|nvrtc|cupti))?-(?P<major>\d+)-(?P<minor>\d+)(?:=.*)?$"
)
_APT_CUDNN = re.compile(
    r"^libcudnn(?P<major>\d+)(?:-dev)?(?:-cuda-(?P<cudamajor>\d+))?"
    r"(?:=(?P<version>[\d.]+)(?:-\d+)?(?:\+cuda(?P<cuda>\d+\.\d+))?)?$"
)
_APT_NCCL = re.compile(r"^libnccl(?:2|-dev)=(?P<version>[\d.]+)-\d+\+cuda(?P<cuda>\d+\.\d+)$")


_APT_PYTHON = re.compile(r"^python(?P<minor>3\.\d+)(?:=.*)?$")


def decode_apt_package(word: str) -> Decoded | None:
    """``cuda-toolkit-12-8`` → cuda 12.8; ``libcudnn8=8.9.2.26-1+cuda12.1`` → cuDNN 8.9.2.26;
    ``python3.11`` (deadsnakes, or the OS's own) → Python 3.11."""
    m = _APT_PYTHON.match(word)
    if m:
        return Decoded("python", m.group("minor"), "exact")
    m = _APT_CUDA.match(word)
    if m:
        minor = f"{m.group('major')}.{m.group('minor')}"
        return Decoded("cuda", minor, "exact", variant=cuda_version_to_tag(minor))
    m = _APT_CUDNN.match(word)
    if m:
        value = m.group("version") or m.group("major")
        how: How = "exact" if m.group("version") else "range"
        cuda = m.group("cuda")
        return Decoded("cudnn", value, how, variant=cuda_version_to_tag(cuda) if cuda else None)
    m = _APT_NCCL.match(word)
    if m:
        return Decoded(
            "nccl", m.group("version"), "exact", variant=cuda_version_to_tag(m.group("cuda"))
        )
    return None
