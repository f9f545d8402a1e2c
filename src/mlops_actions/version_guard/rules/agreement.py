"""Agreement rules: the pins of one environment name one torch, CUDA variant, cuDNN major and
Python minor; across environments, what the config declares shared agrees.

VG003 torch-mismatch, VG004 cuda-mismatch, VG005 cudnn-mismatch, VG006 python-mismatch and
VG013 shared-mismatch (docs/version-guard.md#vg003-torch-mismatch and the headings after it).
Tests: tests/test_version_guard_rules_agreement.py."""

from __future__ import annotations

from collections.abc import Sequence

from packaging.version import Version

from mlops_actions.pins.model import Environment, Pin, ScanResult
from mlops_actions.version_guard.rules.catalog import Rule, define
from mlops_actions.version_guard.rules.findings import Context, Findings
from mlops_actions.version_guard.rules.readings import (
    TORCH_FAMILY,
    cudnn_major,
    cudnn_text,
    from_matrix,
    members,
    python_minor,
    range_spec,
    variant_key,
    variant_text,
    version_of,
)
from mlops_actions.version_guard.rules.roles import Roles

RULES = define(
    __name__,
    Rule(
        "VG003",
        "torch-mismatch",
        "error",
        "Files of one environment pin different torch, torchvision or torchaudio versions.",
        "Inside one environment (a Docker build with the requirement files it installs, a conda "
        "environment, a CI matrix entry, …) every pin of a package must name the same version, "
        "and every range must allow it; otherwise the last install wins and the image holds a "
        "version nobody reviewed. Each line involved is reported, naming the others.",
        "Make every pin of the package in the environment the same version; the finding lists "
        "the other lines. Keep the version in one place (an `ARG` or a constraints file) where you "
        "can.",
    ),
    Rule(
        "VG004",
        "cuda-mismatch",
        "error",
        "Files of one environment name different CUDA variants.",
        "The CUDA variant is written in many places: the image tag (`cuda12.1`), a local version "
        "(`+cu121`), a PyTorch index URL (`/whl/cu121`), conda's `pytorch-cuda=`, a `CUDA_VERSION` "
        "`ARG`, apt's `cuda-toolkit-12-1`. When they disagree, pip replaces the image's torch or "
        "the extension build uses another toolkit than torch; a CPU wheel in a CUDA image is the "
        "same mistake. Compared at the `major.minor` level.",
        "Choose one CUDA version for the environment and write it everywhere the finding lists "
        "(image tag, index URL, local versions, `pytorch-cuda=`).",
    ),
    Rule(
        "VG005",
        "cudnn-mismatch",
        "error",
        "Files of one environment name different cuDNN major versions.",
        "A cuDNN major (from an image tag such as `cudnn8`, an apt `libcudnn9` package or an "
        "`nvidia-cudnn-cu12` pin) that differs from the rest of the environment means two cuDNN "
        "libraries and whichever loads first wins.",
        "Use images and packages of one cuDNN major: torch 2.4 and later wheels and images use "
        "cuDNN 9, earlier ones cuDNN 8.",
    ),
    Rule(
        "VG006",
        "python-mismatch",
        "error",
        "Files of one environment name different Python minor versions.",
        "Wheels are built per Python minor; a `.python-version` of 3.11 beside a conda "
        "`python=3.10` means local runs and the deployed environment resolve different wheels. "
        "`requires-python` ranges must include the pinned minor.",
        "Use one Python minor in every file of the environment; widen `requires-python` if it "
        "excludes the pinned version.",
    ),
    Rule(
        "VG013",
        "shared-mismatch",
        "error",
        "Deployable environments disagree on a component the config declares shared.",
        "Environments may differ on purpose (a CPU and a CUDA image, a test matrix), so across "
        "environments only the components listed in `version-guard.shared` must agree, and only "
        "between deployable files (CI workflows are never compared).",
        "Use the same version of the component in every deployable environment, or remove it "
        "from `shared`.",
    ),
)


def check(ctx: Context, out: Findings) -> None:
    for env in ctx.environments:
        _agreement(env, out)
    _shared(ctx.scan, ctx.environments, ctx.roles, out)


def _agreement(env: Environment, out: Findings) -> None:
    pins = members(env)
    name = env.name or env.id
    # torch, torchvision, torchaudio: one version; ranges must allow it.
    for component in TORCH_FAMILY:
        exact = [(p, v) for p in pins if p.component == component and (v := version_of(p))]
        for p, v in exact:
            for q, w in exact:
                if v != w:
                    out.conflict(
                        "VG003", p, f"{component} {p.value}", q, f"{component} {q.value}", name
                    )
        for r in pins:
            spec = range_spec(r) if r.component == component else None
            if spec is None:
                continue
            for p, v in exact:
                if not spec.contains(v, prereleases=True):
                    out.conflict(
                        "VG003", r, f"{component} `{r.value}`", p, f"{component} {p.value}", name
                    )
                    out.conflict(
                        "VG003", p, f"{component} {p.value}", r, f"{component} `{r.value}`", name
                    )
    # CUDA variant.
    keyed = [(p, k) for p in pins if (k := variant_key(p))]
    for p, k in keyed:
        for q, m in keyed:
            if k != m:
                out.conflict("VG004", p, variant_text(p, k), q, variant_text(q, m), name)
    # cuDNN major.
    majors = [(p, k) for p in pins if (k := cudnn_major(p))]
    for p, k in majors:
        for q, m in majors:
            if k != m:
                out.conflict("VG005", p, cudnn_text(p, k), q, cudnn_text(q, m), name)
    # Python minor; ranges must include it.
    minors = [(p, k) for p in pins if (k := python_minor(p))]
    for p, k in minors:
        for q, m in minors:
            if k != m:
                out.conflict("VG006", p, f"Python {k}", q, f"Python {m}", name)
    for r in pins:
        spec = range_spec(r) if r.component == "python" else None
        if spec is None:
            continue
        for p, k in minors:
            if not spec.contains(Version(k.rstrip("t")), prereleases=True):
                out.conflict("VG006", r, f"Python `{r.value}`", p, f"Python {k}", name)
                out.conflict("VG006", p, f"Python {k}", r, f"Python `{r.value}`", name)


def _shared(scan: ScanResult, envs: Sequence[Environment], roles: Roles, out: Findings) -> None:
    if not out.settings.shared:
        return
    env_of: dict[Pin, str] = {}
    for env in envs:
        for p in env.pins:
            env_of.setdefault(p, env.name or env.id)
    pins = [p for p in dict.fromkeys(scan.pins) if roles.deployable(p.file) and not from_matrix(p)]
    for component in out.settings.shared:
        keyed: list[tuple[Pin, str, str]] = []
        for p in pins:
            if component in TORCH_FAMILY:
                v = version_of(p) if p.component == component else None
                k, shown = (str(v), f"{component} {p.value}") if v else (None, "")
            elif component == "cuda":
                k = variant_key(p)
                shown = variant_text(p, k) if k else ""
            elif component == "cudnn":
                k = cudnn_major(p)
                shown = cudnn_text(p, k) if k else ""
            else:
                k = python_minor(p)
                shown = f"Python {k}" if k else ""
            if k is not None:
                keyed.append((p, k, shown))
        for p, k, s in keyed:
            for q, m, t in keyed:
                if k != m:
                    out.conflict("VG013", p, s, q, t, env_of.get(q, q.file))
