"""milestone-release: the pure parts (versions, tags, notes, decisions, pins, plan)."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from mlops_actions.config import parse_config
from mlops_actions.errors import ConfigError
from mlops_actions.milestone_release.model import Item, MilestoneInfo, Person, ReleaseInfo, TagRef
from mlops_actions.milestone_release.notes import build_notes, compare_url, contributors
from mlops_actions.milestone_release.pins_check import (
    DeclarationError,
    check_pins,
    declared_environment,
    version_matches,
)
from mlops_actions.milestone_release.plan import plan_milestones, progress, progress_markdown
from mlops_actions.milestone_release.release import (
    DesiredRelease,
    ReleaseRefused,
    has_marker,
    make_latest_for,
    open_items,
    plan_major_tag,
    plan_release,
    plan_tag,
    reopen_comment,
)
from mlops_actions.milestone_release.settings import (
    DEFAULT_CATEGORIES,
    Category,
    MilestoneSpec,
    settings_from_config,
)
from mlops_actions.milestone_release.version import (
    TitleError,
    check_template,
    major_tag_for,
    previous_tag,
    tag_for,
    version_from_title,
)
from mlops_actions.pins.model import Pin
from mlops_actions.pins.scan import scan_repo

# -- versions -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "text", "scheme", "prerelease", "major"),
    [
        ("v2.9.0", "2.9.0", "semver", False, 2),
        ("2.9.0rc1", "2.9.0rc1", "pep440", True, 2),
        ("v2.9.0-alpha.1", "2.9.0-alpha.1", "semver", True, 2),
        ("Release 2.10", "2.10", "pep440", False, 2),
        ("PyTorch stack V3.0.0.post1", "3.0.0.post1", "pep440", False, 3),
        ("v1.0", "1.0", "pep440", False, 1),
        ("v2.9.0-RC1", "2.9.0-RC1", "semver", True, 2),
        ("2.9.0.dev3", "2.9.0.dev3", "pep440", True, 2),
        ("v4.0.0+build.7", "4.0.0+build.7", "semver", False, 4),
    ],
)
def test_version_from_good_titles(
    title: str, text: str, scheme: str, prerelease: bool, major: int
) -> None:
    version = version_from_title(title)
    assert (version.text, version.scheme, version.prerelease, version.major) == (
        text,
        scheme,
        prerelease,
        major,
    )


@pytest.mark.parametrize("title", ["Backlog", "2.9.x", "v", "next release", "v2.9.0 (draft)", ""])
def test_bad_titles_give_one_line_naming_title_and_forms(title: str) -> None:
    with pytest.raises(TitleError) as caught:
        version_from_title(title)
    line = caught.value.one_line()
    assert "\n" not in line
    assert repr(title) in line
    assert "PEP 440 or SemVer" in line and "v2.9.0-alpha.1" in line and "2.9.0rc1" in line
    assert "version-pattern" in line


@pytest.mark.parametrize(
    "title",
    ["v2.9.0\r", "v2.9.0\r::error::forged", "v2.9.0\n", "v2.9.0\u2028", "v2.9.0\x1b[31m"],
)
def test_titles_with_control_characters_are_refused_before_use(title: str) -> None:
    with pytest.raises(TitleError) as caught:
        version_from_title(title)
    line = caught.value.one_line()
    assert "\r" not in line and "\n" not in line and "\u2028" not in line and "\x1b" not in line
    assert "control or invisible characters" in line


@pytest.mark.parametrize(
    "title",
    # Arabic-Indic, full-width and Thai digits, and one Arabic-Indic zero among ASCII ones.
    ["v\u0662.\u0669.\u0660", "v\uff12.\uff19.\uff10", "Release \u0e52.\u0e59", "v2.9.\u0660"],
)
def test_versions_in_other_digits_are_refused(title: str) -> None:
    with pytest.raises(TitleError, match="does not name a version"):
        version_from_title(title)
    with pytest.raises(TitleError):
        version_from_title(title, re.compile(r"(?P<version>\S+)$"))


def test_custom_pattern_reads_version_from_anywhere() -> None:
    pattern = re.compile(r"ships (?P<version>\S+)\)")
    assert version_from_title("Sprint 12 (ships v3.1.0)", pattern).text == "3.1.0"
    with pytest.raises(TitleError, match="pattern 'ships"):
        version_from_title("Sprint 12", pattern)


def test_tag_templates() -> None:
    version = version_from_title("v2.9.0")
    assert tag_for("v{version}", version) == "v2.9.0"
    assert tag_for("release-{version}", version) == "release-2.9.0"
    assert major_tag_for("v{version}", version) == "v2"
    assert check_template("v{version}") is None
    assert check_template("v") is not None
    assert check_template("{version}-{version}") is not None
    assert check_template("v{version}-{date}") is not None
    assert check_template("v {version}") is not None


def test_previous_tag_by_version_order() -> None:
    tags = ["v2.8.0", "v2.9.0rc1", "v2.7.5", "v2.10.0", "nightly", "v2.8.1", "other-2.8.9"]
    final = version_from_title("v2.9.0")
    # 2.8.1 beats 2.8.0 by version, though 2.8.0 is listed first; rc of the same release skipped.
    assert previous_tag("v{version}", tags, final) == "v2.8.1"
    assert previous_tag("v{version}", tags, version_from_title("2.9.0rc2")) == "v2.9.0rc1"
    assert previous_tag("v{version}", ["v3.0.0"], final) is None
    semver = ["v2.9.0-alpha.1", "v2.9.0-alpha.2", "v2.9.0-beta"]
    assert previous_tag("v{version}", semver, version_from_title("v2.9.0-beta.1")) == "v2.9.0-beta"
    assert previous_tag("v{version}", semver, version_from_title("v2.9.0-alpha.3")) == (
        "v2.9.0-alpha.2"
    )


# -- notes ----------------------------------------------------------------------------------------

MILESTONE = MilestoneInfo(3, "v2.9.0", "closed", url="https://github.com/o/r/milestone/3")


def pull(n: int, login: str, labels: tuple[str, ...] = (), *, merged: bool = True) -> Item:
    bot = login.endswith("[bot]") or login == "renovate-app"
    return Item(n, f"PR {n}", "pull", "closed", Person(login, bot), labels, merged=merged)


def issue(n: int, labels: tuple[str, ...] = (), *, reason: str | None = None) -> Item:
    return Item(n, f"Issue {n}", "issue", "closed", Person("reporter"), labels, state_reason=reason)


def test_notes_group_by_first_matching_category_with_exclusions_and_other() -> None:
    items = [
        pull(5, "alice", ("bug", "feature")),  # first category in config order wins: Features
        pull(4, "bob", ("BUG",)),  # labels compare without case
        issue(3, ("documentation",)),
        issue(2, ("question",)),
        pull(1, "carol", ("skip-changelog", "bug")),
        pull(6, "dave", ("bug",), merged=False),  # closed unmerged: not shipped
        issue(7, ("bug",), reason="not_planned"),
        Item(8, "Open one", "issue", "open", Person("x"), ("bug",)),
    ]
    notes = build_notes(
        MILESTONE,
        items,
        categories=DEFAULT_CATEGORIES,
        exclude_labels=("skip-changelog",),
        compare_url="https://github.com/o/r/compare/v2.8.0...v2.9.0",
    )
    titles = [(s.title, [i.number for i in s.items]) for s in notes.sections]
    assert titles == [("Features", [5]), ("Bug fixes", [4]), ("Documentation", [3]), ("Other", [2])]
    assert [i.number for i in notes.excluded] == [1]
    assert notes.contributors == ("alice", "bob")  # carol's PR is excluded
    md = notes.markdown
    assert md.index("### Features") < md.index("### Bug fixes") < md.index("### Other")
    assert "- PR 5 (#5) by @alice" in md
    assert "#6" not in md and "#7" not in md and "#8" not in md and "#1)" not in md
    assert "**Milestone:** [v2.9.0](https://github.com/o/r/milestone/3)" in md
    assert "**Full changelog:** https://github.com/o/r/compare/v2.8.0...v2.9.0" in md


def test_contributors_leave_out_bots_by_type_and_by_name() -> None:
    items = [
        pull(1, "dependabot[bot]"),
        pull(2, "renovate-app"),
        pull(3, "Zed"),
        pull(4, "amy"),
        pull(5, "amy"),
        issue(6),
    ]
    assert contributors(items) == ("amy", "Zed")


def test_notes_without_items_or_previous_tag() -> None:
    notes = build_notes(MILESTONE, [], categories=(), exclude_labels=())
    assert "No issues or pull requests" in notes.markdown
    assert "Full changelog" not in notes.markdown
    assert compare_url("https://github.com", "o/r", None, "v1") is None
    assert compare_url("https://ghe.example/", "o/r", "v0", "v1") == (
        "https://ghe.example/o/r/compare/v0...v1"
    )


def test_custom_categories_and_other_title() -> None:
    notes = build_notes(
        MILESTONE,
        [pull(1, "a", ("area:cuda",)), pull(2, "b")],
        categories=(Category("CUDA", ("area:cuda",)),),
        exclude_labels=(),
        other_title="Everything else",
    )
    assert [s.title for s in notes.sections] == ["CUDA", "Everything else"]


def test_titles_stay_on_one_line() -> None:
    item = Item(1, "Fix\n# not a heading", "issue", "closed", Person("a"))
    notes = build_notes(MILESTONE, [item], categories=(), exclude_labels=())
    assert "- Fix # not a heading (#1)" in notes.markdown


# -- decisions ------------------------------------------------------------------------------------

SHA_A = "a" * 40
SHA_B = "b" * 40


def test_plan_tag() -> None:
    assert plan_tag("v1", SHA_A, None).action == "create"
    assert plan_tag("v1", SHA_A, TagRef("v1", SHA_A)).action == "keep"
    with pytest.raises(ReleaseRefused) as caught:
        plan_tag("v1", SHA_A, TagRef("v1", SHA_B))
    assert SHA_A in caught.value.message and SHA_B in caught.value.message


def desired(**overrides: object) -> DesiredRelease:
    fields: dict[str, object] = {
        "tag": "v1.0.0",
        "name": "v1.0.0",
        "body": "notes\n",
        "draft": False,
        "prerelease": False,
        "make_latest": "true",
        "target": SHA_A,
    }
    fields.update(overrides)
    return DesiredRelease(**fields)  # type: ignore[arg-type]


def existing(**overrides: object) -> ReleaseInfo:
    fields: dict[str, object] = {
        "id": 7,
        "tag": "v1.0.0",
        "name": "v1.0.0",
        "body": "notes",
        "draft": False,
        "prerelease": False,
        "url": "u",
    }
    fields.update(overrides)
    return ReleaseInfo(**fields)  # type: ignore[arg-type]


def test_plan_release() -> None:
    created = plan_release(desired(), None)
    assert created.action == "create"
    assert created.fields["tag"] == "v1.0.0" and created.fields["target_commitish"] == SHA_A
    assert plan_release(desired(), existing()).action == "keep"
    changed = plan_release(desired(body="new"), existing())
    assert (changed.action, changed.changed) == ("update", ("message",))
    # Never un-publish; publish a draft when no draft is asked for.
    assert plan_release(desired(draft=True), existing()).action == "keep"
    assert plan_release(desired(), existing(draft=True)).changed == ("draft",)


def test_make_latest_false_for_prereleases() -> None:
    assert make_latest_for("true", prerelease=True) == "false"
    assert make_latest_for("legacy", prerelease=False) == "legacy"


def test_major_tag_plan() -> None:
    assert plan_major_tag("v2", SHA_A, None).action == "create"
    assert plan_major_tag("v2", SHA_A, TagRef("v2", SHA_A)).action == "keep"
    assert plan_major_tag("v2", SHA_A, TagRef("v2", SHA_B)).action == "move"


def test_reopen_comment_carries_marker_and_list() -> None:
    pending = open_items(
        [Item(n, "t", "issue", "open", Person("a")) for n in range(30, 0, -1)]
        + [Item(99, "done", "issue", "closed", Person("a"))]
    )
    assert [i.number for i in pending][:3] == [1, 2, 3] and len(pending) == 30
    body = reopen_comment(4, "v1", pending, pending[0])
    assert has_marker([body], 4) and not has_marker([body], 5)
    assert "#1, #2" in body and "and 10 more" in body


# -- pins -----------------------------------------------------------------------------------------

DESCRIPTION = """Ships the 2.9 stack.

- image: `pytorch/pytorch:2.9.0-cuda12.8-cudnn9-runtime`
"""


def test_declared_environment_decodes_the_image() -> None:
    declared = {d.component: d.value for d in declared_environment(DESCRIPTION)}
    assert declared == {
        "image": "pytorch/pytorch:2.9.0-cuda12.8-cudnn9-runtime",
        "torch": "2.9.0",
        "cuda": "12.8",
        "cudnn": "9",
    }
    assert declared_environment("No environment here.\nimage is nice") == ()
    explicit = declared_environment("torch: 2.9\n**cuda**: 12.8")
    assert [(d.component, d.value, d.line) for d in explicit] == [
        ("torch", "2.9", 1),
        ("cuda", "12.8", 2),
    ]


def test_declared_environment_refuses_contradictions() -> None:
    with pytest.raises(DeclarationError, match=r"declares torch '2\.8\.0'"):
        declared_environment(DESCRIPTION + "torch: 2.8.0\n")
    with pytest.raises(DeclarationError, match="not a version"):
        declared_environment("cuda: twelve")
    with pytest.raises(DeclarationError, match="twice"):
        declared_environment("torch: 2.8\ntorch: 2.9")


def test_version_matches() -> None:
    assert version_matches("2.9", "2.9.1")
    assert version_matches("2.9.0", "2.9.0+cu128")
    assert version_matches("12.8", "12.8.1")
    assert version_matches("9", "9.1.0.70")
    assert not version_matches("2.9.0", "2.8.0")
    assert not version_matches("12.8", "12.6")
    assert not version_matches("2.9.0rc1", "2.9.0")


def _pin(component: str, value: str, how: str = "exact", line: int = 1) -> Pin:
    return Pin("Dockerfile", line, 1, component, value, how, "dockerfile")  # type: ignore[arg-type]


def test_check_pins_reports_each_disagreement_at_its_line() -> None:
    declared = declared_environment("torch: 2.9.0\ncuda: 12.8")
    pins = [
        _pin("torch", "2.9.0+cu128", line=3),
        _pin("torch", ">=2.1,<3", "range", line=4),
        _pin("torch", "2.8.0", line=5),
        _pin("torch", ">=2.10", "range", line=6),
        _pin("torch", "", "unpinned", line=7),
    ]
    findings = check_pins(declared, pins)
    assert [(f.component, f.line) for f in findings] == [
        ("torch", 5),
        ("torch", 6),
        ("torch", 7),
        ("cuda", None),
    ]
    assert "pins 2.8.0" in findings[0].message
    assert "pins no cuda" in findings[3].message


def test_pins_check_against_a_scanned_repository(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text(
        "FROM pytorch/pytorch:2.8.0-cuda12.6-cudnn9-runtime\nRUN pip install -r requirements.txt\n"
    )
    (tmp_path / "requirements.txt").write_text("torch==2.8.0\n")
    declared = declared_environment(DESCRIPTION)
    findings = check_pins(declared, scan_repo(tmp_path).pins)
    files = {(f.component, f.file, f.line) for f in findings}
    assert ("image", "Dockerfile", 1) in files
    assert ("torch", "requirements.txt", 1) in files
    (tmp_path / "Dockerfile").write_text(
        "FROM pytorch/pytorch:2.9.0-cuda12.8-cudnn9-runtime\nRUN pip install -r requirements.txt\n"
    )
    (tmp_path / "requirements.txt").write_text("torch==2.9.0\n")
    assert check_pins(declared, scan_repo(tmp_path).pins) == ()


# -- plan -----------------------------------------------------------------------------------------


def ms(number: int, title: str, **kw: object) -> MilestoneInfo:
    return MilestoneInfo(number, title, **kw)  # type: ignore[arg-type]


def test_plan_creates_missing_updates_changed_and_never_deletes_unasked() -> None:
    specs = [
        MilestoneSpec("v3.0.0", description="Next", due_on="2030-01-31"),
        MilestoneSpec("v2.9.0", description="Now", state="closed"),
        MilestoneSpec("v2.8.0"),  # nothing declared: nothing to change
        MilestoneSpec("v2.7.0", description=""),
    ]
    existing = [
        ms(1, "v2.9.0", state="open", description="Now", due_on="2029-01-01"),
        ms(2, "v2.8.0", state="closed", description="old"),
        ms(3, "Backlog", state="open"),
        ms(4, "v2.7.0", state="closed", description=""),
    ]
    changes = plan_milestones(specs, existing)
    assert [(c.action, c.title, c.number, c.fields) for c in changes] == [
        (
            "create",
            "v3.0.0",
            None,
            {"title": "v3.0.0", "description": "Next", "due_on": "2030-01-31"},
        ),
        ("update", "v2.9.0", 1, {"state": "closed"}),
    ]
    deleting = plan_milestones(specs, existing, delete_unlisted=True)
    assert [(c.action, c.title) for c in deleting if c.action == "delete"] == [
        ("delete", "Backlog")
    ]


def test_progress_rows() -> None:
    rows = progress(
        [
            ms(1, "late", state="open", due_on="2024-01-01", open_issues=1, closed_issues=2),
            ms(2, "undated", state="open", open_issues=0, closed_issues=0),
            ms(3, "done", state="closed", open_issues=0, closed_issues=9),
            ms(4, "soon", state="open", due_on="2024-06-01", open_issues=0, closed_issues=5),
        ],
        today=date(2024, 3, 1),
    )
    assert [(r.title, r.closed, r.total, r.percent, r.overdue) for r in rows] == [
        ("late", 2, 3, 66, True),
        ("soon", 5, 5, 100, False),
        ("undated", 0, 0, 0, False),
    ]
    table = progress_markdown(rows)
    assert "| late | 2/3 | 66% | 2024-01-01 | :warning: overdue |" in table
    assert progress_markdown(()).endswith("No open milestones.")


# -- settings -------------------------------------------------------------------------------------


def test_settings_defaults_and_values() -> None:
    config = parse_config(
        "milestone-release:\n"
        "  tag-template: 'release-{version}'\n"
        "  open-items: warn\n"
        "  categories:\n"
        "    - {title: CUDA, labels: [area:cuda]}\n"
        "  milestones:\n"
        "    - {title: v3.0.0, due-on: '2030-01-31', state: open}\n",
        ".github/mlops.yml",
    )
    settings = settings_from_config(config)
    assert settings.tag_template == "release-{version}"
    assert settings.open_items == "warn"
    assert settings.categories == (Category("CUDA", ("area:cuda",)),)
    assert settings.milestones == (MilestoneSpec("v3.0.0", None, "2030-01-31", "open"),)
    assert settings_from_config(parse_config("", "x.yml")).tag_template == "v{version}"


@pytest.mark.parametrize(
    ("body", "line", "needle"),
    [
        ("  version-pattern: '(unclosed'\n", 2, "not a regular expression"),
        ("  version-pattern: 'v(\\d+)'\n", 2, "no named group `version`"),
        ("  tag-template: 'v'\n", 2, "exactly once"),
        (
            "  milestones:\n    - title: a\n    - title: a\n",
            4,
            "listed twice",
        ),
        ("  milestones:\n    - title: a\n      due-on: '2030-02-30'\n", 4, "is not a date"),
    ],
)
def test_settings_errors_name_file_and_line(body: str, line: int, needle: str) -> None:
    config = parse_config("milestone-release:\n" + body, ".github/mlops.yml")
    with pytest.raises(ConfigError) as caught:
        settings_from_config(config)
    assert caught.value.file == ".github/mlops.yml"
    assert caught.value.line == line
    assert needle in caught.value.message
