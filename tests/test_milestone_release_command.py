"""milestone-release through the CLI against the GitHub API double."""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path

from tests.support.github_double import GitHubDouble
from tests.support.milestones import REPO, milestone_event, run_release, seed

ISSUES = "/repos/acme/trainer/issues"


def repo_of(double: GitHubDouble):  # type: ignore[no-untyped-def]
    return double.state.repo(REPO)


def test_closed_milestone_becomes_tag_and_release(
    github_double: GitHubDouble, tmp_path: Path
) -> None:
    seeded = seed(github_double.state, items=250)
    result = run_release(github_double, tmp_path, event=milestone_event(github_double, 1))
    assert result.code == 0, result.stdout + result.stderr

    repo = repo_of(github_double)
    # An annotated tag object at the default branch head, message from the milestone.
    ref_sha = repo.refs["refs/tags/v2.9.0"]
    tag_object = repo.tags[ref_sha]
    assert tag_object.object_sha == seeded.head
    assert tag_object.message.startswith("v2.9.0\n\n")
    assert "pull requests merged in milestone #1" in tag_object.message

    release = repo.release_by_tag("v2.9.0")
    assert release is not None and release.name == "v2.9.0"
    assert not release.draft and not release.prerelease and release.make_latest == "true"
    body = release.body or ""
    assert body.index("### Features") < body.index("### Bug fixes") < body.index("### Other")
    # Items from all three pages are there: the first and the last of the milestone.
    assert "(#2)" in body and "(#249)" in body
    assert "(#5)" not in body  # skip-changelog
    assert "Issue 10 (#11)" not in body  # closed as not planned
    assert "**Full changelog:** https://github.com/acme/trainer/compare/v2.8.0...v2.9.0" in body
    assert "**Milestone:** [v2.9.0](https://github.com/acme/trainer/milestone/1)" in body
    contributors_line = body.split("### Contributors\n\n")[1].splitlines()[0]
    assert contributors_line == ", ".join(
        f"@{p}"
        for p in sorted(
            seeded.shipped_pulls - {"dependabot[bot]", "renovate-app"}, key=str.casefold
        )
    )
    assert "[bot]" not in contributors_line and "renovate-app" not in contributors_line

    assert github_double.log.count("GET", ISSUES) == 3  # 250 items, 100 a page
    entry = github_double.log.matching("GET", ISSUES)[0]
    assert entry.query["milestone"] == "1" and entry.query["state"] == "all"
    assert github_double.log.count("GET", f"{ISSUES}/*") == 0  # no request per item

    outputs = result.outputs
    assert outputs["version"] == "2.9.0" and outputs["tag"] == "v2.9.0"
    assert outputs["prerelease"] == "false" and outputs["previous-tag"] == "v2.8.0"
    assert outputs["release-id"] == str(release.id)
    assert outputs["release-url"] == "https://github.com/acme/trainer/releases/tag/v2.9.0"
    assert outputs["notes"] == body
    assert "Milestone **v2.9.0**" in result.summary


def test_rerun_after_success_changes_nothing(github_double: GitHubDouble, tmp_path: Path) -> None:
    seed(github_double.state, items=120)
    event = milestone_event(github_double, 1)
    assert run_release(github_double, tmp_path, event=event).code == 0
    repo = repo_of(github_double)
    before = (dict(repo.refs), len(repo.tags), {r.id: r.body for r in repo.releases.values()})
    github_double.log.clear()

    again = run_release(github_double, tmp_path, event=event)
    assert again.code == 0, again.stderr
    assert github_double.log.writes() == []
    after = (dict(repo.refs), len(repo.tags), {r.id: r.body for r in repo.releases.values()})
    assert after == before
    assert "tag v2.9.0 at" in again.stdout and ": keep" in again.stdout


def test_existing_release_for_the_tag_is_updated_not_duplicated(
    github_double: GitHubDouble, tmp_path: Path
) -> None:
    seed(github_double.state, items=10)
    state = github_double.state
    old = state.add_release(REPO, "v2.9.0", name="hand made", body="stale")
    result = run_release(github_double, tmp_path, event=milestone_event(github_double, 1))
    assert result.code == 0, result.stderr
    releases = [r for r in repo_of(github_double).releases.values() if r.tag_name == "v2.9.0"]
    assert [r.id for r in releases] == [old.id]
    assert releases[0].name == "v2.9.0" and "### " in (releases[0].body or "")
    assert github_double.log.count("POST", "/repos/*/releases") == 0
    assert github_double.log.count("PATCH", f"/repos/acme/trainer/releases/{old.id}") == 1


def test_tag_at_another_commit_fails_naming_both_shas(
    github_double: GitHubDouble, tmp_path: Path
) -> None:
    seeded = seed(github_double.state, items=10)
    other = github_double.state.add_tag(REPO, "v2.9.0", at=seeded.previous_tag_sha)
    elsewhere = repo_of(github_double).peel(other)
    result = run_release(github_double, tmp_path, event=milestone_event(github_double, 1))
    assert result.code == 1
    errors = [ln for ln in result.stdout.splitlines() if ln.startswith("::error")]
    assert len(errors) == 1
    assert elsewhere in errors[0] and seeded.head in errors[0]
    assert github_double.log.writes() == []


def test_interrupted_run_completes_on_rerun(github_double: GitHubDouble, tmp_path: Path) -> None:
    seeded = seed(github_double.state, items=30)
    github_double.faults.status(422, method="POST", path="/repos/*/releases")
    event = milestone_event(github_double, 1)
    first = run_release(github_double, tmp_path, event=event)
    assert first.code == 3
    assert "creating the release for v2.9.0" in first.stdout
    repo = repo_of(github_double)
    assert "refs/tags/v2.9.0" in repo.refs and repo.release_by_tag("v2.9.0") is None

    github_double.log.clear()
    second = run_release(github_double, tmp_path, event=event)
    assert second.code == 0, second.stdout
    assert github_double.log.count("POST", "/repos/*/git/tags") == 0
    assert github_double.log.count("POST", "/repos/*/git/refs") == 0
    assert github_double.log.count("POST", "/repos/*/releases") == 1
    assert repo.peel(repo.refs["refs/tags/v2.9.0"]) == seeded.head
    assert len([r for r in repo.releases.values() if r.tag_name == "v2.9.0"]) == 1


def test_403_on_tag_creation_names_contents_write(
    github_double: GitHubDouble, tmp_path: Path
) -> None:
    seed(github_double.state, items=5)
    github_double.faults.status(
        403,
        method="POST",
        path="/repos/*/git/tags",
        body={"message": "Resource not accessible by integration", "documentation_url": "x"},
    )
    result = run_release(github_double, tmp_path, event=milestone_event(github_double, 1))
    assert result.code == 3
    errors = [ln for ln in result.stdout.splitlines() if ln.startswith("::error")]
    assert len(errors) == 1
    assert "creating tag v2.9.0" in errors[0] and "`contents: write`" in errors[0]
    assert "Traceback" not in result.stdout + result.stderr
    assert repo_of(github_double).release_by_tag("v2.9.0") is None


def test_open_items_fail_by_default_and_write_nothing(
    github_double: GitHubDouble, tmp_path: Path
) -> None:
    seeded = seed(github_double.state, items=40, open_items=3)
    result = run_release(github_double, tmp_path, event=milestone_event(github_double, 1))
    assert result.code == 1
    error = next(ln for ln in result.stdout.splitlines() if ln.startswith("::error"))
    assert "3 open items" in error
    assert all(f"#{n}" in error for n in seeded.open_numbers)
    assert github_double.log.writes() == []
    assert "refs/tags/v2.9.0" not in repo_of(github_double).refs


def test_open_items_reopen_comments_once(github_double: GitHubDouble, tmp_path: Path) -> None:
    seeded = seed(github_double.state, items=20, open_items=2)
    repo = repo_of(github_double)
    event = milestone_event(github_double, 1)
    result = run_release(github_double, tmp_path, "--open-items", "reopen", event=event)
    assert result.code == 1
    assert repo.milestones[1].state == "open"
    for number in seeded.open_numbers:
        comments = repo.issue_comments(number)
        assert len(comments) == 1
        assert "<!-- mlops-actions:milestone-release:1 -->" in comments[0].body
    # Closed again with the items still open: reopened again, no second comment.
    repo.milestones[1].state = "closed"
    again = run_release(github_double, tmp_path, "--open-items", "reopen", event=event)
    assert again.code == 1
    assert repo.milestones[1].state == "open"
    assert [len(repo.issue_comments(n)) for n in seeded.open_numbers] == [1, 1]
    assert "refs/tags/v2.9.0" not in repo.refs


def test_open_items_warn_releases_what_shipped(github_double: GitHubDouble, tmp_path: Path) -> None:
    seeded = seed(github_double.state, items=20, open_items=2)
    (tmp_path / ".github").mkdir(parents=True)
    (tmp_path / ".github" / "mlops.yml").write_text("milestone-release:\n  open-items: warn\n")
    result = run_release(github_double, tmp_path, event=milestone_event(github_double, 1))
    assert result.code == 0, result.stdout
    assert any(
        ln.startswith("::warning") and "2 open item" in ln for ln in result.stdout.splitlines()
    )
    body = repo_of(github_double).release_by_tag("v2.9.0").body  # type: ignore[union-attr]
    assert all(f"(#{n})" not in body for n in seeded.open_numbers)


def test_dry_run_prints_and_writes_nothing(github_double: GitHubDouble, tmp_path: Path) -> None:
    seed(github_double.state, items=15)
    result = run_release(
        github_double, tmp_path, "--dry-run", event=milestone_event(github_double, 1)
    )
    assert result.code == 0, result.stdout
    assert github_double.log.writes() == []
    assert len(github_double.log) > 0
    assert "[dry-run] tag v2.9.0 at" in result.stdout and ": create" in result.stdout
    assert "### Contributors" in result.stdout  # the notes it would publish
    assert result.outputs["tag"] == "v2.9.0" and result.outputs["release-url"] == ""
    assert "dry run" in result.summary


def test_bad_title_is_one_line(github_double: GitHubDouble, tmp_path: Path) -> None:
    seed(github_double.state, items=3, title="Backlog cleanup")
    result = run_release(github_double, tmp_path, event=milestone_event(github_double, 1))
    assert result.code == 2
    errors = [ln for ln in result.stdout.splitlines() if ln.startswith("::error")]
    assert len(errors) == 1
    assert "'Backlog cleanup'" in errors[0] and "PEP 440 or SemVer" in errors[0]
    assert github_double.log.writes() == []


def test_other_milestone_actions_are_a_notice(github_double: GitHubDouble, tmp_path: Path) -> None:
    seed(github_double.state, items=3)
    event = milestone_event(github_double, 1, action="created")
    result = run_release(github_double, tmp_path, event=event)
    assert result.code == 0
    assert any(ln.startswith("::notice") and "`created`" in ln for ln in result.stdout.splitlines())
    assert len(github_double.log) == 0
    assert result.outputs["skipped"] == "true"


def test_workflow_dispatch_with_number_target_and_prerelease(
    github_double: GitHubDouble, tmp_path: Path
) -> None:
    seeded = seed(github_double.state, items=8, title="v3.0.0rc1")
    github_double.state.add_branch(REPO, "release/3.0", at=seeded.previous_tag_sha)
    result = run_release(
        github_double,
        tmp_path,
        "--milestone",
        "1",
        "--target",
        "release/3.0",
        event_name="workflow_dispatch",
        event={"inputs": {}},
    )
    assert result.code == 0, result.stdout
    repo = repo_of(github_double)
    release = repo.release_by_tag("v3.0.0rc1")
    assert release is not None and release.prerelease and release.make_latest == "false"
    assert repo.peel(repo.refs["refs/tags/v3.0.0rc1"]) == repo.peel(seeded.previous_tag_sha)
    assert result.outputs["prerelease"] == "true"


def test_no_milestone_is_a_usage_error(github_double: GitHubDouble, tmp_path: Path) -> None:
    result = run_release(github_double, tmp_path, event_name="workflow_dispatch", event={})
    assert result.code == 2
    assert "no milestone to release" in result.stdout


def test_unknown_milestone(github_double: GitHubDouble, tmp_path: Path) -> None:
    seed(github_double.state, items=1)
    result = run_release(github_double, tmp_path, "--milestone", "42", event_name="push", event={})
    assert result.code == 2
    assert "milestone #42 does not exist in acme/trainer" in result.stdout


def test_move_major_tag(github_double: GitHubDouble, tmp_path: Path) -> None:
    seeded = seed(github_double.state, items=5)
    github_double.state.add_tag(REPO, "v2", at=seeded.previous_tag_sha)
    event = milestone_event(github_double, 1)
    result = run_release(github_double, tmp_path, "--move-major-tag", event=event)
    assert result.code == 0, result.stdout
    repo = repo_of(github_double)
    assert repo.peel(repo.refs["refs/tags/v2"]) == seeded.head
    assert result.outputs["tag"] == "v2.9.0"
    # A pre-release never moves it.
    github_double.state.add_milestone(REPO, "v3.0.0rc1", state="closed")
    rc = run_release(github_double, tmp_path, "--move-major-tag", "--milestone", "2")
    assert rc.code == 0, rc.stdout
    assert "refs/tags/v3" not in repo.refs and "major tag" not in rc.stdout


def test_draft_release(github_double: GitHubDouble, tmp_path: Path) -> None:
    seed(github_double.state, items=5)
    result = run_release(
        github_double, tmp_path, "--draft", event=milestone_event(github_double, 1)
    )
    assert result.code == 0, result.stdout
    release = repo_of(github_double).release_by_tag("v2.9.0")
    assert release is not None and release.draft
    # A re-run finds the draft (the tag lookup cannot see drafts) and does not add another.
    again = run_release(github_double, tmp_path, "--draft", event=milestone_event(github_double, 1))
    assert again.code == 0
    assert len([r for r in repo_of(github_double).releases.values() if r.tag_name == "v2.9.0"]) == 1


def test_pins_declared_on_the_milestone_are_enforced(
    github_double: GitHubDouble, tmp_path: Path
) -> None:
    seed(
        github_double.state,
        items=5,
        description="The 2.9 stack\n\nimage: pytorch/pytorch:2.9.0-cuda12.8-cudnn9-runtime\n",
    )
    (tmp_path / "Dockerfile").write_text("FROM pytorch/pytorch:2.8.0-cuda12.6-cudnn9-runtime\n")
    event = milestone_event(github_double, 1)
    refused = run_release(github_double, tmp_path, event=event)
    assert refused.code == 1
    lines = refused.stdout.splitlines()
    assert any(ln.startswith("::error file=Dockerfile,line=1") for ln in lines)
    assert github_double.log.writes() == []

    (tmp_path / "Dockerfile").write_text("FROM pytorch/pytorch:2.9.0-cuda12.8-cudnn9-runtime\n")
    accepted = run_release(github_double, tmp_path, event=event)
    assert accepted.code == 0, accepted.stdout
    assert "pins check against" in accepted.stdout


def test_pins_are_read_at_the_target_commit_of_a_git_checkout(tmp_path: Path) -> None:
    from mlops_actions.milestone_release.checkout import files_at

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(tmp_path), *args], capture_output=True, text=True, check=True
        )
        return done.stdout.strip()

    git("init", "-q")
    git("config", "user.email", "t@example.com")
    git("config", "user.name", "t")
    (tmp_path / "Dockerfile").write_text("FROM pytorch/pytorch:2.9.0-cuda12.8-cudnn9-runtime\n")
    git("add", ".")
    git("commit", "-qm", "one")
    first = git("rev-parse", "HEAD")
    (tmp_path / "Dockerfile").write_text("FROM pytorch/pytorch:2.8.0-cuda12.6-cudnn9-runtime\n")
    git("commit", "-qam", "two")
    with files_at(tmp_path, first) as (tree, how):
        assert tree != tmp_path and "exported" in how
        assert "2.9.0" in (tree / "Dockerfile").read_text()
    with files_at(tmp_path, git("rev-parse", "HEAD")) as (tree, how):
        assert tree == tmp_path


def test_request_budget_for_a_1000_item_milestone(
    github_double: GitHubDouble, tmp_path: Path
) -> None:
    seed(github_double.state, items=1000)
    result = run_release(github_double, tmp_path, event=milestone_event(github_double, 1))
    assert result.code == 0, result.stdout
    budget = math.ceil(1000 / 100) + 6
    assert len(github_double.log) <= budget, [(e.method, e.path) for e in github_double.log.entries]
    assert github_double.log.count("GET", ISSUES) == 10


def test_plan_mode_syncs_milestones_and_reports_progress(
    github_double: GitHubDouble, tmp_path: Path
) -> None:
    seed(github_double.state, items=10, open_items=4, milestone_state="open")
    state = github_double.state
    state.add_milestone(REPO, "Backlog")
    state.add_milestone(REPO, "v2.10.0", description="old", due_on="2020-01-01T07:00:00Z")
    (tmp_path / ".github").mkdir(parents=True)
    (tmp_path / ".github" / "mlops.yml").write_text(
        "milestone-release:\n"
        "  milestones:\n"
        "    - {title: v2.10.0, description: Next minor, due-on: '2020-02-01'}\n"
        "    - {title: v3.0.0, description: Major, due-on: '2031-01-15'}\n"
        "    - {title: v2.9.0}\n"
    )
    dry = run_release(github_double, tmp_path, "--mode", "plan", "--dry-run", "--json")
    assert dry.code == 0, dry.stderr
    assert github_double.log.writes() == []
    assert [c["action"] for c in dry.json()["changes"]] == ["update", "create"]

    result = run_release(github_double, tmp_path, "--mode", "plan")
    assert result.code == 0, result.stdout
    repo = repo_of(github_double)
    created = repo.milestone_by_title("v3.0.0")
    assert created is not None and created.description == "Major"
    assert (created.due_on or "").startswith("2031-01-15")
    updated = repo.milestone_by_title("v2.10.0")
    assert updated is not None and updated.description == "Next minor"
    assert (updated.due_on or "").startswith("2020-02-01")
    assert repo.milestone_by_title("Backlog") is not None  # never deleted unasked
    rows = {row["title"]: row for row in json.loads(result.outputs["progress"])}
    assert rows["v2.9.0"]["closed"] == 6 and rows["v2.9.0"]["total"] == 10
    assert rows["v2.9.0"]["percent"] == 60
    assert rows["v2.10.0"]["overdue"] is True and rows["v3.0.0"]["overdue"] is False
    assert (
        "| [v2.9.0](https://github.com/acme/trainer/milestone/1) | 6/10 | 60% |" in result.summary
    )

    github_double.log.clear()
    again = run_release(github_double, tmp_path, "--mode", "plan")
    assert again.code == 0 and github_double.log.writes() == []
    assert "milestones match the config" in again.stdout


def test_default_branch_from_the_api_when_the_event_lacks_it(
    github_double: GitHubDouble, tmp_path: Path
) -> None:
    seeded = seed(github_double.state, items=3)
    result = run_release(
        github_double, tmp_path, "--milestone", "1", event_name="workflow_dispatch", event={}
    )
    assert result.code == 0, result.stdout
    assert github_double.log.count("GET", "/repos/acme/trainer") == 1
    repo = repo_of(github_double)
    assert repo.peel(repo.refs["refs/tags/v2.9.0"]) == seeded.head
