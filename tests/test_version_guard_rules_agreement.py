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
from tests.support.version_guard import REPOS, ROOT, at, of, run, scanned


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
    # The gpu job's container has its own Python 3.11; setup-python's 3.12 is another
    # interpreter, so the two are not compared.
    assert not {(".github/workflows/ci.yml", 22), (".github/workflows/ci.yml", 26)} & lines
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


# --- VG016 stack-drift ----------------------------------------------------------------------


def test_vg016_stories_without_config() -> None:
    """vg-stories: requirements.txt on 2.5.1+cu124, pyproject.toml on 2.4.0 and a CI container
    on CUDA 12.1; the CPU and cu118 builds of 2.5.1, the matrix, the nightly job, the
    minimum-versions list only CI installs and the example are variants or lanes. Where most
    files tell one story, only the files that stray from it are findings."""
    findings = run("vg-stories")
    assert {f.severity for f in findings if f.rule_id == "VG016"} == {"warning"}
    assert at(findings, "VG016") == {
        # torch: three files tell 2.5.1, so only the one that strays from it is reported.
        ("pyproject.toml", 5),
        # CUDA: one file each, no majority, so both (one per file and story).
        ("requirements.txt", 1),  # at the cu124 index
        (".github/workflows/ci.yml", 8),  # the CI container's CUDA 12.1
    }
    (project,) = of(findings, "VG016", "pyproject.toml", 5)
    assert "torch 2.4.0: pyproject.toml" in project.message
    assert "torch 2.5.1: docker/Dockerfile.cu118, requirements.txt and requirements/cpu.txt" in (
        project.message
    )
    (cuda,) = of(findings, "VG016", "requirements.txt", 1)
    assert (
        "CUDA 12.4 here" in cuda.message and "CUDA 12.1: .github/workflows/ci.yml" in cuda.message
    )
    # the lanes really pin other releases
    lanes = {
        (p.file, p.value)
        for p in scanned("vg-stories").pins
        if p.component == "torch" and p.how == "exact"
    }
    assert {("requirements/min.txt", "2.1.0"), ("examples/requirements.txt", "1.13.0")} <= lanes


def test_vg016_config_names_a_separate_stack_or_tightens() -> None:
    separate = (
        "version-guard:\n  environments:\n    - name: library\n      files: [pyproject.toml]\n"
    )
    lines = at(run("vg-stories", yaml_text=separate), "VG016")
    assert ("pyproject.toml", 5) not in lines and ("requirements/cpu.txt", 2) not in lines
    assert (".github/workflows/ci.yml", 8) in lines  # the CUDA story is still two
    shared = at(run("vg-stories", yaml_text="version-guard:\n  shared: [torch, cuda]\n"), "VG016")
    assert shared == set()


def test_vg016_the_consistent_repository_names_its_lagging_serving_stack() -> None:
    """vg-consistent serves on torch 2.3.1 (CPU) while training on 2.4.1: without config that
    is drift, a warning; naming the serving environment makes it a separate stack. (Its conda
    environment is also on the discontinued pytorch channel: VG017, a warning.)"""
    findings = run("vg-consistent")
    assert {f.rule_id for f in findings} == {"VG016", "VG017"}
    assert {f.severity for f in findings} == {"warning"}
    assert ("requirements/cpu.txt", 2) in at(findings, "VG016")
    config = (ROOT / "tests" / "fixtures" / "config" / "vg-consistent.yml").read_text()
    assert run("vg-consistent", yaml_text=config) == []


def test_vg004_a_bare_pypi_pin_carries_the_release_default_cuda() -> None:
    """vg-pypi-cuda: PyPI torch 1.13.0 is the CUDA 11.7 build, installed in a CUDA 12.2 image
    (another major: an error); PyPI torch 2.4.1 (12.1) in a 12.4 image is a warning; the same
    CUDA, an index that names the build and a CPU image pass."""
    findings = run("vg-pypi-cuda")
    assert at(findings, "VG004") == {
        ("requirements.txt", 1),
        ("docker/minor.Dockerfile", 2),
        ("docker/arg.Dockerfile", 4),
    }
    # torch through an ARG, beside an index the scan cannot read: a warning, never an error;
    # the ARG line itself is not a PyPI install.
    (via_arg,) = of(findings, "VG004", "docker/arg.Dockerfile", 4)
    assert via_arg.severity == "warning"
    assert not of(findings, "VG004", "docker/arg.Dockerfile", 3)
    (old,) = of(findings, "VG004", "requirements.txt", 1)
    assert old.severity == "error" and "CUDA 11.7" in old.message and "CUDA 12.2" in old.message
    assert ("docker/old.Dockerfile", 2) in old.related
    (minor,) = of(findings, "VG004", "docker/minor.Dockerfile", 2)
    assert minor.severity == "warning" and "torch==2.4.1+cu124" in minor.fix


def test_vg016_a_release_spelt_short_is_the_same_story(tmp_path: Path) -> None:
    """`ARG TORCH=2.7` (pip's `==2.7` is 2.7.0) and `torch==2.7.0` tell one story."""
    (tmp_path / "Dockerfile").write_text(
        "FROM nvidia/cuda:12.6.3-runtime-ubuntu24.04\nARG TORCH=2.7\n"
        "RUN pip install torch==${TORCH}\n"
    )
    (tmp_path / "requirements.txt").write_text("torch==2.7.0\n")
    (tmp_path / "serve").mkdir()
    (tmp_path / "serve" / "requirements.txt").write_text("torch==2.7.0\n")
    scan = scan_repo(tmp_path)
    assert at(evaluate(scan, environments(scan), Settings()), "VG016") == set()


def test_a_file_of_many_different_pins_pairs_each_with_a_few(tmp_path: Path) -> None:
    """1,500 different exact torch pins in one file: every pin is a VG003 finding, each paired
    with a bounded number of other lines (linear work, not a pair per two pins)."""
    (tmp_path / "requirements.txt").write_text("".join(f"torch==2.4.{i}\n" for i in range(1500)))
    scan = scan_repo(tmp_path)
    found = [f for f in evaluate(scan, environments(scan), Settings()) if f.rule_id == "VG003"]
    assert len(found) == 1500
    assert max(len(f.related) for f in found) == 8


def test_vg016_many_stories_are_named_up_to_a_bound(tmp_path: Path) -> None:
    """Twelve services on twelve torch releases: each stray file is a finding whose message
    names eight stories and counts the rest, and whose related lines stay bounded."""
    for i in range(12):
        (tmp_path / f"svc{i:02d}").mkdir()
        (tmp_path / f"svc{i:02d}" / "requirements.txt").write_text(f"torch==2.{i}.0\n")
    scan = scan_repo(tmp_path)
    found = [f for f in evaluate(scan, environments(scan), Settings()) if f.rule_id == "VG016"]
    assert len(found) == 12
    first = of(found, "VG016", "svc00/requirements.txt", 1)[0]
    assert "tells 12 stories" in first.message
    assert "torch 2.7.0: svc07/requirements.txt; 4 more)" in first.message
    assert "torch 2.8.0" not in first.message
    # Up to three lines of each other story: eleven other stories, one line each.
    assert len(first.related) == 11


def test_vg016_related_lines_are_searched_in_a_bounded_number_of_stories(tmp_path: Path) -> None:
    """Seventy stories: a finding's related lines come from at most 64 other stories, so a
    repository of thousands of different pins costs linear time."""
    for i in range(70):
        (tmp_path / f"svc{i:02d}").mkdir()
        (tmp_path / f"svc{i:02d}" / "requirements.txt").write_text(f"torch==1.{i}.0\n")
    scan = scan_repo(tmp_path)
    found = [f for f in evaluate(scan, environments(scan), Settings()) if f.rule_id == "VG016"]
    assert len(found) == 70
    assert {len(f.related) for f in found} == {64}
    assert all("62 more)" in f.message for f in found)
