"""Synthetic Python environments and stub drivers for the env-verify probe.

- `write_site_packages()` lays out a site-packages folder the way pip leaves it: a `torch/`
  package with a real-format `version.py` and `.dist-info` folders with METADATA headers. The
  synthetic `torch/__init__.py` raises on import, so any run that reads these facts proves it
  did so without importing torch.
- `write_scripted_torch()` is a tiny importable stand-in for torch whose calls hang, crash or
  answer on cue, to drive the smoke worker's time limits and restarts.
- `write_nvidia_smi()` / `write_rocm_smi()` put executables on a bin folder that print
  real-format output, hang, exit non-zero, or print `ERR!`/`[N/A]`.
- `build_fake_nvml()` compiles a driver stand-in with NVML's C ABI (libnvidia-ml.so.1) and
  `copy_pynvml()` brings the real nvidia-ml-py bindings, so the NVML path crosses real ctypes.
- `run_probe()` runs the probe with `-S` (no site-packages of the interpreter itself) and
  `PYTHONPATH` set to the synthetic folders, so the real torch in the test venv stays out.
"""

from __future__ import annotations

import atexit
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
PROBE = REPO_ROOT / "src" / "mlops_actions" / "env_verify" / "probe.py"


@dataclass(frozen=True)
class Dist:
    """One installed distribution: a `<name>-<version>.dist-info` folder."""

    name: str
    version: str
    requires: tuple[str, ...] = ()
    installer: str = "pip"


@dataclass(frozen=True)
class TorchBuild:
    """What a torch wheel writes: `torch/version.py` and its dist-info, plus its companions."""

    version: str
    dist_version: str
    cuda: str | None = None
    hip: str | None = None
    xpu: str | None = None
    git_version: str = "a8dbc0c19e1c0d4d5b3b2f8c7a6e5d4c3b2a1f0e"
    annotated: bool = True
    with_xpu: bool = True
    requires: tuple[str, ...] = ()
    companions: tuple[Dist, ...] = field(default_factory=tuple)


_LINUX = '; platform_system == "Linux" and platform_machine == "x86_64"'


def _cuda_wheels(suffix: str, pins: Mapping[str, str]) -> tuple[tuple[str, ...], tuple[Dist, ...]]:
    names = {key: f"nvidia-{key}-{suffix}" for key in pins}
    requires = tuple(f"{names[key]}=={version}{_LINUX}" for key, version in pins.items())
    dists = tuple(Dist(names[key], version) for key, version in pins.items())
    return requires, dists


_CU121_REQ, _CU121_DISTS = _cuda_wheels(
    "cu12",
    {
        "cuda-runtime": "12.1.105",
        "cudnn": "9.1.0.70",
        "cublas": "12.1.3.1",
        "nccl": "2.20.5",
    },
)
_CU118_REQ, _CU118_DISTS = _cuda_wheels(
    "cu11",
    {"cuda-runtime": "11.8.89", "cudnn": "8.7.0.84", "cublas": "11.11.3.6", "nccl": "2.19.3"},
)
_CU130_REQ, _CU130_DISTS = _cuda_wheels(
    "cu13",
    {"cuda-runtime": "13.0.48", "cudnn": "9.13.0.50", "cublas": "13.0.0.19", "nccl": "2.27.7"},
)
_CU128_REQ, _CU128_DISTS = _cuda_wheels(
    "cu12", {"cuda-runtime": "12.8.90", "cudnn": "9.10.2.21", "nccl": "2.27.3"}
)

BUILDS: dict[str, TorchBuild] = {
    # From download.pytorch.org/whl/cu118: the local label is kept in the metadata too.
    "2.1.2+cu118": TorchBuild(
        version="2.1.2+cu118",
        dist_version="2.1.2+cu118",
        cuda="11.8",
        with_xpu=False,
        requires=(*_CU118_REQ, f"triton==2.1.0{_LINUX}"),
        companions=(
            *_CU118_DISTS,
            Dist("torchvision", "0.16.2+cu118", ("torch==2.1.2",)),
            Dist("torchaudio", "2.1.2+cu118", ("torch==2.1.2",)),
            Dist("triton", "2.1.0"),
        ),
    ),
    "2.4.1+cu121": TorchBuild(
        version="2.4.1+cu121",
        dist_version="2.4.1+cu121",
        cuda="12.1",
        requires=(*_CU121_REQ, f"triton==3.0.0{_LINUX}"),
        companions=(
            *_CU121_DISTS,
            Dist("torchvision", "0.19.1+cu121", ("torch==2.4.1",)),
            Dist("torchaudio", "2.4.1+cu121", ("torch==2.4.1",)),
            Dist("triton", "3.0.0"),
        ),
    ),
    "2.9.0+cu130": TorchBuild(
        version="2.9.0+cu130",
        dist_version="2.9.0+cu130",
        cuda="13.0",
        requires=(*_CU130_REQ, f"triton==3.5.0{_LINUX}"),
        companions=(
            *_CU130_DISTS,
            Dist("torchvision", "0.24.0+cu130", ("torch==2.9.0",)),
            Dist("triton", "3.5.0"),
        ),
    ),
    "2.4.1+rocm6.1": TorchBuild(
        version="2.4.1+rocm6.1",
        dist_version="2.4.1+rocm6.1",
        hip="6.1.40091-a8dbc0c19",
        requires=("pytorch-triton-rocm==3.0.0",),
        companions=(
            Dist("pytorch-triton-rocm", "3.0.0"),
            Dist("torchvision", "0.19.1+rocm6.1", ("torch==2.4.1",)),
        ),
    ),
    # Old wheels wrote the fields without annotations and had no xpu field.
    "1.8.1+cu102": TorchBuild(
        version="1.8.1+cu102",
        dist_version="1.8.1+cu102",
        cuda="10.2",
        git_version="56b43f4fec1f76953f15a627694d4bba34588969",
        annotated=False,
        with_xpu=False,
        companions=(Dist("torchvision", "0.9.1+cu102", ("torch==1.8.1",)),),
    ),
    # PyPI wheels drop the local label from the metadata but keep it in version.py.
    "2.8.0 (PyPI)": TorchBuild(
        version="2.8.0+cu128",
        dist_version="2.8.0",
        cuda="12.8",
        requires=_CU128_REQ,
        companions=(*_CU128_DISTS, Dist("torchaudio", "2.8.0", ("torch==2.8.0",))),
    ),
}


def version_py_source(build: TorchBuild) -> str:
    """`torch/version.py` as tools/generate_torch_version.py writes it."""

    def field_line(name: str, value: str | None) -> str:
        annotation = ": Optional[str]" if build.annotated else ""
        return f"{name}{annotation} = {value!r}"

    lines = []
    if build.annotated:
        lines += ["from typing import Optional", ""]
        names = ["__version__", "debug", "cuda", "git_version", "hip"]
        if build.with_xpu:
            names.append("xpu")
        lines.append(f"__all__ = {names!r}")
    lines += [
        f"__version__ = {build.version!r}",
        "debug = False",
        field_line("cuda", build.cuda),
        f"git_version = {build.git_version!r}",
        field_line("hip", build.hip),
    ]
    if build.with_xpu:
        lines.append(field_line("xpu", build.xpu))
    return "\n".join(lines) + "\n"


def _dist_folder_name(name: str, version: str) -> str:
    # The wheel spec escapes runs of -_. in the name to a single underscore.
    return f"{re.sub(r'[-_.]+', '_', name)}-{version}.dist-info"


def write_dist(site: Path, dist: Dist) -> Path:
    folder = site / _dist_folder_name(dist.name, dist.version)
    folder.mkdir(parents=True, exist_ok=True)
    headers = ["Metadata-Version: 2.1", f"Name: {dist.name}", f"Version: {dist.version}"]
    headers += ["Summary: synthetic distribution", "License: BSD-3-Clause"]
    headers += [f"Requires-Dist: {req}" for req in dist.requires]
    body = "Long description.\nRequires-Dist: not-a-header-because-it-is-in-the-body\n"
    (folder / "METADATA").write_text("\n".join(headers) + "\n\n" + body, encoding="utf-8")
    (folder / "INSTALLER").write_text(dist.installer + "\n", encoding="utf-8")
    (folder / "RECORD").write_text("", encoding="utf-8")
    return folder


def write_site_packages(
    site: Path, build: TorchBuild | None = None, extra: Sequence[Dist] = ()
) -> Path:
    """A site-packages folder with `build` (or no torch) and its companion distributions."""
    site.mkdir(parents=True, exist_ok=True)
    if build is not None:
        package = site / "torch"
        package.mkdir(exist_ok=True)
        (package / "__init__.py").write_text(
            'raise ImportError("synthetic torch: the fast path must never import torch")\n',
            encoding="utf-8",
        )
        (package / "version.py").write_text(version_py_source(build), encoding="utf-8")
        write_dist(site, Dist("torch", build.dist_version, build.requires))
        for companion in build.companions:
            write_dist(site, companion)
    for dist in extra:
        write_dist(site, dist)
    return site


# ----------------------------------------------------------------- scripted torch for smoke

_SCRIPTED_TORCH = '''\
"""Stand-in for torch: each call does what FAKE_TORCH_PLAN (JSON) says."""
import json as _json
import os as _os
import sys as _sys
import time as _time
import types as _types

_PLAN = _json.loads(_os.environ.get("FAKE_TORCH_PLAN", "{}"))


def _act(name, default):
    what = _PLAN.get(name, "ok")
    if what == "hang":
        _time.sleep(600)
    if what == "crash":
        _os._exit(3)
    if what == "raise":
        raise RuntimeError(name + " failed on cue")
    if what == "device-assert":
        # How torch reports a kernel's assert (c10/cuda/CUDAException.cpp).
        raise RuntimeError(
            "CUDA error: device-side assert triggered\\nCUDA kernel errors might be "
            "asynchronously reported at some other API call, so the stacktrace below might be "
            "incorrect.\\nFor debugging consider passing CUDA_LAUNCH_BLOCKING=1"
        )
    return default


_act("import", None)
__version__ = _PLAN.get("version", "2.4.1+cu121")
version = _types.SimpleNamespace(
    cuda=_PLAN.get("cuda", "12.1"), hip=None, xpu=None, git_version="0" * 40, debug=False
)
_sys.modules[__name__ + ".version"] = version


class _Nccl:
    @staticmethod
    def version():
        return _act("nccl", (2, 20, 5))


class _Cuda:
    nccl = _Nccl()

    @staticmethod
    def is_available():
        return _act("cuda_available", False)

    @staticmethod
    def device_count():
        return 0


class _Cudnn:
    enabled = True

    @staticmethod
    def is_available():
        return True

    @staticmethod
    def version():
        return _act("cudnn", 90100)


cuda = _Cuda()
backends = _types.SimpleNamespace(cudnn=_Cudnn())
_C = _types.SimpleNamespace(_cudnn=_types.SimpleNamespace(getCompileVersion=lambda: (9, 1, 0)))
'''


# torchvision with its Python side only: what a torchvision built for another torch looks like
# (the C++ ops never registered), and one whose nms works, written with torch's own ops.
_TORCHVISION_OPS = {
    "unregistered": """
def nms(boxes, scores, iou_threshold):
    raise RuntimeError("operator torchvision::nms does not exist")
""",
    "working": """
import torch


def nms(boxes, scores, iou_threshold):
    order = scores.argsort(descending=True).tolist()
    keep = []
    for i in order:
        ok = True
        for j in keep:
            a, b = boxes[i], boxes[j]
            w = (torch.minimum(a[2], b[2]) - torch.maximum(a[0], b[0])).clamp(min=0)
            h = (torch.minimum(a[3], b[3]) - torch.maximum(a[1], b[1])).clamp(min=0)
            inter = w * h
            union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
            if float(inter / union) > iou_threshold:
                ok = False
        if ok:
            keep.append(i)
    return torch.tensor(keep)
""",
}


def write_torchvision(site: Path, kind: str) -> Path:
    """A `torchvision` package whose `ops.nms` is `kind` (see `_TORCHVISION_OPS`)."""
    package = site / "torchvision"
    (package / "ops").mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "ops" / "__init__.py").write_text(_TORCHVISION_OPS[kind], encoding="utf-8")
    return site


def write_scripted_torch(site: Path) -> Path:
    """A `torch` whose behaviour per call comes from FAKE_TORCH_PLAN; see `_SCRIPTED_TORCH`."""
    site.mkdir(parents=True, exist_ok=True)
    (site / "torch.py").write_text(_SCRIPTED_TORCH, encoding="utf-8")
    return site


# ----------------------------------------------------------------- GPU drivers


@dataclass(frozen=True)
class SmiGpu:
    index: int
    name: str
    uuid: str
    driver: str
    memory_mib: int
    compute_cap: str


H100_X2 = (
    SmiGpu(
        0,
        "NVIDIA H100 80GB HBM3",
        "GPU-4f9a1f5e-8c3e-6a0b-2b7e-1d2c3e4f5a6b",
        "550.54.15",
        81559,
        "9.0",
    ),
    SmiGpu(
        1,
        "NVIDIA H100 80GB HBM3",
        "GPU-9b8c7d6e-5f4a-3b2c-1d0e-f9e8d7c6b5a4",
        "550.54.15",
        81559,
        "9.0",
    ),
)
A100 = (
    SmiGpu(
        0,
        "NVIDIA A100-SXM4-80GB",
        "GPU-1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d",
        "535.104.05",
        81920,
        "8.0",
    ),
)
V100 = (
    SmiGpu(
        0,
        "Tesla V100-SXM2-16GB",
        "GPU-0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
        "535.183.01",
        16384,
        "7.0",
    ),
)
SMI_FIELDS = ("index", "name", "uuid", "driver_version", "memory.total", "compute_cap")


def smi_csv(gpus: Sequence[SmiGpu], fields: Sequence[str] = SMI_FIELDS) -> str:
    """`nvidia-smi --query-gpu=<fields> --format=csv,noheader,nounits` output."""
    lines = []
    for gpu in gpus:
        values = {
            "index": str(gpu.index),
            "name": gpu.name,
            "uuid": gpu.uuid,
            "driver_version": gpu.driver,
            "memory.total": str(gpu.memory_mib),
            "compute_cap": gpu.compute_cap,
        }
        lines.append(", ".join(values[f] for f in fields))
    return "\n".join(lines) + "\n"


def _write_script(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + body, encoding="utf-8")
    path.chmod(0o755)
    return path


def _heredoc(text: str, stream: str = "") -> str:
    assert "STUB_EOF" not in text
    return f"cat {stream}<<'STUB_EOF'\n{text}{'' if text.endswith(chr(10)) else chr(10)}STUB_EOF\n"


def write_nvidia_smi(
    bin_dir: Path,
    *,
    stdout: str = "",
    stderr: str = "",
    exit_code: int = 0,
    hang: bool = False,
    without_compute_cap: str | None = None,
    log: Path | None = None,
    health: str | None = None,
    listing: str | None = None,
) -> Path:
    """An `nvidia-smi` on `bin_dir`.

    `hang` sleeps in a child process (as a wedged driver call would). `without_compute_cap`
    plays a driver before R510: asked for compute_cap it refuses, otherwise it prints this text.
    `log` records each invocation's arguments. `health` answers the GPU health query
    (`smi_health_csv`), `listing` answers `nvidia-smi -L` (`smi_listing`).
    """
    body = ""
    if log is not None:
        body += f"printf '%s\\n' \"$*\" >> '{log}'\n"
    if hang:
        body += "sleep 60\n"
    if health is not None:
        body += 'case "$*" in *persistence_mode*)\n' + _heredoc(health) + "  exit 0;;\nesac\n"
    if listing is not None:
        body += 'if [ "$*" = "-L" ]; then\n' + _heredoc(listing) + "  exit 0\nfi\n"
    if without_compute_cap is not None:
        body += 'case "$*" in *compute_cap*)\n'
        body += "  echo 'Field \"compute_cap\" is not a valid field to query.'\n  echo\n"
        body += "  echo 'Please run \"nvidia-smi --help-query-gpu\" for more information.'\n"
        body += "  exit 2;;\nesac\n"
        body += _heredoc(without_compute_cap)
        return _write_script(bin_dir / "nvidia-smi", body)
    if stdout:
        body += _heredoc(stdout)
    if stderr:
        body += _heredoc(stderr, ">&2 ")
    body += f"exit {exit_code}\n"
    return _write_script(bin_dir / "nvidia-smi", body)


def write_rocm_smi(bin_dir: Path, payload: Mapping[str, Any]) -> Path:
    return _write_script(bin_dir / "rocm-smi", _heredoc(json.dumps(payload)))


@dataclass(frozen=True)
class GpuHealth:
    """The health facts of one GPU, as NVML and nvidia-smi report them; None: not supported."""

    ecc_uncorrected: int | None = 0
    retired_pending: bool | None = False
    remap_pending: bool | None = False
    remap_failure: bool | None = False
    persistence: bool | None = True
    throttle: int | None = 0
    mig: bool | None = False
    mig_pending: bool | None = False
    mig_devices: tuple[str, ...] = ()


def _smi_word(value: bool | None, yes: str = "Yes", no: str = "No") -> str:
    return "[N/A]" if value is None else (yes if value else no)


def smi_health_csv(gpus: Sequence[SmiGpu], health: Mapping[int, GpuHealth]) -> str:
    """`nvidia-smi --query-gpu=index,persistence_mode,ecc.errors.uncorrected.volatile.total,
    retired_pages.pending,remapped_rows.pending,remapped_rows.failure,
    clocks_throttle_reasons.active,mig.mode.current,mig.mode.pending
    --format=csv,noheader,nounits` output, as a real driver prints it."""
    lines = []
    for gpu in gpus:
        h = health.get(gpu.index, GpuHealth(None, None, None, None, None, None, None, None))
        lines.append(
            ", ".join(
                (
                    str(gpu.index),
                    _smi_word(h.persistence, "Enabled", "Disabled"),
                    "[N/A]" if h.ecc_uncorrected is None else str(h.ecc_uncorrected),
                    _smi_word(h.retired_pending),
                    _smi_word(h.remap_pending),
                    _smi_word(h.remap_failure),
                    "[N/A]" if h.throttle is None else f"0x{h.throttle:016x}",
                    _smi_word(h.mig, "Enabled", "Disabled"),
                    _smi_word(h.mig_pending, "Enabled", "Disabled"),
                )
            )
        )
    return "\n".join(lines) + "\n"


def smi_listing(gpus: Sequence[SmiGpu], health: Mapping[int, GpuHealth]) -> str:
    """`nvidia-smi -L` output, MIG devices indented under their GPU."""
    lines = []
    for gpu in gpus:
        lines.append(f"GPU {gpu.index}: {gpu.name} (UUID: {gpu.uuid})")
        migs = health.get(gpu.index, GpuHealth()).mig_devices
        for slot, uuid in enumerate(migs):
            lines.append(f"  MIG 3g.40gb     Device  {slot}: (UUID: {uuid})")
    return "\n".join(lines) + "\n"


def nvml_health_env(health: Mapping[int, GpuHealth]) -> dict[str, str]:
    """FAKE_NVML_HEALTH for the NVML stand-in's GPU health block, and the throttle reasons
    through its telemetry block (FAKE_NVML_TELEMETRY `throttle=`), one line per GPU."""

    def word(value: bool | int | None) -> str:
        return "na" if value is None else str(int(value))

    lines = [
        "\t".join(
            (
                str(index),
                word(h.ecc_uncorrected),
                word(h.retired_pending),
                word(h.remap_pending),
                word(h.remap_failure),
                word(h.persistence),
                word(h.mig),
                word(h.mig_pending),
                ",".join(h.mig_devices) or "-",
            )
        )
        for index, h in sorted(health.items())
    ]
    last = max(health, default=-1)
    # The telemetry parser skips empty lines, so a GPU without a throttle value gets a line
    # holding only the default sampling period.
    telemetry = [
        f"throttle={health[i].throttle:x}"
        if i in health and health[i].throttle is not None
        else "period_ms=100"
        for i in range(last + 1)
    ]
    return {"FAKE_NVML_HEALTH": "\n".join(lines), "FAKE_NVML_TELEMETRY": "\n".join(telemetry)}


FAKE_NVML_SOURCE = REPO_ROOT / "tests" / "fixtures" / "env_verify" / "fake_libnvidia_ml.c"


def build_fake_nvml(folder: Path) -> Path:
    """Compile the NVML driver stand-in to `folder/libnvidia-ml.so.1`; returns `folder`.

    With it on `LD_LIBRARY_PATH` the real nvidia-ml-py bindings load it through ctypes exactly
    as they load the driver's library, so the probe's NVML path runs through real bindings.
    """
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        raise RuntimeError("tests need a C compiler for the NVML stand-in: apt-get install gcc")
    folder.mkdir(parents=True, exist_ok=True)
    library = folder / "libnvidia-ml.so.1"
    flags = ["-shared", "-fPIC", "-O2", "-Wall", "-Werror"]
    subprocess.run([compiler, *flags, "-o", str(library), str(FAKE_NVML_SOURCE)], check=True)
    return folder


def copy_pynvml(site: Path) -> Path:
    """Put the test environment's real nvidia-ml-py (`pynvml.py`) on a synthetic site folder."""
    spec = importlib.util.find_spec("pynvml")
    if spec is None or spec.origin is None:
        raise RuntimeError("nvidia-ml-py is missing from the test environment (test group)")
    site.mkdir(parents=True, exist_ok=True)
    shutil.copy(spec.origin, site / "pynvml.py")
    return site


def nvml_env(
    library: Path | None,
    gpus: Sequence[SmiGpu],
    *,
    mode: str = "ok",
    cuda_driver: int = 12040,
    lost: Sequence[int] = (),
) -> dict[str, str]:
    """Environment for the stand-in: `library` None plays a machine without libnvidia-ml."""
    lines = ["\t".join((mode, gpus[0].driver if gpus else "", str(cuda_driver)))]
    lines += [
        "\t".join(
            (g.name, g.uuid, str(g.memory_mib), g.compute_cap, "1" if g.index in lost else "0")
        )
        for g in gpus
    ]
    env = {"FAKE_NVML": "\n".join(lines)}
    if library is not None:
        env["LD_LIBRARY_PATH"] = str(library)
    return env


# ----------------------------------------------------------------- running the probe


def python_interpreters() -> dict[str, str]:
    """Extra CPython interpreters found here (version -> path): pyenv installs and python3.X."""
    found: dict[str, str] = {}
    pyenv = Path(os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv"))) / "versions"
    candidates = sorted(pyenv.glob("3.*/bin/python3")) if pyenv.is_dir() else []
    for minor in range(8, 15):
        for folder in ("/usr/bin", "/usr/local/bin"):
            candidates.append(Path(folder) / f"python3.{minor}")
    for candidate in candidates:
        if not os.access(candidate, os.X_OK):
            continue
        match = re.search(r"(3\.\d+)", str(candidate))
        if match and int(match.group(1).split(".")[1]) >= 8:
            found.setdefault(match.group(1), str(candidate))
    return found


# What the driver stubs run (`cat`, `sleep`); nothing else of the machine's PATH.
STUB_TOOLS = ("cat", "sleep")
_TOOLS: list[Path] = []


def gpu_free_tools() -> Path:
    """A folder with only the commands the stubs need, linked from this machine.

    Tests put it on PATH instead of /usr/bin, which holds the real `nvidia-smi` on a GPU
    machine: a test that plays "no driver" must not find one there."""
    if not _TOOLS:
        folder = Path(tempfile.mkdtemp(prefix="env-verify-tools-"))
        for tool in STUB_TOOLS:
            found = shutil.which(tool)
            if found is None:
                raise RuntimeError(f"tests need `{tool}` on PATH for the driver stubs")
            (folder / tool).symlink_to(found)
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        _TOOLS.append(folder)
    return _TOOLS[0]


def probe_env(
    site_dirs: Sequence[Path] = (),
    bin_dirs: Sequence[Path] = (),
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    env = {
        "PATH": os.pathsep.join([*map(str, bin_dirs), str(gpu_free_tools())]),
        "PYTHONPATH": os.pathsep.join(map(str, site_dirs)),
        "LC_ALL": "C.UTF-8",
    }
    env.update(extra or {})
    return env


def run_probe(
    site_dirs: Sequence[Path] = (),
    *,
    args: Sequence[str] = (),
    bin_dirs: Sequence[Path] = (),
    extra_env: Mapping[str, str] | None = None,
    python: str = sys.executable,
    isolated: bool = True,
    timeout: float = 120,
) -> dict[str, Any]:
    """Run probe.py as the action does (by path) and return its JSON document.

    `isolated` adds `-S`, so only the stdlib and `site_dirs` are importable.
    """
    command = [python, *(["-S"] if isolated else []), str(PROBE), *args]
    done = subprocess.run(
        command,
        env=probe_env(site_dirs, bin_dirs, extra_env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise AssertionError(f"probe exited {done.returncode}: {done.stderr}")
    document: dict[str, Any] = json.loads(done.stdout)
    return document
