"""`mlops-actions milestone-release`: release a closed milestone, or keep milestones as code."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from mlops_actions.command import Command, Context, Outcome
from mlops_actions.config import load_config
from mlops_actions.errors import ExitCode, UsageError
from mlops_actions.github_client import connect, options_from_context
from mlops_actions.milestone_release.after import Commented, comment_released, dispatch_after
from mlops_actions.milestone_release.checkout import files_at
from mlops_actions.milestone_release.gh import RepoClient
from mlops_actions.milestone_release.model import Item, MilestoneInfo, ReleaseInfo
from mlops_actions.milestone_release.notes import build_notes, compare_url, summary_line
from mlops_actions.milestone_release.pins_check import (
    DeclarationError,
    Declared,
    check_pins,
    declared_environment,
)
from mlops_actions.milestone_release.plan import plan_milestones, progress, progress_markdown
from mlops_actions.milestone_release.release import (
    DesiredRelease,
    ReleaseRefused,
    gate_error,
    has_marker,
    make_latest_for,
    open_items,
    plan_major_tag,
    plan_release,
    plan_tag,
    reopen_comment,
)
from mlops_actions.milestone_release.settings import Settings, settings_from_config
from mlops_actions.milestone_release.version import (
    major_tag_for,
    previous_tag,
    tag_for,
    version_from_title,
)
from mlops_actions.runner import Runner, load_event

DEFAULT_SERVER_URL = "https://github.com"


@dataclass(frozen=True)
class MilestoneReleaseInputs:
    mode: Literal["release", "plan"] = field(
        default="release",
        metadata={
            "help": "release: tag and release a milestone; plan: sync milestones from config."
        },
    )
    milestone: int | None = field(
        default=None,
        metadata={
            "metavar": "NUMBER",
            "help": "Milestone number (default: the milestone of the triggering event).",
        },
    )
    target: str = field(
        default="",
        metadata={
            "metavar": "REF",
            "help": "Branch or commit SHA to tag (default: default branch head).",
        },
    )
    dry_run: bool = field(
        default=False, metadata={"help": "Print the tag, release and notes; change nothing."}
    )
    draft: bool | None = field(
        default=None, metadata={"help": "Create the release as a draft (default: from config)."}
    )
    make_latest: Literal["true", "false", "legacy"] = field(
        default="true", metadata={"help": "Mark as latest release; pre-releases never are."}
    )
    move_major_tag: bool | None = field(
        default=None, metadata={"help": "Move the major tag (v2) to the release (default: config)."}
    )
    open_items: Literal["fail", "reopen", "warn"] | None = field(
        default=None,
        metadata={"help": "Open items left: fail, reopen (and comment) or warn (default: config)."},
    )
    dispatch: str = field(
        default="",
        metadata={
            "metavar": "WORKFLOW",
            "help": "Workflow to start on the new tag once the release is created (file name "
            "such as publish.yml, with `on: workflow_dispatch`; needs actions: write).",
        },
    )
    released_comment: bool = field(
        default=False,
        metadata={
            "help": "Comment 'released in <tag>' on every shipped issue and merged pull "
            "request of the milestone, once per item (needs issues: write)."
        },
    )
    config: str = field(
        default="", metadata={"metavar": "FILE", "help": "Config file (default .github/mlops.yml)."}
    )
    working_directory: str = field(
        default="",
        metadata={"metavar": "PATH", "help": "Repository checkout (default: the workspace)."},
    )
    repository: str = field(
        default="",
        metadata={"metavar": "OWNER/NAME", "help": "owner/name (default: this repository)."},
    )
    token: str = field(
        default="",
        metadata={
            "metavar": "TOKEN",
            "help": "GitHub token (default: GITHUB_TOKEN).",
            "secret": True,
        },
    )


def run(inputs: MilestoneReleaseInputs, ctx: Context) -> Outcome:
    root = ctx.workspace(inputs.working_directory)
    config = load_config(
        Path(inputs.config) if inputs.config else None, root=root, required=bool(inputs.config)
    )
    settings = settings_from_config(config)
    repository = inputs.repository or ctx.github.get("GITHUB_REPOSITORY", "")
    if not repository:
        raise UsageError(
            "no repository given",
            fix="give {input} as owner/name, or set GITHUB_REPOSITORY.",
            input="repository",
        )
    event = load_event(ctx.github.get("GITHUB_EVENT_PATH"))
    if inputs.mode == "plan":
        return _plan(inputs, ctx, settings, repository)
    return _release(inputs, ctx, settings, repository, root, event)


def _client(inputs: MilestoneReleaseInputs, ctx: Context, repository: str) -> RepoClient:
    token = inputs.token or ctx.github.get("GITHUB_TOKEN", "")
    return RepoClient(connect(token, options_from_context(ctx.github)), repository)


def _event_milestone(ctx: Context, event: dict[str, Any]) -> int | None:
    if ctx.github.get("GITHUB_EVENT_NAME") == "milestone":
        number = (event.get("milestone") or {}).get("number")
        return int(number) if isinstance(number, int) else None
    return None


# -- release ------------------------------------------------------------------------------------


def _release(
    inputs: MilestoneReleaseInputs,
    ctx: Context,
    settings: Settings,
    repository: str,
    root: Path,
    event: dict[str, Any],
) -> Outcome:
    runner = ctx.runner
    event_name = ctx.github.get("GITHUB_EVENT_NAME", "")
    if event_name == "milestone" and event.get("action") != "closed":
        action = event.get("action") or "unknown"
        runner.notice(
            f"milestone-release acts when a milestone is closed; this event is milestone "
            f"`{action}`, so there is nothing to do"
        )
        runner.set_outputs({"ok": True, "skipped": True})
        return Outcome(ExitCode.OK, {"ok": True, "skipped": True, "reason": f"milestone {action}"})
    number = inputs.milestone or _event_milestone(ctx, event)
    if number is None:
        raise UsageError(
            "no milestone to release",
            fix="run on `milestone: types: [closed]`, or give {input} a milestone number.",
            input="milestone",
        )
    client = _client(inputs, ctx, repository)
    milestone, items = client.milestone_items(number)
    version = version_from_title(milestone.title, settings.version_pattern)
    template = settings.tag_template
    tag = tag_for(template, version)
    dry = inputs.dry_run
    prefix = "[dry-run] " if dry else ""

    pending = open_items(items)
    mode = inputs.open_items or settings.open_items
    if pending:
        if mode == "fail":
            raise gate_error(milestone.title, pending)
        if mode == "reopen":
            _reopen(client, runner, milestone, pending, settings.comment_limit, dry)
            error = gate_error(milestone.title, pending)
            error.message += "; the milestone was reopened" if not dry else "; would reopen it"
            raise error
        runner.warning(
            f"milestone {milestone.title!r} still has {len(pending)} open item(s); releasing "
            "what was closed and merged (open-items: warn)"
        )

    target = inputs.target or _default_branch(client, event, repository)
    sha = client.resolve(target)
    _check_declared_pins(ctx, milestone, root, sha)

    tag_plan = plan_tag(tag, sha, client.tag(tag))
    newest = client.releases()
    # Published releases are what users got: the compare link starts at the last of them.
    released = [r.tag for r in newest if not r.draft and r.tag != tag]
    previous = previous_tag(template, released, version)
    server = ctx.github.get("GITHUB_SERVER_URL", DEFAULT_SERVER_URL)
    notes = build_notes(
        milestone,
        items,
        categories=settings.categories,
        exclude_labels=settings.exclude_labels,
        other_title=settings.other_title,
        compare_url=compare_url(server, repository, previous, tag),
    )
    draft = settings.draft if inputs.draft is None else inputs.draft
    desired = DesiredRelease(
        tag=tag,
        name=milestone.title,
        body=notes.markdown,
        draft=draft,
        prerelease=version.prerelease,
        make_latest=make_latest_for(inputs.make_latest, version.prerelease),
        target=sha,
    )
    existing = client.release_for(tag, newest)
    release_plan = plan_release(desired, existing)
    move_major = settings.move_major_tag if inputs.move_major_tag is None else inputs.move_major_tag
    major_plan = None
    if move_major and not version.prerelease and not draft:
        major = major_tag_for(template, version)
        major_plan = plan_major_tag(major, sha, client.tag(major))

    runner.print(
        f"{prefix}milestone #{milestone.number} {milestone.title!r}: version {version.text}"
    )
    runner.print(f"{prefix}tag {tag} at {sha}: {tag_plan.action}")
    runner.print(f"{prefix}release {tag}: {release_plan.action}")
    if major_plan is not None:
        runner.print(f"{prefix}major tag {major_plan.name}: {major_plan.action}")
    if dry:
        with runner.group("release notes (dry run)"):
            runner.print(notes.markdown)

    release: ReleaseInfo | None = existing
    if not dry:
        if tag_plan.action == "create":
            message = (
                f"{milestone.title}\n\n{summary_line(items)} in milestone #{milestone.number}."
            )
            made = client.create_tag(tag, message, sha)
            plan_tag(tag, sha, made)  # another run may have made it at another commit
        if release_plan.action == "create":
            release = client.create_release(release_plan.fields)
        elif release_plan.action == "update" and existing is not None:
            release = client.update_release(
                existing.id,
                name=desired.name,
                body=desired.body,
                draft=existing.draft and desired.draft,
                prerelease=desired.prerelease,
                make_latest=desired.make_latest,
            )
        if major_plan is not None and major_plan.action != "keep":
            client.set_tag(major_plan.name, sha, exists=major_plan.action == "move")
    url = release.url if release else ""
    commented = (
        comment_released(
            client, runner, items, tag=tag, url=url, limit=settings.comment_limit, dry=dry
        )
        if inputs.released_comment
        else Commented()
    )
    dispatched = bool(inputs.dispatch) and dispatch_after(
        client,
        runner,
        workflow=inputs.dispatch,
        tag=tag,
        release_created=release_plan.action == "create",
        draft=draft,
        dry=dry,
    )

    outputs: dict[str, Any] = {
        "ok": True,
        "version": version.text,
        "tag": tag,
        "previous-tag": previous or "",
        "prerelease": version.prerelease,
        "release-url": release.url if release else "",
        "release-id": str(release.id) if release else "",
        "notes": notes.markdown,
        "sha": sha,
        "dispatched": dispatched,
        "commented": list(commented.written),
    }
    runner.set_outputs(outputs)
    runner.summary(_release_summary(milestone, items, tag, sha, release, release_plan.action, dry))
    runner.summary(notes.markdown)
    report = dict(outputs)
    report.update(
        {
            "milestone": milestone.number,
            "dry_run": dry,
            "tag_action": tag_plan.action,
            "release_action": release_plan.action,
            "release_changed": list(release_plan.changed),
            "major_tag": None
            if major_plan is None
            else {"name": major_plan.name, "action": major_plan.action},
            "open_items": [i.number for i in pending],
            "comments_present": list(commented.present),
            "comments_left": list(commented.left),
            "contributors": list(notes.contributors),
        }
    )
    return Outcome(ExitCode.OK, report)


def _default_branch(client: RepoClient, event: dict[str, Any], repository: str) -> str:
    repo = event.get("repository") or {}
    # The event already says it; asking the API would cost a request.
    if str(repo.get("full_name", "")).casefold() == repository.casefold():
        branch = repo.get("default_branch")
        if isinstance(branch, str) and branch:
            return branch
    return client.default_branch()


def _reopen(
    client: RepoClient,
    runner: Runner,
    milestone: MilestoneInfo,
    pending: tuple[Item, ...],
    limit: int,
    dry: bool,
) -> None:
    prefix = "[dry-run] would " if dry else ""
    if milestone.state == "closed":
        runner.print(f"{prefix}reopen milestone #{milestone.number} {milestone.title!r}")
        if not dry:
            client.reopen_milestone(milestone.number)
    for item in pending[:limit]:
        # Items without comments need no look: the marker cannot be there.
        if item.comments and has_marker(client.comment_bodies(item.number), milestone.number):
            continue
        runner.print(f"{prefix}comment on #{item.number}")
        if not dry:
            client.comment(
                item.number, reopen_comment(milestone.number, milestone.title, pending, item)
            )
    if len(pending) > limit:
        runner.warning(
            f"{len(pending) - limit} more open item(s) were not commented on (comment-limit {limit})"
        )


def _check_declared_pins(ctx: Context, milestone: MilestoneInfo, root: Path, sha: str) -> None:
    try:
        declared = declared_environment(milestone.description)
    except DeclarationError as exc:
        raise UsageError(
            f"milestone {milestone.title!r}: {exc}",
            fix="correct the `image:` / `torch:` / `cuda:` lines of the milestone description.",
        ) from None
    if not declared:
        return
    from mlops_actions.pins.scan import scan_repo

    runner = ctx.runner
    with files_at(root, sha) as (tree, how):
        if how.startswith("not a git checkout"):
            runner.warning(f"pins check: {root} is {how}; it may not be commit {sha[:12]}")
        runner.print(f"pins check against {how}: {_declared_text(declared)}")
        result = scan_repo(tree)
    findings = check_pins(declared, result.pins)
    for finding in findings:
        runner.error(finding.message, file=finding.file, line=finding.line, col=finding.col)
    if findings:
        raise ReleaseRefused(
            f"the repository at {sha[:12]} does not pin the environment milestone "
            f"{milestone.title!r} declares ({len(findings)} finding(s), first: "
            f"{_where(findings[0].file, findings[0].line)}{findings[0].message})",
            fix="update the pins to match, or correct the milestone description; nothing was "
            "tagged.",
        )


def _declared_text(declared: tuple[Declared, ...]) -> str:
    return ", ".join(f"{d.component} {d.value}" for d in declared)


def _where(file: str | None, line: int | None) -> str:
    if not file:
        return ""
    return f"{file}:{line}: " if line else f"{file}: "


def _release_summary(
    milestone: MilestoneInfo,
    items: list[Item],
    tag: str,
    sha: str,
    release: ReleaseInfo | None,
    action: str,
    dry: bool,
) -> str:
    head = "### Milestone release" + (" (dry run: nothing changed)" if dry else "")
    link = f"[{tag}]({release.url})" if release and release.url else f"`{tag}`"
    verb = {"create": "created", "update": "updated", "keep": "unchanged"}[action]
    if dry:
        verb = {"create": "would be created", "update": "would be updated", "keep": "unchanged"}[
            action
        ]
    return (
        f"{head}\n\nMilestone **{milestone.title}** → release {link} at `{sha[:12]}` ({verb}); "
        f"{summary_line(items)}."
    )


# -- plan ---------------------------------------------------------------------------------------


def _plan(
    inputs: MilestoneReleaseInputs, ctx: Context, settings: Settings, repository: str
) -> Outcome:
    runner = ctx.runner
    client = _client(inputs, ctx, repository)
    existing = client.milestones()
    changes = plan_milestones(
        settings.milestones, existing, delete_unlisted=settings.delete_unlisted
    )
    prefix = "[dry-run] " if inputs.dry_run else ""
    for change in changes:
        runner.print(f"{prefix}{change.action} milestone {change.title!r} {change.fields or ''}")
        if inputs.dry_run:
            continue
        if change.action == "create":
            client.create_milestone(change.fields)
        elif change.action == "update" and change.number is not None:
            client.update_milestone(change.number, change.fields)
        elif change.action == "delete" and change.number is not None:
            client.delete_milestone(change.number)
    if changes and not inputs.dry_run:
        existing = client.milestones()
    if not changes:
        runner.print("milestones match the config")
    today = datetime.now(timezone.utc).date()
    rows = progress(existing, today)
    table = [p.to_json() for p in rows]
    runner.set_outputs({"ok": True, "progress": table, "changes": len(changes)})
    runner.summary(progress_markdown(rows))
    return Outcome(
        ExitCode.OK,
        {
            "ok": True,
            "dry_run": inputs.dry_run,
            "changes": [
                {"action": c.action, "title": c.title, "number": c.number, "fields": c.fields}
                for c in changes
            ],
            "progress": table,
        },
    )


COMMAND = Command(
    name="milestone-release",
    summary="Release a closed milestone (verified tag, release notes) or sync milestones as code.",
    inputs=MilestoneReleaseInputs,
    run=run,
)
