"""Hostile input ends in one line: the minimised crashers, the bombs, and report targets that
must survive a write (devices, FIFOs, /dev/stdout, symbolic links).

Each folder of ``tests/fixtures/fuzz`` is a small repository named by what it tests; its
``case.json`` gives the command, the exit code (null: any but the internal error's 70) and a
phrase the one-line error must hold. Its files end in ``.fuzz`` (dropped when the test copies
them), so no tool that walks this repository reads a hostile pyproject.toml or workflow.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from mlops_actions.files import DataFileError, read_data_file, write_atomically
from mlops_actions.parse import (
    MAX_DEPTH,
    MAX_YAML_NODES,
    ParseError,
    YAMLLimitError,
    compose_yaml,
    construct_yaml,
    loads_json,
    loads_toml,
)
from mlops_actions.pins.workflow import scan_workflow
from tests.test_version_guard_command import runner_env

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "fixtures" / "fuzz"
CASES = sorted(p.name for p in CORPUS.iterdir() if (p / "case.json").is_file())


def run_cli(args: list[str], workspace: Path, tmp_path: Path) -> tuple[int, str]:
    """The command as a runner runs it (annotations on stdout); the exit code and all output."""
    env = runner_env(tmp_path, workspace)
    proc = subprocess.run(
        [sys.executable, "-m", "mlops_actions", *args],
        cwd=workspace,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    summary = tmp_path / "runner" / "summary"
    text = proc.stdout + proc.stderr + (summary.read_text() if summary.exists() else "")
    return proc.returncode, text


@pytest.mark.parametrize("name", CASES)
def test_minimised_crasher_ends_in_one_line(name: str, tmp_path: Path) -> None:
    case = json.loads((CORPUS / name / "case.json").read_text())
    repo = tmp_path / "repo"
    for source in (CORPUS / name).rglob("*.fuzz"):
        target = repo / source.relative_to(CORPUS / name).with_suffix("")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(source.read_bytes())
    code, out = run_cli(case["command"], repo, tmp_path)
    assert "internal error" not in out and "Traceback" not in out, out[-2000:]
    assert code != 70
    if case["exit"] is not None:
        assert code == case["exit"], out[-2000:]
    assert case["expect"] in out, out[-2000:]
    # One line, and a readable one: a 5,000-digit value is shown by its ends.
    assert all(len(line) < 1000 for line in out.splitlines() if line.startswith("::"))


def test_corpus_files_stay_small() -> None:
    sizes = {p.relative_to(CORPUS).as_posix(): p.stat().st_size for p in CORPUS.rglob("*")}
    assert max(sizes.values()) < 32 * 1024, sizes


# --- reading repository files as data --------------------------------------------------------


def test_a_link_out_of_the_repository_is_neither_read_nor_shown(tmp_path: Path) -> None:
    secret = tmp_path / "secret-place" / "token.txt"
    secret.parent.mkdir()
    secret.write_text("torch==1.0.0 # SECRET-VALUE\n")
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "requirements.txt").symlink_to(secret)
    (repo / "constraints.txt").symlink_to("/etc/hostname")
    code, out = run_cli(["version-guard", "."], repo, tmp_path)
    assert code in (0, 1)
    assert "SECRET-VALUE" not in out and "secret-place" not in out and "/etc" not in out
    assert "::warning file=requirements.txt" in out
    assert "not read: a symbolic link to a file outside the repository" in out


def test_a_link_inside_the_repository_is_read(tmp_path: Path) -> None:
    (tmp_path / "reqs").mkdir()
    (tmp_path / "reqs" / "real.txt").write_text("torch==2.4.1\n")
    (tmp_path / "requirements.txt").symlink_to("reqs/real.txt")
    assert read_data_file(tmp_path, "requirements.txt") == "torch==2.4.1\n"


def test_a_walked_file_swapped_for_a_link_is_checked_like_any_link(tmp_path: Path) -> None:
    """The scan reads files its walk saw as plain files without resolving their path again; a
    link put in their place since is still resolved, and one out of the tree is refused."""
    repo = tmp_path / "repo"
    repo.mkdir()
    (tmp_path / "secret.txt").write_text("torch==9.9.9 # SECRET\n")
    (repo / "requirements.txt").write_text("torch==2.4.1\n")
    assert read_data_file(repo, "requirements.txt", walked=True) == "torch==2.4.1\n"
    (repo / "requirements.txt").unlink()
    (repo / "requirements.txt").symlink_to(tmp_path / "secret.txt")
    with pytest.raises(DataFileError, match="symbolic link to a file outside") as caught:
        read_data_file(repo, "requirements.txt", walked=True)
    assert "SECRET" not in caught.value.one_line()
    (repo / "inside.txt").write_text("torch==2.5.1\n")
    (repo / "requirements.txt").unlink()
    (repo / "requirements.txt").symlink_to("inside.txt")
    assert read_data_file(repo, "requirements.txt", walked=True) == "torch==2.5.1\n"


def test_a_requirements_file_linked_to_dev_zero_ends_in_one_line(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "requirements.txt").symlink_to("/dev/zero")
    code, out = run_cli(["version-guard", "."], repo, tmp_path)
    assert code in (0, 1) and "internal error" not in out
    assert "requirements.txt" in out and "not read" in out


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "requirements.txt")
    with pytest.raises(DataFileError, match="not a regular file") as caught:
        read_data_file(tmp_path, "requirements.txt")
    assert caught.value.file == "requirements.txt"


def test_a_device_inside_the_tree_is_refused(tmp_path: Path) -> None:
    device = _char_device(tmp_path / "environment.yml")
    with pytest.raises(DataFileError, match="not a regular file"):
        read_data_file(tmp_path, device.name)


def test_a_file_over_the_size_cap_is_refused_before_it_is_read(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_bytes(b"#" * 2048)
    with pytest.raises(DataFileError, match="larger than"):
        read_data_file(tmp_path, "requirements.txt", limit=1024)
    assert read_data_file(tmp_path, "requirements.txt", limit=4096).startswith("#")


def test_bytes_that_are_not_utf8_name_their_line_and_column(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_bytes(b"numpy\ntorch==2.4 # caf\xe9\n")
    with pytest.raises(DataFileError) as caught:
        read_data_file(tmp_path, "requirements.txt")
    error = caught.value
    assert (error.file, error.line, error.col) == ("requirements.txt", 2, 17)
    assert "0xe9" in error.message and "UTF-8" in error.fix


def test_a_config_linked_out_of_the_repository_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.yml"
    outside.write_text("version: 1\n")
    repo = tmp_path / "repo"
    (repo / ".github").mkdir(parents=True)
    (repo / ".github" / "mlops.yml").symlink_to(outside)
    code, out = run_cli(["config", "check"], repo, tmp_path)
    assert code == 2
    assert ".github/mlops.yml" in out and "outside the repository" in out
    assert "elsewhere" not in out


# --- writing reports -------------------------------------------------------------------------


def _char_device(path: Path) -> Path:
    """A character device like /dev/null (1, 3), made in tmp_path: never the real one."""
    try:
        os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        with open(path, "w") as handle:  # a nodev mount refuses to open it
            handle.write("")
    except OSError as exc:
        pytest.skip(f"cannot make a usable character device here: {exc.strerror}")
    return path


def test_sarif_to_a_character_device_keeps_the_device(tmp_path: Path) -> None:
    device = _char_device(tmp_path / "null")
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "tests" / "fixtures" / "repos" / "vg-consistent", repo)
    code, out = run_cli(["version-guard", ".", "--sarif-file", str(device)], repo, tmp_path)
    assert code == 0, out
    assert stat.S_ISCHR(os.lstat(device).st_mode)
    assert os.lstat(device).st_rdev == os.makedev(1, 3)
    assert not list(tmp_path.glob(".null.*"))  # no temporary file left beside it


def test_a_report_to_a_fifo_is_written_into_it(tmp_path: Path) -> None:
    fifo = tmp_path / "report.fifo"
    os.mkfifo(fifo)
    received: list[str] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()), daemon=True)
    reader.start()
    write_atomically(fifo, '{"ok": true}\n', what="report")
    reader.join(timeout=10)
    assert received == ['{"ok": true}\n']
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_a_report_to_dev_stdout_reaches_stdout_and_leaves_the_link(tmp_path: Path) -> None:
    # /dev/stdout is a link to /proc/self/fd/1. Its twin is made in tmp_path, so a regression
    # (a rename over the link) breaks the twin, not the machine's /dev/stdout.
    twin = tmp_path / "stdout"
    twin.symlink_to(os.readlink("/dev/stdout"))
    code = (
        "import sys; from pathlib import Path; from mlops_actions.files import write_atomically; "
        "write_atomically(Path(sys.argv[1]), 'SARIF-BODY\\n', what='sarif-file')"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(twin)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "SARIF-BODY\n"
    assert twin.is_symlink() and os.readlink(twin) == os.readlink("/dev/stdout")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stdout"]


def test_a_symbolic_link_is_written_through_and_kept(tmp_path: Path) -> None:
    target = tmp_path / "real.sarif"
    target.write_text("old\n")
    link = tmp_path / "link.sarif"
    link.symlink_to(target)
    write_atomically(link, "new\n", what="sarif-file")
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text() == "new\n"


def test_a_regular_file_is_replaced_whole_through_a_rename(tmp_path: Path) -> None:
    path = tmp_path / "out" / "report.json"
    write_atomically(path, "first\n", what="report")
    inode = path.stat().st_ino
    write_atomically(path, "second\n", what="report")
    assert path.read_text() == "second\n"
    assert path.stat().st_ino != inode  # a new file renamed over the old one
    assert sorted(p.name for p in path.parent.iterdir()) == ["report.json"]


# --- matrix and scan budgets -----------------------------------------------------------------


def _matrix_workflow(sizes: list[int], steps: int = 1, extra: str = "") -> str:
    keys = "".join(
        f"        k{i}: [{', '.join(str(v) for v in range(n))}]\n" for i, n in enumerate(sizes)
    )
    body = "".join("      - run: pip install torch==2.4.${{ matrix.k0 }}\n" for _ in range(steps))
    return (
        "on: push\njobs:\n  a:\n    runs-on: x\n    strategy:\n      matrix:\n"
        + keys
        + extra
        + "    steps:\n"
        + body
    )


def test_a_matrix_of_exactly_256_jobs_is_expanded() -> None:
    scan = scan_workflow(".github/workflows/ci.yml", _matrix_workflow([4, 4, 4, 4]))
    assert not scan.errors
    assert len(scan.groups) == 256


def test_a_matrix_of_257_jobs_is_refused_at_the_matrix() -> None:
    include = "        include:\n          - k0: new\n"
    scan = scan_workflow(".github/workflows/ci.yml", _matrix_workflow([4, 4, 4, 4], 1, include))
    assert [(e.line, e.message) for e in scan.errors] == [
        (7, "job a: the matrix makes more than 256 jobs, GitHub's limit per workflow run")
    ]
    assert len(scan.groups) == 1  # the job is still scanned once, its matrix values unresolved
    assert all(p.how == "unresolved" for p in scan.groups[0].pins if p.component == "torch")


def test_excludes_that_bring_a_large_product_under_the_cap_are_applied() -> None:
    # 20 x 20 = 400 combinations; excluding k0=0..9 leaves 200 jobs.
    exclude = "        exclude:\n" + "".join(f"          - k0: {i}\n" for i in range(10))
    scan = scan_workflow(".github/workflows/ci.yml", _matrix_workflow([20, 20], 1, exclude))
    assert not scan.errors and len(scan.groups) == 200


def test_a_big_job_times_a_big_matrix_is_scanned_within_the_budget() -> None:
    scan = scan_workflow(".github/workflows/ci.yml", _matrix_workflow([4, 4, 4, 4], steps=400))
    assert len(scan.errors) == 1
    message = scan.errors[0].message
    assert message.startswith("job a: only the first ") and "of 256 matrix combinations" in message
    assert 1 <= len(scan.groups) < 256


# --- the parsers' limits, at their boundaries ------------------------------------------------


def test_yaml_node_budget_counts_every_node_and_what_aliases_repeat() -> None:
    compose_yaml("[" + ", ".join(["x"] * (MAX_YAML_NODES - 1)) + "]")  # the list and its items
    with pytest.raises(YAMLLimitError, match="expands to more than 50,000 nodes"):
        compose_yaml("[" + ", ".join(["x"] * MAX_YAML_NODES) + "]")
    # 1 + 1 + 1,000 nodes for the anchored list, then each alias repeats its 1,001 nodes.
    anchored = "a: &a [" + ", ".join(["x"] * 1000) + "]\nb: ["
    compose_yaml(anchored + ", ".join(["*a"] * 47) + "]")
    with pytest.raises(YAMLLimitError) as caught:
        compose_yaml(anchored + ", ".join(["*a"] * 49) + "]")
    assert caught.value.problem_mark is not None and caught.value.problem_mark.line == 1


def test_nesting_is_refused_past_64_levels_in_yaml_json_and_toml() -> None:
    compose_yaml("[" * MAX_DEPTH + "]" * MAX_DEPTH)
    with pytest.raises(YAMLLimitError, match="nested more than 64"):
        compose_yaml("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1))
    loads_json("[" * MAX_DEPTH + "]" * MAX_DEPTH)
    with pytest.raises(ParseError, match="nested more than 64"):
        loads_json("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1))
    loads_toml("a = " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1))  # the table is a level
    with pytest.raises(ParseError, match="nested more than 64"):
        loads_toml("a = " + "[" * MAX_DEPTH + "]" * MAX_DEPTH)


def test_numbers_past_the_int_limit_are_errors_at_their_line() -> None:
    digits = "1" * (sys.get_int_max_str_digits() + 1)
    with pytest.raises(YAMLLimitError) as caught:
        construct_yaml(compose_yaml(f"a: 1\nb: {digits}\n"))
    assert caught.value.problem_mark is not None and caught.value.problem_mark.line == 1
    assert construct_yaml(compose_yaml(f"b: '{digits}'\n")) == {"b": digits}
    with pytest.raises(ParseError, match="more than 4300 digits"):
        loads_json(f'{{"n": {digits}}}')
    with pytest.raises(ParseError, match="more than 4300 digits"):
        loads_toml(f"n = {digits}")
    with pytest.raises(ParseError) as syntax:
        loads_toml("a = 1\nb = = 2\n")
    assert syntax.value.line == 2


def test_the_limits_hold_without_libyaml() -> None:
    # PyYAML built without libyaml: the pure-Python parser under the same composer.
    code = (
        "import sys; sys.modules['yaml._yaml'] = None\n"
        "import yaml\n"
        "from mlops_actions.parse import compose_yaml, _Loader\n"
        "assert 'CParser' not in str(_Loader.__mro__)\n"
        "for text in ('[' * 70 + ']' * 70, '[' + ', '.join(['x'] * 60000) + ']'):\n"
        "    try:\n"
        "        compose_yaml(text)\n"
        "    except yaml.MarkedYAMLError as exc:\n"
        "        print(exc.problem)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "nested more than 64 levels deep",
        "expands to more than 50,000 nodes (aliases count as what they repeat)",
    ]


def test_facts_nested_thousands_deep_end_in_one_line(tmp_path: Path) -> None:
    facts = tmp_path / "facts.json"
    facts.write_text('{"schema": ' + "[" * 5000 + "]" * 5000 + "}")
    repo = tmp_path / "repo"
    repo.mkdir()
    code, out = run_cli(["env-verify", "--facts", str(facts)], repo, tmp_path)
    assert code == 2, out
    assert "`--facts`" in out and "nested more than 64 levels" in out
    assert "internal error" not in out
