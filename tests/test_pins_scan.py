"""scan_repo over fixture repositories laid out like ML projects, and environment grouping."""

from __future__ import annotations

from pathlib import Path

from mlops_actions.pins import (
    classify,
    environments,
    find_candidates,
    group_environments,
    scan_repo,
)

REPOS = Path(__file__).parent / "fixtures" / "repos"


def test_classify_by_name_only() -> None:
    assert classify("", "Dockerfile") == "dockerfile"
    assert classify("docker", "train.Dockerfile") == "dockerfile"
    assert classify("docker", "Dockerfile.cuda") == "dockerfile"
    assert classify("", "Dockerfile.dockerignore") is None
    assert classify("", "requirements-gpu.txt") == "requirements"
    assert classify("requirements", "rocm.txt") == "requirements"
    assert classify("", "constraints.txt") == "requirements"
    assert classify("", "notes.txt") is None
    assert classify(".github/workflows", "ci.yaml") == "workflow"
    assert classify("", "ci.yaml") is None
    assert classify("", "docker-compose.prod.yml") == "compose"
    assert classify("envs", "environment-cuda.yml") == "conda"
    assert classify(".devcontainer/gpu", "devcontainer.json") == "devcontainer"
    assert classify("", "devcontainer.json") is None
    assert classify("", ".python-version") == "python-version"


def test_walk_skips_vendored_dirs_and_honours_exclude() -> None:
    found = [rel for rel, _ in find_candidates(REPOS / "consistent")]
    assert "docker/Dockerfile" in found
    assert not any(rel.startswith("node_modules/") for rel in found)
    assert "src/trainer/__init__.py" not in found
    excluded = [rel for rel, _ in find_candidates(REPOS / "consistent", exclude=["requirements"])]
    assert not any(rel.startswith("requirements/") for rel in excluded)


def test_consistent_repo_scan() -> None:
    result = scan_repo(REPOS / "consistent")
    assert result.errors == ()
    # base.txt and common.txt include each other: scanned once each.
    assert result.files.count("requirements/common.txt") == 1
    torch_values = {p.value for p in result.pins if p.component == "torch" and p.how == "exact"}
    assert torch_values >= {"2.3.1", "2.3.1+cu121", "2.2.2", "2.1.2"}
    image = next(p for p in result.pins if p.file == "docker/Dockerfile" and p.component == "image")
    assert image.value == "pytorch/pytorch:2.3.1-cuda12.1-cudnn8-runtime"
    assert image.line == 8
    # The Dockerfile's RUN installs requirements/train.txt through COPY requirements/.
    assert any(
        ln.kind == "installs"
        and ln.src == "docker/Dockerfile"
        and ln.dst == "requirements/train.txt"
        for ln in result.links
    )


def test_consistent_repo_environments() -> None:
    envs = {e.id: e for e in environments(scan_repo(REPOS / "consistent"))}
    docker = envs["docker:docker/Dockerfile"]
    assert {
        "requirements/train.txt",
        "requirements/constraints.txt",
        ".github/workflows/ci.yml",
        "docker-compose.yml",
    } <= set(docker.files)
    # The GPU job runs in the image the Dockerfile builds: it joins the docker environment.
    assert any(p.context == "job gpu-test container" for p in docker.pins)
    assert not any(i.startswith("ci:.github/workflows/ci.yml:gpu-test") for i in envs)
    unit = [e for e in envs.values() if e.id.startswith("ci:.github/workflows/ci.yml:unit[")]
    assert len(unit) == 5
    entry = envs["ci:.github/workflows/ci.yml:unit[torch=2.1.2, python=3.9]"]
    torch = {p.value for p in entry.pins if p.component == "torch" and p.file.endswith("ci.yml")}
    assert torch == {"2.1.2"}
    assert envs["devcontainer:.devcontainer/devcontainer.json"].kind == "devcontainer"
    assert envs["conda:environment.yml"].kind == "conda"
    project = envs["project:pyproject.toml"]
    assert ".python-version" in project.files
    assert "compose:docker-compose.yml:cache" in envs
    # Every pin lands in at least one environment.
    result = scan_repo(REPOS / "consistent")
    placed = {
        id(p)
        for e in group_environments(result.pins, result.links, result.groups, result.stages)
        for p in e.pins
    }
    assert all(id(p) in placed for p in result.pins)


def test_build_args_from_workflow_make_a_separate_environment(tmp_path: Path) -> None:
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / "Dockerfile").write_text(
        "ARG CUDA\nFROM pytorch/pytorch:2.4.0${CUDA:+-cuda${CUDA}-cudnn9}-runtime\n"
    )
    (tmp_path / ".github" / "workflows" / "b.yml").write_text(
        "jobs:\n  gpu:\n    runs-on: x\n    steps:\n      - run: docker build --build-arg CUDA=12.4 .\n"
    )
    result = scan_repo(tmp_path)
    envs = {e.id: e for e in environments(result)}
    plain = envs["docker:Dockerfile"]
    gpu = envs["docker:Dockerfile@ci:.github/workflows/b.yml:gpu"]
    assert {p.variant for p in plain.pins if p.component == "torch"} == {"cpu"}
    assert {p.variant for p in gpu.pins if p.component == "torch"} == {"cu124"}
    # Config build args apply to every scan.
    forced = scan_repo(tmp_path, build_args={"CUDA": "12.1"})
    assert any(p.variant == "cu121" and p.environment is None for p in forced.pins)


def test_planted_repo_reports_what_it_cannot_resolve() -> None:
    result = scan_repo(REPOS / "planted")
    messages = [str(e) for e in result.errors]
    assert messages == ["requirements.txt:5:1: included file 'missing.txt' does not exist"]
    by = {(p.file, p.line, p.component): p for p in result.pins}
    assert by[("docker/Dockerfile", 2, "image")].how == "latest"
    assert by[("docker/Dockerfile", 4, "image")].how == "unpinned"
    assert by[("docker/Dockerfile", 5, "torch")].how == "unresolved"
    assert by[("docker/Dockerfile", 3, "torch")].variant == "cu124"
    assert by[("requirements.txt", 3, "torch")].value == "2.4.0+cu128"
    assert by[(".github/workflows/gpu.yml", 7, "image")].how == "unresolved"
    assert by[(".github/workflows/gpu.yml", 11, "python")].how == "range"


def test_unreadable_and_outside_files_are_findings(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("-r ../../etc/passwd\ntorch==2.4.0\n")
    (tmp_path / "pyproject.toml").write_text("[project\n")
    result = scan_repo(tmp_path)
    assert len(result.pins) == 1
    text = " | ".join(str(e) for e in result.errors)
    assert "outside the repository" in text and "invalid TOML" in text
