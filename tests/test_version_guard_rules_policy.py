"""VG002 torch-not-exact and VG010 policy: what deployable files must pin, and the stack the
config declares."""

from __future__ import annotations

import pytest

from mlops_actions.config import parse_config
from mlops_actions.errors import ConfigError
from mlops_actions.version_guard.rules import (
    Settings,
    is_deployable,
    settings_from_config,
)
from tests.support.version_guard import at, of, run


def test_vg002_ranges_in_deployable_files() -> None:
    findings = run("vg-floating")
    assert at(findings, "VG002") == {
        ("requirements.txt", 1),
        ("requirements.txt", 2),
        ("docker/Dockerfile", 4),
    }


def test_vg002_library_pyproject_may_use_ranges() -> None:
    assert ("pyproject.toml", 4) not in at(run("vg-floating"), "VG002")
    assert at(run("vg-consistent"), "VG002") == set()


def test_vg002_config_overrides_file_roles() -> None:
    as_library = run("vg-floating", yaml_text="version-guard:\n  library: [requirements.txt]\n")
    assert ("requirements.txt", 1) not in at(as_library, "VG002")
    as_app = run("vg-floating", yaml_text="version-guard:\n  deployable: [pyproject.toml]\n")
    assert ("pyproject.toml", 4) in at(as_app, "VG002")


def test_deployable_defaults() -> None:
    s = Settings()
    assert is_deployable("requirements/train.txt", s, "requirements")
    assert is_deployable("docker/train.Dockerfile", s, "dockerfile")
    assert not is_deployable("requirements.in", s, "requirements")
    assert not is_deployable("pkg/pyproject.toml", s, "pyproject")
    assert not is_deployable(".github/workflows/ci.yml", s, "workflow")


def test_vg010_declared_versions() -> None:
    findings = run("vg-consistent", yaml_text='environment:\n  torch: "2.5"\n  cuda: "12.4"\n')
    lines = at(findings, "VG010")
    assert ("requirements/train.txt", 4) in lines
    assert ("docker/train.Dockerfile", 3) in lines
    # matrix values are exempt, whatever they say
    assert not any(f == ".github/workflows/train.yml" for f, _ in lines)
    (req,) = [f for f in of(findings, "VG010", "requirements/train.txt", 4) if "torch" in f.message]
    assert "torch: 2.5" in req.message and ".github/mlops.yml" in req.message


def test_vg010_matching_policy_passes() -> None:
    text = 'environment:\n  torch: ">=2.3,<2.5"\n  python: "3.11"\n'
    assert at(run("vg-consistent", yaml_text=text), "VG010") == set()


def test_vg010_bad_declaration_is_a_config_error_at_the_key() -> None:
    with pytest.raises(ConfigError) as info:
        settings_from_config(parse_config('environment:\n  torch: "two"\n', ".github/mlops.yml"))
    assert info.value.line == 2 and "environment.torch" in info.value.message
