"""Fault injection and the request log."""

from __future__ import annotations

import fnmatch
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any

KINDS = ("status", "delay", "drop", "late")


@dataclass
class Fault:
    """What to do instead of (or before) answering a matching request.

    `kind` is "status" (answer `status` with `body` and `headers`; a str or bytes body is
    sent as it is, anything else as JSON), "delay" (wait `delay`
    seconds, then answer normally), "drop" (close the connection without a response) or
    "late" (apply the request, then answer it `delay` seconds late, or, without a delay, answer
    `status` instead: the write happened but the client cannot know).
    `path` is a glob over the request path without the query (`/repos/*/labels*`); `method`
    is an HTTP method or "*". Each fault applies to the next `times` matching requests.
    """

    kind: str
    method: str = "*"
    path: str = "*"
    times: int = 1
    status: int = 500
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0

    def matches(self, method: str, path: str) -> bool:
        return (
            self.method == "*" or self.method.upper() == method.upper()
        ) and fnmatch.fnmatchcase(path, self.path)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Fault:
        known = set(cls.__dataclass_fields__)
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown fault field(s): {', '.join(sorted(unknown))}")
        fault = cls(**data)
        if fault.kind not in KINDS:
            raise ValueError(f"fault kind must be one of {', '.join(KINDS)}, not {fault.kind!r}")
        return fault


class Faults:
    """A queue of faults; the first pending one that matches a request is used up."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: list[Fault] = []

    def add(self, fault: Fault) -> Fault:
        if fault.times < 1:
            raise ValueError("a fault must apply at least once (times >= 1)")
        with self._lock:
            self._pending.append(fault)
        return fault

    def status(
        self,
        status: int,
        *,
        method: str = "*",
        path: str = "*",
        times: int = 1,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Fault:
        """Answer `status` (GitHub-style error body unless `body` is given)."""
        return self.add(
            Fault(
                "status",
                method=method,
                path=path,
                times=times,
                status=status,
                body=body,
                headers=headers or {},
            )
        )

    def retry_after(
        self, seconds: int, *, status: int = 403, method: str = "*", path: str = "*", times: int = 1
    ) -> Fault:
        """A secondary rate limit: 403 (or 429) with `Retry-After`."""
        body = {
            "message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
            "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
        }
        return self.status(
            status,
            method=method,
            path=path,
            times=times,
            body=body,
            headers={"Retry-After": str(seconds)},
        )

    def rate_limited(
        self,
        reset_in: int,
        *,
        status: int = 403,
        method: str = "*",
        path: str = "*",
        times: int = 1,
    ) -> Fault:
        """The primary rate limit spent: remaining 0 until `reset_in` seconds from now."""
        body = {
            "message": "API rate limit exceeded for installation.",
            "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
        }
        headers = {
            "x-ratelimit-remaining": "0",
            "x-ratelimit-reset": str(int(time.time()) + reset_in),
        }
        return self.status(
            status, method=method, path=path, times=times, body=body, headers=headers
        )

    def delay(self, seconds: float, *, method: str = "*", path: str = "*", times: int = 1) -> Fault:
        return self.add(Fault("delay", method=method, path=path, times=times, delay=seconds))

    def drop(self, *, method: str = "*", path: str = "*", times: int = 1) -> Fault:
        return self.add(Fault("drop", method=method, path=path, times=times))

    def late(
        self,
        *,
        status: int = 502,
        delay: float = 0.0,
        method: str = "*",
        path: str = "*",
        times: int = 1,
    ) -> Fault:
        """Applied but answered late: the request takes effect, then the client sees `status`
        (a 502 from a proxy that gave up) or, with `delay`, its own timeout."""
        return self.add(
            Fault("late", method=method, path=path, times=times, status=status, delay=delay)
        )

    def take(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self._pending:
                if fault.matches(method, path):
                    fault.times -= 1
                    if fault.times == 0:
                        self._pending.remove(fault)
                    return fault
        return None

    def pending(self) -> list[Fault]:
        with self._lock:
            return list(self._pending)

    def clear(self) -> None:
        with self._lock:
            self._pending.clear()


@dataclass(frozen=True)
class Entry:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    status: int  # 0 for a dropped connection
    fault: str | None = None  # kind of the injected fault, if any
    duration_ms: float = 0.0
    validation_ms: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class RequestLog:
    """Every API request the double received (control calls are not logged)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[Entry] = []

    def record(self, entry: Entry) -> None:
        with self._lock:
            self._entries.append(entry)

    @property
    def entries(self) -> list[Entry]:
        with self._lock:
            return list(self._entries)

    def count(self, method: str | None = None, path: str | None = None) -> int:
        """Requests by method and/or path glob."""
        return len(self.matching(method, path))

    def matching(self, method: str | None = None, path: str | None = None) -> list[Entry]:
        return [
            e
            for e in self.entries
            if (method is None or e.method == method.upper())
            and (path is None or fnmatch.fnmatchcase(e.path, path))
        ]

    def writes(self) -> list[Entry]:
        return [e for e in self.entries if e.method not in {"GET", "HEAD"}]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
