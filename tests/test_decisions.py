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
from mlops_actions.milestone_release.model import ReleaseInfo
from mlops_actions.milestone_release.release import DesiredRelease, plan_release
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
