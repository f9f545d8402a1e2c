"""The REST endpoints: routing, GitHub's error bodies, pagination and the handlers."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import quote, unquote, urlencode

from .render import Json, Renderer
from .state import Dispatch, Issue, Milestone, Repo, State, fake_sha, now_iso

DOCS = "https://docs.github.com/rest"
T = TypeVar("T")
MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 30


class ApiError(Exception):
    """An error answer in GitHub's shape (basic-error, or validation-error with `errors`)."""

    def __init__(
        self, status: int, message: str, errors: list[dict[str, Any]] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors

    def body(self) -> Json:
        out: Json = {"message": self.message, "documentation_url": DOCS, "status": str(self.status)}
        if self.errors is not None:
            out["errors"] = self.errors
        return out


def not_found() -> ApiError:
    return ApiError(404, "Not Found")


def invalid(
    resource: str, field_name: str, code: str = "invalid", message: str | None = None
) -> ApiError:
    error: dict[str, Any] = {"resource": resource, "code": code, "field": field_name}
    if message:
        error["message"] = message
    return ApiError(422, "Validation Failed", [error])


@dataclass
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Ctx:
    state: State
    render: Renderer
    params: dict[str, str]
    query: dict[str, str]
    body: Any
    actor: str
    base_url: str
    path: str

    @property
    def repo(self) -> Repo:
        key = f"{self.params['owner']}/{self.params['repo']}".casefold()
        repo = self.state.repos.get(key)
        if repo is None:
            raise not_found()
        return repo

    def field(self, name: str, default: Any = None) -> Any:
        return self.body.get(name, default) if isinstance(self.body, dict) else default

    def paginate(self, items: Sequence[T], render: Callable[[T], Json]) -> Reply:
        """GitHub's paging: `per_page` (default 30, at most 100), `page`, and a Link header.

        Only the page asked for is rendered.
        """
        try:
            per_page = min(max(int(self.query.get("per_page", DEFAULT_PER_PAGE)), 1), MAX_PER_PAGE)
            page = max(int(self.query.get("page", 1)), 1)
        except ValueError:
            raise ApiError(422, "Invalid per_page or page") from None
        last = max((len(items) + per_page - 1) // per_page, 1)
        chunk = [render(item) for item in items[(page - 1) * per_page : page * per_page]]
        links = []

        def link(number: int, rel: str) -> str:
            query = dict(self.query, page=str(number))
            return f'<{self.base_url}{self.path}?{urlencode(query)}>; rel="{rel}"'

        if page > 1:
            links.append(link(min(page - 1, last), "prev"))
        if page < last:
            links.append(link(page + 1, "next"))
            links.append(link(last, "last"))
        if page > 1:
            links.append(link(1, "first"))
        headers = {"Link": ", ".join(links)} if links else {}
        return Reply(200, chunk, headers)


Handler = Callable[[Ctx], Reply]


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    handler: Handler
    pattern: re.Pattern[str]


# Parameters that may span path segments (refs like `tags/v1`, file paths).
MULTI_SEGMENT = {"ref", "branch", "tag", "basehead", "path"}


def compile_template(template: str) -> re.Pattern[str]:
    def group(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "path":  # the repository root is an empty path
            return f"(?P<{name}>.*)"
        return f"(?P<{name}>.+)" if name in MULTI_SEGMENT else f"(?P<{name}>[^/]+)"

    return re.compile("^" + re.sub(r"\{(\w+)\}", group, template) + "$")


ROUTES: list[Route] = []


def route(method: str, template: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        ROUTES.append(Route(method, template, handler, compile_template(template)))
        return handler

    return register


def find_route(method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    """The first registered route that matches; literal segments are registered first."""
    for candidate in ROUTES:
        if candidate.method != method:
            continue
        match = candidate.pattern.match(path)
        if match:
            return candidate, {k: unquote(v) for k, v in match.groupdict().items()}
    return None


def known_path(path: str) -> bool:
    return any(r.pattern.match(path) for r in ROUTES)


R = "/repos/{owner}/{repo}"


def require_str(ctx: Ctx, name: str, resource: str) -> str:
    value = ctx.field(name)
    if not isinstance(value, str) or not value:
        raise invalid(resource, name, "missing_field")
    return value


# -- rate limit and repositories -----------------------------------------------------------------
@route("GET", "/rate_limit")
def get_rate_limit(ctx: Ctx) -> Reply:
    # The numbers come from the server's counters; it adds them when answering.
    return Reply(200, {"__rate_limit__": True})


@route("GET", R)
def get_repo(ctx: Ctx) -> Reply:
    return Reply(200, ctx.render.repository(ctx.repo, full=True, viewer=ctx.actor))


@route("GET", R + "/collaborators/{username}/permission")
def get_permission(ctx: Ctx) -> Reply:
    login = ctx.params["username"]
    if login not in ctx.state.users:
        raise not_found()
    return Reply(200, ctx.render.permission(ctx.repo, login))


# -- labels --------------------------------------------------------------------------------------
def _label_or_404(repo: Repo, name: str) -> Any:
    label = repo.label(name)
    if label is None:
        raise not_found()
    return label


def _check_color(color: Any) -> None:
    if not isinstance(color, str) or not re.fullmatch(r"[0-9a-fA-F]{6}", color):
        raise invalid("Label", "color")


@route("GET", R + "/labels")
def list_labels(ctx: Ctx) -> Reply:
    repo = ctx.repo
    return ctx.paginate(list(repo.labels.values()), lambda lb: ctx.render.label(repo, lb))


@route("POST", R + "/labels")
def create_label(ctx: Ctx) -> Reply:
    repo = ctx.repo
    name = require_str(ctx, "name", "Label")
    color = str(ctx.field("color", "ededed")).removeprefix("#")
    _check_color(color)
    if repo.label(name) is not None:
        raise invalid("Label", "name", "already_exists")
    label = ctx.state.add_label(
        repo, name, color=color.lower(), description=ctx.field("description")
    )
    out = ctx.render.label(repo, label)
    return Reply(201, out, {"Location": out["url"]})


@route("GET", R + "/labels/{name}")
def get_label(ctx: Ctx) -> Reply:
    repo = ctx.repo
    return Reply(200, ctx.render.label(repo, _label_or_404(repo, ctx.params["name"])))


@route("PATCH", R + "/labels/{name}")
def update_label(ctx: Ctx) -> Reply:
    repo = ctx.repo
    label = _label_or_404(repo, ctx.params["name"])
    new_name = ctx.field("new_name", ctx.field("name"))
    if new_name is not None and new_name != label.name:
        clash = repo.label(new_name)
        if clash is not None and clash.id != label.id:
            raise invalid("Label", "name", "already_exists")
        label.name = new_name  # issues hold label ids, so they keep the renamed label
    if "color" in (ctx.body or {}):
        color = str(ctx.field("color")).removeprefix("#")
        _check_color(color)
        label.color = color.lower()
    if "description" in (ctx.body or {}):
        label.description = ctx.field("description")
    return Reply(200, ctx.render.label(repo, label))


@route("DELETE", R + "/labels/{name}")
def delete_label(ctx: Ctx) -> Reply:
    repo = ctx.repo
    label = _label_or_404(repo, ctx.params["name"])
    del repo.labels[label.id]
    for issue in repo.issues.values():
        if label.id in issue.label_ids:
            issue.label_ids.remove(label.id)
    return Reply(204)


# -- issues --------------------------------------------------------------------------------------
def _issue_or_404(repo: Repo, number: str) -> Issue:
    issue = repo.issues.get(int(number)) if number.isdigit() else None
    if issue is None:
        raise not_found()
    return issue


def _label_names(body: Any) -> list[str]:
    """Body of the issue-label endpoints: a list of names, or {"labels": [...]}."""
    if isinstance(body, dict):
        body = body.get("labels", [])
    if not isinstance(body, list):
        raise invalid("Label", "labels")
    return [item["name"] if isinstance(item, dict) else str(item) for item in body]


def _milestone_number(repo: Repo, value: Any) -> int | None:
    if value is None:
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise invalid("Issue", "milestone") from None
    if number not in repo.milestones:
        raise invalid("Issue", "milestone", "invalid")
    return number


def _filter_issues(ctx: Ctx, repo: Repo) -> list[Issue]:
    query = ctx.query
    state = query.get("state", "open")
    items = [i for i in repo.issues.values() if state == "all" or i.state == state]
    milestone = query.get("milestone")
    if milestone == "*":
        items = [i for i in items if i.milestone is not None]
    elif milestone == "none":
        items = [i for i in items if i.milestone is None]
    elif milestone is not None:
        if not milestone.isdigit() or int(milestone) not in repo.milestones:
            raise not_found()
        items = [i for i in items if i.milestone == int(milestone)]
    if "labels" in query:
        wanted = [n.strip().casefold() for n in query["labels"].split(",") if n.strip()]
        items = [
            i
            for i in items
            if all(w in {n.casefold() for n in repo.issue_labels(i.number)} for w in wanted)
        ]
    for key in ("creator",):
        if key in query:
            items = [i for i in items if i.user == query[key]]
    assignee = query.get("assignee")
    if assignee == "none":
        items = [i for i in items if not i.assignees]
    elif assignee == "*":
        items = [i for i in items if i.assignees]
    elif assignee is not None:
        items = [i for i in items if assignee in i.assignees]
    if "since" in query:
        items = [i for i in items if i.updated_at >= query["since"]]
    sort = query.get("sort", "created")
    keys: dict[str, Callable[[Issue], Any]] = {
        "created": lambda i: (i.created_at, i.number),
        "updated": lambda i: (i.updated_at, i.number),
        "comments": lambda i: (len(repo.issue_comments(i.number)), i.number),
    }
    items.sort(
        key=keys.get(sort, keys["created"]), reverse=query.get("direction", "desc") == "desc"
    )
    return items


@route("GET", R + "/issues")
def list_issues(ctx: Ctx) -> Reply:
    repo = ctx.repo
    return ctx.paginate(_filter_issues(ctx, repo), lambda i: ctx.render.issue(repo, i))


@route("POST", R + "/issues")
def create_issue(ctx: Ctx) -> Reply:
    repo = ctx.repo
    title = ctx.field("title")
    if title is None or title == "":
        raise invalid("Issue", "title", "missing_field")
    labels = [str(x["name"] if isinstance(x, dict) else x) for x in ctx.field("labels", []) or []]
    issue = ctx.state.add_issue(
        repo,
        str(title),
        user=ctx.actor,
        body=ctx.field("body"),
        labels=labels,
        milestone=_milestone_number(repo, ctx.field("milestone")),
        assignees=list(ctx.field("assignees", []) or []),
    )
    out = ctx.render.issue(repo, issue)
    return Reply(201, out, {"Location": out["url"]})


@route("GET", R + "/issues/{issue_number}")
def get_issue(ctx: Ctx) -> Reply:
    repo = ctx.repo
    return Reply(200, ctx.render.issue(repo, _issue_or_404(repo, ctx.params["issue_number"])))


def _apply_issue_update(ctx: Ctx, repo: Repo, issue: Issue) -> None:
    body = ctx.body if isinstance(ctx.body, dict) else {}
    if "title" in body:
        issue.title = str(body["title"])
    if "body" in body:
        issue.body = body["body"]
    if "state" in body and body["state"] != issue.state:
        if body["state"] not in {"open", "closed"}:
            raise invalid("Issue", "state")
        issue.state = body["state"]
        if issue.state == "closed":
            issue.closed_at = now_iso()
            issue.closed_by = ctx.actor
            issue.state_reason = body.get("state_reason") or "completed"
        else:
            issue.closed_at = None
            issue.closed_by = None
            issue.state_reason = "reopened"
    elif "state_reason" in body:
        issue.state_reason = body["state_reason"]
    if "milestone" in body:
        issue.milestone = _milestone_number(repo, body["milestone"])
    if "labels" in body:
        issue.label_ids = [
            ctx.state.ensure_label(repo, n).id for n in _label_names(body["labels"] or [])
        ]
    if "assignees" in body:
        issue.assignees = list(body["assignees"] or [])
    issue.updated_at = now_iso()


@route("PATCH", R + "/issues/{issue_number}")
def update_issue(ctx: Ctx) -> Reply:
    repo = ctx.repo
    issue = _issue_or_404(repo, ctx.params["issue_number"])
    _apply_issue_update(ctx, repo, issue)
    return Reply(200, ctx.render.issue(repo, issue))


def _issue_labels_reply(ctx: Ctx, repo: Repo, issue: Issue) -> Reply:
    return Reply(
        200, [ctx.render.label(repo, repo.labels[i]) for i in issue.label_ids if i in repo.labels]
    )


@route("GET", R + "/issues/{issue_number}/labels")
def list_issue_labels(ctx: Ctx) -> Reply:
    repo = ctx.repo
    issue = _issue_or_404(repo, ctx.params["issue_number"])
    labels = [repo.labels[i] for i in issue.label_ids if i in repo.labels]
    return ctx.paginate(labels, lambda lb: ctx.render.label(repo, lb))


@route("POST", R + "/issues/{issue_number}/labels")
def add_issue_labels(ctx: Ctx) -> Reply:
    repo = ctx.repo
    issue = _issue_or_404(repo, ctx.params["issue_number"])
    for name in _label_names(ctx.body):
        label = ctx.state.ensure_label(repo, name)
        if label.id not in issue.label_ids:
            issue.label_ids.append(label.id)
    issue.updated_at = now_iso()
    return _issue_labels_reply(ctx, repo, issue)


@route("PUT", R + "/issues/{issue_number}/labels")
def set_issue_labels(ctx: Ctx) -> Reply:
    repo = ctx.repo
    issue = _issue_or_404(repo, ctx.params["issue_number"])
    issue.label_ids = [ctx.state.ensure_label(repo, n).id for n in _label_names(ctx.body)]
    issue.updated_at = now_iso()
    return _issue_labels_reply(ctx, repo, issue)


@route("DELETE", R + "/issues/{issue_number}/labels")
def clear_issue_labels(ctx: Ctx) -> Reply:
    repo = ctx.repo
    issue = _issue_or_404(repo, ctx.params["issue_number"])
    issue.label_ids = []
    issue.updated_at = now_iso()
    return Reply(204)


@route("DELETE", R + "/issues/{issue_number}/labels/{name}")
def remove_issue_label(ctx: Ctx) -> Reply:
    repo = ctx.repo
    issue = _issue_or_404(repo, ctx.params["issue_number"])
    label = repo.label(ctx.params["name"])
    if label is None or label.id not in issue.label_ids:
        raise ApiError(404, "Label does not exist")
    issue.label_ids.remove(label.id)
    issue.updated_at = now_iso()
    return _issue_labels_reply(ctx, repo, issue)


# -- comments ------------------------------------------------------------------------------------
def _comment_or_404(repo: Repo, ident: str) -> Any:
    comment = repo.comments.get(int(ident)) if ident.isdigit() else None
    if comment is None:
        raise not_found()
    return comment


@route("GET", R + "/issues/comments/{comment_id}")
def get_comment(ctx: Ctx) -> Reply:
    repo = ctx.repo
    return Reply(200, ctx.render.comment(repo, _comment_or_404(repo, ctx.params["comment_id"])))


@route("PATCH", R + "/issues/comments/{comment_id}")
def update_comment(ctx: Ctx) -> Reply:
    repo = ctx.repo
    comment = _comment_or_404(repo, ctx.params["comment_id"])
    comment.body = require_str(ctx, "body", "IssueComment")
    comment.updated_at = now_iso()
    return Reply(200, ctx.render.comment(repo, comment))


@route("DELETE", R + "/issues/comments/{comment_id}")
def delete_comment(ctx: Ctx) -> Reply:
    repo = ctx.repo
    comment = _comment_or_404(repo, ctx.params["comment_id"])
    del repo.comments[comment.id]
    return Reply(204)


@route("GET", R + "/issues/{issue_number}/comments")
def list_comments(ctx: Ctx) -> Reply:
    repo = ctx.repo
    issue = _issue_or_404(repo, ctx.params["issue_number"])
    comments = [
        c for c in repo.issue_comments(issue.number) if c.updated_at >= ctx.query.get("since", "")
    ]
    return ctx.paginate(comments, lambda c: ctx.render.comment(repo, c))


@route("POST", R + "/issues/{issue_number}/comments")
def create_comment(ctx: Ctx) -> Reply:
    repo = ctx.repo
    issue = _issue_or_404(repo, ctx.params["issue_number"])
    comment = ctx.state.add_comment(
        repo, issue.number, require_str(ctx, "body", "IssueComment"), user=ctx.actor
    )
    out = ctx.render.comment(repo, comment)
    return Reply(201, out, {"Location": out["url"]})


# -- milestones ----------------------------------------------------------------------------------
def _milestone_or_404(repo: Repo, number: str) -> Milestone:
    milestone = repo.milestones.get(int(number)) if number.isdigit() else None
    if milestone is None:
        raise not_found()
    return milestone


@route("GET", R + "/milestones")
def list_milestones(ctx: Ctx) -> Reply:
    repo = ctx.repo
    state = ctx.query.get("state", "open")
    items = [m for m in repo.milestones.values() if state == "all" or m.state == state]

    def completeness(m: Milestone) -> float:
        opened, closed = ctx.render.milestone_counts(repo, m.number)
        return closed / (opened + closed) if opened + closed else 0.0

    descending = ctx.query.get("direction", "asc") == "desc"
    if ctx.query.get("sort", "due_on") == "completeness":
        items.sort(key=lambda m: (completeness(m), m.number), reverse=descending)
    else:
        # Milestones without a due date come after dated ones.
        dated = sorted(
            (m for m in items if m.due_on),
            key=lambda m: (m.due_on or "", m.number),
            reverse=descending,
        )
        items = dated + sorted((m for m in items if not m.due_on), key=lambda m: m.number)
    return ctx.paginate(items, lambda m: ctx.render.milestone(repo, m))


def _check_milestone_fields(ctx: Ctx) -> None:
    state = ctx.field("state")
    if state is not None and state not in {"open", "closed"}:
        raise invalid("Milestone", "state")


@route("POST", R + "/milestones")
def create_milestone(ctx: Ctx) -> Reply:
    repo = ctx.repo
    title = require_str(ctx, "title", "Milestone")
    _check_milestone_fields(ctx)
    if repo.milestone_by_title(title) is not None:
        raise invalid("Milestone", "title", "already_exists")
    milestone = ctx.state.add_milestone(
        repo,
        title,
        description=ctx.field("description"),
        state=ctx.field("state", "open"),
        due_on=ctx.field("due_on"),
        creator=ctx.actor,
    )
    out = ctx.render.milestone(repo, milestone)
    return Reply(201, out, {"Location": out["url"]})


@route("GET", R + "/milestones/{milestone_number}")
def get_milestone(ctx: Ctx) -> Reply:
    repo = ctx.repo
    return Reply(
        200, ctx.render.milestone(repo, _milestone_or_404(repo, ctx.params["milestone_number"]))
    )


@route("PATCH", R + "/milestones/{milestone_number}")
def update_milestone(ctx: Ctx) -> Reply:
    repo = ctx.repo
    milestone = _milestone_or_404(repo, ctx.params["milestone_number"])
    _check_milestone_fields(ctx)
    body = ctx.body if isinstance(ctx.body, dict) else {}
    if "title" in body and body["title"] != milestone.title:
        if repo.milestone_by_title(body["title"]) is not None:
            raise invalid("Milestone", "title", "already_exists")
        milestone.title = body["title"]
    if "description" in body:
        milestone.description = body["description"]
    if "due_on" in body:
        milestone.due_on = body["due_on"]
    if "state" in body and body["state"] != milestone.state:
        milestone.state = body["state"]
        milestone.closed_at = now_iso() if milestone.state == "closed" else None
    milestone.updated_at = now_iso()
    return Reply(200, ctx.render.milestone(repo, milestone))


@route("DELETE", R + "/milestones/{milestone_number}")
def delete_milestone(ctx: Ctx) -> Reply:
    repo = ctx.repo
    milestone = _milestone_or_404(repo, ctx.params["milestone_number"])
    del repo.milestones[milestone.number]
    for issue in repo.issues.values():
        if issue.milestone == milestone.number:
            issue.milestone = None
    return Reply(204)


# -- pulls ---------------------------------------------------------------------------------------
def _pull_or_404(repo: Repo, number: str) -> Issue:
    issue = repo.issues.get(int(number)) if number.isdigit() else None
    if issue is None or issue.pull is None:
        raise not_found()
    return issue


@route("GET", R + "/pulls")
def list_pulls(ctx: Ctx) -> Reply:
    repo = ctx.repo
    state = ctx.query.get("state", "open")
    items = [i for i in repo.issues.values() if i.pull and (state == "all" or i.state == state)]
    if "base" in ctx.query:
        items = [i for i in items if i.pull and i.pull.base_ref == ctx.query["base"]]
    if "head" in ctx.query:
        owner, _, ref = ctx.query["head"].rpartition(":")
        items = [
            i
            for i in items
            if i.pull
            and i.pull.head_ref == ref
            and (not owner or i.pull.head_repo.split("/")[0] == owner)
        ]
    items.sort(
        key=lambda i: (i.created_at, i.number), reverse=ctx.query.get("direction", "desc") == "desc"
    )
    return ctx.paginate(items, lambda i: ctx.render.pull(repo, i))


@route("POST", R + "/pulls")
def create_pull(ctx: Ctx) -> Reply:
    """Open a pull request between two branches of the repository, refused as GitHub does:
    a missing branch, nothing to merge, or an open pull request for the same head and base."""
    repo = ctx.repo
    title = require_str(ctx, "title", "PullRequest")
    head = require_str(ctx, "head", "PullRequest").rpartition(":")[2]
    base = require_str(ctx, "base", "PullRequest")
    head_sha = repo.refs.get(f"refs/heads/{head}")
    base_sha = repo.refs.get(f"refs/heads/{base}")
    if head_sha is None or base_sha is None:
        raise invalid("PullRequest", "head" if head_sha is None else "base")
    if all(sha in repo.ancestors(base_sha) for sha in repo.ancestors(head_sha)):
        raise ApiError(422, f"No commits between {base} and {head}")
    for issue in repo.issues.values():
        pull = issue.pull
        if pull and issue.state == "open" and (pull.head_ref, pull.base_ref) == (head, base):
            raise ApiError(422, f"A pull request already exists for {repo.owner}:{head}.")
    issue = ctx.state.add_pull(
        repo, title, head=head, base=base, user=ctx.actor, body=ctx.field("body")
    )
    out = ctx.render.pull(repo, issue)
    return Reply(201, out, {"Location": out["url"]})


@route("GET", R + "/pulls/{pull_number}")
def get_pull(ctx: Ctx) -> Reply:
    repo = ctx.repo
    return Reply(200, ctx.render.pull(repo, _pull_or_404(repo, ctx.params["pull_number"])))


@route("PATCH", R + "/pulls/{pull_number}")
def update_pull(ctx: Ctx) -> Reply:
    repo = ctx.repo
    issue = _pull_or_404(repo, ctx.params["pull_number"])
    _apply_issue_update(ctx, repo, issue)
    if isinstance(ctx.body, dict) and "base" in ctx.body and issue.pull:
        sha = repo.resolve(str(ctx.body["base"]))
        if sha is None:
            raise invalid("PullRequest", "base")
        issue.pull.base_ref = str(ctx.body["base"])
        issue.pull.base_sha = sha
    return Reply(200, ctx.render.pull(repo, issue))


# -- git refs and tags ---------------------------------------------------------------------------
def _ref_name(ref: str) -> str:
    """`tags/v1` or `refs/tags/v1` -> `refs/tags/v1`."""
    return ref if ref.startswith("refs/") else f"refs/{ref}"


@route("GET", R + "/git/ref/{ref}")
def get_ref(ctx: Ctx) -> Reply:
    repo = ctx.repo
    name = _ref_name(ctx.params["ref"])
    if name not in repo.refs:
        raise not_found()
    return Reply(200, ctx.render.git_ref(repo, name, repo.refs[name]))


@route("GET", R + "/git/matching-refs/{ref}")
def matching_refs(ctx: Ctx) -> Reply:
    repo = ctx.repo
    prefix = _ref_name(ctx.params["ref"])
    names = sorted(n for n in repo.refs if n.startswith(prefix))
    return ctx.paginate(names, lambda n: ctx.render.git_ref(repo, n, repo.refs[n]))


@route("GET", R + "/git/refs")
def list_refs(ctx: Ctx) -> Reply:
    repo = ctx.repo
    return ctx.paginate(sorted(repo.refs), lambda n: ctx.render.git_ref(repo, n, repo.refs[n]))


def _object_exists(repo: Repo, sha: str) -> bool:
    return sha in repo.commits or sha in repo.tags


@route("POST", R + "/git/refs")
def create_ref(ctx: Ctx) -> Reply:
    repo = ctx.repo
    name = require_str(ctx, "ref", "Reference")
    sha = require_str(ctx, "sha", "Reference")
    if not name.startswith("refs/") or name.count("/") < 2:
        raise ApiError(422, "Reference name must start with 'refs/' and have at least two slashes.")
    if name in repo.refs:
        raise ApiError(422, "Reference already exists")
    if not _object_exists(repo, sha):
        raise ApiError(422, "Object does not exist")
    repo.refs[name] = sha
    out = ctx.render.git_ref(repo, name, sha)
    return Reply(201, out, {"Location": out["url"]})


@route("PATCH", R + "/git/refs/{ref}")
def update_ref(ctx: Ctx) -> Reply:
    repo = ctx.repo
    name = _ref_name(ctx.params["ref"])
    sha = require_str(ctx, "sha", "Reference")
    if name not in repo.refs:
        raise ApiError(422, "Reference does not exist")
    if not _object_exists(repo, sha):
        raise ApiError(422, "Object does not exist")
    old = repo.peel(repo.refs[name])
    if not ctx.field("force", False) and old not in repo.ancestors(repo.peel(sha)):
        raise ApiError(422, "Update is not a fast forward")
    repo.refs[name] = sha
    return Reply(200, ctx.render.git_ref(repo, name, sha))


@route("DELETE", R + "/git/refs/{ref}")
def delete_ref(ctx: Ctx) -> Reply:
    repo = ctx.repo
    name = _ref_name(ctx.params["ref"])
    if name not in repo.refs:
        raise ApiError(422, "Reference does not exist")
    del repo.refs[name]
    return Reply(204)


@route("POST", R + "/git/tags")
def create_tag(ctx: Ctx) -> Reply:
    repo = ctx.repo
    tag = require_str(ctx, "tag", "Tag")
    message = ctx.field("message")
    object_sha = require_str(ctx, "object", "Tag")
    kind = require_str(ctx, "type", "Tag")
    if kind not in {"commit", "tree", "blob"} or not _object_exists(repo, object_sha):
        raise ApiError(422, "Object does not exist")
    tagger = ctx.field("tagger") or {}
    obj = ctx.state.make_tag_object(
        repo,
        tag,
        str(message),
        object_sha,
        "tag" if object_sha in repo.tags else kind,
        str(tagger.get("name", ctx.actor)),
        str(tagger.get("email", f"{ctx.actor}@users.noreply.github.com")),
    )
    out = ctx.render.git_tag(repo, obj)
    return Reply(201, out, {"Location": out["url"]})


@route("GET", R + "/git/tags/{tag_sha}")
def get_tag(ctx: Ctx) -> Reply:
    repo = ctx.repo
    tag = repo.tags.get(ctx.params["tag_sha"])
    if tag is None:
        raise not_found()
    return Reply(200, ctx.render.git_tag(repo, tag))


# -- commits, branches, compare ------------------------------------------------------------------
@route("GET", R + "/commits/{ref}")
def get_commit(ctx: Ctx) -> Reply:
    repo = ctx.repo
    sha = repo.resolve(ctx.params["ref"])
    if sha is None:
        raise ApiError(422, f"No commit found for SHA: {ctx.params['ref']}")
    return Reply(200, ctx.render.commit(repo, repo.commits[sha]))


@route("GET", R + "/branches/{branch}")
def get_branch(ctx: Ctx) -> Reply:
    repo = ctx.repo
    name = ctx.params["branch"]
    sha = repo.refs.get(f"refs/heads/{name}")
    if sha is None:
        raise ApiError(404, "Branch not found")
    return Reply(200, ctx.render.branch(repo, name, sha))


@route("GET", R + "/compare/{basehead}")
def compare(ctx: Ctx) -> Reply:
    repo = ctx.repo
    base_name, sep, head_name = ctx.params["basehead"].partition("...")
    base = repo.resolve(base_name) if sep else None
    head = repo.resolve(head_name) if sep else None
    if base is None or head is None:
        raise not_found()
    head_line = repo.ancestors(head)
    base_line = repo.ancestors(base)
    merge_base = next((sha for sha in head_line if sha in set(base_line)), base)
    ahead = [sha for sha in head_line if sha not in set(base_line)]
    behind = [sha for sha in base_line if sha not in set(head_line)]
    if not ahead and not behind:
        status = "identical"
    elif ahead and behind:
        status = "diverged"
    else:
        status = "ahead" if ahead else "behind"
    url = f"{ctx.render.repo_url(repo)}/compare/{base_name}...{head_name}"
    html = f"{ctx.render.html}/{repo.full_name}/compare/{base_name}...{head_name}"
    return Reply(
        200,
        {
            "url": url,
            "html_url": html,
            "permalink_url": f"{ctx.render.html}/{repo.full_name}/compare/{base}...{head}",
            "diff_url": f"{html}.diff",
            "patch_url": f"{html}.patch",
            "base_commit": ctx.render.commit(repo, repo.commits[base]),
            "merge_base_commit": ctx.render.commit(repo, repo.commits[merge_base]),
            "status": status,
            "ahead_by": len(ahead),
            "behind_by": len(behind),
            "total_commits": len(ahead),
            # Oldest first, like GitHub.
            "commits": [ctx.render.commit(repo, repo.commits[sha]) for sha in reversed(ahead)],
            "files": [],
        },
    )


# -- releases ------------------------------------------------------------------------------------
def _release_or_404(repo: Repo, ident: str) -> Any:
    release = repo.releases.get(int(ident)) if ident.isdigit() else None
    if release is None:
        raise not_found()
    return release


def _releases_newest_first(repo: Repo) -> list[Any]:
    return sorted(repo.releases.values(), key=lambda r: (r.created_at, r.id), reverse=True)


@route("GET", R + "/releases")
def list_releases(ctx: Ctx) -> Reply:
    repo = ctx.repo
    return ctx.paginate(_releases_newest_first(repo), lambda r: ctx.render.release(repo, r))


@route("GET", R + "/releases/latest")
def latest_release(ctx: Ctx) -> Reply:
    repo = ctx.repo
    published = [r for r in _releases_newest_first(repo) if not r.draft and not r.prerelease]
    chosen = next((r for r in published if r.make_latest == "true"), None)
    if chosen is None:
        raise not_found()
    return Reply(200, ctx.render.release(repo, chosen))


@route("GET", R + "/releases/tags/{tag}")
def release_by_tag(ctx: Ctx) -> Reply:
    repo = ctx.repo
    release = repo.release_by_tag(ctx.params["tag"])
    if release is None or release.draft:
        raise not_found()
    return Reply(200, ctx.render.release(repo, release))


def _make_latest(ctx: Ctx, repo: Repo, release: Any) -> None:
    value = ctx.field("make_latest")
    if value is None:
        return
    if value not in {"true", "false", "legacy"}:
        raise invalid("Release", "make_latest")
    if value == "true":
        for other in repo.releases.values():
            if other.id != release.id and other.make_latest == "true":
                other.make_latest = "false"
    release.make_latest = value


@route("POST", R + "/releases")
def create_release(ctx: Ctx) -> Reply:
    repo = ctx.repo
    tag_name = require_str(ctx, "tag_name", "Release")
    if repo.release_by_tag(tag_name) is not None:
        raise invalid("Release", "tag_name", "already_exists")
    target = ctx.field("target_commitish") or repo.default_branch
    draft = bool(ctx.field("draft", False))
    if f"refs/tags/{tag_name}" not in repo.refs and repo.resolve(target) is None:
        raise invalid("Release", "target_commitish")
    release = ctx.state.add_release(
        repo,
        tag_name,
        name=ctx.field("name"),
        body=ctx.field("body"),
        draft=draft,
        prerelease=bool(ctx.field("prerelease", False)),
        target=target,
        author=ctx.actor,
    )
    _make_latest(ctx, repo, release)
    out = ctx.render.release(repo, release)
    return Reply(201, out, {"Location": out["url"]})


@route("GET", R + "/releases/{release_id}")
def get_release(ctx: Ctx) -> Reply:
    repo = ctx.repo
    return Reply(200, ctx.render.release(repo, _release_or_404(repo, ctx.params["release_id"])))


@route("PATCH", R + "/releases/{release_id}")
def update_release(ctx: Ctx) -> Reply:
    repo = ctx.repo
    release = _release_or_404(repo, ctx.params["release_id"])
    body = ctx.body if isinstance(ctx.body, dict) else {}
    if "tag_name" in body and body["tag_name"] != release.tag_name:
        if repo.release_by_tag(body["tag_name"]) is not None:
            raise invalid("Release", "tag_name", "already_exists")
        release.tag_name = body["tag_name"]
    for name in ("target_commitish", "name", "body"):
        if name in body:
            setattr(release, name, body[name])
    if "prerelease" in body:
        release.prerelease = bool(body["prerelease"])
    if "draft" in body:
        release.draft = bool(body["draft"])
        if not release.draft and release.published_at is None:
            release.published_at = now_iso()
            if f"refs/tags/{release.tag_name}" not in repo.refs:
                ctx.state.add_tag(repo, release.tag_name, at=release.target_commitish)
    _make_latest(ctx, repo, release)
    release.updated_at = now_iso()
    return Reply(200, ctx.render.release(repo, release))


@route("DELETE", R + "/releases/{release_id}")
def delete_release(ctx: Ctx) -> Reply:
    repo = ctx.repo
    release = _release_or_404(repo, ctx.params["release_id"])
    del repo.releases[release.id]
    return Reply(204)


# -- dispatches ----------------------------------------------------------------------------------
@route("POST", R + "/actions/workflows/{workflow_id}/dispatches")
def workflow_dispatch(ctx: Ctx) -> Reply:
    repo = ctx.repo
    workflow_id = ctx.params["workflow_id"]
    ref = require_str(ctx, "ref", "Workflow")
    inputs = ctx.field("inputs") or {}
    if repo.workflows:
        declared = repo.workflows.get(workflow_id)
        if declared is None:
            raise ApiError(404, "Not Found")
        unexpected = sorted(set(inputs) - set(declared))
        if unexpected:
            raise ApiError(422, f"Unexpected inputs provided: {unexpected}")
        missing = sorted(
            n for n, spec in declared.items() if spec.get("required") and n not in inputs
        )
        if missing:
            raise ApiError(422, f"Required input '{missing[0]}' not provided")
    if repo.resolve(ref) is None:
        raise ApiError(422, f"No ref found for: {ref}")
    repo.dispatches.append(
        Dispatch(
            kind="workflow",
            actor=ctx.actor,
            at=now_iso(),
            workflow_id=workflow_id,
            ref=ref,
            inputs=dict(inputs),
        )
    )
    return Reply(204)


@route("POST", R + "/dispatches")
def repository_dispatch(ctx: Ctx) -> Reply:
    repo = ctx.repo
    event_type = require_str(ctx, "event_type", "Dispatch")
    repo.dispatches.append(
        Dispatch(
            kind="repository",
            actor=ctx.actor,
            at=now_iso(),
            event_type=event_type,
            client_payload=dict(ctx.field("client_payload") or {}),
        )
    )
    return Reply(204)


# -- contents ------------------------------------------------------------------------------------
def _content_entry(ctx: Ctx, repo: Repo, path: str, ref: str, text: str | None) -> Json:
    """One file (text given) or directory entry of the contents endpoint."""
    api_url = f"{ctx.render.repo_url(repo)}/contents/{quote(path)}?ref={quote(ref, safe='')}"
    sha = fake_sha("blob", text) if text is not None else fake_sha("tree", path, ref)
    git_url = f"{ctx.render.repo_url(repo)}/git/{'blobs' if text is not None else 'trees'}/{sha}"
    html_url = (
        f"{ctx.render.html}/{repo.full_name}/{'blob' if text is not None else 'tree'}/{ref}/{path}"
    )
    return {
        "type": "file" if text is not None else "dir",
        "size": len(text.encode()) if text is not None else 0,
        "name": path.rsplit("/", 1)[-1],
        "path": path,
        "sha": sha,
        "url": api_url,
        "git_url": git_url,
        "html_url": html_url,
        "download_url": f"https://raw.githubusercontent.com/{repo.full_name}/{ref}/{path}"
        if text is not None
        else None,
        "_links": {"self": api_url, "git": git_url, "html": html_url},
    }


@route("GET", R + "/contents/{path}")
def get_contents(ctx: Ctx) -> Reply:
    """A file (base64, like GitHub) or a directory listing at `ref` (default branch head)."""
    repo = ctx.repo
    ref = ctx.query.get("ref") or repo.default_branch
    sha = repo.resolve(ref)
    if sha is None:
        raise ApiError(404, f"No commit found for the ref {ref}")
    files = repo.commits[sha].files
    path = ctx.params["path"].strip("/")
    if path in files:
        entry = _content_entry(ctx, repo, path, ref, files[path])
        entry["encoding"] = "base64"
        entry["content"] = base64.encodebytes(files[path].encode()).decode()
        return Reply(200, entry)
    prefix = f"{path}/" if path else ""
    children: dict[str, str | None] = {}
    for name, text in files.items():
        if name.startswith(prefix):
            head, sep, _ = name[len(prefix) :].partition("/")
            children[prefix + head] = None if sep else text
    if not children:
        raise not_found()
    return Reply(200, [_content_entry(ctx, repo, p, ref, t) for p, t in sorted(children.items())])
