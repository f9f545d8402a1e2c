"""VG014 unresolved and VG015 scan-error: what cannot be checked is said, never guessed."""

from __future__ import annotations

from mlops_actions.pins.model import Pin, ScanError, ScanResult
from mlops_actions.version_guard.rules.diagnostics import check
from mlops_actions.version_guard.rules.findings import Context, Finding, Findings
from mlops_actions.version_guard.rules.settings import Settings
from tests.support.version_guard import at, of, run


def test_vg014_unresolved_is_a_notice_never_a_guess() -> None:
    findings = run("vg-floating")
    (notice,) = of(findings, "VG014", "docker/Dockerfile", 6)
    assert notice.severity == "notice" and "CUDA_VERSION" in notice.message
    assert at(findings, "VG004") == set()


def test_vg015_invalid_yaml() -> None:
    findings = run("vg-floating")
    assert {f for f, _ in at(findings, "VG015")} == {".github/workflows/broken.yml"}
    assert at(run("vg-consistent"), "VG015") == set()


# --- VG019 invalid-local-version ------------------------------------------------------------


def test_vg019_a_local_version_with_a_range_is_an_error() -> None:
    findings = run("vg-invalid-local")
    (bad,) = of(findings, "VG019", "requirements.txt", 1)
    assert bad.severity == "error" and "torch>=2.12.0+cpu" in bad.message
    assert "torch==2.12.0+cpu" in bad.fix and "whl/cpu" in bad.fix
    assert at(findings, "VG015") == set()  # not also a scan warning


def test_vg019_from_the_pin_the_scanner_records() -> None:
    # The scanner keeps `torch>=2.12.0+cpu` as an `invalid` pin rather than a scan error.
    findings = run("vg-constructs")
    (bad,) = of(findings, "VG019", "requirements/invalid-local.txt", 1)
    assert bad.severity == "error" and "whl/cpu" in bad.fix
    assert not of(findings, "VG015", "requirements/invalid-local.txt", 1)


# --- exact messages, straight from pins and scan errors ----------------------------------------


def _diagnose(pins: list[Pin], errors: list[ScanError]) -> list[Finding]:
    scan = ScanResult(".", tuple({p.file for p in pins}), tuple(pins), (), tuple(errors))
    out = Findings(Settings())
    check(Context(scan, [], Settings()), out)
    return out.result()


VG014_FIX = (
    "write the version literally, give the ARG a default, or pass it in version-guard.build-args."
)


def test_vg014_names_the_value_and_the_reason_when_known() -> None:
    pins = [
        Pin(
            "a",
            1,
            1,
            "cuda",
            "${CUDA}",
            "unresolved",
            "dockerfile",
            reason="ARG CUDA has no default",
        ),
        Pin("a", 2, 1, "torch", "", "unresolved", "dockerfile"),
        Pin("a", 3, 1, "torch", "2.4.1", "exact", "dockerfile"),
    ]
    assert _diagnose(pins, []) == [
        Finding(
            "VG014",
            "notice",
            "cuda `${CUDA}` could not be resolved: ARG CUDA has no default; not checked",
            "a",
            1,
            1,
            fix=VG014_FIX,
        ),
        Finding(
            "VG014", "notice", "torch could not be resolved; not checked", "a", 2, 1, fix=VG014_FIX
        ),
    ]


def test_vg015_and_vg019_exactly() -> None:
    errors = [
        ScanError("w.yml", 3, 4, "invalid YAML: mapping values are not allowed here"),
        ScanError(
            "r.txt",
            1,
            1,
            "Local version label can only be used with == or != operators: torch ~= 2.4.0+cu121",
        ),
        ScanError("s.txt", 2, 1, "Local version label can only be used with == or != operators"),
    ]
    pins = [Pin("p.txt", 5, 2, "torch", "torch<2.5+rocm6.1", "invalid", "requirements")]
    found = _diagnose(pins, errors)
    message = (
        "{} is not a valid requirement: a local version label only goes with == or !=, "
        "and pip rejects the whole install"
    )
    assert found == [
        Finding(
            "VG019",
            "error",
            message.format("`torch<2.5+rocm6.1`"),
            "p.txt",
            5,
            2,
            fix="write torch==2.5+rocm6.1 for that build, or torch<2.5 with "
            "--index-url https://download.pytorch.org/whl/rocm6.1.",
        ),
        Finding(
            "VG019",
            "error",
            message.format("`torch~=2.4.0+cu121`"),
            "r.txt",
            1,
            1,
            fix="write torch==2.4.0+cu121 for that build, or torch~=2.4.0 with "
            "--index-url https://download.pytorch.org/whl/cu121.",
        ),
        Finding(
            "VG019",
            "error",
            message.format("a local version label"),
            "s.txt",
            2,
            1,
            fix="use == with a local version label, or drop the label and choose the index.",
        ),
        Finding(
            "VG015",
            "warning",
            "invalid YAML: mapping values are not allowed here",
            "w.yml",
            3,
            4,
            fix="fix the file, or exclude it with version-guard.exclude.",
        ),
    ]
