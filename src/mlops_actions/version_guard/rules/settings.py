"""version-guard's view of the config: rule severities, file roles (deployable or library),
shared components, the change label, the declared stack and the extra environments."""

from __future__ import annotations

import fnmatch
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

from mlops_actions.compat import cuda_minor, parse_version
from mlops_actions.config import Config
from mlops_actions.pins.model import Environment, ScanResult
from mlops_actions.version_guard.rules.catalog import CATALOG, Setting, rule
from mlops_actions.version_guard.rules.readings import TORCH_FAMILY

POLICY_COMPONENTS: tuple[str, ...] = (*TORCH_FAMILY, "cuda", "cudnn", "python")
SHAREABLE = POLICY_COMPONENTS

DEFAULT_LIBRARY = ("pyproject.toml", "**/pyproject.toml", "setup.cfg", "**/setup.cfg", "*.in")


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
        return self.severities.get(rule_id, CATALOG[rule_id].severity)


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
                f"use a rule id or name: {', '.join(sorted(CATALOG))}.",
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


def glob_match(path: str, pattern: str) -> bool:
    """Glob on repository-relative paths: ``*`` crosses ``/``; ``**/x`` also matches ``x`` at the
    root; a pattern without ``/`` also matches the file name alone."""
    if fnmatch.fnmatchcase(path, pattern):
        return True
    if pattern.startswith("**/") and fnmatch.fnmatchcase(path, pattern[3:]):
        return True
    return "/" not in pattern and fnmatch.fnmatchcase(posixpath.basename(path), pattern)
