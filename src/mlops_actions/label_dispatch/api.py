"""The GitHub calls label-dispatch makes, each one request, through ``github_client``.

Objects are built lazily (no fetch of the repository or issue before acting on it) and lists
ask for 100 items a page, so the request budgets in docs/label-dispatch.md hold.
"""

from __future__ import annotations

from typing import Any

from github import Github, GithubException
from github.IssueComment import IssueComment
from github.Label import Label

from mlops_actions.errors import GitHubError, UsageError
from mlops_actions.github_client import api_call, send_once
from mlops_actions.label_dispatch.event import Subject
from mlops_actions.label_dispatch.model import ROLES, Role
from mlops_actions.label_dispatch.sync import ExistingLabel

LEGACY = {"admin": "admin", "write": "write", "read": "read", "none": "none"}


class RepoApi:
    """One repository, as label-dispatch uses it."""

    def __init__(self, gh: Github, full_name: str) -> None:
        self.full_name = full_name
        self._repo = gh.withLazy(True).get_repo(full_name)
        self._comments: dict[int, IssueComment] = {}

    # -- labels -------------------------------------------------------------------------------
    def list_labels(self) -> list[ExistingLabel]:
        with api_call(f"listing the labels of {self.full_name}", permission="issues: read"):
            labels = list(self._repo.get_labels())
        return [ExistingLabel(lb.name, lb.color, lb.description) for lb in labels]

    def _label_now(self, name: str) -> Label | None:
        """The label as GitHub has it now (after a lost answer), or None when there is none."""
        with api_call(f"reading label {name!r}", permission="issues: read"):
            try:
                label = self._repo.get_label(name)
                # The lazy client sends nothing until asked: without this read a missing label
                # would look present, so a lost create were never sent again (and a lost
                # delete sent twice).
                label.complete()
                return label
            except GithubException as exc:
                if exc.status == 404:
                    return None
                raise

    def create_label(self, name: str, color: str, description: str) -> None:
        send_once(
            f"creating label {name!r}",
            permission="issues: write",
            send=lambda: self._repo.create_label(name, color, description),
            landed=lambda: self._label_now(name),
        )

    def update_label(
        self, name: str, *, new_name: str | None, color: str, description: str | None
    ) -> None:
        label = self._repo.get_label(name)  # lazy: no request until the edit
        doing = (
            f"renaming label {name!r} to {new_name!r}" if new_name else f"updating label {name!r}"
        )
        target = new_name or name

        def send() -> bool:
            if description is None:
                label.edit(target, color)
            else:
                label.edit(target, color, description)
            return True

        def landed() -> bool | None:
            now = self._label_now(target)
            done = (
                now is not None
                and now.name == target
                and now.color.lower() == color.lower()
                and (description is None or (now.description or "") == description)
            )
            return True if done else None

        send_once(doing, permission="issues: write", send=send, landed=landed)

    def delete_label(self, name: str) -> None:
        label = self._repo.get_label(name)  # lazy: no request until the delete

        def send() -> bool:
            label.delete()
            return True

        send_once(
            f"deleting label {name!r}",
            permission="issues: write",
            send=send,
            landed=lambda: True if self._label_now(name) is None else None,
        )

    # -- people -------------------------------------------------------------------------------
    def role(self, login: str) -> Role:
        """The user's role via the collaborator-permission endpoint (one request)."""
        doing = f"reading the permission of @{login} on {self.full_name}"
        with api_call(doing, permission="contents: read"):
            try:
                name = self._repo.get_collaborator_role_name(login)
            except GithubException as exc:
                if exc.status == 404:  # not a user GitHub knows here
                    return "none"
                raise
        if name in ROLES:
            return name
        # A custom role: its base permission decides (legacy field: admin, write, read, none).
        with api_call(doing, permission="contents: read"):
            legacy = self._repo.get_collaborator_permission(login)
        return LEGACY.get(legacy, "none")

    # -- issues and comments ------------------------------------------------------------------
    def comments(self, number: int) -> list[tuple[int, str, str]]:
        """(id, author login, body) of every comment, oldest first: one request per 100."""
        issue = self._repo.get_issue(number)
        with api_call(f"listing the comments of #{number}", permission="issues: read"):
            found = list(issue.get_comments())
        self._comments.update({c.id: c for c in found})
        return [(c.id, c.user.login if c.user else "", c.body or "") for c in found]

    def create_comment(self, number: int, body: str) -> int:
        issue = self._repo.get_issue(number)

        def landed() -> IssueComment | None:
            with api_call(f"listing the comments of #{number}", permission="issues: read"):
                return next((c for c in issue.get_comments() if c.body == body), None)

        comment = send_once(
            f"commenting on #{number}",
            permission="issues: write (pull-requests: write for PRs)",
            send=lambda: issue.create_comment(body),
            landed=landed,
        )
        self._comments[comment.id] = comment
        return int(comment.id)

    def edit_comment(self, comment_id: int, body: str) -> None:
        comment = self._comments.get(comment_id)
        if comment is None:  # callers list the comments first; this one vanished meanwhile
            raise GitHubError(
                f"updating comment {comment_id}: it is not on the issue any more",
                fix="re-run the job; a new marker comment will be written.",
            )

        def send() -> bool:
            comment.edit(body)
            return True

        def landed() -> bool | None:
            with api_call(f"reading comment {comment_id}", permission="issues: read"):
                _, now = self._repo.requester.requestJsonAndCheck("GET", comment.url)
                return True if now.get("body") == body else None

        send_once(
            f"updating comment {comment_id}",
            permission="issues: write (pull-requests: write for PRs)",
            send=send,
            landed=landed,
        )

    def remove_label(self, number: int, name: str) -> None:
        issue = self._repo.get_issue(number)
        with api_call(f"removing label {name!r} from #{number}", permission="issues: write"):
            try:
                issue.remove_from_labels(name)
            except GithubException as exc:
                if exc.status != 404:  # already gone: the goal is met
                    raise

    def add_labels(self, number: int, names: list[str]) -> None:
        issue = self._repo.get_issue(number)

        def send() -> bool:
            issue.add_to_labels(*names)
            return True

        def landed() -> bool | None:
            have = {n.casefold() for n in self.issue_labels(number)}
            return True if all(n.casefold() in have for n in names) else None

        send_once(
            f"adding labels to #{number}", permission="issues: write", send=send, landed=landed
        )

    def issue_labels(self, number: int) -> list[str]:
        issue = self._repo.get_issue(number)
        with api_call(f"listing the labels of #{number}", permission="issues: read"):
            return [lb.name for lb in issue.get_labels()]

    def subject(self, number: int) -> Subject:
        """An issue or PR the event does not describe (workflow_dispatch, report runs)."""
        with api_call(f"reading #{number}", permission="issues: read"):
            issue = self._repo.get_issue(number)
            labels = tuple(lb.name for lb in issue.labels)
            author = issue.user.login if issue.user else ""
            is_pull = issue.pull_request is not None
            title = issue.title
        if not is_pull:
            return Subject(number, False, author, labels, title, base_repo=self.full_name)
        with api_call(f"reading pull request #{number}", permission="pull-requests: read"):
            pull = self._repo.get_pull(number)
            head_repo = pull.head.repo.full_name if pull.head.repo else None
            return Subject(
                number,
                True,
                author,
                labels,
                title,
                head_sha=pull.head.sha,
                head_repo=head_repo,
                base_repo=self.full_name,
                base_ref=pull.base.ref,
            )

    # -- files --------------------------------------------------------------------------------
    def file_text(self, path: str, ref: str) -> str | None:
        """A text file at ``ref`` (one request); None when the file does not exist there."""
        with api_call(f"reading {path} at {ref}", permission="contents: read"):
            try:
                found = self._repo.get_contents(path, ref=ref)
            except GithubException as exc:
                if exc.status == 404:
                    return None
                raise
        if isinstance(found, list):
            raise UsageError(
                f"{path} at {ref} is a folder, not a config file",
                fix="point {input} at the YAML file.",
                input="config",
            )
        return found.decoded_content.decode("utf-8")

    # -- dispatch -----------------------------------------------------------------------------
    def dispatch_workflow(self, workflow: str, ref: str, inputs: dict[str, str]) -> None:
        with api_call(f"starting workflow {workflow} on {ref}", permission="actions: write"):
            self._repo.get_workflow(workflow).create_dispatch(ref, inputs, throw=True)

    def repository_dispatch(self, event_type: str, payload: dict[str, Any]) -> None:
        # Sent directly: PyGithub's create_repository_dispatch answers a 5xx with False, which
        # would hide a dispatch that GitHub applied but answered late.
        with api_call(f"sending repository_dispatch {event_type!r}", permission="contents: write"):
            self._repo.requester.requestJsonAndCheck(
                "POST",
                f"{self._repo.url}/dispatches",
                input={"event_type": event_type, "client_payload": payload},
            )
