"""PyTorch / CUDA / cuDNN / driver compatibility data and the questions asked of it.

The facts live in ``data.json`` next to this module, each row with its source. Every query is
pure and answers ``None`` when the table does not know, so callers can tell "incompatible" from
"unknown" and never report a guess as a finding.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from packaging.version import Version

__all__ = [
    "ArchRange",
    "CompatTable",
    "DriverFloor",
    "DriverRow",
    "TorchRelease",
    "TorchaudioRule",
    "TorchvisionRule",
    "arch_supported",
    "cuda_builds",
    "cuda_minor",
    "cuda_tag_to_version",
    "cuda_version_to_tag",
    "driver_floor",
    "expected_cudnn",
    "expected_nccl",
    "expected_torchaudio",
    "expected_torchvision",
    "experimental_cuda",
    "has_cuda_build",
    "has_rocm_build",
    "is_version",
    "load_table",
    "min_driver",
    "min_driver_minor_compat",
    "os_python",
    "parse_compute_capability",
    "parse_version",
    "pypi_default_cuda",
    "python_supported",
    "pytorch_image_cudnn_major",
    "supported_arches",
    "torch_release",
    "torchaudio_compatible",
    "torchvision_compatible",
]

Pairs = tuple[tuple[str, str], ...]
MultiPairs = tuple[tuple[str, tuple[str, ...]], ...]


@dataclass(frozen=True)
class TorchvisionRule:
    series: str
    """The ``0.N`` series built for this torch minor."""
    patch_rule: bool
    """True when torch ``X.Y.p`` pairs with torchvision ``series.p``."""
    exact: MultiPairs
    """Known torch → torchvision pairs; the first value is the pip pairing."""


@dataclass(frozen=True)
class TorchaudioRule:
    rule: Literal["same", "map", "versions", "stable_abi"]
    """``same``: torchaudio == torch; ``map``: exact pairs; ``versions``: the torchaudio releases
    for this torch minor; ``stable_abi``: torchaudio >= ``minimum`` built against the stable ABI
    runs on this and later torch releases."""
    pairs: MultiPairs = ()
    versions: tuple[str, ...] = ()
    minimum: str | None = None


@dataclass(frozen=True)
class TorchRelease:
    torch: str
    """``major.minor``, e.g. ``"2.4"``."""
    status: Literal["stable", "candidate"]
    torchvision: TorchvisionRule | None
    torchaudio: TorchaudioRule | None
    torchtext: str | None
    python_min: str | None
    python_max: str | None
    """Highest supported ``major.minor``."""
    python_freethreaded: tuple[str, ...] | None
    """Minors with free-threaded (``3.13t``) builds; None when not recorded."""
    cuda: tuple[str, ...]
    cuda_uncertain: tuple[str, ...]
    pypi_default_cuda: str | None
    cudnn: Pairs | None
    """CUDA minor (or ``*`` for every variant) → cuDNN version."""
    rocm: tuple[str, ...]
    nccl: Pairs | None
    experimental_cuda: str | None
    source: tuple[str, ...]
    note: str | None = None


@dataclass(frozen=True)
class DriverRow:
    cuda: str
    update: int | None
    """0 for GA, n for Update n, None where the notes give no label."""
    driver: str
    source: tuple[str, ...]


@dataclass(frozen=True)
class DriverFloor:
    driver: str
    exact: bool
    """False when the requested update has no row and the floor is the closest earlier one
    (a lower bound: a driver below it certainly fails)."""
    row: DriverRow


@dataclass(frozen=True)
class ArchRange:
    min_sm: int
    max_sm: int
    ptx: bool | None
    """True when PTX for ``max_sm`` is embedded, so newer GPUs can JIT-compile."""
    exact: bool
    """False for family defaults, where an architecture above ``max_sm`` is unknown."""
    cuda: str | None
    cuda_major: int | None
    source: tuple[str, ...]
    note: str | None = None


@dataclass(frozen=True)
class CompatTable:
    sources: Pairs
    releases: tuple[TorchRelease, ...]
    drivers: tuple[DriverRow, ...]
    driver_families: tuple[tuple[int, str], ...]
    arches: tuple[ArchRange, ...]
    cudnn_gpu_floor: tuple[str, int]
    """(cuDNN version, minimum sm): that cuDNN and later refuse GPUs below the sm."""
    images: dict[str, dict[str, Any]]
    updated: str

    def release(self, minor: str) -> TorchRelease | None:
        for rel in self.releases:
            if rel.torch == minor:
                return rel
        return None

    def source_names(self) -> dict[str, str]:
        return dict(self.sources)


# --- loading -------------------------------------------------------------------------------


def _pairs(obj: dict[str, str] | None) -> Pairs | None:
    if obj is None:
        return None
    return tuple((str(k), str(v)) for k, v in obj.items())


def _multi(obj: dict[str, list[str]]) -> MultiPairs:
    return tuple((str(k), tuple(str(x) for x in v)) for k, v in obj.items())


def _release(row: dict[str, Any]) -> TorchRelease:
    tv = row.get("torchvision")
    ta = row.get("torchaudio")
    py = row.get("python")
    audio: TorchaudioRule | None = None
    if ta is not None:
        audio = TorchaudioRule(
            rule=ta["rule"],
            pairs=_multi(ta.get("map", {})),
            versions=tuple(ta.get("versions", ta.get("known", []))),
            minimum=ta.get("min"),
        )
    return TorchRelease(
        torch=row["torch"],
        status=row["status"],
        torchvision=None
        if tv is None
        else TorchvisionRule(
            series=tv["series"], patch_rule=bool(tv["patch_rule"]), exact=_multi(tv["exact"])
        ),
        torchaudio=audio,
        torchtext=row.get("torchtext"),
        python_min=None if py is None else py["min"],
        python_max=None if py is None else py["max"],
        python_freethreaded=None
        if py is None or py.get("freethreaded") is None
        else tuple(py["freethreaded"]),
        cuda=tuple(row["cuda"]),
        cuda_uncertain=tuple(row.get("cuda_uncertain", [])),
        pypi_default_cuda=row.get("pypi_default_cuda"),
        cudnn=_pairs(row.get("cudnn")),
        rocm=tuple(row.get("rocm", [])),
        nccl=_pairs(row.get("nccl")),
        experimental_cuda=row.get("experimental_cuda"),
        source=tuple(row["source"]),
        note=row.get("note"),
    )


def table_from_dict(data: dict[str, Any]) -> CompatTable:
    """Build a table from the parsed data file (exposed so tests can check edited copies)."""
    arches = tuple(
        ArchRange(
            min_sm=int(a["min_sm"]),
            max_sm=int(a["max_sm"]),
            ptx=a.get("ptx"),
            exact=bool(a["exact"]),
            cuda=a.get("cuda"),
            cuda_major=a.get("cuda_major"),
            source=tuple(a["source"]),
            note=a.get("note"),
        )
        for a in data["gpu_arches"]
    )
    floor = data["cudnn_gpu_floor"]
    return CompatTable(
        sources=tuple((k, v) for k, v in data["sources"].items()),
        releases=tuple(_release(r) for r in data["torch"]),
        drivers=tuple(
            DriverRow(
                cuda=d["cuda"], update=d["update"], driver=d["driver"], source=tuple(d["source"])
            )
            for d in data["drivers"]
        ),
        driver_families=tuple((int(f["major"]), str(f["driver"])) for f in data["driver_families"]),
        arches=arches,
        cudnn_gpu_floor=(str(floor["cudnn_min"]), int(floor["min_sm"])),
        images=dict(data["images"]),
        updated=str(data["updated"]),
    )


def load_raw() -> dict[str, Any]:
    # The file beside this module: importlib.resources costs ~10 ms of imports (zipfile,
    # threading) that env-verify's start-up cannot afford. It is the route only for a zipped
    # install, where no such file exists.
    path = os.path.join(os.path.dirname(__file__), "data.json")
    if os.path.isfile(path):
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    else:
        from importlib import resources

        text = resources.files("mlops_actions.compat").joinpath("data.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


@lru_cache(maxsize=1)
def load_table() -> CompatTable:
    return table_from_dict(load_raw())


# --- parsing helpers ----------------------------------------------------------------------


@lru_cache(maxsize=4096)
def parse_version(text: str) -> Version | None:
    """``packaging`` version or None; never raises. Cached: a repository repeats a few
    version texts thousands of times (one per matrix combination), and Version is immutable."""
    try:
        return Version(text.strip())
    except (ValueError, TypeError):
        # InvalidVersion is a ValueError; so is a part past Python's int conversion limit.
        return None


def is_version(text: str) -> bool:
    """Whether ``packaging`` reads the text as a version."""
    return parse_version(text) is not None


def _minor_of(text: str) -> str | None:
    v = parse_version(text)
    if v is None or len(v.release) < 2:
        return None
    return f"{v.release[0]}.{v.release[1]}"


def _public_release(v: Version) -> tuple[int, ...]:
    rel = v.release
    return rel + (0,) * (3 - len(rel)) if len(rel) < 3 else rel


_CU_TAG = re.compile(r"^cu(\d{2,3})$")


def cuda_tag_to_version(tag: str) -> str | None:
    """``"cu121"`` → ``"12.1"``; ``"cu92"`` → ``"9.2"``; anything else → None."""
    m = _CU_TAG.match(tag.strip().lower())
    if m is None:
        return None
    digits = m.group(1)
    return f"{int(digits[:-1])}.{digits[-1]}"


def cuda_version_to_tag(version: str) -> str | None:
    """``"12.1"`` / ``"12.1.1"`` → ``"cu121"``; minor must be a single digit."""
    minor = cuda_minor(version)
    if minor is None:
        return None
    major, _, mnr = minor.partition(".")
    if len(mnr) != 1:
        return None
    return f"cu{major}{mnr}"


def cuda_minor(cuda: str) -> str | None:
    """Normalise ``"12.1.1"``, ``"12.1"``, ``"cu121"`` or ``"12-1"`` to ``"12.1"``."""
    text = cuda.strip()
    if text.lower().startswith("cu"):
        return cuda_tag_to_version(text)
    return _minor_of(text.replace("-", "."))


def parse_compute_capability(cc: str) -> int | None:
    """``"8.0"`` → 80, ``"12.0"`` → 120, ``"sm_86"`` → 86."""
    text = cc.strip().lower()
    m = re.fullmatch(r"(?:sm_?|compute_)?(\d{2,3})[a-z]?", text)
    if m is not None and "." not in text:
        return int(m.group(1))
    m = re.fullmatch(r"(\d{1,2})\.(\d)", text)
    if m is None:
        return None
    return int(m.group(1)) * 10 + int(m.group(2))


# --- torch-side queries --------------------------------------------------------------------


def torch_release(torch_version: str) -> TorchRelease | None:
    """The table row for the torch ``major.minor`` of ``torch_version`` (local part ignored)."""
    minor = _minor_of(torch_version)
    return None if minor is None else load_table().release(minor)


def _lookup(pairs: MultiPairs, key: Version) -> tuple[str, ...] | None:
    for k, vals in pairs:
        kv = parse_version(k)
        if kv is not None and _public_release(kv) == _public_release(key):
            return vals
    return None


def expected_torchvision(torch_version: str) -> str | None:
    """The torchvision release paired with this torch (pip pairing), or None when unknown."""
    rel = torch_release(torch_version)
    tv = parse_version(torch_version)
    if rel is None or tv is None or rel.torchvision is None:
        return None
    known = _lookup(rel.torchvision.exact, tv)
    if known:
        return known[0]
    if rel.torchvision.patch_rule:
        return f"{rel.torchvision.series}.{_public_release(tv)[2]}"
    return None


def torchvision_compatible(torch_version: str, torchvision_version: str) -> bool | None:
    rel = torch_release(torch_version)
    tv = parse_version(torch_version)
    vis = parse_version(torchvision_version)
    if rel is None or tv is None or vis is None or rel.torchvision is None:
        return None
    if _minor_of(torchvision_version) != rel.torchvision.series:
        return False
    known = _lookup(rel.torchvision.exact, tv)
    if known:
        return any(_public_release(Version(k)) == _public_release(vis) for k in known)
    if rel.torchvision.patch_rule:
        return _public_release(vis)[2] == _public_release(tv)[2]
    return None


def expected_torchaudio(torch_version: str) -> str | None:
    """The torchaudio release to pin with this torch, when exactly one is known."""
    rel = torch_release(torch_version)
    tv = parse_version(torch_version)
    if rel is None or tv is None or rel.torchaudio is None:
        return None
    rule = rel.torchaudio
    if rule.rule == "same":
        return ".".join(str(x) for x in _public_release(tv)[:3])
    if rule.rule == "map":
        known = _lookup(rule.pairs, tv)
        return known[0] if known else None
    if rule.rule == "versions":
        return rule.versions[0] if len(rule.versions) == 1 else None
    # stable ABI: the newest torchaudio known that is not newer than torch.
    fits = [v for v in rule.versions if _public_release(Version(v))[:2] <= tv.release[:2]]
    return max(fits, key=Version) if fits else None


def torchaudio_compatible(torch_version: str, torchaudio_version: str) -> bool | None:
    rel = torch_release(torch_version)
    tv = parse_version(torch_version)
    au = parse_version(torchaudio_version)
    if rel is None or tv is None or au is None or rel.torchaudio is None:
        return None
    rule = rel.torchaudio
    au_rel = _public_release(au)
    if rule.rule == "same":
        return au_rel == _public_release(tv)
    if rule.rule == "map":
        known = _lookup(rule.pairs, tv)
        if known is None:
            return None
        return any(_public_release(Version(k)) == au_rel for k in known)
    if rule.rule == "versions":
        return any(_public_release(Version(k)) == au_rel for k in rule.versions)
    minimum = Version(rule.minimum or "0")
    if au < minimum:
        return False
    if au_rel[:2] > tv.release[:2]:
        return False
    if not any(_public_release(Version(k)) == au_rel for k in rule.versions):
        return None
    return True


def cuda_builds(torch_version: str) -> tuple[str, ...] | None:
    """CUDA versions (``"12.1"``) with official wheels for this torch release."""
    rel = torch_release(torch_version)
    return None if rel is None else rel.cuda


def has_cuda_build(torch_version: str, cuda_version: str) -> bool | None:
    """Whether an official wheel exists for this torch and CUDA (``"12.1"``, ``"cu121"``)."""
    rel = torch_release(torch_version)
    minor = cuda_minor(cuda_version)
    if rel is None or minor is None:
        return None
    if minor in rel.cuda:
        return True
    if minor in rel.cuda_uncertain:
        return None
    return False


def has_rocm_build(torch_version: str, rocm_version: str) -> bool | None:
    rel = torch_release(torch_version)
    rv = parse_version(rocm_version.removeprefix("rocm"))
    if rel is None or rv is None:
        return None
    return any(parse_version(r) == rv for r in rel.rocm)


def pypi_default_cuda(torch_version: str) -> str | None:
    rel = torch_release(torch_version)
    return None if rel is None else rel.pypi_default_cuda


def experimental_cuda(torch_version: str) -> str | None:
    rel = torch_release(torch_version)
    return None if rel is None else rel.experimental_cuda


def _variant_value(pairs: Pairs | None, cuda_version: str) -> str | None:
    minor = cuda_minor(cuda_version)
    if pairs is None or minor is None:
        return None
    table = dict(pairs)
    return table.get(minor, table.get("*"))


def expected_cudnn(torch_version: str, cuda_version: str) -> str | None:
    """cuDNN shipped with the torch wheel for that CUDA variant; None when not recorded or
    when no such build exists."""
    rel = torch_release(torch_version)
    if rel is None or has_cuda_build(torch_version, cuda_version) is not True:
        return None
    return _variant_value(rel.cudnn, cuda_version)


def expected_nccl(torch_version: str, cuda_version: str) -> str | None:
    rel = torch_release(torch_version)
    if rel is None or has_cuda_build(torch_version, cuda_version) is not True:
        return None
    return _variant_value(rel.nccl, cuda_version)


@lru_cache(maxsize=1024)
def python_supported(torch_version: str, python_version: str) -> bool | None:
    """Whether torch has builds for this Python (``"3.11"``, ``"3.11.4"``, ``"3.13t"``)."""
    rel = torch_release(torch_version)
    if rel is None or rel.python_min is None or rel.python_max is None:
        return None
    text = python_version.strip()
    if text.endswith("t"):
        minor = _minor_of(text[:-1])
        if minor is None or rel.python_freethreaded is None:
            return None
        return minor in rel.python_freethreaded
    pv = parse_version(text)
    if pv is None or len(pv.release) < 2 or pv.local is not None:
        return None
    low = Version(rel.python_min)
    high = Version(rel.python_max)
    if pv.release[:2] > high.release[:2]:
        return False
    # A floor with a patch level (3.7.2) only binds when the input names a patch too.
    if len(pv.release) == 2 and len(low.release) > 2:
        return pv.release[:2] >= low.release[:2]
    return pv >= low


def pytorch_image_cudnn_major(torch_version: str) -> int | None:
    """cuDNN major in ``pytorch/pytorch`` CUDA image tags: 8 up to 2.3.x, 9 from 2.4.0."""
    tv = parse_version(torch_version)
    if tv is None:
        return None
    facts = load_table().images["pytorch/pytorch"]
    if tv.release[:2] <= Version(facts["cudnn8_until"]).release[:2]:
        return 8
    return 9 if tv >= Version(facts["cudnn9_from"]) else None


# --- CUDA / driver / GPU queries -----------------------------------------------------------


def driver_floor(cuda_version: str) -> DriverFloor | None:
    """Full-toolkit driver floor for ``X.Y`` (GA) or ``X.Y.Z`` (Update Z)."""
    minor = cuda_minor(cuda_version)
    if minor is None:
        return None
    v = parse_version(cuda_version)
    update = v.release[2] if v is not None and len(v.release) > 2 else 0
    rows = [r for r in load_table().drivers if r.cuda == minor]
    if not rows:
        return None
    ordered = sorted(rows, key=lambda r: r.update or 0)
    fits = [r for r in ordered if (r.update or 0) <= update]
    if not fits:
        return None
    best = fits[-1]
    return DriverFloor(driver=best.driver, exact=(best.update or 0) == update, row=best)


def min_driver(cuda_version: str) -> str | None:
    """Minimum Linux driver for the full feature set of that toolkit; see ``driver_floor``."""
    floor = driver_floor(cuda_version)
    return None if floor is None else floor.driver


def min_driver_minor_compat(cuda_version: str) -> str | None:
    """Family floor under minor-version compatibility (11.x 450.80.02, 12.x 525.60.13, 13.x 580)."""
    minor = cuda_minor(cuda_version)
    if minor is None:
        return None
    major = int(minor.split(".")[0])
    return dict(load_table().driver_families).get(major)


def _arch_range(cuda_version: str) -> ArchRange | None:
    minor = cuda_minor(cuda_version)
    if minor is None:
        return None
    major = int(minor.split(".")[0])
    family: ArchRange | None = None
    for a in load_table().arches:
        if a.cuda == minor:
            return a
        if a.cuda_major == major:
            family = a
    return family


def supported_arches(cuda_version: str) -> tuple[int, int] | None:
    """(min_sm, max_sm) of torch's builds for that CUDA, e.g. (50, 90) or (75, 120)."""
    arch = _arch_range(cuda_version)
    return None if arch is None else (arch.min_sm, arch.max_sm)


def arch_supported(cuda_version: str, compute_capability: str) -> bool | None:
    """Whether torch's builds for that CUDA run on a GPU of ``compute_capability`` (``"8.0"``)."""
    arch = _arch_range(cuda_version)
    sm = parse_compute_capability(compute_capability)
    if arch is None or sm is None:
        return None
    if sm < arch.min_sm:
        return False
    if sm <= arch.max_sm:
        return True
    if arch.ptx:
        return True
    return False if arch.exact and arch.ptx is False else None


@lru_cache(maxsize=64)
def os_python(os_name: str, release: str) -> str | None:
    """The Python minor an OS release's ``python3`` package gives (``ubuntu``, ``22.04`` →
    ``3.10``; ``debian``, ``bookworm`` or ``12`` → ``3.11``); None when the table does not know."""
    for row in load_raw().get("os_python", []):
        if row["os"] == os_name.lower() and release.lower() in {row["version"], row["codename"]}:
            return str(row["python"])
    return None
