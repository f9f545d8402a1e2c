"""A stateful GitHub REST API double for tests, validated against GitHub's OpenAPI description."""

from .faults import Entry, Fault, Faults, RequestLog
from .server import GitHubDouble, Violation, snapshot
from .state import SeedError, State

__all__ = [
    "Entry",
    "Fault",
    "Faults",
    "GitHubDouble",
    "RequestLog",
    "SeedError",
    "State",
    "Violation",
    "snapshot",
]
