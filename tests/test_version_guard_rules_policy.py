"""VG002 torch-not-exact and VG010 policy: what deployable files must pin, and the stack the
config declares."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mlops_actions.config import parse_config
from mlops_actions.errors import ConfigError
from mlops_actions.pins import Environment, Link, Pin, ScanResult, environments, scan_repo
from mlops_actions.version_guard.rules import (
    Settings,
    evaluate,
    parse_policy,
    settings_from_config,
)
from mlops_actions.version_guard.rules.findings import Context, Findings
from mlops_actions.version_guard.rules.policy import check as policy_check
from mlops_actions.version_guard.rules.roles import file_roles
from tests.support.version_guard import at, of, run, scanned


def test_vg002_ranges_in_deployable_files() -> None:
    findings = run("vg-floating")
    assert at(findings, "VG002") == {
        ("requirements.txt", 1),
        ("requirements.txt", 2),
        ("docker/Dockerfile", 4),
    }


def test_vg002_library_pyproject_may_use_ranges() -> None:
    assert ("pyproject.toml", 4) not in at(run("vg-floating"), "VG002")
    assert at(run("vg-consistent"), "VG002") == set()


def test_vg002_config_overrides_file_roles() -> None:
    as_library = run("vg-floating", yaml_text="version-guard:\n  library: [requirements.txt]\n")
    assert ("requirements.txt", 1) not in at(as_library, "VG002")
    as_app = run("vg-floating", yaml_text="version-guard:\n  deployable: [pyproject.toml]\n")
    assert ("pyproject.toml", 4) in at(as_app, "VG002")


def test_vg002_fires_only_where_torch_is_deployed() -> None:
    """vg-roles: an image and the files it installs are deployed; examples, docs, the list
    setup.py reads as install_requires, a CI-only test list and a conda file nothing installs
    are not."""
    findings = run("vg-roles")
    errors = {(f.file, f.line) for f in findings if f.rule_id == "VG002" and f.severity == "error"}
    assert errors == {
        ("docker/Dockerfile", 4),  # the image's own line
        ("requirements/base.txt", 1),  # included by the file the image installs
    }
    quiet = {
        "examples/finetune/requirements.txt",
        "examples/finetune/Dockerfile",
        "docs/requirements.txt",
        "requirements/runtime.txt",
        "requirements/test.txt",
        "environment.yml",
    }
    assert not {f for f, _ in at(findings, "VG002")} & quiet
    # the fixture really pins ranges in every quiet file
    loose = {p.file for p in scanned("vg-roles").pins if p.how in {"range", "unpinned"}}
    assert quiet - {"requirements/runtime.txt"} <= loose  # setup.py is not scanned


def test_vg002_nightly_install_is_a_notice() -> None:
    (nightly,) = of(run("vg-roles"), "VG002", "docker/nightly.Dockerfile", 3)
    assert nightly.severity == "notice" and "nightly" in nightly.message


def test_file_roles() -> None:
    roles = file_roles(scanned("vg-roles"), Settings())
    assert roles.deployable("docker/Dockerfile")
    assert roles.deployable("requirements/base.txt")
    assert not roles.deployable("requirements/test.txt")
    assert not roles.deployable("examples/finetune/Dockerfile")
    assert not roles.deployable("pyproject.toml")
    named = file_roles(scanned("vg-roles"), Settings(deployable=("requirements/test.txt",)))
    assert named.deployable("requirements/test.txt")


def test_vg010_declared_versions() -> None:
    findings = run("vg-consistent", yaml_text='environment:\n  torch: "2.5"\n  cuda: "12.4"\n')
    lines = at(findings, "VG010")
    assert ("requirements/train.txt", 4) in lines
    assert ("docker/train.Dockerfile", 3) in lines
    # matrix values are exempt, whatever they say
    assert not any(f == ".github/workflows/train.yml" for f, _ in lines)
    (req,) = [f for f in of(findings, "VG010", "requirements/train.txt", 4) if "torch" in f.message]
    assert "torch: 2.5" in req.message and ".github/mlops.yml" in req.message


def test_vg010_matching_policy_passes() -> None:
    text = 'environment:\n  torch: ">=2.3,<2.5"\n  python: "3.11"\n'
    assert at(run("vg-consistent", yaml_text=text), "VG010") == set()


def test_vg010_bad_declaration_is_a_config_error_at_the_key() -> None:
    with pytest.raises(ConfigError) as info:
        settings_from_config(parse_config('environment:\n  torch: "two"\n', ".github/mlops.yml"))
    assert info.value.line == 2 and "environment.torch" in info.value.message


# --- VG021 version-is-a-number ------------------------------------------------------------


def test_vg021_unquoted_python_version_is_reported_once() -> None:
    findings = run("vg-constructs")
    assert at(findings, "VG021") == {(".github/workflows/python-float.yml", 10)}
    (finding,) = of(findings, "VG021", ".github/workflows/python-float.yml", 10)
    assert finding.severity == "error" and "'3.10'" in finding.fix
    assert "`3.10` is the YAML number 3.1" in finding.message
    # The Python GitHub passes (3.1) is not checked again by the Python rules.
    assert not {
        f for f in findings if f.rule_id in {"VG006", "VG009"} and "float" in (f.file or "")
    }
    assert at(run("vg-consistent"), "VG021") == set()


def test_files_setup_py_reads_are_metadata_not_deployed() -> None:
    roles = file_roles(scanned("vg-scan-forms"), Settings())
    assert "requirements/runtime.txt" in roles.metadata
    assert not roles.deployable("requirements/runtime.txt")
    assert not at(run("vg-scan-forms"), "VG002") & {("requirements/runtime.txt", 2)}


def test_files_a_package_reads_as_metadata_are_not_deployed() -> None:
    """The scanner links setup.py (or pyproject.toml) to the requirement files it reads; such a
    file keeps its library ranges even when an image installs it too."""
    runtime = Pin("requirements/runtime.txt", 1, 1, "torch", ">=2.1", "range", "requirements")
    image = Pin("Dockerfile", 1, 6, "image", "python:3.12.7-slim", "exact", "dockerfile")
    links = (
        Link("installs", "Dockerfile", "requirements/runtime.txt", 3),
        Link("includes", "setup.py", "requirements/runtime.txt", 4),
    )
    scan = ScanResult(".", ("Dockerfile", "requirements/runtime.txt"), (runtime, image), links, ())
    roles = file_roles(scan, Settings())
    assert not roles.deployable("requirements/runtime.txt")
    assert roles.deployable("Dockerfile")
    env = Environment("docker:Dockerfile", "docker", "Dockerfile", "docker", scan.files, scan.pins)
    assert at(evaluate(scan, [env], Settings()), "VG002") == set()
    without = ScanResult(".", scan.files, scan.pins, links[:1], ())
    assert at(evaluate(without, [env], Settings()), "VG002") == {("requirements/runtime.txt", 1)}


def test_vg002_a_range_with_floor_and_ceiling_is_a_warning(tmp_path: Path) -> None:
    """vg-roles/requirements/deploy.txt: `torchvision>=0.19,<0.21` in a file an image installs
    reads like install_requires; unbounded `>=` ranges stay errors."""
    findings = run("vg-roles")
    (bounded,) = of(findings, "VG002", "requirements/deploy.txt", 3)
    # torch==2.4.1 in the same file decides it: a notice, and the fix names no floor.
    assert bounded.severity == "notice" and "floor" not in bounded.fix
    root = tmp_path / "repo"
    (root / "docker").mkdir(parents=True)
    (root / "docker" / "Dockerfile").write_text(
        "FROM python:3.11.9-slim\nCOPY requirements.txt /r.txt\nRUN pip install -r /r.txt\n"
    )
    (root / "requirements.txt").write_text("torch>=2.4,<2.6\n")
    scan = scan_repo(root)
    (torch,) = of(evaluate(scan, environments(scan), Settings()), "VG002", "requirements.txt", 1)
    assert torch.severity == "warning" and "bounded on both sides" in torch.message
    assert {f.severity for f in of(findings, "VG002", "requirements/base.txt", 1)} == {"error"}


def test_vg002_companions_beside_an_exact_torch_in_one_install_are_notices() -> None:
    """`pip install torch==2.4.1 torchvision "torchaudio>=2.4"`: the resolver picks the
    torchvision and torchaudio made for torch 2.4.1, so there is nothing to fix."""
    findings = run("vg-roles")
    line = [f for f in findings if (f.rule_id, f.file) == ("VG002", "docker/companion.Dockerfile")]
    assert len(line) == 2 and {f.severity for f in line} == {"notice"}
    assert all("torch 2.4.1 in the same install" in f.message for f in line)


# --- VG010 exactly, from pins and a declared stack ---------------------------------------------


def _vg010(pins: list[Pin], settings: Settings) -> list[tuple[object, ...]]:
    scan = ScanResult(".", tuple(dict.fromkeys(p.file for p in pins)), tuple(pins), (), ())
    out = Findings(settings)
    policy_check(Context(scan, [], settings), out)
    return [(f.rule_id, f.severity, f.message, f.file, f.line, f.fix) for f in out.result()]


def _p(file: str, line: int, component: str, value: str, **kw: Any) -> Pin:
    kw.setdefault("source", "requirements")
    kw.setdefault("how", "exact")
    return Pin(file, line, 1, component, value, raw=f"{component}=={value}", **kw)  # type: ignore[arg-type]


def _declared(component: str, text: str, line: int, file: str, shown: str) -> tuple[object, ...]:
    return (
        "VG010",
        "error",
        f"{component} {shown} here, but the config declares {component}: {text} (.github/mlops.yml)",
        file,
        line,
        f"use {component} {text}, or update environment.{component} in the config.",
    )


def test_vg010_each_declared_component_exactly() -> None:
    declared = [
        ("torch", "2.4"),
        ("cuda", "12.1"),
        ("python", ">=3.10,<3.12"),
        ("cudnn", "9.1"),
        ("torchvision", "0.19.1"),
    ]
    policy = tuple(p for c, t in declared if not isinstance(p := parse_policy(c, t), str))
    pins = [
        _p("requirements.txt", 1, "torch", "2.5.0"),
        _p("requirements.txt", 2, "torch", "2.4.1+cu118", variant="cu118"),
        _p("requirements.txt", 3, "torch", "2.4.1+cpu", variant="cpu"),
        _p("Dockerfile", 4, "python", "3.12", source="dockerfile"),
        _p("Dockerfile", 5, "python", "3.11", source="dockerfile"),
        _p("Dockerfile", 6, "cudnn", "9", source="dockerfile"),  # a major that 9.1 can be
        _p("Dockerfile", 7, "cudnn", "8", source="dockerfile"),
        _p("Dockerfile", 8, "cudnn", "9.1.0.70", source="dockerfile"),
        _p("requirements.txt", 9, "torchvision", "0.19.0"),
        _p("ci.yml", 10, "torch", "2.1.0", source="workflow", context="matrix.torch"),  # a matrix
        _p("requirements.txt", 11, "torch", ">=2", how="range"),  # not exact
        _p("r2.txt", 12, "torch", "2.4.1+rocm6.1", variant="rocm6.1"),
        _p("Dockerfile", 13, "python", "3.13t", source="dockerfile"),
    ]
    settings = Settings(policy=policy, config_path=".github/mlops.yml")
    assert _vg010(pins, settings) == [
        _declared("python", ">=3.10,<3.12", 4, "Dockerfile", "3.12"),
        _declared("cudnn", "9.1", 7, "Dockerfile", "8"),
        _declared("python", ">=3.10,<3.12", 13, "Dockerfile", "3.13t"),
        _declared("cuda", "12.1", 12, "r2.txt", "rocm6.1"),
        _declared("torch", "2.4", 1, "requirements.txt", "2.5.0"),
        _declared("cuda", "12.1", 2, "requirements.txt", "11.8"),
        _declared("cuda", "12.1", 3, "requirements.txt", "CPU"),
        _declared("torchvision", "0.19.1", 9, "requirements.txt", "0.19.0"),
    ]


def test_vg010_a_cpu_stack_without_a_config_path() -> None:
    cpu = parse_policy("cuda", "cpu")
    assert not isinstance(cpu, str)
    pins = [
        _p("requirements.txt", 2, "torch", "2.4.1+cu121", variant="cu121"),
        _p("requirements.txt", 3, "torch", "2.4.1+cpu", variant="cpu"),
    ]
    assert _vg010(pins, Settings(policy=(cpu,))) == [
        (
            "VG010",
            "error",
            "cuda 12.1 here, but the config declares cuda: cpu",
            "requirements.txt",
            2,
            "use cuda cpu, or update environment.cuda in the config.",
        )
    ]


def test_vg021_a_yaml_number_exactly() -> None:
    pins = [
        Pin(
            ".github/workflows/ci.yml",
            4,
            7,
            "python",
            "3.1",
            "exact",
            "workflow",
            raw="3.10",
            resolved_from=("unquoted YAML number 3.10",),
        ),
    ]
    assert _vg010(pins, Settings()) == [
        (
            "VG021",
            "error",
            "`3.10` is the YAML number 3.1: GitHub passes `3.1`, not `3.10`",
            ".github/workflows/ci.yml",
            4,
            "quote it: '3.10'.",
        )
    ]


def test_vg002_per_kind_of_loose_pin_exactly() -> None:
    def p(file: str, line: int, component: str, value: str, how: str = "exact", **kw: Any) -> Pin:
        kw.setdefault("source", "requirements")
        return Pin(file, line, 1, component, value, how, raw=f"{component}{value}", **kw)  # type: ignore[arg-type]

    pins = [
        p("Dockerfile", 1, "torch", "2.4.1", source="dockerfile"),
        p("Dockerfile", 2, "torchvision", ">=0.19", "range", source="dockerfile"),  # another RUN
        p("Dockerfile", 1, "torchaudio", "", "unpinned", source="dockerfile"),  # beside torch
        p("req/prod.txt", 1, "torch", ">=2.1,<2.5", "range"),
        p("req/prod.txt", 2, "torch", "~=2.4.0", "range"),
        p("req/prod.txt", 3, "torchvision", "", "unpinned"),
        p("req/prod.txt", 4, "torch", "", "latest"),
        p(
            "req/nightly.txt",
            1,
            "torch",
            "",
            "unpinned",
            resolved_from=("index https://download.pytorch.org/whl/nightly/cu121",),
        ),
        p("req/meta.txt", 1, "torch", "", "unpinned"),
        p("req/meta.txt", 2, "torch", ">=2", "range"),  # metadata: ranges are fine
        p("req/other.txt", 1, "torch", "", "unpinned"),  # not deployed
        p(
            "Dockerfile",
            5,
            "torch",
            "2.4.1",
            "range",
            source="dockerfile",
            derived_from="pytorch/pytorch:2.4.1",
        ),
        p("Dockerfile", 6, "numpy", "", "unpinned", source="dockerfile"),
    ]
    links = [
        Link("installs", "Dockerfile", "req/prod.txt", 3),
        Link("installs", "Dockerfile", "req/nightly.txt", 4),
        Link("installs", "Dockerfile", "req/meta.txt", 5),
        Link("reads", "setup.py", "req/meta.txt", 1),
    ]
    files = tuple(dict.fromkeys(x.file for x in pins))
    scan = ScanResult(".", files, tuple(pins), tuple(links), (), {"Dockerfile": ()})
    out = Findings(Settings())
    policy_check(Context(scan, [], Settings()), out)

    def loose(component: str, shown: str, file: str, note: str = "") -> str:
        return f"{component} is pinned as {shown} in a deployed file; pin an exact version{note}"

    def fix(component: str, file: str) -> str:
        return (
            f"write {component}==<version>, or list {file} under version-guard.library if it is "
            "not deployed."
        )

    bounded = "; a range bounded on both sides is what library metadata declares"
    assert [(f.severity, f.message, f.file, f.line, f.fix) for f in out.result()] == [
        (
            "notice",
            loose(
                "torchaudio",
                "no version",
                "Dockerfile",
                "; torch 2.4.1 in the same install decides which one the resolver picks",
            ),
            "Dockerfile",
            1,
            fix("torchaudio", "Dockerfile"),
        ),
        (
            "error",
            loose("torchvision", "`>=0.19`", "Dockerfile"),
            "Dockerfile",
            2,
            fix("torchvision", "Dockerfile"),
        ),
        (
            "warning",
            "torch has no version in req/meta.txt, which an image installs (it is also the "
            "package's metadata, so ranges are fine here)",
            "req/meta.txt",
            1,
            "give torch at least a range here, or pin it exactly in the image's own install.",
        ),
        (
            "notice",
            "torch no version comes from the nightly index in a deployed file: the build changes "
            "every day",
            "req/nightly.txt",
            1,
            "pin a dated nightly (torch==2.x.0.devYYYYMMDD) to make the build reproducible, or "
            "accept the notice for a deliberate nightly lane.",
        ),
        (
            "warning",
            loose("torch", "`>=2.1,<2.5`", "", bounded),
            "req/prod.txt",
            1,
            fix("torch", "req/prod.txt"),
        ),
        (
            "warning",
            loose("torch", "`~=2.4.0`", "", bounded),
            "req/prod.txt",
            2,
            fix("torch", "req/prod.txt"),
        ),
        (
            "error",
            loose("torchvision", "no version", ""),
            "req/prod.txt",
            3,
            fix("torchvision", "req/prod.txt"),
        ),
        (
            "error",
            loose("torch", "no version", ""),
            "req/prod.txt",
            4,
            fix("torch", "req/prod.txt"),
        ),
    ]


@pytest.mark.parametrize(
    ("value", "severity"),
    [("<2.5", "error"), (">2.0,<2.5", "warning"), (">=2.0", "error"), ("~=2.4.0", "warning")],
)
def test_vg002_only_a_range_with_floor_and_ceiling_is_a_warning(value: str, severity: str) -> None:
    pin = Pin("requirements.txt", 1, 1, "torch", value, "range", "dockerfile", raw=f"torch{value}")
    scan = ScanResult(".", ("requirements.txt",), (pin,), (), (), {"requirements.txt": ()})
    out = Findings(Settings())
    policy_check(Context(scan, [], Settings()), out)
    assert [f.severity for f in out.result()] == [severity]


def test_vg002_a_torch_range_beside_an_exact_torch_is_still_loose() -> None:
    pins = (
        Pin(
            "requirements.txt", 1, 1, "torch", "2.4.1", "exact", "requirements", raw="torch==2.4.1"
        ),
        Pin("requirements.txt", 2, 1, "torch", ">=2", "range", "requirements", raw="torch>=2"),
        Pin(
            "requirements.txt",
            3,
            1,
            "torch",
            ">=2.0,<=2.5",
            "range",
            "requirements",
            raw="torch>=2.0,<=2.5",
        ),
    )
    scan = ScanResult(
        ".",
        ("requirements.txt", "Dockerfile"),
        pins,
        (Link("installs", "Dockerfile", "requirements.txt", 1),),
        (),
        {"Dockerfile": ()},
    )
    out = Findings(Settings())
    policy_check(Context(scan, [], Settings()), out)
    assert [(f.line, f.severity) for f in out.result()] == [(2, "error"), (3, "warning")]


def test_vg010_a_free_threaded_python_is_its_minor() -> None:
    policy = parse_policy("python", ">=3.10,<3.12")
    assert not isinstance(policy, str)
    pin = Pin("Dockerfile", 1, 1, "python", "3.11t", "exact", "dockerfile", raw="python3.11t")
    out = Findings(Settings(policy=(policy,)))
    scan = ScanResult(".", ("Dockerfile",), (pin,), (), ())
    policy_check(Context(scan, [], Settings(policy=(policy,))), out)
    assert out.result() == []
