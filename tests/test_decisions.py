"""Decisions the rest of the suite left unpinned, each written to fail when the decision flips:
an internal error exits 70 in one line, an existing release's prerelease flag is updated, VG003
checks that ranges contain the pinned version, and Dockerfile stages inherit ENV but not ARG."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from mlops_actions import cli
from mlops_actions.command import Command, Context, Outcome
from mlops_actions.errors import ExitCode
from mlops_actions.milestone_release.model import Item, Person, ReleaseInfo, TagRef
from mlops_actions.milestone_release.release import (
    DesiredRelease,
    MajorTagPlan,
    ReleasePlan,
    ReleaseRefused,
    TagPlan,
    gate_error,
    item_list,
    open_items,
    plan_major_tag,
    plan_release,
    plan_tag,
    reopen_comment,
)
from mlops_actions.pins import environments, scan_repo
from mlops_actions.pins.dockerfile import scan_dockerfile
from mlops_actions.version_guard.rules import Settings, evaluate

SHA = "a" * 40


# -- exit codes ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class BrokenInputs:
    what: str = field(default="", metadata={"help": "unused"})


def _broken(inputs: BrokenInputs, ctx: Context) -> Outcome:
    raise KeyError("a bug")  # what no ActionError explains


COMMAND = Command(name="broken", summary="Raises a bug.", inputs=BrokenInputs, run=_broken)


def test_an_internal_error_exits_70_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setitem(cli.COMMAND_MODULES, "broken", __name__)
    env = {
        "PATH": "/usr/bin:/bin",
        "GITHUB_ACTIONS": "true",
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary"),
    }

    code = cli.main(["broken"], env)

    out = capsys.readouterr()
    assert code == ExitCode.INTERNAL == 70
    text = out.out + out.err
    [line] = [x for x in text.splitlines() if "internal error" in x]
    assert line.startswith("::error") and "KeyError" in line and "--debug" in line
    assert "Traceback" not in text
    assert cli.main(["broken"], {**env, "RUNNER_DEBUG": "1"}) == 70
    assert "Traceback" in capsys.readouterr().err


# -- release ------------------------------------------------------------------------------------


def release(prerelease: bool, draft: bool = False) -> ReleaseInfo:
    return ReleaseInfo(7, "v1.0.0", "v1.0.0", "notes", draft, prerelease, "u")


def wanted(prerelease: bool) -> DesiredRelease:
    return DesiredRelease("v1.0.0", "v1.0.0", "notes", False, prerelease, "true", SHA)


def test_an_existing_releases_prerelease_flag_is_brought_in_line() -> None:
    promoted = plan_release(wanted(prerelease=False), release(prerelease=True))
    assert (promoted.action, promoted.changed) == ("update", ("prerelease",))
    assert promoted.fields["prerelease"] is False
    demoted = plan_release(wanted(prerelease=True), release(prerelease=False))
    assert demoted.fields["prerelease"] is True
    assert plan_release(wanted(prerelease=True), release(prerelease=True)).action == "keep"


# -- version-guard: VG003 ranges ----------------------------------------------------------------


def vg003(tmp_path: Path, requirement: str) -> set[tuple[str | None, int | None]]:
    tmp_path.mkdir()
    (tmp_path / "Dockerfile").write_text(
        "FROM pytorch/pytorch:2.4.1-cuda12.1-cudnn9-runtime\n"
        "COPY requirements.txt /app/requirements.txt\n"
        "RUN pip install -r /app/requirements.txt\n",
        encoding="utf-8",
    )
    (tmp_path / "requirements.txt").write_text(requirement + "\n", encoding="utf-8")
    scan = scan_repo(tmp_path)
    findings = evaluate(scan, list(environments(scan)), Settings())
    return {(f.file, f.line) for f in findings if f.rule_id == "VG003"}


def test_vg003_flags_a_range_that_excludes_the_pinned_version(tmp_path: Path) -> None:
    assert ("requirements.txt", 1) in vg003(tmp_path / "excludes", "torch>=2.5")


def test_vg003_accepts_a_range_that_contains_the_pinned_version(tmp_path: Path) -> None:
    assert vg003(tmp_path / "contains", "torch>=2.4,<2.5") == set()


# -- Dockerfile stages --------------------------------------------------------------------------


def torch_pins(text: str) -> list[tuple[int, str, str]]:
    pins = scan_dockerfile("Dockerfile", text).pins
    return [(p.line, p.value, p.how) for p in pins if p.component == "torch"]


def test_a_child_stage_inherits_env_but_not_arg() -> None:
    text = (
        "FROM python:3.11-slim AS base\n"
        "ENV TORCH_VERSION=2.4.1\n"
        "ARG TORCH_ARG=2.4.1\n"
        "FROM base AS train\n"
        "RUN pip install torch==${TORCH_VERSION}\n"
        "RUN pip install torch==${TORCH_ARG}\n"
    )
    found = torch_pins(text)
    assert (5, "2.4.1", "exact") in found  # ENV persists into the child stage
    assert [how for line, _, how in found if line == 6] == ["unresolved"]  # ARG does not


def test_a_stage_from_an_image_inherits_nothing_from_the_stage_before() -> None:
    text = (
        "FROM python:3.11-slim AS base\n"
        "ENV TORCH_VERSION=2.4.1\n"
        "FROM python:3.11-slim AS other\n"
        "RUN pip install torch==${TORCH_VERSION}\n"
    )
    assert [how for line, _, how in torch_pins(text) if line == 4] == ["unresolved"]


# -- release plans, exactly -----------------------------------------------------------------------


def item(number: int, state: str = "open", kind: str = "issue") -> Item:
    return Item(number, f"Item {number}", kind, state, Person("alice"))  # type: ignore[arg-type]


def test_tag_and_major_tag_plans_name_the_tag_and_commit() -> None:
    assert plan_tag("v1.0.0", SHA, None) == TagPlan("create", "v1.0.0", SHA)
    assert plan_tag("v1.0.0", SHA, TagRef("v1.0.0", SHA)) == TagPlan("keep", "v1.0.0", SHA)
    other = "b" * 40
    with pytest.raises(ReleaseRefused) as caught:
        plan_tag("v1.0.0", SHA, TagRef("v1.0.0", other))
    assert caught.value.one_line() == (
        f"tag v1.0.0 exists at commit {other} but the release target is {SHA}. Fix: release the "
        f"commit the tag names (`target: {other}`), or delete the tag if it was made by mistake "
        "and run again."
    )
    assert plan_major_tag("v1", SHA, None) == MajorTagPlan("create", "v1", SHA)
    assert plan_major_tag("v1", SHA, TagRef("v1", SHA)) == MajorTagPlan("keep", "v1", SHA)
    assert plan_major_tag("v1", SHA, TagRef("v1", other)) == MajorTagPlan("move", "v1", SHA)


def test_an_update_sends_exactly_the_fields_that_differ() -> None:
    desired = DesiredRelease("v1.0.0", "v1.0.0 final", "new notes", False, True, "false", SHA)
    was = ReleaseInfo(7, "v1.0.0", "v1.0.0", "notes", True, False, "u")
    plan = plan_release(desired, was)
    assert plan == ReleasePlan(
        "update",
        {
            "name": "v1.0.0 final",
            "message": "new notes",
            "prerelease": True,
            "draft": False,
            "make_latest": "false",
        },
        ("draft", "message", "name", "prerelease"),
    )
    created = plan_release(desired, None)
    assert created == ReleasePlan(
        "create",
        {
            "tag": "v1.0.0",
            "name": "v1.0.0 final",
            "message": "new notes",
            "draft": False,
            "prerelease": True,
            "target_commitish": SHA,
            "make_latest": "false",
        },
    )
    # Whitespace around the notes is no change; a published release never becomes a draft.
    same = ReleaseInfo(7, "v1.0.0", "v1.0.0 final", "new notes\n", False, True, "u")
    assert plan_release(desired, same) == ReleasePlan("keep")
    redraft = DesiredRelease("v1.0.0", "v1.0.0 final", "new notes", True, True, "false", SHA)
    assert plan_release(redraft, same) == ReleasePlan("keep")


def test_open_item_messages_exactly() -> None:
    items = [item(n) for n in range(1, 23)]
    assert item_list(items[:2]) == "#1, #2"
    assert item_list(items) == ", ".join(f"#{n}" for n in range(1, 21)) + " and 2 more"
    assert item_list(items[:20]) == ", ".join(f"#{n}" for n in range(1, 21))
    assert item_list(items[:21]).endswith("#20 and 1 more")
    assert gate_error("v1.0", items[:1]).one_line() == (
        "milestone 'v1.0' still has 1 open item (#1); nothing was tagged or released. Fix: close "
        "them or move them to another milestone, then close the milestone again (or set "
        "`open-items: warn` to release anyway)."
    )
    assert "still has 2 open items (#1, #2)" in gate_error("v1.0", items[:2]).message
    assert reopen_comment(3, "v1.0", items[:2], item(5, kind="pull")) == (
        "<!-- mlops-actions:milestone-release:3 -->\n"
        "Milestone **v1.0** was closed while this pull request was still open, so it was reopened "
        "and nothing was released. Close this or move it to another milestone, then close the "
        "milestone again.\n\nOpen items: #1, #2"
    )
    assert "while this issue was still open" in reopen_comment(3, "v1.0", items[:1], item(1))
    assert open_items([item(3), item(1, "closed"), item(2)]) == (item(2), item(3))
