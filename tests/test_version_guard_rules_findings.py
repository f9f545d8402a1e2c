"""The findings accumulator and the rule registry exactly: severities and caps, one finding per
spot, disagreements reported once per line naming the others, pairs, order, fail thresholds."""

from __future__ import annotations

from typing import Any

import pytest

from mlops_actions.pins.model import Pin
from mlops_actions.version_guard.rules import RULES, fails, rules_markdown, worst
from mlops_actions.version_guard.rules.catalog import CATALOG, Rule, define, rule
from mlops_actions.version_guard.rules.findings import Finding, Findings
from mlops_actions.version_guard.rules.settings import Settings


def pin(file: str, line: int, component: str = "torch", value: str = "2.4.1", **kw: Any) -> Pin:
    return Pin(file, line, 2, component, value, "exact", "requirements", **kw)  # type: ignore[arg-type]


def test_a_finding_at_its_rule_severity_capped_and_once_per_spot() -> None:
    out = Findings(Settings(severities={"VG016": "error", "VG014": "off"}))
    a = pin("b.txt", 3)
    out.add("VG003", "m", a, related=[("b.txt", 3), ("c.txt", 1), ("c.txt", 1)], fix="f")
    out.add("VG003", "m", a, fix="other fix")  # the same rule, spot and message: kept once
    out.add("VG016", "drift", a, at_most="warning")  # configured error, capped
    out.add("VG001", "img", file="a/Dockerfile", line=2, col=5, at_most="error")
    out.add("VG015", "scan", file="a/Dockerfile", line=2, at_most="notice")
    out.add("VG014", "off", a)
    assert out.on("VG003") and not out.on("VG014")
    assert out.result() == [
        Finding("VG015", "notice", "scan", "a/Dockerfile", 2, None),  # no column sorts first
        Finding("VG001", "error", "img", "a/Dockerfile", 2, 5),
        Finding("VG003", "error", "m", "b.txt", 3, 2, (("c.txt", 1),), "f"),
        Finding("VG016", "warning", "drift", "b.txt", 3, 2),
    ]


def test_findings_sort_by_file_line_column_severity_and_rule() -> None:
    out = Findings(Settings())
    out.add("VG016", "w", file="a", line=1, col=1)  # warning
    out.add("VG003", "e", file="a", line=1, col=1)  # error
    out.add("VG014", "n", file="a", line=1, col=1)  # notice
    out.add("VG002", "e2", file="a", line=1, col=1)
    out.add("VG001", "c0", file="a", line=1)
    out.add("VG001", "l0", file="a")
    out.add("VG001", "nofile")
    out.add("VG001", "b", file="b", line=0, col=0)
    assert [(f.message) for f in out.result()] == ["nofile", "l0", "c0", "e2", "e", "w", "n", "b"]


def test_a_disagreement_is_reported_once_per_line_naming_the_others() -> None:
    out = Findings(Settings())
    here = pin("Dockerfile", 2)
    out.conflict("VG003", here, "torch 2.4.1", pin("req.txt", 1, value="2.3.0"), "2.3.0", "env-a")
    out.conflict("VG003", here, "torch 2.4.1", pin("ci.yml", 9, value="2.2.0"), "2.2.0", "env-b")
    out.conflict("VG003", here, "torch 2.4.1", pin("Dockerfile", 2), "same spot", "env-c")
    [finding] = out.result()
    assert finding == Finding(
        "VG003",
        "error",
        "torch 2.4.1 here, but 2.3.0 at req.txt:1 and 2.2.0 at ci.yml:9 "
        "(environments env-a and env-b)",
        "Dockerfile",
        2,
        2,
        (("req.txt", 1), ("ci.yml", 9)),
        "use one torch in all of these lines.",
    )


@pytest.mark.parametrize(
    ("rule_id", "component", "scope", "label"),
    [
        ("VG004", "torch", "environment e", "CUDA variant"),
        ("VG004", "cuda", "environment e", "CUDA variant"),
        ("VG005", "cudnn", "environment e", "cuDNN major"),
        ("VG006", "python", "environment e", "Python minor"),
        ("VG013", "cuda", "declared shared across deployable environments", "CUDA variant"),
    ],
)
def test_disagreement_wording_per_rule(
    rule_id: str, component: str, scope: str, label: str
) -> None:
    out = Findings(Settings())
    out.conflict(rule_id, pin("a", 1, component), "X", pin("b", 2, component), "Y", "e")
    [finding] = out.result()
    assert finding.message == f"X here, but Y at b:2 ({scope})"
    assert finding.fix == f"use one {label} in all of these lines."


def test_a_cuda_finding_per_spot_whatever_names_the_variant() -> None:
    out = Findings(Settings())
    spot = pin("Dockerfile", 1, "torch")
    spot_cuda = pin("Dockerfile", 1, "cuda", "12.1")
    out.conflict("VG004", spot, "CUDA 12.1", pin("a", 5, "cuda", "11.8"), "CUDA 11.8", "e")
    out.conflict("VG004", spot_cuda, "CUDA 12.1", pin("b", 6, "cuda", "11.8"), "CUDA 11.8", "e")
    [finding] = out.result()
    assert finding.related == (("a", 5), ("b", 6))


def test_conflicts_of_an_off_rule_are_dropped_and_cleared_after_a_result() -> None:
    out = Findings(Settings(severities={"VG003": "off"}))
    out.conflict("VG003", pin("a", 1), "x", pin("b", 2), "y", "e")
    assert out.conflicts == {} and out.result() == []
    on = Findings(Settings())
    on.conflict("VG005", pin("a", 1, "cudnn"), "x", pin("b", 2, "cudnn"), "y", "e")
    assert len(on.result()) == 1 and on.conflicts == {}
    assert len(on.result()) == 1  # kept as a finding, not reported twice


def test_many_environments_are_listed_up_to_three() -> None:
    out = Findings(Settings())
    for i, env in enumerate(["e1", "e2", "e3", "e4", "e5"]):
        out.conflict("VG003", pin("a", 1), "x", pin("b", 2 + i), f"y{i}", env)
    [finding] = out.result()
    assert finding.message.endswith("(environments e1, e2, e3 and 2 more)")
    assert "y0 at b:2, y1 at b:3, y2 at b:4, y3 at b:5 and 1 more" in finding.message


def test_pairs_give_one_finding_per_line_and_value_on_each_side() -> None:
    out = Findings(Settings())
    torch = pin("Dockerfile", 1)
    vision_a = pin("req.txt", 2, "torchvision", "0.15.0")
    vision_b = pin("ci.yml", 3, "torchvision", "0.15.0")
    out.pairs(
        "VG007",
        [(torch, "torch 2.4.1", vision_a, "0.15"), (torch, "torch 2.4.1", vision_b, "0.15")],
        "{this} does not go with {that} ({where})",
        "fix it",
    )
    assert out.result() == [
        Finding(
            "VG007",
            "error",
            "torch 2.4.1 does not go with 0.15 (req.txt:2 and ci.yml:3)",
            "Dockerfile",
            1,
            2,
            (("req.txt", 2), ("ci.yml", 3)),
            "fix it",
        ),
        Finding(
            "VG007",
            "error",
            "0.15 does not go with torch 2.4.1 (Dockerfile:1)",
            "ci.yml",
            3,
            2,
            (("Dockerfile", 1),),
            "fix it",
        ),
        Finding(
            "VG007",
            "error",
            "0.15 does not go with torch 2.4.1 (Dockerfile:1)",
            "req.txt",
            2,
            2,
            (("Dockerfile", 1),),
            "fix it",
        ),
    ]


def test_a_finding_as_a_dict() -> None:
    finding = Finding("VG003", "error", "m", "a", 1, 2, (("b", 3),), "f")
    assert finding.rule is CATALOG["VG003"]
    assert finding.to_dict() == {
        "rule": "VG003",
        "name": "torch-mismatch",
        "severity": "error",
        "message": "m",
        "file": "a",
        "line": 1,
        "col": 2,
        "related": [{"file": "b", "line": 3}],
        "fix": "f",
    }


# -- the registry -------------------------------------------------------------------------------


def test_rules_by_id_or_name_in_any_case() -> None:
    assert rule("vg003") is CATALOG["VG003"]
    assert rule("Torch-Mismatch") is CATALOG["VG003"]
    assert rule("VG999") is None and rule("nothing") is None


def test_a_rule_record_names_its_anchor_tests_and_help() -> None:
    r = CATALOG["VG003"]
    assert r.anchor == "vg003-torch-mismatch"
    assert r.tests == "tests/test_version_guard_rules_agreement.py"
    assert r.help_markdown() == (
        f"**VG003 torch-mismatch**: {r.summary}\n\n{r.rationale}\n\n**Remediation**\n\n"
        f"{r.remediation}"
    )


def test_a_rule_is_defined_once() -> None:
    with pytest.raises(ValueError, match="rule VG003 defined twice"):
        define("x.y", Rule("VG003", "again", "error", "s", "r", "m"))
    [made] = define(
        "mlops_actions.version_guard.rules.test_only", Rule("VG900", "t", "notice", "s", "r", "m")
    )
    try:
        assert made.family == "test_only" and CATALOG["VG900"] is made
    finally:
        del CATALOG["VG900"]


def test_worst_and_fail_thresholds() -> None:
    notice = Finding("VG014", "notice", "n", None, None)
    warning = Finding("VG016", "warning", "w", None, None)
    error = Finding("VG003", "error", "e", None, None)
    assert worst([]) == 0
    assert worst([notice, warning]) == 2 and worst([error, notice]) == 3
    assert fails([warning], "warning") and not fails([warning], "error")
    assert fails([notice], "notice") and not fails([], "notice")
    assert not fails([error], "never")


def test_the_rule_reference_exactly() -> None:
    text = rules_markdown()
    r = CATALOG["VG014"]
    assert text.startswith(
        "## Rules\n\nSet a rule's severity, or turn it off, in the config file by id or name:\n\n"
        "```yaml\nversion-guard:\n  rules:\n    VG014: off            # or: unresolved: off\n"
        "    python-mismatch: warning\n```\n\n| Id | Name | Default | What |\n|---|---|---|---|\n"
        "| [VG001](#vg001-image-unpinned) | `image-unpinned` | error |"
    )
    assert (
        f"\n### VG014 unresolved\n\n| What | Since | Default severity | Configurable |\n"
        f"|---|---|---|---|\n| {r.summary} | {r.since} | notice | {r.configurable} |\n\n"
        f"{r.rationale}\n\n#### Remediation\n\n{r.remediation}\n"
    ) in text
    assert text.endswith(RULES[-1].remediation + "\n")
    assert [line.split(" |")[0] for line in text.splitlines() if line.startswith("| [VG")] == [
        f"| [{x.id}](#{x.anchor})" for x in RULES
    ]


def test_disagreements_of_two_components_at_one_spot_are_two_findings() -> None:
    out = Findings(Settings())
    torch, vision = pin("Dockerfile", 1, "torch"), pin("Dockerfile", 1, "torchvision", "0.19.1")
    out.conflict("VG003", torch, "torch 2.4.1", pin("r.txt", 2), "torch 2.3.0", "e")
    out.conflict(
        "VG003",
        vision,
        "torchvision 0.19.1",
        pin("r.txt", 3, "torchvision"),
        "torchvision 0.18.0",
        "e",
    )
    assert [f.message for f in out.result()] == [
        "torch 2.4.1 here, but torch 2.3.0 at r.txt:2 (environment e)",
        "torchvision 0.19.1 here, but torchvision 0.18.0 at r.txt:3 (environment e)",
    ]


def test_a_finding_without_a_file_or_column_sorts_first() -> None:
    out = Findings(Settings())
    out.add("VG001", "upper", file="A.txt", line=1)
    out.add("VG001", "nofile")
    out.add("VG003", "column", file="b", line=1, col=1)
    out.add("VG014", "no column", file="b", line=1)
    assert [f.message for f in out.result()] == ["nofile", "upper", "no column", "column"]
