"""actions/bootstrap.sh: one cached venv per package source, reused warm, clear error without
a usable Python. (How long a warm run takes is measured in bench/bootstrap.py, not here.)"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "actions" / "bootstrap.sh"


def run(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [shutil.which("bash") or "/bin/bash", str(SCRIPT)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


def test_builds_once_then_reuses(tmp_path: Path) -> None:
    output = tmp_path / "output"
    output.write_text("")
    env = {**os.environ, "RUNNER_TOOL_CACHE": str(tmp_path / "cache"), "GITHUB_OUTPUT": str(output)}
    first = run(env)
    assert first.returncode == 0, first.stderr
    python = Path(first.stdout.strip())
    assert output.read_text() == f"python={python}\n"
    ready = python.parent.parent / ".ready"
    stamp = ready.stat().st_mtime_ns
    version = subprocess.run(
        [str(python), "-m", "mlops_actions", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert version.stdout.startswith("mlops-actions ")

    second = run(env)
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip() == str(python)
    assert ready.stat().st_mtime_ns == stamp  # reused, not rebuilt
    assert [p.name for p in (tmp_path / "cache" / "mlops-actions").iterdir()] == [
        python.parent.parent.name
    ]


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
