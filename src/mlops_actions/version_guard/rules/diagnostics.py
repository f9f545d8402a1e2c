"""Diagnostics: what the scan could not resolve or read, so silence is never mistaken for a pass.

VG014 unresolved (docs/version-guard.md#vg014-unresolved), VG015 scan-error
(docs/version-guard.md#vg015-scan-error) and VG019 invalid-local-version
(docs/version-guard.md#vg019-invalid-local-version). Tests: tests/test_version_guard_rules_diagnostics.py."""

from __future__ import annotations

import re

from mlops_actions.pins.model import ScanError, ScanResult
from mlops_actions.version_guard.rules.catalog import Rule, define
from mlops_actions.version_guard.rules.findings import Context, Findings

RULES = define(
    __name__,
    Rule(
        "VG014",
        "unresolved",
        "notice",
        "A pin's value could not be resolved statically.",
        "A version carried by an undefined `ARG`, a workflow expression other than "
        "`${{ matrix.* }}`/`${{ env.* }}`, an environment variable in a requirements file, or an "
        "image tag that does not follow a known grammar cannot be checked. It is reported, never "
        "guessed.",
        "Give the `ARG` a default or pass it in `version-guard.build-args`, write the version "
        "literally, or accept the notice (set the rule to `off`).",
    ),
    Rule(
        "VG015",
        "scan-error",
        "warning",
        "A pin-bearing file could not be read or parsed.",
        "A YAML or TOML syntax error, an unreadable file or an `-r` include that does not exist "
        "hides pins from every other rule.",
        "Fix the file at the reported line, or exclude it with `version-guard.exclude`.",
    ),
    Rule(
        "VG019",
        "invalid-local-version",
        "error",
        "A requirement joins a local version (`+cpu`, `+cu121`) to an operator other than `==` "
        "or `!=`.",
        "PEP 440 allows a local version label only in `==` and `!=`: `torch>=2.12.0+cpu` is not a "
        "valid requirement, and pip rejects the whole requirements file or command, so nothing "
        "installs. It is reported as an error, not as a scan warning (VG015).",
        "Pin the exact build (`torch==2.12.0+cpu`), or keep the range without the label and "
        "choose the build with the index (`torch>=2.12.0` with "
        "`--index-url https://download.pytorch.org/whl/cpu`).",
    ),
)


def check(ctx: Context, out: Findings) -> None:
    _unresolved(ctx.scan, out)
    _scan_errors(ctx.scan, out)


def _unresolved(scan: ScanResult, out: Findings) -> None:
    for pin in scan.pins:
        if pin.how != "unresolved":
            continue
        reason = f": {pin.reason}" if pin.reason else ""
        shown = f" `{pin.value}`" if pin.value else ""
        out.add(
            "VG014",
            f"{pin.component}{shown} could not be resolved{reason}; not checked",
            pin,
            fix="write the version literally, give the ARG a default, or pass it in "
            "version-guard.build-args.",
        )


_LOCAL_LABEL = "Local version label can only be used"
_LOCAL_SPEC = re.compile(
    r"(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*(?P<op>~=|>=|<=|>|<|===)\s*"
    r"(?P<version>[0-9][^+,;\s'\"]*)\+(?P<label>[A-Za-z0-9.]+)"
)


def _scan_errors(scan: ScanResult, out: Findings) -> None:
    for pin in scan.pins:
        if pin.how == "invalid":  # the scanner records a local label in a range this way
            _invalid_local_version(ScanError(pin.file, pin.line, pin.col, pin.value), out)
    for err in scan.errors:
        if _LOCAL_LABEL in err.message:
            _invalid_local_version(err, out)
            continue
        out.add(
            "VG015",
            err.message,
            file=err.file,
            line=err.line,
            col=err.col,
            fix="fix the file, or exclude it with version-guard.exclude.",
        )


def _invalid_local_version(err: ScanError, out: Findings) -> None:
    m = _LOCAL_SPEC.search(err.message)
    if m is None:
        fix = "use == with a local version label, or drop the label and choose the index."
        shown = "a local version label"
    else:
        name, op, version, label = m.group("name", "op", "version", "label")
        shown = f"`{name}{op}{version}+{label}`"
        fix = (
            f"write {name}=={version}+{label} for that build, or {name}{op}{version} with "
            f"--index-url https://download.pytorch.org/whl/{label}."
        )
    out.add(
        "VG019",
        f"{shown} is not a valid requirement: a local version label only goes with == or !=, "
        "and pip rejects the whole install",
        file=err.file,
        line=err.line,
        col=err.col,
        fix=fix,
    )
