"""version-guard: PyTorch / CUDA / cuDNN / Python pins that agree everywhere, checked on every PR."""

from __future__ import annotations

from mlops_actions.version_guard.rules import RULES, Finding, Rule, Settings, evaluate

__all__ = ["RULES", "Finding", "Rule", "Settings", "evaluate"]
