"""pytest plugin: the `github_double` fixture.

Each test gets a fresh server and state; the parsed OpenAPI description is shared by all tests
in the process. A test fails at teardown when the double recorded a violation (a request or a
response that GitHub's description rejects, an endpoint the double lacks, or a crash in it).
Tests that provoke violations on purpose collect them with `double.take_violations()`.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .server import GitHubDouble


@pytest.fixture
def github_double() -> Iterator[GitHubDouble]:
    double = GitHubDouble().start()
    try:
        yield double
    finally:
        double.stop()
    violations = double.take_violations()
    if violations:
        listed = "\n".join(f"  - {v}" for v in violations)
        pytest.fail(
            f"the GitHub API double recorded {len(violations)} violation(s):\n{listed}",
            pytrace=False,
        )
