"""OpenAPI validation of the double's traffic against GitHub's published description.

The description is parsed once per process (about a second with openapi-core) and shared by
every server started in that process.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jsonschema.exceptions import best_match
from openapi_core import Config, OpenAPI
from openapi_core.exceptions import OpenAPIError
from openapi_core.testing import MockRequest, MockResponse
from openapi_schema_validator import OAS30Validator

ENV_VAR = "MLOPS_GITHUB_OPENAPI"
# The description's only server; requests are validated as if they had been sent there.
SPEC_HOST = "https://api.github.com"

_REPO_ROOT = Path(__file__).resolve().parents[3]


def spec_path() -> Path:
    """Where the description lives: $MLOPS_GITHUB_OPENAPI, else <repo>/../shared/github-api/."""
    override = os.environ.get(ENV_VAR)
    if override:
        return Path(override)
    return _REPO_ROOT.parent / "shared" / "github-api" / "openapi.json"


# Operations of GitHub's description that the shared subset lacks, copied unchanged from the
# same npm package (see "source" in the file): only what is absent is added, nothing replaced.
ADDITIONS = Path(__file__).with_name("description-additions.json")


def add_operations(spec: dict[str, Any], additions: Path) -> list[str]:
    extra = json.loads(additions.read_text(encoding="utf-8"))
    notes: list[str] = []
    for template, item in extra["paths"].items():
        present = spec["paths"].setdefault(template, {})
        for method, operation in item.items():
            if method not in present:
                present[method] = operation
                notes.append(f"{method.upper()} {template} added from {extra['source']}")
    for section, entries in extra["components"].items():
        known = spec["components"].setdefault(section, {})
        for name, value in entries.items():
            known.setdefault(name, value)
    return notes


def apply_tool_workarounds(spec: dict[str, Any]) -> list[str]:
    """Adjust the parsed description, in memory only, for known openapi-core limitations.

    Every change is listed in the returned notes. None of them loosens what a request or a
    response may contain; they only make the tool read the description as GitHub means it.
    """
    notes: list[str] = []
    # OpenAPI 3.0.3 clarified that `nullable: true` does not admit null into an `enum` that
    # does not list it, and openapi-schema-validator follows that reading. GitHub's description
    # was written for the earlier reading: fields such as issue.state_reason are
    # `{nullable: true, enum: [...]}` and the API sends null for them (an open issue). Listing
    # null in those enums restores the meaning GitHub intends; no other value is admitted.
    patched = 0

    def walk(node: Any) -> None:
        nonlocal patched
        if isinstance(node, dict):
            enum = node.get("enum")
            if node.get("nullable") is True and isinstance(enum, list) and None not in enum:
                enum.append(None)
                patched += 1
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(spec)
    notes.append(f"null listed in {patched} nullable enums (OpenAPI 3.0.3 nullable/enum reading)")

    # Add/set labels on an issue: the schema lists only {"labels": [...]}, but the same
    # description's text says "you can pass ... an `array` of labels directly" (and, for set,
    # "an empty array to remove all labels"); the API accepts that and PyGithub sends it. The
    # prose form is added as one more oneOf branch, and only where that sentence is present.
    labels_path = "/repos/{owner}/{repo}/issues/{issue_number}/labels"
    for method in ("post", "put"):
        operation = spec.get("paths", {}).get(labels_path, {}).get(method)
        if operation is None:
            continue
        schema = operation["requestBody"]["content"]["application/json"]["schema"]
        prose = " ".join(
            str(alt.get("properties", {}).get("labels", {}).get("description", ""))
            for alt in schema["oneOf"]
        )
        if "`array` of labels directly" in prose:
            direct: dict[str, Any] = {"type": "array", "items": {"type": "string"}}
            if "empty array" not in prose:
                direct["minItems"] = 1
            schema["oneOf"].append(direct)
            notes.append(
                f"{method.upper()} {labels_path}: bare array of names accepted, as its text says"
            )
    # GET /contents/{path} answers oneOf [directory (an array), file, symlink, submodule] with
    # a `discriminator` on `type` whose mapping includes "array". A discriminator only works on
    # objects (OpenAPI 3.0), so openapi-core rejects every directory listing. The oneOf alone
    # still tells the four apart (an array, or an object whose `type` enum is file, symlink or
    # submodule), so only that discriminator is dropped.
    schemas = spec.get("components", {}).get("schemas", {})
    for template, item in spec.get("paths", {}).items():
        for method, operation in item.items():
            if not isinstance(operation, dict):
                continue
            for status, response in operation.get("responses", {}).items():
                schema = response.get("content", {}).get("application/json", {}).get("schema", {})
                mapping = schema.get("discriminator", {}).get("mapping", {})
                targets = [schemas.get(ref.rsplit("/", 1)[-1], {}) for ref in mapping.values()]
                if any(t.get("type") == "array" for t in targets):
                    del schema["discriminator"]
                    notes.append(
                        f"{method.upper()} {template} {status}: discriminator over an array dropped"
                    )
    # openapi-core matches a path template one segment per parameter, while GitHub's `ref`,
    # `branch`, `tag`, `basehead` and `path` parameters may hold slashes (`tags/v1.0`,
    # `feature/x`). Nothing is changed in the description for that: the validator encodes the
    # slashes of those parameters as %2F before matching (see `MULTI_SEGMENT_PARAMS`).
    notes.append("slash-holding path parameters are %2F-encoded before matching")
    return notes


# Path parameters that GitHub lets span several segments.
MULTI_SEGMENT_PARAMS = frozenset({"ref", "branch", "tag", "basehead", "path"})


@dataclass(frozen=True)
class LoadedSpec:
    app: OpenAPI
    raw: dict[str, Any]
    path: Path
    notes: tuple[str, ...]
    # (method, template) pairs the description documents, e.g. ("get", "/repos/{owner}/{repo}").
    operations: frozenset[tuple[str, str]]


def _is_timestamp(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _config() -> Config:
    # GitHub uses `format: timestamp` (Unix seconds, e.g. x-ratelimit-reset), which openapi-core
    # does not know and refuses to unmarshal; teach it the format instead of skipping it.
    return Config(
        extra_format_validators={"timestamp": _is_timestamp},
        extra_format_unmarshallers={"timestamp": int},
    )


_cache: dict[Path, LoadedSpec] = {}
_cache_lock = threading.Lock()


def load_spec(path: Path | None = None) -> LoadedSpec:
    """Parse the description once per process and path."""
    target = (path or spec_path()).resolve()
    with _cache_lock:
        cached = _cache.get(target)
        if cached is not None:
            return cached
        if not target.is_file():
            raise FileNotFoundError(
                f"GitHub OpenAPI description not found at {target}: check out shared/ beside "
                f"the repository or set {ENV_VAR} to the file"
            )
        raw = json.loads(target.read_text(encoding="utf-8"))
        notes = add_operations(raw, ADDITIONS)
        notes += apply_tool_workarounds(raw)
        # The description itself is checked once here (about a second); requests are then
        # validated against the already-checked object.
        app = OpenAPI.from_dict(raw, config=_config())
        operations = frozenset(
            (method, template)
            for template, item in raw["paths"].items()
            for method in item
            if method in {"get", "post", "put", "patch", "delete"}
        )
        loaded = LoadedSpec(
            app=app, raw=raw, path=target, notes=tuple(notes), operations=operations
        )
        _cache[target] = loaded
        return loaded


def _short(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def _schema_error_lines(err: Any) -> list[str]:
    location = "/".join(str(p) for p in getattr(err, "absolute_path", ())) or "<root>"
    context = getattr(err, "context", None)
    if context:
        # oneOf/anyOf: the branch that got furthest says more than "not valid under any".
        best = best_match(context)
        return _schema_error_lines(best)
    return [f"{location}: {_short(str(getattr(err, 'message', err)))}"]


def _format_error(exc: BaseException) -> str:
    """One readable line from openapi-core's nested exceptions (no dumps of whole bodies)."""
    details: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        schema_errors: Iterable[Any] = getattr(current, "schema_errors", ()) or ()
        for err in schema_errors:
            details.extend(_schema_error_lines(err))
        current = current.__cause__
    if not details:
        details.append(_short(str(exc)))
    return f"{type(exc).__name__}: " + "; ".join(details[:10])


def encode_path(template: str, params: Mapping[str, str]) -> str:
    """Rebuild a concrete path from a template, %2F-encoding multi-segment parameters."""
    path = template
    for name, value in params.items():
        safe = "" if name in MULTI_SEGMENT_PARAMS else "/"
        path = path.replace("{" + name + "}", quote(value, safe=safe + ":@!$&'()*+,;=-._~"))
    return path


class Validator:
    """Validates one request/response pair against the description."""

    def __init__(self, spec: LoadedSpec) -> None:
        self.spec = spec
        self._error_schemas = {
            name: OAS30Validator(
                spec.raw["components"]["schemas"][name],
            )
            for name in ("basic-error", "validation-error")
        }

    def documents(self, method: str, template: str) -> bool:
        return (method.lower(), template) in self.spec.operations

    def _request(
        self,
        method: str,
        path: str,
        query: Sequence[tuple[str, str]],
        headers: Mapping[str, str],
        body: bytes,
        content_type: str,
    ) -> MockRequest:
        return MockRequest(
            SPEC_HOST,
            method,
            path,
            args=list(query),  # type: ignore[arg-type]  # a pair list keeps repeated keys
            headers=dict(headers),
            data=body,
            content_type=content_type or "application/json",
        )

    def validate_request(
        self,
        method: str,
        path: str,
        query: Sequence[tuple[str, str]],
        headers: Mapping[str, str],
        body: bytes,
        content_type: str,
    ) -> str | None:
        """None when the request is valid, else a one-line explanation."""
        request = self._request(method, path, query, headers, body, content_type)
        try:
            self.spec.app.validate_request(request)
        except OpenAPIError as exc:
            return _format_error(exc)
        return None

    def validate_response(
        self,
        method: str,
        path: str,
        query: Sequence[tuple[str, str]],
        request_body: bytes,
        request_content_type: str,
        status: int,
        headers: Mapping[str, str],
        body: bytes,
    ) -> str | None:
        request = self._request(method, path, query, {}, request_body, request_content_type)
        response = MockResponse(
            body,
            status_code=status,
            headers=dict(headers),
            content_type=headers.get("Content-Type", "application/json") if body else "",
        )
        try:
            # Validation only: unmarshalling a 100-item page costs twenty times as much.
            self.spec.app.validate_response(request, response)
        except OpenAPIError as exc:
            return _format_error(exc)
        return None

    def documents_status(self, method: str, template: str, status: int) -> bool:
        operation = self.spec.raw["paths"][template][method.lower()]
        return str(status) in operation["responses"] or "default" in operation["responses"]

    def validate_error_body(self, body: Any) -> str | None:
        """Shape check for an error status the description leaves out for an operation.

        GitHub's description lists only some error statuses per operation (for instance no 404
        for PATCH /labels/{name}), while the API answers every operation with them. Such a reply
        must still have the documented error shape.
        """
        schema = (
            "validation-error" if isinstance(body, dict) and "errors" in body else "basic-error"
        )
        errors = list(self._error_schemas[schema].iter_errors(body))
        if not errors:
            return None
        return f"error body is not a {schema}: " + "; ".join(e.message for e in errors)
