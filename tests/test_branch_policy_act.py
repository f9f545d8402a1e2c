"""The branch-policy self-test workflow under act, from GitHub's `pull_request.opened` webhook
example re-aimed at a repository made in the test: the feature-into-develop job passes, and the
expected-failure job (a name carrying shell syntax, aimed at main) fails its branch-policy step
with both violations annotated, while the name never runs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.support.act_fixtures import ActRunner

JOB = "branch-policy"


def test_self_test_workflow(act_runner: ActRunner, tmp_path: Path) -> None:
    run = act_runner.self_test_on_pull_request(
        tmp_path, ("branch-policy",), JOB, ("follows-policy", "breaks-policy", "all")
    )

    passing = run.job("follows-policy").step("policy").outputs
    assert passing["ok"] == "true" and passing["kind"] == "feature"

    failing = run.job("breaks-policy")
    assert failing.step("x").result == "failure"
    messages = [a.message for a in failing.annotations if a.level == "error"]
    assert len(messages) == 2, messages
    assert messages[0].startswith(
        "BP002 malformed-name: 'feature/$(touch ${RUNNER_TEMP}/pwned)`id`' -> main: "
    )
    assert messages[1].startswith("BP003 wrong-target: ")
    assert messages[1].endswith("retarget this PR to develop")
