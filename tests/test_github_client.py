"""The GitHub client against the API double: retries, backoff, and one-line refusals."""

from __future__ import annotations

import time

import pytest

from mlops_actions.errors import ExitCode, GitHubError
from mlops_actions.github_client import ClientOptions, api_call, connect
from tests.support.github_double.server import GitHubDouble

FAST = dict(timeout=2.0, retries=3, backoff=0.01, max_wait=5.0)


def client(double: GitHubDouble, **overrides: float):
    options = ClientOptions(api_url=double.url, **{**FAST, **overrides})  # type: ignore[arg-type]
    return connect("test-token", options)


@pytest.fixture
def repo_double(github_double: GitHubDouble) -> GitHubDouble:
    github_double.state.add_repo("acme/trainer")
    github_double.state.add_label("acme/trainer", "task:training", color="1d76db")
    return github_double


def label_gets(double: GitHubDouble) -> int:
    return double.log.count("GET", "/repos/acme/trainer/labels/*")


def test_502_then_200_is_retried(repo_double: GitHubDouble) -> None:
    repo_double.faults.status(502, method="GET", path="/repos/acme/trainer/labels/*", times=1)
    repo = client(repo_double).get_repo("acme/trainer")
    with api_call("read a label", permission="issues: read"):
        assert repo.get_label("task:training").color == "1d76db"
    assert label_gets(repo_double) == 2


def test_secondary_rate_limit_honours_retry_after(repo_double: GitHubDouble) -> None:
    repo_double.faults.retry_after(1, method="GET", path="/repos/acme/trainer/labels/*")
    repo = client(repo_double).get_repo("acme/trainer")
    started = time.monotonic()
    with api_call("read a label", permission="issues: read"):
        assert repo.get_label("task:training").color == "1d76db"
    assert time.monotonic() - started >= 0.9  # waited for Retry-After, not the tiny backoff
    assert label_gets(repo_double) == 2


def test_429_is_retried(repo_double: GitHubDouble) -> None:
    repo_double.faults.status(
        429, method="GET", path="/repos/acme/trainer/labels/*", headers={"Retry-After": "0"}
    )
    repo = client(repo_double).get_repo("acme/trainer")
    with api_call("read a label", permission="issues: read"):
        assert repo.get_label("task:training").color == "1d76db"
    assert label_gets(repo_double) == 2


def test_dropped_connection_is_retried(repo_double: GitHubDouble) -> None:
    repo_double.faults.drop(method="GET", path="/repos/acme/trainer/labels/*", times=2)
    repo = client(repo_double).get_repo("acme/trainer")
    with api_call("read a label", permission="issues: read"):
        assert repo.get_label("task:training").color == "1d76db"
    assert label_gets(repo_double) == 3


def test_timeouts_are_bounded_then_one_clear_error(repo_double: GitHubDouble) -> None:
    repo_double.faults.delay(3.0, method="GET", path="/repos/acme/trainer/labels/*", times=10)
    repo = client(repo_double, timeout=0.5, retries=2).get_repo("acme/trainer")
    started = time.monotonic()
    with pytest.raises(GitHubError) as caught, api_call("read a label", permission="issues: read"):
        assert repo.get_label("task:training").color == "1d76db"
    assert time.monotonic() - started < 10
    # The double logs a request when it answers, after its delay: wait for the stragglers.
    deadline = time.monotonic() + 6
    while label_gets(repo_double) < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert label_gets(repo_double) == 3  # the first try and two retries
    assert caught.value.exit_code == ExitCode.GITHUB
    assert caught.value.one_line().startswith("read a label: cannot reach the GitHub API")


def test_persistent_5xx_ends_in_one_line(repo_double: GitHubDouble) -> None:
    repo_double.faults.status(503, method="GET", path="/repos/acme/trainer/labels/*", times=10)
    repo = client(repo_double, retries=2).get_repo("acme/trainer")
    with pytest.raises(GitHubError) as caught, api_call("read a label", permission="issues: read"):
        assert repo.get_label("task:training").color == "1d76db"
    assert label_gets(repo_double) == 3
    assert "\n" not in caught.value.one_line()
    assert "503" in caught.value.one_line()


def test_rate_limit_wait_beyond_max_is_reported_not_slept(repo_double: GitHubDouble) -> None:
    repo_double.faults.retry_after(3600, method="GET", path="/repos/acme/trainer/labels/*")
    repo = client(repo_double).get_repo("acme/trainer")
    started = time.monotonic()
    with pytest.raises(GitHubError, match="wait 3600s"), api_call("x", permission="issues: read"):
        assert repo.get_label("task:training").color == "1d76db"
    assert time.monotonic() - started < 5


def test_permission_refusal_names_the_grant(repo_double: GitHubDouble) -> None:
    repo_double.faults.status(
        403,
        method="POST",
        path="/repos/acme/trainer/labels",
        body={
            "message": "Resource not accessible by integration",
            "documentation_url": "https://docs.github.com/rest/issues/labels#create-a-label",
        },
    )
    repo = client(repo_double).get_repo("acme/trainer")
    with pytest.raises(GitHubError) as caught, api_call("create label", permission="issues: write"):
        repo.create_label("gpu:required", "b60205")
    line = caught.value.one_line()
    assert line == (
        "create label: the token lacks permission (403 Resource not accessible by integration). "
        "Fix: add `issues: write` to the workflow's or job's `permissions:`."
    )
    assert repo_double.log.count("POST", "/repos/acme/trainer/labels") == 1  # not retried


def test_enterprise_base_url_is_used(repo_double: GitHubDouble) -> None:
    gh = client(repo_double)
    assert gh.get_repo("acme/trainer").default_branch == "main"  # lazy: fetched on first use
    assert repo_double.log.count("GET", "/repos/acme/trainer") == 1


def test_missing_token_is_a_usage_error() -> None:
    with pytest.raises(Exception, match="no GitHub token"):
        connect("", ClientOptions())
