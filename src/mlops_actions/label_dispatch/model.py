"""The `label-dispatch` config section as typed records, with the checks the schema cannot make."""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from mlops_actions.config import Config
from mlops_actions.pins.values import is_pinned_image

SECTION = "label-dispatch"
ROLES = ("none", "read", "triage", "write", "maintain", "admin")
STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")
DEFAULT_AUTHOR = "github-actions[bot]"
DEFAULT_COLOR = "ededed"
DEFAULT_TIMEOUT = 60

Role = str  # one of ROLES
Status = Literal["queued", "running", "succeeded", "failed", "cancelled"]
UnknownPolicy = Literal["report", "remove", "ignore"]


def role_at_least(role: Role, minimum: Role) -> bool:
    """Whether ``role`` is ``minimum`` or stronger; unknown roles count as none."""
    rank = ROLES.index(role) if role in ROLES else 0
    return rank >= ROLES.index(minimum)


def category_of(name: str) -> str | None:
    """``task`` for ``task:training``; None for a name without a category."""
    head, sep, tail = name.partition(":")
    return head if sep and head and tail else None


def normalize_color(color: str) -> str:
    return color.removeprefix("#").lower()  # the schema allows one leading #


@dataclass(frozen=True)
class LabelSpec:
    name: str
    color: str | None = None
    description: str | None = None
    aliases: tuple[str, ...] = ()
    restricted: Role | None = None
    triggers: str | None = None


@dataclass(frozen=True)
class Category:
    name: str
    description: str = ""
    exclusive: bool = False
    required: bool = False


@dataclass(frozen=True)
class Dispatch:
    workflow: str | None = None
    ref: str | None = None
    number_input: str = "number"
    sha_input: str = "sha"  # the approved commit: the dispatched workflow checks out exactly it
    inputs: tuple[tuple[str, str], ...] = ()
    event_type: str | None = None


@dataclass(frozen=True)
class Route:
    name: str
    runs_on: tuple[str, ...]
    labels: tuple[str, ...] = ()
    any_labels: tuple[str, ...] = ()
    not_labels: tuple[str, ...] = ()
    events: tuple[str, ...] = ()
    branches: tuple[str, ...] = ()
    container: str | None = None
    env: tuple[tuple[str, str], ...] = ()
    timeout_minutes: int = DEFAULT_TIMEOUT
    dispatch: Dispatch | None = None

    def named_labels(self) -> tuple[str, ...]:
        return (*self.labels, *self.any_labels, *self.not_labels)


@dataclass(frozen=True)
class Gate:
    permission: Role = "write"
    fork_permission: Role = "write"
    approval_label: str | None = None
    approval_permission: Role = "write"


@dataclass(frozen=True)
class Report:
    status_labels: tuple[tuple[str, str], ...] = ()  # (status, label)
    max_metrics: int = 20

    def label_for(self, status: str) -> str | None:
        return dict(self.status_labels).get(status)


@dataclass(frozen=True)
class Settings:
    """Everything the section says, with defaults filled in."""

    labels: tuple[LabelSpec, ...] = ()
    exclude: tuple[str, ...] = ()
    delete_unmanaged: bool = False
    require_category: bool = False
    unknown_labels: UnknownPolicy = "report"
    comment_author: str = DEFAULT_AUTHOR
    categories: tuple[Category, ...] = ()
    routes: tuple[Route, ...] = ()
    gate: Gate = field(default_factory=Gate)
    report: Report = field(default_factory=Report)

    def label(self, name: str) -> LabelSpec | None:
        wanted = name.casefold()
        return next((spec for spec in self.labels if spec.name.casefold() == wanted), None)

    def category(self, name: str) -> Category | None:
        return next((c for c in self.categories if c.name == name), None)

    def excluded(self, name: str) -> bool:
        return is_excluded(name, self.exclude)


def is_excluded(name: str, patterns: Sequence[str]) -> bool:
    folded = name.casefold()
    return any(fnmatch.fnmatchcase(folded, p.casefold()) for p in patterns)


def settings_from_config(config: Config) -> Settings:
    """Typed settings; what the schema cannot express is checked here, naming file and line."""
    data = config.section(SECTION)
    return _settings(data, config)


def _settings(data: Mapping[str, Any], config: Config) -> Settings:
    base = (SECTION,)
    labels = tuple(
        LabelSpec(
            name=str(item["name"]),
            color=normalize_color(item["color"]) if "color" in item else None,
            description=item.get("description"),
            aliases=tuple(item.get("aliases", ())),
            restricted=item.get("restricted"),
            triggers=item.get("triggers"),
        )
        for item in data.get("labels", ())
    )
    _check_labels(labels, config, bool(data.get("require-category")))
    categories = tuple(
        Category(
            name=str(name),
            description=str(rule.get("description", "")),
            exclusive=bool(rule.get("exclusive")),
            required=bool(rule.get("required")),
        )
        for name, rule in (data.get("categories") or {}).items()
    )
    routes = tuple(_route(i, item, config) for i, item in enumerate(data.get("routes", ())))
    seen: dict[str, int] = {}
    for index, route in enumerate(routes):
        if route.name in seen:
            raise config.error(
                (*base, "routes", index, "name"),
                f"route name {route.name!r} is used twice (also routes[{seen[route.name]}])",
                "give each route its own name; the name keys the once-per-commit record.",
            )
        seen[route.name] = index
    gate_data = data.get("gate") or {}
    gate = Gate(
        permission=gate_data.get("permission", "write"),
        fork_permission=gate_data.get("fork-permission", "write"),
        approval_label=gate_data.get("approval-label"),
        approval_permission=gate_data.get("approval-permission", "write"),
    )
    report_data = data.get("report") or {}
    status_labels = report_data.get("status-labels") or {}
    report = Report(
        status_labels=tuple((s, str(status_labels[s])) for s in STATUSES if s in status_labels),
        max_metrics=int(report_data.get("max-metrics", 20)),
    )
    return Settings(
        labels=labels,
        exclude=tuple(data.get("exclude", ())),
        delete_unmanaged=bool(data.get("delete-unmanaged")),
        require_category=bool(data.get("require-category")),
        unknown_labels=data.get("unknown-labels", "report"),
        comment_author=str(data.get("comment-author", DEFAULT_AUTHOR)),
        categories=categories,
        routes=routes,
        gate=gate,
        report=report,
    )


def _check_labels(labels: Sequence[LabelSpec], config: Config, require_category: bool) -> None:
    owner: dict[str, tuple[int, str]] = {}  # folded name or alias -> (label index, how)
    for index, spec in enumerate(labels):
        keys = (SECTION, "labels", index)
        if require_category and category_of(spec.name) is None:
            raise config.error(
                (*keys, "name"),
                f"label {spec.name!r} is not named category:key",
                "name it like task:training, or set require-category: false.",
            )
        for kind, name in (("name", spec.name), *(("alias", a) for a in spec.aliases)):
            folded = name.casefold()
            if folded in owner:
                other, other_kind = owner[folded]
                where = "aliases" if kind == "alias" else "name"
                raise config.error(
                    (*keys, where),
                    f"{name!r} is already the {other_kind} of labels[{other}] "
                    "(GitHub label names ignore case)",
                    "each name and alias may appear once; remove the duplicate.",
                )
            owner[folded] = (index, kind)


def _route(index: int, item: Mapping[str, Any], config: Config) -> Route:
    keys = (SECTION, "routes", index)
    when = item.get("when") or {}
    runs_on = item["runs-on"]
    container = item.get("container")
    if container is not None:
        pinned, reason = is_pinned_image(str(container))
        if not pinned:
            raise config.error(
                (*keys, "container"),
                f"container image {container!r} is not pinned: {reason}",
                "pin a version tag (pytorch/pytorch:2.4.1-cuda12.1-cudnn9-runtime) or a digest "
                "(image@sha256:...).",
            )
    dispatch = None
    if "dispatch" in item:
        d = item["dispatch"]
        dispatch = Dispatch(
            workflow=d.get("workflow"),
            ref=d.get("ref"),
            number_input=d.get("number-input", "number"),
            sha_input=d.get("sha-input", "sha"),
            inputs=tuple(sorted((str(k), str(v)) for k, v in (d.get("inputs") or {}).items())),
            event_type=d.get("event-type"),
        )
    return Route(
        name=str(item["name"]),
        runs_on=(runs_on,) if isinstance(runs_on, str) else tuple(runs_on),
        labels=tuple(when.get("labels", ())),
        any_labels=tuple(when.get("any-labels", ())),
        not_labels=tuple(when.get("not-labels", ())),
        events=tuple(when.get("events", ())),
        branches=tuple(when.get("branches", ())),
        container=container,
        env=tuple(sorted((str(k), str(v)) for k, v in (item.get("env") or {}).items())),
        timeout_minutes=int(item.get("timeout-minutes", DEFAULT_TIMEOUT)),
        dispatch=dispatch,
    )
