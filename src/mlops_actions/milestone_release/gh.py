"""The GitHub side of a release: every call goes through PyGithub objects inside ``api_call``.

Reads are arranged to keep a release of N issues at ⌈N/100⌉ + a handful of requests: the issues
list carries pull requests with ``pull_request.merged_at`` and the milestone itself, the tag list
comes from one ``matching-refs`` call, and the release from the first page of releases.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import github
from github import Github
from github.GithubObject import GithubObject
from github.GitRelease import GitRelease
from github.Repository import Repository

from mlops_actions.errors import GitHubError, UsageError
from mlops_actions.github_client import PER_PAGE, api_call, send_once
from mlops_actions.milestone_release.model import (
    Item,
    MilestoneInfo,
    Person,
    ReleaseInfo,
    TagRef,
    is_bot,
)

READ_ISSUES = "issues: read"
WRITE_ISSUES = "issues: write"
WRITE_CONTENTS = "contents: write"


def raw(obj: GithubObject) -> dict[str, Any]:
    """The JSON the API sent for ``obj``, without completing it.

    Reading an attribute the answer lacks (``pull_request`` on a plain issue) makes PyGithub
    fetch the whole object: one request per issue. List answers are read as sent instead.
    """
    data = GithubObject.raw_data.fget(obj)  # type: ignore[attr-defined]
    return dict(data) if isinstance(data, dict) else {}


def milestone_info(data: dict[str, Any]) -> MilestoneInfo:
    due = data.get("due_on")
    return MilestoneInfo(
        number=int(data["number"]),
        title=str(data["title"]),
        state="closed" if data.get("state") == "closed" else "open",
        description=str(data.get("description") or ""),
        url=str(data.get("html_url") or ""),
        due_on=str(due)[:10] if due else None,
        open_issues=int(data.get("open_issues") or 0),
        closed_issues=int(data.get("closed_issues") or 0),
    )


def item_of(data: dict[str, Any]) -> Item:
    pull = data.get("pull_request")
    user = data.get("user") or {}
    login = str(user.get("login") or "ghost")
    return Item(
        number=int(data["number"]),
        title=str(data.get("title") or ""),
        kind="pull" if isinstance(pull, dict) else "issue",
        state="closed" if data.get("state") == "closed" else "open",
        author=Person(login, is_bot(login, user.get("type"))),
        labels=tuple(
            str(label["name"] if isinstance(label, dict) else label)
            for label in data.get("labels") or []
        ),
        merged=isinstance(pull, dict) and pull.get("merged_at") is not None,
        state_reason=data.get("state_reason"),
        url=str(data.get("html_url") or ""),
        comments=int(data.get("comments") or 0),
    )


class RepoClient:
    """One repository, read and written through a lazy PyGithub client (no request until needed)."""

    def __init__(self, gh: Github, full_name: str) -> None:
        self.gh = gh
        self.full_name = full_name
        self.repo: Repository = gh.withLazy(True).get_repo(full_name)
        self._releases: dict[int, GitRelease] = {}

    # -- reads ---------------------------------------------------------------------------------
    def default_branch(self) -> str:
        with api_call(f"reading repository {self.full_name}", permission="contents: read"):
            return self.repo.default_branch

    def resolve(self, ref: str) -> str:
        """The commit SHA a branch, tag or SHA names."""
        try:
            with api_call(f"resolving target {ref!r}", permission="contents: read"):
                # raw_data completes the lazy object: its `sha` alone would echo `ref` back.
                return str(self.repo.get_commit(ref).raw_data["sha"])
        except GitHubError as exc:
            if "404" in exc.message or "422" in exc.message:
                raise UsageError(
                    f"target {ref!r} is not a branch, tag or commit of {self.full_name}",
                    fix="set {input} to a branch name or a commit SHA of the repository.",
                    input="target",
                ) from None
            raise

    def milestone_items(self, number: int) -> tuple[MilestoneInfo, list[Item]]:
        """The milestone and all its issues and pull requests, open and closed, 100 a page.

        Each issue in the list carries its milestone, so only an empty milestone costs a
        request of its own.
        """
        milestone: dict[str, Any] | None = None
        items: list[Item] = []
        lazy = github.Milestone.Milestone(
            self.repo.requester.withLazy(True), url=f"{self.repo.url}/milestones/{number}"
        )
        doing = f"listing the issues and pull requests of milestone #{number}"
        try:
            with api_call(doing, permission=READ_ISSUES):
                for issue in self.repo.get_issues(milestone=lazy, state="all"):
                    data = raw(issue)
                    if milestone is None and isinstance(data.get("milestone"), dict):
                        milestone = data["milestone"]
                    items.append(item_of(data))
            if milestone is None:
                with api_call(f"reading milestone #{number}", permission=READ_ISSUES):
                    milestone = dict(self.repo.get_milestone(number).raw_data)
        except GitHubError as exc:
            if "404" in exc.message:
                raise UsageError(
                    f"milestone #{number} does not exist in {self.full_name}",
                    fix="pass the number shown in the milestone's URL (…/milestone/N).",
                ) from None
            raise
        return milestone_info(milestone), items

    def milestones(self) -> list[MilestoneInfo]:
        with api_call("listing milestones", permission=READ_ISSUES):
            return [milestone_info(raw(ms)) for ms in self.repo.get_milestones(state="all")]

    def tag(self, name: str) -> TagRef | None:
        """The commit tag ``name`` names (annotated tags peeled), or None when there is none."""
        try:
            with api_call(f"reading tag {name}", permission="contents: read"):
                obj = self.repo.get_git_ref(f"tags/{name}").object
                sha, kind = obj.sha, obj.type
        except GitHubError as exc:
            if "404" in exc.message:
                return None
            raise
        hops = 0
        while kind == "tag" and hops < 5:  # a tag of a tag is legal; a loop is not
            with api_call(f"reading tag {name}", permission="contents: read"):
                obj = self.repo.get_git_tag(sha).object
                sha, kind = obj.sha, obj.type
            hops += 1
        return TagRef(name, sha)

    def releases(self) -> list[ReleaseInfo]:
        """The newest page of releases (drafts included), newest first."""
        with api_call("listing releases", permission="contents: read"):
            return [self._keep(r) for r in self.repo.get_releases().get_page(0)]

    def release_for(self, tag: str, newest: list[ReleaseInfo]) -> ReleaseInfo | None:
        """The release (draft or not) for ``tag``: from the newest page, then by tag lookup."""
        for release in newest:
            if release.tag == tag:
                return release
        if len(newest) < PER_PAGE:
            return None
        try:
            with api_call(f"reading the release of {tag}", permission="contents: read"):
                return self._keep(self.repo.get_release(tag))
        except GitHubError as exc:
            if "404" in exc.message:
                return None
            raise

    def _keep(self, release: GitRelease) -> ReleaseInfo:
        self._releases[release.id] = release
        return ReleaseInfo(
            id=release.id,
            tag=release.tag_name,
            name=release.name or "",
            body=release.body or "",
            draft=release.draft,
            prerelease=release.prerelease,
            url=release.html_url,
        )

    def comment_bodies(self, number: int) -> list[str]:
        with api_call(f"reading the comments of #{number}", permission=READ_ISSUES):
            return [c.body or "" for c in self.repo.get_issue(number).get_comments()]

    # -- writes --------------------------------------------------------------------------------
    def create_tag(self, name: str, message: str, sha: str) -> TagRef:
        """An annotated tag object and its ref; a ref made meanwhile by another run is re-read.

        After a lost answer the tag object is made again (an unreferenced object nobody sees:
        there is no lookup by name); the ref, the visible write, is looked up first.
        """
        with api_call(f"creating tag {name}", permission=WRITE_CONTENTS):
            obj = self.repo.create_git_tag(name, message, sha, "commit")

        def send() -> TagRef:
            self.repo.create_git_ref(f"refs/tags/{name}", obj.sha)
            return TagRef(name, sha)

        try:
            return send_once(
                f"creating tag {name}",
                permission=WRITE_CONTENTS,
                send=send,
                landed=lambda: self.tag(name),
            )
        except GitHubError as exc:
            existing = self.tag(name) if "already exists" in exc.message else None
            if existing is None:
                raise
            return existing

    def set_tag(self, name: str, sha: str, *, exists: bool) -> None:
        """Point a lightweight tag (the moving major tag) at ``sha``."""

        def send() -> bool:
            if exists:
                # PyGithub's GitRef.edit() would PATCH the read URL (git/ref/), not git/refs/.
                self.gh.requester.requestJsonAndCheck(
                    "PATCH",
                    f"{self.repo.url}/git/refs/tags/{name}",
                    input={"sha": sha, "force": True},
                )
            else:
                self.repo.create_git_ref(f"refs/tags/{name}", sha)
            return True

        def landed() -> bool | None:
            now = self.tag(name)
            return True if now is not None and now.sha == sha else None

        send_once(f"moving tag {name}", permission=WRITE_CONTENTS, send=send, landed=landed)

    def create_release(self, fields: dict[str, Any]) -> ReleaseInfo:
        tag = fields["tag"]

        def landed() -> ReleaseInfo | None:
            # Drafts are not found by tag (GET releases/tags/{tag}): read the newest page.
            return next((r for r in self.releases() if r.tag == tag), None)

        return send_once(
            f"creating the release for {tag}",
            permission=WRITE_CONTENTS,
            send=lambda: self._keep(self.repo.create_git_release(**fields)),
            landed=landed,
        )

    def update_release(
        self,
        release_id: int,
        *,
        name: str,
        body: str,
        draft: bool,
        prerelease: bool,
        make_latest: str,
    ) -> ReleaseInfo:
        release = self._releases[release_id]
        wanted = (name, body, draft, prerelease)

        def landed() -> ReleaseInfo | None:
            with api_call(f"reading release {release.tag_name}", permission="contents: read"):
                now = self._keep(self.repo.get_release(release_id))
            return now if (now.name, now.body, now.draft, now.prerelease) == wanted else None

        return send_once(
            f"updating release {release.tag_name}",
            permission=WRITE_CONTENTS,
            send=lambda: self._keep(
                release.update_release(
                    name, body, draft=draft, prerelease=prerelease, make_latest=make_latest
                )
            ),
            landed=landed,
        )

    def reopen_milestone(self, number: int) -> None:
        with api_call(f"reopening milestone #{number}", permission=WRITE_ISSUES):
            self.gh.requester.requestJsonAndCheck(
                "PATCH", f"{self.repo.url}/milestones/{number}", input={"state": "open"}
            )

    def comment(self, number: int, body: str) -> None:
        def send() -> bool:
            self.repo.get_issue(number).create_comment(body)
            return True

        send_once(
            f"commenting on #{number}",
            permission=WRITE_ISSUES,
            send=send,
            landed=lambda: True if body in self.comment_bodies(number) else None,
        )

    def dispatch(self, workflow: str, ref: str) -> None:
        """Start ``workflow`` (file name or id) on ``ref`` through ``workflow_dispatch``.

        Unlike a tag or release made with GITHUB_TOKEN, a dispatch with it does start a run.
        """
        try:
            with api_call(f"dispatching workflow {workflow} on {ref}", permission="actions: write"):
                self.gh.requester.requestJsonAndCheck(
                    "POST",
                    f"{self.repo.url}/actions/workflows/{workflow}/dispatches",
                    input={"ref": ref},
                )
        except GitHubError as exc:
            if "404" in exc.message:
                raise UsageError(
                    f"no workflow {workflow!r} in {self.full_name} (404)",
                    fix="give {input} the file name of a workflow in .github/workflows, e.g. "
                    "publish.yml, with an `on: workflow_dispatch` trigger.",
                    input="dispatch",
                ) from None
            raise

    def create_milestone(self, fields: dict[str, Any]) -> None:
        args: dict[str, Any] = {"title": fields["title"]}
        if "description" in fields:
            args["description"] = fields["description"]
        if "state" in fields:
            args["state"] = fields["state"]
        if "due_on" in fields:
            args["due_on"] = date.fromisoformat(fields["due_on"])
        with api_call(f"creating milestone {fields['title']!r}", permission=WRITE_ISSUES):
            self.repo.create_milestone(**args)

    def update_milestone(self, number: int, fields: dict[str, Any]) -> None:
        body = dict(fields)
        if "due_on" in body:
            # GitHub wants a timestamp; PyGithub's edit() sends a bare date.
            body["due_on"] = f"{body['due_on']}T00:00:00Z"
        with api_call(f"updating milestone #{number}", permission=WRITE_ISSUES):
            self.gh.requester.requestJsonAndCheck(
                "PATCH", f"{self.repo.url}/milestones/{number}", input=body
            )

    def delete_milestone(self, number: int) -> None:
        with api_call(f"deleting milestone #{number}", permission=WRITE_ISSUES):
            self.repo.get_milestone(number).delete()
