"""This project's own release notes, made by its own milestone-release action.

The API double holds this repository with a milestone `v1.0.0` whose merged pull requests are
the entries of CHANGELOG.md's newest section, labelled by the section they are in. Closing the
milestone and running milestone-release with this repository's `.github/mlops.yml` must give
notes in the changelog's sections, each entry under its own heading. The notes are printed
(`pytest -s tests/test_release_notes_self.py` shows them) and written to the step summary.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import yaml

from tests.support.github_double import GitHubDouble
from tests.support.milestones import milestone_event, run_release

ROOT = Path(__file__).resolve().parent.parent
REPO = "mlops-actions/mlops-actions"


def newest_changelog_section() -> tuple[str, dict[str, list[str]]]:
    """The version of CHANGELOG.md's first release section and its entries by heading."""
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    match = re.search(
        r"^## \[(?P<version>[^\]]+)\][^\n]*\n(?P<body>.*?)(?=^## |\Z)", text, re.S | re.M
    )
    assert match, "CHANGELOG.md has no release section"
    entries: dict[str, list[str]] = {}
    heading = ""
    for line in match.group("body").splitlines():
        if line.startswith("### "):
            heading = line[4:].strip()
            entries[heading] = []
        elif line.startswith("- ") and heading:
            entries[heading].append(line[2:].strip())
    return match.group("version"), entries


def _label_for(config: dict[str, object]) -> dict[str, str]:
    section = config["milestone-release"]
    assert isinstance(section, dict)
    return {str(c["title"]): str(c["labels"][0]) for c in section["categories"]}


def test_this_projects_release_notes_follow_its_changelog(
    github_double: GitHubDouble, tmp_path: Path
) -> None:
    version, entries = newest_changelog_section()
    config_file = ROOT / ".github" / "mlops.yml"
    labels = _label_for(yaml.safe_load(config_file.read_text(encoding="utf-8")))
    assert set(entries) <= set(labels), "every changelog heading is a release-notes category"

    state = github_double.state
    repo = state.add_repo(REPO, files={"README.md": "mlops-actions\n"})
    milestone = state.add_milestone(repo, f"v{version}")
    expected: dict[str, list[int]] = {}
    for heading, bullets in entries.items():
        for bullet in bullets:
            pull = state.add_pull(
                repo,
                bullet,
                head=f"change-{len(repo.issues)}",
                merged=True,
                user="mlops-dev",
                labels=[labels[heading]],
                milestone=milestone.number,
            )
            expected.setdefault(heading, []).append(pull.number)
    milestone.state = "closed"

    workspace = tmp_path / "workspace"
    (workspace / ".github").mkdir(parents=True)
    shutil.copy(config_file, workspace / ".github" / "mlops.yml")
    result = run_release(
        github_double,
        workspace,
        event=milestone_event(github_double, milestone.number, repo=REPO),
        repo=REPO,
    )
    assert result.code == 0, result.stdout + result.stderr
    notes = result.outputs["notes"]
    print(f"\n--- release notes of {REPO} v{version} ---\n{notes}")

    release = state.repo(REPO).release_by_tag(f"v{version}")
    assert release is not None and release.body == notes
    assert notes in result.summary
    headings = re.findall(r"^### (.+)$", notes, re.M)
    assert headings == [*entries, "Contributors"]  # the changelog's order, nothing else
    for heading, numbers in expected.items():
        section = notes.split(f"### {heading}\n", 1)[1].split("\n### ", 1)[0]
        assert re.findall(r"\(#(\d+)\)", section) == [str(n) for n in numbers], heading
    assert "Other" not in headings
