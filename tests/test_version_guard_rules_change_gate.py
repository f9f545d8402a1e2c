"""The change gate against a real git repository made in the test: a torch change made in one
file only fires VG011, the same change made everywhere passes, and the label rule applies."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from mlops_actions.config import parse_config
from mlops_actions.errors import EnvironmentProblem, UsageError
from mlops_actions.pins import environments, scan_repo
from mlops_actions.pins.model import Environment, Pin, ScanResult
from mlops_actions.version_guard.baseref import base_from_event, scan_ref
from mlops_actions.version_guard.rules import Finding, Settings, evaluate, settings_from_config
from mlops_actions.version_guard.rules.change_gate import check as gate_check
from mlops_actions.version_guard.rules.findings import Context, Findings
from tests.support.events import load_event, retarget

REPOS = Path(__file__).resolve().parent / "fixtures" / "repos"
GIT_ID = ["-c", "user.name=t", "-c", "user.email=t@example.invalid", "-c", "commit.gpgsign=false"]


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), *GIT_ID, *args], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """vg-consistent under `app/` of a fresh repository (the scan root is a subdirectory, as
    in a monorepo), committed on main, with a branch `pr` checked out."""
    root = tmp_path / "repo"
    shutil.copytree(REPOS / "vg-consistent", root / "app")
    (root / "README.md").write_text("monorepo\n", encoding="utf-8")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base")
    git(root, "checkout", "-q", "-b", "pr")
    return root


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def gate(root: Path, settings: Settings, labels: list[str] | None = None) -> list[Finding]:
    app = root / "app"
    head = scan_repo(app)
    base, sha = scan_ref(app, "main")
    assert sha == git(root, "rev-parse", "main")
    findings = evaluate(head, environments(head), settings, base_scan=base, pr_labels=labels)
    # vg-consistent's lagging CPU serving stack (VG016) and its conda channel (VG017) are
    # warnings tested with their rules; here only the gate and what a change can break count.
    return [f for f in findings if f.rule_id not in {"VG016", "VG017"}]


def rule(findings: list[Finding], rule_id: str) -> set[tuple[str | None, int | None]]:
    return {(f.file, f.line) for f in findings if f.rule_id == rule_id}


def test_unchanged_tree_passes(repo: Path) -> None:
    assert gate(repo, Settings()) == []


def test_torch_changed_in_one_file_only_fires_at_every_line(repo: Path) -> None:
    edit(repo / "app/requirements/train.txt", "torch==2.4.1+cu121", "torch==2.5.1+cu121")
    findings = gate(repo, Settings())
    lines = rule(findings, "VG011")
    assert ("requirements/train.txt", 4) in lines
    # other deployable files and the same environment still on 2.4.1
    assert {("docker/train.Dockerfile", 3), ("environment.yml", 8)} <= lines
    # the CI matrix tests 2.4.1 on purpose: never part of the gate
    assert not any(f.startswith(".github/") for f, _ in lines)
    (changed,) = [
        f for f in findings if f.rule_id == "VG011" and f.file == "requirements/train.txt"
    ]
    assert "2.4.1+cu121 to 2.5.1+cu121" in changed.message
    assert ("docker/train.Dockerfile", 3) in changed.related


def test_cuda_changed_in_one_file_only(repo: Path) -> None:
    edit(repo / "app/environment.yml", "pytorch-cuda=12.1", "pytorch-cuda=12.4")
    findings = gate(repo, Settings())
    lines = rule(findings, "VG011")
    assert ("environment.yml", 9) in lines
    assert ("requirements/train.txt", 2) in lines  # the cu121 index URL


def test_consistent_change_passes_the_gate(repo: Path) -> None:
    app = repo / "app"
    for path in app.rglob("*"):
        if path.is_file() and ".git" not in path.parts:
            text = path.read_text(encoding="utf-8")
            path.write_text(text.replace("2.4.1", "2.5.1").replace("0.19.1", "0.20.1"))
    git(repo, "commit", "-q", "-am", "torch 2.5.1 everywhere")
    findings = gate(repo, Settings())
    assert rule(findings, "VG011") == set()
    assert findings == []


def test_label_required_for_a_stack_change(repo: Path) -> None:
    edit(repo / "app/requirements/train.txt", "torch==2.4.1+cu121", "torch==2.5.1+cu121")
    settings = settings_from_config(
        parse_config("version-guard:\n  change-label: stack-upgrade\n", ".github/mlops.yml")
    )
    without = gate(repo, settings, labels=["bug"])
    assert rule(without, "VG012") == {("requirements/train.txt", 4)}
    assert rule(gate(repo, settings, labels=["stack-upgrade"]), "VG012") == set()
    # Outside a pull request (no labels known) the label rule does not apply.
    assert rule(gate(repo, settings, labels=None), "VG012") == set()


def test_label_not_needed_without_a_pin_change(repo: Path) -> None:
    edit(repo / "app/requirements/base.txt", "tqdm==4.66.4", "tqdm==4.66.5")
    settings = settings_from_config(
        parse_config("version-guard:\n  change-label: stack-upgrade\n", ".github/mlops.yml")
    )
    assert gate(repo, settings, labels=[]) == []


def test_moved_lines_still_match_their_base_pin(repo: Path) -> None:
    edit(repo / "app/requirements/train.txt", "-r base.txt\n", "-r base.txt\n# pinned\n\n")
    assert gate(repo, Settings()) == []


def test_unknown_ref_is_a_usage_error_naming_the_ref(repo: Path) -> None:
    with pytest.raises(UsageError) as info:
        scan_ref(repo / "app", "no-such-branch")
    assert "no-such-branch" in info.value.message
    assert "fetch-depth: 0" in info.value.fix


def test_branch_name_found_as_origin_remote(repo: Path, tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "-b", "pr", str(repo), str(clone)], check=True)
    assert "main" not in git(clone, "branch", "--list")
    _, sha = scan_ref(clone / "app", "main")  # resolved as origin/main
    assert sha == git(repo, "rev-parse", "main")


def test_not_a_repository(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as info:
        scan_ref(tmp_path, "main")
    assert "not inside a git repository" in info.value.message


def test_git_missing_is_an_environment_problem(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "no-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    with pytest.raises(EnvironmentProblem) as info:
        scan_ref(repo / "app", "main")
    assert info.value.exit_code == 4


def test_base_and_labels_from_the_pull_request_event() -> None:
    event = retarget(load_event("pull_request.opened"), labels=["stack-upgrade", "bug"])
    base, labels = base_from_event("pull_request", event)
    assert base == event["pull_request"]["base"]["sha"]
    assert labels == ["stack-upgrade", "bug"]
    assert base_from_event("push", load_event("push")) == (None, None)


def test_requirement_file_with_any_name_is_taken_from_the_base(repo: Path) -> None:
    """A Dockerfile that installs `deps/pins.lst`-style files: the base scan must see what the
    working-tree scan sees, so an unchanged tree stays quiet."""
    app = repo / "app"
    (app / "deps").mkdir()
    (app / "deps" / "gpu.txt").write_text("torch==2.4.1+cu121\n", encoding="utf-8")
    edit(app / "requirements/train.txt", "-r base.txt\n", "-r base.txt\n-r ../deps/gpu.txt\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "deps")
    git(repo, "branch", "-f", "main", "HEAD")
    base, _ = scan_ref(app, "main")
    assert any(p.file == "deps/gpu.txt" for p in base.pins)
    edit(app / "deps/gpu.txt", "2.4.1", "2.5.1")
    assert ("deps/gpu.txt", 1) in rule(gate(repo, Settings()), "VG011")


# --- exact findings against a base scan --------------------------------------------------------


def _p(
    file: str, line: int, component: str, value: str, source: str = "requirements", **kw: Any
) -> Pin:
    return Pin(file, line, 1, component, value, "exact", source, raw=f"{component}=={value}", **kw)  # type: ignore[arg-type]


def _scan(pins: list[Pin]) -> ScanResult:
    return ScanResult(
        ".", tuple(dict.fromkeys(p.file for p in pins)), tuple(pins), (), (), {"Dockerfile": ()}
    )


def _gate(labels: list[str] | None) -> list[tuple[object, ...]]:
    base = [
        _p("Dockerfile", 1, "torch", "2.4.1+cu121", "dockerfile", variant="cu121"),
        _p("req/a.txt", 1, "torch", "2.4.1"),
        _p("req/b.txt", 2, "torch", "2.4.1"),
        _p("req/c.txt", 3, "torch", "2.4.1"),
        _p("ci.yml", 5, "torch", "2.3.0", "workflow", context="matrix.torch"),
        _p("examples/r.txt", 1, "torch", "2.4.1"),  # a side tree, in no environment
        _p("examples/e.txt", 1, "torch", "2.4.1"),  # a side tree, in the image's environment
        _p("req/d.txt", 1, "cuda", "12.1"),
    ]
    head = [
        _p("Dockerfile", 1, "torch", "2.5.1+cu124", "dockerfile", variant="cu124"),
        _p("req/a.txt", 1, "torch", "2.5.1"),
        *base[2:4],
        _p("ci.yml", 5, "torch", "2.5.0", "workflow", context="matrix.torch"),
        *base[5:],
    ]
    envs = [
        Environment(
            "img",
            "docker",
            "img",
            "docker",
            ("Dockerfile", "req/b.txt"),
            (head[0], head[2], head[6]),
        )
    ]
    settings = Settings(change_label="torch-change")
    out = Findings(settings)
    gate_check(Context(_scan(head), envs, settings, _scan(base), labels), out)
    return [(f.rule_id, f.message, f.file, f.line, f.related, f.fix) for f in out.result()]


def test_vg011_and_vg012_exactly() -> None:
    def moved(
        what: str, was: str, now: str, stale: str, related: tuple[tuple[str, int], ...], file: str
    ) -> tuple[object, ...]:
        pins = "pin" if len(related) > 1 else "pins"
        return (
            "VG011",
            f"{what} changed from {was} to {now} here, but {stale} still {pins} {was}",
            file,
            1,
            related,
            f"change {what} in every listed line the same way, or revert this change.",
        )

    def still(
        what: str, was: str, now: str, at: tuple[str, int], file: str, line: int
    ) -> tuple[object, ...]:
        return (
            "VG011",
            f"{what} still {was} here, but this pull request changed it to {now} at {at[0]}:{at[1]}",
            file,
            line,
            (at,),
            f"change this line to {what} {now} too, or revert the other change.",
        )

    def label(was: str, now: str, file: str, line: int) -> tuple[object, ...]:
        return (
            "VG012",
            f"torch changed from {was} to {now}; a change to torch or CUDA pins needs the label "
            "`torch-change` on the pull request",
            file,
            line,
            (),
            "add the label `torch-change` to the pull request and re-run the check.",
        )

    docker, a = ("Dockerfile", 1), ("req/a.txt", 1)
    b, c, e = ("req/b.txt", 2), ("req/c.txt", 3), ("examples/e.txt", 1)
    without_label = [
        moved(
            "torch",
            "2.4.1+cu121",
            "2.5.1+cu124",
            "examples/e.txt:1, req/b.txt:2 and req/c.txt:3",
            (e, b, c),
            "Dockerfile",
        ),
        moved("CUDA", "12.1", "12.4", "req/d.txt:1", (("req/d.txt", 1),), "Dockerfile"),
        label("2.4.1+cu121", "2.5.1+cu124", "Dockerfile", 1),
        label("2.3.0", "2.5.0", "ci.yml", 5),  # a matrix value moves: labelled, not compared
        still("torch", "2.4.1+cu121", "2.5.1+cu124", docker, *e),
        moved("torch", "2.4.1", "2.5.1", "req/b.txt:2 and req/c.txt:3", (b, c), "req/a.txt"),
        label("2.4.1", "2.5.1", "req/a.txt", 1),
        still("torch", "2.4.1+cu121", "2.5.1+cu124", docker, *b),
        still("torch", "2.4.1", "2.5.1", a, *b),
        still("torch", "2.4.1+cu121", "2.5.1+cu124", docker, *c),
        still("torch", "2.4.1", "2.5.1", a, *c),
        still("CUDA", "12.1", "12.4", docker, "req/d.txt", 1),
    ]
    assert _gate(["other"]) == without_label
    no_vg012 = [f for f in without_label if f[0] == "VG011"]
    assert _gate(None) == no_vg012  # outside a pull request
    assert _gate(["torch-change"]) == no_vg012


def _run_gate(
    base: list[Pin], head: list[Pin], envs: list[Environment] | None = None
) -> list[tuple[object, ...]]:
    settings = Settings()
    out = Findings(settings)
    gate_check(Context(_scan(head), envs or [], settings, _scan(base), None), out)
    return [(f.message, f.file, f.line) for f in out.result()]


def test_vg011_a_cuda_move_is_a_cuda_change_only() -> None:
    base = [_p("a.txt", 1, "cuda", "12.1"), _p("b.txt", 1, "cuda", "12.1")]
    head = [_p("a.txt", 1, "cuda", "12.4"), base[1]]
    assert _run_gate(base, head) == [
        ("CUDA changed from 12.1 to 12.4 here, but b.txt:1 still pins 12.1", "a.txt", 1),
        ("CUDA still 12.1 here, but this pull request changed it to 12.4 at a.txt:1", "b.txt", 1),
    ]


def test_vg011_a_cpu_build_is_shown_as_cpu() -> None:
    base = [
        _p("a.txt", 1, "torch", "2.4.1+cpu", variant="cpu"),
        _p("b.txt", 1, "torch", "2.4.1+cpu", variant="cpu"),
    ]
    head = [_p("a.txt", 1, "torch", "2.4.1+cu121", variant="cu121"), base[1]]
    assert _run_gate(base, head) == [
        ("CUDA changed from CPU to 12.1 here, but b.txt:1 still pins CPU", "a.txt", 1),
        ("CUDA still CPU here, but this pull request changed it to 12.1 at a.txt:1", "b.txt", 1),
    ]


def test_vg011_an_unversioned_pin_is_never_stale() -> None:
    base = [
        _p("a.txt", 1, "torch", "2.4.1"),
        Pin("b.txt", 1, 1, "torch", ">=2", "range", "requirements", raw="torch>=2"),
    ]
    head = [_p("a.txt", 1, "torch", "2.5.1"), base[1]]
    assert _run_gate(base, head) == []


def test_vg011_pins_of_one_file_are_matched_in_order_when_lines_move() -> None:
    base = [_p("a.txt", 1, "torch", "2.4.1"), _p("a.txt", 2, "torch", "2.4.1")]
    head = [_p("a.txt", 2, "torch", "2.5.1"), _p("a.txt", 3, "torch", "2.4.1")]
    assert _run_gate(base, head) == [
        ("torch changed from 2.4.1 to 2.5.1 here, but a.txt:3 still pins 2.4.1", "a.txt", 2),
        (
            "torch still 2.4.1 here, but this pull request changed it to 2.5.1 at a.txt:2",
            "a.txt",
            3,
        ),
    ]


def test_vg011_side_tree_pins_move_together_only_in_one_environment() -> None:
    base = [_p("examples/a.txt", 1, "torch", "2.4.1"), _p("examples/b.txt", 1, "torch", "2.4.1")]
    head = [_p("examples/a.txt", 1, "torch", "2.5.1"), base[1]]
    apart = [
        Environment("x", "requirements", "x", "requirements", ("examples/a.txt",), (head[0],)),
        Environment("y", "requirements", "y", "requirements", ("examples/b.txt",), (head[1],)),
    ]
    assert _run_gate(base, head, apart) == []
    together = [
        Environment(
            "x",
            "requirements",
            "x",
            "requirements",
            ("examples/a.txt", "examples/b.txt"),
            tuple(head),
        )
    ]
    assert len(_run_gate(base, head, together)) == 2


def test_vg011_a_matrix_move_does_not_hide_the_moves_after_it() -> None:
    base = [
        _p(".github/workflows/ci.yml", 5, "torch", "2.3.0", "workflow", context="matrix.torch"),
        _p("a.txt", 1, "torch", "2.4.1"),
        _p("b.txt", 1, "torch", "2.4.1"),
    ]
    head = [
        _p(".github/workflows/ci.yml", 5, "torch", "2.5.0", "workflow", context="matrix.torch"),
        _p("a.txt", 1, "torch", "2.5.1"),
        base[2],
    ]
    assert [f[1:] for f in _run_gate(base, head)] == [("a.txt", 1), ("b.txt", 1)]


def test_vg011_a_move_without_stale_lines_does_not_hide_the_next() -> None:
    base = [
        _p("a.txt", 1, "torch", "2.3.0"),
        _p("b.txt", 1, "torch", "2.4.1"),
        _p("c.txt", 1, "torch", "2.4.1"),
    ]
    head = [_p("a.txt", 1, "torch", "2.5.1"), _p("b.txt", 1, "torch", "2.5.1"), base[2]]
    assert [f[1:] for f in _run_gate(base, head)] == [("b.txt", 1), ("c.txt", 1)]
