"""The GitHub API client: one place that builds PyGithub, retries, and explains refusals.

Built from ``GITHUB_API_URL`` so GitHub Enterprise Server works. Retries are bounded: 5xx, 429
and secondary rate limits (403 with ``Retry-After``) and dropped connections are retried with
backoff; a wait longer than ``max_wait`` is not slept through but reported. Every other refusal
becomes a :class:`GitHubError` whose one line says which ``permissions:`` grant to add.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import github
import requests
from github import Auth, Github, GithubException
from github.GithubRetry import GithubRetry
from urllib3.exceptions import MaxRetryError

from mlops_actions.errors import GitHubError, UsageError

DEFAULT_API_URL = "https://api.github.com"
PER_PAGE = 100


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


class _Retry(GithubRetry):
    """GitHub's retry policy, plus 429s timed by ``x-ratelimit-reset`` when no Retry-After."""

    def get_retry_after(self, response: Any) -> float | None:
        retry_after = super().get_retry_after(response)
        if retry_after is not None:
            return float(retry_after)
        if getattr(response, "status", None) == 429:
            reset = response.headers.get("x-ratelimit-reset")
            if reset and reset.isdigit():
                return max(0.0, int(reset) - time.time()) + 1.0
        return None

    def sleep_for_retry(self, response: Any = None) -> bool:
        retry_after = self.get_retry_after(response) if response is not None else None
        if (
            retry_after is not None
            and self.max_rate_limit_wait is not None
            and retry_after > self.max_rate_limit_wait
        ):
            raise GitHubError(
                f"GitHub asked to wait {retry_after:.0f}s before retrying (rate limit), "
                f"longer than the {self.max_rate_limit_wait:.0f}s this step waits",
                fix="re-run the job later, or use a token with a higher rate limit.",
            )
        return bool(super().sleep_for_retry(response))


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
        total=options.retries,
        connect=options.retries,
        read=options.retries,
        status=options.retries,
        backoff_factor=options.backoff,
        status_forcelist=[429, *range(500, 600)],
        allowed_methods=frozenset({"GET", "POST", "PATCH", "PUT", "DELETE", "HEAD"}),
        respect_retry_after_header=True,
        secondary_rate_wait=options.backoff * 4,
        max_rate_limit_wait=options.max_wait,
        raise_on_status=False,
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
        ) from None
    except (requests.exceptions.RequestException, MaxRetryError, ConnectionError) as exc:
        raise GitHubError(
            f"{doing}: cannot reach the GitHub API ({type(exc).__name__})",
            fix="check GITHUB_API_URL and the network; the call was retried.",
        ) from None


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
