"""What env-verify expects and the checks it runs: pure functions over the probe document.

Expectations come in three layers, each overriding the one before it key by key:

1. the repository's own pins (``expect-from: repo`` only): a component the repository pins to
   one exact value everywhere;
2. the config file's ``environment`` section (``expect-from: config`` or ``repo``);
3. the action's inputs / CLI flags (always).

So ``inputs > config > repo``. Each value is an exact version or a PEP 440 specifier:

- a bare version names a release and everything under it: ``2.4`` accepts 2.4.0 and 2.4.1,
  ``2.4.1`` accepts ``2.4.1+cu121``, ``9`` accepts cuDNN 9.1.0; a pre-, post- or dev-release is
  only accepted when the expectation names it;
- a local label in the expectation also checks the build variant: ``2.4.1+cu121`` fails on
  ``2.4.1+cu118`` and on a CPU build;
- a specifier (``>=2.4,<2.6``, ``~=2.4.0``, ``==2.4.*``) is evaluated by ``packaging`` against
  the public version (with the local label when the specifier has one).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

from packaging.version import InvalidVersion, Version

from mlops_actions import compat

if TYPE_CHECKING:
    from packaging.specifiers import SpecifierSet

# packaging.specifiers and .requirements are imported where used: they cost more start-up time
# than everything else here, and most runs compare exact versions only.

# Expectation keys as users write them (inputs, config keys, --expect names).
EXPECTATION_KEYS: dict[str, str] = {
    "torch": "torch",
    "torchvision": "torchvision",
    "torchaudio": "torchaudio",
    "cuda": "cuda",
    "cudnn": "cudnn",
    "nccl": "nccl",
    "python": "python",
    "python-version": "python",
    "min-driver": "min_driver",
    "gpu-count": "gpu_count",
    "require-gpu": "require_gpu",
    "torch-optional": "torch_optional",
}
# The name each field has in messages and in the config file.
FIELD_NAMES: dict[str, str] = {
    "torch": "torch",
    "torchvision": "torchvision",
    "torchaudio": "torchaudio",
    "cuda": "cuda",
    "cudnn": "cudnn",
    "nccl": "nccl",
    "python": "python-version",
    "min_driver": "min-driver",
    "gpu_count": "gpu-count",
    "require_gpu": "require-gpu",
    "torch_optional": "torch-optional",
}
# Expectations that are booleans rather than versions.
BOOLEAN_FIELDS = frozenset({"require_gpu", "torch_optional"})

_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})
OPERATORS = ("===", "==", "!=", "~=", ">=", "<=", ">", "<")


class ExpectationError(ValueError):
    """An expectation value that is neither a version nor a specifier; the text says the fix."""

    def __init__(self, key: str, message: str, fix: str) -> None:
        super().__init__(message)
        self.key = key
        self.message = message
        self.fix = fix


@dataclass(frozen=True)
class Expectations:
    """What the environment must hold; None means "no expectation"."""

    torch: str | None = None
    torchvision: str | None = None
    torchaudio: str | None = None
    cuda: str | None = None
    """"12.1", "cu121", a specifier on the CUDA version, or "cpu"."""
    cudnn: str | None = None
    nccl: str | None = None
    python: str | None = None
    min_driver: str | None = None
    gpu_count: str | None = None
    """"2" or a specifier such as ">=1"."""
    require_gpu: bool | None = None
    torch_optional: bool | None = None
    """True: a job without torch passes (the torch checks skip); by default it fails."""
    origins: Mapping[str, str] = field(default_factory=dict)
    """Field name → where the value came from ("input", ".github/mlops.yml:7", "requirements.txt:3")."""

    def given(self) -> dict[str, object]:
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if f.name != "origins" and getattr(self, f.name) is not None
        }

    def origin(self, name: str) -> str:
        return self.origins.get(name, "")


# -- expectation values ---------------------------------------------------------------------


def normalise_value(key: str, text: str) -> str:
    """Validate one expectation value and return it in canonical text; raises ExpectationError."""
    name = EXPECTATION_KEYS.get(key, key)
    shown = FIELD_NAMES.get(name, key)
    value = text.strip()
    if not value:
        raise ExpectationError(shown, f"`{shown}` is empty", "give a version such as 2.4.1.")
    if name in BOOLEAN_FIELDS:
        word = value.lower()
        if word not in _TRUE | _FALSE:
            raise ExpectationError(
                shown, f"`{shown}`: {value!r} is not a boolean", "use true or false."
            )
        return "true" if word in _TRUE else "false"
    if name == "cuda":
        lowered = value.lower()
        if lowered in ("cpu", "none"):
            return "cpu"
        if lowered.startswith("cu") and compat.cuda_tag_to_version(lowered):
            return str(compat.cuda_tag_to_version(lowered))
    if name == "gpu_count" and value.isdigit():
        return str(int(value))
    if name == "min_driver":
        if version_or_none(value) is None:
            raise ExpectationError(
                shown,
                f"`{shown}`: {value!r} is not a driver version",
                "write the lowest accepted driver, e.g. 535.104.05.",
            )
        return value
    try:
        parse_spec(value)
    except ValueError:
        raise ExpectationError(
            shown,
            f"`{shown}`: {value!r} is neither a version nor a PEP 440 specifier",
            f"write an exact version (2.4.1) or a specifier (>=2.4,<2.6) for `{shown}`.",
        ) from None
    return value


def parse_spec(text: str) -> Version | SpecifierSet:
    """An exact ``Version`` or a ``SpecifierSet``; ``2.4.*`` / ``2.4.x`` mean ``==2.4.*``."""
    value = text.strip()
    wildcard = re.fullmatch(r"(\d+(?:\.\d+)*)\.[x*]", value)
    if wildcard:
        value = f"=={wildcard.group(1)}.*"
    version = version_or_none(value)
    if version is not None:
        return version
    if not value.startswith(OPERATORS):
        raise ValueError(value)
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    try:
        return SpecifierSet(value)
    except InvalidSpecifier:
        raise ValueError(value) from None


def version_or_none(text: str | None) -> Version | None:
    """``text`` as a Version, or None when it is not one."""
    if text is None:
        return None
    try:
        return Version(str(text).strip())
    except InvalidVersion:
        return None


@dataclass(frozen=True)
class Match:
    ok: bool
    detail: str = ""


def version_matches(expected: str, found: str, found_variant: str | None = None) -> Match:
    """Whether the installed ``found`` satisfies ``expected`` (see the module docstring).

    ``found_variant`` is the build variant known from elsewhere ("cu121", "cpu") when ``found``
    carries no local label (PyPI wheels drop it from their metadata).
    """
    spec = parse_spec(expected)
    have = version_or_none(found)
    if have is None:
        return Match(False, f"{found!r} is not a version")
    if not isinstance(spec, Version):
        wants_local = any("+" in item.version for item in spec)
        candidate = have if wants_local else Version(have.public)
        return Match(spec.contains(candidate, prereleases=True))
    if not _release_matches(spec, have):
        return Match(False)
    if spec.local is not None:
        variant = have.local or found_variant
        if variant is None:
            return Match(True, f"build variant unknown; +{spec.local} not checked")
        if variant != spec.local:
            return Match(False, f"build variant is {variant}, not {spec.local}")
    return Match(True)


def _release_matches(want: Version, have: Version) -> bool:
    if Version(want.public) == Version(have.public):
        return True
    # A shorter expectation names a series: 2.4 accepts 2.4.1, 9 accepts 9.1.0.
    prefix = have.release[: len(want.release)] == want.release
    same_suffix = (want.pre, want.post, want.dev) == (have.pre, have.post, have.dev)
    return prefix and same_suffix and want.epoch == have.epoch


def count_matches(expected: str, count: int) -> bool:
    text = expected.strip()
    if text.isdigit():
        return int(text) == count
    from packaging.specifiers import SpecifierSet

    return SpecifierSet(text).contains(Version(str(count)), prereleases=True)


# -- building expectations ------------------------------------------------------------------


def expectations_from_mapping(
    values: Mapping[str, object], origin: Callable[[str], str]
) -> Expectations:
    """Expectations from ``{key: value}`` as written in a config section or inputs.

    Keys are the user-facing names (``python-version`` or ``python``, ``min-driver``…);
    ``origin(key)`` says where each came from. Raises ExpectationError for a bad value.
    """
    out: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for key, raw in values.items():
        if raw is None:
            continue
        name = EXPECTATION_KEYS.get(key)
        if name is None:
            raise ExpectationError(
                key,
                f"unknown expectation `{key}`",
                "use one of " + ", ".join(sorted(set(EXPECTATION_KEYS) - {"python"})) + ".",
            )
        if isinstance(raw, bool):
            raw = "true" if raw else "false"
        text = normalise_value(key, str(raw))
        value: object = (text == "true") if name in BOOLEAN_FIELDS else text
        if name in out and out[name] != value:
            raise ExpectationError(
                key,
                f"`{FIELD_NAMES[name]}` is given twice with different values "
                f"({out[name]!r} and {value!r})",
                "give it once.",
            )
        out[name] = value
        origins[name] = origin(key)
    return Expectations(**out, origins=origins)


def merge(*layers: Expectations) -> Expectations:
    """Later layers win, key by key (repo pins, then config, then inputs)."""
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for layer in layers:
        for name, value in layer.given().items():
            values[name] = value
            origins[name] = layer.origin(name)
    return Expectations(**values, origins=origins)


_OPERATOR_AT_START = re.compile(r"^(===|==|!=|~=|>=|<=|>|<)")


def parse_expect_items(items: Sequence[str]) -> dict[str, str]:
    """``--expect`` items (``torch=2.4.1``, ``cuda=12.1``, ``torch>=2.4``) → ``{key: value}``.

    List inputs are also split at commas, so an item that names no key continues the
    specifier before it: ``torch=>=2.4`` and ``<2.6`` are ``torch: >=2.4,<2.6``.
    """
    out: dict[str, str] = {}
    last: str | None = None
    known = sorted(EXPECTATION_KEYS, key=len, reverse=True)
    for raw in items:
        item = raw.strip()
        if not item:
            continue
        key = next(
            (k for k in known if item.startswith(k) and _key_ends(item[len(k) :])),
            None,
        )
        if key is None:
            if last is not None and _OPERATOR_AT_START.match(item):
                out[last] = f"{out[last]},{item}"
                continue
            name = re.split(r"[=<>!~]", item, maxsplit=1)[0].strip() or item
            raise ExpectationError(
                "expect",
                f"`expect`: {item!r} does not start with a known name ({name!r})",
                "write name=value with name one of "
                + ", ".join(sorted(set(EXPECTATION_KEYS) - {"python"}))
                + ", e.g. torch=2.4.1.",
            )
        rest = item[len(key) :].strip()
        # torch==2.4.1 and torch>=2.4 keep their operator; torch=2.4.1 and torch=>=2.4 drop "=".
        value = rest if _OPERATOR_AT_START.match(rest) else rest[1:].strip()
        if key in out and out[key] != value:
            raise ExpectationError(
                "expect",
                f"`expect`: {key} is given twice ({out[key]!r}, {value!r})",
                "give it once.",
            )
        out[key] = value
        last = key
    return out


def _key_ends(rest: str) -> bool:
    return rest.strip()[:1] in ("=", "<", ">", "!", "~")


# -- expectations from the repository's pins --------------------------------------------------


@dataclass(frozen=True)
class PinLike:
    """The part of ``pins.model.Pin`` used here (any object with these attributes works)."""

    file: str
    line: int
    component: str
    value: str
    how: str
    variant: str | None = None


@dataclass(frozen=True)
class RepoExpectations:
    expectations: Expectations
    notes: tuple[str, ...]
    """Why a component was not expected (several values, ranges only)."""


def expectations_from_pins(pins: Iterable[Any]) -> RepoExpectations:
    """Expect what the repository pins one way everywhere; say so when it does not.

    torch/torchvision/torchaudio/cuDNN/NCCL: one exact public version (with the build variant
    when every pin that names one agrees). CUDA: one build variant among CUDA pins and the
    variants of torch pins. Python: one minor. Several values, or only ranges, give a note and no
    expectation: guessing would report a finding the repository never asked for.
    """
    by_component: dict[str, list[Any]] = {}
    for pin in pins:
        by_component.setdefault(str(pin.component), []).append(pin)
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    notes: list[str] = []

    def where(pin: Any) -> str:
        return f"{pin.file}:{pin.line}"

    def decide(component: str, candidates: dict[str, list[Any]], kind: str) -> None:
        if len(candidates) == 1:
            value, found = next(iter(candidates.items()))
            values[component] = value
            origins[component] = ", ".join(where(p) for p in found[:3]) + (
                f" (+{len(found) - 3} more)" if len(found) > 3 else ""
            )
        elif len(candidates) > 1:
            listed = "; ".join(f"{v} ({where(ps[0])})" for v, ps in sorted(candidates.items()))
            notes.append(
                f"the repository pins {kind} several ways ({listed}); not expecting one: "
                f"set `{FIELD_NAMES.get(component, component)}` in the inputs or config"
            )

    for component in ("torch", "torchvision", "torchaudio", "cudnn", "nccl"):
        pins_here = by_component.get(component, [])
        exact = [p for p in pins_here if p.how == "exact" and version_or_none(p.value) is not None]
        if not exact:
            if pins_here and any(p.how == "range" for p in pins_here):
                notes.append(f"the repository pins {component} only by ranges; not expecting one")
            continue
        publics: dict[str, list[Any]] = {}
        for pin in exact:
            publics.setdefault(Version(pin.value).public, []).append(pin)
        if len(publics) == 1 and component in ("torch", "torchvision", "torchaudio"):
            public, group = next(iter(publics.items()))
            variants = {v for v in (_pin_variant(p) for p in group) if v}
            if len(variants) == 1 and component == "torch":
                publics = {f"{public}+{variants.pop()}": group}
        decide(component, publics, component)

    cuda_variants: dict[str, list[Any]] = {}
    for pin in by_component.get("cuda", []):
        if pin.how != "exact":
            continue
        variant = pin.variant or compat.cuda_version_to_tag(pin.value)
        if pin.value.lower() in ("cpu", "none"):
            variant = "cpu"
        if variant:
            cuda_variants.setdefault(variant, []).append(pin)
    for pin in by_component.get("torch", []):
        variant = _pin_variant(pin)
        if variant and (variant == "cpu" or compat.cuda_tag_to_version(variant)):
            cuda_variants.setdefault(variant, []).append(pin)
    as_cuda = {
        ("cpu" if v == "cpu" else str(compat.cuda_tag_to_version(v))): ps
        for v, ps in cuda_variants.items()
    }
    decide("cuda", as_cuda, "the CUDA variant")

    minors: dict[str, list[Any]] = {}
    for pin in by_component.get("python", []):
        version = version_or_none(pin.value) if pin.how == "exact" else None
        if version is not None and len(version.release) >= 2:
            minors.setdefault(f"{version.release[0]}.{version.release[1]}", []).append(pin)
    decide("python", minors, "the Python minor")

    expectations = Expectations(**values, origins=origins)
    return RepoExpectations(expectations, tuple(notes))


def _pin_variant(pin: Any) -> str | None:
    if pin.variant:
        return str(pin.variant)
    version = version_or_none(pin.value)
    return version.local if version is not None and version.local else None
