"""Agreement rules: the pins of one environment name one torch, CUDA variant, cuDNN major and
Python minor; across environments, what the config declares shared agrees.

VG003 torch-mismatch, VG004 cuda-mismatch, VG005 cudnn-mismatch, VG006 python-mismatch, VG013
shared-mismatch and VG016 stack-drift (docs/version-guard.md#vg003-torch-mismatch, the headings
after it, and #vg016-stack-drift).
Tests: tests/test_version_guard_rules_agreement.py."""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass
from itertools import chain, islice
from typing import TypeVar

from packaging.version import Version

from mlops_actions.compat import cuda_builds
from mlops_actions.pins.model import Environment, Pin, ScanResult
from mlops_actions.version_guard.rules.catalog import Rule, define
from mlops_actions.version_guard.rules.findings import Context, Findings
from mlops_actions.version_guard.rules.readings import (
    TORCH_FAMILY,
    cudnn_major,
    cudnn_text,
    from_index,
    from_matrix,
    from_pypi,
    indexed,
    join_items,
    members,
    python_minor,
    range_spec,
    variant_key,
    variant_text,
    version_of,
    wheel_cuda,
    where,
)
from mlops_actions.version_guard.rules.roles import Roles
from mlops_actions.version_guard.rules.settings import glob_match

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
        "same mistake. A torch pin with no `+cuXXX`, index or find-links is PyPI's build, which "
        "on Linux x86_64 carries the release's default CUDA (torch 1.13: 11.7, 2.4: 12.1, 2.5: "
        "12.4, 2.11: 13.0); it is compared with the image or toolkit CUDA, as an error when the "
        "major differs and a warning when only the minor does. Compared at the `major.minor` "
        "level.",
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
    Rule(
        "VG016",
        "stack-drift",
        "warning",
        "Exact torch or CUDA pins in different parts of the repository tell different stories.",
        "With no configuration, every exact torch or CUDA pin of the repository's own stack "
        "(images, requirement and conda files, project metadata, CI job containers) is expected "
        "to name one torch release: `requirements.txt` on 2.5.1, `pyproject.toml` on 2.4.0 and a "
        "CI container on CUDA 12.1 are three stories, and which one a user gets depends on how "
        "they install. Recognised variants of one stack pass: the CPU, ROCm, CUDA, XPU and "
        "Neuron builds of one release, CI matrix entries, nightly lanes, requirement lists only CI "
        "installs, example and docs trees. For CUDA, a torch build's CUDA is compared with CI job "
        "containers that carry no torch; images without torch, and files whose path names a "
        "flavour (`cu118`, `cpu`, `rocm`), are separate images. The finding "
        "names which files tell which story; each file is reported once per story, at its first "
        "line. Lines of one environment are reported by "
        "VG003/VG004 instead.",
        "Make the pins name one release, or declare the separate stack in "
        "`version-guard.environments` (a named environment is its own story); "
        "`version-guard.shared` turns the disagreement into an error (VG013) for deployed files.",
    ),
)


def check(ctx: Context, out: Findings) -> None:
    # Environments with the same members disagree the same way: worked out once, and each
    # environment's name still joins the finding.
    said: dict[tuple[Pin, ...], list[_Disagreement]] = {}
    for env, pins in ctx.with_members:
        found = said.get(pins)
        if found is None:
            found = said[pins] = _disagreements(pins)
        name = env.name or env.id
        for rule_id, p, shown, q, q_shown in found:
            out.conflict(rule_id, p, shown, q, q_shown, name)
    for env in ctx.distinct_environments:
        _pypi_default_cuda(env, out)
    _shared(ctx.scan, ctx.environments, ctx.roles, out)
    _stories(ctx, out)


_Disagreement = tuple[str, Pin, str, Pin, str]
"""(rule id, pin, how it is shown, the pin it disagrees with, how that one is shown)."""


def _disagreements(pins: Sequence[Pin]) -> list[_Disagreement]:
    out: list[_Disagreement] = []
    # torch, torchvision, torchaudio: one version; ranges must allow it.
    for component in TORCH_FAMILY:
        exact = [(p, v) for p in pins if p.component == component and (v := version_of(p))]
        for p, _, q, _ in _apart(exact):
            out.append(("VG003", p, f"{component} {p.value}", q, f"{component} {q.value}"))
        versions = _first_of_each(exact)
        for r in pins:
            spec = range_spec(r) if r.component == component else None
            if spec is None:
                continue
            for v, p in versions:
                if not spec.contains(v, prereleases=True):
                    out.append(
                        ("VG003", r, f"{component} `{r.value}`", p, f"{component} {p.value}")
                    )
                    out.append(
                        ("VG003", p, f"{component} {p.value}", r, f"{component} `{r.value}`")
                    )
    # CUDA variant.
    keyed = [(p, k) for p in pins if (k := variant_key(p))]
    for p, k, q, m in _apart(keyed):
        out.append(("VG004", p, variant_text(p, k), q, variant_text(q, m)))
    # cuDNN major.
    majors = [(p, k) for p in pins if (k := cudnn_major(p))]
    for p, k, q, m in _apart(majors):
        out.append(("VG005", p, cudnn_text(p, k), q, cudnn_text(q, m)))
    # Python minor; ranges must include it.
    minors = [(p, k) for p in pins if (k := python_minor(p))]
    for p, k, q, m in _apart(minors):
        out.append(("VG006", p, f"Python {k}", q, f"Python {m}"))
    python_versions = _first_of_each(minors)
    for r in pins:
        spec = range_spec(r) if r.component == "python" else None
        if spec is None:
            continue
        for k, p in python_versions:
            if not spec.contains(Version(k.rstrip("t")), prereleases=True):
                out.append(("VG006", r, f"Python `{r.value}`", p, f"Python {k}"))
                out.append(("VG006", p, f"Python {k}", r, f"Python `{r.value}`"))
    return out


_OTHERS_PER_PIN = 8
"""Disagreeing lines one finding is paired with. The message names them; a hostile file of
thousands of different pins then costs linear time and memory, not a pair per two pins."""

_VALUES_PER_RANGE = 64
"""Distinct pinned values a range is checked against: no real environment pins more."""

K = TypeVar("K", bound=Hashable)


def _apart(keyed: Sequence[tuple[Pin, K]]) -> Iterator[tuple[Pin, K, Pin, K]]:
    """Each pin with up to ``_OTHERS_PER_PIN`` pins whose key differs from its own."""
    by_key: dict[K, list[Pin]] = {}
    for p, k in keyed:
        by_key.setdefault(k, []).append(p)
    if len(by_key) < 2:
        return
    for p, k in keyed:
        paired = 0
        for m, others in by_key.items():
            if m == k:
                continue
            for q in others[: _OTHERS_PER_PIN - paired]:
                yield p, k, q, m
                paired += 1
            if paired >= _OTHERS_PER_PIN:
                break


def _first_of_each(keyed: Sequence[tuple[Pin, K]]) -> list[tuple[K, Pin]]:
    """One pin per distinct value (the first), at most ``_VALUES_PER_RANGE`` values."""
    first: dict[K, Pin] = {}
    for p, k in keyed:
        first.setdefault(k, p)
    return list(first.items())[:_VALUES_PER_RANGE]


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
        shown_of = {p: text for p, _, text in keyed}
        for p, _, q, _ in _apart([(p, k) for p, k, _ in keyed]):
            out.conflict("VG013", p, shown_of[p], q, shown_of[q], env_of.get(q, q.file))


# --- VG004 for a bare PyPI pin: the CUDA build PyPI serves ------------------------------------

_TOOLKIT_SOURCES = frozenset({"dockerfile", "compose", "devcontainer", "workflow"})


def _pypi_default_cuda(env: Environment, out: Findings) -> None:
    """A torch pin with no ``+cuXXX``, index or find-links is PyPI's build, which on Linux
    x86_64 carries the release's default CUDA (torch 1.13: 11.7, 2.4: 12.1, 2.11: 13.0);
    compare it with the CUDA of the image or toolkit the environment runs on. Another major is
    an error; another minor only a warning (the wheel carries its own CUDA runtime)."""
    pins = members(env)
    toolkits = [
        (p, k)
        for p in pins
        if p.component == "cuda"
        and p.source in _TOOLKIT_SOURCES
        and not from_index(p)
        and (k := variant_key(p)) is not None
        and k != "cpu"
        and not k.startswith("rocm")
    ]
    if not toolkits:
        return
    env_indexed = indexed(pins)
    for pin in pins:
        v = version_of(pin)
        pypi = v is not None and from_pypi(pin, env_indexed)
        implied = wheel_cuda(pin, env_indexed) if pypi else None
        if implied is None:
            continue
        by_key: dict[str, list[Pin]] = {}
        for toolkit, key in toolkits:
            if key != implied:
                by_key.setdefault(key, []).append(toolkit)
        for key, places in by_key.items():
            # Another major breaks extension builds and needs another driver: an error, unless
            # the version came through a variable (an index may be built from one too).
            major = key.split(".")[0] != implied.split(".")[0]
            out.add(
                "VG004",
                f"torch {pin.value} from PyPI is the CUDA {implied} build (PyPI's default for "
                f"torch {v}), but this environment runs CUDA {key} "
                f"({join_items([where(t) for t in places])})",
                pin,
                related=[(t.file, t.line) for t in places],
                fix=_pypi_fix(str(v), key, implied),
                at_most=None if major and not pin.resolved_from else "warning",
            )


def _pypi_fix(torch: str, key: str, implied: str) -> str:
    tag = "cu" + key.replace(".", "")
    if key in (cuda_builds(torch) or ()):
        return (
            f"install the {tag} build (torch=={torch}+{tag}, or the PyTorch index "
            f"https://download.pytorch.org/whl/{tag}), or use an image on CUDA {implied}."
        )
    return f"use an image on CUDA {implied}, or a torch release built for CUDA {key}."


# --- VG016: one story per repository -----------------------------------------------------------

_FLAVOUR = re.compile(
    r"(?:^|[^a-z0-9])(?:cu\d{2,3}|cuda[-_.]?\d+|cpu|rocm|xpu|neuron|hpu|gpu)", re.I
)


@dataclass(frozen=True)
class _Told:
    pin: Pin
    story: str
    """What the pin says, as shown: ``torch 2.4.1`` or ``CUDA 12.1``."""
    release: tuple[int, ...] | None
    """The torch release it belongs to, when known (a flavour of that release)."""
    stack: str
    """The config environment its file is in, or "" for the repository's default stack."""


def _stories(ctx: Context, out: Findings) -> None:
    """Exact torch and CUDA pins of the default stack that disagree across environments."""
    if not out.on("VG016"):
        return
    roles = ctx.roles
    pins = [
        p
        for p in dict.fromkeys(ctx.scan.pins)
        if not from_matrix(p) and p.environment is None and roles.tells_the_story(p)
    ]
    if not pins:
        return
    envs_of: dict[Pin, set[str]] = {}
    releases_of_env: dict[str, set[tuple[int, ...]]] = {}
    for env in ctx.environments:
        for p in env.pins:
            envs_of.setdefault(p, set()).add(env.id)
            v = version_of(p) if p.component == "torch" and not from_matrix(p) else None
            if v is not None:
                releases_of_env.setdefault(env.id, set()).add(v.release)
    stack_of = {
        f: name
        for name, globs in ctx.settings.groups
        for f in ctx.scan.files
        if any(glob_match(f, g) for g in globs)
    }

    def release_of(p: Pin) -> tuple[int, ...] | None:
        found = {r for e in envs_of.get(p, ()) for r in releases_of_env.get(e, ())}
        return next(iter(found)) if len(found) == 1 else None

    told: list[_Told] = []
    shared = set(ctx.settings.shared)
    for p in pins:
        stack = stack_of.get(p.file, "")
        if p.component == "torch" and "torch" not in shared:
            v = version_of(p)
            if v is not None:
                told.append(_Told(p, f"torch {_release_text(v.release)}", v.release, stack))
        key = variant_key(p)
        if (
            key is not None
            and key != "cpu"
            and not key.startswith("rocm")
            and "cuda" not in shared
            and p.component in ("cuda", "torch")
            and not _FLAVOUR.search(p.file)
        ):
            own = version_of(p) if p.component == "torch" else None
            told.append(_Told(p, f"CUDA {key}", own.release if own else release_of(p), stack))
    _report_stories([t for t in told if t.story.startswith("torch")], envs_of, out, _torch_apart)
    cuda = [t for t in told if t.story.startswith("CUDA")]
    if any(t.release is None and t.pin.source == "workflow" for t in cuda):
        _report_stories(cuda, envs_of, out, _cuda_apart)


def _release_text(release: tuple[int, ...]) -> str:
    """``2.7`` and ``2.7.0`` tell one story (``==2.7`` is 2.7.0); flavours (``+cu121``) and the
    way a file spells the release do not make another."""
    return ".".join(str(n) for n in (*release, 0, 0)[: max(3, len(release))])


def _majority(stories: dict[str, list[_Told]]) -> str | None:
    """The story most files tell, when one does: its files are the reference, and only the files
    that stray from it are reported (with it as the related lines)."""
    counts = sorted(
        ((len({t.pin.file for t in tellers}), story) for story, tellers in stories.items()),
        reverse=True,
    )
    if len(counts) > 1 and counts[0][0] > counts[1][0]:
        return counts[0][1]
    return None


def _torch_apart(a: _Told, b: _Told) -> bool:
    """Two torch releases disagree unless one is a prefix of the other (conda's ``2.4``)."""
    assert a.release is not None and b.release is not None
    n = min(len(a.release), len(b.release))
    return a.release[:n] != b.release[:n]


def _cuda_apart(a: _Told, b: _Told) -> bool:
    """A torch build's CUDA against a CI job container that carries no torch (tests run on
    another CUDA than the build). Two flavours of one release agree; two releases are the torch
    story; images without torch are separate images, not a story."""
    if a.story == b.story or (a.release is None) == (b.release is None):
        return False
    bare = a if a.release is None else b
    return bare.pin.source == "workflow"


_RELATED_PER_STORY = 3
"""Lines of each other story a finding points at; the message names every file."""

_STORIES_NAMED = 8
"""Stories a message names (then "and N more"): a real repository tells two or three."""

_SEARCHED = 64
"""Other stories, and tellers of each, searched for a finding's related lines: a file of
thousands of different pins then costs linear time, not a pass over every story per pin."""


def _report_stories(
    told: Sequence[_Told],
    envs_of: dict[Pin, set[str]],
    out: Findings,
    apart: Callable[[_Told, _Told], bool],
) -> None:
    # stack -> story -> the pins telling it (files in first-seen order for the message)
    groups: dict[str, dict[str, list[_Told]]] = {}
    for s in told:
        groups.setdefault(s.stack, {}).setdefault(s.story, []).append(s)
    # A story's tellers split by whether they belong to a torch release: for CUDA only a
    # teller of the other kind can disagree, so a story is searched once per kind.
    by_kind: dict[tuple[str, str, bool], list[_Told]] = {}
    for s in told:
        by_kind.setdefault((s.stack, s.story, s.release is None), []).append(s)
    lines = {
        stack: "; ".join(
            [
                f"{story}: {join_items(list(dict.fromkeys(s.pin.file for s in tellers)))}"
                for story, tellers in list(stories.items())[:_STORIES_NAMED]
            ]
            + ([f"{len(stories) - _STORIES_NAMED} more"] if len(stories) > _STORIES_NAMED else [])
        )
        for stack, stories in groups.items()
    }
    majority = {stack: _majority(stories) for stack, stories in groups.items()}
    none: set[str] = set()
    seen: set[tuple[str, str]] = set()
    for t in told:
        if (t.pin.file, t.story) in seen:
            continue  # one finding per file and story, at its first line that tells it
        seen.add((t.pin.file, t.story))
        if t.story == majority[t.stack]:
            continue
        mine = envs_of.get(t.pin, none)
        related: list[tuple[str, int]] = []
        others = islice((story for story in groups[t.stack] if story != t.story), _SEARCHED)
        for story in others:
            hits = 0
            kinds = (True, False) if apart is _torch_apart else (t.release is not None,)
            tellers = chain.from_iterable(by_kind.get((t.stack, story, k), ()) for k in kinds)
            for o in islice(tellers, _SEARCHED):
                if hits == _RELATED_PER_STORY:
                    break
                if (
                    where(o.pin) != where(t.pin)
                    and not (envs_of.get(o.pin, none) & mine)
                    and apart(t, o)
                ):
                    related.append((o.pin.file, o.pin.line))
                    hits += 1
        if not related:
            continue
        scope = f"environment {t.stack}" if t.stack else "this repository"
        count = len(groups[t.stack])
        out.add(
            "VG016",
            f"{t.story} here, but {scope} tells {count} stories ({lines[t.stack]})",
            t.pin,
            related=related,
            fix="make these pins name one release, or declare the separate stack under "
            "version-guard.environments.",
        )
