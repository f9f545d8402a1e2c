"""GitHub's published webhook examples (tests/fixtures/events) and a way to re-aim them.

`load_event("issues.labeled")` returns a fresh copy of the example; `retarget()` points a copy
at another repository, sender, labels and API URL so it matches a test's double state.
"""

from __future__ import annotations

import copy
import json
import zlib
from pathlib import Path
from typing import Any

EVENTS_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "events"


def event_names() -> list[str]:
    return sorted(p.name.removesuffix(".json") for p in EVENTS_DIR.glob("*.json"))


def load_event(name: str) -> dict[str, Any]:
    """The vendored example `name` (e.g. "pull_request.labeled", "push")."""
    path = EVENTS_DIR / f"{name.removesuffix('.json')}.json"
    if not path.is_file():
        raise ValueError(f"no webhook example {name!r}; available: {', '.join(event_names())}")
    data = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _replace_strings(node: Any, old: str, new: str) -> Any:
    if isinstance(node, str):
        return node.replace(old, new)
    if isinstance(node, list):
        return [_replace_strings(v, old, new) for v in node]
    if isinstance(node, dict):
        return {k: _replace_strings(v, old, new) for k, v in node.items()}
    return node


def _retype_user(user: dict[str, Any], login: str, kind: str) -> None:
    old = user.get("login", "")
    for key, value in list(user.items()):
        if isinstance(value, str) and key.endswith("url") and old:
            user[key] = value.replace(f"/{old}", f"/{login}")
    user["login"] = login
    user["type"] = kind
    user["id"] = zlib.crc32(login.encode())


def _label(name: str, repo_api: str) -> dict[str, Any]:
    ident = zlib.crc32(name.encode())
    return {
        "id": ident,
        "node_id": f"LA_{ident}",
        "url": f"{repo_api}/labels/{name}",
        "name": name,
        "color": "ededed",
        "default": False,
        "description": None,
    }


def _subject(event: dict[str, Any]) -> dict[str, Any] | None:
    """The issue or pull request an event is about."""
    for key in ("issue", "pull_request"):
        if isinstance(event.get(key), dict):
            return event[key]  # type: ignore[no-any-return]
    return None


def retarget(
    event: dict[str, Any],
    *,
    repo: str | None = None,
    sender: str | None = None,
    sender_type: str = "User",
    labels: list[str] | None = None,
    label: str | None = None,
    number: int | None = None,
    author: str | None = None,
    head_repo: str | None = None,
    api_url: str | None = None,
    overrides: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A copy of `event` aimed at a test's state.

    repo: "owner/name" replacing the example's repository everywhere (URLs included).
    sender / sender_type: who triggered it ("Bot" for apps). labels: the issue's or pull
    request's labels after the event; label: the label just added or removed (label events
    too). number: the issue or pull request number. author: its author. head_repo: the head
    repository of a pull request ("forker/name" makes it a fork). api_url: replaces
    https://api.github.com in every URL. overrides: dotted paths to set last
    ({"pull_request.head.sha": "abc..."}).
    """
    out = copy.deepcopy(event)
    old_repo = out["repository"]["full_name"]
    if repo is not None:
        owner, _, name = repo.partition("/")
        out = _replace_strings(out, old_repo, repo)
        out["repository"]["name"] = name
        out["repository"]["full_name"] = repo
        _retype_user(
            out["repository"]["owner"], owner, out["repository"]["owner"].get("type", "User")
        )
        old_repo = repo
    subject = _subject(out)
    repo_api = out["repository"]["url"]
    if sender is not None:
        _retype_user(out["sender"], sender, sender_type)
    if subject is not None and author is not None:
        _retype_user(subject["user"], author, "Bot" if author.endswith("[bot]") else "User")
    if subject is not None and labels is not None:
        subject["labels"] = [_label(n, repo_api) for n in labels]
    if label is not None:
        out["label"] = _label(label, repo_api)
    if number is not None:
        if subject is not None:
            old = subject["number"]
            for key, value in list(subject.items()):
                if isinstance(value, str) and key.endswith("url"):
                    subject[key] = value.replace(f"/{old}", f"/{number}")
            subject["number"] = number
        if "number" in out:
            out["number"] = number
    if head_repo is not None and isinstance(out.get("pull_request"), dict):
        head = out["pull_request"]["head"]
        owner, _, name = head_repo.partition("/")
        head["repo"] = _replace_strings(head["repo"], head["repo"]["full_name"], head_repo)
        head["repo"]["full_name"] = head_repo
        head["repo"]["name"] = name
        head["repo"]["fork"] = head_repo != old_repo
        _retype_user(head["repo"]["owner"], owner, "User")
        _retype_user(head["user"], owner, "User")
        head["label"] = f"{owner}:{head['ref']}"
    if api_url is not None:
        out = _replace_strings(out, "https://api.github.com", api_url.rstrip("/"))
    for dotted, value in (overrides or {}).items():
        target = out
        *parents, last = dotted.split(".")
        for key in parents:
            target = target[key]
        target[last] = value
    return out
