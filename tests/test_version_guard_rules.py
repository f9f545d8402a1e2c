"""The rule registry: every family's rules are registered once, documented from their records,
findable from their module (docs anchor, test module), configurable by id or name, and
``evaluate`` never raises on arbitrary pins."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlops_actions.config import parse_config, schema
from mlops_actions.errors import ConfigError
from mlops_actions.pins import COMPONENTS, Environment, Pin, ScanResult, environments
from mlops_actions.version_guard.rules import (
    FAMILIES,
    RULES,
    Settings,
    evaluate,
    fails,
    parse_policy,
    rules_markdown,
)
from tests.support.version_guard import ROOT, at, run, scanned

# --- the consistent repository and configuration -----------------------------------------


def test_consistent_repository_has_no_errors() -> None:
    # its lagging CPU serving stack (VG016) and the pytorch conda channel (VG017) are warnings
    assert [f for f in run("vg-consistent") if f.severity != "warning"] == []


def test_consistent_repository_really_spans_versions() -> None:
    """The negative cases mean something only if the fixture holds what they claim: a CI
    matrix over three torch releases, a CPU image on another torch, and a library range."""
    scan = scanned("vg-consistent")
    torches = {p.value for p in scan.pins if p.component == "torch" and p.how == "exact"}
    assert {"2.1.2", "2.4.1", "2.5.1", "2.3.1+cpu"} <= torches
    assert any(p.file == "pyproject.toml" and p.how == "range" for p in scan.pins)
    ids = {e.id for e in environments(scan)}
    assert len([i for i in ids if i.startswith("ci:.github/workflows/train.yml:test[")]) == 3


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


# --- the registry -----------------------------------------------------------------------------


def test_every_rule_is_findable_from_its_family_module() -> None:
    """A rule's module names its id and docs anchor; the family's test module exists and tests
    the rule by id; the docs page has the anchor's heading."""
    docs = (ROOT / "docs" / "version-guard.md").read_text(encoding="utf-8")
    headings = {
        re.sub(r"[^a-z0-9 -]", "", h.lower()).replace(" ", "-")
        for h in re.findall(r"^#+ (.+)$", docs, re.M)
    }
    families = {f.__name__.rsplit(".", 1)[-1]: f for f in FAMILIES}
    for r in RULES:
        module = families[r.family]
        assert r.id in (module.__doc__ or ""), (r.id, r.family)
        assert r.anchor in headings, r.anchor
        tests = ROOT / r.tests
        assert tests.is_file(), r.tests
        assert r.id.lower() in tests.read_text(encoding="utf-8").lower(), (r.id, r.tests)
    assert {r.family for r in RULES} == set(families)
