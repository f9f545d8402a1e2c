"""label-dispatch's GitHub calls against the API double: what each call reads and changes, and
that a write GitHub applied but answered late is looked up, never sent twice."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from mlops_actions.errors import GitHubError, UsageError
from mlops_actions.github_client import ClientOptions, connect
from mlops_actions.label_dispatch.api import RepoApi
from mlops_actions.label_dispatch.event import Subject
from mlops_actions.label_dispatch.sync import ExistingLabel
from tests.support.github_double import GitHubDouble
from tests.support.label_dispatch import BOT, REPO, TOKEN, Scenario, seeded_scenario


@pytest.fixture
def scenario(github_double: GitHubDouble, tmp_path: Path) -> Scenario:
    return seeded_scenario(github_double, tmp_path)


@pytest.fixture
def api(scenario: Scenario) -> RepoApi:
    options = ClientOptions(api_url=scenario.double.url, retries=2, backoff=0.01, write_interval=0)
    return RepoApi(connect(TOKEN, options), REPO)


# -- labels -------------------------------------------------------------------------------------


def test_labels_are_listed_with_color_and_description(scenario: Scenario, api: RepoApi) -> None:
    scenario.state.add_label(REPO, "x:y", color="abcdef", description="Why")
    labels = api.list_labels()
    assert ExistingLabel("x:y", "abcdef", "Why") in labels
    assert len(labels) == 10
    assert scenario.double.log.count("GET", f"/repos/{REPO}/labels") == 1


def test_a_late_label_create_makes_one_label(scenario: Scenario, api: RepoApi) -> None:
    scenario.double.faults.late(method="POST", path=f"/repos/{REPO}/labels")
    api.create_label("new:one", "123456", "Fresh")
    label = scenario.repo.label("new:one")
    assert label is not None and (label.color, label.description) == ("123456", "Fresh")
    assert scenario.double.log.count("POST", f"/repos/{REPO}/labels") == 1


def test_a_late_label_update_is_sent_once_and_keeps_an_unset_description(
    scenario: Scenario, api: RepoApi
) -> None:
    scenario.state.add_label(REPO, "old", color="000000", description="kept")
    api.list_labels()
    scenario.double.faults.late(method="PATCH", path=f"/repos/{REPO}/labels/*")

    api.update_label("OLD", new_name="area:new", color="ABCDEF", description=None)

    label = scenario.repo.label("area:new")
    assert label is not None and (label.color.lower(), label.description) == ("abcdef", "kept")
    assert scenario.repo.label("old") is None
    assert scenario.double.log.count("PATCH", f"/repos/{REPO}/labels/*") == 1


def test_a_late_label_update_with_a_description_is_sent_once(
    scenario: Scenario, api: RepoApi
) -> None:
    scenario.double.faults.late(method="PATCH", path=f"/repos/{REPO}/labels/*")
    # Not listed first: the label is read by name.
    api.update_label("type:bug", new_name=None, color="d73a4a", description="Broken")
    label = scenario.repo.label("type:bug")
    assert label is not None and (label.color, label.description) == ("d73a4a", "Broken")
    assert scenario.double.log.count("PATCH", f"/repos/{REPO}/labels/*") == 1


def test_an_update_that_did_not_land_is_sent_again(scenario: Scenario, api: RepoApi) -> None:
    api.list_labels()
    scenario.double.faults.status(502, method="PATCH", path=f"/repos/{REPO}/labels/*")
    api.update_label("type:bug", new_name=None, color="d73a4a", description="Broken")
    label = scenario.repo.label("type:bug")
    assert label is not None and label.description == "Broken"
    assert scenario.double.log.count("PATCH", f"/repos/{REPO}/labels/*") == 2


def test_a_late_label_delete_is_sent_once(scenario: Scenario, api: RepoApi) -> None:
    scenario.double.faults.late(method="DELETE", path=f"/repos/{REPO}/labels/*")
    api.delete_label("type:bug")
    assert scenario.repo.label("type:bug") is None
    assert scenario.double.log.count("DELETE", f"/repos/{REPO}/labels/*") == 1


def test_a_refused_label_lookup_is_an_error_not_a_missing_label(
    scenario: Scenario, api: RepoApi
) -> None:
    scenario.double.faults.late(method="DELETE", path=f"/repos/{REPO}/labels/*")
    scenario.double.faults.status(403, method="GET", path=f"/repos/{REPO}/labels/*", times=2)
    api.list_labels()
    with pytest.raises(GitHubError) as caught:
        api.delete_label("type:bug")
    assert "reading label 'type:bug'" in caught.value.message


# -- people -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("login", "role"),
    [
        ("maint", "maintain"),
        ("writer", "write"),
        ("tri", "triage"),
        ("reader", "read"),
        ("nobody-here", "none"),
    ],
)
def test_roles_as_github_reports_them(
    scenario: Scenario, api: RepoApi, login: str, role: str
) -> None:
    assert api.role(login) == role


def test_a_custom_role_reads_as_its_base_permission(scenario: Scenario, api: RepoApi) -> None:
    scenario.state.add_custom_role(REPO, "ml-reviewer", "triage")
    scenario.state.set_permission(REPO, "custom-user", "ml-reviewer")
    scenario.state.add_custom_role(REPO, "ml-lead", "maintain")
    scenario.state.set_permission(REPO, "lead-user", "ml-lead")
    assert api.role("custom-user") == "read"  # triage's legacy permission is read
    assert api.role("lead-user") == "write"  # maintain's legacy permission is write


def test_a_refused_permission_lookup_is_an_error(scenario: Scenario, api: RepoApi) -> None:
    scenario.double.faults.status(403, method="GET", path="*/collaborators/*/permission")
    with pytest.raises(GitHubError) as caught:
        api.role("writer")
    assert "reading the permission of @writer on octo-org/models" in caught.value.message


# -- issues and comments ------------------------------------------------------------------------


def test_comments_with_their_authors(scenario: Scenario, api: RepoApi) -> None:
    number = scenario.issue([])
    first = scenario.state.add_comment(REPO, number, "one", user="maint")
    second = scenario.state.add_comment(REPO, number, "", user="reader")
    assert api.comments(number) == [(first.id, "maint", "one"), (second.id, "reader", "")]


def test_a_late_comment_is_made_once_and_its_id_returned(scenario: Scenario, api: RepoApi) -> None:
    number = scenario.issue([])
    scenario.double.faults.late(method="POST", path=f"/repos/{REPO}/issues/{number}/comments")
    made = api.create_comment(number, "hello")
    [comment] = scenario.repo.issue_comments(number)
    assert (made, comment.body, comment.user) == (comment.id, "hello", BOT)
    # The new comment can be edited without listing the comments again.
    api.edit_comment(made, "edited")
    assert scenario.repo.issue_comments(number)[0].body == "edited"


def test_a_late_comment_edit_is_sent_once(scenario: Scenario, api: RepoApi) -> None:
    number = scenario.issue([])
    comment = scenario.state.add_comment(REPO, number, "before", user=BOT)
    api.comments(number)
    scenario.double.faults.late(method="PATCH", path="*/issues/comments/*")
    api.edit_comment(comment.id, "after")
    assert scenario.repo.issue_comments(number)[0].body == "after"
    assert scenario.double.log.count("PATCH", "*/issues/comments/*") == 1


def test_editing_a_comment_that_was_not_listed_is_refused(api: RepoApi) -> None:
    with pytest.raises(GitHubError) as caught:
        api.edit_comment(99, "x")
    assert caught.value.message == "updating comment 99: it is not on the issue any more"
    assert caught.value.fix == "re-run the job; a new marker comment will be written."


def test_removing_a_label_that_is_gone_is_fine_but_a_refusal_is_not(
    scenario: Scenario, api: RepoApi
) -> None:
    number = scenario.issue(["type:bug"])
    api.remove_label(number, "task:eval")  # not on the issue: 404, the goal is met
    api.remove_label(number, "type:bug")
    assert scenario.labels(number) == []
    scenario.double.faults.status(403, method="DELETE", path=f"/repos/{REPO}/issues/*/labels/*")
    with pytest.raises(GitHubError):
        api.remove_label(number, "type:bug")


def test_late_added_labels_are_added_once(scenario: Scenario, api: RepoApi) -> None:
    number = scenario.issue(["type:bug"])
    scenario.double.faults.late(method="POST", path=f"/repos/{REPO}/issues/{number}/labels")
    api.add_labels(number, ["Status:Done", "task:eval"])
    assert api.issue_labels(number) == ["type:bug", "status:done", "task:eval"]
    assert scenario.double.log.count("POST", f"/repos/{REPO}/issues/{number}/labels") == 1


def test_a_label_add_that_did_not_land_is_sent_again(scenario: Scenario, api: RepoApi) -> None:
    number = scenario.issue([])
    scenario.double.faults.status(502, method="POST", path=f"/repos/{REPO}/issues/{number}/labels")
    api.add_labels(number, ["task:eval"])
    assert scenario.labels(number) == ["task:eval"]
    assert scenario.double.log.count("POST", f"/repos/{REPO}/issues/{number}/labels") == 2


def test_subjects_read_from_the_api(scenario: Scenario, api: RepoApi) -> None:
    number = scenario.issue(["task:eval"], user="reader")
    assert api.subject(number) == Subject(
        number, False, "reader", ("task:eval",), "Fine-tune on the new data", base_repo=REPO
    )
    pull = scenario.pull(["type:bug"], author="contributor", fork=True)
    assert pull.pull is not None
    assert api.subject(pull.number) == Subject(
        pull.number,
        True,
        "contributor",
        ("type:bug",),
        "Speed up the data loader",
        head_sha=pull.pull.head_sha,
        head_repo="contributor/models",
        base_repo=REPO,
        base_ref="main",
    )


# -- files and dispatch -------------------------------------------------------------------------


def test_a_file_at_a_commit(github_double: GitHubDouble, tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    s = Scenario(github_double, root, files={"ci/mlops.yml": "version: 1\n", "ci/x/y": "z"})
    options = ClientOptions(api_url=github_double.url, retries=1, backoff=0.01)
    api = RepoApi(connect(TOKEN, options), REPO)
    assert api.file_text("ci/mlops.yml", "main") == "version: 1\n"
    assert api.file_text("ci/none.yml", "main") is None
    with pytest.raises(UsageError) as caught:
        api.file_text("ci/x", "main")
    assert caught.value.message == "ci/x at main is a folder, not a config file"
    assert s.repo is not None
    github_double.faults.status(403, method="GET", path=f"/repos/{REPO}/contents/*")
    with pytest.raises(GitHubError):
        api.file_text("ci/mlops.yml", "main")


def test_dispatches_as_sent(scenario: Scenario, api: RepoApi) -> None:
    api.dispatch_workflow("gpu-train.yml", "main", {"number": "3", "sha": "a" * 40})
    api.repository_dispatch("gpu-run", {"number": 3})
    workflow, repository = scenario.repo.dispatches
    assert (workflow.kind, workflow.workflow_id, workflow.ref) == (
        "workflow",
        "gpu-train.yml",
        "main",
    )
    assert workflow.inputs == {"number": "3", "sha": "a" * 40}
    assert (repository.event_type, repository.client_payload) == ("gpu-run", {"number": 3})


def test_a_label_create_that_did_not_land_is_sent_again(scenario: Scenario, api: RepoApi) -> None:
    scenario.double.faults.status(502, method="POST", path=f"/repos/{REPO}/labels")
    api.create_label("new:one", "123456", "Fresh")
    assert scenario.repo.label("new:one") is not None
    assert scenario.double.log.count("POST", f"/repos/{REPO}/labels") == 2
    assert scenario.double.log.count("GET", f"/repos/{REPO}/labels/*") == 1


# -- what a refused call says -------------------------------------------------------------------

Call = Callable[[RepoApi, Scenario], object]


def _number(s: Scenario) -> int:
    return s.issue(["type:bug"])


REFUSALS: list[tuple[str, str, str, Call, str]] = [
    (
        "GET",
        f"/repos/{REPO}/labels",
        "issues: read",
        lambda a, s: a.list_labels(),
        "listing the labels of octo-org/models",
    ),
    (
        "POST",
        f"/repos/{REPO}/labels",
        "issues: write",
        lambda a, s: a.create_label("n", "ffffff", ""),
        "creating label 'n'",
    ),
    (
        "PATCH",
        f"/repos/{REPO}/labels/*",
        "issues: write",
        lambda a, s: a.update_label(
            "type:bug", new_name="type:defect", color="ffffff", description=None
        ),
        "renaming label 'type:bug' to 'type:defect'",
    ),
    (
        "PATCH",
        f"/repos/{REPO}/labels/*",
        "issues: write",
        lambda a, s: a.update_label("type:bug", new_name=None, color="ffffff", description="d"),
        "updating label 'type:bug'",
    ),
    (
        "DELETE",
        f"/repos/{REPO}/labels/*",
        "issues: write",
        lambda a, s: a.delete_label("type:bug"),
        "deleting label 'type:bug'",
    ),
    (
        "GET",
        "*/collaborators/*/permission",
        "contents: read",
        lambda a, s: a.role("writer"),
        "reading the permission of @writer on octo-org/models",
    ),
    (
        "GET",
        f"/repos/{REPO}/issues/*/comments",
        "issues: read",
        lambda a, s: a.comments(_number(s)),
        "listing the comments of #{n}",
    ),
    (
        "POST",
        f"/repos/{REPO}/issues/*/comments",
        "issues: write (pull-requests: write for PRs)",
        lambda a, s: a.create_comment(_number(s), "x"),
        "commenting on #{n}",
    ),
    (
        "DELETE",
        f"/repos/{REPO}/issues/*/labels/*",
        "issues: write",
        lambda a, s: a.remove_label(_number(s), "type:bug"),
        "removing label 'type:bug' from #{n}",
    ),
    (
        "POST",
        f"/repos/{REPO}/issues/*/labels",
        "issues: write",
        lambda a, s: a.add_labels(_number(s), ["task:eval"]),
        "adding labels to #{n}",
    ),
    (
        "GET",
        f"/repos/{REPO}/issues/*/labels",
        "issues: read",
        lambda a, s: a.issue_labels(_number(s)),
        "listing the labels of #{n}",
    ),
    (
        "GET",
        f"/repos/{REPO}/issues/*",
        "issues: read",
        lambda a, s: a.subject(_number(s)),
        "reading #{n}",
    ),
    (
        "GET",
        f"/repos/{REPO}/pulls/*",
        "pull-requests: read",
        lambda a, s: a.subject(s.pull([]).number),
        "reading pull request #{n}",
    ),
    (
        "GET",
        f"/repos/{REPO}/contents/*",
        "contents: read",
        lambda a, s: a.file_text(".github/mlops.yml", "main"),
        "reading .github/mlops.yml at main",
    ),
    (
        "POST",
        f"/repos/{REPO}/actions/workflows/*/dispatches",
        "actions: write",
        lambda a, s: a.dispatch_workflow("gpu-train.yml", "main", {"number": "1", "sha": "a"}),
        "starting workflow gpu-train.yml on main",
    ),
    (
        "POST",
        f"/repos/{REPO}/dispatches",
        "contents: write",
        lambda a, s: a.repository_dispatch("gpu-run", {}),
        "sending repository_dispatch 'gpu-run'",
    ),
]


@pytest.mark.parametrize(("method", "path", "permission", "call", "doing"), REFUSALS)
def test_a_refused_call_names_what_it_did_and_the_grant_it_needs(
    scenario: Scenario,
    api: RepoApi,
    method: str,
    path: str,
    permission: str,
    call: Call,
    doing: str,
) -> None:
    scenario.double.faults.status(403, method=method, path=path)
    with pytest.raises(GitHubError) as caught:
        call(api, scenario)
    numbers = sorted(scenario.repo.issues)
    n = numbers[-1] if numbers else 0
    assert caught.value.message == (
        f"{doing.format(n=n)}: the token lacks permission (403 Injected HTTP 403)"
    )
    assert caught.value.fix == f"add `{permission}` to the workflow's or job's `permissions:`."


def test_a_refused_read_after_a_lost_write_names_the_read(scenario: Scenario, api: RepoApi) -> None:
    number = scenario.issue([])
    comment = scenario.state.add_comment(REPO, number, "before", user=BOT)
    api.comments(number)
    scenario.double.faults.status(502, method="PATCH", path="*/issues/comments/*")
    scenario.double.faults.status(403, method="GET", path="*/issues/comments/*")
    with pytest.raises(GitHubError) as caught:
        api.edit_comment(comment.id, "after")
    assert caught.value.message == (
        f"reading comment {comment.id}: the token lacks permission (403 Injected HTTP 403)"
    )
    assert caught.value.fix == "add `issues: read` to the workflow's or job's `permissions:`."


def test_a_refused_label_read_after_a_lost_write_names_the_read(
    scenario: Scenario, api: RepoApi
) -> None:
    scenario.double.faults.status(502, method="POST", path=f"/repos/{REPO}/labels")
    scenario.double.faults.status(403, method="GET", path=f"/repos/{REPO}/labels/*")
    with pytest.raises(GitHubError) as caught:
        api.create_label("n", "ffffff", "")
    assert caught.value.message == (
        "reading label 'n': the token lacks permission (403 Injected HTTP 403)"
    )
    assert caught.value.fix == "add `issues: read` to the workflow's or job's `permissions:`."


def test_a_lost_delete_that_did_not_land_is_sent_again(scenario: Scenario, api: RepoApi) -> None:
    scenario.double.faults.status(502, method="DELETE", path=f"/repos/{REPO}/labels/*")
    api.delete_label("type:bug")
    assert scenario.repo.label("type:bug") is None
    assert scenario.double.log.count("DELETE", f"/repos/{REPO}/labels/*") == 2


def test_a_lost_update_without_description_that_did_not_land_is_sent_again(
    scenario: Scenario, api: RepoApi
) -> None:
    scenario.double.faults.status(502, method="PATCH", path=f"/repos/{REPO}/labels/*")
    api.update_label("type:bug", new_name=None, color="123456", description=None)
    label = scenario.repo.label("type:bug")
    assert label is not None and label.color == "123456"
    assert scenario.double.log.count("PATCH", f"/repos/{REPO}/labels/*") == 2


def test_a_late_update_to_an_empty_description_is_sent_once(
    scenario: Scenario, api: RepoApi
) -> None:
    scenario.double.faults.late(method="PATCH", path=f"/repos/{REPO}/labels/*")
    api.update_label("type:bug", new_name=None, color="123456", description="")
    assert scenario.double.log.count("PATCH", f"/repos/{REPO}/labels/*") == 1


def test_a_lost_comment_edit_that_did_not_land_is_sent_again(
    scenario: Scenario, api: RepoApi
) -> None:
    number = scenario.issue([])
    comment = scenario.state.add_comment(REPO, number, "before", user=BOT)
    api.comments(number)
    scenario.double.faults.status(502, method="PATCH", path="*/issues/comments/*")
    api.edit_comment(comment.id, "after")
    assert scenario.repo.issue_comments(number)[0].body == "after"
    assert scenario.double.log.count("PATCH", "*/issues/comments/*") == 2


def test_a_file_is_read_at_the_ref_asked_for(github_double: GitHubDouble, tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    Scenario(github_double, root, files={"ci/mlops.yml": "version: 1\n"})
    base = github_double.state.add_branch(REPO, "base")
    github_double.state.add_commit(REPO, "loosen the gate", files={"ci/mlops.yml": "version: 2\n"})
    options = ClientOptions(api_url=github_double.url, retries=1, backoff=0.01)
    api = RepoApi(connect(TOKEN, options), REPO)
    assert api.file_text("ci/mlops.yml", base) == "version: 1\n"
    assert api.file_text("ci/mlops.yml", "main") == "version: 2\n"


def test_a_config_ref_that_names_a_folder_is_refused(
    github_double: GitHubDouble, tmp_path: Path
) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    s = Scenario(github_double, root, files={"ci/x/mlops.yml": "version: 1\n"})
    number = s.issue([])
    result = s.run(
        "validate",
        "--config-ref",
        "main",
        "--config",
        "ci/x",
        event=s.issues_labeled(number, "task:eval", "writer"),
        event_name="issues",
    )
    assert result.code == 2
    assert result.log == (
        "error: `--config`: ci/x at main is a folder, not a config file. Fix: point `--config` "
        "at the YAML file.\n"
    )


def test_an_issue_by_a_deleted_user_has_no_author(scenario: Scenario, api: RepoApi) -> None:
    number = scenario.issue(["task:eval"])
    # GitHub serves `user: null` for a deleted account.
    scenario.repo.issues[number].user = None  # type: ignore[assignment]
    subject = api.subject(number)
    assert (subject.author, subject.labels) == ("", ("task:eval",))


def test_a_refused_comment_edit_names_the_comment_and_the_grant(
    scenario: Scenario, api: RepoApi
) -> None:
    number = scenario.issue([])
    comment = scenario.state.add_comment(REPO, number, "before", user=BOT)
    api.comments(number)
    scenario.double.faults.status(403, method="PATCH", path="*/issues/comments/*")
    with pytest.raises(GitHubError) as caught:
        api.edit_comment(comment.id, "after")
    assert caught.value.message == (
        f"updating comment {comment.id}: the token lacks permission (403 Injected HTTP 403)"
    )
    assert caught.value.fix == (
        "add `issues: write (pull-requests: write for PRs)` to the workflow's or job's "
        "`permissions:`."
    )
