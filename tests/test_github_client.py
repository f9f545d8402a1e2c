"""The GitHub client against the API double: retries, backoff, and one-line refusals."""

from __future__ import annotations

import socket
import time

import pytest
import requests
from github import Github, GithubException, RateLimitExceededException
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError

from mlops_actions.errors import ExitCode, GitHubError, UsageError
from mlops_actions.github_client import (
    DEFAULT_API_URL,
    ClientOptions,
    _never_sent,
    api_call,
    connect,
    options_from_context,
    retry_wait,
    send_once,
    split_repository,
    wait_too_long,
)
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
    repo_double.faults.delay(2.0, method="GET", path="/repos/acme/trainer/labels/*", times=10)
    repo = client(repo_double, timeout=1.0, retries=2).get_repo("acme/trainer")
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


# -- rate limits as GitHub documents them (the clock and the sleep are injected) ----------------

NOW = 1_900_000_000.0


def label_color(gh: Github) -> str:
    return str(gh.get_repo("acme/trainer").get_label("task:training").color)


def recorded_client(double: GitHubDouble, **overrides: float) -> tuple[Github, list[float]]:
    slept: list[float] = []
    options = ClientOptions(
        api_url=double.url,
        **{**FAST, "max_wait": 300.0, **overrides},  # type: ignore[arg-type]
        clock=lambda: NOW,
        sleep=slept.append,
    )
    return connect("test-token", options), slept


def test_reset_header_is_used_only_when_nothing_remains(repo_double: GitHubDouble) -> None:
    path = "/repos/acme/trainer/labels/*"
    reset = str(int(NOW) + 30)
    repo_double.faults.status(
        403,
        method="GET",
        path=path,
        headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset},
        body={"message": "API rate limit exceeded for installation."},
    )
    gh, slept = recorded_client(repo_double)
    with api_call("read a label", permission="issues: read"):
        assert label_color(gh) == "1d76db"
    assert slept == [31.0]  # until the reset, plus the second it happens in

    # Requests remain: the reset (an hour away) says nothing; a secondary limit waits a minute.
    repo_double.faults.status(
        429,
        method="GET",
        path=path,
        headers={"x-ratelimit-remaining": "4000", "x-ratelimit-reset": str(int(NOW) + 3600)},
    )
    gh, slept = recorded_client(repo_double)
    with api_call("read a label", permission="issues: read"):
        assert label_color(gh) == "1d76db"
    assert slept == [60.0]


def test_secondary_limit_waits_retry_after_or_at_least_a_minute_doubling(
    repo_double: GitHubDouble,
) -> None:
    path = "/repos/acme/trainer/labels/*"
    repo_double.faults.retry_after(7, method="GET", path=path)
    repo_double.faults.status(429, method="GET", path=path, times=2)
    gh, slept = recorded_client(repo_double)
    with api_call("read a label", permission="issues: read"):
        assert label_color(gh) == "1d76db"
    # retry-after as given; then a minute, doubled for each refusal before it.
    assert slept == [7.0, 120.0, 240.0]


def test_a_secondary_403_without_headers_is_told_by_its_message(repo_double: GitHubDouble) -> None:
    path = "/repos/acme/trainer/labels/*"
    repo_double.faults.status(
        403,
        method="GET",
        path=path,
        body={"message": "You have exceeded a secondary rate limit. Please wait."},
    )
    gh, slept = recorded_client(repo_double)
    with api_call("read a label", permission="issues: read"):
        assert label_color(gh) == "1d76db"
    assert slept == [60.0]


def test_rate_limited_posts_are_retried_since_nothing_happened(repo_double: GitHubDouble) -> None:
    repo_double.faults.status(429, method="POST", path="/repos/acme/trainer/labels")
    gh, slept = recorded_client(repo_double)
    with api_call("create a label", permission="issues: write"):
        gh.get_repo("acme/trainer").create_label("gpu:required", "b60205")
    assert slept == [60.0]
    assert repo_double.log.count("POST", "/repos/acme/trainer/labels") == 2
    assert "gpu:required" in repo_double.state.repo("acme/trainer").label_names()


def test_a_5xx_on_a_post_is_not_resent_by_the_client(repo_double: GitHubDouble) -> None:
    repo_double.faults.status(502, method="POST", path="/repos/acme/trainer/labels")
    gh, slept = recorded_client(repo_double)
    with pytest.raises(GitHubError) as caught, api_call("create", permission="issues: write"):
        gh.get_repo("acme/trainer").create_label("gpu:required", "b60205")
    assert caught.value.ambiguous  # the caller must look before writing again
    assert slept == []
    assert repo_double.log.count("POST", "/repos/acme/trainer/labels") == 1


def test_a_dropped_post_is_not_resent_by_the_client(repo_double: GitHubDouble) -> None:
    repo_double.faults.drop(method="POST", path="/repos/acme/trainer/labels")
    gh, _ = recorded_client(repo_double)
    with pytest.raises(GitHubError) as caught, api_call("create", permission="issues: write"):
        gh.get_repo("acme/trainer").create_label("gpu:required", "b60205")
    assert caught.value.ambiguous
    assert repo_double.log.count("POST", "/repos/acme/trainer/labels") == 1


def test_a_refused_connection_is_not_ambiguous() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    options = ClientOptions(api_url=f"http://127.0.0.1:{port}", retries=1, backoff=0.0)
    with pytest.raises(GitHubError) as caught, api_call("create", permission="issues: write"):
        connect("t", options).get_repo("a/b").create_label("x", "ffffff")
    assert not caught.value.ambiguous
    assert caught.value.one_line() == (
        "create: cannot reach the GitHub API (ConnectionError). Fix: check GITHUB_API_URL and "
        "the network; the call was retried."
    )


def test_a_wait_longer_than_the_job_affords_fails_saying_when_to_retry(
    repo_double: GitHubDouble,
) -> None:
    repo_double.faults.status(
        403,
        method="GET",
        path="/repos/acme/trainer/labels/*",
        headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW) + 1800)},
    )
    gh, slept = recorded_client(repo_double, max_wait=120.0)
    with pytest.raises(GitHubError) as caught, api_call("read", permission="issues: read"):
        assert label_color(gh) == "1d76db"
    line = caught.value.one_line()
    assert slept == []
    assert "\n" not in line
    assert "wait 1801s (until 2030-03-17 18:16:41 UTC)" in line
    assert "re-run the job after 2030-03-17 18:16:41 UTC" in line


def test_a_plain_403_is_a_permission_refusal_not_a_wait(repo_double: GitHubDouble) -> None:
    repo_double.faults.status(
        403,
        method="GET",
        path="/repos/acme/trainer/labels/*",
        body={"message": "Resource not accessible by integration"},
    )
    gh, slept = recorded_client(repo_double)
    with pytest.raises(GitHubError, match="lacks permission"), api_call("r", permission="x: read"):
        assert label_color(gh) == "1d76db"
    assert slept == []
    assert repo_double.log.count("GET", "/repos/acme/trainer/labels/*") == 1


# -- the decisions, as pure functions -------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "headers", "message", "earlier", "wait"),
    [
        (429, {"Retry-After": "7"}, "", 0, 7.0),
        (403, {"retry-after": "0"}, "", 3, 0.0),
        (403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW) + 10)}, "", 0, 11.0),
        (403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW) - 10)}, "", 0, 1.0),
        (429, {"x-ratelimit-remaining": "0"}, "", 0, 60.0),  # no reset: a minute
        (429, {"x-ratelimit-remaining": "12", "x-ratelimit-reset": str(int(NOW) + 9)}, "", 0, 60.0),
        (429, {}, "", 1, 120.0),
        (429, {"Retry-After": "soon"}, "", 0, 60.0),  # unreadable: as without it
        (403, {}, "You have exceeded a secondary rate limit", 0, 60.0),
        (403, {}, "Resource not accessible by integration", 0, None),
        (403, {"x-ratelimit-remaining": "5"}, "Must have admin rights", 0, None),
        (500, {"Retry-After": "5"}, "", 0, None),
        (404, {}, "rate limit", 0, None),
    ],
)
def test_retry_wait(
    status: int, headers: dict[str, str], message: str, earlier: int, wait: float | None
) -> None:
    assert retry_wait(status, headers, message, NOW, earlier) == wait


def test_wait_too_long_names_the_time_to_retry() -> None:
    error = wait_too_long(61.4, 60.0, NOW)
    assert error.one_line() == (
        "GitHub's rate limit asks to wait 61s (until 2030-03-17 17:47:41 UTC), longer than the "
        "60s this step waits. Fix: re-run the job after 2030-03-17 17:47:41 UTC, or use a token "
        "with a higher rate limit."
    )
    assert error.exit_code == ExitCode.GITHUB


def test_options_from_the_workflow_context() -> None:
    assert options_from_context({}) == ClientOptions(api_url=DEFAULT_API_URL, write_interval=1.0)
    ghes = options_from_context(
        {"GITHUB_API_URL": "https://ghe.example/api/v3", "MLOPS_ACTIONS_WRITE_INTERVAL": " 0 "}
    )
    assert (ghes.api_url, ghes.write_interval) == ("https://ghe.example/api/v3", 0.0)
    assert options_from_context({"MLOPS_ACTIONS_WRITE_INTERVAL": "-3"}).write_interval == 0.0
    assert options_from_context({"MLOPS_ACTIONS_WRITE_INTERVAL": "2.5"}).write_interval == 2.5
    with pytest.raises(UsageError) as caught:
        options_from_context({"MLOPS_ACTIONS_WRITE_INTERVAL": "fast"})
    assert caught.value.one_line() == (
        "MLOPS_ACTIONS_WRITE_INTERVAL='fast' is not a number of seconds. Fix: set it to a number "
        "such as 1 or 0, or unset it."
    )


@pytest.mark.parametrize(
    ("status", "data", "line", "ambiguous"),
    [
        (
            401,
            {"message": "Bad credentials"},
            "x: the token was rejected (401 Bad credentials). Fix: pass a valid token (the default "
            "`${{ github.token }}` works inside workflows).",
            False,
        ),
        (
            404,
            {"message": "Resource not accessible by integration"},
            "x: the token lacks permission (403 Resource not accessible by integration). Fix: add "
            "`issues: write` to the workflow's or job's `permissions:`.",
            False,
        ),
        (
            404,
            {"message": "Not Found"},
            "x: not found (404 Not Found). Fix: check the repository and names; a token without "
            "`issues: write` also sees 404 for private repositories.",
            False,
        ),
        (
            422,
            {"message": "Validation Failed", "errors": [{"code": "already_exists"}, "bad"]},
            "x: GitHub refused the request (422 Validation Failed: already_exists; bad). Fix: see "
            "the message; the request conflicts with existing data.",
            False,
        ),
        (
            502,
            "Bad Gateway",
            "x: GitHub answered 502 Bad Gateway after retries. Fix: re-run the job; if it "
            "persists, check https://www.githubstatus.com.",
            True,
        ),
        (500, {}, "x: GitHub answered 500 no message after retries", True),
    ],
)
def test_refusals_are_one_line_with_the_fix(
    status: int, data: object, line: str, ambiguous: bool
) -> None:
    with pytest.raises(GitHubError) as caught, api_call("x", permission="issues: write"):
        raise GithubException(status, data, {})
    assert caught.value.one_line().startswith(line)
    assert caught.value.ambiguous is ambiguous


def test_an_exhausted_rate_limit_is_one_line() -> None:
    with pytest.raises(GitHubError) as caught, api_call("x", permission="issues: read"):
        raise RateLimitExceededException(403, {"message": "API rate limit exceeded"}, {})
    assert caught.value.one_line() == (
        "x: GitHub rate limit exhausted (API rate limit exceeded). Fix: re-run later or use a "
        "token with a higher limit."
    )


@pytest.mark.parametrize("name", ["acme", "acme/", "/trainer", "a/b/c", ""])
def test_split_repository_refuses_what_is_not_owner_name(name: str) -> None:
    with pytest.raises(UsageError, match="is not of the form owner/name"):
        split_repository(name)


def test_split_repository() -> None:
    assert split_repository("acme/trainer") == ("acme", "trainer")


def test_what_counts_as_never_sent() -> None:
    refused = NewConnectionError(None, "Failed to establish a new connection: refused")  # type: ignore[arg-type]
    assert _never_sent(requests.exceptions.ConnectionError(MaxRetryError(None, "/x", refused)))  # type: ignore[arg-type]
    assert _never_sent(requests.exceptions.ConnectTimeout())
    assert _never_sent(OSError(ConnectionRefusedError()))
    try:
        try:
            raise ConnectionRefusedError
        except ConnectionRefusedError:
            raise OSError("wrapped") from None
    except OSError as wrapped:
        wrapped.__context__ = ConnectionRefusedError()
        assert _never_sent(wrapped)
    reset = ProtocolError("Connection aborted.", ConnectionResetError())
    assert not _never_sent(requests.exceptions.ConnectionError(reset))
    assert not _never_sent(requests.exceptions.ReadTimeout())


def test_a_403_with_retry_after_waits_whatever_its_message(repo_double: GitHubDouble) -> None:
    repo_double.faults.status(
        403,
        method="GET",
        path="/repos/acme/trainer/labels/*",
        headers={"Retry-After": "3"},
        body={"message": "Forbidden"},
    )
    gh, slept = recorded_client(repo_double)
    with api_call("read a label", permission="issues: read"):
        assert label_color(gh) == "1d76db"
    assert slept == [3.0]


def test_a_403_with_a_plain_text_rate_limit_body_waits(repo_double: GitHubDouble) -> None:
    repo_double.faults.status(
        403,
        method="GET",
        path="/repos/acme/trainer/labels/*",
        body="You have exceeded a secondary rate limit.",
    )
    gh, slept = recorded_client(repo_double)
    with api_call("read a label", permission="issues: read"):
        assert label_color(gh) == "1d76db"
    assert slept == [60.0]


def test_the_retry_time_is_said_in_utc_whatever_the_local_zone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    try:
        assert "until 2030-03-17 17:47:41 UTC" in wait_too_long(61.0, 60.0, NOW).message
    finally:
        monkeypatch.undo()
        time.tzset()


def test_split_repository_says_how_to_fix_it() -> None:
    with pytest.raises(UsageError) as caught:
        split_repository("acme")
    assert caught.value.one_line() == (
        "input `repository`: 'acme' is not of the form owner/name. Fix: give input `repository` "
        "as owner/name (default: the workflow's repository)."
    )


def test_a_500_on_a_read_is_retried(repo_double: GitHubDouble) -> None:
    repo_double.faults.status(500, method="GET", path="/repos/acme/trainer/labels/*")
    gh, _ = recorded_client(repo_double)
    with api_call("read a label", permission="issues: read"):
        assert label_color(gh) == "1d76db"
    assert label_gets(repo_double) == 2


def test_a_403_that_is_no_rate_limit_keeps_its_status(repo_double: GitHubDouble) -> None:
    repo_double.faults.status(
        403,
        method="GET",
        path="/repos/acme/trainer/labels/*",
        body={"message": "Must have admin rights to Repository."},
    )
    gh, slept = recorded_client(repo_double)
    with pytest.raises(GitHubError) as caught, api_call("r", permission="x: read"):
        assert label_color(gh) == "1d76db"
    assert caught.value.one_line().startswith(
        "r: the token lacks permission (403 Must have admin rights to Repository.)"
    )
    assert slept == []


# -- what a refusal's line quotes from GitHub's answer ----------------------------------------


def refusal_line(double: GitHubDouble, status: int, body: object) -> str:
    double.faults.status(status, method="POST", path="/repos/acme/trainer/labels", body=body)
    gh, _ = recorded_client(double)
    with pytest.raises(GitHubError) as caught, api_call("create", permission="issues: write"):
        gh.get_repo("acme/trainer").create_label("gpu:required", "b60205")
    return caught.value.message


def test_a_validation_refusal_quotes_each_error_by_code_else_message(
    repo_double: GitHubDouble,
) -> None:
    body = {
        "message": "Validation Failed",
        "errors": [
            {"resource": "Label", "field": "name", "code": "already_exists"},
            {"resource": "Label", "field": "color", "message": "color is not a hex code"},
        ],
    }
    assert refusal_line(repo_double, 422, body) == (
        "create: GitHub refused the request "
        "(422 Validation Failed: already_exists; color is not a hex code)"
    )


def test_a_refusal_with_errors_but_no_message_quotes_the_errors_alone(
    repo_double: GitHubDouble,
) -> None:
    body = {"errors": [{"resource": "Label", "code": "missing_field"}]}
    assert refusal_line(repo_double, 422, body) == (
        "create: GitHub refused the request (422 missing_field)"
    )


def test_an_empty_error_list_adds_nothing_to_the_message(repo_double: GitHubDouble) -> None:
    body = {"message": "Validation Failed", "errors": []}
    assert refusal_line(repo_double, 422, body) == (
        "create: GitHub refused the request (422 Validation Failed)"
    )


def test_an_answer_without_a_body_says_there_was_no_message(repo_double: GitHubDouble) -> None:
    assert refusal_line(repo_double, 502, "") == (
        "create: GitHub answered 502 no message after retries"
    )


def test_a_chain_of_causes_that_loops_is_walked_to_an_end() -> None:
    first, second = OSError("reset"), OSError("again")
    first.__context__, second.__context__ = second, first
    assert not _never_sent(first)  # no refusal anywhere in the loop: the write may have landed
    deep: BaseException = ConnectionRefusedError()
    for depth in range(5):
        wrapper = OSError(f"level {depth}")
        wrapper.__context__ = deep
        deep = wrapper
    assert _never_sent(deep)


# -- a 403 is a rate limit or a refusal by what it says -------------------------------------------


def label_403(double: GitHubDouble, body: object, headers: dict[str, str] | None = None) -> None:
    double.faults.status(
        403, method="GET", path="/repos/acme/trainer/labels/*", body=body, headers=headers
    )


def test_a_403_with_an_unreadable_retry_after_is_told_by_its_message(
    repo_double: GitHubDouble,
) -> None:
    label_403(
        repo_double,
        {"message": "You have exceeded a secondary rate limit."},
        {"Retry-After": "soon"},
    )
    gh, slept = recorded_client(repo_double)
    with api_call("read a label", permission="issues: read"):
        assert label_color(gh) == "1d76db"
    assert slept == [60.0]

    label_403(
        repo_double, {"message": "Resource not accessible by integration"}, {"Retry-After": "soon"}
    )
    gh, slept = recorded_client(repo_double)
    with pytest.raises(GitHubError, match="lacks permission"), api_call("r", permission="x: read"):
        label_color(gh)
    assert slept == []


def refused_403_line(double: GitHubDouble, body: object) -> str:
    label_403(double, body)
    gh, slept = recorded_client(double)
    with pytest.raises(GitHubError) as caught, api_call("r", permission="issues: read"):
        label_color(gh)
    assert slept == []
    return caught.value.message


def test_a_403_without_a_body_is_a_permission_refusal(repo_double: GitHubDouble) -> None:
    assert refused_403_line(repo_double, "") == "r: the token lacks permission (403 no message)"


def test_a_403_whose_json_is_no_object_is_a_permission_refusal(repo_double: GitHubDouble) -> None:
    assert refused_403_line(repo_double, '"blocked by policy"') == (
        "r: the token lacks permission (403 blocked by policy)"
    )


def test_a_proxys_403_page_in_another_encoding_is_read_not_a_crash(
    repo_double: GitHubDouble,
) -> None:
    assert refused_403_line(repo_double, "<h1>Accès refusé</h1>".encode("latin-1")) == (
        "r: the token lacks permission (403 <h1>Acc\ufffds refus\ufffd</h1>)"
    )
    label_403(repo_double, b"secondary rate limit \xff")
    gh, slept = recorded_client(repo_double)
    with api_call("read a label", permission="issues: read"):
        assert label_color(gh) == "1d76db"
    assert slept == [60.0]


# -- how often and how long the client retries ------------------------------------------------


def test_a_read_is_retried_with_a_doubling_backoff(repo_double: GitHubDouble) -> None:
    repo_double.faults.status(503, method="GET", path="/repos/acme/trainer/labels/*", times=3)
    gh, slept = recorded_client(repo_double, backoff=0.5)
    with api_call("read a label", permission="issues: read"):
        assert label_color(gh) == "1d76db"
    assert slept == [0.0, 1.0, 2.0]  # urllib3 retries the first failure at once
    assert label_gets(repo_double) == 4


def test_every_kind_of_failure_counts_against_one_retry_budget(repo_double: GitHubDouble) -> None:
    path = "/repos/acme/trainer/labels/*"
    repo_double.faults.drop(method="GET", path=path)
    repo_double.faults.status(502, method="GET", path=path)
    repo_double.faults.drop(method="GET", path=path)
    gh, _ = recorded_client(repo_double, retries=2)
    with pytest.raises(GitHubError) as caught, api_call("read", permission="issues: read"):
        label_color(gh)
    assert "cannot reach the GitHub API" in caught.value.message
    assert label_gets(repo_double) == 3  # the first try and two retries, not two of each kind


def test_a_dropped_delete_is_not_resent_by_the_client(repo_double: GitHubDouble) -> None:
    label = "/repos/acme/trainer/labels/*"
    repo_double.faults.drop(method="DELETE", path=label)
    gh, _ = recorded_client(repo_double)
    with pytest.raises(GitHubError) as caught, api_call("delete", permission="issues: write"):
        gh.get_repo("acme/trainer").get_label("task:training").delete()
    assert caught.value.ambiguous
    assert repo_double.log.count("DELETE", label) == 1


def test_an_api_url_with_a_trailing_slash_works(repo_double: GitHubDouble) -> None:
    gh = connect("test-token", ClientOptions(api_url=repo_double.url + "/", **FAST))  # type: ignore[arg-type]
    assert gh.get_repo("acme/trainer").default_branch == "main"
    assert repo_double.log.count("GET", "/repos/acme/trainer") == 1


def test_a_wait_of_exactly_the_longest_allowed_is_slept_through(repo_double: GitHubDouble) -> None:
    repo_double.faults.retry_after(7, method="GET", path="/repos/acme/trainer/labels/*")
    gh, slept = recorded_client(repo_double, max_wait=7.0)
    with api_call("read a label", permission="issues: read"):
        assert label_color(gh) == "1d76db"
    assert slept == [7.0]


# -- one write, looked up after a lost answer ---------------------------------------------------


def create_label_once(gh: Github) -> object:
    repo = gh.get_repo("acme/trainer")

    def landed() -> object:
        return next((x for x in repo.get_labels() if x.name == "gpu:required"), None)

    return send_once(
        "create label",
        permission="issues: write",
        send=lambda: repo.create_label("gpu:required", "b60205"),
        landed=landed,
    )


REFUSED = {"message": "Resource not accessible by integration"}
REFUSAL_LINE = (
    "create label: the token lacks permission (403 Resource not accessible by integration). "
    "Fix: add `issues: write` to the workflow's or job's `permissions:`."
)


def test_a_refused_write_names_what_it_did_and_the_grant(repo_double: GitHubDouble) -> None:
    repo_double.faults.status(403, method="POST", path="/repos/acme/trainer/labels", body=REFUSED)
    gh, _ = recorded_client(repo_double)
    with pytest.raises(GitHubError) as caught:
        create_label_once(gh)
    assert caught.value.one_line() == REFUSAL_LINE
    assert repo_double.log.count("POST", "/repos/acme/trainer/labels") == 1


def test_a_write_sent_again_after_a_lost_answer_is_explained_the_same(
    repo_double: GitHubDouble,
) -> None:
    labels = "/repos/acme/trainer/labels"
    repo_double.faults.status(502, method="POST", path=labels)  # lost, and nothing landed
    repo_double.faults.status(403, method="POST", path=labels, body=REFUSED)
    gh, _ = recorded_client(repo_double)
    with pytest.raises(GitHubError) as caught:
        create_label_once(gh)
    assert caught.value.one_line() == REFUSAL_LINE
    assert repo_double.log.count("POST", labels) == 2


def test_a_missing_token_says_where_to_give_one() -> None:
    with pytest.raises(UsageError) as caught:
        connect("", ClientOptions())
    assert caught.value.one_line() == (
        "input `token`: no GitHub token given. Fix: give input `token` (in a workflow the "
        "default `${{ github.token }}`) or set GITHUB_TOKEN."
    )


# -- what the client sends with every request ---------------------------------------------------


def test_requests_carry_the_token(repo_double: GitHubDouble) -> None:
    repo_double.state.add_user("release-bot[bot]")
    repo_double.state.add_token("ghs_release", "release-bot[bot]")
    options = ClientOptions(api_url=repo_double.url, **FAST)  # type: ignore[arg-type]
    issue = connect("ghs_release", options).get_repo("acme/trainer").create_issue(title="t")
    assert issue.user.login == "release-bot[bot]"  # not the double's anonymous viewer


def test_a_repository_object_costs_no_request_until_it_is_read(repo_double: GitHubDouble) -> None:
    gh, _ = recorded_client(repo_double)
    names = [label.name for label in gh.get_repo("acme/trainer").get_labels()]
    assert names == ["task:training"]
    assert repo_double.log.count("GET", "/repos/acme/trainer") == 0
    assert repo_double.log.count("GET", "/repos/acme/trainer/labels") == 1


def test_writes_are_spaced_by_the_write_interval(repo_double: GitHubDouble) -> None:
    # 2 s: longer than PyGithub's own default (1 s), so the option is seen to be passed on.
    gh, _ = recorded_client(repo_double, write_interval=2.0)
    repo = gh.get_repo("acme/trainer")
    started = time.monotonic()
    repo.create_label("a", "ffffff")
    repo.create_label("b", "ffffff")
    assert time.monotonic() - started >= 2.0  # the second waited for the interval
