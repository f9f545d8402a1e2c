"""Policy rules: what deployable files must pin, and the stack the config declares.

VG002 torch-not-exact (docs/version-guard.md#vg002-torch-not-exact), VG010 policy
(docs/version-guard.md#vg010-policy) and VG021 version-is-a-number
(docs/version-guard.md#vg021-version-is-a-number).
Tests: tests/test_version_guard_rules_policy.py."""

from __future__ import annotations

from packaging.version import Version

from mlops_actions.compat import parse_version
from mlops_actions.pins.model import Pin, ScanResult
from mlops_actions.version_guard.rules.catalog import Rule, define
from mlops_actions.version_guard.rules.findings import Context, Findings
from mlops_actions.version_guard.rules.readings import (
    TORCH_FAMILY,
    from_matrix,
    python_minor,
    range_spec,
    variant_key,
    version_of,
    yaml_number,
)
from mlops_actions.version_guard.rules.roles import Roles, is_nightly

RULES = define(
    __name__,
    Rule(
        "VG002",
        "torch-not-exact",
        "error",
        "A deployed file gives torch, torchvision or torchaudio as a range or not at all.",
        "What gets deployed must be reproducible: `torch>=2.1` installs whatever is newest on the "
        "day of the build. Deployable means deployed: a Dockerfile's own lines, compose files, "
        "devcontainers, the requirement and conda files they install (with their `-r`/`-c` "
        "includes) and the files the config's `deployable` globs name. Example, tutorial, demo, "
        "notebook and docs trees, library metadata (`pyproject.toml`, `setup.cfg`, pip-tools "
        "inputs `*.in`, requirement files that `setup.py` reads as install_requires) and "
        "requirement lists only CI installs are not deployed (a test job may install the newest "
        "torch on purpose). A nightly install (a nightly index or a dev version) is a deliberate "
        "lane: it is a notice at most. A range with a floor and a ceiling (`>=2.0,<2.11`, "
        "`~=2.4.0`) is what library metadata declares, and such files are often also read as "
        "install_requires: a warning. So is a torchvision or torchaudio without an exact version "
        "in the same install as an exact torch (the resolver picks the release made for it). "
        "The config keys `deployable` and `library` (globs, "
        "relative to the scanned root) override the defaults; `deployable` wins when a file "
        "matches both.",
        "Pin an exact version (`torch==2.4.1`, with `+cu121` or a PyTorch index for a CUDA "
        "build), or list the file under `version-guard.library` if it is not deployed.",
    ),
    Rule(
        "VG010",
        "policy",
        "error",
        "A pin differs from the version the config's `environment` section declares.",
        "The `environment` section of `.github/mlops.yml` declares the stack the repository "
        "uses (`torch`, `torchvision`, `torchaudio`, `cuda`, `cudnn`, `python`: an exact version "
        "or a PEP 440 specifier; `cuda: cpu` for CPU builds). Every exact pin must satisfy it. "
        "Values of a CI test matrix are exempt: a matrix tests several versions on purpose.",
        "Change the pin to the declared version, or change the declaration in the config file "
        "if the stack moved.",
    ),
    Rule(
        "VG021",
        "version-is-a-number",
        "error",
        "An unquoted version in a workflow is a YAML number that changes it (`3.10` is 3.1).",
        "YAML reads `python-version: 3.10` as the number 3.1, and GitHub passes `3.1` to the "
        "action: setup-python then installs another Python or fails (actions/setup-python "
        "issues #662 and #198). The same happens to matrix values (`python: [3.9, 3.10]`) and "
        "`env:` values. The value GitHub really passes is what every other rule checks; this "
        "rule names the cause once.",
        "Quote the version: `python-version: '3.10'`.",
    ),
)


def check(ctx: Context, out: Findings) -> None:
    _exact_in_deployable(ctx.scan, ctx.roles, out)
    _policy(ctx.scan, out)
    _written_wrong(ctx.scan, out)


def _written_wrong(scan: ScanResult, out: Findings) -> None:
    for pin in scan.pins:
        if yaml_number(pin):
            out.add(
                "VG021",
                f"`{pin.raw}` is the YAML number {pin.value}: GitHub passes `{pin.value}`, "
                f"not `{pin.raw}`",
                pin,
                fix=f"quote it: '{pin.raw}'.",
            )


def _exact_in_deployable(scan: ScanResult, roles: Roles, out: Findings) -> None:
    # Exact torch pins by install: a requirements file, or one command line elsewhere.
    exact_torch: dict[tuple[str, int], Pin] = {}
    for p in scan.pins:
        if p.component == "torch" and p.how == "exact" and not p.derived_from:
            exact_torch.setdefault(_install_of(p), p)
    for pin in scan.pins:
        if pin.component not in TORCH_FAMILY or pin.how not in {"range", "unpinned", "latest"}:
            continue
        if pin.derived_from:
            continue
        if not roles.deployable(pin.file):
            if pin.how == "unpinned" and roles.installed_metadata(pin.file):
                # Library metadata that an image also installs: its ranges suit the library,
                # but no version at all leaves the image to whatever the index serves.
                out.add(
                    "VG002",
                    f"{pin.component} has no version in {pin.file}, which an image installs "
                    "(it is also the package's metadata, so ranges are fine here)",
                    pin,
                    fix=f"give {pin.component} at least a range here, or pin it exactly in the "
                    "image's own install.",
                    at_most="warning",
                )
            continue
        shown = f"`{pin.value}`" if pin.value else "no version"
        if is_nightly(pin):
            out.add(
                "VG002",
                f"{pin.component} {shown} comes from the nightly index in a deployed file: the "
                "build changes every day",
                pin,
                fix=f"pin a dated nightly ({pin.component}==2.x.0.devYYYYMMDD) to make the "
                "build reproducible, or accept the notice for a deliberate nightly lane.",
                at_most="notice",
            )
            continue
        bounded = _bounded(pin)
        note = (
            "; a range bounded on both sides is what library metadata declares" if bounded else ""
        )
        torch = exact_torch.get(_install_of(pin)) if pin.component != "torch" else None
        if torch is not None:
            # torchvision/torchaudio wheels require one exact torch, so the resolver picks the
            # release made for the torch pinned in the same install.
            note = f"; torch {torch.value} in the same install decides which one the resolver picks"
        out.add(
            "VG002",
            f"{pin.component} is pinned as {shown} in a deployed file; pin an exact version{note}",
            pin,
            fix=f"write {pin.component}==<version>, or list {pin.file} under "
            "version-guard.library if it is not deployed.",
            # Decided by the exact torch beside it: a fact worth a notice, nothing to fix.
            at_most="notice" if torch is not None else "warning" if bounded else None,
        )


def _install_of(pin: Pin) -> tuple[str, int]:
    """One install: a whole requirements file, or the line of a command elsewhere."""
    return (pin.file, 0 if pin.source == "requirements" else pin.line)


def _bounded(pin: Pin) -> bool:
    """``>=2.0,<2.11`` or ``~=2.4.0``: a range a library declares, with a floor and a ceiling
    (a file an image installs may also be the package's install_requires)."""
    spec = range_spec(pin)
    if spec is None:
        return False
    ops = {s.operator for s in spec}
    floor = bool(ops & {">=", ">", "~="})
    ceiling = bool(ops & {"<", "<=", "~="})
    return floor and ceiling


def _policy(scan: ScanResult, out: Findings) -> None:
    declared_in = f" ({out.settings.config_path})" if out.settings.config_path else ""
    for item in out.settings.policy:
        for pin in scan.pins:
            if from_matrix(pin) or pin.how != "exact":
                continue
            if item.component == "cuda":
                key = variant_key(pin)
                if key is None:
                    continue
                ok = (
                    (key == "cpu")
                    if item.cpu
                    else (key != "cpu" and not key.startswith("rocm") and item.allows(Version(key)))
                )
                shown = "CPU" if key == "cpu" else key
            elif item.component == "python":
                minor = python_minor(pin)
                if minor is None:
                    continue
                v = parse_version(pin.value.rstrip("t"))
                ok = v is not None and item.allows(v)
                shown = pin.value
            elif item.component == "cudnn":
                if pin.component != "cudnn" or (v := parse_version(pin.value)) is None:
                    continue
                ok = item.allows(v) or (
                    item.exact is not None
                    and len(v.release) < len(item.exact.release)
                    and item.exact.release[: len(v.release)] == v.release
                )
                shown = pin.value
            else:
                if pin.component != item.component or (v := version_of(pin)) is None:
                    continue
                ok = item.allows(v)
                shown = pin.value
            if not ok:
                out.add(
                    "VG010",
                    f"{item.component} {shown} here, but the config declares "
                    f"{item.component}: {item.text}{declared_in}",
                    pin,
                    fix=f"use {item.component} {item.text}, or update environment."
                    f"{item.component} in the config.",
                )
