"""The environment a milestone declares (`image:`, `torch:`, `cuda:` lines) against the repo's pins."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from mlops_actions.compat import is_version
from mlops_actions.pins.model import Component, Pin
from mlops_actions.pins.values import decode_image, parse_image_ref

DECLARABLE: tuple[Component, ...] = ("image", "torch", "cuda", "cudnn", "python")
_LINE = re.compile(
    r"^\s*(?:[-*+]\s+)?[`*_]*(?P<key>image|torch|cuda|cudnn|python)[`*_]*\s*:\s*"
    r"[`*_]*(?P<value>[^\s`*]+)[`*_]*\s*$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Declared:
    component: Component
    value: str
    line: int
    """Line of the milestone description it came from (1-based)."""
    via: str = ""
    """The image reference a value was decoded from, when it was."""


@dataclass(frozen=True)
class PinFinding:
    component: Component
    expected: str
    message: str
    file: str | None = None
    line: int | None = None
    col: int | None = None


class DeclarationError(ValueError):
    """The milestone description contradicts itself or declares an unreadable value."""


def declared_environment(description: str) -> tuple[Declared, ...]:
    """What the description pins; image tags are decoded into torch / CUDA / cuDNN too."""
    explicit: dict[Component, Declared] = {}
    for number, text in enumerate(description.splitlines(), start=1):
        match = _LINE.match(text)
        if not match:
            continue
        component: Component = match.group("key").lower()  # type: ignore[assignment]
        value = match.group("value")
        if component in explicit and explicit[component].value != value:
            raise DeclarationError(
                f"the milestone description declares {component} twice "
                f"({explicit[component].value!r} on line {explicit[component].line}, "
                f"{value!r} on line {number})"
            )
        if component != "image" and not is_version(value):
            raise DeclarationError(
                f"the milestone description line {number} declares {component} {value!r}, "
                "which is not a version"
            )
        explicit[component] = Declared(component, value, number)
    out = dict(explicit)
    image = explicit.get("image")
    if image is not None:
        if parse_image_ref(image.value) is None:
            raise DeclarationError(
                f"the milestone description line {image.line} declares image {image.value!r}, "
                "which is not an image reference"
            )
        for decoded in decode_image(image.value)[1:]:
            if decoded.how != "exact" or decoded.component not in DECLARABLE:
                continue
            stated = explicit.get(decoded.component)
            if stated is not None and not version_matches(stated.value, decoded.value):
                raise DeclarationError(
                    f"the milestone description declares {decoded.component} {stated.value!r} "
                    f"(line {stated.line}) but image {image.value} carries {decoded.value!r}"
                )
            if stated is None:
                out[decoded.component] = Declared(
                    decoded.component, decoded.value, image.line, via=image.value
                )
    return tuple(out[c] for c in DECLARABLE if c in out)


def version_matches(declared: str, pinned: str) -> bool:
    """`2.9` matches 2.9.0 and 2.9.1; `2.9.0` matches `2.9.0+cu128`; `12.8` matches 12.8.1."""
    try:
        want = Version(declared)
        have = Version(pinned)
    except InvalidVersion:
        return declared == pinned
    width = len(want.release)
    padded = have.release + (0,) * max(0, width - len(have.release))
    if padded[:width] != want.release:
        return False
    return want.pre is None or want.pre == have.pre


def check_pins(declared: Sequence[Declared], pins: Sequence[Pin]) -> tuple[PinFinding, ...]:
    """Every repository pin of a declared component must agree; each must be pinned somewhere."""
    findings: list[PinFinding] = []
    for want in declared:
        if want.component == "image":
            findings.extend(_check_image(want, pins))
            continue
        relevant = [p for p in pins if p.component == want.component and p.how != "unresolved"]
        if not relevant:
            findings.append(
                PinFinding(
                    want.component,
                    want.value,
                    f"the milestone declares {want.component} {want.value} but the repository "
                    f"pins no {want.component} version",
                )
            )
            continue
        for pin in relevant:
            problem = _pin_problem(want, pin)
            if problem:
                findings.append(
                    PinFinding(want.component, want.value, problem, pin.file, pin.line, pin.col)
                )
    return tuple(findings)


def _pin_problem(want: Declared, pin: Pin) -> str | None:
    said = f"the milestone declares {want.component} {want.value}"
    if pin.how == "exact":
        if version_matches(want.value, pin.value):
            return None
        return f"{said} but this pins {pin.value}"
    if pin.how == "range":
        try:
            if SpecifierSet(pin.value).contains(want.value, prereleases=True):
                return None
        except InvalidSpecifier:
            pass
        return f"{said} but this allows only {pin.value!r}"
    if pin.how == "digest":
        return None  # an image digest says nothing about versions
    return f"{said} but this leaves {pin.component} {pin.how}"


def _check_image(want: Declared, pins: Sequence[Pin]) -> list[PinFinding]:
    wanted = parse_image_ref(want.value)
    if wanted is None:
        return []
    same_repo = []
    for pin in pins:
        if pin.component != "image":
            continue
        ref = parse_image_ref(pin.value)
        if ref is not None and ref.repository == wanted.repository:
            same_repo.append((pin, ref))
    if not same_repo:
        return [
            PinFinding(
                "image",
                want.value,
                f"the milestone declares image {want.value} but the repository uses no "
                f"{wanted.repository} image",
            )
        ]
    out = []
    for pin, ref in same_repo:
        if ref.tag == wanted.tag or (wanted.digest and ref.digest == wanted.digest):
            continue
        out.append(
            PinFinding(
                "image",
                want.value,
                f"the milestone declares image {want.value} but this uses {pin.value}",
                pin.file,
                pin.line,
                pin.col,
            )
        )
    return out
