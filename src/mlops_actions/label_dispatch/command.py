"""`mlops-actions label-dispatch`: sync, validate, route, report, docs and lint modes."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from mlops_actions.command import Command, Context, Outcome
from mlops_actions.config import DEFAULT_PATHS, Config, load_config, parse_config
from mlops_actions.errors import ConfigError, ExitCode, GitHubError, UsageError, with_fix
from mlops_actions.files import read_named_file, write_atomically
from mlops_actions.github_client import connect, options_from_context
from mlops_actions.label_dispatch.api import RepoApi
from mlops_actions.label_dispatch.docs import render_labels_md
from mlops_actions.label_dispatch.event import PULL_EVENTS, Event, Subject, parse_event
from mlops_actions.label_dispatch.gpu import gpu_rows
from mlops_actions.label_dispatch.lint import lint_all
from mlops_actions.label_dispatch.marker import (
    Marker,
    MarkerState,
    RunStatus,
    find_marker,
    flatten_metrics,
    normalize_status,
    render_comment,
    transition,
)
from mlops_actions.label_dispatch.model import Route, Settings, settings_from_config
from mlops_actions.label_dispatch.route import (
    GateDecision,
    GateFacts,
    build_plan,
    decide_gate,
    dispatch_key,
    dispatch_payload,
    match_routes,
    matrix,
    revokes_approval,
    starts_work,
    workflow_inputs,
)
from mlops_actions.label_dispatch.sync import plan_sync, render_plan
from mlops_actions.label_dispatch.taxonomy import (
    check_labels,
    missing_required,
    needs_sender_role,
    valid_labels,
)
from mlops_actions.parse import ParseError, loads_json
from mlops_actions.runner import load_event

Mode = Literal["sync", "validate", "route", "report", "docs", "lint"]


@dataclass(frozen=True)
class LabelDispatchInputs:
    mode: Mode = field(
        default="validate",
        metadata={
            "help": "sync, validate, route, report, docs or lint (see docs/label-dispatch.md)."
        },
    )
    config: str = field(
        default="", metadata={"metavar": "FILE", "help": "Config file (default .github/mlops.yml)."}
    )
    config_ref: str = field(
        default="",
        metadata={
            "metavar": "REF",
            "help": "Read the config file at this commit through the API instead of from disk "
            "(a PR's base SHA, so a PR cannot change its own gate).",
        },
    )
    working_directory: str = field(
        default="",
        metadata={"metavar": "PATH", "help": "Repository root (default: the workspace)."},
    )
    token: str = field(
        default="",
        metadata={
            "metavar": "TOKEN",
            "secret": True,
            "help": "GitHub token (default: GITHUB_TOKEN).",
        },
    )
    repository: str = field(
        default="",
        metadata={
            "metavar": "OWNER/NAME",
            "help": "owner/name (default: the workflow's repository).",
        },
    )
    dry_run: Literal["auto", "true", "false"] = field(
        default="auto",
        metadata={"help": "Plan only. auto: dry run for sync on pull_request events, else apply."},
    )
    delete_unmanaged: Literal["config", "true", "false"] = field(
        default="config",
        metadata={
            "help": "sync: delete labels not in the config (config: as delete-unmanaged says)."
        },
    )
    event_path: str = field(
        default="",
        metadata={"metavar": "FILE", "help": "Webhook payload file (default: GITHUB_EVENT_PATH)."},
    )
    event_name: str = field(
        default="",
        metadata={"metavar": "EVENT", "help": "Event name (default: GITHUB_EVENT_NAME)."},
    )
    number: int | None = field(
        default=None,
        metadata={
            "metavar": "NUMBER",
            "help": "Issue or PR number when the event names none (report, workflow_dispatch).",
        },
    )
    plan: str = field(
        default="",
        metadata={
            "metavar": "JSON",
            "help": "report: the plan output of route (gives the number and route).",
        },
    )
    status: str = field(
        default="",
        metadata={
            "metavar": "STATUS",
            "help": "report: queued, running, succeeded, failed, cancelled (or job.status words).",
        },
    )
    run_url: str = field(
        default="",
        metadata={
            "metavar": "URL",
            "help": "report: link to the run (default: this workflow run).",
        },
    )
    result: str = field(
        default="",
        metadata={"metavar": "MARKDOWN", "help": "report: a short result summary (Markdown)."},
    )
    metrics_file: str = field(
        default="",
        metadata={
            "metavar": "FILE",
            "help": "report: JSON file whose values are shown as a metrics table.",
        },
    )
    labels_file: str = field(
        default="LABELS.md", metadata={"metavar": "FILE", "help": "docs: the file to write."}
    )
    gpu_report: str = field(
        default="",
        metadata={
            "metavar": "JSON",
            "help": "report: gpu-monitor's `gpus` output; one row per GPU in the comment.",
        },
    )
    check: bool = field(
        default=False,
        metadata={"help": "docs: fail when the file is out of date instead of writing it."},
    )
    workflows: str = field(
        default=".github/workflows",
        metadata={"metavar": "PATH", "help": "lint: folder of workflow files to check."},
    )


@dataclass
class Run:
    """What every mode has at hand once inputs, config and event are read."""

    inputs: LabelDispatchInputs
    ctx: Context
    root: Path
    config: Config
    settings: Settings
    event: Event
    payload: dict[str, Any]
    _api: RepoApi | None = None

    @property
    def repository(self) -> str:
        repo = self.payload.get("repository")
        from_event = str(repo.get("full_name", "")) if isinstance(repo, dict) else ""
        return self.inputs.repository or self.ctx.github.get("GITHUB_REPOSITORY") or from_event

    def api(self) -> RepoApi:
        if self._api is None:
            if not self.repository:
                raise UsageError(
                    "no repository given",
                    fix="give {input} as owner/name, or run inside a workflow.",
                    input="repository",
                )
            token = self.inputs.token or self.ctx.github.get("GITHUB_TOKEN", "")
            self._api = RepoApi(
                connect(token, options_from_context(self.ctx.github)), self.repository
            )
        return self._api

    def dry(self, mode_default: bool) -> bool:
        if self.inputs.dry_run == "auto":
            return mode_default
        return self.inputs.dry_run == "true"

    def subject(self) -> Subject:
        if self.inputs.number is not None and (
            self.event.subject is None or self.event.subject.number != self.inputs.number
        ):
            return self.api().subject(self.inputs.number)
        if self.event.subject is None:
            raise UsageError(
                f"the {self.event.name or 'current'} event names no issue or pull request",
                fix="run on issues or pull_request events, or give {input}.",
                input="number",
            )
        return self.event.subject


def run(inputs: LabelDispatchInputs, ctx: Context) -> Outcome:
    root = ctx.workspace(inputs.working_directory)
    event_path = inputs.event_path or ctx.github.get("GITHUB_EVENT_PATH", "")
    if inputs.event_path and not Path(event_path).is_absolute():
        event_path = str(root / event_path)
    payload = load_event(event_path)
    name = inputs.event_name or ctx.github.get("GITHUB_EVENT_NAME", "")
    state = Run(
        inputs,
        ctx,
        root,
        Config(path=None, data={}),
        Settings(),
        parse_event(name, payload),
        payload,
    )
    if inputs.config_ref:
        state.config = _config_at(state, inputs.config or DEFAULT_PATHS[0], inputs.config_ref)
    else:
        state.config = load_config(
            Path(inputs.config) if inputs.config else None, root=root, required=bool(inputs.config)
        )
    state.settings = settings_from_config(state.config)
    handler = {
        "sync": run_sync,
        "validate": run_validate,
        "route": run_route,
        "report": run_report,
        "docs": run_docs,
        "lint": run_lint,
    }[inputs.mode]
    return handler(state)


def _config_at(r: Run, path: str, ref: str) -> Config:
    text = r.api().file_text(path, ref)
    if text is None:
        if r.inputs.config:
            raise ConfigError(
                f"config file {path} does not exist at {ref}",
                fix="commit it to the base branch, or point {input} elsewhere.",
                input="config",
            )
        return Config(path=None, data={})
    return parse_config(text, f"{path}@{ref[:12]}")


# -- sync ---------------------------------------------------------------------------------------


def run_sync(r: Run) -> Outcome:
    runner = r.ctx.runner
    _require_labels(r, "before syncing")
    delete = (
        r.settings.delete_unmanaged
        if r.inputs.delete_unmanaged == "config"
        else r.inputs.delete_unmanaged == "true"
    )
    dry = r.dry(r.event.name in PULL_EVENTS)
    api = r.api()
    plan = plan_sync(
        r.settings.labels, api.list_labels(), exclude=r.settings.exclude, delete_unmanaged=delete
    )
    for action in plan.actions:
        if action.kind == "unchanged":
            continue
        target = f" -> {action.new_name}" if action.new_name else ""
        runner.print(
            f"{action.kind:<9} {action.name}{target}"
            + (f"  ({action.reason})" if action.reason else "")
        )
    runner.print(f"{plan.count('unchanged')} label(s) unchanged")
    runner.summary(render_plan(plan, dry_run=dry))
    applied = 0
    if not dry:
        for action in plan.changes:
            if action.kind == "create":
                api.create_label(action.name, action.color or "ededed", action.description or "")
            elif action.kind in ("update", "rename"):
                api.update_label(
                    action.name,
                    new_name=action.new_name,
                    color=action.color or "ededed",
                    description=action.description,
                )
            elif action.kind == "delete":
                api.delete_label(action.name)
            applied += 1
    for action in plan.refused:
        runner.error(action.reason, title="label rename refused")
    ok = not plan.refused
    changes = [
        {"action": a.kind, "name": a.name, "new_name": a.new_name, "reason": a.reason}
        for a in plan.changes
    ]
    runner.set_outputs({"ok": ok, "changes": len(plan.changes), "plan": changes, "dry-run": dry})
    return Outcome(
        ExitCode.OK if ok else ExitCode.FINDINGS,
        {
            "ok": ok,
            "dry_run": dry,
            "applied": applied,
            "changes": changes,
            "refused": [a.reason for a in plan.refused],
            "counts": {
                k: plan.count(k)
                for k in (
                    "create",
                    "update",
                    "rename",
                    "delete",
                    "keep",
                    "unchanged",
                    "exclude",
                    "refuse",
                )
            },
        },
    )


# -- marker comment -----------------------------------------------------------------------------


def read_marker(r: Run, number: int) -> Marker | None:
    return find_marker(r.api().comments(number), r.settings.comment_author)


def write_marker(r: Run, subject: Subject, marker: Marker | None, state: MarkerState) -> int | None:
    """Create or update the one marker comment; unchanged text costs no request.

    A fork PR's ``pull_request`` run has a read-only token: the write is skipped with a warning
    rather than failing the check.
    """
    body = render_comment(state, valid_labels(r.settings))
    if marker is not None and marker.body == body:
        return marker.comment_id
    try:
        if marker is not None:
            r.api().edit_comment(marker.comment_id, body)
            return marker.comment_id
        return r.api().create_comment(subject.number, body)
    except GitHubError as error:
        if subject.fork and r.event.name == "pull_request":
            r.ctx.runner.warning(
                f"cannot write the status comment on fork PR #{subject.number} with the "
                f"read-only token GitHub gives such runs ({error.message})"
            )
            return marker.comment_id if marker else None
        raise


# -- validate -----------------------------------------------------------------------------------


def run_validate(r: Run) -> Outcome:
    runner = r.ctx.runner
    if r.event.name == "label":
        return _validate_label_event(r)
    subject = r.subject()
    applied = r.event.label if r.event.labeled else None
    api = r.api()
    role = api.role(r.event.sender) if needs_sender_role(r.settings, applied) else None
    labels = subject.labels
    if applied and all(n.casefold() != applied.casefold() for n in labels):
        labels = (*labels, applied)
    result = check_labels(
        r.settings, labels, applied=applied, sender=r.event.sender, sender_role=role
    )
    for name in result.remove:
        api.remove_label(subject.number, name)
        runner.warning(f"removed label `{name}` from #{subject.number}")
    marker = read_marker(r, subject.number)
    messages = tuple(p.message for p in result.problems)
    comment_id: int | None = None
    if messages or marker is not None:
        base = marker.state if marker else MarkerState()
        comment_id = write_marker(
            r, subject, marker, replace(base, labels_checked=True, problems=messages)
        )
    for message in messages:
        runner.error(message.replace("`", ""), title=f"labels of #{subject.number}")
    runner.summary(
        f"### Labels of #{subject.number}\n\n"
        + ("\n".join(f"- {m}" for m in messages) if messages else "The labels follow the taxonomy.")
    )
    runner.set_outputs(
        {"ok": not messages, "problems": len(messages), "comment-id": comment_id or ""}
    )
    return Outcome(
        ExitCode.FINDINGS if messages else ExitCode.OK,
        {
            "ok": not messages,
            "number": subject.number,
            "problems": list(messages),
            "removed": list(result.remove),
            "comment_id": comment_id,
        },
    )


def _validate_label_event(r: Run) -> Outcome:
    """A label created or renamed in the web UI: warn when the config does not know it."""
    name = r.event.label or ""
    known = r.settings.label(name) is not None or r.settings.excluded(name)
    if r.event.action in ("created", "edited") and r.settings.labels and not known:
        r.ctx.runner.warning(
            f"label `{name}` was {r.event.action} by @{r.event.sender} outside the config; add "
            "it to label-dispatch.labels, or the next sync with delete-unmanaged removes it"
        )
        problems = [f"`{name}` is not in the config"]
    else:
        problems = []
    r.ctx.runner.set_outputs({"ok": not problems, "problems": len(problems), "comment-id": ""})
    return Outcome(ExitCode.OK, {"ok": not problems, "label": name, "problems": problems})


# -- route --------------------------------------------------------------------------------------


def run_route(r: Run) -> Outcome:
    runner = r.ctx.runner
    subject = r.subject()
    api = r.api()
    dry = r.dry(False)
    gate = r.settings.gate
    action = r.event.action if r.event.subject is not None else ""
    marker = read_marker(r, subject.number)
    base = marker.state if marker else MarkerState()
    revoked = revokes_approval(gate, action, r.event.label) and bool(base.approved)
    approved = () if revokes_approval(gate, action, r.event.label) else base.approved
    sha = subject.head_sha or r.ctx.github.get("GITHUB_SHA", "")
    if starts_work(action):
        sender = r.event.sender or r.ctx.github.get("GITHUB_ACTOR", "")
        sender_role = api.role(sender)
        author_role = None
        if subject.fork:
            author_role = sender_role if subject.author == sender else api.role(subject.author)
        decision = decide_gate(
            gate,
            GateFacts(
                sender=sender,
                sender_role=sender_role,
                fork=subject.fork,
                author=subject.author,
                author_role=author_role,
                head_sha=sha,
                applied=r.event.label if r.event.labeled else None,
                approved_shas=approved,
            ),
        )
    else:
        decision = GateDecision(False, f"a `{action}` event starts nothing")
    if revoked:
        decision = replace(
            decision, reason=decision.reason + "; earlier approvals were withdrawn (" + action + ")"
        )
    if action == "synchronize" and not dry:
        _remove_approval_label(r, subject)
    missing = missing_required(r.settings, subject.labels)
    matched = match_routes(r.settings.routes, subject) if decision.allowed else ()
    rerun = int(r.ctx.github.get("GITHUB_RUN_ATTEMPT", "1") or "1") > 1
    plans: list[dict[str, Any]] = []
    skipped: list[str] = []
    if missing and matched:
        skipped = [f"{rt.name}: missing a label of category {', '.join(missing)}" for rt in matched]
        matched = ()
    new_keys: list[str] = []
    to_dispatch: list[tuple[Route, str]] = []
    for route in matched:
        key = dispatch_key(route, sha)
        if key in base.dispatched and not rerun:
            skipped.append(f"{route.name}: already started for commit {sha[:7]}")
            continue
        plans.append(build_plan(route, subject, sha))
        new_keys.append(key)
        if route.dispatch is not None and not dry:
            to_dispatch.append((route, key))
    gate_text = ("Not routed: " if not decision.allowed else "") + decision.reason
    if decision.allowed and not matched and not skipped:
        gate_text += "; no route matches the labels"
    state = replace(
        base,
        # An event that starts nothing and withdraws nothing leaves the comment as it was.
        gate=gate_text if starts_work(action) or revoked else base.gate,
        routes=tuple(p["route"] for p in plans) or base.routes,
        dispatched=base.dispatched + tuple(k for k in new_keys if k not in base.dispatched),
        approved=approved
        + (
            (decision.approve_sha,)
            if decision.approve_sha and decision.approve_sha not in approved
            else ()
        ),
    )
    comment_id = marker.comment_id if marker else None
    # The record is written before anything starts, so a lost answer below never starts a
    # route twice. No comment for an event that changes nothing; identical text is not rewritten.
    if not dry and (
        marker is not None
        or plans
        or decision.approve_sha
        or (not decision.allowed and starts_work(action))
    ):
        comment_id = write_marker(r, subject, marker, state)
    for route, key in to_dispatch:
        try:
            _dispatch(r, route, subject, sha)
        except GitHubError as error:
            if not error.ambiguous:
                # Nothing started: drop the record so the next event may try again.
                kept = tuple(k for k in state.dispatched if k != key)
                current = (
                    Marker(comment_id, render_comment(state, valid_labels(r.settings)), state)
                    if comment_id
                    else None
                )
                write_marker(r, subject, current, replace(state, dispatched=kept))
                raise
            runner.warning(
                f"route {route.name}: GitHub did not answer the dispatch in time ({error.message}); "
                "it may have started, so it is not sent again. If no run appears, re-run this "
                "workflow."
            )
    runner.print(gate_text)
    for line in skipped:
        runner.notice(f"not routed: {line}")
    for plan in plans:
        runner.print(
            f"route {plan['route']}: runs-on {plan['runs-on']}"
            + (f" in {plan['container']}" if plan["container"] else "")
        )
    runner.summary(_route_summary(subject, gate_text, plans, skipped, dry))
    first = plans[0] if plans else {}
    runner.set_outputs(
        {
            "ok": True,
            "routed": bool(plans),
            "plan": first,
            "matrix": matrix(plans),
            "dispatched": sum(1 for p in plans if p["dispatch"]),
            "comment-id": comment_id or "",
            "number": subject.number,
        }
    )
    return Outcome(
        ExitCode.OK,
        {
            "ok": True,
            "allowed": decision.allowed,
            "reason": decision.reason,
            "awaiting_approval": decision.awaiting_approval,
            "revoked": revoked,
            "plans": plans,
            "skipped": skipped,
            "dry_run": dry,
            "comment_id": comment_id,
        },
    )


def _remove_approval_label(r: Run, subject: Subject) -> None:
    """After a push the approval label is taken off, so approving the new commit is one click."""
    label = r.settings.gate.approval_label
    if label and any(n.casefold() == label.casefold() for n in subject.labels):
        r.api().remove_label(subject.number, label)
        r.ctx.runner.notice(
            f"#{subject.number} got new commits: `{label}` removed until re-approved"
        )


def _dispatch(r: Run, route: Route, subject: Subject, sha: str) -> None:
    d = route.dispatch
    assert d is not None
    if d.workflow:
        repo = r.payload.get("repository")
        default = repo.get("default_branch") if isinstance(repo, dict) else None
        r.api().dispatch_workflow(
            d.workflow, d.ref or default or "main", workflow_inputs(route, subject, sha)
        )
    else:
        r.api().repository_dispatch(d.event_type or "", dispatch_payload(route, subject, sha))


def _route_summary(
    subject: Subject, gate: str, plans: list[dict[str, Any]], skipped: list[str], dry: bool
) -> str:
    kind = "PR" if subject.is_pull else "issue"
    lines = [f"### Routing {kind} #{subject.number}" + (" (dry run)" if dry else ""), "", gate, ""]
    if plans:
        lines += [
            "| route | runs-on | container | timeout | starts |",
            "| --- | --- | --- | --- | --- |",
        ]
        for p in plans:
            d = p["dispatch"] or {}
            starts = d.get("workflow") or d.get("event-type") or "—"
            lines.append(
                f"| `{p['route']}` | {', '.join(p['runs-on'])} | "
                f"{p['container'] or '—'} | {p['timeout-minutes']} min | {starts} |"
            )
    lines += [f"- not routed: {s}" for s in skipped]
    return "\n".join(lines)


# -- report -------------------------------------------------------------------------------------


def run_report(r: Run) -> Outcome:
    runner = r.ctx.runner
    plan = _plan_input(r.inputs.plan)
    number = r.inputs.number if r.inputs.number is not None else plan.get("number")
    if number is None and r.event.subject is not None:
        number = r.event.subject.number
    if number is None:
        raise UsageError(
            "report needs an issue or PR number",
            fix="give {input}, or the route job's plan (`plan: ${{ needs.route.outputs.plan }}`).",
            input="number",
        )
    status = normalize_status(r.inputs.status)
    if status is None:
        raise UsageError(
            f"{r.inputs.status!r} is not a status",
            fix="use queued, running, succeeded, failed or cancelled (or ${{ job.status }}).",
            input="status",
        )
    gh = r.ctx.github
    run_url = r.inputs.run_url or (
        f"{gh.get('GITHUB_SERVER_URL', 'https://github.com')}/{r.repository}/actions/runs/"
        f"{gh['GITHUB_RUN_ID']}"
        if gh.get("GITHUB_RUN_ID")
        else ""
    )
    metrics = _metrics(r) if r.inputs.metrics_file else ()
    if r.inputs.gpu_report.strip():
        rows = gpu_rows(r.inputs.gpu_report)
        if rows is None:
            runner.warning(
                with_fix(
                    f"{runner.refer('gpu-report')} is not gpu-monitor's `gpus` output; "
                    "left out of the comment",
                    "pass `${{ steps.<gpu-monitor step>.outputs.gpus }}` unchanged.",
                )
            )
        metrics += rows or ()
    marker = read_marker(r, int(number))
    base = marker.state if marker else MarkerState()
    allowed, why = transition(base.run, status, run_url)
    if not allowed:
        runner.notice(f"status comment of #{number} left as it is: {why}")
        runner.set_outputs(
            {
                "ok": True,
                "comment-id": marker.comment_id if marker else "",
                "status": base.run.status if base.run else "",
            }
        )
        return Outcome(ExitCode.OK, {"ok": True, "updated": False, "reason": why})
    route = str(plan.get("route", "")) or (base.run.route if base.run else "")
    state = replace(base, run=RunStatus(status, run_url, route, r.inputs.result.strip(), metrics))
    subject = (
        r.event.subject
        if (r.event.subject and r.event.subject.number == number)
        else Subject(int(number), bool(plan.get("kind") == "pull_request"), "", ())
    )
    comment_id = write_marker(r, subject, marker, state)
    moved = _move_status_labels(r, subject, status)
    runner.summary(f"### Status of #{number}: {status}\n\n{r.inputs.result.strip()}")
    runner.set_outputs({"ok": True, "comment-id": comment_id or "", "status": status})
    return Outcome(
        ExitCode.OK,
        {"ok": True, "updated": True, "status": status, "comment_id": comment_id, "labels": moved},
    )


def _plan_input(text: str) -> dict[str, Any]:
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"not JSON ({exc.msg})",
            fix="pass the route step's `plan` output (`${{ needs.route.outputs.plan }}`) unchanged.",
            input="plan",
        ) from None
    return data if isinstance(data, dict) else {}


def _metrics(r: Run) -> tuple[tuple[str, str], ...]:
    path = Path(r.inputs.metrics_file)
    if not path.is_absolute():
        path = r.root / path
    if not path.exists():
        raise UsageError(
            f"{r.inputs.metrics_file} does not exist",
            fix="write the metrics JSON before the report step, or drop {input}.",
            input="metrics-file",
        )
    # The job under test wrote it: read it as untrusted data (size, nesting, numbers).
    text, shown = read_named_file(path, r.root)
    try:
        data = loads_json(text)
    except ParseError as exc:
        raise UsageError(
            f"{r.inputs.metrics_file} is not usable JSON ({exc.message})",
            fix='write a JSON object such as {"loss": 0.12, "accuracy": 0.97}.',
            file=shown,
            line=exc.line,
            input="metrics-file",
        ) from None
    return flatten_metrics(data, r.settings.report.max_metrics)


def _move_status_labels(r: Run, subject: Subject, status: str) -> dict[str, list[str]]:
    configured = dict(r.settings.report.status_labels)
    if not configured:
        return {"added": [], "removed": []}
    target = configured.get(status)
    others = {lb.casefold() for s, lb in configured.items() if s != status}
    # The payload's labels predate earlier report steps of this run: ask for the current ones.
    labels = tuple(r.api().issue_labels(subject.number))
    removed = [n for n in labels if n.casefold() in others]
    for name in removed:
        r.api().remove_label(subject.number, name)
    added: list[str] = []
    if target and all(n.casefold() != target.casefold() for n in labels):
        r.api().add_labels(subject.number, [target])
        added.append(target)
    return {"added": added, "removed": removed}


# -- docs and lint ------------------------------------------------------------------------------


def _require_labels(r: Run, when: str) -> None:
    """Refuse (exit 2) a mode that has nothing to work on without labels in the config."""
    if not r.settings.labels:
        raise r.config.error(
            ("label-dispatch", "labels"),
            "no labels are configured",
            f"list the labels (name, color, description) under `label-dispatch.labels` in "
            f".github/mlops.yml {when}.",
        )


def run_docs(r: Run) -> Outcome:
    runner = r.ctx.runner
    # A LABELS.md that says "no labels" would be committed as if it documented something.
    _require_labels(r, f"to generate {r.inputs.labels_file} from them")
    text = render_labels_md(r.settings)
    path = r.root / r.inputs.labels_file
    current = read_named_file(path, r.root)[0] if path.is_file() else None
    if r.inputs.check:
        fresh = current == text
        if not fresh:
            runner.error(
                with_fix(
                    f"{r.inputs.labels_file} is out of date with the config",
                    "run `mlops-actions label-dispatch --mode docs` and commit the file.",
                ),
                file=r.inputs.labels_file,
            )
        runner.set_outputs({"ok": fresh, "changed": not fresh})
        return Outcome(
            ExitCode.OK if fresh else ExitCode.FINDINGS, {"ok": fresh, "path": r.inputs.labels_file}
        )
    changed = current != text
    if changed:
        write_atomically(path, text, what="labels-file")
    runner.print(f"{'wrote' if changed else 'unchanged'}: {r.inputs.labels_file}")
    runner.set_outputs({"ok": True, "changed": changed})
    return Outcome(ExitCode.OK, {"ok": True, "path": r.inputs.labels_file, "changed": changed})


def run_lint(r: Run) -> Outcome:
    runner = r.ctx.runner
    folder = r.root / r.inputs.workflows
    workflows: list[tuple[str, str]] = []
    if folder.is_dir():
        for path in sorted([*folder.glob("*.yml"), *folder.glob("*.yaml")]):
            text, shown = read_named_file(path, r.root)
            workflows.append((shown, text))
    findings = lint_all(r.settings, r.config, workflows) if r.settings.labels else []
    if not r.settings.labels:
        runner.notice("no labels are configured: nothing to lint against")
    for f in findings:
        runner.error(f.message, file=f.file, line=f.line, col=f.col, title="unknown label")
    ok = not findings
    runner.summary(
        "### Label lint\n\n"
        + (
            "Every label named in routes and workflows exists."
            if ok
            else "\n".join(f"- `{f.file}:{f.line}`: {f.message}" for f in findings)
        )
    )
    runner.set_outputs({"ok": ok, "problems": len(findings)})
    return Outcome(
        ExitCode.OK if ok else ExitCode.FINDINGS,
        {
            "ok": ok,
            "findings": [
                {
                    "file": f.file,
                    "line": f.line,
                    "col": f.col,
                    "label": f.label,
                    "message": f.message,
                }
                for f in findings
            ],
            "workflows": [w[0] for w in workflows],
        },
    )


COMMAND = Command(
    name="label-dispatch",
    summary="Labels as code: sync, validate, route labelled issues and PRs to runners, report back.",
    inputs=LabelDispatchInputs,
    run=run,
    positional=("mode",),
)
