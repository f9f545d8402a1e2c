"""The GitHub API double: GitHub's behaviour through PyGithub, faults, validation, standalone use."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import github
import pytest
import requests
from github.GithubRetry import GithubRetry

from tests.support.events import event_names, load_event, retarget
from tests.support.github_double import GitHubDouble, SeedError, State

pytest_plugins = ["pytester"]

REPO_ROOT = Path(__file__).resolve().parents[1]


def raw(
    double: GitHubDouble, method: str, path: str, body: Any = None
) -> tuple[int, dict[str, str], Any]:
    """One request without PyGithub, to see statuses and headers as sent."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(double.url + path, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            payload = response.read()
            return response.status, dict(response.headers), json.loads(payload) if payload else None
    except urllib.error.HTTPError as exc:
        payload = exc.read()
        return exc.code, dict(exc.headers), json.loads(payload) if payload else None


def seeded(double: GitHubDouble) -> str:
    double.state.add_repo("octo/demo")
    return "octo/demo"


# -- pagination ----------------------------------------------------------------------------------
def test_pygithub_pages_through_labels_with_link_headers(github_double: GitHubDouble) -> None:
    name = seeded(github_double)
    wanted = [f"area:{i:03d}" for i in range(250)]
    for label in wanted:
        github_double.state.add_label(name, label)
    client = github.Github(base_url=github_double.url, auth=github.Auth.Token("x"), per_page=100)

    got = [lb.name for lb in client.get_repo(name).get_labels()]

    assert got == wanted
    pages = github_double.log.matching("GET", "/repos/octo/demo/labels")
    assert [e.query.get("page", "1") for e in pages] == ["1", "2", "3"]


def test_link_header_names_prev_next_last_first(github_double: GitHubDouble) -> None:
    name = seeded(github_double)
    for i in range(250):
        github_double.state.add_label(name, f"l{i}")

    _, first_headers, first = raw(github_double, "GET", "/repos/octo/demo/labels?per_page=100")
    _, middle_headers, _ = raw(github_double, "GET", "/repos/octo/demo/labels?per_page=100&page=2")
    _, last_headers, last = raw(github_double, "GET", "/repos/octo/demo/labels?per_page=100&page=3")

    base = f"{github_double.url}/repos/octo/demo/labels?per_page=100"
    assert first_headers["Link"] == f'<{base}&page=2>; rel="next", <{base}&page=3>; rel="last"'
    assert middle_headers["Link"] == (
        f'<{base}&page=1>; rel="prev", <{base}&page=3>; rel="next", '
        f'<{base}&page=3>; rel="last", <{base}&page=1>; rel="first"'
    )
    assert last_headers["Link"] == f'<{base}&page=2>; rel="prev", <{base}&page=1>; rel="first"'
    assert (len(first), len(last)) == (100, 50)


def test_per_page_defaults_to_30_and_caps_at_100(github_double: GitHubDouble) -> None:
    name = seeded(github_double)
    for i in range(130):
        github_double.state.add_label(name, f"l{i}")

    _, _, default_page = raw(github_double, "GET", "/repos/octo/demo/labels")
    _, _, capped = raw(github_double, "GET", "/repos/octo/demo/labels?per_page=100&page=1")
    _, _, asked_too_many = raw(github_double, "GET", "/repos/octo/demo/labels?per_page=500")

    assert len(default_page) == 30
    assert len(capped) == 100
    assert len(asked_too_many) == 100


def test_rate_limit_headers_count_down(github_double: GitHubDouble) -> None:
    seeded(github_double)
    _, first, _ = raw(github_double, "GET", "/repos/octo/demo")
    _, second, _ = raw(github_double, "GET", "/repos/octo/demo")
    assert first["x-ratelimit-limit"] == "5000"
    assert int(first["x-ratelimit-remaining"]) - int(second["x-ratelimit-remaining"]) == 1
    assert int(second["x-ratelimit-used"]) == int(first["x-ratelimit-used"]) + 1
    assert first["x-ratelimit-resource"] == "core"
    assert int(first["x-ratelimit-reset"]) > time.time()
    # Asking for the rate limit does not count against it.
    assert github_double.github().get_rate_limit().resources.core.remaining == 5000 - 2


# -- issues, milestones, labels ------------------------------------------------------------------
def test_issue_filters_match_the_state(github_double: GitHubDouble) -> None:
    state = github_double.state
    name = seeded(github_double)
    state.add_milestone(name, "v1.0.0")
    state.add_milestone(name, "v2.0.0")
    for i in range(60):
        state.add_issue(
            name,
            f"issue {i}",
            milestone="v1.0.0" if i % 2 else "v2.0.0",
            state="closed" if i % 3 == 0 else "open",
            labels=["bug"] if i % 5 == 0 else [],
        )
    state.add_pull(name, "a change", milestone="v1.0.0", merged=True, user="dependabot[bot]")
    repo = github_double.github().get_repo(name)
    ms = repo.get_milestone(1)
    expected_v1 = [i for i in state.repo(name).issues.values() if i.milestone == 1]

    in_v1 = list(repo.get_issues(milestone=ms, state="all"))
    open_bugs = list(repo.get_issues(state="open", labels=["bug"]))

    assert sorted(i.number for i in in_v1) == sorted(i.number for i in expected_v1)
    assert {i.number for i in open_bugs} == {
        i.number
        for i in state.repo(name).issues.values()
        if i.state == "open" and "bug" in state.repo(name).issue_labels(i.number)
    }
    pr = next(i for i in in_v1 if i.pull_request is not None)
    assert pr.user.type == "Bot"
    assert repo.get_pull(pr.number).merged
    assert ms.open_issues + ms.closed_issues == len(expected_v1)


def test_label_rename_keeps_issue_labels_and_duplicates_are_refused(
    github_double: GitHubDouble,
) -> None:
    name = seeded(github_double)
    github_double.state.add_issue(name, "needs training", labels=["training"])
    repo = github_double.github().get_repo(name)

    repo.get_label("training").edit("task:training", "00ff00", "Training jobs")
    with pytest.raises(github.GithubException) as duplicate:
        repo.create_label("TASK:Training", "112233")

    assert [lb.name for lb in repo.get_issue(1).labels] == ["task:training"]
    assert duplicate.value.status == 422
    assert duplicate.value.data["errors"][0]["code"] == "already_exists"


def test_issue_label_endpoints_and_comments(github_double: GitHubDouble) -> None:
    name = seeded(github_double)
    github_double.state.add_label(name, "gpu:required")
    github_double.state.add_issue(name, "run it")
    issue = github_double.github().get_repo(name).get_issue(1)

    issue.add_to_labels("gpu:required", "task:training")
    issue.remove_from_labels("gpu:required")
    comment = issue.create_comment("queued")
    comment.edit("running")

    assert github_double.state.repo(name).issue_labels(1) == ["task:training"]
    assert [c.body for c in issue.get_comments()] == ["running"]
    assert github_double.state.repo(name).issue_comments(1)[0].user == "github-actions[bot]"


# -- git and releases ----------------------------------------------------------------------------
def test_annotated_tag_ref_and_release_like_github(github_double: GitHubDouble) -> None:
    name = seeded(github_double)
    repo = github_double.github().get_repo(name)
    head = repo.get_branch("main").commit.sha

    tag = repo.create_git_tag("v1.0.0", "v1.0.0: first", head, "commit")
    repo.create_git_ref("refs/tags/v1.0.0", tag.sha)
    release = repo.create_git_release("v1.0.0", name="v1.0.0", message="notes")
    with pytest.raises(github.GithubException) as again:
        repo.create_git_release("v1.0.0", name="v1.0.0", message="notes")

    ref = repo.get_git_ref("tags/v1.0.0")
    assert (ref.object.type, ref.object.sha) == ("tag", tag.sha)
    assert repo.get_git_tag(tag.sha).object.sha == head
    assert repo.get_release("v1.0.0").id == release.id
    assert again.value.status == 422
    assert again.value.data["errors"][0] == {
        "resource": "Release",
        "code": "already_exists",
        "field": "tag_name",
    }


def test_ref_update_must_fast_forward_unless_forced(github_double: GitHubDouble) -> None:
    name = seeded(github_double)
    state = github_double.state
    old = state.repo(name).head()
    new = state.add_commit(name, "next").sha
    state.add_tag(name, "v2", at=new)
    repo = github_double.github().get_repo(name)
    ref = repo.get_git_ref("tags/v2")

    with pytest.raises(github.GithubException) as refused:
        ref.edit(old)
    ref.edit(old, force=True)

    assert refused.value.status == 422
    assert state.repo(name).refs["refs/tags/v2"] == old


def test_dispatches_are_recorded_and_checked_against_declared_inputs(
    github_double: GitHubDouble,
) -> None:
    name = seeded(github_double)
    github_double.state.add_workflow(name, "gpu.yml", {"issue": {"required": True}})
    repo = github_double.github().get_repo(name)

    status, _, body = raw(
        github_double,
        "POST",
        "/repos/octo/demo/actions/workflows/gpu.yml/dispatches",
        {"ref": "main", "inputs": {"x": "1"}},
    )
    ok, _, _ = raw(
        github_double,
        "POST",
        "/repos/octo/demo/actions/workflows/gpu.yml/dispatches",
        {"ref": "main", "inputs": {"issue": "7"}},
    )
    repo.create_repository_dispatch("gpu-run", {"issue": 7})

    dispatches = github_double.state.repo(name).dispatches
    assert (status, ok) == (422, 204)
    assert "Unexpected inputs" in body["message"]
    assert [(d.kind, d.workflow_id, d.inputs, d.event_type) for d in dispatches] == [
        ("workflow", "gpu.yml", {"issue": "7"}, None),
        ("repository", None, {}, "gpu-run"),
    ]


def test_collaborator_permission_uses_legacy_and_role_names(github_double: GitHubDouble) -> None:
    name = seeded(github_double)
    github_double.state.set_permission(name, "maint", "maintain")
    github_double.state.set_permission(name, "reader", "read")
    repo = github_double.github().get_repo(name)

    assert repo.get_collaborator_permission("maint") == "write"
    assert repo.get_collaborator_permission("reader") == "read"
    assert repo.get_collaborator_permission("octo") == "admin"
    assert (
        raw(github_double, "GET", "/repos/octo/demo/collaborators/maint/permission")[2]["role_name"]
        == "maintain"
    )


def test_contents_at_a_ref_come_from_the_commit_tree(github_double: GitHubDouble) -> None:
    state = github_double.state
    repo_state = state.add_repo(
        "octo/demo", files={"requirements.txt": "torch==2.9.0\n", "ci/Dockerfile": "FROM x\n"}
    )
    first = repo_state.head()
    state.add_commit("octo/demo", "bump torch", files={"requirements.txt": "torch==2.9.1\n"})
    repo = github_double.github().get_repo("octo/demo")

    assert repo.get_contents("requirements.txt").decoded_content == b"torch==2.9.1\n"
    assert repo.get_contents("requirements.txt", ref=first).decoded_content == b"torch==2.9.0\n"
    assert sorted(c.path for c in repo.get_contents("")) == ["ci", "requirements.txt"]
    with pytest.raises(github.UnknownObjectException):
        repo.get_contents("missing.txt")


# -- faults --------------------------------------------------------------------------------------
def test_502_then_200_with_client_retries(github_double: GitHubDouble) -> None:
    name = seeded(github_double)
    github_double.faults.status(502, method="GET", path="/repos/octo/demo", times=1)
    client = github_double.github(retry=GithubRetry(total=3, backoff_factor=0))

    assert client.get_repo(name).full_name == name
    assert [e.status for e in github_double.log.entries] == [502, 200]
    assert github_double.log.entries[0].fault == "status"


def test_fault_without_retries_reaches_the_caller(github_double: GitHubDouble) -> None:
    name = seeded(github_double)
    github_double.faults.status(503, path="/repos/*", times=2)
    client = github_double.github()

    with pytest.raises(github.GithubException) as failed:
        client.get_repo(name)
    with pytest.raises(github.GithubException):
        client.get_repo(name)

    assert failed.value.status == 503
    assert client.get_repo(name).full_name == name  # the fault was used up


def test_retry_after_is_sent_and_honoured(github_double: GitHubDouble) -> None:
    name = seeded(github_double)
    github_double.faults.retry_after(1, method="GET", path="/repos/octo/demo")
    status, headers, body = raw(github_double, "GET", "/repos/octo/demo")
    github_double.faults.retry_after(1, method="GET", path="/repos/octo/demo")
    client = github_double.github(retry=GithubRetry(total=2, backoff_factor=0))

    started = time.monotonic()
    assert client.get_repo(name).full_name == name
    elapsed = time.monotonic() - started

    assert (status, headers["Retry-After"]) == (403, "1")
    assert "secondary rate limit" in body["message"]
    assert elapsed >= 1.0


def test_primary_rate_limit_fault(github_double: GitHubDouble) -> None:
    name = seeded(github_double)
    github_double.faults.rate_limited(60, path="/repos/octo/demo")
    status, headers, _ = raw(github_double, "GET", "/repos/octo/demo")
    github_double.faults.rate_limited(60, path="/repos/octo/demo")

    with pytest.raises(github.RateLimitExceededException):
        github_double.github().get_repo(name)

    assert (status, headers["x-ratelimit-remaining"]) == (403, "0")
    assert 55 <= int(headers["x-ratelimit-reset"]) - time.time() <= 61
    assert github_double.github().get_repo(name).full_name == name  # only faulted requests


def test_dropped_connection_then_recovery(github_double: GitHubDouble) -> None:
    name = seeded(github_double)
    github_double.faults.drop(path="/repos/octo/demo")
    connection = http.client.HTTPConnection("127.0.0.1", github_double.port, timeout=5)

    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        connection.request("GET", "/repos/octo/demo")
        connection.getresponse()
    github_double.faults.drop(path="/repos/octo/demo")
    client = github_double.github(retry=GithubRetry(total=2, backoff_factor=0))

    assert client.get_repo(name).full_name == name
    assert [e.status for e in github_double.log.entries] == [0, 0, 200]


def test_delay_longer_than_the_client_timeout(github_double: GitHubDouble) -> None:
    name = seeded(github_double)
    github_double.faults.delay(3, path="/repos/octo/demo")

    started = time.monotonic()
    with pytest.raises(requests.exceptions.ReadTimeout):
        github_double.github(timeout=1).get_repo(name)

    assert time.monotonic() - started < 2.5


# -- OpenAPI validation --------------------------------------------------------------------------
def test_openapi_rejects_a_label_without_a_name(github_double: GitHubDouble) -> None:
    seeded(github_double)

    status, _, body = raw(github_double, "POST", "/repos/octo/demo/labels", {"color": "ff0000"})
    wrong_type, _, _ = raw(github_double, "POST", "/repos/octo/demo/labels", {"name": 7})

    violations = github_double.take_violations()
    assert (status, wrong_type) == (400, 400)
    assert body["message"].startswith("OpenAPI validation failed: request")
    assert "'name' is a required property" in violations[0].message
    assert "name: 7 is not of type 'string'" in violations[1].message
    assert github_double.state.repo("octo/demo").labels == {}


def test_openapi_rejects_an_undescribed_endpoint(github_double: GitHubDouble) -> None:
    seeded(github_double)

    status, _, _ = raw(github_double, "GET", "/repos/octo/demo/git/refs")

    [violation] = github_double.take_violations()
    assert status == 400
    assert "not described" in violation.message


def test_openapi_rejects_a_wrong_response_from_the_double(github_double: GitHubDouble) -> None:
    name = seeded(github_double)
    label = github_double.state.add_label(name, "bug")
    label.color = None  # type: ignore[assignment]  # a bug in the double: color must be a string

    status, _, body = raw(github_double, "GET", "/repos/octo/demo/labels/bug")

    [violation] = github_double.take_violations()
    assert status == 500
    assert body["message"].startswith("OpenAPI validation failed: response")
    assert (violation.kind, "color") == ("response", violation.message.split(":")[1].strip())


def test_fixture_fails_the_test_on_a_violation(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(f"import sys\nsys.path.insert(0, {str(REPO_ROOT)!r})\n")
    pytester.makepyfile(
        """
        import json, urllib.request, urllib.error
        pytest_plugins = ["tests.support.github_double.fixtures"]

        def test_bad_call(github_double):
            github_double.state.add_repo("o/r")
            req = urllib.request.Request(github_double.url + "/repos/o/r/labels",
                                         data=json.dumps({}).encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
            try:
                urllib.request.urlopen(req)
            except urllib.error.HTTPError:
                pass
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*recorded 1 violation*", "*'name' is a required property*"])


# -- request log and control endpoints ----------------------------------------------------------
def test_request_log_counts_api_calls_only(github_double: GitHubDouble) -> None:
    name = seeded(github_double)
    github_double.state.add_issue(name, "one")
    repo = github_double.github().get_repo(name)
    repo.get_issue(1).create_comment("hi")
    repo.create_label("x", "ffffff")
    raw(github_double, "GET", "/_double/log")

    assert github_double.log.count() == 4
    assert github_double.log.count("GET") == 2
    assert github_double.log.count("POST") == 2
    assert github_double.log.count(path="/repos/*/labels") == 1
    assert [e.body for e in github_double.log.writes()] == [
        {"body": "hi"},
        {"name": "x", "color": "ffffff"},
    ]


def test_control_endpoint_queues_faults_and_reads_the_log(github_double: GitHubDouble) -> None:
    seeded(github_double)
    added, _, _ = raw(
        github_double,
        "POST",
        "/_double/faults",
        {"kind": "status", "status": 500, "path": "/repos/*"},
    )
    first, _, _ = raw(github_double, "GET", "/repos/octo/demo")
    second, _, _ = raw(github_double, "GET", "/repos/octo/demo")
    _, _, log = raw(github_double, "GET", "/_double/log")
    bad, _, problem = raw(github_double, "POST", "/_double/faults", {"kind": "explode"})

    assert (added, first, second) == (200, 500, 200)
    assert [(e["method"], e["status"]) for e in log] == [("GET", 500), ("GET", 200)]
    assert bad == 400
    assert "status, delay, drop, late" in problem["message"]


# -- state files and standalone start ------------------------------------------------------------
STATE = {
    "viewer": "mlops-bot[bot]",
    "users": [{"login": "alice"}, {"login": "renovate[bot]"}],
    "repos": [
        {
            "full_name": "acme/models",
            "collaborators": {"alice": "write"},
            "labels": [{"name": "gpu:required", "color": "b60205", "description": "needs a GPU"}],
            "milestones": [
                {
                    "title": "v2.9.0",
                    "description": "image: pytorch/pytorch:2.9.0",
                    "state": "closed",
                }
            ],
            "issues": [
                {
                    "title": "Train",
                    "user": "alice",
                    "labels": ["gpu:required"],
                    "milestone": "v2.9.0",
                    "state": "closed",
                },
                {
                    "title": "Bump",
                    "user": "renovate[bot]",
                    "milestone": 1,
                    "pull_request": {"head": "renovate/torch", "merged": True},
                },
            ],
            "tags": [{"name": "v2.8.0", "message": "v2.8.0"}],
            "releases": [{"tag_name": "v2.8.0", "name": "v2.8.0"}],
        }
    ],
}


def test_state_file_seeds_everything(tmp_path: Path, github_double: GitHubDouble) -> None:
    seed = tmp_path / "state.json"
    seed.write_text(json.dumps(STATE))
    github_double.state.load_file(seed)
    repo = github_double.github().get_repo("acme/models")

    items = list(repo.get_issues(milestone=repo.get_milestone(1), state="all"))

    assert {i.user.login: i.user.type for i in items} == {"alice": "User", "renovate[bot]": "Bot"}
    assert repo.get_collaborator_permission("alice") == "write"
    assert repo.get_git_ref("tags/v2.8.0").object.type == "tag"
    assert repo.get_latest_release().tag_name == "v2.8.0"


def test_bad_state_file_is_one_clear_line(tmp_path: Path) -> None:
    seed = tmp_path / "state.yml"
    seed.write_text("repos:\n  - full_name: nope\n")
    with pytest.raises(
        SeedError, match=r"state.yml: repository name 'nope' must look like owner/name"
    ):
        State.from_file(seed)


def test_standalone_server_serves_a_state_file_and_stops_on_sigterm(tmp_path: Path) -> None:
    seed = tmp_path / "state.json"
    seed.write_text(json.dumps(STATE))
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.support.github_double", "--port", "0", "--state", str(seed)],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        client = github.Github(base_url=url, auth=github.Auth.Token("x"), per_page=100)
        labels = [lb.name for lb in client.get_repo("acme/models").get_labels()]
        with urllib.request.urlopen(f"{url}/_double/log", timeout=5) as response:
            log = json.loads(response.read())
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=10)
        code = process.returncode

    assert url.startswith("http://127.0.0.1:")
    assert labels == ["gpu:required"]
    assert [e["path"] for e in log] == ["/repos/acme/models", "/repos/acme/models/labels"]
    assert code == 0, stderr


# -- webhook examples ----------------------------------------------------------------------------
def test_every_vendored_event_loads() -> None:
    names = event_names()
    assert {
        "issues.labeled",
        "pull_request.labeled",
        "milestone.closed",
        "push",
        "workflow_dispatch",
    } <= set(names)
    for name in names:
        event = load_event(name)
        assert event["repository"]["full_name"]
        if "." in name:
            assert event["action"] == name.split(".")[1]


def test_retarget_points_a_fork_pull_request_at_the_double() -> None:
    event = load_event("pull_request.labeled")

    aimed = retarget(
        event,
        repo="acme/models",
        sender="alice",
        labels=["task:training", "gpu:required"],
        label="gpu:required",
        number=12,
        head_repo="mallory/models",
        api_url="http://127.0.0.1:9999",
    )

    pr = aimed["pull_request"]
    assert aimed["repository"]["full_name"] == "acme/models"
    assert aimed["repository"]["owner"]["login"] == "acme"
    assert aimed["sender"]["login"] == "alice"
    assert [lb["name"] for lb in pr["labels"]] == ["task:training", "gpu:required"]
    assert aimed["label"]["name"] == "gpu:required"
    assert (aimed["number"], pr["number"]) == (12, 12)
    assert pr["url"] == "http://127.0.0.1:9999/repos/acme/models/pulls/12"
    assert pr["head"]["repo"]["full_name"] == "mallory/models"
    assert pr["head"]["repo"]["fork"] is True
    assert pr["base"]["repo"]["full_name"] == "acme/models"
    assert "Codertocat/Hello-World" not in json.dumps(aimed)
    assert event["repository"]["full_name"] == "Codertocat/Hello-World"  # the original is untouched
