"""The install command that fixes the torch stack."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlops_actions.env_verify.checks.expectations import OPERATORS
from mlops_actions.env_verify.checks.facts import torch_variant


def pip_fix(package: str, want: str, facts: Mapping[str, Any]) -> str:
    spec = want if want.startswith(OPERATORS) else f"=={want}"
    requirement = f"{package}{spec}"
    variant = torch_variant(facts)
    index = ""
    if package in ("torch", "torchvision", "torchaudio") and variant:
        index = f" --index-url https://download.pytorch.org/whl/{variant}"
    return (
        f"install it ({pip_install(requirement)}{index}) or update the expectation if the "
        "environment is right and the pin is stale."
    )


def pip_install(requirement: str) -> str:
    return f'pip install "{requirement}"'
