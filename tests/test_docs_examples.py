"""Every YAML workflow example in README.md and docs/ is safe to copy as written.

Each fenced ```yaml block is one example, read as YAML and sorted by what it is:

- a workflow (a mapping with `jobs`) is checked exactly as written: it must carry everything a
  workflow needs, `permissions: {}` at the top included;
- a fragment of steps (a list of mappings with `uses` or `run`, often indented as it sits under
  `steps:`) is dedented and placed as the steps of one job in a minimal workflow with
  `permissions: {}`; that wrapper adds nothing the steps could lean on;
- a config file (`.github/mlops.yml`: a mapping of config sections) is validated against the
  published config schema instead;
- a pre-commit config (a mapping with `repos`) must name hooks that `.pre-commit-hooks.yaml`
  defines;
- anything else fails, so a new kind of example is a decision, not a silent skip.

The workflows are then checked by zizmor (the default persona, offline, no config file) and by
GitHub's workflow schema (check-jsonschema `vendor.github-workflows`), plus the rules zizmor
leaves to us: every action pinned by a full commit SHA with its version in a comment, and no
`${{ }}` inside `run:`.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
YAML_BLOCK = re.compile(r"^```ya?ml[ \t]*\n(.*?)^```[ \t]*$", re.S | re.M)
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+(\.\d+)*$")
STEPS_WRAPPER = """\
on: workflow_dispatch
permissions: {}
jobs:
  example:
    runs-on: ubuntu-latest
    steps:
"""


@dataclass(frozen=True)
class Example:
    where: str  # file:line of the block
    text: str
    kind: str  # workflow, steps, config

    def workflow_text(self) -> str:
        if self.kind == "steps":
            return STEPS_WRAPPER + textwrap.indent(textwrap.dedent(self.text), " " * 6)
        return self.text


def _config_sections() -> set[str]:
    schema = json.loads((ROOT / "docs" / "mlops.schema.json").read_text(encoding="utf-8"))
    return set(schema["properties"])


def _kind(data: Any, sections: set[str]) -> str:
    if data is None:  # comments only: the config file's schema line
        return "config"
    if isinstance(data, dict) and "jobs" in data:
        return "workflow"
    if (
        isinstance(data, list)
        and data
        and all(isinstance(s, dict) and ("uses" in s or "run" in s) for s in data)
    ):
        return "steps"
    if isinstance(data, dict) and data and set(data) <= sections:
        return "config"
    if isinstance(data, dict) and set(data) == {"repos"}:
        return "pre-commit"
    return "unknown"


def examples() -> list[Example]:
    sections = _config_sections()
    found = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for block in YAML_BLOCK.finditer(text):
            line = text.count("\n", 0, block.start()) + 1
            body = block.group(1)
            data = yaml.safe_load(textwrap.dedent(body))
            where = f"{path.relative_to(ROOT).as_posix()}:{line}"
            found.append(Example(where, body, _kind(data, sections)))
    return found


EXAMPLES = examples()
WORKFLOWS = [e for e in EXAMPLES if e.kind in ("workflow", "steps")]


def test_every_block_is_a_known_kind() -> None:
    assert len(WORKFLOWS) >= 10
    assert [e.where for e in EXAMPLES if e.kind == "unknown"] == []


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("examples") / ".github" / "workflows"
    folder.mkdir(parents=True)
    files = {}
    for number, example in enumerate(WORKFLOWS):
        path = folder / f"example-{number:02d}.yml"
        path.write_text(example.workflow_text(), encoding="utf-8")
        files[example.where] = path
    return files


def _given_path(location: dict[str, Any]) -> str:
    local = location["symbolic"]["key"]["Local"]
    return str(local.get("given_path") or local.get("verbatim_path"))


def test_examples_are_zizmor_clean(written: dict[str, Path]) -> None:
    result = subprocess.run(
        [
            str(BIN / "zizmor"),
            "--offline",
            "--no-config",
            "--format",
            "json",
            *map(str, written.values()),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode in (0, 10, 11, 12, 13, 14), result.stderr
    by_file = {str(p): w for w, p in written.items()}
    findings = [
        f"{by_file.get(_given_path(loc), '?')}: {f['ident']}"
        for f in json.loads(result.stdout or "[]")
        for loc in f["locations"][:1]
    ]
    assert findings == []
    assert result.returncode == 0, result.stdout[-2000:]


def test_examples_match_the_workflow_schema(written: dict[str, Path]) -> None:
    result = subprocess.run(
        [
            str(BIN / "check-jsonschema"),
            "--builtin-schema",
            "vendor.github-workflows",
            *map(str, written.values()),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _steps(data: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (job_id, step)
        for job_id, job in (data.get("jobs") or {}).items()
        for step in job.get("steps") or []
    ]


@pytest.mark.parametrize("example", WORKFLOWS, ids=lambda e: e.where)
def test_example_pins_actions_and_keeps_expressions_out_of_run(example: Example) -> None:
    data = yaml.safe_load(example.workflow_text())
    assert data.get("permissions") == {}, "permissions: {} at the top, grants per job"
    # The version comment is not YAML data: read each `uses:` line as written.
    for line in example.workflow_text().splitlines():
        match = re.match(r"^\s*(?:- )?uses: (.+)$", line)
        if match and not match.group(1).startswith(("./", "docker://")):
            assert PINNED.match(match.group(1)), f"{example.where}: {match.group(1)}"
    for job_id, job in data["jobs"].items():
        if "uses" in job:  # a reusable workflow call
            assert isinstance(job.get("permissions"), dict), f"{example.where}: {job_id}"
    for _job, step in _steps(data):
        assert "${{" not in str(step.get("run", "")), f"{example.where}: ${{{{ }}}} in run:"
        if str(step.get("uses", "")).startswith("actions/checkout@"):
            assert (step.get("with") or {}).get("persist-credentials") is False, example.where


def test_our_actions_are_pinned_to_one_release_everywhere() -> None:
    """One SHA and one version for every reference to this repository's actions, so a release
    updates the docs with one replacement (see docs/adding-an-action.md)."""
    refs = set(
        re.findall(
            r"mlops-actions/mlops-actions(?:/[\w./-]+)?@([0-9a-f]{40}) # (v[\d.]+)",
            "\n".join(e.text for e in EXAMPLES),
        )
    )
    assert len(refs) == 1, refs


@pytest.mark.parametrize("example", [e for e in EXAMPLES if e.kind == "config"], ids=str)
def test_config_examples_match_the_config_schema(example: Example) -> None:
    schema = json.loads((ROOT / "docs" / "mlops.schema.json").read_text(encoding="utf-8"))
    data = {"version": 1, **(yaml.safe_load(textwrap.dedent(example.text)) or {})}
    jsonschema.validate(data, schema)


@pytest.mark.parametrize("example", [e for e in EXAMPLES if e.kind == "pre-commit"], ids=str)
def test_pre_commit_examples_name_our_hooks(example: Example) -> None:
    ours = {h["id"] for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    [repo] = yaml.safe_load(textwrap.dedent(example.text))["repos"]
    assert repo["repo"] == "https://github.com/mlops-actions/mlops-actions"
    assert {h["id"] for h in repo["hooks"]} <= ours


def test_a_bad_example_is_caught(tmp_path: Path) -> None:
    """The checks can fail: the README's old env-verify example (tag pin, no permissions)."""
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - uses: actions/checkout@v5\n      - run: echo ${{ github.event.head_commit.message }}\n",
        encoding="utf-8",
    )
    result = subprocess.run(
        [str(BIN / "zizmor"), "--offline", "--no-config", "--format", "json", str(bad)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    idents = {f["ident"] for f in json.loads(result.stdout)}
    assert {"unpinned-uses", "template-injection", "excessive-permissions"} <= idents


def test_pin_docs_moves_yaml_examples_and_leaves_prose() -> None:
    sys.path.insert(0, str(ROOT / "tools"))
    import pin_docs

    text = (
        "Use `mlops-actions/mlops-actions/env-verify@v1`.\n\n```yaml\n"
        "      - uses: mlops-actions/mlops-actions/env-verify@v1\n```\n"
    )
    sha = "a" * 40
    moved = pin_docs.rewrite(text, sha, "v1.2.3")
    assert f"env-verify@{sha} # v1.2.3\n```" in moved
    assert moved.startswith("Use `mlops-actions/mlops-actions/env-verify@v1`.")
    assert pin_docs.rewrite(moved, sha, "v1.2.3") == moved
    # The docs themselves are already at one release.
    [(current_sha, version)] = pin_docs.pins()
    for path in pin_docs.docs():
        text = path.read_text(encoding="utf-8")
        assert pin_docs.rewrite(text, current_sha, version) == text, path
