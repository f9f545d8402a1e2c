"""actions/bootstrap.sh: one verified venv per package source and interpreter, reused warm,
never imported from the workspace, clear error without a usable Python. (How long a warm run
takes is measured in bench/bootstrap.py, not here.)"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "actions" / "bootstrap.sh"
# Modules a workspace could plant under the names that the bootstrap and the command import.
PLANTED = ("yaml", "venv", "hashlib", "pip", "jsonschema", "mlops_actions")


def run(env: dict[str, str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [shutil.which("bash") or "/bin/bash", str(SCRIPT)],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, str], Path]:
    """One environment built on a "GitHub-hosted runner" (a fresh machine per job)."""
    base = tmp_path_factory.mktemp("bootstrap")
    output = base / "output"
    output.write_text("")
    env = {
        **os.environ,
        "RUNNER_ENVIRONMENT": "github-hosted",
        "RUNNER_TOOL_CACHE": str(base / "cache"),
        "GITHUB_OUTPUT": str(output),
    }
    first = run(env)
    assert first.returncode == 0, first.stderr
    python = Path(first.stdout.strip())
    assert output.read_text() == f"python={python}\n"
    return env, python


def test_builds_once_then_reuses(built: tuple[dict[str, str], Path]) -> None:
    env, python = built
    digest = python.parent.parent / ".digest"
    stamp = digest.stat().st_mtime_ns
    version = subprocess.run(
        [str(python), "-I", "-B", "-m", "mlops_actions", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert version.stdout.startswith("mlops-actions ")

    second = run(env)
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip() == str(python)
    assert digest.stat().st_mtime_ns == stamp  # reused, not rebuilt
    assert "::warning" not in second.stdout
    cache = Path(env["RUNNER_TOOL_CACHE"]) / "mlops-actions"
    assert [p.name for p in cache.iterdir()] == [python.parent.parent.name]


def test_the_environment_keeps_no_installer(built: tuple[dict[str, str], Path]) -> None:
    """pip and setuptools go once the package is in: fewer files for every warm digest check."""
    _, python = built
    [site] = python.parent.parent.glob("lib/python*/site-packages")
    left = sorted(p.name for p in site.iterdir() if p.name.split("-")[0] in ("pip", "setuptools"))
    assert left == []
    assert (site / "mlops_actions" / "env_verify" / "probe.py").is_file()
    assert list((site / "mlops_actions" / "env_verify" / "__pycache__").glob("probe.*.pyc"))


def test_a_self_hosted_runner_builds_in_its_per_job_folder(
    built: tuple[dict[str, str], Path], tmp_path: Path
) -> None:
    env, python = built
    temp = tmp_path / "runner-temp"
    # A copy made elsewhere (any file written after the build) does not pass as built here.
    copy = temp / "mlops-actions" / python.parent.parent.name
    shutil.copytree(python.parent.parent, copy, symlinks=True)
    hosted = {**env, "RUNNER_ENVIRONMENT": "self-hosted", "RUNNER_TEMP": str(temp)}

    done = run(hosted)

    assert done.returncode == 0, done.stderr
    assert "does not match its recorded digest" in done.stdout
    assert Path(done.stdout.strip().splitlines()[-1]) == copy / "bin" / "python"
    again = run(hosted)  # built here: verified and reused
    assert "::warning" not in again.stdout
    assert Path(again.stdout.strip()) == copy / "bin" / "python"
    # The runner's owner may opt in to the shared cache (ephemeral runners).
    opted_in = run({**hosted, "MLOPS_ACTIONS_SHARED_CACHE": "true"})
    assert Path(opted_in.stdout.strip()) == python


def test_nothing_from_the_workspace_is_imported(
    built: tuple[dict[str, str], Path], tmp_path: Path
) -> None:
    env, python = built
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    markers = tmp_path / "imported"
    markers.mkdir()
    for name in PLANTED:
        (workspace / f"{name}.py").write_text(
            f"open({str(markers / name)!r}, 'w').close()\n", encoding="utf-8"
        )
    (workspace / "requirements.txt").write_text("torch==2.4.1\n")

    boot = run(env, cwd=workspace)
    assert boot.returncode == 0, boot.stderr
    # The command line of every composite action, as the action runs it in the workspace.
    composite = [
        (path, yaml.safe_load(path.read_text(encoding="utf-8"))["runs"])
        for path in sorted(ROOT.glob("*/action.yml"))
    ]
    for action, runs in composite:
        if runs.get("using") != "composite":
            continue
        steps = runs["steps"]
        lines = [s["run"] for s in steps if "MLOPS_PYTHON" in s.get("run", "")]
        assert lines and all('"$MLOPS_PYTHON" -I -B -m mlops_actions' in x for x in lines), action
    # The Docker action's entrypoint runs the same way in /github/workspace.
    [entry] = [
        x for x in (ROOT / "Dockerfile").read_text().splitlines() if x.startswith("ENTRYPOINT")
    ]
    assert json.loads(entry.removeprefix("ENTRYPOINT"))[1:] == [
        "-I",
        "-B",
        "-u",
        "-m",
        "mlops_actions",
    ]
    isolated = subprocess.run(
        [str(python), "-I", "-B", "-m", "mlops_actions", "version-guard", "."],
        cwd=workspace,
        capture_output=True,
        text=True,
    )
    assert isolated.returncode in (0, 1), isolated.stderr
    assert sorted(p.name for p in markers.iterdir()) == []

    # The control: without -I the same command imports the planted yaml.py.
    subprocess.run(
        [str(python), "-B", "-m", "mlops_actions", "version-guard", "."],
        cwd=workspace,
        capture_output=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("PYTHON")},
    )
    assert (markers / "mlops_actions").exists() or (markers / "yaml").exists()


def test_a_changed_environment_is_rebuilt_not_trusted(built: tuple[dict[str, str], Path]) -> None:
    env, python = built
    venv = python.parent.parent
    [package] = venv.glob("lib/python*/site-packages/mlops_actions/__init__.py")
    text = package.read_text()
    stat = package.stat()
    package.write_text(text + "\nraise SystemExit('poisoned')\n")
    # Even with its old size and times restored, the change time gives it away.
    package.write_text(text)
    os.utime(package, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    (venv / ".ready").write_text("")  # a marker file proves nothing

    done = run(env)

    assert done.returncode == 0, done.stderr
    assert "does not match its recorded digest" in done.stdout
    assert Path(done.stdout.strip().splitlines()[-1]) == python
    assert not (venv / ".ready").exists()  # a new environment, not the changed one
    again = run(env)
    assert "::warning" not in again.stdout


def test_no_usable_python_is_one_clear_error(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    # The tools the script uses, and no interpreter but one that is too old.
    for tool in (
        "bash",
        "cat",
        "cut",
        "dirname",
        "find",
        "mkdir",
        "mktemp",
        "mv",
        "rm",
        "sha256sum",
        "sort",
        "touch",
        "xargs",
    ):
        (bin_dir / tool).symlink_to(shutil.which(tool) or f"/usr/bin/{tool}")
    for name in ("python3", "python"):
        stub = bin_dir / name
        stub.write_text("#!/bin/sh\nexit 1\n")
        stub.chmod(0o755)
    env = {
        "PATH": str(bin_dir),
        "RUNNER_TOOL_CACHE": str(tmp_path / "cache"),
        "HOME": str(tmp_path),
    }
    done = run(env)
    assert done.returncode == 4
    lines = [line for line in done.stdout.splitlines() if line.startswith("::error")]
    assert len(lines) == 1 and "No Python 3.10 or newer" in lines[0] and "Fix:" in lines[0]
    assert not (tmp_path / "cache" / "mlops-actions").exists()
