"""The double's repositories, users and objects, with a builder API and a seed-file format."""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml

# Repository roles, weakest first.
ROLES = ("none", "read", "triage", "write", "maintain", "admin")
# The legacy `permission` field of the collaborator-permission endpoint knows four values.
LEGACY_PERMISSION = {
    "none": "none",
    "read": "read",
    "triage": "read",
    "write": "write",
    "maintain": "write",
    "admin": "admin",
}


class SeedError(ValueError):
    """A state file or builder call that cannot be applied."""


def now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def fake_sha(*parts: object) -> str:
    return hashlib.sha1("\0".join(str(p) for p in parts).encode()).hexdigest()


@dataclass
class User:
    login: str
    id: int
    type: str = "User"
    site_admin: bool = False
    name: str | None = None
    email: str | None = None


@dataclass
class Label:
    id: int
    name: str
    color: str = "ededed"
    description: str | None = None
    default: bool = False


@dataclass
class Milestone:
    number: int
    id: int
    title: str
    creator: str
    created_at: str
    updated_at: str
    description: str | None = None
    state: str = "open"
    due_on: str | None = None
    closed_at: str | None = None


@dataclass
class PullRequest:
    head_ref: str
    head_sha: str
    head_repo: str  # full name; another repository for a pull request from a fork
    base_ref: str
    base_sha: str
    merged: bool = False
    merged_at: str | None = None
    merged_by: str | None = None
    merge_commit_sha: str | None = None
    draft: bool = False
    maintainer_can_modify: bool = False


@dataclass
class Issue:
    number: int
    id: int
    title: str
    user: str
    created_at: str
    updated_at: str
    body: str | None = None
    state: str = "open"
    state_reason: str | None = None
    label_ids: list[int] = field(default_factory=list)
    milestone: int | None = None
    assignees: list[str] = field(default_factory=list)
    locked: bool = False
    closed_at: str | None = None
    closed_by: str | None = None
    pull: PullRequest | None = None


@dataclass
class Comment:
    id: int
    issue_number: int
    body: str
    user: str
    created_at: str
    updated_at: str


@dataclass
class Commit:
    sha: str
    message: str
    parents: list[str]
    author: str | None
    date: str
    files: dict[str, str] = field(default_factory=dict)


@dataclass
class Tag:
    """An annotated tag object."""

    sha: str
    tag: str
    message: str
    object_sha: str
    object_type: str
    tagger_name: str
    tagger_email: str
    date: str


@dataclass
class Release:
    id: int
    tag_name: str
    target_commitish: str
    author: str
    created_at: str
    updated_at: str
    name: str | None = None
    body: str | None = None
    draft: bool = False
    prerelease: bool = False
    published_at: str | None = None
    make_latest: str = "true"


@dataclass
class Dispatch:
    kind: str  # "workflow" or "repository"
    actor: str
    at: str
    workflow_id: str | None = None
    ref: str | None = None
    inputs: dict[str, Any] = field(default_factory=dict)
    event_type: str | None = None
    client_payload: dict[str, Any] = field(default_factory=dict)


@dataclass
class Repo:
    id: int
    owner: str
    name: str
    created_at: str
    default_branch: str = "main"
    private: bool = False
    description: str | None = None
    fork: bool = False
    allow_merge_commit: bool = True  # Settings → Pull Requests → Allow merge commits
    # Branches whose protection requires a linear history (no merge commits).
    linear_history: set[str] = field(default_factory=set)
    labels: dict[int, Label] = field(default_factory=dict)
    issues: dict[int, Issue] = field(default_factory=dict)
    comments: dict[int, Comment] = field(default_factory=dict)
    milestones: dict[int, Milestone] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)  # "refs/heads/main" -> sha
    commits: dict[str, Commit] = field(default_factory=dict)
    tags: dict[str, Tag] = field(default_factory=dict)
    releases: dict[int, Release] = field(default_factory=dict)
    collaborators: dict[str, str] = field(default_factory=dict)  # login -> role
    # Organization custom repository roles: name -> the base role they inherit.
    custom_roles: dict[str, str] = field(default_factory=dict)
    # Declared workflows and their inputs ({"gpu.yml": {"issue": {"required": True}}}); when
    # none are declared any workflow id is accepted.
    workflows: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    dispatches: list[Dispatch] = field(default_factory=list)
    next_number: int = 1
    next_milestone: int = 1

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    # -- lookups used by tests and handlers ---------------------------------------------------
    def label(self, name: str) -> Label | None:
        """GitHub label names are unique without regard to case."""
        wanted = name.casefold()
        return next((lb for lb in self.labels.values() if lb.name.casefold() == wanted), None)

    def label_names(self) -> list[str]:
        return [lb.name for lb in self.labels.values()]

    def issue_labels(self, number: int) -> list[str]:
        return [self.labels[i].name for i in self.issues[number].label_ids if i in self.labels]

    def milestone_by_title(self, title: str) -> Milestone | None:
        return next((m for m in self.milestones.values() if m.title == title), None)

    def issue_comments(self, number: int) -> list[Comment]:
        return [c for c in self.comments.values() if c.issue_number == number]

    def release_by_tag(self, tag: str) -> Release | None:
        return next((r for r in self.releases.values() if r.tag_name == tag), None)

    def head(self, branch: str | None = None) -> str:
        return self.refs[f"refs/heads/{branch or self.default_branch}"]

    def resolve(self, ref: str) -> str | None:
        """A commit SHA from a SHA, branch, tag (peeling annotated tags) or full ref."""
        candidates = [ref, f"refs/heads/{ref}", f"refs/tags/{ref}", f"refs/{ref}"]
        for candidate in candidates:
            if candidate in self.refs:
                return self.peel(self.refs[candidate])
        if ref in self.commits:
            return ref
        matches = [sha for sha in self.commits if len(ref) >= 7 and sha.startswith(ref)]
        return matches[0] if len(matches) == 1 else None

    def peel(self, sha: str) -> str:
        while sha in self.tags:
            sha = self.tags[sha].object_sha
        return sha

    def ancestors(self, sha: str) -> list[str]:
        """The commit and every ancestor, nearest first."""
        order: list[str] = []
        seen: set[str] = set()
        queue = [sha]
        while queue:
            current = queue.pop(0)
            if current in seen or current not in self.commits:
                continue
            seen.add(current)
            order.append(current)
            queue.extend(self.commits[current].parents)
        return order

    def role_of(self, login: str) -> str:
        if login == self.owner:
            return "admin"
        return self.collaborators.get(login, "read" if not self.private else "none")


class State:
    """Everything the double serves. Handlers and tests share it under `lock`."""

    def __init__(self, viewer: str = "github-actions[bot]") -> None:
        self.lock = threading.RLock()
        self.users: dict[str, User] = {}
        self.repos: dict[str, Repo] = {}
        self.tokens: dict[str, str] = {}
        self._ids = itertools.count(1001)
        self.viewer = viewer
        self.add_user(viewer)

    def next_id(self) -> int:
        return next(self._ids)

    # -- builders -----------------------------------------------------------------------------
    def add_user(
        self,
        login: str,
        *,
        type: str | None = None,
        site_admin: bool = False,
        name: str | None = None,
    ) -> User:
        with self.lock:
            user = self.users.get(login)
            if user is None:
                kind = type or ("Bot" if login.endswith("[bot]") else "User")
                user = User(
                    login=login, id=self.next_id(), type=kind, site_admin=site_admin, name=name
                )
                self.users[login] = user
            elif type is not None:
                user.type = type
            return user

    def add_token(self, token: str, login: str) -> None:
        """Requests carrying `token` act as `login`; other tokens act as the viewer."""
        with self.lock:
            self.add_user(login)
            self.tokens[token] = login

    def user_for_token(self, token: str | None) -> str:
        return self.tokens.get(token or "", self.viewer)

    def repo(self, full_name: str) -> Repo:
        try:
            return self.repos[full_name.casefold()]
        except KeyError:
            raise SeedError(f"no repository {full_name!r} in the double's state") from None

    def add_repo(
        self,
        full_name: str,
        *,
        default_branch: str = "main",
        private: bool = False,
        description: str | None = None,
        files: dict[str, str] | None = None,
        owner_type: str | None = None,
    ) -> Repo:
        owner, _, name = full_name.partition("/")
        if not owner or not name or "/" in name:
            raise SeedError(f"repository name {full_name!r} must look like owner/name")
        with self.lock:
            self.add_user(owner, type=owner_type)
            repo = Repo(
                id=self.next_id(),
                owner=owner,
                name=name,
                created_at=now_iso(),
                default_branch=default_branch,
                private=private,
                description=description,
            )
            self.repos[full_name.casefold()] = repo
            root = self._commit(repo, "Initial commit", parents=[], author=owner, files=files or {})
            repo.refs[f"refs/heads/{default_branch}"] = root.sha
            return repo

    def _commit(
        self,
        repo: Repo,
        message: str,
        *,
        parents: list[str],
        author: str | None,
        files: dict[str, str],
    ) -> Commit:
        date = now_iso()
        sha = fake_sha(repo.full_name, message, *parents, len(repo.commits), self.next_id())
        commit = Commit(
            sha=sha, message=message, parents=parents, author=author, date=date, files=files
        )
        repo.commits[sha] = commit
        return commit

    def add_commit(
        self,
        repo: str | Repo,
        message: str,
        *,
        branch: str | None = None,
        files: dict[str, str] | None = None,
        author: str | None = None,
    ) -> Commit:
        """A commit on top of `branch` (default branch by default), which moves to it."""
        with self.lock:
            r = self._r(repo)
            branch = branch or r.default_branch
            ref = f"refs/heads/{branch}"
            parent = r.refs.get(ref) or r.head()
            tree = dict(r.commits[parent].files)
            tree.update(files or {})
            commit = self._commit(
                r, message, parents=[parent], author=author or r.owner, files=tree
            )
            r.refs[ref] = commit.sha
            return commit

    def add_branch(self, repo: str | Repo, name: str, at: str | None = None) -> str:
        with self.lock:
            r = self._r(repo)
            sha = r.resolve(at) if at else r.head()
            if sha is None:
                raise SeedError(f"{r.full_name}: cannot branch {name!r} from unknown {at!r}")
            r.refs[f"refs/heads/{name}"] = sha
            return sha

    def add_tag(
        self,
        repo: str | Repo,
        name: str,
        *,
        at: str | None = None,
        message: str | None = None,
        tagger: str = "Release Bot",
    ) -> str:
        """A tag ref; annotated (a tag object) when `message` is given. Returns the ref's SHA."""
        with self.lock:
            r = self._r(repo)
            commit = r.resolve(at) if at else r.head()
            if commit is None:
                raise SeedError(f"{r.full_name}: cannot tag {name!r} at unknown {at!r}")
            target = commit
            if message is not None:
                target = self.make_tag_object(
                    r, name, message, commit, "commit", tagger, "bot@example.com"
                ).sha
            r.refs[f"refs/tags/{name}"] = target
            return target

    def make_tag_object(
        self,
        r: Repo,
        tag: str,
        message: str,
        object_sha: str,
        object_type: str,
        name: str,
        email: str,
    ) -> Tag:
        date = now_iso()
        obj = Tag(
            sha=fake_sha("tag", r.full_name, tag, object_sha, message, self.next_id()),
            tag=tag,
            message=message,
            object_sha=object_sha,
            object_type=object_type,
            tagger_name=name,
            tagger_email=email,
            date=date,
        )
        r.tags[obj.sha] = obj
        return obj

    def add_label(
        self,
        repo: str | Repo,
        name: str,
        *,
        color: str = "ededed",
        description: str | None = None,
        default: bool = False,
    ) -> Label:
        with self.lock:
            r = self._r(repo)
            if r.label(name) is not None:
                raise SeedError(f"{r.full_name}: label {name!r} already exists")
            label = Label(
                id=self.next_id(), name=name, color=color, description=description, default=default
            )
            r.labels[label.id] = label
            return label

    def ensure_label(self, r: Repo, name: str) -> Label:
        """GitHub creates a label that an issue is given but the repository lacks."""
        return r.label(name) or self.add_label(r, name)

    def add_milestone(
        self,
        repo: str | Repo,
        title: str,
        *,
        description: str | None = None,
        state: str = "open",
        due_on: str | None = None,
        creator: str | None = None,
        number: int | None = None,
    ) -> Milestone:
        with self.lock:
            r = self._r(repo)
            if r.milestone_by_title(title) is not None:
                raise SeedError(f"{r.full_name}: milestone {title!r} already exists")
            number = number or r.next_milestone
            if number in r.milestones:
                raise SeedError(f"{r.full_name}: milestone number {number} is taken")
            r.next_milestone = max(r.next_milestone, number + 1)
            stamp = now_iso()
            creator = creator or r.owner
            self.add_user(creator)
            milestone = Milestone(
                number=number,
                id=self.next_id(),
                title=title,
                creator=creator,
                created_at=stamp,
                updated_at=stamp,
                description=description,
                state=state,
                due_on=due_on,
                closed_at=stamp if state == "closed" else None,
            )
            r.milestones[number] = milestone
            return milestone

    def _milestone_number(self, r: Repo, milestone: int | str | None) -> int | None:
        if milestone is None:
            return None
        if isinstance(milestone, int):
            if milestone not in r.milestones:
                raise SeedError(f"{r.full_name}: no milestone number {milestone}")
            return milestone
        found = r.milestone_by_title(milestone)
        if found is None:
            raise SeedError(f"{r.full_name}: no milestone titled {milestone!r}")
        return found.number

    def add_issue(
        self,
        repo: str | Repo,
        title: str,
        *,
        user: str | None = None,
        body: str | None = None,
        labels: list[str] | tuple[str, ...] = (),
        milestone: int | str | None = None,
        state: str = "open",
        state_reason: str | None = None,
        assignees: list[str] | tuple[str, ...] = (),
        number: int | None = None,
        closed_by: str | None = None,
    ) -> Issue:
        """An issue; `milestone` is a number or a title, unknown labels are created."""
        with self.lock:
            r = self._r(repo)
            number = number or r.next_number
            if number in r.issues:
                raise SeedError(f"{r.full_name}: issue or pull request #{number} exists")
            r.next_number = max(r.next_number, number + 1)
            user = user or r.owner
            self.add_user(user)
            for login in assignees:
                self.add_user(login)
            stamp = now_iso()
            closed = state == "closed"
            issue = Issue(
                number=number,
                id=self.next_id(),
                title=title,
                user=user,
                created_at=stamp,
                updated_at=stamp,
                body=body,
                state=state,
                state_reason=state_reason or ("completed" if closed else None),
                label_ids=[self.ensure_label(r, name).id for name in labels],
                milestone=self._milestone_number(r, milestone),
                assignees=list(assignees),
                closed_at=stamp if closed else None,
                closed_by=(closed_by or r.owner) if closed else None,
            )
            r.issues[number] = issue
            return issue

    def add_pull(
        self,
        repo: str | Repo,
        title: str,
        *,
        head: str = "feature",
        base: str | None = None,
        head_repo: str | None = None,
        merged: bool = False,
        draft: bool = False,
        merged_by: str | None = None,
        **issue_fields: Any,
    ) -> Issue:
        """A pull request (an issue with pull-request data); `head_repo` names a fork.

        A merged pull request is closed. Same-repository heads get a branch with one commit.
        """
        with self.lock:
            r = self._r(repo)
            base = base or r.default_branch
            base_sha = r.resolve(base)
            if base_sha is None:
                raise SeedError(f"{r.full_name}: base branch {base!r} does not exist")
            if merged:
                issue_fields["state"] = "closed"
            issue = self.add_issue(r, title, **issue_fields)
            fork = head_repo is not None and head_repo.casefold() != r.full_name.casefold()
            if fork:
                head_sha = fake_sha("fork", head_repo, head, issue.number)
            elif f"refs/heads/{head}" in r.refs:
                head_sha = r.refs[f"refs/heads/{head}"]
            else:
                self.add_branch(r, head, base_sha)
                head_sha = self.add_commit(
                    r, f"Change for #{issue.number}", branch=head, author=issue.user
                ).sha
            stamp = issue.closed_at if merged else None
            issue.pull = PullRequest(
                head_ref=head,
                head_sha=head_sha,
                head_repo=head_repo if fork and head_repo else r.full_name,
                base_ref=base,
                base_sha=base_sha,
                merged=merged,
                merged_at=stamp,
                merged_by=(merged_by or r.owner) if merged else None,
                merge_commit_sha=fake_sha("merge", r.full_name, issue.number) if merged else None,
                draft=draft,
            )
            return issue

    def add_comment(
        self, repo: str | Repo, number: int, body: str, *, user: str | None = None
    ) -> Comment:
        with self.lock:
            r = self._r(repo)
            if number not in r.issues:
                raise SeedError(f"{r.full_name}: no issue #{number} to comment on")
            user = user or self.viewer
            self.add_user(user)
            stamp = now_iso()
            comment = Comment(
                id=self.next_id(),
                issue_number=number,
                body=body,
                user=user,
                created_at=stamp,
                updated_at=stamp,
            )
            r.comments[comment.id] = comment
            return comment

    def add_release(
        self,
        repo: str | Repo,
        tag_name: str,
        *,
        name: str | None = None,
        body: str | None = None,
        draft: bool = False,
        prerelease: bool = False,
        target: str | None = None,
        author: str | None = None,
    ) -> Release:
        """A release; its tag is created at `target` (default branch head) when missing."""
        with self.lock:
            r = self._r(repo)
            if r.release_by_tag(tag_name) is not None:
                raise SeedError(f"{r.full_name}: a release for {tag_name!r} exists")
            target = target or r.default_branch
            if not draft and f"refs/tags/{tag_name}" not in r.refs:
                self.add_tag(r, tag_name, at=target)
            stamp = now_iso()
            author = author or self.viewer
            self.add_user(author)
            release = Release(
                id=self.next_id(),
                tag_name=tag_name,
                target_commitish=target,
                author=author,
                created_at=stamp,
                updated_at=stamp,
                name=name,
                body=body,
                draft=draft,
                prerelease=prerelease,
                published_at=None if draft else stamp,
            )
            r.releases[release.id] = release
            return release

    def set_permission(self, repo: str | Repo, login: str, role: str) -> None:
        if role not in ROLES and role not in self._r(repo).custom_roles:
            raise SeedError(f"role {role!r} is not one of {', '.join(ROLES)} or a custom role")
        with self.lock:
            self.add_user(login)
            self._r(repo).collaborators[login] = role

    def add_custom_role(self, repo: str | Repo, name: str, base: str) -> None:
        """A custom repository role (GitHub reports its name as `role_name`) on top of `base`."""
        if base not in ROLES:
            raise SeedError(f"base role {base!r} is not one of {', '.join(ROLES)}")
        with self.lock:
            self._r(repo).custom_roles[name] = base

    def add_workflow(
        self, repo: str | Repo, workflow_id: str, inputs: dict[str, dict[str, Any]] | None = None
    ) -> None:
        with self.lock:
            self._r(repo).workflows[workflow_id] = dict(inputs or {})

    def _r(self, repo: str | Repo) -> Repo:
        return repo if isinstance(repo, Repo) else self.repo(repo)

    # -- seed files ---------------------------------------------------------------------------
    def load(self, data: dict[str, Any], *, source: str = "state") -> None:
        """Apply a seed document (see README.md beside this file for the format)."""
        try:
            self._load(data)
        except SeedError as exc:
            raise SeedError(f"{source}: {exc}") from None
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise SeedError(f"{source}: malformed seed ({type(exc).__name__}: {exc})") from None

    def _load(self, data: dict[str, Any]) -> None:
        if "viewer" in data:
            self.viewer = str(data["viewer"])
            self.add_user(self.viewer)
        for user in data.get("users", []):
            self.add_user(
                user["login"], type=user.get("type"), site_admin=bool(user.get("site_admin", False))
            )
        for token, login in data.get("tokens", {}).items():
            self.add_token(token, login)
        for spec in data.get("repos", []):
            self._load_repo(spec)

    def _load_repo(self, spec: dict[str, Any]) -> None:
        r = self.add_repo(
            spec["full_name"],
            default_branch=spec.get("default_branch", "main"),
            private=bool(spec.get("private", False)),
            description=spec.get("description"),
            files=spec.get("files"),
        )
        for login, role in spec.get("collaborators", {}).items():
            self.set_permission(r, login, role)
        for commit in spec.get("commits", []):
            self.add_commit(
                r,
                commit["message"],
                branch=commit.get("branch"),
                files=commit.get("files"),
                author=commit.get("author"),
            )
        for name, at in spec.get("branches", {}).items():
            self.add_branch(r, name, at)
        for label in spec.get("labels", []):
            self.add_label(
                r,
                label["name"],
                color=label.get("color", "ededed"),
                description=label.get("description"),
            )
        for ms in spec.get("milestones", []):
            self.add_milestone(
                r,
                ms["title"],
                description=ms.get("description"),
                state=ms.get("state", "open"),
                due_on=ms.get("due_on"),
                creator=ms.get("creator"),
                number=ms.get("number"),
            )
        for item in spec.get("issues", []):
            fields = {
                k: v for k, v in item.items() if k not in {"title", "pull_request", "comments"}
            }
            pr = item.get("pull_request")
            if pr is not None:
                issue = self.add_pull(r, item["title"], **pr, **fields)
            else:
                issue = self.add_issue(r, item["title"], **fields)
            for comment in item.get("comments", []):
                self.add_comment(r, issue.number, comment["body"], user=comment.get("user"))
        for tag in spec.get("tags", []):
            self.add_tag(r, tag["name"], at=tag.get("at"), message=tag.get("message"))
        for rel in spec.get("releases", []):
            fields = {k: v for k, v in rel.items() if k != "tag_name"}
            self.add_release(r, rel["tag_name"], **fields)
        for wf, inputs in spec.get("workflows", {}).items():
            self.add_workflow(r, wf, inputs)

    def load_file(self, path: str | Path) -> None:
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except OSError as exc:
            raise SeedError(f"{p}: cannot read state file ({exc.strerror})") from None
        try:
            data = json.loads(text) if p.suffix == ".json" else yaml.safe_load(text)
        except (json.JSONDecodeError, yaml.YAMLError) as exc:
            raise SeedError(
                f"{p}: not valid {'JSON' if p.suffix == '.json' else 'YAML'}: {exc}"
            ) from None
        if not isinstance(data, dict):
            raise SeedError(f"{p}: the state file must hold a mapping with `repos`, `users`, ...")
        self.load(data, source=str(p))

    @classmethod
    def from_file(cls, path: str | Path) -> State:
        state = cls()
        state.load_file(path)
        return state
