"""version-guard rules over the fixture repositories: each rule fires where a disagreement or a
non-existent build is planted, and stays quiet on the consistent repository."""

from __future__ import annotations

import json
import shutil
from functools import cache
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlops_actions.config import parse_config, schema
from mlops_actions.errors import ConfigError
from mlops_actions.pins import COMPONENTS, Environment, Pin, ScanResult, environments, scan_repo
from mlops_actions.version_guard.rules import (
    RULES,
    Finding,
    Settings,
    config_environments,
    evaluate,
    fails,
    is_deployable,
    parse_policy,
    rules_markdown,
    settings_from_config,
)

ROOT = Path(__file__).resolve().parents[1]
REPOS = ROOT / "tests" / "fixtures" / "repos"


@cache
def scanned(name: str) -> ScanResult:
    return scan_repo(REPOS / name)


def run(name: str, settings: Settings | None = None, yaml_text: str = "") -> list[Finding]:
    if yaml_text:
        settings = settings_from_config(parse_config(yaml_text, ".github/mlops.yml"))
    settings = settings or Settings()
    scan = scanned(name)
    envs = [*environments(scan), *config_environments(scan, settings)]
    return evaluate(scan, envs, settings)


def at(findings: list[Finding], rule_id: str) -> set[tuple[str | None, int | None]]:
    return {(f.file, f.line) for f in findings if f.rule_id == rule_id}


def of(findings: list[Finding], rule_id: str, file: str, line: int) -> list[Finding]:
    return [f for f in findings if (f.rule_id, f.file, f.line) == (rule_id, file, line)]


# --- the consistent repository --------------------------------------------------------------


def test_consistent_repository_has_no_findings() -> None:
    assert run("vg-consistent") == []


def test_consistent_repository_really_spans_versions() -> None:
    """The negative cases mean something only if the fixture holds what they claim: a CI
    matrix over three torch releases, a CPU image on another torch, and a library range."""
    scan = scanned("vg-consistent")
    torches = {p.value for p in scan.pins if p.component == "torch" and p.how == "exact"}
    assert {"2.1.2", "2.4.1", "2.5.1", "2.3.1+cpu"} <= torches
    assert any(p.file == "pyproject.toml" and p.how == "range" for p in scan.pins)
    ids = {e.id for e in environments(scan)}
    assert len([i for i in ids if i.startswith("ci:.github/workflows/train.yml:test[")]) == 3


# --- VG001 image-unpinned -------------------------------------------------------------------


def test_vg001_floating_tag_through_arg_and_untagged_service() -> None:
    findings = run("vg-floating")
    assert at(findings, "VG001") == {("docker/Dockerfile", 3), ("docker-compose.yml", 3)}
    (via_arg,) = of(findings, "VG001", "docker/Dockerfile", 3)
    assert "latest" in via_arg.message and "ARG BASE_TAG=latest (line 2)" in via_arg.message


def test_vg001_digest_and_versioned_tags_pass() -> None:
    # docker-compose.yml:5 pins pytorch/pytorch by digest; vg-consistent pins versioned tags.
    assert ("docker-compose.yml", 5) not in at(run("vg-floating"), "VG001")
    assert at(run("vg-consistent"), "VG001") == set()


# --- VG002 torch-not-exact ------------------------------------------------------------------


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


def test_deployable_defaults() -> None:
    s = Settings()
    assert is_deployable("requirements/train.txt", s, "requirements")
    assert is_deployable("docker/train.Dockerfile", s, "dockerfile")
    assert not is_deployable("requirements.in", s, "requirements")
    assert not is_deployable("pkg/pyproject.toml", s, "pyproject")
    assert not is_deployable(".github/workflows/ci.yml", s, "workflow")


# --- VG003..VG006 agreement inside an environment ------------------------------------------


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


# --- VG007 companion-mismatch ---------------------------------------------------------------


def test_vg007_torchvision_for_another_torch() -> None:
    findings = run("vg-mismatch")
    assert at(findings, "VG007") == {("requirements/train.txt", 3), ("requirements/train.txt", 4)}
    (tv,) = of(findings, "VG007", "requirements/train.txt", 4)
    assert "torchvision 0.18.1" in tv.message and "torch 2.5.0" in tv.message


# --- VG008 no-official-build ----------------------------------------------------------------


def test_vg008_builds_that_never_existed() -> None:
    findings = run("vg-nonexistent")
    assert at(findings, "VG008") == {
        ("requirements/legacy.txt", 2),  # torch==2.0.1+cu124
        ("requirements/old-index.txt", 2),  # torch 2.1 from the cu124 index
        ("requirements/serve.txt", 2),  # torch 2.4 from cu128, the index in an include
        ("requirements/base.txt", 1),
        ("docker/Dockerfile", 1),  # pytorch/pytorch 2.4.0 … cudnn8
        ("environment.yml", 5),  # pytorch=2.1.0 with pytorch-cuda=12.4
        ("environment.yml", 6),
    }
    (legacy,) = of(findings, "VG008", "requirements/legacy.txt", 2)
    assert "11.7 and 11.8" in legacy.message


def test_vg008_real_builds_pass() -> None:
    assert at(run("vg-consistent"), "VG008") == set()
    assert at(run("vg-mismatch"), "VG008") == set()  # 2.5.0+cu124 exists


# --- VG009 python-unsupported ---------------------------------------------------------------


def test_vg009_matrix_entry_with_unsupported_python() -> None:
    findings = run("vg-mismatch")
    # include entry torch 2.1.2 + Python 3.12: the matrix values and the resolved step lines.
    assert at(findings, "VG009") == {
        (".github/workflows/ci.yml", 9),
        (".github/workflows/ci.yml", 10),
        (".github/workflows/ci.yml", 17),
        (".github/workflows/ci.yml", 18),
    }


def test_vg009_supported_matrix_passes() -> None:
    assert at(run("vg-consistent"), "VG009") == set()


# --- VG010 policy ---------------------------------------------------------------------------


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


# --- VG013 shared ---------------------------------------------------------------------------


def test_vg013_shared_torch_across_deployable_environments() -> None:
    findings = run("vg-consistent", yaml_text="version-guard:\n  shared: [torch]\n")
    lines = at(findings, "VG013")
    assert ("requirements/cpu.txt", 2) in lines  # 2.3.1+cpu against the 2.4.1 images
    assert ("requirements/train.txt", 4) in lines
    assert not any(f.startswith(".github/") for f, _ in lines)


def test_vg013_without_shared_nothing_is_compared_across() -> None:
    assert at(run("vg-consistent"), "VG013") == set()


# --- VG014 unresolved and VG015 scan-error --------------------------------------------------


def test_vg014_unresolved_is_a_notice_never_a_guess() -> None:
    findings = run("vg-floating")
    (notice,) = of(findings, "VG014", "docker/Dockerfile", 6)
    assert notice.severity == "notice" and "CUDA_VERSION" in notice.message
    assert at(findings, "VG004") == set()


def test_vg015_invalid_yaml() -> None:
    findings = run("vg-floating")
    assert {f for f, _ in at(findings, "VG015")} == {".github/workflows/broken.yml"}
    assert at(run("vg-consistent"), "VG015") == set()


# --- configuration --------------------------------------------------------------------------


def test_rules_can_be_turned_off_and_reweighted_by_id_or_name() -> None:
    text = "version-guard:\n  rules:\n    VG001: off\n    torch-not-exact: warning\n"
    findings = run("vg-floating", yaml_text=text)
    assert at(findings, "VG001") == set()
    assert {f.severity for f in findings if f.rule_id == "VG002"} == {"warning"}
    assert not fails([f for f in findings if f.rule_id == "VG002"], "error")
    assert fails([f for f in findings if f.rule_id == "VG002"], "warning")


def test_unknown_rule_in_config_is_rejected_with_a_suggestion() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config("version-guard:\n  rules:\n    torch-mismach: off\n", ".github/mlops.yml")
    assert info.value.line == 3 and "torch-mismatch" in info.value.fix


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


def test_schema_lists_every_rule_by_id_and_name() -> None:
    props = schema()["properties"]["version-guard"]["properties"]["rules"]["properties"]
    assert set(props) == {r.id for r in RULES} | {r.name for r in RULES}
    assert all(p.get("description") for p in props.values())


def test_docs_carry_the_generated_rule_reference() -> None:
    text = (ROOT / "docs" / "version-guard.md").read_text(encoding="utf-8")
    assert rules_markdown() in text
    assert "## Environments" in text


def test_every_rule_has_a_unique_id_name_and_a_remediation() -> None:
    assert len({r.id for r in RULES}) == len({r.name for r in RULES}) == len(RULES)
    for r in RULES:
        assert r.id.startswith("VG") and r.remediation and r.rationale
        assert "**Remediation**" in r.help_markdown()


def test_findings_serialise() -> None:
    data = [f.to_dict() for f in run("vg-mismatch")]
    assert json.loads(json.dumps(data)) == data


# --- robustness -----------------------------------------------------------------------------

_values = st.one_of(
    st.sampled_from(
        [
            "2.4.1",
            "2.4.1+cu121",
            "2.0.1+cu124",
            "0.19.1",
            "12.1",
            "12-8",
            "cu124",
            "cpu",
            "3.11",
            "3.13t",
            "9",
            "8.9.2.26",
            ">=2.1",
            "~=2.4.0",
            "3.x",
            "latest",
            "",
            "rocm6.1",
            "==2.*",
        ]
    ),
    st.text(max_size=12),
)
_pins = st.builds(
    Pin,
    file=st.sampled_from(["a/Dockerfile", "requirements.txt", "pyproject.toml", ".github/w.yml"]),
    line=st.integers(1, 50),
    col=st.integers(1, 5),
    component=st.sampled_from(list(COMPONENTS)),
    value=_values,
    how=st.sampled_from(["exact", "range", "unpinned", "latest", "unresolved", "digest"]),
    source=st.sampled_from(["dockerfile", "requirements", "pyproject", "conda", "workflow"]),
    context=st.sampled_from(["", "job t matrix.torch", "stage base", "-i"]),
    variant=st.one_of(st.none(), st.sampled_from(["cu121", "cu128", "cpu", "rocm6.1", "cu99x"])),
    derived_from=st.one_of(
        st.none(), st.sampled_from(["pytorch/pytorch:2.4.0-cuda12.1-cudnn8-runtime", "x:y"])
    ),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(_pins, max_size=12), st.lists(_pins, max_size=6), st.sampled_from([None, ["l"]]))
def test_evaluate_never_raises_and_findings_point_at_pins(
    pins: list[Pin], base: list[Pin], labels: list[str] | None
) -> None:
    scan = ScanResult(
        root=".", files=tuple({p.file for p in pins}), pins=tuple(pins), links=(), errors=()
    )
    base_scan = ScanResult(root=".", files=(), pins=tuple(base), links=(), errors=())
    config = Settings(
        shared=("torch", "cuda", "cudnn", "python"),
        change_label="l",
        policy=tuple(
            p
            for p in (parse_policy("torch", "2.4"), parse_policy("cuda", "cpu"))
            if not isinstance(p, str)
        ),
    )
    envs = [Environment("e", "docker", "e", "docker", scan.files, scan.pins)]
    findings = evaluate(scan, envs, config, base_scan=base_scan, pr_labels=labels)
    spots = {(p.file, p.line) for p in pins}
    for f in findings:
        assert (f.file, f.line) in spots
        assert f.message and f.severity in ("error", "warning", "notice")
