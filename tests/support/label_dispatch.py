"""label-dispatch scenarios on the API double, shared by the tests and the request benchmark.

`Scenario` holds a double seeded like a real ML repository (maintainers, a read-only user, a fork
contributor, labels, an issue and two pull requests) and runs the command the way the action
does: `cli.main` with INPUT_*-free flags and the runner's GITHUB_* files.
"""

from __future__ import annotations

import contextlib
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlops_actions import cli
from tests.support.events import load_event, retarget
from tests.support.github_double import GitHubDouble

REPO = "octo-org/models"
TOKEN = "label-dispatch-token"
BOT = "github-actions[bot]"

CONFIG = """\
label-dispatch:
  labels:
    - {name: "task:training", color: "1d76db", description: "Train a model", aliases: [training]}
    - {name: "task:eval", color: "0e8a16", description: "Evaluate a checkpoint"}
    - {name: "task:docs", color: "c5def5", description: "Documentation only"}
    - name: "gpu:required"
      color: "b60205"
      description: "Needs a GPU runner"
      restricted: write
      triggers: "A run on the GPU pool"
    - {name: "ci:approved", color: "0e8a16", restricted: write,
       description: "A maintainer approved this fork PR's current commit"}
    - {name: "status:in-progress", color: "fbca04"}
    - {name: "status:done", color: "0e8a16"}
    - {name: "status:failed", color: "b60205"}
    - {name: "type:bug", color: "d73a4a", aliases: [bug]}
    - {name: "type:feature", color: "a2eeef", aliases: [enhancement]}
  exclude: ["dependencies", "release:*"]
  categories:
    task: {description: "What the work is", exclusive: true, required: true}
    type: {exclusive: true}
  routes:
    - name: gpu-training
      when: {labels: ["task:training", "gpu:required"]}
      runs-on: [self-hosted, linux, gpu]
      container: pytorch/pytorch:2.4.1-cuda12.1-cudnn9-runtime
      env: {EPOCHS: "1"}
      timeout-minutes: 120
      dispatch: {workflow: gpu-train.yml, inputs: {suite: smoke}}
    - name: cpu-eval
      when: {labels: ["task:eval"], not-labels: ["gpu:required"]}
      runs-on: ubuntu-latest
  gate:
    permission: write
    fork-permission: write
    approval-label: "ci:approved"
  report:
    status-labels: {running: "status:in-progress", succeeded: "status:done", failed: "status:failed"}
"""

PEOPLE = {
    "maint": "maintain",
    "writer": "write",
    "tri": "triage",
    "reader": "read",
    "contributor": "read",
}


@dataclass
class Result:
    code: int
    outputs: dict[str, str]
    summary: str
    report: dict[str, Any] = field(default_factory=dict)
    log: str = ""


def parse_outputs(text: str) -> dict[str, str]:
    """GITHUB_OUTPUT's heredoc blocks back into a mapping."""
    out: dict[str, str] = {}
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        name, _, delimiter = lines[i].partition("<<")
        value: list[str] = []
        i += 1
        while lines[i] != delimiter:
            value.append(lines[i])
            i += 1
        out[name] = "\n".join(value)
        i += 1
    return out


class Scenario:
    def __init__(
        self,
        double: GitHubDouble,
        root: Path,
        config: str = CONFIG,
        files: dict[str, str] | None = None,
    ) -> None:
        self.double = double
        self.root = root
        self.state = double.state
        self.state.add_token(TOKEN, BOT)
        self.repo = self.state.add_repo(REPO, files=files)
        for login, role in PEOPLE.items():
            self.state.set_permission(self.repo, login, role)
        self.state.add_workflow(
            self.repo,
            "gpu-train.yml",
            {
                "number": {"required": True},
                "sha": {"required": True},
                "suite": {"required": False},
            },
        )
        (root / ".github").mkdir(parents=True, exist_ok=True)
        (root / ".github" / "mlops.yml").write_text(config, encoding="utf-8")
        self._runs = 0

    # -- state --------------------------------------------------------------------------------
    def seed_labels(self) -> None:
        for name in (
            "task:training",
            "task:eval",
            "task:docs",
            "gpu:required",
            "ci:approved",
            "status:in-progress",
            "status:done",
            "status:failed",
            "type:bug",
        ):
            self.state.add_label(self.repo, name)

    def issue(self, labels: list[str], user: str = "reader") -> int:
        return self.state.add_issue(
            self.repo, "Fine-tune on the new data", user=user, labels=labels
        ).number

    def pull(self, labels: list[str], *, author: str = "writer", fork: bool = False) -> Any:
        return self.state.add_pull(
            self.repo,
            "Speed up the data loader",
            user=author,
            labels=labels,
            head="loader",
            head_repo=f"{author}/models" if fork else None,
        )

    # -- events -------------------------------------------------------------------------------
    def issues_labeled(self, number: int, label: str, sender: str) -> dict[str, Any]:
        return retarget(
            load_event("issues.labeled"),
            repo=REPO,
            sender=sender,
            number=number,
            labels=self.state.repo(REPO).issue_labels(number),
            label=label,
            author=self.repo.issues[number].user,
            api_url=self.double.url,
        )

    def pull_labeled(self, number: int, label: str, sender: str) -> dict[str, Any]:
        issue = self.repo.issues[number]
        assert issue.pull is not None
        return retarget(
            load_event("pull_request.labeled"),
            repo=REPO,
            sender=sender,
            number=number,
            labels=self.repo.issue_labels(number),
            label=label,
            author=issue.user,
            head_repo=issue.pull.head_repo,
            api_url=self.double.url,
            overrides={
                "pull_request.head.sha": issue.pull.head_sha,
                "pull_request.base.ref": issue.pull.base_ref,
                "pull_request.base.sha": issue.pull.base_sha,
                "repository.default_branch": "main",
            },
        )

    def label_created(self, name: str, sender: str) -> dict[str, Any]:
        return retarget(
            load_event("label.created"),
            repo=REPO,
            sender=sender,
            label=name,
            api_url=self.double.url,
        )

    # -- running ------------------------------------------------------------------------------
    def run(
        self,
        *args: str,
        event: dict[str, Any] | None = None,
        event_name: str = "",
        env: dict[str, str] | None = None,
    ) -> Result:
        self._runs += 1
        work = self.root.parent / f"runner-{self.root.name}-{self._runs}"
        work.mkdir(parents=True, exist_ok=True)
        outputs, summary = work / "output", work / "summary"
        outputs.touch()
        summary.touch()
        environ = {
            "GITHUB_API_URL": self.double.url,
            "MLOPS_ACTIONS_WRITE_INTERVAL": "0",
            "GITHUB_TOKEN": TOKEN,
            "GITHUB_REPOSITORY": REPO,
            "GITHUB_WORKSPACE": str(self.root),
            "GITHUB_OUTPUT": str(outputs),
            "GITHUB_STEP_SUMMARY": str(summary),
            "GITHUB_SERVER_URL": "https://github.com",
            "GITHUB_RUN_ID": "4242",
            "GITHUB_SHA": "0" * 40,
            "PATH": "/usr/bin:/bin",
        }
        if event is not None:
            path = work / "event.json"
            path.write_text(json.dumps(event), encoding="utf-8")
            environ["GITHUB_EVENT_PATH"] = str(path)
            environ["GITHUB_EVENT_NAME"] = event_name
        environ.update(env or {})
        report_file = work / "report.json"
        buffer, log = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(log):
            code = cli.main(["label-dispatch", "--json", *args], env=environ)
        text = buffer.getvalue().strip()
        report_file.write_text(text, encoding="utf-8")
        report = json.loads(text) if text.startswith("{") else {}
        return Result(
            code,
            parse_outputs(outputs.read_text(encoding="utf-8")),
            summary.read_text(encoding="utf-8"),
            report,
            log.getvalue(),
        )

    # -- looking --------------------------------------------------------------------------------
    def comments(self, number: int) -> list[str]:
        return [c.body for c in self.repo.issue_comments(number)]

    def labels(self, number: int) -> list[str]:
        return self.repo.issue_labels(number)


def seeded_scenario(double: GitHubDouble, tmp_path: Path, config: str = CONFIG) -> Scenario:
    """The repository with its labels, a workspace at tmp_path/repo holding `config`."""
    root = tmp_path / "repo"
    root.mkdir()
    scenario = Scenario(double, root, config)
    scenario.seed_labels()
    return scenario


def requests_before_first_comment_write(double: GitHubDouble) -> int:
    """How many requests came before the first comment was created or edited."""
    for index, entry in enumerate(double.log.entries):
        creates = entry.method == "POST" and entry.path.endswith("/comments")
        edits = entry.method == "PATCH" and "/issues/comments/" in entry.path
        if creates or edits:
            return index
    return len(double.log.entries)


def sync_scenario(double: GitHubDouble, root: Path) -> Scenario:
    """100 configured labels against a repository where 5 calls bring it in line.

    95 labels match, 3 exist under an old name (renames), 1 has another color (update), 1 is
    missing (create); one unmanaged label is kept. The repository holds 100 labels.
    """
    labels = []
    for i in range(100):
        item = f'    - {{name: "area:{i:03d}", color: "{i:06x}"'
        if i in (95, 96, 97):
            item += f', aliases: ["old-{i}"]'
        labels.append(item + "}")
    config = "label-dispatch:\n  labels:\n" + "\n".join(labels) + "\n"
    scenario = Scenario(double, root, config)
    for i in range(100):
        if i in (95, 96, 97):
            scenario.state.add_label(REPO, f"old-{i}", color=f"{i:06x}")
        elif i == 98:
            scenario.state.add_label(REPO, f"area:{i:03d}", color="ffffff")
        elif i == 99:
            continue
        else:
            scenario.state.add_label(REPO, f"area:{i:03d}", color=f"{i:06x}")
    scenario.state.add_label(REPO, "wontfix")
    return scenario
