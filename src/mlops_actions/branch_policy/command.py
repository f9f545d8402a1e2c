"""`mlops-actions branch-policy`: check a pull request's head and base against the strategy.

The name and target check needs no token and no checkout; drift needs the history; the release
checks, the back-merge and `lint` need a token. PyGithub is imported only for those.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from mlops_actions.branch_policy.drift import DRIFT_FIX, Drift, drift_message, measure
from mlops_actions.branch_policy.event import CHECKED_ACTIONS, PullFacts, pull_facts
from mlops_actions.branch_policy.policy import RULES, Verdict, Violation, check, shown
from mlops_actions.branch_policy.report import summary_markdown
from mlops_actions.branch_policy.settings import Settings, settings_from_config
from mlops_actions.command import CONFIG_HELP, Command, Context, Outcome, text_input
from mlops_actions.config import load_config
from mlops_actions.errors import ExitCode, UsageError
from mlops_actions.runner import Annotation, load_event

if TYPE_CHECKING:
    from mlops_actions.branch_policy.gh import PolicyClient


@dataclass(frozen=True)
class BranchPolicyInputs:
    mode: Literal["check", "lint"] = text_input(
        "check: the pull request's branches; lint: the repository's merge settings (needs a "
        "token).",
        default="check",
    )
    head: str = text_input(
        "Head branch (default: the pull request's, from the event).", metavar="BRANCH"
    )
    base: str = text_input(
        "Base branch (default: the pull request's, from the event).", metavar="BRANCH"
    )
    config: str = text_input(CONFIG_HELP, metavar="FILE")
    working_directory: str = text_input(
        "Repository checkout, for the config and drift.", metavar="PATH"
    )
    repository: str = text_input("owner/name (default: this repository).", metavar="OWNER/NAME")
    token: str = text_input(
        "GitHub token for the release checks, the back-merge and lint (default: GITHUB_TOKEN; "
        "without one only names, targets and drift are checked).",
        secret=True,
        metavar="TOKEN",
    )


@dataclass
class Run:
    """What one run found, in the order it is reported."""

    findings: list[Violation] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    back_merge_url: str = ""


@dataclass(frozen=True)
class Pull:
    """One pull request under check: what the checks read, and where they put what they find."""

    inputs: BranchPolicyInputs
    ctx: Context
    settings: Settings
    facts: PullFacts
    verdict: Verdict
    found: Run


def run(inputs: BranchPolicyInputs, ctx: Context) -> Outcome:
    root = ctx.workspace(inputs.working_directory)
    config = load_config(
        Path(inputs.config) if inputs.config else None, root=root, required=bool(inputs.config)
    )
    settings = settings_from_config(config)
    if inputs.mode == "lint":
        return _lint(inputs, ctx, settings)
    facts = _facts(inputs, ctx)
    if facts is None:
        return _skip(ctx, "not a pull request event with a head and a base")
    if facts.action and facts.action not in CHECKED_ACTIONS and facts.action != "closed":
        return _skip(ctx, f"pull request `{facts.action}` cannot change the branches")
    if facts.action == "closed" and not facts.merged:
        return _skip(ctx, "the pull request was closed without merging")
    verdict = check(facts.head, facts.base, settings.policy)
    pull = Pull(inputs, ctx, settings, facts, verdict, Run())
    if verdict.kind == "exempt":
        pull.found.notes.append(f"{shown(facts.head)} is exempt (a bot's branch): not checked")
    elif facts.action == "closed":
        # The names were checked while the pull request was open; what is left is the
        # back-merge of a release or hotfix.
        _back_merge(pull)
    else:
        pull.found.findings.extend(verdict.violations)
        if facts.retargeted_from:
            pull.found.notes.append(f"retargeted from {shown(facts.retargeted_from)}: re-checked")
        _drift(pull, root)
        _release_checks(pull)
    return _report(ctx, verdict, pull.found, fork=facts.fork)


def _facts(inputs: BranchPolicyInputs, ctx: Context) -> PullFacts | None:
    if inputs.head or inputs.base:
        if not (inputs.head and inputs.base):
            missing = "base" if inputs.head else "head"
            raise UsageError(
                "is needed too: the head and base branches go together",
                fix="give {input} too, or neither to read the pull request event.",
                input=missing,
            )
        return PullFacts(head=inputs.head, base=inputs.base)
    event_name = ctx.github.get("GITHUB_EVENT_NAME", "")
    if not event_name:
        raise UsageError(
            "no pull request to check",
            fix="give the head and base branches, or run on `pull_request` / "
            "`pull_request_target`.",
        )
    facts = pull_facts(event_name, load_event(ctx.github.get("GITHUB_EVENT_PATH")))
    if facts is not None and not (facts.head and facts.base):
        raise UsageError(
            "the pull request event names no head or base branch",
            fix="run on `pull_request` / `pull_request_target`, or give the head and base "
            "branches.",
        )
    return facts


def _skip(ctx: Context, reason: str) -> Outcome:
    ctx.runner.notice(f"branch-policy: nothing to check ({reason})")
    ctx.runner.set_outputs(
        {"ok": True, "kind": "", "version": "", "violations": [], "back-merge-url": ""}
    )
    return Outcome(ExitCode.OK, {"ok": True, "skipped": True, "reason": reason})


def _drift(pull: Pull, root: Path) -> None:
    settings, facts, found = pull.settings, pull.facts, pull.found
    if settings.max_commits_behind == 0 and settings.max_days_behind == 0:
        return
    measured = measure(root, facts.head_sha or facts.head, facts.base_sha or facts.base)
    if not isinstance(measured, Drift):
        found.notes.append(f"drift not measured: {measured}")
        return
    message = drift_message(
        measured, facts.base, settings.max_commits_behind, settings.max_days_behind
    )
    if message:
        found.findings.append(
            Violation(RULES["BP007"], facts.head, facts.base, message, DRIFT_FIX, "warning")
        )
    else:
        found.notes.append(f"{measured.behind} commit(s), {measured.days} day(s) behind the base")


def _client(inputs: BranchPolicyInputs, ctx: Context) -> PolicyClient | None:
    token = inputs.token or ctx.github.get("GITHUB_TOKEN", "")
    repository = inputs.repository or ctx.github.get("GITHUB_REPOSITORY", "")
    if not token or not repository:
        return None
    from mlops_actions.branch_policy.gh import PolicyClient
    from mlops_actions.github_client import connect, options_from_context, split_repository

    split_repository(repository)
    return PolicyClient(connect(token, options_from_context(ctx.github)), repository)


def _release_checks(pull: Pull) -> None:
    settings, facts, verdict, found = pull.settings, pull.facts, pull.verdict, pull.found
    if verdict.version is None or facts.base not in settings.policy.production:
        return
    wanted = settings.newer_than_latest or settings.milestone_required
    client = _client(pull.inputs, pull.ctx) if wanted else None
    if client is None:
        if wanted:
            found.notes.append("release checks skipped: no token or repository")
        return
    from mlops_actions.versions import parse_version, title_version

    version = parse_version(verdict.version)
    if version is None:  # version_in_name matched SemVer, so this cannot happen
        return
    if settings.newer_than_latest:
        latest = client.latest_release_tag()
        latest_version = parse_version(latest.lstrip("vV")) if latest else None
        if latest and latest_version and version.order <= latest_version.order:
            found.findings.append(
                Violation(
                    RULES["BP005"],
                    facts.head,
                    facts.base,
                    f"version {version.text} is not newer than the latest release {latest}",
                    "rename the branch to a higher version",
                )
            )
        elif latest:
            found.notes.append(f"version {version.text} is newer than the latest release {latest}")
    if settings.milestone_required:
        titles = client.open_milestone_titles()
        named = {title_version(t, settings.milestone_pattern)[1] for t in titles}
        if not any(v is not None and v.order == version.order for v in named):
            found.findings.append(
                Violation(
                    RULES["BP006"],
                    facts.head,
                    facts.base,
                    f"no open milestone is titled with version {version.text}",
                    f"create or reopen the milestone v{version.text}, or fix the branch's version",
                )
            )


def _back_merge(pull: Pull) -> None:
    settings, facts, verdict, found = pull.settings, pull.facts, pull.verdict, pull.found
    policy = settings.policy
    if (
        settings.back_merge == "off"
        or verdict.version is None
        or facts.base not in policy.production
        or not policy.names_of("integration")
    ):
        found.notes.append("merged: no back-merge needed")
        return
    client = _client(pull.inputs, pull.ctx)
    if client is None or not facts.merge_commit_sha:
        found.notes.append("back-merge not checked: no token, repository or merge commit")
        return
    integration = next((n for n in policy.integration if client.branch_exists(n)), None)
    if integration is None:
        found.notes.append("back-merge not checked: no integration branch exists")
        return
    if client.contains(integration, facts.merge_commit_sha):
        found.notes.append(f"back-merge done: {integration} holds the merged {verdict.kind}")
        return
    existing = client.open_pull(facts.base, integration)
    if existing is not None:
        found.back_merge_url = existing.url
        found.notes.append(f"back-merge pending in #{existing.number}")
        return
    if settings.back_merge == "open":
        opened = client.create_pull(
            facts.base,
            integration,
            f"Back-merge {facts.base} into {integration} after {verdict.kind} {verdict.version}",
            f"{facts.base} received {verdict.kind} {verdict.version} (#{facts.number}); this "
            f"brings it into {integration} so the next release starts from it.",
        )
        found.back_merge_url = opened.url
        found.notes.append(f"back-merge opened as #{opened.number}")
        return
    found.findings.append(
        Violation(
            RULES["BP009"],
            facts.head,
            facts.base,
            f"{facts.base} now holds {verdict.kind} {verdict.version}, which {integration} "
            "does not",
            f"open a pull request from {facts.base} into {integration} (or set "
            "`release-checks.back-merge: open`)",
            "warning",
        )
    )


def _lint(inputs: BranchPolicyInputs, ctx: Context, settings: Settings) -> Outcome:
    client = _client(inputs, ctx)
    if client is None:
        raise UsageError(
            "lint reads the repository's merge settings and needs a token and a repository",
            fix="pass `token` (default `${{ github.token }}`) and run in a workflow, or set "
            "GITHUB_TOKEN and --repository.",
        )
    found = Run()
    policy = settings.policy
    long_lived = [*policy.production, *policy.names_of("integration")]
    allowed = client.allows_merge_commits()
    if allowed is None:
        found.notes.append("merge settings not shown to this token: not checked")
    elif not allowed:
        found.findings.append(
            _lint_finding(
                "the repository allows no merge commits, so merges into the long-lived branches "
                "lose which feature landed when",
                "enable Settings → General → Pull Requests → Allow merge commits",
            )
        )
    for name in long_lived:
        linear = client.linear_history_required(name)
        if linear is None:
            continue
        if linear:
            found.findings.append(
                _lint_finding(
                    f"branch protection of {name} requires a linear history, so nothing can "
                    "merge into it with a merge commit",
                    f"turn off Require linear history in the protection of {name}",
                )
            )
        else:
            found.notes.append(f"{name} takes merge commits")
    return _report(ctx, Verdict("", "", "lint"), found)


def _lint_finding(message: str, fix: str) -> Violation:
    return Violation(RULES["BP008"], "", "", message, fix, "warning")


def _report(ctx: Context, verdict: Verdict, found: Run, *, fork: bool = False) -> Outcome:
    runner = ctx.runner
    for finding in found.findings:
        runner.annotate(Annotation(finding.severity, finding.line()))
    for note in found.notes:
        runner.print(f"branch-policy: {note}")
    errors = [f for f in found.findings if f.severity == "error"]
    ok = not errors
    violations = [f.to_dict() for f in found.findings]
    runner.set_outputs(
        {
            "ok": ok,
            "kind": verdict.kind or "",
            "version": verdict.version or "",
            "violations": violations,
            "back-merge-url": found.back_merge_url,
        }
    )
    runner.summary(summary_markdown(verdict, found.findings, found.notes))
    if verdict.head:
        runner.print(
            f"branch-policy: {shown(verdict.head)} -> {shown(verdict.base)}: "
            f"{'ok' if ok else f'{len(errors)} violation(s)'}"
        )
    report: dict[str, Any] = {
        "ok": ok,
        "head": verdict.head,
        "base": verdict.base,
        "kind": verdict.kind,
        "version": verdict.version,
        "fork": fork,
        "violations": violations,
        "notes": list(found.notes),
        "back_merge_url": found.back_merge_url,
    }
    return Outcome(ExitCode.FINDINGS if errors else ExitCode.OK, report)


COMMAND = Command(
    name="branch-policy",
    summary="Check a pull request's head and base branches against the branch strategy.",
    inputs=BranchPolicyInputs,
    run=run,
    positional=("mode",),
)
