"""`mlops-actions version-guard` through `cli.main` with the runner's files in tmp_path:
annotations at the line, outputs, step summary, SARIF validated against the 2.1.0 schema."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from mlops_actions.cli import main
from tests.support.events import load_event, retarget

ROOT = Path(__file__).resolve().parents[1]
REPOS = ROOT / "tests" / "fixtures" / "repos"
SARIF_SCHEMA = ROOT / "tests" / "fixtures" / "sarif" / "sarif-2.1.0-rtm.5.json"
ANNOTATION = re.compile(r"^::(error|warning|notice) (?P<props>[^:]*)::(?P<msg>.*)$")


def read_outputs(path: Path) -> dict[str, str]:
    """Parse GITHUB_OUTPUT's `name<<delimiter` blocks back into values."""
    out: dict[str, str] = {}
    lines = path.read_text(encoding="utf-8").split("\n")
    i = 0
    while i < len(lines):
        if "<<" in lines[i]:
            name, delimiter = lines[i].split("<<", 1)
            end = lines.index(delimiter, i + 1)
            out[name] = "\n".join(lines[i + 1 : end])
            i = end
        i += 1
    return out


def props(line: str) -> dict[str, str]:
    m = ANNOTATION.match(line)
    assert m, line
    return dict(p.split("=", 1) for p in m.group("props").split(","))


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    for name in ("vg-consistent", "vg-mismatch", "vg-nonexistent", "vg-floating"):
        shutil.copytree(REPOS / name, ws / "repos" / name)
    return ws


def runner_env(tmp_path: Path, workspace: Path, **extra: str) -> dict[str, str]:
    (tmp_path / "runner").mkdir(exist_ok=True)
    env = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_WORKSPACE": str(workspace),
        "GITHUB_OUTPUT": str(tmp_path / "runner" / "output"),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "runner" / "summary"),
        "RUNNER_TEMP": str(tmp_path / "runner"),
        "PATH": "/usr/bin:/bin",
    }
    env.update(extra)
    return env


def test_findings_annotated_at_the_line_relative_to_the_repository_root(
    tmp_path: Path, workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = runner_env(tmp_path, workspace, INPUT_PATH="repos/vg-mismatch")
    assert main(["version-guard"], env) == 1
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("::error")]
    spots = {(props(ln)["file"], props(ln)["line"]) for ln in lines}
    assert ("repos/vg-mismatch/requirements/train.txt", "3") in spots
    assert ("repos/vg-mismatch/docker/train.Dockerfile", "2") in spots
    titles = {props(ln)["title"] for ln in lines}
    assert "VG003 torch-mismatch" in titles and "VG007 companion-mismatch" in titles

    outputs = read_outputs(tmp_path / "runner" / "output")
    assert outputs["ok"] == "false"
    findings = json.loads(outputs["findings"])
    assert {f["rule"] for f in findings} >= {"VG003", "VG004", "VG005", "VG006", "VG007", "VG009"}
    assert all(f["file"].startswith("repos/vg-mismatch/") for f in findings)
    pins = json.loads(outputs["pins"])
    assert any(p["component"] == "torch" and p["value"] == "2.5.0+cu124" for p in pins)
    envs = json.loads(outputs["environments"])
    assert any(e["id"] == "docker:docker/train.Dockerfile" for e in envs)
    assert Path(outputs["sarif-file"]) == tmp_path / "runner" / "version-guard.sarif"

    summary = (tmp_path / "runner" / "summary").read_text(encoding="utf-8")
    assert "Pin matrix" in summary and "Environments" in summary
    assert "`repos/vg-mismatch/requirements/train.txt:3`" in summary


def test_consistent_repository_exits_zero(
    tmp_path: Path, workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = runner_env(tmp_path, workspace)
    assert main(["version-guard", "repos/vg-consistent"], env) == 0
    out = capsys.readouterr().out
    assert "::error" not in out and "0 errors" in out
    outputs = read_outputs(tmp_path / "runner" / "output")
    # only warnings: its lagging CPU serving stack (VG016) and the pytorch conda channel (VG017)
    assert outputs["ok"] == "true"
    assert {f["rule"] for f in json.loads(outputs["findings"])} == {"VG016", "VG017"}


def test_fail_on_levels(tmp_path: Path, workspace: Path) -> None:
    # vg-floating has errors, a warning (VG015) and a notice (VG014).
    env = runner_env(tmp_path, workspace)
    args = ["version-guard", "repos/vg-floating", "--fail-on"]
    assert main([*args, "never"], env) == 0
    assert main([*args, "error"], env) == 1
    config = workspace / "vg.yml"
    config.write_text(
        "version-guard:\n  rules:\n    image-unpinned: off\n    torch-not-exact: off\n",
        encoding="utf-8",
    )
    assert main([*args, "error", "--config", "vg.yml"], env) == 0
    assert main([*args, "warning", "--config", "vg.yml"], env) == 1
    config.write_text(config.read_text() + "    scan-error: notice\n", encoding="utf-8")
    assert main([*args, "warning", "--config", "vg.yml"], env) == 0
    assert main([*args, "notice", "--config", "vg.yml"], env) == 1


def test_sarif_is_valid_2_1_0_with_rules_and_locations(tmp_path: Path, workspace: Path) -> None:
    sarif_path = tmp_path / "out" / "vg.sarif"
    env = runner_env(tmp_path, workspace)
    assert main(["version-guard", "repos/vg-mismatch", "--sarif-file", str(sarif_path)], env) == 1
    doc: dict[str, Any] = json.loads(sarif_path.read_text(encoding="utf-8"))
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft4Validator(schema).validate(doc)
    run = doc["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules][:3] == ["VG001", "VG002", "VG003"]
    assert all("Remediation" in r["help"]["markdown"] for r in rules)
    assert {r["defaultConfiguration"]["level"] for r in rules} == {"error", "warning", "note"}
    by_rule = {
        (
            r["ruleId"],
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            r["locations"][0]["physicalLocation"]["region"]["startLine"],
        ): r
        for r in run["results"]
    }
    hit = by_rule[("VG003", "repos/vg-mismatch/requirements/train.txt", 3)]
    assert hit["level"] == "error"
    assert hit["locations"][0]["physicalLocation"]["region"]["startColumn"] == 1
    related = {
        (
            loc["physicalLocation"]["artifactLocation"]["uri"],
            loc["physicalLocation"]["region"]["startLine"],
        )
        for loc in hit["relatedLocations"]
    }
    assert ("repos/vg-mismatch/docker/train.Dockerfile", 2) in related
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]


def test_sarif_and_json_formats_print_machine_output(
    tmp_path: Path, workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = runner_env(tmp_path, workspace)
    env.pop("GITHUB_ACTIONS")
    assert main(["version-guard", "repos/vg-nonexistent", "--format", "sarif"], env) == 1
    doc = json.loads(capsys.readouterr().out)
    assert {r["ruleId"] for r in doc["runs"][0]["results"]} == {"VG008", "VG016", "VG017"}
    assert main(["version-guard", "repos/vg-nonexistent", "--format", "json"], env) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False
    assert len([f for f in report["findings"] if f["rule"] == "VG008"]) == 7


def test_build_args_input_resolves_args(
    tmp_path: Path, workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = runner_env(tmp_path, workspace)
    args = ["version-guard", "repos/vg-floating", "--fail-on", "never"]
    assert main([*args, "--build-args", "BASE_TAG=2.4.1-cuda12.1-cudnn9-runtime"], env) == 0
    findings = json.loads(read_outputs(tmp_path / "runner" / "output")["findings"])
    assert not any(f["rule"] == "VG001" and f["file"].endswith("Dockerfile") for f in findings)
    assert main([*args, "--build-args", "NOEQUALS"], env) == 2
    assert "not KEY=VALUE" in capsys.readouterr().out


def test_bad_path_and_bad_config_are_usage_errors(
    tmp_path: Path, workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = runner_env(tmp_path, workspace)
    assert main(["version-guard", "repos/nope"], env) == 2
    (workspace / "bad.yml").write_text("version-guard:\n  fail-on: sometimes\n", encoding="utf-8")
    assert main(["version-guard", "repos/vg-consistent", "--config", "bad.yml"], env) == 2
    out = capsys.readouterr().out
    assert "file=bad.yml,line=2" in out


def _git_repo(workspace: Path) -> str:
    ident = ["-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run(["git", "-C", str(workspace), "init", "-q", "-b", "main"], check=True)
    subprocess.run(["git", "-C", str(workspace), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(workspace), *ident, "commit", "-q", "-m", "b"], check=True)
    done = subprocess.run(
        ["git", "-C", str(workspace), "rev-parse", "HEAD"],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def test_pull_request_event_gates_on_the_base_and_labels(
    tmp_path: Path, workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = _git_repo(workspace)
    train = workspace / "repos/vg-consistent/requirements/train.txt"
    train.write_text(train.read_text().replace("torch==2.4.1", "torch==2.5.1"), encoding="utf-8")
    (workspace / ".github").mkdir()
    (workspace / ".github/mlops.yml").write_text(
        "version-guard:\n  change-label: stack-upgrade\n", encoding="utf-8"
    )
    event = retarget(
        load_event("pull_request.opened"),
        labels=["bug"],
        overrides={"pull_request.base.sha": base},
    )
    event_path = tmp_path / "event.json"
    event_path.write_text(json.dumps(event), encoding="utf-8")
    env = runner_env(
        tmp_path,
        workspace,
        GITHUB_EVENT_NAME="pull_request",
        GITHUB_EVENT_PATH=str(event_path),
        INPUT_PATH="repos/vg-consistent",
    )
    assert main(["version-guard"], env) == 1
    out = capsys.readouterr().out
    gate = [ln for ln in out.splitlines() if "VG011" in ln or "VG012" in ln]
    assert any(
        props(ln)["file"] == "repos/vg-consistent/requirements/train.txt"
        and "VG012" in props(ln)["title"]
        for ln in gate
    )
    assert any(props(ln)["file"] == "repos/vg-consistent/docker/train.Dockerfile" for ln in gate)

    # A base sha the clone does not have: one line naming the ref and the fix.
    event["pull_request"]["base"]["sha"] = "0" * 40
    event_path.write_text(json.dumps(event), encoding="utf-8")
    assert main(["version-guard"], env) == 2
    errors = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("::error")]
    assert len(errors) == 1 and "0000000000" in errors[0] and "fetch-depth: 0" in errors[0]


def test_exclude_keeps_a_file_out_even_when_a_workflow_installs_or_builds_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """vg-exclude: a workflow installs a vendored requirements file (an invalid local version,
    VG019) and builds a vendored Dockerfile (a floating tag, VG001)."""
    ws = tmp_path / "ws"
    shutil.copytree(REPOS / "vg-exclude", ws / "repos" / "vg-exclude")
    env = runner_env(tmp_path, ws)
    env.pop("GITHUB_ACTIONS")
    args = ["version-guard", "repos/vg-exclude", "--format", "json"]
    assert main(args, env) == 1
    found = {(f["rule"], f["file"]) for f in json.loads(capsys.readouterr().out)["findings"]}
    assert ("VG019", "repos/vg-exclude/third_party/vendor/requirements.txt") in found
    assert ("VG001", "repos/vg-exclude/third_party/vendor/Dockerfile.build") in found
    assert main([*args, "--exclude", "third_party/**"], env) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["findings"] == [] and report["ok"] is True
