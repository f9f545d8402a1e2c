"""The version-guard rules: pure functions from scanned pins and environments to findings.

Every rule has an id (``VG001``…), a name, a default severity and a documentation paragraph
with a remediation; ``docs/version-guard.md`` is generated from the same records. Versions are
compared with ``packaging`` only, and compatibility questions go to ``mlops_actions.compat``,
whose "unknown" (None) never becomes a finding.
"""

from __future__ import annotations

import fnmatch
import posixpath
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

from mlops_actions.compat import (
    cuda_builds,
    cuda_minor,
    cuda_tag_to_version,
    has_cuda_build,
    has_rocm_build,
    parse_version,
    python_supported,
    pytorch_image_cudnn_major,
    torchaudio_compatible,
    torchvision_compatible,
)
from mlops_actions.config import Config
from mlops_actions.pins.model import Component, Environment, Pin, ScanResult
from mlops_actions.pins.values import parse_image_ref

Severity = Literal["error", "warning", "notice"]
Setting = Literal["error", "warning", "notice", "off"]
FailOn = Literal["error", "warning", "notice", "never"]
SEVERITY_RANK: dict[str, int] = {"notice": 1, "warning": 2, "error": 3, "never": 99}
SINCE = "0.1.0"


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    severity: Severity
    summary: str
    """One line: what the rule reports."""
    rationale: str
    remediation: str
    configurable: str = "severity or `off` in `version-guard.rules`"
    since: str = SINCE

    def help_markdown(self) -> str:
        return (
            f"**{self.id} {self.name}**: {self.summary}\n\n{self.rationale}\n\n"
            f"**Remediation**\n\n{self.remediation}"
        )


RULES: tuple[Rule, ...] = (
    Rule(
        "VG001",
        "image-unpinned",
        "error",
        "A base or service image is untagged or uses a floating tag such as `latest`.",
        "An image without a tag, or with `latest`/`nightly`/`stable`, changes under you: the next "
        "build silently gets another torch, CUDA or Python. The check follows `ARG` values and "
        "build arguments, so `ARG BASE=pytorch/pytorch:latest` / `FROM ${BASE}` is caught "
        "(hadolint's DL3007/DL3006 see only literal tags). Images pinned by digest pass.",
        "Pin a versioned tag that names the stack, e.g. "
        "`pytorch/pytorch:2.4.1-cuda12.1-cudnn9-runtime`, or a digest "
        "(`image@sha256:…`); when the tag comes from an `ARG`, give the `ARG` a versioned default "
        "and pass versioned build arguments.",
    ),
    Rule(
        "VG002",
        "torch-not-exact",
        "error",
        "A deployable file gives torch, torchvision or torchaudio as a range or not at all.",
        "What gets deployed must be reproducible: `torch>=2.1` installs whatever is newest on the "
        "day of the build. Deployable files are Dockerfiles, requirements and constraints files "
        "(`*.txt`), conda environment files, compose files and devcontainers. Library metadata "
        "(`pyproject.toml`, `setup.cfg`, pip-tools inputs `*.in`) may declare ranges, and CI "
        "workflows are not deployable (a test job may install the newest torch on purpose). The "
        "config keys `deployable` and `library` (globs, relative to the scanned root) override "
        "the defaults; `deployable` wins when a file matches both.",
        "Pin an exact version (`torch==2.4.1`, with `+cu121` or a PyTorch index for a CUDA "
        "build), or list the file under `version-guard.library` if it really is library metadata.",
    ),
    Rule(
        "VG003",
        "torch-mismatch",
        "error",
        "Files of one environment pin different torch, torchvision or torchaudio versions.",
        "Inside one environment (a Docker build with the requirement files it installs, a conda "
        "environment, a CI matrix entry, …) every pin of a package must name the same version, "
        "and every range must allow it; otherwise the last install wins and the image holds a "
        "version nobody reviewed. Each line involved is reported, naming the others.",
        "Make every pin of the package in the environment the same version; the finding lists "
        "the other lines. Keep the version in one place (an `ARG` or a constraints file) where you "
        "can.",
    ),
    Rule(
        "VG004",
        "cuda-mismatch",
        "error",
        "Files of one environment name different CUDA variants.",
        "The CUDA variant is written in many places: the image tag (`cuda12.1`), a local version "
        "(`+cu121`), a PyTorch index URL (`/whl/cu121`), conda's `pytorch-cuda=`, a `CUDA_VERSION` "
        "`ARG`, apt's `cuda-toolkit-12-1`. When they disagree, pip replaces the image's torch or "
        "the extension build uses another toolkit than torch; a CPU wheel in a CUDA image is the "
        "same mistake. Compared at the `major.minor` level.",
        "Choose one CUDA version for the environment and write it everywhere the finding lists "
        "(image tag, index URL, local versions, `pytorch-cuda=`).",
    ),
    Rule(
        "VG005",
        "cudnn-mismatch",
        "error",
        "Files of one environment name different cuDNN major versions.",
        "A cuDNN major (from an image tag such as `cudnn8`, an apt `libcudnn9` package or an "
        "`nvidia-cudnn-cu12` pin) that differs from the rest of the environment means two cuDNN "
        "libraries and whichever loads first wins.",
        "Use images and packages of one cuDNN major: torch 2.4 and later wheels and images use "
        "cuDNN 9, earlier ones cuDNN 8.",
    ),
    Rule(
        "VG006",
        "python-mismatch",
        "error",
        "Files of one environment name different Python minor versions.",
        "Wheels are built per Python minor; a `.python-version` of 3.11 beside a conda "
        "`python=3.10` means local runs and the deployed environment resolve different wheels. "
        "`requires-python` ranges must include the pinned minor.",
        "Use one Python minor in every file of the environment; widen `requires-python` if it "
        "excludes the pinned version.",
    ),
    Rule(
        "VG007",
        "companion-mismatch",
        "error",
        "torchvision or torchaudio does not match the torch it is installed with.",
        "torchvision and torchaudio are built against one torch release (torch 2.x pairs with "
        "torchvision 0.(x+15)); another pairing fails at import with undefined symbols or makes "
        "pip replace torch. Checked against the compatibility table; pairs the table does not "
        "know are not reported.",
        "Pin the torchvision/torchaudio release made for that torch (the message names it), or "
        "change torch.",
    ),
    Rule(
        "VG008",
        "no-official-build",
        "error",
        "No official build exists for this torch version and CUDA/ROCm variant or image tag.",
        "`torch==2.0.1+cu124`, torch 2.1 from the `cu124` index, torch 2.4 from `cu128` or a "
        "`pytorch/pytorch:2.4.0-…-cudnn8-…` image do not exist. Such pins are common in public "
        "repositories and fail at install time, usually in the release pipeline. Checked against "
        "the compatibility table shipped with the package.",
        "Pick a CUDA variant that was built for this torch (the message lists them) or a torch "
        "release built for your CUDA.",
    ),
    Rule(
        "VG009",
        "python-unsupported",
        "error",
        "The environment's Python has no torch wheels for the pinned torch.",
        "Each torch release ships wheels for a range of Python minors (torch 2.1: 3.8 to 3.11, "
        "torch 2.9: 3.10 to 3.14); outside it pip either fails or falls back to a source build.",
        "Move Python into the range of the torch release, or move torch to a release that "
        "supports your Python.",
    ),
    Rule(
        "VG010",
        "policy",
        "error",
        "A pin differs from the version the config's `environment` section declares.",
        "The `environment` section of `.github/mlops.yml` declares the stack the repository "
        "uses (`torch`, `torchvision`, `torchaudio`, `cuda`, `cudnn`, `python`: an exact version "
        "or a PEP 440 specifier; `cuda: cpu` for CPU builds). Every exact pin must satisfy it. "
        "Values of a CI test matrix are exempt: a matrix tests several versions on purpose.",
        "Change the pin to the declared version, or change the declaration in the config file "
        "if the stack moved.",
    ),
    Rule(
        "VG011",
        "inconsistent-change",
        "error",
        "A pull request changes a torch or CUDA pin in some files but not in others.",
        "Against the base ref, a torch or CUDA pin that changed must change in every place that "
        "pinned the same old value in the same environment or in another deployable file. The "
        "classic failure: development images on 2.8 and production on 2.9 because one file was "
        "forgotten, and `torch.compile` regressed in production only.",
        "Make the same change in every line the finding lists, or revert it.",
    ),
    Rule(
        "VG012",
        "change-label",
        "error",
        "A pull request changes torch or CUDA pins without the label the config requires.",
        "With `version-guard.change-label` set, a pull request that changes a torch or CUDA pin "
        "must carry that label, so stack upgrades are deliberate and visible in review. Labels "
        "are read from the pull request event; outside a pull request the rule does not apply.",
        "Add the label to the pull request (and re-run the check), or revert the pin change.",
    ),
    Rule(
        "VG013",
        "shared-mismatch",
        "error",
        "Deployable environments disagree on a component the config declares shared.",
        "Environments may differ on purpose (a CPU and a CUDA image, a test matrix), so across "
        "environments only the components listed in `version-guard.shared` must agree, and only "
        "between deployable files (CI workflows are never compared).",
        "Use the same version of the component in every deployable environment, or remove it "
        "from `shared`.",
    ),
    Rule(
        "VG014",
        "unresolved",
        "notice",
        "A pin's value could not be resolved statically.",
        "A version carried by an undefined `ARG`, a workflow expression other than "
        "`${{ matrix.* }}`/`${{ env.* }}`, an environment variable in a requirements file, or an "
        "image tag that does not follow a known grammar cannot be checked. It is reported, never "
        "guessed.",
        "Give the `ARG` a default or pass it in `version-guard.build-args`, write the version "
        "literally, or accept the notice (set the rule to `off`).",
    ),
    Rule(
        "VG015",
        "scan-error",
        "warning",
        "A pin-bearing file could not be read or parsed.",
        "A YAML or TOML syntax error, an unreadable file or an `-r` include that does not exist "
        "hides pins from every other rule.",
        "Fix the file at the reported line, or exclude it with `version-guard.exclude`.",
    ),
)

RULES_BY_ID: dict[str, Rule] = {r.id: r for r in RULES}
RULES_BY_NAME: dict[str, Rule] = {r.name: r for r in RULES}

TORCH_FAMILY: tuple[Component, ...] = ("torch", "torchvision", "torchaudio")
POLICY_COMPONENTS: tuple[str, ...] = (*TORCH_FAMILY, "cuda", "cudnn", "python")
SHAREABLE = POLICY_COMPONENTS

DEFAULT_LIBRARY = ("pyproject.toml", "**/pyproject.toml", "setup.cfg", "**/setup.cfg", "*.in")
_DEPLOYABLE_SOURCES = frozenset({"dockerfile", "requirements", "conda", "compose", "devcontainer"})


def rule(key: str) -> Rule | None:
    """A rule by id (``VG003``) or name (``torch-mismatch``)."""
    return RULES_BY_ID.get(key.upper()) or RULES_BY_NAME.get(key.lower())


@dataclass(frozen=True)
class Finding:
    rule_id: str
    severity: Severity
    message: str
    file: str | None
    line: int | None
    col: int | None = None
    related: tuple[tuple[str, int], ...] = ()
    """Other lines involved, ``(file, line)``."""
    fix: str = ""

    @property
    def rule(self) -> Rule:
        return RULES_BY_ID[self.rule_id]

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule_id,
            "name": self.rule.name,
            "severity": self.severity,
            "message": self.message,
            "file": self.file,
            "line": self.line,
            "col": self.col,
            "related": [{"file": f, "line": ln} for f, ln in self.related],
            "fix": self.fix,
        }


@dataclass(frozen=True)
class PolicyItem:
    component: str
    text: str
    exact: Version | None
    spec: SpecifierSet | None
    cpu: bool = False

    def allows(self, version: Version) -> bool:
        if self.exact is not None:
            n = len(self.exact.release)
            return version.release[:n] == self.exact.release and (
                n >= 3
                or (version.pre is None and version.dev is None)
                or self.exact.pre is not None
            )
        return self.spec is not None and self.spec.contains(version, prereleases=True)


@dataclass(frozen=True)
class Settings:
    """version-guard's view of the config: rule severities, file roles, shared components,
    the change label and the declared stack."""

    severities: Mapping[str, Setting] = field(default_factory=dict)
    """Rule id → severity or ``off``; rules not named keep their default."""
    deployable: tuple[str, ...] = ()
    library: tuple[str, ...] = ()
    shared: tuple[str, ...] = ()
    change_label: str | None = None
    policy: tuple[PolicyItem, ...] = ()
    config_path: str | None = None
    groups: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """Extra environments from the config: name → file globs."""

    def severity(self, rule_id: str) -> Setting:
        return self.severities.get(rule_id, RULES_BY_ID[rule_id].severity)


def parse_policy(component: str, text: str) -> PolicyItem | str:
    """A declared version: exact (prefix-matched: ``2.4`` allows 2.4.1) or a specifier."""
    value = str(text).strip()
    if component == "cuda":
        if value.lower() == "cpu":
            return PolicyItem(component, value, None, None, cpu=True)
        minor = cuda_minor(value)
        if minor is None:
            return f"{value!r} is not a CUDA version"
        return PolicyItem(component, value, Version(minor), None)
    exact = parse_version(value)
    if exact is not None:
        return PolicyItem(component, value, exact, None)
    try:
        return PolicyItem(component, value, None, SpecifierSet(value))
    except InvalidSpecifier:
        return f"{value!r} is neither a version nor a PEP 440 specifier"


def settings_from_config(config: Config) -> Settings:
    """Read the ``version-guard`` and ``environment`` sections (already schema-validated)."""
    section = config.section("version-guard")
    severities: dict[str, Setting] = {}
    for key, value in (section.get("rules") or {}).items():
        found = rule(str(key))
        if found is None:  # the schema lists every id and name; kept for hand-built configs
            raise config.error(
                ("version-guard", "rules", key),
                "unknown rule",
                f"use a rule id or name: {', '.join(r.id for r in RULES)}.",
            )
        # YAML 1.1 reads a bare `off` as false.
        severities[found.id] = "off" if value is False else value
    policy: list[PolicyItem] = []
    env = config.section("environment")
    for component in POLICY_COMPONENTS:
        if component not in env:
            continue
        parsed = parse_policy(component, str(env[component]))
        if isinstance(parsed, str):
            raise config.error(
                ("environment", component),
                parsed,
                'write an exact version ("2.4.1") or a specifier (">=2.4,<2.6")'
                + ('; for CUDA a version such as "12.1" or "cpu"' if component == "cuda" else "")
                + ".",
            )
        policy.append(parsed)
    label = section.get("change-label")
    return Settings(
        severities=severities,
        deployable=tuple(section.get("deployable") or ()),
        library=tuple(section.get("library") or ()),
        shared=tuple(section.get("shared") or ()),
        change_label=str(label) if label else None,
        policy=tuple(policy),
        config_path=config.path,
        groups=tuple(
            (str(g["name"]), tuple(str(f) for f in g["files"]))
            for g in section.get("environments") or ()
        ),
    )


def config_environments(scan: ScanResult, settings: Settings) -> list[Environment]:
    """The environments the config's ``version-guard.environments`` adds to the grouping."""
    out: list[Environment] = []
    for name, patterns in settings.groups:
        files = tuple(f for f in scan.files if any(glob_match(f, p) for p in patterns))
        pins = tuple(p for p in scan.pins if p.file in files)
        if pins:
            out.append(Environment(f"config:{name}", "file", name, "config", files, pins))
    return out


# --- helpers -----------------------------------------------------------------------------------


def glob_match(path: str, pattern: str) -> bool:
    """Glob on repository-relative paths: ``*`` crosses ``/``; ``**/x`` also matches ``x`` at the
    root; a pattern without ``/`` also matches the file name alone."""
    if fnmatch.fnmatchcase(path, pattern):
        return True
    if pattern.startswith("**/") and fnmatch.fnmatchcase(path, pattern[3:]):
        return True
    return "/" not in pattern and fnmatch.fnmatchcase(posixpath.basename(path), pattern)


def is_deployable(pin_or_file: Pin | str, settings: Settings, source: str | None = None) -> bool:
    """Whether a file must pin exactly (see VG002)."""
    if isinstance(pin_or_file, Pin):
        path, source = pin_or_file.file, pin_or_file.source
    else:
        path = pin_or_file
    if any(glob_match(path, p) for p in settings.deployable):
        return True
    if any(glob_match(path, p) for p in settings.library):
        return False
    if any(glob_match(path, p) for p in DEFAULT_LIBRARY):
        return False
    return source in _DEPLOYABLE_SOURCES


def from_matrix(pin: Pin) -> bool:
    """A value that comes from a CI matrix (a matrix tests several versions on purpose)."""
    return "matrix." in pin.context or any(r.startswith("matrix.") for r in pin.resolved_from)


def _where(pin: Pin) -> str:
    return f"{pin.file}:{pin.line}"


def _version(pin: Pin) -> Version | None:
    """The public version of an exact pin (local ``+cu121`` dropped)."""
    if pin.how != "exact":
        return None
    v = parse_version(pin.value)
    return None if v is None else Version(v.public)


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


def _cudnn_major(pin: Pin) -> str | None:
    if pin.how not in {"exact", "range"} or pin.component != "cudnn":
        return None
    v = parse_version(pin.value)
    return None if v is None else str(v.release[0])


def _python_minor(pin: Pin) -> str | None:
    if pin.how != "exact" or pin.component != "python":
        return None
    text = pin.value.strip()
    threaded = text.endswith("t")
    v = parse_version(text[:-1] if threaded else text)
    if v is None or len(v.release) < 2:
        return None
    return f"{v.release[0]}.{v.release[1]}" + ("t" if threaded else "")


def _spec(pin: Pin) -> SpecifierSet | None:
    if pin.how != "range":
        return None
    try:
        return SpecifierSet(pin.value)
    except InvalidSpecifier:
        return None


def _describe(pin: Pin, value: str) -> str:
    return f"{value} at {_where(pin)}"


def _join(items: Sequence[str], limit: int = 4) -> str:
    shown = list(items[:limit])
    if len(items) > limit:
        shown.append(f"{len(items) - limit} more")
    if len(shown) <= 1:
        return "".join(shown)
    return ", ".join(shown[:-1]) + " and " + shown[-1]


# --- the accumulator ---------------------------------------------------------------------------


@dataclass
class _Conflict:
    pin: Pin
    shown: str
    others: dict[tuple[str, int], str] = field(default_factory=dict)
    envs: dict[str, None] = field(default_factory=dict)


class _Findings:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.items: dict[tuple[Any, ...], Finding] = {}
        self.conflicts: dict[tuple[str, str, int, int, str], _Conflict] = {}

    def on(self, rule_id: str) -> bool:
        return self.settings.severity(rule_id) != "off"

    def add(
        self,
        rule_id: str,
        message: str,
        pin: Pin | None = None,
        *,
        file: str | None = None,
        line: int | None = None,
        col: int | None = None,
        related: Iterable[tuple[str, int]] = (),
        fix: str = "",
    ) -> None:
        severity = self.settings.severity(rule_id)
        if severity == "off":
            return
        if pin is not None:
            file, line, col = pin.file, pin.line, pin.col
        finding = Finding(
            rule_id,
            severity,
            message,
            file,
            line,
            col,
            tuple(dict.fromkeys(r for r in related if r != (file, line))),
            fix,
        )
        self.items.setdefault((rule_id, file, line, col, message), finding)

    def conflict(
        self, rule_id: str, pin: Pin, shown: str, other: Pin, other_shown: str, env: str
    ) -> None:
        if self.settings.severity(rule_id) == "off" or _where(pin) == _where(other):
            return
        # One CUDA finding per spot: an image tag names the variant through torch and cuda pins.
        topic = "variant" if rule_id == "VG004" else pin.component
        key = (rule_id, pin.file, pin.line, pin.col, topic)
        entry = self.conflicts.setdefault(key, _Conflict(pin, shown))
        entry.others[(other.file, other.line)] = other_shown
        entry.envs[env] = None

    def result(self) -> list[Finding]:
        for (rule_id, *_), c in self.conflicts.items():
            label = _LABELS.get(c.pin.component, c.pin.component)
            others = [f"{v} at {f}:{ln}" for (f, ln), v in c.others.items()]
            envs = list(c.envs)
            scope = f"environment {envs[0]}" if len(envs) == 1 else f"environments {_join(envs, 3)}"
            if rule_id == "VG013":
                scope = "declared shared across deployable environments"
            if rule_id == "VG004":
                label = "CUDA variant"
            self.add(
                rule_id,
                f"{c.shown} here, but {_join(others)} ({scope})",
                c.pin,
                related=c.others.keys(),
                fix=f"use one {label} in all of these lines.",
            )
        self.conflicts.clear()
        order = {"error": 0, "warning": 1, "notice": 2}
        return sorted(
            self.items.values(),
            key=lambda f: (f.file or "", f.line or 0, f.col or 0, order[f.severity], f.rule_id),
        )

    def pairs(
        self,
        rule_id: str,
        bad: Sequence[tuple[Pin, str, Pin, str]],
        message: str,
        fix: str,
    ) -> None:
        """Incompatible pairs ``(a, a_shown, b, b_shown)``: one finding per line and per value
        on the other side, naming every line of that value (``{this}``/``{that}``/``{where}``)."""
        for side in (0, 1):
            grouped: dict[tuple[Pin, str, str], list[Pin]] = {}
            for a, a_shown, b, b_shown in bad:
                this, this_shown, that, that_shown = (
                    (a, a_shown, b, b_shown) if side == 0 else (b, b_shown, a, a_shown)
                )
                grouped.setdefault((this, this_shown, that_shown), []).append(that)
            for (this, this_shown, that_shown), others in grouped.items():
                where = _join([_where(o) for o in dict.fromkeys(others)])
                self.add(
                    rule_id,
                    message.format(this=this_shown, that=that_shown, where=where),
                    this,
                    related=[(o.file, o.line) for o in others],
                    fix=fix,
                )


_LABELS = {"cuda": "CUDA variant", "cudnn": "cuDNN major", "python": "Python minor"}


# --- rules -------------------------------------------------------------------------------------


def _image_pinned(scan: ScanResult, out: _Findings) -> None:
    for pin in scan.pins:
        if pin.component != "image" or pin.how not in {"latest", "unpinned"}:
            continue
        ref = parse_image_ref(pin.value)
        via = f" (resolved from {'; '.join(pin.resolved_from)})" if pin.resolved_from else ""
        if pin.how == "latest":
            what = f"image {pin.value} uses the floating tag `{ref.tag if ref else pin.value}`"
        else:
            what = f"image {pin.value} has no tag"
        out.add(
            "VG001",
            what + via,
            pin,
            fix=f"pin a versioned tag of {ref.repository if ref else 'the image'} (such as "
            "pytorch/pytorch:2.4.1-cuda12.1-cudnn9-runtime) or a digest.",
        )


def _exact_in_deployable(scan: ScanResult, out: _Findings) -> None:
    for pin in scan.pins:
        if pin.component not in TORCH_FAMILY or pin.how not in {"range", "unpinned", "latest"}:
            continue
        if pin.derived_from or not is_deployable(pin, out.settings):
            continue
        shown = f"`{pin.value}`" if pin.value else "no version"
        out.add(
            "VG002",
            f"{pin.component} is pinned as {shown} in a deployable file; pin an exact version",
            pin,
            fix=f"write {pin.component}==<version>, or list {pin.file} under "
            "version-guard.library if it is library metadata.",
        )


def _members(env: Environment) -> list[Pin]:
    pins = list(dict.fromkeys(env.pins))
    if env.kind == "file":
        # Leftover matrix values of a workflow are alternatives, not one environment.
        pins = [p for p in pins if not from_matrix(p)]
    return pins


def _agreement(env: Environment, out: _Findings) -> None:
    pins = _members(env)
    name = env.name or env.id
    # torch, torchvision, torchaudio: one version; ranges must allow it.
    for component in TORCH_FAMILY:
        exact = [(p, v) for p in pins if p.component == component and (v := _version(p))]
        for p, v in exact:
            for q, w in exact:
                if v != w:
                    out.conflict(
                        "VG003", p, f"{component} {p.value}", q, f"{component} {q.value}", name
                    )
        for r in pins:
            spec = _spec(r) if r.component == component else None
            if spec is None:
                continue
            for p, v in exact:
                if not spec.contains(v, prereleases=True):
                    out.conflict(
                        "VG003", r, f"{component} `{r.value}`", p, f"{component} {p.value}", name
                    )
                    out.conflict(
                        "VG003", p, f"{component} {p.value}", r, f"{component} `{r.value}`", name
                    )
    # CUDA variant.
    keyed = [(p, k) for p in pins if (k := variant_key(p))]
    for p, k in keyed:
        for q, m in keyed:
            if k != m:
                out.conflict("VG004", p, _variant_text(p, k), q, _variant_text(q, m), name)
    # cuDNN major.
    majors = [(p, k) for p in pins if (k := _cudnn_major(p))]
    for p, k in majors:
        for q, m in majors:
            if k != m:
                out.conflict("VG005", p, _cudnn_text(p, k), q, _cudnn_text(q, m), name)
    # Python minor; ranges must include it.
    minors = [(p, k) for p in pins if (k := _python_minor(p))]
    for p, k in minors:
        for q, m in minors:
            if k != m:
                out.conflict("VG006", p, f"Python {k}", q, f"Python {m}", name)
    for r in pins:
        spec = _spec(r) if r.component == "python" else None
        if spec is None:
            continue
        for p, k in minors:
            if not spec.contains(Version(k.rstrip("t")), prereleases=True):
                out.conflict("VG006", r, f"Python `{r.value}`", p, f"Python {k}", name)
                out.conflict("VG006", p, f"Python {k}", r, f"Python `{r.value}`", name)


def _cudnn_text(pin: Pin, major: str) -> str:
    return f"cuDNN {major}" if pin.value == major else f"cuDNN {major} ({pin.value})"


def _variant_text(pin: Pin, key: str) -> str:
    shown = "CPU" if key == "cpu" else (key if key.startswith("rocm") else f"CUDA {key}")
    if pin.component in TORCH_FAMILY:
        return f"{shown} ({pin.component} {pin.value})"
    return shown


def _companions(env: Environment, out: _Findings) -> None:
    pins = _members(env)
    torches = [(p, v) for p in pins if p.component == "torch" and (v := _version(p))]
    for comp in ("torchvision", "torchaudio"):
        check = torchvision_compatible if comp == "torchvision" else torchaudio_compatible
        bad: list[tuple[Pin, str, Pin, str]] = []
        for c in pins:
            cv = _version(c) if c.component == comp else None
            if cv is None:
                continue
            same_file = [(p, v) for p, v in torches if p.file == c.file]
            for t, tv in same_file or torches:
                if check(str(tv), str(cv)) is False:
                    bad.append((c, f"{comp} {cv}", t, f"torch {tv}"))
        out.pairs(
            "VG007",
            bad,
            "{this} here and {that} ({where}) were not built for each other",
            f"pin the {comp} release made for that torch (torch 2.x pairs with torchvision "
            "0.(x+15)), or change torch.",
        )


def _no_build(torch: Pin, tv: Version, key: str, out: _Findings, via: Pin | None = None) -> None:
    if key == "cpu":
        return
    if key.startswith("rocm"):
        known = has_rocm_build(str(tv), key)
        what = f"ROCm {key[4:]}"
    else:
        known = has_cuda_build(str(tv), key)
        what = f"CUDA {key}"
    if known is not False:
        return
    builds = cuda_builds(str(tv)) or ()
    offered = f"; torch {tv} was built for CUDA {_join(list(builds), 8)}" if builds else ""
    source = f" (variant from {_where(via)})" if via is not None else ""
    related = [(via.file, via.line)] if via is not None else []
    out.add(
        "VG008",
        f"no official torch {tv} build exists for {what}{source}{offered}",
        torch,
        related=related,
        fix="choose a CUDA variant built for this torch, or a torch release built for your CUDA.",
    )
    if via is not None:
        out.add(
            "VG008",
            f"{what} here, but no official build of torch {tv} ({_where(torch)}) exists for it"
            + offered,
            via,
            related=[(torch.file, torch.line)],
            fix="choose a CUDA variant built for this torch, or a torch release built for your "
            "CUDA.",
        )


def _builds(scan: ScanResult, out: _Findings) -> None:
    by_file: dict[str, list[Pin]] = {}
    for pin in scan.pins:
        by_file.setdefault(pin.file, []).append(pin)
    for pin in scan.pins:
        if pin.component != "torch":
            continue
        tv = _version(pin)
        if tv is None:
            continue
        key = variant_key(pin)
        if key is not None:
            _no_build(pin, tv, key, out)
        elif pin.source == "conda":
            # conda names the variant in a separate spec: pytorch-cuda=12.1.
            for other in by_file[pin.file]:
                k = variant_key(other) if other.component == "cuda" else None
                if k is not None and other.source == "conda":
                    _no_build(pin, tv, k, out, via=other)
        if pin.derived_from and (image := parse_image_ref(pin.derived_from)):
            if image.repository != "pytorch/pytorch" or key in (None, "cpu"):
                continue
            expected = pytorch_image_cudnn_major(str(tv))
            for other in by_file[pin.file]:
                if (
                    other.component == "cudnn"
                    and other.derived_from == pin.derived_from
                    and (other.line, other.col) == (pin.line, pin.col)
                    and expected is not None
                    and _cudnn_major(other) not in (None, str(expected))
                ):
                    out.add(
                        "VG008",
                        f"image {pin.derived_from} does not exist: pytorch/pytorch images of "
                        f"torch {tv} carry cuDNN {expected}, not cuDNN {_cudnn_major(other)}",
                        pin,
                        fix=f"use the cudnn{expected} tag.",
                    )


def _env_builds(env: Environment, out: _Findings) -> None:
    """torch pinned without a variant in one file, installed from a PyTorch index named in
    another file of the environment (``-r`` include, ``--index-url`` in a constraints file)."""
    pins = _members(env)
    indexes = [
        p
        for p in pins
        if p.component == "cuda" and p.source == "requirements" and p.context in _INDEX_OPTIONS
    ]
    if not indexes:
        return
    for pin in pins:
        tv = _version(pin) if pin.component == "torch" else None
        if tv is None or pin.variant is not None or pin.source != "requirements":
            continue
        for idx in indexes:
            key = variant_key(idx)
            if key is not None and idx.file != pin.file:
                _no_build(pin, tv, key, out, via=idx)


_INDEX_OPTIONS = frozenset({"-i", "--index-url", "--extra-index-url", "-f", "--find-links"})


def _python_support(env: Environment, out: _Findings) -> None:
    pins = _members(env)
    torches = [(p, v) for p in pins if p.component == "torch" and (v := _version(p))]
    pythons = [(p, k) for p in pins if (k := _python_minor(p))]
    bad = [
        (t, f"torch {tv}", p, f"Python {k}")
        for t, tv in torches
        for p, k in pythons
        if python_supported(str(tv), k) is False
    ]
    out.pairs(
        "VG009",
        bad,
        "no torch wheels exist for {this} here with {that} ({where})",
        "use a Python that this torch release supports, or a torch release that supports "
        "your Python.",
    )


def _policy(scan: ScanResult, out: _Findings) -> None:
    where = f" ({out.settings.config_path})" if out.settings.config_path else ""
    for item in out.settings.policy:
        for pin in scan.pins:
            if from_matrix(pin) or pin.how != "exact":
                continue
            if item.component == "cuda":
                key = variant_key(pin)
                if key is None:
                    continue
                ok = (
                    (key == "cpu")
                    if item.cpu
                    else (key != "cpu" and not key.startswith("rocm") and item.allows(Version(key)))
                )
                shown = "CPU" if key == "cpu" else key
            elif item.component == "python":
                minor = _python_minor(pin)
                if minor is None:
                    continue
                v = parse_version(pin.value.rstrip("t"))
                ok = v is not None and item.allows(v)
                shown = pin.value
            elif item.component == "cudnn":
                if pin.component != "cudnn" or (v := parse_version(pin.value)) is None:
                    continue
                ok = item.allows(v) or (
                    item.exact is not None
                    and len(v.release) < len(item.exact.release)
                    and item.exact.release[: len(v.release)] == v.release
                )
                shown = pin.value
            else:
                if pin.component != item.component or (v := _version(pin)) is None:
                    continue
                ok = item.allows(v)
                shown = pin.value
            if not ok:
                out.add(
                    "VG010",
                    f"{item.component} {shown} here, but the config declares "
                    f"{item.component}: {item.text}{where}",
                    pin,
                    fix=f"use {item.component} {item.text}, or update environment."
                    f"{item.component} in the config.",
                )


def _shared(scan: ScanResult, envs: Sequence[Environment], out: _Findings) -> None:
    if not out.settings.shared:
        return
    env_of: dict[Pin, str] = {}
    for env in envs:
        for p in env.pins:
            env_of.setdefault(p, env.name or env.id)
    pins = [
        p for p in dict.fromkeys(scan.pins) if is_deployable(p, out.settings) and not from_matrix(p)
    ]
    for component in out.settings.shared:
        keyed: list[tuple[Pin, str, str]] = []
        for p in pins:
            if component in TORCH_FAMILY:
                v = _version(p) if p.component == component else None
                k, shown = (str(v), f"{component} {p.value}") if v else (None, "")
            elif component == "cuda":
                k = variant_key(p)
                shown = _variant_text(p, k) if k else ""
            elif component == "cudnn":
                k = _cudnn_major(p)
                shown = _cudnn_text(p, k) if k else ""
            else:
                k = _python_minor(p)
                shown = f"Python {k}" if k else ""
            if k is not None:
                keyed.append((p, k, shown))
        for p, k, s in keyed:
            for q, m, t in keyed:
                if k != m:
                    out.conflict("VG013", p, s, q, t, env_of.get(q, q.file))


def _unresolved(scan: ScanResult, out: _Findings) -> None:
    for pin in scan.pins:
        if pin.how != "unresolved":
            continue
        reason = f": {pin.reason}" if pin.reason else ""
        shown = f" `{pin.value}`" if pin.value else ""
        out.add(
            "VG014",
            f"{pin.component}{shown} could not be resolved{reason}; not checked",
            pin,
            fix="write the version literally, give the ARG a default, or pass it in "
            "version-guard.build-args.",
        )


def _scan_errors(scan: ScanResult, out: _Findings) -> None:
    for err in scan.errors:
        out.add(
            "VG015",
            err.message,
            file=err.file,
            line=err.line,
            col=err.col,
            fix="fix the file, or exclude it with version-guard.exclude.",
        )


# --- change gate -------------------------------------------------------------------------------

GATED: tuple[Component, ...] = ("torch", "cuda")


def _torch_key(pin: Pin) -> str | None:
    v = _version(pin) if pin.component == "torch" else None
    return None if v is None else str(v)


def _slots(pins: Iterable[Pin]) -> dict[tuple[str, str, str, int], Pin]:
    """Pins keyed by (file, component, context, n-th) so a line that moved still matches."""
    out: dict[tuple[str, str, str, int], Pin] = {}
    seen: dict[tuple[str, str, str], int] = {}
    for pin in sorted(
        {p for p in pins if p.component in GATED and p.environment is None},
        key=lambda p: (p.file, p.line, p.col, p.component),
    ):
        base = (pin.file, pin.component, pin.context)
        n = seen.get(base, 0)
        seen[base] = n + 1
        out[(pin.file, pin.component, pin.context, n)] = pin
    return out


def _change_gate(
    scan: ScanResult,
    envs: Sequence[Environment],
    base: ScanResult,
    labels: Collection[str] | None,
    out: _Findings,
) -> None:
    head = _slots(scan.pins)
    old = _slots(base.pins)
    pairs = [(old[slot], pin) for slot, pin in head.items() if slot in old]
    envs_of: dict[tuple[str, int, int, str], set[str]] = {}
    for env in envs:
        for p in env.pins:
            envs_of.setdefault((p.file, p.line, p.col, p.component), set()).add(env.id)

    def together(p: Pin, q: Pin) -> bool:
        a = envs_of.get((p.file, p.line, p.col, p.component), set())
        b = envs_of.get((q.file, q.line, q.col, q.component), set())
        return bool(a & b) or (is_deployable(p, out.settings) and is_deployable(q, out.settings))

    changed: list[tuple[Pin, Pin]] = []
    # torch versions, then CUDA variants (a torch pin's `+cu121` counts as a CUDA pin).
    for what, key in (("torch", _torch_key), ("CUDA", variant_key)):
        moved = [(a, b) for a, b in pairs if key(a) and key(b) and key(a) != key(b)]
        stays = [b for a, b in pairs if key(a) and key(a) == key(b) and not from_matrix(b)]
        for before, pin in moved:
            changed.append((before, pin))
            if from_matrix(pin):
                continue
            old_key = key(before)
            stale = [q for q in stays if key(q) == old_key and together(pin, q)]
            if not stale:
                continue
            was, now = _shown(what, before, old_key), _shown(what, pin, key(pin))
            out.add(
                "VG011",
                f"{what} changed from {was} to {now} here, but "
                f"{_join([_where(q) for q in stale])} still pin{'s' if len(stale) == 1 else ''} "
                f"{was}",
                pin,
                related=[(q.file, q.line) for q in stale],
                fix=f"change {what} in every listed line the same way, or revert this change.",
            )
            for q in stale:
                out.add(
                    "VG011",
                    f"{what} still {was} here, but this pull request changed it to {now} at "
                    f"{_where(pin)}",
                    q,
                    related=[(pin.file, pin.line)],
                    fix=f"change this line to {what} {now} too, or revert the other change.",
                )
    label_name = out.settings.change_label
    if label_name and labels is not None and label_name not in labels:
        for before, pin in dict.fromkeys(changed):
            out.add(
                "VG012",
                f"{pin.component} changed from {before.value} to {pin.value}; a change to "
                f"torch or CUDA pins needs the label `{label_name}` on the pull request",
                pin,
                fix=f"add the label `{label_name}` to the pull request and re-run the check.",
            )


def _shown(what: str, pin: Pin, key: str | None) -> str:
    if what == "torch":
        return pin.value
    return "CPU" if key == "cpu" else str(key)


# --- entry point -------------------------------------------------------------------------------


def evaluate(
    scan: ScanResult,
    environments: Sequence[Environment],
    config: Settings,
    base_scan: ScanResult | None = None,
    pr_labels: Collection[str] | None = (),
) -> list[Finding]:
    """Every finding for a scan, sorted by file and line.

    ``base_scan`` enables the change gate (VG011/VG012); ``pr_labels`` are the pull request's
    labels, or None outside a pull request (then VG012 does not apply).
    """
    out = _Findings(config)
    _image_pinned(scan, out)
    _exact_in_deployable(scan, out)
    for env in environments:
        _agreement(env, out)
        _companions(env, out)
        _python_support(env, out)
        _env_builds(env, out)
    _builds(scan, out)
    _policy(scan, out)
    _shared(scan, environments, out)
    _unresolved(scan, out)
    _scan_errors(scan, out)
    if base_scan is not None:
        _change_gate(scan, environments, base_scan, pr_labels, out)
    return out.result()


def worst(findings: Iterable[Finding]) -> int:
    return max((SEVERITY_RANK[f.severity] for f in findings), default=0)


def fails(findings: Iterable[Finding], fail_on: FailOn) -> bool:
    return fail_on != "never" and worst(findings) >= SEVERITY_RANK[fail_on]


def rules_markdown() -> str:
    """The rule reference of docs/version-guard.md (a test keeps the page in step)."""
    lines = [
        "## Rules",
        "",
        "Set a rule's severity, or turn it off, in the config file by id or name:",
        "",
        "```yaml",
        "version-guard:",
        "  rules:",
        "    VG014: off            # or: unresolved: off",
        "    python-mismatch: warning",
        "```",
        "",
        "| Id | Name | Default | What |",
        "|---|---|---|---|",
    ]
    for r in RULES:
        lines.append(
            f"| [{r.id}](#{r.id.lower()}-{r.name}) | `{r.name}` | {r.severity} | {r.summary} |"
        )
    for r in RULES:
        lines += [
            "",
            f"### {r.id} {r.name}",
            "",
            "| What | Since | Default severity | Configurable |",
            "|---|---|---|---|",
            f"| {r.summary} | {r.since} | {r.severity} | {r.configurable} |",
            "",
            r.rationale,
            "",
            "#### Remediation",
            "",
            r.remediation,
        ]
    return "\n".join(lines) + "\n"
