"""GitHub-shaped JSON for the double's objects, with every field the description requires."""

from __future__ import annotations

import base64
import zlib
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from .state import (
    LEGACY_PERMISSION,
    Comment,
    Commit,
    Issue,
    Label,
    Milestone,
    Release,
    Repo,
    State,
    Tag,
    User,
)

Json = dict[str, Any]


def node_id(kind: str, ident: int | str) -> str:
    return f"{kind}_" + base64.b64encode(f"{kind}:{ident}".encode()).decode().rstrip("=")


def q(value: str) -> str:
    return quote(value, safe="")


def permission_flags(role: str) -> dict[str, bool]:
    """A repository role as the `permissions` object GitHub puts on repos and collaborators."""
    return {
        "admin": role == "admin",
        "maintain": role in {"maintain", "admin"},
        "push": role in {"write", "maintain", "admin"},
        "triage": role in {"triage", "write", "maintain", "admin"},
        "pull": role != "none",
    }


@dataclass
class Renderer:
    """Builds objects with URLs that point back at the double (`api`) and at `html`."""

    state: State
    api: str
    html: str = "https://github.com"
    _counts: dict[int, dict[int, tuple[int, int]]] = field(default_factory=dict)

    # -- users and repositories ---------------------------------------------------------------
    def user(self, login: str | None) -> Json | None:
        if login is None:
            return None
        # Logins the state does not hold (a fork's owner) get a stable made-up id.
        user = self.state.users.get(login) or User(login=login, id=zlib.crc32(login.encode()))
        base = f"{self.api}/users/{q(login)}"
        return {
            "login": user.login,
            "id": user.id,
            "node_id": node_id("U" if user.type != "Bot" else "BOT", user.id),
            "avatar_url": f"https://avatars.githubusercontent.com/u/{user.id}?v=4",
            "gravatar_id": "",
            "url": base,
            "html_url": f"{self.html}/{q(login)}",
            "followers_url": f"{base}/followers",
            "following_url": f"{base}/following{{/other_user}}",
            "gists_url": f"{base}/gists{{/gist_id}}",
            "starred_url": f"{base}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{base}/subscriptions",
            "organizations_url": f"{base}/orgs",
            "repos_url": f"{base}/repos",
            "events_url": f"{base}/events{{/privacy}}",
            "received_events_url": f"{base}/received_events",
            "type": user.type,
            "user_view_type": "public",
            "site_admin": user.site_admin,
        }

    def must_user(self, login: str) -> Json:
        rendered = self.user(login)
        assert rendered is not None
        return rendered

    def repo_url(self, r: Repo) -> str:
        return f"{self.api}/repos/{r.full_name}"

    def repository(self, r: Repo, *, full: bool = False, viewer: str | None = None) -> Json:
        url = self.repo_url(r)
        html = f"{self.html}/{r.full_name}"
        open_count = sum(1 for i in r.issues.values() if i.state == "open")
        pushed = max((c.date for c in r.commits.values()), default=r.created_at)
        out: Json = {
            "id": r.id,
            "node_id": node_id("R", r.id),
            "name": r.name,
            "full_name": r.full_name,
            "owner": self.user(r.owner),
            "private": r.private,
            "visibility": "private" if r.private else "public",
            "html_url": html,
            "description": r.description,
            "fork": r.fork,
            "url": url,
            "archive_url": f"{url}/{{archive_format}}{{/ref}}",
            "assignees_url": f"{url}/assignees{{/user}}",
            "blobs_url": f"{url}/git/blobs{{/sha}}",
            "branches_url": f"{url}/branches{{/branch}}",
            "collaborators_url": f"{url}/collaborators{{/collaborator}}",
            "comments_url": f"{url}/comments{{/number}}",
            "commits_url": f"{url}/commits{{/sha}}",
            "compare_url": f"{url}/compare/{{base}}...{{head}}",
            "contents_url": f"{url}/contents/{{+path}}",
            "contributors_url": f"{url}/contributors",
            "deployments_url": f"{url}/deployments",
            "downloads_url": f"{url}/downloads",
            "events_url": f"{url}/events",
            "forks_url": f"{url}/forks",
            "git_commits_url": f"{url}/git/commits{{/sha}}",
            "git_refs_url": f"{url}/git/refs{{/sha}}",
            "git_tags_url": f"{url}/git/tags{{/sha}}",
            "git_url": f"git://github.com/{r.full_name}.git",
            "issue_comment_url": f"{url}/issues/comments{{/number}}",
            "issue_events_url": f"{url}/issues/events{{/number}}",
            "issues_url": f"{url}/issues{{/number}}",
            "keys_url": f"{url}/keys{{/key_id}}",
            "labels_url": f"{url}/labels{{/name}}",
            "languages_url": f"{url}/languages",
            "merges_url": f"{url}/merges",
            "milestones_url": f"{url}/milestones{{/number}}",
            "notifications_url": f"{url}/notifications{{?since,all,participating}}",
            "pulls_url": f"{url}/pulls{{/number}}",
            "releases_url": f"{url}/releases{{/id}}",
            "ssh_url": f"git@github.com:{r.full_name}.git",
            "stargazers_url": f"{url}/stargazers",
            "statuses_url": f"{url}/statuses/{{sha}}",
            "subscribers_url": f"{url}/subscribers",
            "subscription_url": f"{url}/subscription",
            "tags_url": f"{url}/tags",
            "teams_url": f"{url}/teams",
            "trees_url": f"{url}/git/trees{{/sha}}",
            "clone_url": f"{html}.git",
            "mirror_url": None,
            "hooks_url": f"{url}/hooks",
            "svn_url": html,
            "homepage": None,
            "language": "Python",
            "forks_count": 0,
            "forks": 0,
            "stargazers_count": 0,
            "watchers_count": 0,
            "watchers": 0,
            "size": len(r.commits),
            "default_branch": r.default_branch,
            "open_issues_count": open_count,
            "open_issues": open_count,
            "is_template": False,
            "topics": [],
            "has_issues": True,
            "has_projects": True,
            "has_wiki": True,
            "has_pages": False,
            "has_downloads": True,
            "has_discussions": False,
            "archived": False,
            "disabled": False,
            "pushed_at": pushed,
            "created_at": r.created_at,
            "updated_at": pushed,
            "license": None,
            "allow_forking": True,
            "web_commit_signoff_required": False,
        }
        if viewer is not None:
            role = r.role_of(viewer)
            out["permissions"] = permission_flags(role)
        if full:
            out.update(
                {
                    "network_count": 0,
                    "subscribers_count": 0,
                    "allow_merge_commit": r.allow_merge_commit,
                    "allow_squash_merge": True,
                    "allow_rebase_merge": True,
                    "allow_auto_merge": False,
                    "delete_branch_on_merge": False,
                }
            )
        return out

    def foreign_repository(self, full_name: str, like: Repo) -> Json:
        """A fork that the state does not hold: shaped from the base repository."""
        owner, _, name = full_name.partition("/")
        stand_in = Repo(
            id=zlib.crc32(full_name.encode()),
            owner=owner,
            name=name,
            created_at=like.created_at,
            default_branch=like.default_branch,
            fork=True,
        )
        return self.repository(stand_in)

    # -- labels, milestones, issues -----------------------------------------------------------
    def label(self, r: Repo, label: Label) -> Json:
        return {
            "id": label.id,
            "node_id": node_id("LA", label.id),
            "url": f"{self.repo_url(r)}/labels/{q(label.name)}",
            "name": label.name,
            "color": label.color,
            "description": label.description,
            "default": label.default,
        }

    def milestone_counts(self, r: Repo, number: int) -> tuple[int, int]:
        """(open, closed) items of a milestone; counted once per repository per request."""
        counts = self._counts.get(r.id)
        if counts is None:
            counts = {}
            for issue in r.issues.values():
                if issue.milestone is not None:
                    opened, closed = counts.get(issue.milestone, (0, 0))
                    is_open = issue.state == "open"
                    counts[issue.milestone] = (opened + is_open, closed + (not is_open))
            self._counts[r.id] = counts
        return counts.get(number, (0, 0))

    def milestone(self, r: Repo, ms: Milestone) -> Json:
        opened, closed = self.milestone_counts(r, ms.number)
        return {
            "url": f"{self.repo_url(r)}/milestones/{ms.number}",
            "html_url": f"{self.html}/{r.full_name}/milestone/{ms.number}",
            "labels_url": f"{self.repo_url(r)}/milestones/{ms.number}/labels",
            "id": ms.id,
            "node_id": node_id("MI", ms.id),
            "number": ms.number,
            "state": ms.state,
            "title": ms.title,
            "description": ms.description,
            "creator": self.user(ms.creator),
            "open_issues": opened,
            "closed_issues": closed,
            "created_at": ms.created_at,
            "updated_at": ms.updated_at,
            "closed_at": ms.closed_at,
            "due_on": ms.due_on,
        }

    def author_association(self, r: Repo, login: str) -> str:
        if login == r.owner:
            return "OWNER"
        if login in r.collaborators and r.collaborators[login] != "none":
            return "COLLABORATOR"
        authored = any(i.user == login and i.pull and i.pull.merged for i in r.issues.values())
        return "CONTRIBUTOR" if authored else "NONE"

    def issue(self, r: Repo, issue: Issue) -> Json:
        url = f"{self.repo_url(r)}/issues/{issue.number}"
        kind = "pull" if issue.pull else "issues"
        out: Json = {
            "id": issue.id,
            "node_id": node_id("PR" if issue.pull else "I", issue.id),
            "url": url,
            "repository_url": self.repo_url(r),
            "labels_url": f"{url}/labels{{/name}}",
            "comments_url": f"{url}/comments",
            "events_url": f"{url}/events",
            "html_url": f"{self.html}/{r.full_name}/{kind}/{issue.number}",
            "number": issue.number,
            "state": issue.state,
            "state_reason": issue.state_reason,
            "title": issue.title,
            "body": issue.body,
            "user": self.user(issue.user),
            "labels": [self.label(r, r.labels[i]) for i in issue.label_ids if i in r.labels],
            "assignee": self.user(issue.assignees[0]) if issue.assignees else None,
            "assignees": [self.must_user(a) for a in issue.assignees],
            "milestone": self.milestone(r, r.milestones[issue.milestone])
            if issue.milestone in r.milestones
            else None,
            "locked": issue.locked,
            "active_lock_reason": None,
            "comments": len(r.issue_comments(issue.number)),
            "closed_at": issue.closed_at,
            "created_at": issue.created_at,
            "updated_at": issue.updated_at,
            "closed_by": self.user(issue.closed_by),
            "author_association": self.author_association(r, issue.user),
            "timeline_url": f"{url}/timeline",
            "performed_via_github_app": None,
        }
        if issue.pull:
            pulls = f"{self.repo_url(r)}/pulls/{issue.number}"
            html = f"{self.html}/{r.full_name}/pull/{issue.number}"
            out["draft"] = issue.pull.draft
            out["pull_request"] = {
                "url": pulls,
                "html_url": html,
                "diff_url": f"{html}.diff",
                "patch_url": f"{html}.patch",
                "merged_at": issue.pull.merged_at,
            }
        return out

    def pull(self, r: Repo, issue: Issue) -> Json:
        pr = issue.pull
        assert pr is not None
        url = f"{self.repo_url(r)}/pulls/{issue.number}"
        html = f"{self.html}/{r.full_name}/pull/{issue.number}"
        issue_url = f"{self.repo_url(r)}/issues/{issue.number}"
        head_repo = (
            self.repository(self.state.repo(pr.head_repo))
            if pr.head_repo.casefold() in self.state.repos
            else self.foreign_repository(pr.head_repo, r)
        )
        head_owner = pr.head_repo.partition("/")[0]
        base = self.issue(r, issue)
        return {
            "url": url,
            "id": issue.id,
            "node_id": base["node_id"],
            "html_url": html,
            "diff_url": f"{html}.diff",
            "patch_url": f"{html}.patch",
            "issue_url": issue_url,
            "commits_url": f"{url}/commits",
            "review_comments_url": f"{url}/comments",
            "review_comment_url": f"{self.repo_url(r)}/pulls/comments{{/number}}",
            "comments_url": f"{issue_url}/comments",
            "statuses_url": f"{self.repo_url(r)}/statuses/{pr.head_sha}",
            "number": issue.number,
            "state": issue.state,
            "locked": issue.locked,
            "title": issue.title,
            "user": self.user(issue.user),
            "body": issue.body,
            "labels": base["labels"],
            "milestone": base["milestone"],
            "active_lock_reason": None,
            "created_at": issue.created_at,
            "updated_at": issue.updated_at,
            "closed_at": issue.closed_at,
            "merged_at": pr.merged_at,
            "merge_commit_sha": pr.merge_commit_sha,
            "assignee": base["assignee"],
            "assignees": base["assignees"],
            "requested_reviewers": [],
            "requested_teams": [],
            "head": {
                "label": f"{head_owner}:{pr.head_ref}",
                "ref": pr.head_ref,
                "sha": pr.head_sha,
                "user": self.user(head_owner),
                "repo": head_repo,
            },
            "base": {
                "label": f"{r.owner}:{pr.base_ref}",
                "ref": pr.base_ref,
                "sha": pr.base_sha,
                "user": self.user(r.owner),
                "repo": self.repository(r),
            },
            "_links": {
                "self": {"href": url},
                "html": {"href": html},
                "issue": {"href": issue_url},
                "comments": {"href": f"{issue_url}/comments"},
                "review_comments": {"href": f"{url}/comments"},
                "review_comment": {"href": f"{self.repo_url(r)}/pulls/comments{{/number}}"},
                "commits": {"href": f"{url}/commits"},
                "statuses": {"href": f"{self.repo_url(r)}/statuses/{pr.head_sha}"},
            },
            "author_association": base["author_association"],
            "auto_merge": None,
            "draft": pr.draft,
            "merged": pr.merged,
            "mergeable": None if issue.state == "closed" else True,
            "rebaseable": None if issue.state == "closed" else True,
            "mergeable_state": "unknown" if issue.state == "closed" else "clean",
            "merged_by": self.user(pr.merged_by),
            "comments": base["comments"],
            "review_comments": 0,
            "maintainer_can_modify": pr.maintainer_can_modify,
            "commits": 1,
            "additions": 1,
            "deletions": 0,
            "changed_files": 1,
        }

    def comment(self, r: Repo, c: Comment) -> Json:
        return {
            "id": c.id,
            "node_id": node_id("IC", c.id),
            "url": f"{self.repo_url(r)}/issues/comments/{c.id}",
            "html_url": f"{self.html}/{r.full_name}/issues/{c.issue_number}#issuecomment-{c.id}",
            "issue_url": f"{self.repo_url(r)}/issues/{c.issue_number}",
            "body": c.body,
            "user": self.user(c.user),
            "created_at": c.created_at,
            "updated_at": c.updated_at,
            "author_association": self.author_association(r, c.user),
            "performed_via_github_app": None,
        }

    # -- git ----------------------------------------------------------------------------------
    def git_ref(self, r: Repo, ref: str, sha: str) -> Json:
        kind = "tag" if sha in r.tags else "commit"
        plural = "tags" if kind == "tag" else "commits"
        return {
            "ref": ref,
            "node_id": node_id("REF", f"{r.id}:{ref}"),
            "url": f"{self.repo_url(r)}/git/{ref}",
            "object": {"type": kind, "sha": sha, "url": f"{self.repo_url(r)}/git/{plural}/{sha}"},
        }

    def git_tag(self, r: Repo, tag: Tag) -> Json:
        plural = "tags" if tag.object_type == "tag" else f"{tag.object_type}s"
        return {
            "node_id": node_id("TAG", tag.sha),
            "tag": tag.tag,
            "sha": tag.sha,
            "url": f"{self.repo_url(r)}/git/tags/{tag.sha}",
            "message": tag.message,
            "tagger": {"name": tag.tagger_name, "email": tag.tagger_email, "date": tag.date},
            "object": {
                "sha": tag.object_sha,
                "type": tag.object_type,
                "url": f"{self.repo_url(r)}/git/{plural}/{tag.object_sha}",
            },
            "verification": {
                "verified": False,
                "reason": "unsigned",
                "signature": None,
                "payload": None,
                "verified_at": None,
            },
        }

    def commit(self, r: Repo, c: Commit) -> Json:
        url = f"{self.repo_url(r)}/commits/{c.sha}"
        person = {
            "name": c.author or "unknown",
            "email": f"{c.author or 'unknown'}@users.noreply.github.com",
            "date": c.date,
        }
        author = self.user(c.author) if c.author else None
        return {
            "url": url,
            "sha": c.sha,
            "node_id": node_id("C", c.sha),
            "html_url": f"{self.html}/{r.full_name}/commit/{c.sha}",
            "comments_url": f"{url}/comments",
            "commit": {
                "url": f"{self.repo_url(r)}/git/commits/{c.sha}",
                "author": person,
                "committer": person,
                "message": c.message,
                "comment_count": 0,
                "tree": {"sha": c.sha[::-1], "url": f"{self.repo_url(r)}/git/trees/{c.sha[::-1]}"},
                "verification": {
                    "verified": False,
                    "reason": "unsigned",
                    "signature": None,
                    "payload": None,
                    "verified_at": None,
                },
            },
            "author": author,
            "committer": author,
            "parents": [
                {
                    "sha": p,
                    "url": f"{self.repo_url(r)}/commits/{p}",
                    "html_url": f"{self.html}/{r.full_name}/commit/{p}",
                }
                for p in c.parents
            ],
        }

    def branch(self, r: Repo, name: str, sha: str) -> Json:
        url = f"{self.repo_url(r)}/branches/{q(name)}"
        linear = name in r.linear_history
        protection: Json = {
            "enabled": linear,
            "required_status_checks": {
                "enforcement_level": "off",
                "contexts": [],
                "checks": [],
            },
        }
        if linear:
            protection["required_linear_history"] = {"enabled": True}
        return {
            "name": name,
            "commit": self.commit(r, r.commits[sha]),
            "_links": {"self": url, "html": f"{self.html}/{r.full_name}/tree/{name}"},
            "protected": linear,
            "protection": protection,
            "protection_url": f"{url}/protection",
        }

    # -- releases and permissions -------------------------------------------------------------
    def release(self, r: Repo, rel: Release) -> Json:
        url = f"{self.repo_url(r)}/releases/{rel.id}"
        tag = q(rel.tag_name)
        return {
            "url": url,
            "html_url": f"{self.html}/{r.full_name}/releases/tag/{tag}",
            "assets_url": f"{url}/assets",
            "upload_url": f"https://uploads.github.com/repos/{r.full_name}/releases/{rel.id}/assets{{?name,label}}",
            "tarball_url": f"{self.repo_url(r)}/tarball/{tag}",
            "zipball_url": f"{self.repo_url(r)}/zipball/{tag}",
            "id": rel.id,
            "node_id": node_id("RE", rel.id),
            "tag_name": rel.tag_name,
            "target_commitish": rel.target_commitish,
            "name": rel.name,
            "body": rel.body,
            "draft": rel.draft,
            "prerelease": rel.prerelease,
            "immutable": False,
            "created_at": rel.created_at,
            "updated_at": rel.updated_at,
            "published_at": rel.published_at,
            "author": self.user(rel.author),
            "assets": [],
        }

    def permission(self, r: Repo, login: str) -> Json:
        role = r.role_of(login)
        base = r.custom_roles.get(role, role)  # a custom role reports its name, acts as its base
        user = self.must_user(login)
        user["role_name"] = role
        user["permissions"] = permission_flags(base)
        return {"permission": LEGACY_PERMISSION[base], "role_name": role, "user": user}
