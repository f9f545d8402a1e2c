"""Pin scanners: repository files → ``Pin`` records, and their grouping into environments."""

from __future__ import annotations

from mlops_actions.pins.environments import environments, group_environments
from mlops_actions.pins.model import (
    COMPONENTS,
    Component,
    Environment,
    FileScan,
    How,
    Link,
    Pin,
    PinGroup,
    ScanError,
    ScanResult,
    Source,
)
from mlops_actions.pins.scan import classify, find_candidates, scan_repo

__all__ = [
    "COMPONENTS",
    "Component",
    "Environment",
    "FileScan",
    "How",
    "Link",
    "Pin",
    "PinGroup",
    "ScanError",
    "ScanResult",
    "Source",
    "classify",
    "environments",
    "find_candidates",
    "group_environments",
    "scan_repo",
]
