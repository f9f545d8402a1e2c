"""Running version-guard's rules over the fixture repositories, and picking findings out."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from mlops_actions.config import parse_config
from mlops_actions.pins import ScanResult, environments, scan_repo
from mlops_actions.version_guard.rules import (
    Finding,
    Settings,
    config_environments,
    evaluate,
    settings_from_config,
)

ROOT = Path(__file__).resolve().parents[2]
REPOS = ROOT / "tests" / "fixtures" / "repos"


@cache
def scanned(name: str) -> ScanResult:
    return scan_repo(REPOS / name)


def run(name: str, settings: Settings | None = None, yaml_text: str = "") -> list[Finding]:
    """Every finding for fixture repository ``name``, with an optional config text."""
    if yaml_text:
        settings = settings_from_config(parse_config(yaml_text, ".github/mlops.yml"))
    settings = settings or Settings()
    scan = scanned(name)
    envs = [*environments(scan), *config_environments(scan, settings)]
    return evaluate(scan, envs, settings)


def at(findings: list[Finding], rule_id: str) -> set[tuple[str | None, int | None]]:
    return {(f.file, f.line) for f in findings if f.rule_id == rule_id}


def of(findings: list[Finding], rule_id: str, file: str, line: int) -> list[Finding]:
    return [f for f in findings if (f.rule_id, f.file, f.line) == (rule_id, file, line)]
