"""Agreement rules VG003-VG006 inside an environment and VG013 across environments, over the
fixture repositories: each disagreement planted is found at every line, naming the others."""

from __future__ import annotations

import shutil
from pathlib import Path

from mlops_actions.config import parse_config
from mlops_actions.pins import environments, scan_repo
from mlops_actions.version_guard.rules import (
    Settings,
    config_environments,
    evaluate,
    settings_from_config,
)
from tests.support.version_guard import REPOS, at, of, run


def test_vg003_torch_disagreement_reported_at_every_line_naming_the_others() -> None:
    findings = run("vg-mismatch")
    lines = at(findings, "VG003")
    assert {("requirements/train.txt", 3), ("docker/train.Dockerfile", 2)} <= lines
    (req,) = of(findings, "VG003", "requirements/train.txt", 3)
    assert "docker/train.Dockerfile:2" in req.message
    assert ("docker/train.Dockerfile", 2) in req.related
    (arg,) = of(findings, "VG003", "docker/train.Dockerfile", 2)
    assert "requirements/train.txt:3" in arg.message and "2.5.0" in arg.message


def test_vg004_cuda_variant_disagreement() -> None:
    findings = run("vg-mismatch")
    lines = at(findings, "VG004")
    # index URL, local versions, the ARG and the image tag
    assert {
        ("requirements/train.txt", 1),
        ("requirements/train.txt", 3),
        ("docker/train.Dockerfile", 3),
        ("docker/train.Dockerfile", 4),
    } <= lines
    assert len(of(findings, "VG004", "docker/train.Dockerfile", 4)) == 1  # one per spot


def test_vg005_cudnn_major_disagreement() -> None:
    findings = run("vg-mismatch")
    assert at(findings, "VG005") == {("docker/serve.Dockerfile", 2), ("docker/serve.Dockerfile", 6)}


def test_vg006_python_disagreement_and_requires_python() -> None:
    findings = run("vg-mismatch")
    lines = at(findings, "VG006")
    assert {(".github/workflows/ci.yml", 22), (".github/workflows/ci.yml", 26)} <= lines
    assert {(".python-version", 1), ("pyproject.toml", 4)} <= lines


def test_agreement_rules_do_not_flag_a_matrix_or_separate_images() -> None:
    findings = run("vg-consistent")
    for rule_id in ("VG003", "VG004", "VG005", "VG006", "VG013"):
        assert at(findings, rule_id) == set(), rule_id


def test_vg013_shared_torch_across_deployable_environments() -> None:
    findings = run("vg-consistent", yaml_text="version-guard:\n  shared: [torch]\n")
    lines = at(findings, "VG013")
    assert ("requirements/cpu.txt", 2) in lines  # 2.3.1+cpu against the 2.4.1 images
    assert ("requirements/train.txt", 4) in lines
    assert not any(f.startswith(".github/") for f, _ in lines)


def test_vg013_without_shared_nothing_is_compared_across() -> None:
    assert at(run("vg-consistent"), "VG013") == set()


def test_config_environments_add_a_group(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(REPOS / "vg-consistent", repo)
    # Two requirement files no rule groups together; the config says they deploy together.
    (repo / "serve").mkdir()
    (repo / "serve" / "requirements.txt").write_text("torch==2.4.0\n", encoding="utf-8")
    scan = scan_repo(repo)
    text = "version-guard:\n  environments:\n    - name: serving\n      files: [serve/*, requirements/train.txt]\n"
    settings = settings_from_config(parse_config(text, ".github/mlops.yml"))
    envs = [*environments(scan), *config_environments(scan, settings)]
    findings = evaluate(scan, envs, settings)
    assert ("serve/requirements.txt", 1) in at(findings, "VG003")
    assert at(evaluate(scan, environments(scan), Settings()), "VG003") == set()
