"""The GitHub side of branch-policy: release facts, merge settings and the back-merge PR.

Imported only when a token check runs, so a name/target check never pays for PyGithub.
Every call goes through ``github_client.api_call`` for one-line errors naming the permission.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from github import Github
from github.Repository import Repository

from mlops_actions.errors import GitHubError
from mlops_actions.github_client import api_call

READ_CONTENTS = "contents: read"
READ_ISSUES = "issues: read"
WRITE_PULLS = "pull-requests: write"


@dataclass(frozen=True)
class PullRef:
    number: int
    url: str


class PolicyClient:
    def __init__(self, gh: Github, full_name: str) -> None:
        self.full_name = full_name
        self.owner = full_name.partition("/")[0]
        self.repo: Repository = gh.withLazy(True).get_repo(full_name)

    def latest_release_tag(self) -> str | None:
        """The tag of the release GitHub marks latest, or None without releases."""
        try:
            with api_call("reading the latest release", permission=READ_CONTENTS):
                return str(self.repo.get_latest_release().tag_name)
        except GitHubError as exc:
            if "404" in exc.message:
                return None
            raise

    def open_milestone_titles(self) -> list[str]:
        with api_call("listing open milestones", permission=READ_ISSUES):
            return [m.title for m in self.repo.get_milestones(state="open")]

    def allows_merge_commits(self) -> bool | None:
        """The "Allow merge commits" setting; None when the answer leaves it out (GitHub shows
        merge settings only to tokens that may see them)."""
        with api_call(f"reading the settings of {self.full_name}", permission=READ_CONTENTS):
            value = self.repo.raw_data.get("allow_merge_commit")
        return value if isinstance(value, bool) else None

    def branch(self, name: str) -> dict[str, Any] | None:
        """The branch as the API describes it (with its protection summary), or None."""
        try:
            with api_call(f"reading branch {name}", permission=READ_CONTENTS):
                return dict(self.repo.get_branch(name).raw_data)
        except GitHubError as exc:
            if "404" in exc.message:
                return None
            raise

    def branch_exists(self, name: str) -> bool:
        return self.branch(name) is not None

    def linear_history_required(self, name: str) -> bool | None:
        """Whether branch protection forbids merge commits on ``name``; None when it does not
        exist. (Rulesets are not read: their endpoint needs more than this token may hold.)"""
        branch = self.branch(name)
        if branch is None:
            return None
        linear = (branch.get("protection") or {}).get("required_linear_history") or {}
        return bool(linear.get("enabled"))

    def contains(self, branch: str, sha: str) -> bool:
        """Whether ``branch`` already holds commit ``sha`` (nothing of it is ahead)."""
        with api_call(f"comparing {branch} with {sha[:12]}", permission=READ_CONTENTS):
            return self.repo.compare(branch, sha).ahead_by == 0

    def open_pull(self, head: str, base: str) -> PullRef | None:
        """An open PR from ``head`` (a branch of this repository) into ``base``."""
        with api_call(f"listing open pull requests into {base}", permission=READ_CONTENTS):
            for pull in self.repo.get_pulls(state="open", head=f"{self.owner}:{head}", base=base):
                return PullRef(pull.number, pull.html_url)
        return None

    def create_pull(self, head: str, base: str, title: str, body: str) -> PullRef:
        """Open the pull request; one that another run opened meanwhile is found instead."""
        try:
            with api_call(f"opening the pull request {head} -> {base}", permission=WRITE_PULLS):
                pull = self.repo.create_pull(base=base, head=head, title=title, body=body)
        except GitHubError as exc:
            existing = self.open_pull(head, base) if "422" in exc.message else None
            if existing is None:
                raise
            return existing
        return PullRef(pull.number, pull.html_url)
