"""The GitHub API client: one place that builds PyGithub, retries, and explains refusals.

Built from ``GITHUB_API_URL`` so GitHub Enterprise Server works. Retries follow what GitHub
documents (see :func:`retry_wait`): reads are retried on 5xx and dropped connections; every
method is retried on a rate limit and when the connection was refused, since GitHub did nothing
then; a write whose answer was lost (5xx, timeout, connection reset after sending) is never sent
again blindly: :func:`send_once` first looks whether it landed. A wait longer than ``max_wait``
is not slept through but reported in one line saying when to retry. Every other refusal becomes
a :class:`GitHubError` whose one line says which ``permissions:`` grant to add.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, TypeVar

import github
import requests
from github import Auth, Github, GithubException
from urllib3.exceptions import MaxRetryError, NewConnectionError
from urllib3.util.retry import Retry

from mlops_actions.errors import GitHubError, UsageError

DEFAULT_API_URL = "https://api.github.com"
PER_PAGE = 100
# Methods that may be sent again after a lost answer: they change nothing.
SAFE_METHODS = frozenset({"GET", "HEAD"})
# "Otherwise, wait for at least one minute before retrying" (GitHub's REST rate-limit docs).
SECONDARY_MIN_WAIT = 60.0

T = TypeVar("T")


@dataclass(frozen=True)
class ClientOptions:
    api_url: str = DEFAULT_API_URL
    timeout: float = 30.0
    retries: int = 4
    backoff: float = 1.0  # seconds; doubled each try
    max_wait: float = 120.0  # the longest rate-limit wait that is slept through
    # Lazy objects are fetched on first attribute use, so `get_repo(...).get_labels()` costs one
    # request, not two: request budgets depend on it.
    lazy: bool = True
    # GitHub asks integrations to space out content-creating requests; GHES admins may lift it.
    write_interval: float = 1.0
    # The clock and the sleep of rate-limit waits: tests pass their own so nothing sleeps long.
    clock: Callable[[], float] = field(default=time.time, compare=False)
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)


def retry_wait(
    status: int, headers: Mapping[str, str], message: str, now: float, earlier: int
) -> float | None:
    """Seconds GitHub asks to wait before retrying a refused request; None: not a rate limit.

    As GitHub documents it: ``retry-after`` when present; else, when ``x-ratelimit-remaining``
    is 0, until ``x-ratelimit-reset``; else (a secondary limit) at least a minute, doubling with
    each further refusal (``earlier`` rate-limit retries so far). A 403 is a rate limit only
    with those headers or a rate-limit message; otherwise it is a permission refusal.
    """
    if status not in (403, 429):
        return None
    lowered = {k.lower(): v.strip() for k, v in headers.items()}
    retry_after = lowered.get("retry-after", "")
    if retry_after.isdigit():
        return float(retry_after)
    if lowered.get("x-ratelimit-remaining") == "0":
        reset = lowered.get("x-ratelimit-reset", "")
        if reset.isdigit():
            # +1: the reset happens somewhere within that second.
            return max(0.0, int(reset) - now) + 1.0
        return SECONDARY_MIN_WAIT
    if status == 429 or "rate limit" in message.lower():
        return SECONDARY_MIN_WAIT * float(2 ** max(0, earlier))
    return None


def wait_too_long(wait: float, max_wait: float, now: float) -> GitHubError:
    when = datetime.fromtimestamp(now + wait, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    return GitHubError(
        f"GitHub's rate limit asks to wait {wait:.0f}s (until {when}), longer than the "
        f"{max_wait:.0f}s this step waits",
        fix=f"re-run the job after {when}, or use a token with a higher rate limit.",
    )


class _Retry(Retry):
    """urllib3's retry counters with :func:`retry_wait` deciding what is retried and how long."""

    def __init__(self, *, options: ClientOptions | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.options = options or ClientOptions()
        self.wait: float | None = None  # the rate-limit wait before the next try

    def new(self, **kwargs: Any) -> _Retry:
        kwargs.setdefault("options", self.options)
        return super().new(**kwargs)

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        if status_code in (403, 429):
            return True  # increment() reads the answer and decides
        return status_code >= 500 and method.upper() in SAFE_METHODS

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: Any = None,
        error: Exception | None = None,
        _pool: Any = None,
        _stacktrace: Any = None,
    ) -> _Retry:
        wait = self._rate_limit_wait(response)
        retry = super().increment(method, url, response, error, _pool, _stacktrace)
        retry.wait = wait
        return retry

    def _rate_limit_wait(self, response: Any) -> float | None:
        """The wait a rate-limited answer asks for; None for any other answer or error.

        A 403 is told apart by its headers and message; reading the body consumes it, so a 403
        that is no rate limit is raised here as PyGithub would have raised it.
        """
        if response is None or response.status not in (403, 429):
            return None
        headers = dict(response.headers)
        data: Any = None
        message = ""  # a 429 is a rate limit whatever it says
        if response.status == 403:
            body = response.data or b""
            try:
                data = json.loads(body)
            except ValueError:
                data = {"message": body.decode(errors="replace")}
            message = str(data.get("message", "")) if isinstance(data, dict) else ""
        now = self.options.clock()
        wait = retry_wait(response.status, headers, message, now, len(self.history))
        if wait is None:  # a 403 that is no rate limit: a permission refusal
            raise GithubException(403, data, headers)
        if wait > self.options.max_wait:
            raise wait_too_long(wait, self.options.max_wait, now)
        return wait

    def sleep(self, response: Any = None) -> None:
        self.options.sleep(self.wait if self.wait is not None else self.get_backoff_time())


def connect(token: str, options: ClientOptions) -> Github:
    """A PyGithub client for ``options.api_url`` authenticated with ``token``."""
    if not token:
        raise UsageError(
            "no GitHub token given",
            fix="give {input} (in a workflow the default `${{ github.token }}`) or set "
            "GITHUB_TOKEN.",
            input="token",
        )
    retry = _Retry(
        total=options.retries,  # one budget for every kind of failure
        backoff_factor=options.backoff,
        # Read errors (a timeout or reset after sending) are retried for these methods only.
        allowed_methods=SAFE_METHODS,
        raise_on_status=False,
        options=options,
    )
    return Github(
        base_url=options.api_url.rstrip("/"),
        auth=Auth.Token(token),
        timeout=int(max(1, options.timeout)),
        per_page=PER_PAGE,
        retry=retry,
        lazy=options.lazy,
        seconds_between_requests=None,
        seconds_between_writes=options.write_interval or None,
    )


def options_from_context(github_facts: Mapping[str, str]) -> ClientOptions:
    """Client options for the workflow's API: ``GITHUB_API_URL`` (GitHub Enterprise Server too)
    and ``MLOPS_ACTIONS_WRITE_INTERVAL`` (seconds between writes; 0 turns the spacing off)."""
    interval = github_facts.get("MLOPS_ACTIONS_WRITE_INTERVAL", "")
    try:
        write_interval = float(interval) if interval.strip() else 1.0
    except ValueError:
        raise UsageError(
            f"MLOPS_ACTIONS_WRITE_INTERVAL={interval!r} is not a number of seconds",
            fix="set it to a number such as 1 or 0, or unset it.",
        ) from None
    return ClientOptions(
        api_url=github_facts.get("GITHUB_API_URL") or DEFAULT_API_URL,
        write_interval=max(0.0, write_interval),
    )


# Which permission each kind of call needs, for the message when it is refused.
PERMISSIONS = {
    "contents": "contents: write",
    "issues": "issues: write",
    "pull-requests": "pull-requests: write",
    "actions": "actions: write",
    "metadata": "contents: read",
}


@contextmanager
def api_call(doing: str, *, permission: str) -> Iterator[None]:
    """Turn a failed API call into one line: what we were doing, why it failed, the fix.

    ``permission`` is the workflow ``permissions:`` grant the call needs, e.g. "issues: write".
    """
    try:
        yield
    except GitHubError:
        raise
    except github.RateLimitExceededException as exc:
        raise GitHubError(
            f"{doing}: GitHub rate limit exhausted ({_reason(exc)})",
            fix="re-run later or use a token with a higher limit.",
        ) from None
    except GithubException as exc:
        status = exc.status
        reason = _reason(exc)
        if status in (401,):
            raise GitHubError(
                f"{doing}: the token was rejected (401 {reason})",
                fix="pass a valid token (the default `${{ github.token }}` works inside workflows).",
            ) from None
        if status == 403 or (status == 404 and "integration" in reason.lower()):
            raise GitHubError(
                f"{doing}: the token lacks permission (403 {reason})",
                fix=f"add `{permission}` to the workflow's or job's `permissions:`.",
            ) from None
        if status == 404:
            raise GitHubError(
                f"{doing}: not found (404 {reason})",
                fix=f"check the repository and names; a token without `{permission}` "
                "also sees 404 for private repositories.",
            ) from None
        if status == 422:
            raise GitHubError(
                f"{doing}: GitHub refused the request (422 {reason})",
                fix="see the message; the request conflicts with existing data.",
            ) from None
        raise GitHubError(
            f"{doing}: GitHub answered {status} {reason} after retries",
            fix="re-run the job; if it persists, check https://www.githubstatus.com.",
            ambiguous=status >= 500,
        ) from None
    except (requests.exceptions.RequestException, MaxRetryError, ConnectionError) as exc:
        raise GitHubError(
            f"{doing}: cannot reach the GitHub API ({type(exc).__name__})",
            fix="check GITHUB_API_URL and the network; the call was retried.",
            ambiguous=not _never_sent(exc),
        ) from None


def _never_sent(exc: BaseException) -> bool:
    """Whether the request failed before reaching GitHub (refused, or no connection at all)."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    seen: BaseException | None = exc
    for _ in range(8):  # requests -> urllib3 MaxRetryError -> its reason
        if seen is None:
            return False
        if isinstance(seen, (NewConnectionError, ConnectionRefusedError)):
            return True
        inner = getattr(seen, "reason", None)
        if inner is None and seen.args and isinstance(seen.args[0], BaseException):
            inner = seen.args[0]
        seen = inner if isinstance(inner, BaseException) else seen.__context__
    return False


def send_once(
    doing: str, *, permission: str, send: Callable[[], T], landed: Callable[[], T | None]
) -> T:
    """Send one write; after a lost answer, look whether GitHub applied it before sending again.

    A 5xx, a timeout or a connection reset after sending leaves it open whether the write
    happened (GitHub may apply it and answer late). ``landed`` re-reads the state (the comment,
    the label, the release by tag, the tag ref) and returns what the write made, or None; only
    then is the write sent a second and last time.
    """
    try:
        with api_call(doing, permission=permission):
            return send()
    except GitHubError as exc:
        if not exc.ambiguous:
            raise
    found = landed()
    if found is not None:
        return found
    with api_call(doing, permission=permission):
        return send()


def _reason(exc: GithubException) -> str:
    data = exc.data
    if isinstance(data, dict):
        message = str(data.get("message", "")).strip()
        errors = data.get("errors")
        if isinstance(errors, list) and errors:
            details = "; ".join(
                str(e.get("code") or e.get("message") or e) if isinstance(e, dict) else str(e)
                for e in errors
            )
            message = f"{message}: {details}" if message else details
        return message or "no message"
    return str(data or "no message")


def split_repository(full_name: str) -> tuple[str, str]:
    owner, sep, name = full_name.partition("/")
    if not sep or not owner or not name or "/" in name:
        raise UsageError(
            f"{full_name!r} is not of the form owner/name",
            fix="give {input} as owner/name (default: the workflow's repository).",
            input="repository",
        )
    return owner, name
