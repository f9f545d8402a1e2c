"""Routes and the security gate: which runner and container a labelled issue or PR goes to."""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mlops_actions.label_dispatch.event import Subject
from mlops_actions.label_dispatch.model import Gate, Role, Route, role_at_least


@dataclass(frozen=True)
class GateFacts:
    sender: str
    sender_role: Role
    fork: bool = False
    author: str = ""
    author_role: Role | None = None  # looked up only for a fork PR
    head_sha: str | None = None
    applied: str | None = None  # the label this event added
    approved_shas: tuple[str, ...] = ()  # head commits approved earlier (marker record)


@dataclass(frozen=True)
class GateDecision:
    allowed: bool
    reason: str
    awaiting_approval: bool = False
    approve_sha: str | None = None  # a new approval to record


def decide_gate(gate: Gate, facts: GateFacts) -> GateDecision:
    """Nothing routes unless the sender may; a fork PR also needs a trusted author or approval.

    Approval is per head commit: a push after approval needs a new one, so code nobody with
    write access has seen never reaches a runner.
    """
    if not role_at_least(facts.sender_role, gate.permission):
        return GateDecision(
            False,
            f"@{facts.sender} has {facts.sender_role} access; routing needs {gate.permission}",
        )
    if not facts.fork:
        return GateDecision(True, f"@{facts.sender} has {facts.sender_role} access")
    if facts.author_role is not None and role_at_least(facts.author_role, gate.fork_permission):
        return GateDecision(True, f"fork PR by @{facts.author}, who has {facts.author_role} access")
    label = gate.approval_label
    if label is None:
        return GateDecision(
            False,
            f"fork PR by @{facts.author} ({facts.author_role or 'none'} access): the author "
            f"needs {gate.fork_permission} access (no approval label is configured)",
        )
    sha = facts.head_sha or ""
    if (
        facts.applied is not None
        and facts.applied.casefold() == label.casefold()
        and role_at_least(facts.sender_role, gate.approval_permission)
    ):
        return GateDecision(
            True, f"commit {sha[:7]} approved by @{facts.sender} with `{label}`", approve_sha=sha
        )
    if sha and sha in facts.approved_shas:
        return GateDecision(True, f"commit {sha[:7]} was approved with `{label}`")
    return GateDecision(
        False,
        f"awaiting approval: fork PR by @{facts.author} ({facts.author_role or 'none'} access); "
        f"someone with {gate.approval_permission} access applies `{label}` to approve commit "
        f"{sha[:7] or '(unknown)'} (re-apply it after new pushes)",
        awaiting_approval=True,
    )


# Event actions that may start work. Removing a label or closing never starts anything.
STARTING_ACTIONS = ("", "labeled", "opened", "reopened", "synchronize")


def starts_work(action: str) -> bool:
    return action in STARTING_ACTIONS


def revokes_approval(gate: Gate, action: str, label: str | None) -> bool:
    """A push (``synchronize``), closing, or removing the approval label withdraws approvals.

    Approvals are recorded per head commit; withdrawing them all also covers a force-push back
    to a commit approved earlier.
    """
    if action in ("synchronize", "closed"):
        return True
    return (
        action == "unlabeled"
        and gate.approval_label is not None
        and label is not None
        and label.casefold() == gate.approval_label.casefold()
    )


def route_matches(route: Route, labels: Sequence[str], kind: str, base_ref: str | None) -> bool:
    have = {n.casefold() for n in labels}
    if any(n.casefold() not in have for n in route.labels):
        return False
    if route.any_labels and not any(n.casefold() in have for n in route.any_labels):
        return False
    if any(n.casefold() in have for n in route.not_labels):
        return False
    if route.events and kind not in route.events:
        return False
    if route.branches:
        if base_ref is None:
            return False
        return any(fnmatch.fnmatchcase(base_ref, pattern) for pattern in route.branches)
    return True


def match_routes(
    routes: Sequence[Route], subject: Subject, labels: Sequence[str] | None = None
) -> tuple[Route, ...]:
    present = subject.labels if labels is None else labels
    return tuple(r for r in routes if route_matches(r, present, subject.kind, subject.base_ref))


def dispatch_key(route: Route, sha: str) -> str:
    """What the marker records so the same route runs once per commit."""
    return f"{route.name}@{sha}"


def build_plan(route: Route, subject: Subject, sha: str) -> dict[str, Any]:
    """The JSON a workflow reads: ``fromJSON(needs.route.outputs.plan).runs-on``."""
    dispatch: dict[str, Any] | None = None
    if route.dispatch is not None:
        d = route.dispatch
        if d.workflow:
            dispatch = {
                "workflow": d.workflow,
                "ref": d.ref,
                "inputs": workflow_inputs(route, subject, sha),
            }
        else:
            dispatch = {"event-type": d.event_type}
    return {
        "route": route.name,
        "runs-on": list(route.runs_on),
        "container": route.container or "",
        "env": dict(route.env),
        "timeout-minutes": route.timeout_minutes,
        "number": subject.number,
        "title": subject.title,  # data for the command's environment, never for a shell line
        "kind": subject.kind,
        "fork": subject.fork,
        "sha": sha,
        "labels": list(subject.labels),
        "dispatch": dispatch,
    }


def workflow_inputs(route: Route, subject: Subject, sha: str) -> dict[str, str]:
    """workflow_dispatch inputs: the configured ones, the number and the approved SHA, which
    the dispatched workflow checks out exactly (never the PR's moving head)."""
    assert route.dispatch is not None
    inputs = dict(route.dispatch.inputs)
    inputs[route.dispatch.number_input] = str(subject.number)
    inputs[route.dispatch.sha_input] = sha
    return inputs


def dispatch_payload(route: Route, subject: Subject, sha: str) -> dict[str, Any]:
    """repository_dispatch's client_payload (GitHub allows at most 10 top-level keys)."""
    return {
        "number": subject.number,
        "route": route.name,
        "kind": subject.kind,
        "sha": sha,
        "labels": list(subject.labels),
    }


def matrix(plans: Sequence[dict[str, Any]]) -> dict[str, Any]:
    return {"include": list(plans)}
