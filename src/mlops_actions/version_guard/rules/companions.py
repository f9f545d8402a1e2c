"""Companion rules: torchvision and torchaudio built for the torch they are installed with.

VG007 companion-mismatch. Docs: docs/version-guard.md#vg007-companion-mismatch.
Tests: tests/test_version_guard_rules_companions.py."""

from __future__ import annotations

from mlops_actions.compat import torchaudio_compatible, torchvision_compatible
from mlops_actions.pins.model import Environment, Pin
from mlops_actions.version_guard.rules.catalog import Rule, define
from mlops_actions.version_guard.rules.findings import Context, Findings
from mlops_actions.version_guard.rules.readings import members, version_of

RULES = define(
    __name__,
    Rule(
        "VG007",
        "companion-mismatch",
        "error",
        "torchvision or torchaudio does not match the torch it is installed with.",
        "torchvision and torchaudio are built against one torch release (torch 2.x pairs with "
        "torchvision 0.(x+15)); another pairing fails at import with undefined symbols or makes "
        "pip replace torch. Checked against the compatibility table; pairs the table does not "
        "know are not reported.",
        "Pin the torchvision/torchaudio release made for that torch (the message names it), or "
        "change torch.",
    ),
)


def check(ctx: Context, out: Findings) -> None:
    for env in ctx.environments:
        _companions(env, out)


def _companions(env: Environment, out: Findings) -> None:
    pins = members(env)
    torches = [(p, v) for p in pins if p.component == "torch" and (v := version_of(p))]
    for comp in ("torchvision", "torchaudio"):
        check = torchvision_compatible if comp == "torchvision" else torchaudio_compatible
        bad: list[tuple[Pin, str, Pin, str]] = []
        for c in pins:
            cv = version_of(c) if c.component == comp else None
            if cv is None:
                continue
            same_file = [(p, v) for p, v in torches if p.file == c.file]
            for t, tv in same_file or torches:
                if check(str(tv), str(cv)) is False:
                    bad.append((c, f"{comp} {cv}", t, f"torch {tv}"))
        out.pairs(
            "VG007",
            bad,
            "{this} here and {that} ({where}) were not built for each other",
            f"pin the {comp} release made for that torch (torch 2.x pairs with torchvision "
            "0.(x+15)), or change torch.",
        )
