"""The `branch-policy` config section as typed settings (validated by the JSON Schema first)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from mlops_actions.branch_policy.policy import (
    DEFAULT_EXEMPT,
    DEFAULT_INTEGRATION,
    DEFAULT_KINDS,
    DEFAULT_PRODUCTION,
    BranchKind,
    Policy,
)
from mlops_actions.config import Config

SECTION = "branch-policy"
MilestoneCheck = Literal["auto", "required", "off"]
BackMerge = Literal["open", "warn", "off"]


@dataclass(frozen=True)
class Settings:
    policy: Policy = field(default_factory=Policy)
    max_commits_behind: int = 50
    max_days_behind: int = 14
    newer_than_latest: bool = True
    milestone: MilestoneCheck = "auto"
    back_merge: BackMerge = "warn"
    # milestone-release's settings that the milestone check shares: is it configured, and how
    # does a milestone title name its version.
    milestone_release_configured: bool = False
    milestone_pattern: re.Pattern[str] | None = None

    @property
    def milestone_required(self) -> bool:
        if self.milestone == "auto":
            return self.milestone_release_configured
        return self.milestone == "required"


def settings_from_config(config: Config) -> Settings:
    """Typed settings; errors name the file, line and key."""
    data = config.section(SECTION)
    keys = (SECTION,)
    kinds = {kind.name: kind for kind in DEFAULT_KINDS}
    for name, spec in (data.get("kinds") or {}).items():
        if spec is False:
            kinds.pop(name, None)
            continue
        kinds[name] = _kind(config, (*keys, "kinds", name), name, spec)
    drift = data.get("drift") or {}
    checks = data.get("release-checks") or {}
    policy = Policy(
        production=tuple(data.get("production", DEFAULT_PRODUCTION)),
        integration=tuple(data.get("integration", DEFAULT_INTEGRATION)),
        kinds=tuple(kinds.values()),
        exempt=(*DEFAULT_EXEMPT, *data.get("exempt", ())),
        trunk_based=bool(data.get("trunk-based", False)),
    )
    overlap = set(policy.production) & set(policy.integration)
    if overlap and not policy.trunk_based:
        raise config.error(
            (*keys, "integration"),
            f"{sorted(overlap)[0]!r} is named both production and integration branch",
            "name each long-lived branch once, or set `trunk-based: true`.",
        )
    release = config.section("milestone-release")
    return Settings(
        policy=policy,
        max_commits_behind=int(drift.get("max-commits", 50)),
        max_days_behind=int(drift.get("max-days", 14)),
        newer_than_latest=bool(checks.get("newer-than-latest", True)),
        # YAML reads a bare `off` as false.
        milestone=checks.get("milestone", "auto") or "off",
        back_merge=checks.get("back-merge", "warn") or "off",
        milestone_release_configured="milestone-release" in config.data,
        milestone_pattern=_pattern(
            config, ("milestone-release", "version-pattern"), release.get("version-pattern")
        ),
    )


def _kind(config: Config, keys: tuple[str, ...], name: str, spec: dict[str, Any]) -> BranchKind:
    default = next((k for k in DEFAULT_KINDS if k.name == name), None)
    return BranchKind(
        name=name,
        prefix=str(spec["prefix"]),
        form=spec.get("name", default.form if default else "slug"),
        pattern=_pattern(config, (*keys, "pattern"), spec.get("pattern")),
        targets=tuple(spec.get("targets", default.targets if default else ("integration",))),
    )


def _pattern(config: Config, keys: tuple[str, ...], text: Any) -> re.Pattern[str] | None:
    if text is None:
        return None
    try:
        return re.compile(str(text))
    except re.error as exc:
        raise config.error(
            keys,
            f"{text!r} is not a regular expression ({exc})",
            "write a Python regular expression.",
        ) from None
