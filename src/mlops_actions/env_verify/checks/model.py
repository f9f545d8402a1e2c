"""What a check gives back, and the verdict helpers several fact families share."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from mlops_actions.env_verify.checks.expectations import Expectations, version_matches

Status = Literal["ok", "fail", "warn", "skip"]
STATUS_ORDER: tuple[Status, ...] = ("fail", "warn", "ok", "skip")

# The fix of a failing torch-stack check before ``install.apply_stack_fix`` replaces it with the
# one command computed for the whole stack.
STACK_FIX_PLACEHOLDER = "install the expected torch stack, or update the expectation."


@dataclass(frozen=True)
class CheckResult:
    id: str
    status: Status
    expected: str
    found: str
    message: str
    fix: str = ""

    def as_dict(self) -> dict[str, str]:
        return {
            "id": self.id,
            "status": self.status,
            "expected": self.expected,
            "found": self.found,
            "message": self.message,
            "fix": self.fix,
        }


@dataclass(frozen=True)
class Check:
    """One check declared in one place: its id, the facts it reads, and its fix."""

    id: str
    reads: tuple[str, ...]
    """Probe document paths (``gpu.devices[].health.ecc_volatile_uncorrected``) and
    expectation keys it depends on."""
    fix: str
    """The remedy shown when it fails or warns."""

    def result(
        self, status: Status, expected: str, found: str, message: str, fix: str | None = None
    ) -> CheckResult:
        remedy = (self.fix if fix is None else fix) if status in ("fail", "warn") else ""
        return CheckResult(self.id, status, expected, found, message, remedy)


def show(value: object) -> str:
    if value is None or value == "":
        return "(none)"
    return str(value)


def table_verdict(
    check_id: str,
    verdict: bool | None,
    expected: str,
    found: str,
    *,
    unknown: str,
    ok: str,
    bad: tuple[Status, str, str],
) -> CheckResult:
    """A check the compatibility table answers: it may not know (skip), agree (ok), or not
    (``bad`` is the status, message and fix then). ``unknown`` names what it does not know."""
    if verdict is None:
        return CheckResult(
            check_id, "skip", expected, found, f"the compatibility table does not know {unknown}"
        )
    if verdict:
        return CheckResult(check_id, "ok", expected, found, ok)
    status, message, fix = bad
    return CheckResult(check_id, status, expected, found, message, fix)


def expected_text(expectations: Expectations, name: str) -> str:
    value = getattr(expectations, name)
    text = ("true" if value else "false") if isinstance(value, bool) else str(value)
    origin = expectations.origin(name)
    return f"{text} ({origin})" if origin else text


def version_check(
    check_id: str,
    label: str,
    expectations: Expectations,
    name: str,
    found: str | None,
    *,
    variant: str | None = None,
    missing: str,
    fix: str,
) -> CheckResult:
    want = str(getattr(expectations, name))
    expected = expected_text(expectations, name)
    if found is None:
        return CheckResult(check_id, "fail", expected, "(none)", f"{label}: {missing}", fix)
    match = version_matches(want, found, variant)
    shown = found if variant is None or "+" in found else f"{found} ({variant})"
    if match.ok:
        note = f" ({match.detail})" if match.detail else ""
        return CheckResult(check_id, "ok", expected, shown, f"{label} {found} matches {want}{note}")
    reason = f": {match.detail}" if match.detail else ""
    return CheckResult(
        check_id,
        "fail",
        expected,
        shown,
        f"{label} is {found}, expected {want}{reason}",
        fix,
    )
