"""Diagnostics: what the scan could not resolve or read, so silence is never mistaken for a pass.

VG014 unresolved (docs/version-guard.md#vg014-unresolved) and VG015 scan-error
(docs/version-guard.md#vg015-scan-error). Tests: tests/test_version_guard_rules_diagnostics.py."""

from __future__ import annotations

from mlops_actions.pins.model import ScanResult
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


def _scan_errors(scan: ScanResult, out: Findings) -> None:
    for err in scan.errors:
        out.add(
            "VG015",
            err.message,
            file=err.file,
            line=err.line,
            col=err.col,
            fix="fix the file, or exclude it with version-guard.exclude.",
        )
