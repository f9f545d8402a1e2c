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

``evaluate(facts, expectations)`` turns a probe document (see ``probe.py``) into a list of
``CheckResult``. Missing pieces (no torch, no GPU) make the checks that need them ``skip`` with a
reason, unless an expectation asks for them, in which case they ``fail``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any, Literal

from packaging.version import InvalidVersion, Version

from mlops_actions import compat

if TYPE_CHECKING:
    from packaging.specifiers import SpecifierSet

# packaging.specifiers and .requirements are imported where used: they cost more start-up time
# than everything else here, and most runs compare exact versions only.

Status = Literal["ok", "fail", "warn", "skip"]
STATUS_ORDER: tuple[Status, ...] = ("fail", "warn", "ok", "skip")

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
}

_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})
_OPERATORS = ("===", "==", "!=", "~=", ">=", "<=", ">", "<")


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


@dataclass(frozen=True)
class CheckResult:
    id: str
    status: Status
    expected: str
    found: str
    message: str
    fix: str = ""

    def as_dict(self) -> dict[str, str]:
        return {
            "id": self.id,
            "status": self.status,
            "expected": self.expected,
            "found": self.found,
            "message": self.message,
            "fix": self.fix,
        }


# -- expectation values ---------------------------------------------------------------------


def normalise_value(key: str, text: str) -> str:
    """Validate one expectation value and return it in canonical text; raises ExpectationError."""
    name = EXPECTATION_KEYS.get(key, key)
    shown = FIELD_NAMES.get(name, key)
    value = text.strip()
    if not value:
        raise ExpectationError(shown, f"`{shown}` is empty", "give a version such as 2.4.1.")
    if name == "require_gpu":
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
        if _version(value) is None:
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
    version = _version(value)
    if version is not None:
        return version
    if not value.startswith(_OPERATORS):
        raise ValueError(value)
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    try:
        return SpecifierSet(value)
    except InvalidSpecifier:
        raise ValueError(value) from None


def _version(text: str | None) -> Version | None:
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
    have = _version(found)
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
        value: object = (text == "true") if name == "require_gpu" else text
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
        exact = [p for p in pins_here if p.how == "exact" and _version(p.value) is not None]
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
        version = _version(pin.value) if pin.how == "exact" else None
        if version is not None and len(version.release) >= 2:
            minors.setdefault(f"{version.release[0]}.{version.release[1]}", []).append(pin)
    decide("python", minors, "the Python minor")

    expectations = Expectations(**values, origins=origins)
    return RepoExpectations(expectations, tuple(notes))


def _pin_variant(pin: Any) -> str | None:
    if pin.variant:
        return str(pin.variant)
    version = _version(pin.value)
    return version.local if version is not None and version.local else None


# -- reading the probe document --------------------------------------------------------------


def _get(facts: Mapping[str, Any], *path: str) -> Any:
    node: Any = facts
    for key in path:
        if not isinstance(node, Mapping):
            return None
        node = node.get(key)
    return node


def torch_version(facts: Mapping[str, Any]) -> str | None:
    value = _get(facts, "torch", "version") or _get(facts, "torch", "distribution_version")
    return str(value) if value else None


def torch_found(facts: Mapping[str, Any]) -> bool:
    return bool(_get(facts, "torch", "found")) or torch_version(facts) is not None


def torch_variant(facts: Mapping[str, Any]) -> str | None:
    value = _get(facts, "torch", "variant")
    return str(value) if value else None


def torch_cuda(facts: Mapping[str, Any]) -> str | None:
    """CUDA version of the torch build ("12.1"), from version.py or the ``+cuXYZ`` label."""
    cuda = _get(facts, "torch", "cuda")
    if cuda:
        return str(cuda)
    variant = torch_variant(facts)
    if variant and variant.startswith("cu"):
        return compat.cuda_tag_to_version(variant)
    return None


def distribution_version(facts: Mapping[str, Any], name: str) -> str | None:
    # The probe keys distributions by their PEP 503 name; callers pass such names.
    dist = _get(facts, "distributions", name)
    if isinstance(dist, Mapping) and dist.get("version"):
        return str(dist["version"])
    return None


def smoke_probe(facts: Mapping[str, Any], name: str) -> Mapping[str, Any] | None:
    probe = _get(facts, "smoke", "probes", name)
    return probe if isinstance(probe, Mapping) else None


def smoke_value(facts: Mapping[str, Any], name: str) -> Any:
    probe = smoke_probe(facts, name)
    if probe is None or probe.get("status") != "ok":
        return None
    return probe.get("value")


def _text(value: Any) -> str | None:
    """A fact as text; absent, empty and null facts are None."""
    return str(value) if value else None


def cudnn_version(facts: Mapping[str, Any]) -> str | None:
    """The cuDNN torch loads (smoke) or the nvidia-cudnn wheel's version."""
    runtime = _get(smoke_value(facts, "cudnn") or {}, "runtime")
    return _text(runtime) or _text(_get(facts, "cudnn", "version"))


def nccl_version(facts: Mapping[str, Any]) -> str | None:
    return _text(smoke_value(facts, "nccl")) or _text(_get(facts, "nccl", "version"))


def python_version(facts: Mapping[str, Any]) -> str | None:
    return _text(_get(facts, "python", "version"))


def _records(value: Any) -> list[Mapping[str, Any]]:
    """The mappings in a list fact; anything else is no records."""
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def gpu_devices(facts: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return _records(_get(facts, "gpu", "devices"))


def gpu_count(facts: Mapping[str, Any]) -> int:
    count = _get(facts, "gpu", "count")
    return int(count) if isinstance(count, int) else len(gpu_devices(facts))


def driver_version(facts: Mapping[str, Any]) -> str | None:
    return _text(_get(facts, "gpu", "driver_version"))


def gpu_faults(facts: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return _records(_get(facts, "gpu", "faults"))


def _no_gpu_reason(facts: Mapping[str, Any]) -> str:
    if _get(facts, "gpu") is None:
        return "the probe could not read the GPU section"
    if not _get(facts, "gpu", "nvidia_smi") and not _get(facts, "gpu", "device_nodes"):
        return "no NVIDIA driver here (no nvidia-smi, no /dev/nvidia*)"
    return "the driver lists no GPU"


# -- the checks -----------------------------------------------------------------------------


def show(value: object) -> str:
    if value is None or value == "":
        return "(none)"
    return str(value)


def _expected_text(expectations: Expectations, name: str) -> str:
    value = getattr(expectations, name)
    text = ("true" if value else "false") if isinstance(value, bool) else str(value)
    origin = expectations.origin(name)
    return f"{text} ({origin})" if origin else text


def _version_check(
    check_id: str,
    label: str,
    expectations: Expectations,
    name: str,
    found: str | None,
    *,
    variant: str | None = None,
    missing: str,
    fix: str,
) -> CheckResult:
    want = str(getattr(expectations, name))
    expected = _expected_text(expectations, name)
    if found is None:
        return CheckResult(check_id, "fail", expected, "(none)", f"{label}: {missing}", fix)
    match = version_matches(want, found, variant)
    shown = found if variant is None or "+" in found else f"{found} ({variant})"
    if match.ok:
        note = f" ({match.detail})" if match.detail else ""
        return CheckResult(check_id, "ok", expected, shown, f"{label} {found} matches {want}{note}")
    reason = f": {match.detail}" if match.detail else ""
    return CheckResult(
        check_id,
        "fail",
        expected,
        shown,
        f"{label} is {found}, expected {want}{reason}",
        fix,
    )


def _pip_fix(package: str, want: str, facts: Mapping[str, Any]) -> str:
    spec = want if want.startswith(_OPERATORS) else f"=={want}"
    requirement = f"{package}{spec}"
    variant = torch_variant(facts)
    index = ""
    if package in ("torch", "torchvision", "torchaudio") and variant:
        index = f" --index-url https://download.pytorch.org/whl/{variant}"
    return (
        f"install it ({_quote(requirement)}{index}) or update the expectation if the "
        "environment is right and the pin is stale."
    )


def _quote(requirement: str) -> str:
    return f'pip install "{requirement}"'


def check_expectations(facts: Mapping[str, Any], exp: Expectations) -> list[CheckResult]:
    out: list[CheckResult] = []
    tv = torch_version(facts)
    if exp.torch is not None:
        out.append(
            _version_check(
                "torch-version",
                "torch",
                exp,
                "torch",
                tv,
                variant=torch_variant(facts),
                missing="torch is not installed for this interpreter",
                fix=_pip_fix("torch", exp.torch, facts),
            )
        )
    for package in ("torchvision", "torchaudio"):
        want = getattr(exp, package)
        if want is None:
            continue
        out.append(
            _version_check(
                f"{package}-version",
                package,
                exp,
                package,
                distribution_version(facts, package),
                missing=f"{package} is not installed for this interpreter",
                fix=_pip_fix(package, want, facts),
            )
        )
    if exp.cuda is not None:
        out.append(_check_cuda_expectation(facts, exp))
    if exp.cudnn is not None:
        found = cudnn_version(facts)
        cudnn_want = _version(exp.cudnn)
        want_parts = len(cudnn_want.release) if cudnn_want is not None else 0
        wheel = _get(facts, "cudnn", "package_version")
        if want_parts > 3 and wheel:
            found = str(wheel)
        out.append(
            _version_check(
                "cudnn-version",
                "cuDNN",
                exp,
                "cudnn",
                found,
                missing="no cuDNN found (no nvidia-cudnn wheel; run with smoke: true to ask torch)",
                fix="install the torch build that ships this cuDNN, or the matching "
                "nvidia-cudnn-cu1x wheel; update the expectation if the pin is stale.",
            )
        )
    if exp.nccl is not None:
        out.append(
            _version_check(
                "nccl-version",
                "NCCL",
                exp,
                "nccl",
                nccl_version(facts),
                missing="no NCCL found (no nvidia-nccl wheel; run with smoke: true to ask torch)",
                fix="install the torch build that ships this NCCL, or the matching "
                "nvidia-nccl-cu1x wheel; update the expectation if the pin is stale.",
            )
        )
    if exp.python is not None:
        out.append(
            _version_check(
                "python-version",
                "Python",
                exp,
                "python",
                python_version(facts),
                missing="the probe could not read the Python version",
                fix="run the job with that Python (actions/setup-python, or the image's "
                "interpreter via the `python` input), or update the expectation.",
            )
        )
    if exp.min_driver is not None:
        out.append(_check_min_driver(facts, exp))
    if exp.gpu_count is not None:
        out.append(_check_gpu_count(facts, exp))
    if exp.require_gpu:
        out.append(_check_require_gpu(facts, exp))
    return out


def _check_cuda_expectation(facts: Mapping[str, Any], exp: Expectations) -> CheckResult:
    want = str(exp.cuda)
    expected = _expected_text(exp, "cuda")
    variant = torch_variant(facts)
    fix = (
        "install the torch build for that CUDA from https://download.pytorch.org/whl/"
        f"{'cpu' if want == 'cpu' else compat.cuda_version_to_tag(want) or 'cuXYZ'}, "
        "or update the expectation."
    )
    if not torch_found(facts):
        return CheckResult(
            "cuda-version", "fail", expected, "(none)", "torch is not installed", fix
        )
    if want == "cpu":
        ok = variant == "cpu"
        return CheckResult(
            "cuda-version",
            "ok" if ok else "fail",
            expected,
            show(variant),
            "torch is a CPU build" if ok else f"torch is a {variant} build, expected a CPU build",
            "" if ok else fix,
        )
    found = torch_cuda(facts)
    if found is None:
        return CheckResult(
            "cuda-version",
            "fail",
            expected,
            show(variant),
            f"torch is a {variant or 'non-CUDA'} build, expected CUDA {want}",
            fix,
        )
    match = version_matches(want, found)
    return CheckResult(
        "cuda-version",
        "ok" if match.ok else "fail",
        expected,
        found,
        f"torch is built for CUDA {found}" + ("" if match.ok else f", expected {want}"),
        "" if match.ok else fix,
    )


def _check_min_driver(facts: Mapping[str, Any], exp: Expectations) -> CheckResult:
    expected = f">= {_expected_text(exp, 'min_driver')}"
    found = driver_version(facts)
    if found is None:
        return CheckResult(
            "min-driver",
            "fail",
            expected,
            "(none)",
            f"no NVIDIA driver version could be read: {_no_gpu_reason(facts)}",
            "run on a runner with the NVIDIA driver, or drop `min-driver`.",
        )
    have, want = _version(found), _version(str(exp.min_driver))
    if have is None or want is None:
        return CheckResult(
            "min-driver", "fail", expected, found, f"driver version {found!r} is unreadable"
        )
    ok = have >= want
    return CheckResult(
        "min-driver",
        "ok" if ok else "fail",
        expected,
        found,
        f"driver {found} " + ("meets" if ok else "is below") + f" {exp.min_driver}",
        "" if ok else "upgrade the runner's NVIDIA driver, or run on a newer runner image.",
    )


def _check_gpu_count(facts: Mapping[str, Any], exp: Expectations) -> CheckResult:
    want = str(exp.gpu_count)
    count = gpu_count(facts)
    ok = count_matches(want, count)
    detail = "" if count else f" ({_no_gpu_reason(facts)})"
    return CheckResult(
        "gpu-count",
        "ok" if ok else "fail",
        _expected_text(exp, "gpu_count"),
        str(count),
        f"{count} GPU(s) visible{detail}" + ("" if ok else f", expected {want}"),
        ""
        if ok
        else "run on a runner with that many GPUs, and check CUDA_VISIBLE_DEVICES / "
        "NVIDIA_VISIBLE_DEVICES and the container's --gpus option.",
    )


def _check_require_gpu(facts: Mapping[str, Any], exp: Expectations) -> CheckResult:
    expected = _expected_text(exp, "require_gpu")
    count = gpu_count(facts)
    if count == 0:
        faults = gpu_faults(facts)
        why = (
            "the driver is faulty: " + faults[0].get("detail", "")
            if faults
            else _no_gpu_reason(facts)
        )
        return CheckResult(
            "require-gpu",
            "fail",
            expected,
            "no GPU",
            f"a GPU is required but none is visible: {why}",
            "run this job on a GPU runner (runs-on: a GPU label; container: add "
            "`options: --gpus all`), or set require-gpu: false.",
        )
    variant = torch_variant(facts)
    if variant == "cpu":
        return CheckResult(
            "require-gpu",
            "fail",
            expected,
            f"{count} GPU(s), torch {torch_version(facts)} (CPU build)",
            "a GPU is required but the installed torch is a CPU build and cannot use it",
            "install a CUDA build of torch (--index-url https://download.pytorch.org/whl/cuXYZ).",
        )
    if (
        smoke_value(facts, "import_torch") is not None
        and smoke_value(facts, "cuda_available") is False
    ):
        return CheckResult(
            "require-gpu",
            "fail",
            expected,
            f"{count} GPU(s), torch.cuda.is_available() is False",
            "GPUs are present but torch cannot use them",
            "check the driver against the torch CUDA build (driver-floor) and "
            "CUDA_VISIBLE_DEVICES.",
        )
    return CheckResult("require-gpu", "ok", expected, f"{count} GPU(s)", "a GPU is visible")


def check_driver_health(facts: Mapping[str, Any]) -> CheckResult:
    faults = gpu_faults(facts)
    if faults:
        details = "; ".join(
            f"{f.get('source', '?')} {f.get('kind', '?')}: {f.get('detail', '')}" for f in faults
        )
        kinds = {f.get("kind") for f in faults}
        if "timeout" in kinds:
            headline = "the NVIDIA driver did not answer in time (a hung driver or GPU)"
        elif "bad-field" in kinds:
            headline = "the NVIDIA driver reports errors (ERR! / unusable values)"
        else:
            headline = "querying the NVIDIA driver failed"
        return CheckResult(
            "driver-health",
            "fail",
            "a driver that answers with valid values",
            details,
            headline,
            "take the runner out of rotation and check `nvidia-smi -q` and the kernel log "
            "(dmesg: NVRM / Xid errors); a GPU reset or a reboot usually clears it.",
        )
    if driver_version(facts) is None and gpu_count(facts) == 0:
        return CheckResult("driver-health", "skip", "", "no driver", _no_gpu_reason(facts))
    return CheckResult(
        "driver-health",
        "ok",
        "a driver that answers with valid values",
        show(driver_version(facts)),
        f"driver {show(driver_version(facts))} answered for {gpu_count(facts)} GPU(s)",
    )


def check_driver_floor(facts: Mapping[str, Any]) -> CheckResult:
    cuda = torch_cuda(facts)
    driver = driver_version(facts)
    if cuda is None:
        reason = "no torch" if not torch_found(facts) else "torch is not a CUDA build"
        return CheckResult("driver-floor", "skip", "", show(driver), reason)
    if driver is None:
        return CheckResult(
            "driver-floor", "skip", "", "(none)", f"no driver to check: {_no_gpu_reason(facts)}"
        )
    family = compat.min_driver_minor_compat(cuda)
    full = compat.min_driver(cuda)
    have = _version(driver)
    if have is None or (family is None and full is None):
        return CheckResult(
            "driver-floor",
            "skip",
            "",
            driver,
            f"no driver floor known for CUDA {cuda}",
        )
    expected = (
        f">= {family} (CUDA {cuda.split('.')[0]}.x family), >= {full} for CUDA {cuda} in full"
        if family and full
        else f">= {family or full}"
    )
    fix = (
        f"upgrade the NVIDIA driver to {full or family} or newer, or install a torch build for "
        "an older CUDA that this driver supports."
    )
    if family is not None and have < Version(family):
        return CheckResult(
            "driver-floor",
            "fail",
            expected,
            driver,
            f"driver {driver} is below {family}, the lowest that runs any CUDA "
            f"{cuda.split('.')[0]}.x build: torch {torch_version(facts)} cannot use the GPU",
            fix,
        )
    if full is not None and have < Version(full):
        return CheckResult(
            "driver-floor",
            "warn",
            expected,
            driver,
            f"driver {driver} runs CUDA {cuda} only through minor-version compatibility "
            f"(below {full}): features that need a newer driver (e.g. PTX JIT of newer code) fail",
            fix,
        )
    return CheckResult(
        "driver-floor", "ok", expected, driver, f"driver {driver} supports CUDA {cuda}"
    )


def _sm(text: str) -> int | None:
    return compat.parse_compute_capability(text)


def arch_list_supports(arch_list: Sequence[str], capability: str) -> bool | None:
    """Whether kernels in ``torch.cuda.get_arch_list()`` run on a GPU of ``capability``.

    A cubin for sm_XY runs on sm_XZ with Z >= Y (same major); PTX for compute_N is JIT-compiled
    for any GPU of N or newer.
    """
    sm = _sm(capability)
    if sm is None:
        return None
    for arch in arch_list:
        text = arch.strip().lower()
        value = _sm(text.removeprefix("compute_")) if text.startswith("compute_") else _sm(text)
        if value is None:
            continue
        if text.startswith("compute_") and value <= sm:
            return True
        if text.startswith("sm_") and value // 10 == sm // 10 and value <= sm:
            return True
    return False


def check_gpu_arch(facts: Mapping[str, Any]) -> CheckResult:
    cuda = torch_cuda(facts)
    devices = gpu_devices(facts)
    smoke_devices = _get(smoke_value(facts, "devices") or {}, "devices") or []
    capabilities = [
        (
            str(d.get("index", i)),
            str(d.get("name") or "GPU"),
            d.get("compute_capability"),
        )
        for i, d in enumerate(devices)
    ]
    if not capabilities:
        capabilities = [
            (str(d.get("index", i)), str(d.get("name") or "GPU"), d.get("capability"))
            for i, d in enumerate(smoke_devices)
            if isinstance(d, Mapping)
        ]
    if cuda is None:
        reason = "no torch" if not torch_found(facts) else "torch is not a CUDA build"
        return CheckResult("gpu-arch", "skip", "", "", reason)
    if not capabilities:
        return CheckResult("gpu-arch", "skip", "", "no GPU", _no_gpu_reason(facts))
    arch_list = smoke_value(facts, "arch_list")
    span = compat.supported_arches(cuda)
    if isinstance(arch_list, list) and arch_list:
        expected = "a GPU covered by torch.cuda.get_arch_list(): " + ", ".join(arch_list)
    elif span:
        expected = f"sm_{span[0]}..sm_{span[1]} (torch builds for CUDA {cuda})"
    else:
        expected = f"an architecture torch's CUDA {cuda} builds support"
    bad: list[str] = []
    unknown: list[str] = []
    seen: list[str] = []
    for index, name, capability in capabilities:
        if not capability:
            unknown.append(f"GPU {index} ({name}): compute capability unknown")
            continue
        seen.append(f"GPU {index} {name} sm_{_sm(str(capability))}")
        supported: bool | None
        if isinstance(arch_list, list) and arch_list:
            supported = arch_list_supports(arch_list, str(capability))
        else:
            supported = compat.arch_supported(cuda, str(capability))
        if supported is False:
            bad.append(f"GPU {index} ({name}, sm_{_sm(str(capability))})")
        elif supported is None:
            unknown.append(f"GPU {index} ({name}, sm_{_sm(str(capability))})")
    found = "; ".join(seen) or "unknown"
    if bad:
        older = (
            " (CUDA 13 builds dropped Maxwell, Pascal and Volta: use a cu126 build)"
            if cuda.startswith("13")
            else ""
        )
        return CheckResult(
            "gpu-arch",
            "fail",
            expected,
            found,
            f"torch {torch_version(facts)} has no kernels for " + ", ".join(bad) + older,
            "install a torch build whose CUDA supports this GPU (see the PyTorch "
            "compatibility matrix), or run on a newer GPU.",
        )
    if unknown:
        return CheckResult(
            "gpu-arch",
            "warn",
            expected,
            found,
            "support not known for " + ", ".join(unknown),
            "run with smoke: true so the check reads torch.cuda.get_arch_list().",
        )
    return CheckResult(
        "gpu-arch", "ok", expected, found, f"every GPU is supported by the CUDA {cuda} build"
    )


def check_cudnn_gpu_floor(facts: Mapping[str, Any]) -> CheckResult:
    cudnn = cudnn_version(facts)
    devices = gpu_devices(facts)
    if cudnn is None or not devices:
        return CheckResult("cudnn-gpu", "skip", "", show(cudnn), "needs both cuDNN and a GPU")
    floor_version, min_sm = compat.load_table().cudnn_gpu_floor
    have = _version(cudnn)
    if have is None or have < Version(floor_version):
        return CheckResult("cudnn-gpu", "ok", "", cudnn, f"cuDNN {cudnn} still supports older GPUs")
    old = [
        f"GPU {d.get('index')} ({d.get('name')}, sm_{_sm(str(d.get('compute_capability')))})"
        for d in devices
        if d.get("compute_capability") and (_sm(str(d.get("compute_capability"))) or 999) < min_sm
    ]
    if old:
        return CheckResult(
            "cudnn-gpu",
            "fail",
            f"GPUs sm_{min_sm} or newer for cuDNN >= {floor_version}",
            cudnn,
            f"cuDNN {cudnn} refuses " + ", ".join(old),
            f"install a torch build that ships cuDNN older than {floor_version} for this GPU.",
        )
    return CheckResult(
        "cudnn-gpu", "ok", f"GPUs sm_{min_sm}+", cudnn, f"every GPU is sm_{min_sm} or newer"
    )


def _table_verdict(
    check_id: str,
    verdict: bool | None,
    expected: str,
    found: str,
    *,
    unknown: str,
    ok: str,
    bad: tuple[Status, str, str],
) -> CheckResult:
    """A check the compatibility table answers: it may not know (skip), agree (ok), or not
    (``bad`` is the status, message and fix then). ``unknown`` names what it does not know."""
    if verdict is None:
        return CheckResult(
            check_id, "skip", expected, found, f"the compatibility table does not know {unknown}"
        )
    if verdict:
        return CheckResult(check_id, "ok", expected, found, ok)
    status, message, fix = bad
    return CheckResult(check_id, status, expected, found, message, fix)


def check_companions(facts: Mapping[str, Any]) -> list[CheckResult]:
    out: list[CheckResult] = []
    tv = torch_version(facts)
    for package, matches, expected_of in (
        ("torchvision", compat.torchvision_compatible, compat.expected_torchvision),
        ("torchaudio", compat.torchaudio_compatible, compat.expected_torchaudio),
    ):
        check_id = f"{package}-matches-torch"
        found = distribution_version(facts, package)
        if found is None:
            out.append(CheckResult(check_id, "skip", "", "", f"{package} is not installed"))
            continue
        if tv is None:
            out.append(CheckResult(check_id, "skip", "", found, "torch is not installed"))
            continue
        want = expected_of(tv)
        expected = f"{want} (pairs with torch {tv})" if want else f"a release for torch {tv}"
        variant = torch_variant(facts)
        index = f" --index-url https://download.pytorch.org/whl/{variant}" if variant else ""
        target = f"=={want}" if want else ""
        out.append(
            _table_verdict(
                check_id,
                matches(tv, found),
                expected,
                found,
                unknown=f"{package} {found} with torch {tv}",
                ok=f"{package} {found} pairs with torch",
                bad=(
                    "fail",
                    f"{package} {found} was built for another torch than {tv}: importing it "
                    "fails or its C++ ops crash",
                    f'pip install "{package}{target}"{index} (install torch and {package} in '
                    "one pip command so the resolver pairs them).",
                ),
            )
        )
    return out


def check_nvidia_wheels(facts: Mapping[str, Any]) -> CheckResult:
    """The nvidia-* wheels installed satisfy torch's own Requires-Dist pins."""
    requires = _get(facts, "distributions", "torch", "requires")
    if not isinstance(requires, list):
        return CheckResult("nvidia-wheels", "skip", "", "", "torch metadata not found")
    if not any("nvidia" in str(line).lower() for line in requires):
        return CheckResult("nvidia-wheels", "skip", "", "", "torch pins no nvidia-* wheel")
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    bad: list[str] = []
    good: list[str] = []
    for line in requires:
        try:
            req = Requirement(str(line))
        except InvalidRequirement:
            continue
        name = canonicalize_name(req.name)
        if not name.startswith("nvidia-") or not req.specifier:
            continue
        if req.marker is not None and "extra" in str(req.marker):
            continue
        installed = distribution_version(facts, name)
        if installed is None:
            continue
        have = _version(installed)
        if have is not None and req.specifier.contains(have, prereleases=True):
            good.append(f"{name} {installed}")
        else:
            bad.append(f"{name} {installed} (torch requires {req.specifier})")
    if bad:
        return CheckResult(
            "nvidia-wheels",
            "fail",
            "the versions torch's metadata requires",
            "; ".join(bad),
            "NVIDIA library wheels do not match what torch was built against: " + "; ".join(bad),
            "reinstall torch so pip pulls its own pins (pip install --force-reinstall "
            '"torch==<version>"), and remove later installs that upgraded these wheels.',
        )
    if not good:
        return CheckResult(
            "nvidia-wheels", "skip", "", "", "torch pins no installed nvidia-* wheel"
        )
    return CheckResult(
        "nvidia-wheels",
        "ok",
        "the versions torch's metadata requires",
        "; ".join(good),
        "the NVIDIA wheels match torch's pins",
    )


def check_cudnn_runtime(facts: Mapping[str, Any]) -> CheckResult:
    probe = smoke_probe(facts, "cudnn")
    if probe is None:
        return CheckResult("cudnn-runtime", "skip", "", "", "needs smoke: true (import torch)")
    if probe.get("status") != "ok":
        return CheckResult(
            "cudnn-runtime", "skip", "", "", str(probe.get("detail") or probe.get("status"))
        )
    value = probe.get("value") or {}
    runtime = value.get("runtime")
    compiled = value.get("compiled")
    wheel = _get(facts, "cudnn", "version")
    if not runtime:
        return CheckResult(
            "cudnn-runtime",
            "fail" if torch_cuda(facts) else "skip",
            show(compiled),
            "(none)",
            "torch.backends.cudnn.is_available() is False: cuDNN could not be loaded",
            "install the nvidia-cudnn wheel torch requires, or check LD_LIBRARY_PATH.",
        )
    problems: list[str] = []
    warn = False
    have = _version(str(runtime))
    if compiled and have is not None and _version(str(compiled)) is not None:
        built = Version(str(compiled))
        if have.release[:1] != built.release[:1] or have < built:
            problems.append(f"torch was built with cuDNN {compiled} but loads {runtime}")
        elif have != built:
            warn = True
    wheel_version = _version(str(wheel)) if wheel else None
    if (
        have is not None
        and wheel_version is not None
        and wheel_version.release[:3] != have.release[:3]
    ):
        problems.append(
            f"the {_get(facts, 'cudnn', 'package')} wheel is {wheel} but torch loads "
            f"{runtime} (another libcudnn shadows it)"
        )
    expected = f"compiled {show(compiled)}; wheel {show(wheel)}"
    if problems:
        return CheckResult(
            "cudnn-runtime",
            "fail",
            expected,
            str(runtime),
            "; ".join(problems),
            "remove the other cuDNN from LD_LIBRARY_PATH / the system, or reinstall the "
            "nvidia-cudnn wheel torch requires.",
        )
    if warn:
        return CheckResult(
            "cudnn-runtime",
            "warn",
            expected,
            str(runtime),
            f"torch loads cuDNN {runtime}, newer than the {compiled} it was built with",
        )
    return CheckResult(
        "cudnn-runtime", "ok", expected, str(runtime), "the cuDNN torch loads is the one it expects"
    )


def check_cuda_build_exists(facts: Mapping[str, Any]) -> CheckResult:
    tv = torch_version(facts)
    cuda = torch_cuda(facts)
    if tv is None or cuda is None:
        return CheckResult(
            "cuda-build", "skip", "", show(torch_variant(facts)), "no CUDA build of torch"
        )
    builds = compat.cuda_builds(tv)
    expected = "one of " + ", ".join(builds) if builds else "an official CUDA build"
    return _table_verdict(
        "cuda-build",
        compat.has_cuda_build(tv, cuda),
        expected,
        cuda,
        unknown=f"the CUDA builds of torch {tv}",
        ok=f"torch {tv} has official CUDA {cuda} wheels",
        bad=(
            "warn",
            f"torch {tv} has no official CUDA {cuda} build: a source or third-party build, or "
            "mislabelled metadata",
            "prefer an official wheel from https://download.pytorch.org/whl/ for reproducible CI.",
        ),
    )


def check_python_supported(facts: Mapping[str, Any]) -> CheckResult:
    tv = torch_version(facts)
    py = python_version(facts)
    if tv is None or py is None:
        return CheckResult("python-supported", "skip", "", show(py), "no torch")
    abiflags = str(_get(facts, "python", "abiflags") or "")
    query = ".".join(py.split(".")[:2]) + ("t" if "t" in abiflags else "")
    release = compat.torch_release(tv)
    expected = (
        f"Python {release.python_min}..{release.python_max}"
        if release and release.python_min
        else "a supported Python"
    )
    return _table_verdict(
        "python-supported",
        compat.python_supported(tv, query),
        expected,
        query,
        unknown=f"Python support of torch {tv}",
        ok=f"torch {tv} ships wheels for Python {query}",
        bad=(
            "fail",
            f"torch {tv} has no wheels for Python {query}: this install cannot be reproduced "
            "from PyPI and may not import",
            "use a Python the torch release supports (actions/setup-python), or a torch release "
            "that supports this Python.",
        ),
    )


_SMOKE_FIX = {
    "import_torch": "run `python -c 'import torch'` in the job to see the error; a missing "
    "shared library usually means a broken or mixed install.",
    "cuda_available": "check the driver (driver-floor) and CUDA_VISIBLE_DEVICES.",
}


def check_smoke(facts: Mapping[str, Any]) -> list[CheckResult]:
    probes = _get(facts, "smoke", "probes")
    if not isinstance(probes, Mapping):
        return []
    out: list[CheckResult] = []
    for name, probe in probes.items():
        if not isinstance(probe, Mapping):
            continue
        check_id = "smoke-" + str(name).replace("_", "-")
        status = probe.get("status")
        detail = str(probe.get("detail") or "")
        seconds = probe.get("seconds")
        took = f" after {seconds:.1f} s" if isinstance(seconds, int | float) else ""
        if status == "ok":
            message = "passed"
            if name == "cuda_available":
                message = f"torch.cuda.is_available() is {probe.get('value')}"
            result = CheckResult(check_id, "ok", "", _smoke_summary(probe.get("value")), message)
            if name == "import_torch":
                result = _imported_matches_disk(facts, probe.get("value"), result)
            out.append(result)
        elif status == "skipped":
            out.append(CheckResult(check_id, "skip", "", "", detail or "skipped"))
        elif status == "timeout":
            out.append(
                CheckResult(
                    check_id,
                    "fail",
                    "an answer in time",
                    f"timeout{took}",
                    f"smoke probe {name} hung: {detail}",
                    "a hang in CUDA initialisation usually means a driver or device problem; "
                    "raise `timeout` only if the machine is known to be slow.",
                )
            )
        else:
            out.append(
                CheckResult(
                    check_id,
                    "fail",
                    "success",
                    _smoke_summary(probe.get("value")) or "failed",
                    f"smoke probe {name} failed: {detail or 'wrong results'}",
                    _SMOKE_FIX.get(
                        str(name),
                        "a numerical error or crash here points at a broken CUDA/cuDNN install "
                        "or a faulty GPU; compare with the CPU probes.",
                    ),
                )
            )
    return out


def _smoke_summary(value: object) -> str:
    if isinstance(value, Mapping) and "version" in value:
        return str(value["version"])
    if isinstance(value, bool | str | int):
        return str(value)
    return ""


def _imported_matches_disk(
    facts: Mapping[str, Any], value: object, result: CheckResult
) -> CheckResult:
    on_disk = torch_version(facts)
    imported = value.get("version") if isinstance(value, Mapping) else None
    if on_disk and imported and str(imported) != on_disk:
        return replace(
            result,
            status="fail",
            expected=on_disk,
            found=str(imported),
            message=f"`import torch` loads {imported}, but the torch on the path reads {on_disk}",
            fix="remove the second torch install (check PYTHONPATH, user site, shadowed copies).",
        )
    return result


def check_torch_install(facts: Mapping[str, Any]) -> CheckResult:
    if not torch_found(facts):
        return CheckResult("torch-install", "skip", "", "no torch", "torch is not installed")
    shadowed = _get(facts, "distributions", "torch", "shadowed") or []
    problems: list[str] = []
    if shadowed:
        problems.append(
            "other torch installs later on the path: "
            + ", ".join(f"{s.get('version')} at {s.get('path')}" for s in shadowed)
        )
    dist = _get(facts, "torch", "distribution_version")
    disk = _get(facts, "torch", "version")
    if dist and disk:
        d, v = _version(str(dist)), _version(str(disk))
        if d is not None and v is not None and d.public != v.public:
            problems.append(f"torch metadata says {dist} but torch/version.py says {disk}")
    found = show(torch_version(facts))
    if problems:
        return CheckResult(
            "torch-install",
            "warn",
            "one consistent torch install",
            found,
            "; ".join(problems),
            "uninstall the extra copies (pip uninstall -y torch, repeated) and reinstall once.",
        )
    return CheckResult(
        "torch-install", "ok", "one consistent torch install", found, "one torch install"
    )


def check_probe_errors(facts: Mapping[str, Any]) -> list[CheckResult]:
    errors = facts.get("errors")
    if not isinstance(errors, list) or not errors:
        return []
    return [
        CheckResult(
            "probe-section",
            "warn",
            "",
            str(e.get("section")),
            f"the probe could not read {e.get('section')}: {e.get('error')}",
            "report this with the probe JSON attached.",
        )
        for e in errors
        if isinstance(e, Mapping)
    ]


def evaluate(facts: Mapping[str, Any], expectations: Expectations) -> list[CheckResult]:
    """Every check over one probe document; the order is the order of the report."""
    results: list[CheckResult] = []
    results.extend(check_expectations(facts, expectations))
    results.append(check_torch_install(facts))
    results.append(check_driver_health(facts))
    results.append(check_driver_floor(facts))
    results.append(check_gpu_arch(facts))
    results.append(check_cudnn_gpu_floor(facts))
    results.extend(check_companions(facts))
    results.append(check_nvidia_wheels(facts))
    results.append(check_cudnn_runtime(facts))
    results.append(check_cuda_build_exists(facts))
    results.append(check_python_supported(facts))
    results.extend(check_smoke(facts))
    results.extend(check_probe_errors(facts))
    return results


def failed(results: Iterable[CheckResult]) -> list[CheckResult]:
    return [r for r in results if r.status == "fail"]
