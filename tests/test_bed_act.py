"""The act harness against real act runs: a composite action on the host, a Docker action in the
local job container, expected failures, and a parser check on a recorded log shape."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.support.act import BASE_IMAGE, ActError, ActRun, parse_act_log
from tests.support.act_fixtures import ActRunner
from tests.support.repos import commit_all

GREET_ACTION = """\
name: greet
description: Greets someone.
inputs:
  who:
    description: Who to greet.
    default: "world"
outputs:
  greeting:
    description: The greeting.
    value: ${{ steps.say.outputs.greeting }}
runs:
  using: composite
  steps:
    - id: say
      shell: bash
      env:
        WHO: ${{ inputs.who }}
      run: echo "greeting=hello $WHO" >> "$GITHUB_OUTPUT"
"""

FAIL_ACTION = """\
name: fail
description: Always fails, with an annotation.
runs:
  using: composite
  steps:
    - id: boom
      shell: bash
      run: |
        echo "::error file=src/app.py,line=7,title=Broken::nothing works"
        # act (0.2.89) on a host runner sometimes loses the output of a step that ends within
        # a few milliseconds of starting (seen on fresh clones): give its reader a moment.
        sleep 0.5
        exit 3
"""

SELF_TEST = """\
name: self-test
on: push
jobs:
  greet:
    runs-on: ubuntu-latest
    outputs:
      greeting: ${{ steps.g.outputs.greeting }}
    steps:
      - uses: actions/checkout@v4
      - id: g
        uses: ./greet
        with:
          who: bed
      - id: check
        env:
          GOT: ${{ steps.g.outputs.greeting }}
        run: |
          test "$GOT" = "hello bed"
          echo "seen=$GOT" >> "$GITHUB_OUTPUT"
          echo "### Checked: $GOT" >> "$GITHUB_STEP_SUMMARY"
  expect-failure:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - id: x
        continue-on-error: true
        uses: ./fail
      - id: verdict
        env:
          OUTCOME: ${{ steps.x.outcome }}
          CONCLUSION: ${{ steps.x.conclusion }}
        run: |
          test "$OUTCOME" = failure
          test "$CONCLUSION" = success
          echo "outcome=$OUTCOME" >> "$GITHUB_OUTPUT"
  aggregate:
    needs: [greet, expect-failure]
    if: always()
    runs-on: ubuntu-latest
    steps:
      - id: all
        env:
          RESULTS: ${{ needs.greet.result }} ${{ needs.expect-failure.result }}
          GREETING: ${{ needs.greet.outputs.greeting }}
        run: |
          test "$RESULTS" = "success success"
          echo "greeting=$GREETING" >> "$GITHUB_OUTPUT"
"""

BROKEN = """\
name: broken
on: push
jobs:
  fails:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - id: x
        uses: ./fail
  after:
    needs: fails
    runs-on: ubuntu-latest
    steps:
      - run: echo never
"""

DOCKER_ACTION = """\
name: echo-docker
description: Echoes a word from a container.
inputs:
  word:
    description: The word.
    default: "nothing"
outputs:
  echoed:
    description: The word and the container's Python version.
runs:
  using: docker
  image: Dockerfile
  args:
    - ${{ inputs.word }}
"""

DOCKERFILE = """\
FROM python:3.12-slim
COPY entry.py /entry.py
ENTRYPOINT ["python3", "/entry.py"]
"""

ENTRY = """\
import os
import sys
import urllib.request

version = "%d.%d" % sys.version_info[:2]
with urllib.request.urlopen(os.environ["GITHUB_API_URL"] + "/zen", timeout=10) as answer:
    zen = answer.read().decode()
with open(os.environ["GITHUB_OUTPUT"], "a", encoding="utf-8") as out:
    out.write(f"echoed={sys.argv[1]}@{version}\\n")
    out.write(f"zen={zen}\\n")
print("workspace has", sorted(os.listdir(os.environ["GITHUB_WORKSPACE"])))
"""

DOCKER_WORKFLOW = """\
name: docker-self-test
on: push
jobs:
  docker:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - id: d
        uses: ./echo-docker
        with:
          word: ping
      - id: check
        env:
          GOT: ${{ steps.d.outputs.echoed }}
        run: |
          case "$GOT" in ping@3.*) ;; *) echo "unexpected: $GOT"; exit 1 ;; esac
          echo "python=$(python3 -c 'import sys; print(sys.version_info[1])')" >> "$GITHUB_OUTPUT"
"""


def make_repo(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    commit_all(root)
    return root


def push_event(tmp_path: Path) -> Path:
    event = tmp_path / "push.json"
    event.write_text(json.dumps({"ref": "refs/heads/main", "before": "0" * 40}), encoding="utf-8")
    return event


@pytest.fixture
def composite_repo(tmp_path: Path) -> Path:
    return make_repo(
        tmp_path / "repo",
        {
            "greet/action.yml": GREET_ACTION,
            "fail/action.yml": FAIL_ACTION,
            ".github/workflows/self-test.yml": SELF_TEST,
            ".github/workflows/broken.yml": BROKEN,
        },
    )


def test_composite_actions_on_host(
    act_runner: ActRunner, composite_repo: Path, tmp_path: Path
) -> None:
    run = act_runner.run(
        composite_repo, ".github/workflows/self-test.yml", "push", push_event(tmp_path)
    )
    assert run.succeeded, run.explain()
    assert {job.job_id: job.result for job in run.jobs} == {
        "greet": "success",
        "expect-failure": "success",
        "aggregate": "success",
    }
    greet = run.job("greet")
    assert greet.step("g").outputs == {"greeting": "hello bed"}
    assert greet.step(("g", "say")).result == "success"
    assert greet.step("check").outputs == {"seen": "hello bed"}
    assert greet.step("check").summary == "### Checked: hello bed\n"

    failing = run.job("expect-failure")
    assert failing.step("x").result == "failure"
    assert failing.step(("x", "boom")).result == "failure"
    assert failing.step("verdict").outputs == {"outcome": "failure"}
    [annotation] = failing.annotations
    assert annotation.level == "error"
    assert annotation.message == "nothing works"
    assert annotation.properties == {"file": "src/app.py", "line": "7", "title": "Broken"}
    assert annotation.step_id == ("x", "boom")

    assert run.step("aggregate", "all").outputs == {"greeting": "hello bed"}


def test_failed_job_is_reported_and_its_dependents_do_not_run(
    act_runner: ActRunner, composite_repo: Path, tmp_path: Path
) -> None:
    run = act_runner.run(
        composite_repo, ".github/workflows/broken.yml", "push", push_event(tmp_path)
    )
    assert run.returncode != 0, run.explain()
    assert run.job("fails").result == "failure"
    assert run.step("fails", "x").result == "failure"
    assert not run.ran("after")
    with pytest.raises(LookupError, match="ran no job 'after'"):
        run.job("after")


def test_env_and_secrets_reach_the_job(act_runner: ActRunner, tmp_path: Path) -> None:
    workflow = """\
name: env
on: push
jobs:
  show:
    runs-on: ubuntu-latest
    steps:
      - id: s
        env:
          TOKEN: ${{ secrets.API_TOKEN }}
        run: |
          echo "api=$GITHUB_API_URL" >> "$GITHUB_OUTPUT"
          echo "token_length=${#TOKEN}" >> "$GITHUB_OUTPUT"
          echo "token is $TOKEN"
"""
    repo = make_repo(tmp_path / "repo", {".github/workflows/env.yml": workflow})
    run = act_runner.run(
        repo,
        ".github/workflows/env.yml",
        "push",
        push_event(tmp_path),
        env={"GITHUB_API_URL": "http://127.0.0.1:9/api/v3"},
        secrets={"API_TOKEN": "s3cr3t-value"},
    )
    assert run.succeeded, run.explain()
    step = run.step("show", "s")
    assert step.outputs == {"api": "http://127.0.0.1:9/api/v3", "token_length": "12"}
    assert "token is ***" in step.output
    assert "s3cr3t-value" not in run.log


def _act_containers() -> list[str]:
    done = subprocess.run(
        ["docker", "ps", "-a", "--filter", f"ancestor={BASE_IMAGE}", "--format", "{{.Names}}"],
        capture_output=True,
        text=True,
        check=True,
    )
    return [name for name in done.stdout.split() if name.startswith("act-")]


@pytest.fixture
def loopback_api() -> Iterator[tuple[str, list[str]]]:
    """A one-route HTTP server on 127.0.0.1 standing in for an API the action calls."""
    seen: list[str] = []

    class Zen(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            body = b"keep it logically awesome"
            self.send_response(200 if self.path == "/api/v3/zen" else 404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Zen)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/api/v3", seen
    finally:
        server.shutdown()
        server.server_close()


def test_docker_action_in_local_job_container(
    act_runner: ActRunner,
    base_image: str,
    loopback_api: tuple[str, list[str]],
    tmp_path: Path,
) -> None:
    api_url, seen = loopback_api
    repo = make_repo(
        tmp_path / "repo",
        {
            "echo-docker/action.yml": DOCKER_ACTION,
            "echo-docker/Dockerfile": DOCKERFILE,
            "echo-docker/entry.py": ENTRY,
            ".github/workflows/docker.yml": DOCKER_WORKFLOW,
        },
    )
    base_python = subprocess.run(
        [
            "docker",
            "run",
            "--rm",
            base_image,
            "python3",
            "-c",
            "import sys; print(sys.version_info[1])",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # Twice: a second run must find nothing left over from the first.
    for attempt in (1, 2):
        run = act_runner.run(
            repo,
            ".github/workflows/docker.yml",
            "push",
            push_event(tmp_path),
            platform="container",
            env={"GITHUB_API_URL": api_url},
        )
        assert run.succeeded, run.explain()
        job = run.job("docker")
        assert job.result == "success"
        assert job.step("d").outputs == {
            "echoed": f"ping@3.{base_python}",
            "zen": "keep it logically awesome",
        }
        assert "workspace has ['.git', '.github', 'echo-docker']" in job.step("d").output
        assert job.step("check").outputs == {"python": base_python}
        assert seen == ["/api/v3/zen"] * attempt
        assert _act_containers() == []


def test_run_past_its_timeout_raises_and_leaves_no_container(
    act_runner: ActRunner, base_image: str, tmp_path: Path
) -> None:
    workflow = """\
name: sleepy
on: push
jobs:
  nap:
    runs-on: ubuntu-latest
    steps:
      - run: sleep 300
"""
    repo = make_repo(tmp_path / "repo", {".github/workflows/sleepy.yml": workflow})
    with pytest.raises(ActError, match="did not finish within 5s"):
        act_runner.run(repo, ".github/workflows/sleepy.yml", platform="container", timeout=5)
    assert _act_containers() == []
    volumes = subprocess.run(
        ["docker", "volume", "ls", "-q"], capture_output=True, text=True, check=True
    ).stdout.split()
    assert [v for v in volumes if v.startswith("act-sleepy")] == []


def test_parser_reads_steps_outputs_and_matrix_jobs() -> None:
    def line(**fields: object) -> str:
        return json.dumps({"level": "info", "dryrun": False, **fields})

    a = {"job": "w.yml/build-1", "jobID": "build", "matrix": {"py": "3.10"}}
    b = {"job": "w.yml/build-2", "jobID": "build", "matrix": {"py": "3.11"}}
    text = "\n".join(
        [
            line(msg="Using docker host"),
            line(**a, msg="⭐ Run Main x", stage="Main", step="x", stepID=["x"]),
            line(**a, msg="hi\n", raw_output=True, stage="Main", step="x", stepID=["x"]),
            line(
                **a,
                msg="::set-output:: k=v",
                command="set-output",
                name="k",
                arg="v",
                stage="Main",
                step="x",
                stepID=["x"],
            ),
            line(**a, msg="ok", stepResult="success", stage="Main", step="x", stepID=["x"]),
            line(**b, msg="fail", stepResult="failure", stage="Main", step="x", stepID=["x"]),
            line(**a, msg="🏁  Job succeeded", jobResult="success"),
            line(**b, msg="🏁  Job failed", jobResult="failure"),
            "Error: Job 'build' failed",
        ]
    )
    run = ActRun(1, text, parse_act_log(text), ["act"], 0.0)
    first = run.job("build", matrix={"py": "3.10"})
    assert (first.result, first.step("x").result) == ("success", "success")
    assert first.step("x").outputs == {"k": "v"}
    assert first.step("x").output == "hi\n"
    assert run.job("build", matrix={"py": "3.11"}).result == "failure"
    with pytest.raises(LookupError, match="matrix"):
        run.job("build")
    assert "[w.yml/build-1]   | hi" in run.readable()
