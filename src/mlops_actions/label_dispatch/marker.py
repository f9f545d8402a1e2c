"""The one marker comment per issue or PR: what it records, how it reads, status transitions."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from mlops_actions.label_dispatch.model import STATUSES
from mlops_actions.markdown import cell

MARKER = "<!-- mlops-actions:label-dispatch -->"
STATE_OPEN = "<!-- mlops-actions:label-dispatch:state "
STATE_CLOSE = " -->"
TERMINAL = ("succeeded", "failed", "cancelled")
# Words a workflow has at hand (job.status, needs.*.result) mapped to our statuses.
STATUS_WORDS = {
    "queued": "queued",
    "pending": "queued",
    "running": "running",
    "in_progress": "running",
    "in-progress": "running",
    "started": "running",
    "succeeded": "succeeded",
    "success": "succeeded",
    "failed": "failed",
    "failure": "failed",
    "cancelled": "cancelled",
    "canceled": "cancelled",
    "skipped": "cancelled",
}
ICONS = {
    "queued": ":hourglass:",
    "running": ":arrows_counterclockwise:",
    "succeeded": ":white_check_mark:",
    "failed": ":x:",
    "cancelled": ":no_entry_sign:",
}


@dataclass(frozen=True)
class RunStatus:
    status: str
    run_url: str = ""
    route: str = ""
    summary: str = ""
    metrics: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class MarkerState:
    labels_checked: bool = False
    problems: tuple[str, ...] = ()
    gate: str = ""
    routes: tuple[str, ...] = ()
    dispatched: tuple[str, ...] = ()  # route@sha, see route.dispatch_key
    approved: tuple[str, ...] = ()  # head SHAs approved with the approval label
    run: RunStatus | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "v": 1,
            "labels_checked": self.labels_checked,
            "problems": list(self.problems),
            "gate": self.gate,
            "routes": list(self.routes),
            "dispatched": list(self.dispatched),
            "approved": list(self.approved),
        }
        if self.run is not None:
            data["run"] = {
                "status": self.run.status,
                "run_url": self.run.run_url,
                "route": self.run.route,
                "summary": self.run.summary,
                "metrics": [list(m) for m in self.run.metrics],
            }
        return data


@dataclass(frozen=True)
class Marker:
    """A marker comment found on the issue: its id and the state it recorded."""

    comment_id: int
    body: str
    state: MarkerState = field(default_factory=MarkerState)


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in value) if isinstance(value, list) else ()


def parse_state(body: str) -> MarkerState:
    """The recorded state; a damaged record reads as empty rather than failing the job."""
    start = body.rfind(STATE_OPEN)
    if start < 0:
        return MarkerState()
    end = body.find(STATE_CLOSE, start + len(STATE_OPEN))
    if end < 0:
        return MarkerState()
    try:
        data = json.loads(body[start + len(STATE_OPEN) : end])
    except json.JSONDecodeError:
        return MarkerState()
    if not isinstance(data, dict):
        return MarkerState()
    run = None
    raw_run = data.get("run")
    if isinstance(raw_run, dict) and raw_run.get("status") in STATUSES:
        run = RunStatus(
            status=str(raw_run["status"]),
            run_url=str(raw_run.get("run_url", "")),
            route=str(raw_run.get("route", "")),
            summary=str(raw_run.get("summary", "")),
            metrics=tuple(
                (str(m[0]), str(m[1]))
                for m in raw_run.get("metrics", [])
                if isinstance(m, list) and len(m) == 2
            ),
        )
    return MarkerState(
        labels_checked=bool(data.get("labels_checked")),
        problems=_strings(data.get("problems")),
        gate=str(data.get("gate", "")),
        routes=_strings(data.get("routes")),
        dispatched=_strings(data.get("dispatched")),
        approved=_strings(data.get("approved")),
        run=run,
    )


def find_marker(comments: Sequence[tuple[int, str, str]], author: str) -> Marker | None:
    """The first marker comment written by ``author``; ``comments`` are (id, login, body).

    Comments by anyone else are ignored even when they carry the marker, so nobody can plant a
    record of an approval or a dispatch.
    """
    for comment_id, login, body in comments:
        if login.casefold() == author.casefold() and body.lstrip().startswith(MARKER):
            return Marker(comment_id, body, parse_state(body))
    return None


def encode_state(state: MarkerState) -> str:
    text = json.dumps(state.to_json(), sort_keys=True, separators=(",", ":"))
    # Only strings hold these characters; escaping them keeps the HTML comment closed.
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render_comment(state: MarkerState, valid: Mapping[str, Sequence[str]]) -> str:
    """The whole comment, rendered from the state so every mode writes the same shape."""
    parts = [MARKER]
    if state.labels_checked:
        if state.problems:
            parts.append("### Labels need attention\n")
            parts.extend(f"- {p}" for p in state.problems)
            if valid:
                parts.append("\n<details><summary>Valid labels</summary>\n")
                for category, names in valid.items():
                    title = f"`{category}:*`" if category else "other"
                    parts.append(f"- {title}: " + ", ".join(f"`{n}`" for n in names))
                parts.append("\n</details>")
        else:
            parts.append("### Labels\n\n:white_check_mark: The labels follow the taxonomy.")
    if state.gate or state.routes or state.dispatched:
        parts.append("\n### Routing\n")
        if state.gate:
            parts.append(state.gate)
        if state.routes:
            parts.append("\nRoutes: " + ", ".join(f"`{r}`" for r in state.routes))
        if state.dispatched:
            parts.append(
                "\nStarted: "
                + ", ".join(
                    f"`{k.partition('@')[0]}` at `{k.partition('@')[2][:7]}`"
                    for k in state.dispatched
                )
            )
    if state.run is not None:
        run = state.run
        link = f" · [run]({run.run_url})" if run.run_url else ""
        route = f" · route `{run.route}`" if run.route else ""
        # Every status has an icon: a RunStatus comes from normalize_status or a checked record.
        parts.append(f"\n### Status\n\n{ICONS[run.status]} **{run.status}**{route}{link}")
        if run.summary:
            parts.append(f"\n{run.summary}")
        if run.metrics:
            parts.append("\n| metric | value |\n| --- | --- |")
            # Rows are stored as table cells (flatten_metrics, gpu_rows): literal text.
            parts.extend(f"| {k} | {v} |" for k, v in run.metrics)
    parts.append(f"\n{STATE_OPEN}{encode_state(state)}{STATE_CLOSE}")
    return "\n".join(parts) + "\n"


def normalize_status(word: str) -> str | None:
    return STATUS_WORDS.get(word.strip().lower())


def transition(current: RunStatus | None, status: str, run_url: str) -> tuple[bool, str]:
    """Whether the comment may move to ``status``: forward only within one run.

    A new run (another URL) starts over; within a run, an update that arrives late (running
    after succeeded) is ignored rather than showing a finished run as running again.
    """
    if status not in STATUSES:
        return False, f"unknown status {status!r}"
    if current is None or current.run_url != run_url or not run_url:
        return True, "new run" if current is not None else "first status"
    if current.status == status:
        return True, "same status"
    if current.status in TERMINAL:
        return False, f"the run already ended as {current.status}"
    order = STATUSES.index
    if order(status) < order(current.status):
        return False, f"{status} after {current.status} is out of order"
    return True, f"{current.status} → {status}"


def flatten_metrics(data: Any, limit: int, prefix: str = "") -> tuple[tuple[str, str], ...]:
    """Scalar values of a JSON document as (dotted.key, text) rows, at most ``limit``."""
    rows: list[tuple[str, str]] = []

    def walk(value: Any, key: str) -> None:
        if len(rows) >= limit:
            return
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, f"{key}.{k}" if key else str(k))
        elif isinstance(value, list):
            for i, v in enumerate(value):
                walk(v, f"{key}[{i}]")
        elif isinstance(value, bool):
            rows.append((key, "true" if value else "false"))
        elif isinstance(value, float):
            rows.append((key, f"{value:.6g}"))  # nan, inf and -inf read as themselves
        elif value is not None:
            rows.append((key, str(value)[:200]))

    walk(data, prefix)
    # Keys and values come from the PR's metrics file: table cells, literal text.
    return tuple((cell(k), cell(v)) for k, v in rows)


def with_run(state: MarkerState, run: RunStatus) -> MarkerState:
    return replace(state, run=run)
