"""The action folders against the commands they wire: same inputs, documented, passed by env."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlops_actions.cli import commands
from mlops_actions.runner import input_name

ROOT = Path(__file__).resolve().parents[1]
ACTIONS = ("env-verify", "version-guard", "label-dispatch", "milestone-release")


def load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def command_inputs(name: str) -> set[str]:
    (command,) = commands([name])
    return {input_name(f) for f in dataclasses.fields(command.inputs)}


@pytest.mark.parametrize("name", ACTIONS)
def test_composite_inputs_are_the_commands_inputs(name: str) -> None:
    action = load(ROOT / name / "action.yml")
    declared = set(action["inputs"])
    assert declared <= command_inputs(name) | {"python"}, declared - command_inputs(name)


@pytest.mark.parametrize("name", ACTIONS)
def test_composite_is_documented_and_wired_through_env(name: str) -> None:
    text = (ROOT / name / "action.yml").read_text(encoding="utf-8")
    action = yaml.safe_load(text)
    assert action["runs"]["using"] == "composite"
    assert action["branding"]["icon"] and action["branding"]["color"]
    for key, spec in action["inputs"].items():
        assert re.fullmatch(r"[a-z][a-z0-9-]*", key), key
        assert spec.get("description"), f"input {key} has no description"
        assert isinstance(spec.get("default"), str), f"input {key}: default must be a string"
    for key, spec in (action.get("outputs") or {}).items():
        assert spec.get("description"), f"output {key} has no description"
    env_names: set[str] = set()
    for step in action["runs"]["steps"]:
        if "run" in step:
            assert "${{" not in step["run"], f"{name}: expression inside run: {step['run']!r}"
        env_names |= set((step.get("env") or {}).keys())
    for key in action["inputs"]:
        wanted = "INPUT_" + key.upper().replace("-", "_")
        assert wanted in env_names or key == "python", f"{name}: input {key} never reaches {wanted}"


def test_root_action_is_generated_from_the_folders() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "root_action.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def test_root_action_takes_every_composite_input_and_output() -> None:
    root = load(ROOT / "action.yml")
    assert root["runs"] == {"using": "docker", "image": "Dockerfile"}
    for name in ACTIONS:
        action = load(ROOT / name / "action.yml")
        assert set(action["inputs"]) <= set(root["inputs"])
        assert set(action.get("outputs") or {}) <= set(root["outputs"])
    assert root["inputs"]["command"]["required"] is True


def test_dockerfile_base_image_is_a_build_argument() -> None:
    lines = (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines()
    assert "ARG BASE_IMAGE=python:3.12-slim" in lines
    assert "FROM ${BASE_IMAGE}" in lines
