"""A repository with a release milestone in the API double, and a way to run the command on it."""

from __future__ import annotations

import io
import json
import re
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops_actions import cli

from .events import load_event, retarget
from .github_double import GitHubDouble, State

REPO = "acme/trainer"
TOKEN = "ghs_test_token"
BOT_LOGINS = ("dependabot[bot]", "renovate-app")  # the second is a Bot by type only
HUMANS = ("alice", "bob", "carol", "Dave")
LABEL_CYCLE = (["bug"], ["feature"], ["documentation"], [], ["skip-changelog"], ["enhancement"])


@dataclass
class Seeded:
    milestone: int
    head: str
    previous_tag_sha: str
    shipped_pulls: set[str]
    open_numbers: list[int]


def seed(
    state: State,
    *,
    items: int = 250,
    open_items: int = 0,
    title: str = "v2.9.0",
    description: str = "",
    milestone_state: str = "closed",
    repo: str = REPO,
) -> Seeded:
    """`items` issues and pull requests in one milestone; the last `open_items` stay open.

    Every third item is a pull request (one in seven of those closed unmerged), every fifth
    issue closed as not planned, and bots author some pull requests.
    """
    r = state.add_repo(repo, files={"README.md": "trainer\n"})
    state.add_user("renovate-app", type="Bot")
    previous = state.add_tag(r, "v2.8.0", message="v2.8.0")
    state.add_release(r, "v2.8.0", name="v2.8.0", body="Older notes")
    state.add_commit(r, "Work for 2.9", files={"train.py": "print('hi')\n"})
    ms = state.add_milestone(r, title, description=description)
    shipped: set[str] = set()
    open_numbers: list[int] = []
    for n in range(items):
        is_open = n >= items - open_items
        labels = LABEL_CYCLE[n % len(LABEL_CYCLE)]
        if n % 3 == 0:
            author = BOT_LOGINS[n % 2] if n % 9 == 0 else HUMANS[n % len(HUMANS)]
            merged = not is_open and n % 7 != 3
            issue = state.add_pull(
                r,
                f"Pull request {n}",
                head=f"change-{n}",
                merged=merged,
                user=author,
                labels=labels,
                milestone=ms.number,
                state="open" if is_open else "closed",
            )
            if merged and "skip-changelog" not in labels:
                shipped.add(author)
        else:
            reason = "not_planned" if n % 5 == 0 else None
            issue = state.add_issue(
                r,
                f"Issue {n}",
                user=HUMANS[n % len(HUMANS)],
                labels=labels,
                milestone=ms.number,
                state="open" if is_open else "closed",
                state_reason=None if is_open else reason,
            )
        if is_open:
            open_numbers.append(issue.number)
    if milestone_state == "closed":
        ms.state = "closed"
        ms.closed_at = ms.updated_at
    return Seeded(ms.number, r.head(), r.peel(previous), shipped, open_numbers)


def milestone_event(
    double: GitHubDouble, number: int, *, action: str = "closed", repo: str = REPO
) -> dict[str, Any]:
    """GitHub's `milestone` example aimed at the double's repository and milestone."""
    name = "milestone.closed" if action == "closed" else "milestone.created"
    event = retarget(load_event(name), repo=repo, api_url=double.url)
    event["action"] = action
    event["repository"]["default_branch"] = double.state.repo(repo).default_branch
    milestone = double.state.repo(repo).milestones.get(number)
    event["milestone"]["number"] = number
    if milestone is not None:
        event["milestone"]["title"] = milestone.title
    return event


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str
    outputs: dict[str, str]
    summary: str

    def json(self) -> Any:
        return json.loads(self.stdout)

    def json_outputs(self, name: str) -> Any:
        return json.loads(self.outputs[name])


_BLOCK = re.compile(
    r"^(?P<name>[^<\n]+)<<(?P<delim>\S+)\n(?P<value>.*?)\n(?P=delim)\n", re.S | re.M
)


def run_release(
    double: GitHubDouble,
    workdir: Path,
    *args: str,
    event: dict[str, Any] | None = None,
    event_name: str = "milestone",
    repo: str = REPO,
) -> Result:
    """`mlops-actions milestone-release ARGS` as a workflow step would run it."""
    workdir.mkdir(parents=True, exist_ok=True)
    out_file = workdir / "github_output"
    summary_file = workdir / "step_summary"
    for f in (out_file, summary_file):
        f.write_text("")
    env = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_API_URL": double.url,
        "MLOPS_ACTIONS_WRITE_INTERVAL": "0",
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_TOKEN": TOKEN,
        "GITHUB_REPOSITORY": repo,
        "GITHUB_EVENT_NAME": event_name,
        "GITHUB_WORKSPACE": str(workdir),
        "GITHUB_OUTPUT": str(out_file),
        "GITHUB_STEP_SUMMARY": str(summary_file),
    }
    if event is not None:
        path = workdir / "event.json"
        path.write_text(json.dumps(event))
        env["GITHUB_EVENT_PATH"] = str(path)
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = cli.main(["milestone-release", *args], env)
    outputs = {m["name"]: m["value"] for m in _BLOCK.finditer(out_file.read_text())}
    return Result(code, out.getvalue(), err.getvalue(), outputs, summary_file.read_text())
