"""After the release: "released in" comments on shipped items, and a follow-up dispatch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mlops_actions.errors import GitHubError
from mlops_actions.idempotent import write_once
from mlops_actions.milestone_release.model import Item, Person
from mlops_actions.milestone_release.release import RELEASED_MARKER, released_comment
from tests.support.github_double import GitHubDouble
from tests.support.milestones import REPO, milestone_event, run_release, seed

MARKER = RELEASED_MARKER.format(tag="v2.9.0")


def _released_comments(double: GitHubDouble) -> dict[int, int]:
    repo = double.state.repo(REPO)
    counts: dict[int, int] = {}
    for comment in repo.comments.values():
        if MARKER in comment.body:
            counts[comment.issue_number] = counts.get(comment.issue_number, 0) + 1
    return counts


def test_each_shipped_item_is_told_once_and_a_rerun_adds_none(
    github_double: GitHubDouble, tmp_path: Path
) -> None:
    seed(github_double.state, items=24)
    event = milestone_event(github_double, 1)
    repo = github_double.state.repo(REPO)
    # One item already carries an unrelated comment: it is read, not skipped.
    github_double.state.add_comment(repo, 2, "thanks!", user="alice")

    first = run_release(github_double, tmp_path, "--released-comment", event=event)
    assert first.code == 0, first.stdout + first.stderr
    told = _released_comments(github_double)
    commented = first.json_outputs("commented")
    assert sorted(told) == commented and set(told.values()) == {1}
    assert 10 < len(told) < 24  # shipped only: not the unmerged PRs or not-planned issues
    link = "[v2.9.0](https://github.com/acme/trainer/releases/tag/v2.9.0)"
    bodies = {c.issue_number: c.body for c in repo.comments.values() if MARKER in c.body}
    kinds = {n: "pull request" if repo.issues[n].pull else "issue" for n in bodies}
    assert set(kinds.values()) == {"pull request", "issue"}  # both kinds were shipped
    for number, body in bodies.items():
        assert body == f"{MARKER}\nThis {kinds[number]} was released in {link}."

    github_double.log.clear()
    again = run_release(github_double, tmp_path, "--released-comment", event=event)
    assert again.code == 0, again.stderr
    assert github_double.log.writes() == []
    assert again.json_outputs("commented") == []
    assert _released_comments(github_double) == told


def test_a_failed_comment_is_re_read_then_written_once(
    github_double: GitHubDouble, tmp_path: Path
) -> None:
    seed(github_double.state, items=12)
    # The first comment POST fails as a proxy would; whatever retries the client makes, the
    # end state is one comment per shipped item.
    github_double.faults.status(502, method="POST", path=f"/repos/{REPO}/issues/*/comments")
    result = run_release(
        github_double, tmp_path, "--released-comment", event=milestone_event(github_double, 1)
    )
    assert result.code == 0, result.stdout + result.stderr
    told = _released_comments(github_double)
    assert told and set(told.values()) == {1}


@pytest.fixture
def publishable(github_double: GitHubDouble) -> dict[str, Any]:
    """A closed milestone in a repository with a publish.yml workflow; the milestone event."""
    seed(github_double.state, items=6)
    github_double.state.add_workflow(REPO, "publish.yml")
    return milestone_event(github_double, 1)


def test_dispatch_starts_the_workflow_on_the_tag_once(
    github_double: GitHubDouble, tmp_path: Path, publishable: dict[str, Any]
) -> None:
    event = publishable
    first = run_release(github_double, tmp_path, "--dispatch", "publish.yml", event=event)
    assert first.code == 0, first.stdout + first.stderr
    dispatches = github_double.state.repo(REPO).dispatches
    assert [(d.workflow_id, d.ref, d.inputs) for d in dispatches] == [("publish.yml", "v2.9.0", {})]
    assert first.outputs["dispatched"] == "true"

    again = run_release(github_double, tmp_path, "--dispatch", "publish.yml", event=event)
    assert again.code == 0
    assert len(dispatches) == 1
    assert again.outputs["dispatched"] == "false"
    assert "already existed" in again.stdout


def test_dispatch_of_a_missing_workflow_names_the_input(
    github_double: GitHubDouble, tmp_path: Path, publishable: dict[str, Any]
) -> None:
    result = run_release(github_double, tmp_path, "--dispatch", "pubish.yml", event=publishable)
    assert result.code == 2
    assert "`--dispatch`: no workflow 'pubish.yml' in acme/trainer (404)." in result.stdout


def test_dry_run_dispatches_and_comments_nothing(
    github_double: GitHubDouble, tmp_path: Path, publishable: dict[str, Any]
) -> None:
    result = run_release(
        github_double,
        tmp_path,
        "--dry-run",
        "--released-comment",
        "--dispatch",
        "publish.yml",
        event=publishable,
    )
    assert result.code == 0, result.stderr
    assert github_double.log.writes() == []
    assert "[dry-run] would dispatch publish.yml on v2.9.0" in result.stdout
    assert "[dry-run] would comment on #" in result.stdout


# -- write_once: the rule every such write follows ---------------------------------------------


class _Remote:
    def __init__(self, failures: int, lands: bool) -> None:
        self.failures = failures
        self.lands = lands  # a failed write still takes effect (its answer was lost)
        self.effects = 0
        self.sent = 0

    def done(self) -> bool:
        return self.effects > 0

    def write(self) -> None:
        self.sent += 1
        if self.failures:
            self.failures -= 1
            if self.lands:
                self.effects += 1
            raise GitHubError("commenting: GitHub answered 502", fix="re-run.")
        self.effects += 1


@pytest.mark.parametrize(
    ("failures", "lands", "result", "sent"),
    [
        (0, False, "written", 1),
        (1, True, "landed", 1),  # lost answer: the re-read finds it, nothing is sent again
        (1, False, "written", 2),  # refused: the re-read finds nothing, one more write
    ],
)
def test_write_once(failures: int, lands: bool, result: str, sent: int) -> None:
    remote = _Remote(failures, lands)
    assert write_once(remote.done, remote.write) == result
    assert remote.sent == sent and remote.effects == 1


def test_write_once_sends_nothing_when_present_and_gives_up_after_two() -> None:
    remote = _Remote(0, False)
    remote.effects = 1
    assert write_once(remote.done, remote.write) == "present" and remote.sent == 0
    failing = _Remote(2, False)
    with pytest.raises(GitHubError):
        write_once(failing.done, failing.write)
    assert failing.sent == 2 and failing.effects == 0


def test_a_failed_dispatch_says_how_to_start_it_and_a_rerun_sends_none(
    github_double: GitHubDouble, tmp_path: Path, publishable: dict[str, Any]
) -> None:
    github_double.faults.status(
        403, method="POST", path=f"/repos/{REPO}/actions/workflows/*/dispatches"
    )
    failed = run_release(github_double, tmp_path, "--dispatch", "publish.yml", event=publishable)
    assert failed.code == 3
    assert "release v2.9.0 was made, but dispatching publish.yml failed" in failed.stdout
    assert "`gh workflow run publish.yml --ref v2.9.0`" in failed.stdout
    assert github_double.state.repo(REPO).release_by_tag("v2.9.0") is not None

    github_double.log.clear()
    again = run_release(github_double, tmp_path, "--dispatch", "publish.yml", event=publishable)
    assert again.code == 0
    assert github_double.log.count("POST", f"/repos/{REPO}/actions/workflows/*") == 0


def test_a_released_comment_without_a_release_page_names_the_tag() -> None:
    item = Item(3, "Fix", "issue", "closed", Person("a"))
    assert released_comment("v2.9.0", "", item) == f"{MARKER}\nThis issue was released in `v2.9.0`."
