"""The HTTP server: API requests, faults, validation, the log and the control endpoints."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
import traceback
import uuid
from dataclasses import asdict, dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import github

from . import api
from .faults import Entry, Fault, Faults, RequestLog
from .render import Renderer
from .spec import Validator, encode_path, load_spec
from .state import SeedError, State

CONTROL_PREFIX = "/_double/"
RATE_LIMIT = 5000


@dataclass(frozen=True)
class Violation:
    """Something that makes a test wrong even if its assertions pass."""

    kind: str  # "request", "response", "unimplemented" or "internal"
    method: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.method} {self.path}: {self.message}"


@dataclass
class _Answer:
    status: int
    body: bytes
    headers: dict[str, str]
    drop: bool = False


def _json_bytes(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


class GitHubDouble:
    """A GitHub REST API double on loopback.

    `state` holds the data, `faults` the queued faults, `log` the requests received and
    `violations` every request or response the OpenAPI description rejects.
    """

    def __init__(
        self,
        state: State | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        validate: bool = True,
        spec_path: Path | None = None,
        html_url: str = "https://github.com",
    ) -> None:
        self.state = state or State()
        self.faults = Faults()
        self.log = RequestLog()
        self.violations: list[Violation] = []
        self.html_url = html_url
        self.validator = Validator(load_spec(spec_path)) if validate else None
        self._host = host
        self._port = port
        self._stop = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._rate_lock = threading.Lock()
        self._used = 0
        self._reset_at = int(time.time()) + 3600

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> GitHubDouble:
        server = ThreadingHTTPServer((self._host, self._port), _Handler)
        server.daemon_threads = True
        server.block_on_close = False
        server.double = self  # type: ignore[attr-defined]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="github-double",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()  # ends injected delays at once
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> GitHubDouble:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the double is not running; call start() first")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self.port}"

    def github(self, token: str = "test-token", **kwargs: Any) -> github.Github:
        """A PyGithub client for this double: 100 per page, no throttling, no retries."""
        options: dict[str, Any] = {
            "per_page": 100,
            "seconds_between_requests": None,
            "seconds_between_writes": None,
            "retry": None,
        }
        options.update(kwargs)
        return github.Github(base_url=self.url, auth=github.Auth.Token(token), **options)

    # -- violations ---------------------------------------------------------------------------
    def _violate(self, kind: str, method: str, path: str, message: str) -> None:
        with self.state.lock:
            self.violations.append(Violation(kind, method, path, message))

    def take_violations(self) -> list[Violation]:
        """Return and forget the recorded violations (for tests that provoke them)."""
        with self.state.lock:
            taken = list(self.violations)
            self.violations.clear()
        return taken

    # -- rate limit ---------------------------------------------------------------------------
    def _rate_headers(self, counted: bool = True) -> dict[str, str]:
        with self._rate_lock:
            self._used += 1 if counted else 0
            used = self._used
        return {
            "x-ratelimit-limit": str(RATE_LIMIT),
            "x-ratelimit-remaining": str(max(RATE_LIMIT - used, 0)),
            "x-ratelimit-reset": str(self._reset_at),
            "x-ratelimit-used": str(used),
            "x-ratelimit-resource": "core",
        }

    def _rate_limit_body(self) -> dict[str, Any]:
        with self._rate_lock:
            used = self._used
        core = {
            "limit": RATE_LIMIT,
            "remaining": max(RATE_LIMIT - used, 0),
            "reset": self._reset_at,
            "used": used,
        }
        search = {"limit": 30, "remaining": 30, "reset": self._reset_at, "used": 0}
        return {"resources": {"core": core, "search": search}, "rate": core}

    # -- API requests -------------------------------------------------------------------------
    def serve_api(
        self,
        method: str,
        raw_path: str,
        query: list[tuple[str, str]],
        headers: dict[str, str],
        body: bytes,
    ) -> _Answer:
        started = time.perf_counter()
        path = raw_path
        content_type = headers.get("content-type", "application/json")
        parsed_body: Any = None
        validation_s = 0.0
        if body:
            try:
                parsed_body = json.loads(body)
            except ValueError:
                parsed_body = body.decode(errors="replace")

        late: Fault | None = None  # applied below, then answered late or with an error

        def finish(answer: _Answer, fault: str | None = None) -> _Answer:
            if late is not None:
                fault = late.kind
                if late.delay > 0:
                    self._stop.wait(late.delay)  # the client has given up by now
                else:
                    answer = self._apply_fault(replace(late, kind="status")) or answer
            self.log.record(
                Entry(
                    method=method,
                    path=path,
                    query=dict(query),
                    body=parsed_body,
                    status=0 if answer.drop else answer.status,
                    fault=fault,
                    duration_ms=(time.perf_counter() - started) * 1000,
                    validation_ms=validation_s * 1000,
                )
            )
            return answer

        found = api.find_route(method, path)
        spec_path = encode_path(found[0].template, found[1]) if found else path

        # The client's request, checked before anything else like GitHub would.
        if self.validator is not None:
            t0 = time.perf_counter()
            if found is not None and not self.validator.documents(method, found[0].template):
                problem: str | None = (
                    f"{method} {found[0].template} is not described in {self.validator.spec.path.name}; "
                    "use a described endpoint or add this one to the description"
                )
            else:
                problem = self.validator.validate_request(
                    method, spec_path, query, headers, body, content_type
                )
            validation_s += time.perf_counter() - t0
            if problem is not None:
                self._violate("request", method, path, problem)
                return finish(self._error(400, f"OpenAPI validation failed: request: {problem}"))

        fault = self.faults.take(method, path)
        if fault is not None and fault.kind == "late":
            late = fault
        elif fault is not None:
            answer = self._apply_fault(fault)
            if answer is not None:
                return finish(answer, fault.kind)

        if found is None:
            self._violate(
                "unimplemented",
                method,
                path,
                "described by GitHub but not implemented by the double",
            )
            return finish(self._error(501, "Not implemented by the GitHub API double"))
        route, params = found
        base_url = f"http://{headers.get('host', f'{self._host}:{self.port}')}"
        token = headers.get("authorization", "").split(" ")[-1] or None
        with self.state.lock:
            ctx = api.Ctx(
                state=self.state,
                render=Renderer(self.state, base_url, self.html_url),
                params=params,
                query=dict(query),
                body=parsed_body,
                actor=self.state.user_for_token(token),
                base_url=base_url,
                path=path,
            )
            try:
                reply = route.handler(ctx)
            except api.ApiError as exc:
                reply = api.Reply(exc.status, exc.body())
            except Exception:
                self._violate("internal", method, path, traceback.format_exc(limit=5))
                return finish(self._error(500, "GitHub API double crashed; see the violations"))
        if isinstance(reply.body, dict) and reply.body.get("__rate_limit__"):
            reply.body = self._rate_limit_body()
        out_headers = {
            "Content-Type": "application/json; charset=utf-8",
            "X-GitHub-Media-Type": "github.v3; format=json",
            "X-GitHub-Api-Version-Selected": "2022-11-28",
            "X-GitHub-Request-Id": uuid.uuid4().hex[:20].upper(),
            # GET /rate_limit does not count against the limit.
            **self._rate_headers(counted=route.template != "/rate_limit"),
            **reply.headers,
        }
        payload = b"" if reply.status == 204 or reply.body is None else _json_bytes(reply.body)
        if reply.status == 204:
            del out_headers["Content-Type"]

        if self.validator is not None:
            t0 = time.perf_counter()
            if self.validator.documents_status(method, route.template, reply.status):
                problem = self.validator.validate_response(
                    method, spec_path, query, body, content_type, reply.status, out_headers, payload
                )
            elif reply.status >= 400:
                problem = self.validator.validate_error_body(reply.body)
            else:
                problem = f"status {reply.status} is not documented for {method} {route.template}"
            validation_s += time.perf_counter() - t0
            if problem is not None:
                self._violate("response", method, path, problem)
                return finish(self._error(500, f"OpenAPI validation failed: response: {problem}"))
        return finish(_Answer(reply.status, payload, out_headers))

    def _error(self, status: int, message: str) -> _Answer:
        body = {"message": message, "documentation_url": api.DOCS, "status": str(status)}
        headers = {"Content-Type": "application/json; charset=utf-8", **self._rate_headers()}
        return _Answer(status, _json_bytes(body), headers)

    def _apply_fault(self, fault: Fault) -> _Answer | None:
        if fault.kind == "delay":
            self._stop.wait(fault.delay)
            return None  # then answered normally
        if fault.kind == "drop":
            return _Answer(0, b"", {}, drop=True)
        body = (
            fault.body
            if fault.body is not None
            else {
                "message": f"Injected HTTP {fault.status}",
                "documentation_url": api.DOCS,
            }
        )
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            **self._rate_headers(),
            **fault.headers,
        }
        if isinstance(body, bytes):  # sent as it is: a proxy's page in another encoding
            payload = body
        else:
            payload = body.encode() if isinstance(body, str) else _json_bytes(body)
        return _Answer(fault.status, payload, headers)

    # -- control endpoints --------------------------------------------------------------------
    def serve_control(self, method: str, path: str, body: bytes) -> _Answer:
        name = path[len(CONTROL_PREFIX) :].strip("/")
        try:
            data = json.loads(body) if body else None
            result = self._control(method, name, data)
        except (ValueError, TypeError, SeedError) as exc:
            return _Answer(
                400, _json_bytes({"message": str(exc)}), {"Content-Type": "application/json"}
            )
        if result is None:
            return _Answer(
                404, _json_bytes({"message": f"no control endpoint {method} {path}"}), {}
            )
        return _Answer(200, _json_bytes(result), {"Content-Type": "application/json"})

    def _control(self, method: str, name: str, data: Any) -> Any:
        if (method, name) == ("GET", "health"):
            return {"ok": True, "url": self.url}
        if name == "log":
            if method == "DELETE":
                self.log.clear()
                return {"cleared": True}
            return [e.to_json() for e in self.log.entries]
        if name == "faults":
            if method == "POST":
                items = data if isinstance(data, list) else [data]
                added = [self.faults.add(Fault.from_json(item)).to_json() for item in items]
                return {"added": added}
            if method == "DELETE":
                self.faults.clear()
                return {"cleared": True}
            return [f.to_json() for f in self.faults.pending()]
        if name == "violations":
            if method == "DELETE":
                return [str(v) for v in self.take_violations()]
            return [asdict(v) for v in self.violations]
        if name == "state":
            if method == "POST":
                with self.state.lock:
                    self.state.load(data or {}, source="POST /_double/state")
            with self.state.lock:
                return snapshot(self.state)
        return None


def snapshot(state: State) -> dict[str, Any]:
    """A JSON view of the state, for assertions from outside the process."""
    repos = {}
    for r in state.repos.values():
        repos[r.full_name] = {
            "default_branch": r.default_branch,
            "labels": [asdict(lb) for lb in r.labels.values()],
            "milestones": [asdict(m) for m in r.milestones.values()],
            "issues": [
                {**asdict(i), "labels": r.issue_labels(i.number)} for i in r.issues.values()
            ],
            "comments": [asdict(c) for c in r.comments.values()],
            "refs": dict(r.refs),
            "tags": [asdict(t) for t in r.tags.values()],
            "releases": [asdict(rel) for rel in r.releases.values()],
            "collaborators": dict(r.collaborators),
            "dispatches": [asdict(d) for d in r.dispatches],
        }
    return {
        "viewer": state.viewer,
        "users": [asdict(u) for u in state.users.values()],
        "repos": repos,
    }


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "GitHub.com"

    def log_message(self, format: str, *args: Any) -> None:  # the request log replaces it
        return

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; without this, Nagle's algorithm and the
        # client's delayed ACK add ~40 ms to every response.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _handle(self) -> None:
        double: GitHubDouble = self.server.double  # type: ignore[attr-defined]
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if parts.path.startswith(CONTROL_PREFIX):
            answer = double.serve_control(self.command, parts.path, body)
        else:
            headers = {k.lower(): v for k, v in self.headers.items()}
            query = parse_qsl(parts.query, keep_blank_values=True)
            answer = double.serve_api(self.command, parts.path, query, headers, body)
        if answer.drop:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.send_response(answer.status)
        for key, value in answer.headers.items():
            self.send_header(key, value)
        if answer.status != 204:
            self.send_header("Content-Length", str(len(answer.body)))
        # A client that gave up (its timeout ran out during an injected delay) has closed the
        # socket; that is the scenario under test, not an error of the double.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.end_headers()
            if answer.body:
                self.wfile.write(answer.body)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _handle
