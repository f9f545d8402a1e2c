"""Environment probe: what PyTorch stack is installed here, read without importing torch.

Standard library only; runs on Python 3.8 through 3.14. Run it by path with the interpreter
under inspection::

    python probe.py [--smoke] [--compile] [--timeout S] [--command-timeout S]
                    [--path DIR]... [--out FILE]

It prints one JSON document, ASCII only (with ``--out`` it writes it to FILE and prints
nothing), and exits 0 whenever it could write one: missing pieces (no torch, no GPU, no
driver) are facts, not failures. Exit 2 means bad arguments (one line on stderr). The probe
judges nothing; checks are pure functions over the document. ``--timeout`` (default 120 s)
limits each smoke probe, ``--command-timeout`` (default 10 s) each driver query (NVML,
nvidia-smi, rocm-smi). The fast path imports nothing beyond os, sys and time unless a driver
tool has to be run.

``--path DIR`` puts DIR in front of ``sys.path`` before anything is looked up (like
PYTHONPATH). To probe a site-packages folder on its own, run ``python -S probe.py --path DIR``:
``-S`` keeps the interpreter's own site-packages out, and the smoke worker inherits both the
flags and the exact ``sys.path``.

Document, schema_version 1. Every key listed is always present; "null" marks what is unknown
or absent. Versions are reported as written, never normalised.

- ``schema``: "mlops-actions/env-probe"; ``schema_version``: 1; ``probe_seconds``: float.
- ``python``: ``version`` "3.11.7", ``version_info`` [3, 11, 7, "final", 0], ``implementation``
  "cpython", ``executable``, ``prefix``, ``base_prefix``, ``venv`` (bool: prefix differs from
  base_prefix, or a pyvenv.cfg sits beside the executable's folder), ``conda`` (bool),
  ``abiflags`` (str, "t" marks a free-threaded build; null off POSIX), ``flags`` (interpreter
  flags in effect, e.g. ["-S"]), ``sys_path`` (the search path used for lookups).
- ``os``: ``system`` "Linux", ``release`` (kernel), ``machine`` "x86_64", ``libc``
  "glibc 2.36" or null, ``distro`` {``id``, ``version_id``, ``pretty_name``} or null (from
  /etc/os-release), ``container`` {``detected`` bool, ``markers`` [str]}: markers among
  "/.dockerenv", "/run/.containerenv", "env:container=<v>", "cgroup:<word>", "kubernetes",
  "overlay-root".
- ``distributions``: {normalised name: {``name`` (as in metadata), ``version``, ``path``
  (the .dist-info/.egg-info), ``requires`` [Requires-Dist strings], ``installer`` (str or
  null), ``shadowed`` [{``version``, ``path``}] (later copies on the path, never imported)}}.
  Only the torch family ("torch*", "pytorch*", triton, functorch, xformers, flash-attn) and
  NVIDIA/CUDA wheels ("nvidia-*", "cuda-*", pynvml) are listed.
- ``torch``: ``found`` (bool), ``package_dir``, ``version_file``, ``fields_present`` [names
  assigned in version.py], ``version`` (``__version__``), ``cuda``, ``hip``, ``rocm``, ``xpu``,
  ``git_version``, ``debug`` (each null when absent), ``distribution_version`` (from metadata;
  PyPI wheels drop the ``+cuXXX`` label), ``local_label`` ("cu121", "rocm6.1", "cpu", or
  null), ``variant`` ("cpu" | "cuXYZ" | "rocmX.Y" | "xpu" | null) and ``variant_source``
  ("local-label" | "version-fields" | null), ``version_file_error`` (str when version.py
  exists but cannot be parsed, else null).
- ``cudnn`` / ``nccl``: {``version`` "9.1.0", ``package`` "nvidia-cudnn-cu12",
  ``package_version`` "9.1.0.70"} or null, from the NVIDIA wheels (first found in cu13, cu12,
  cu11 order).
- ``gpu``: ``source`` ("nvml" | "nvidia-smi" | null), ``driver_version``,
  ``cuda_driver_version`` ("12.4", NVML only), ``count`` (int), ``devices`` [{``index``,
  ``name``, ``uuid``, ``memory_total_mib``, ``compute_capability`` "9.0", ``health``}] (a
  field is null when the driver gave no usable value). ``health`` (null when unread):
  {``ecc_volatile_uncorrected`` int, ``retired_pages_pending`` bool, ``remapped_rows_pending``
  bool, ``remapped_rows_failure`` bool, ``persistence_mode`` bool, ``throttle_mask`` int,
  ``throttle_reasons`` [names of the set bits: "gpu_idle", "sw_power_cap", "hw_slowdown",
  "sw_thermal_slowdown", "hw_thermal_slowdown", "hw_power_brake_slowdown", ...],
  ``mig_mode`` / ``mig_pending`` bool (current / after reset), ``mig_devices`` [MIG UUIDs],
  ``unreadable`` [str]}; each is null where the GPU lacks the feature (NVML NotSupported,
  nvidia-smi "[N/A]"), ``faults`` [{``kind``: "timeout" | "exit" |
  "bad-field" | "exec" | "nvml" | "parse", ``source``: "nvml" | "nvidia-smi" | "rocm-smi",
  ``detail``: str}], ``nvidia_smi`` (path or null), ``nvml`` {``importable`` bool, ``detail``
  str or null}, ``notes`` [str], ``device_nodes`` [/dev/nvidia* paths], ``env``
  {CUDA_VISIBLE_DEVICES, NVIDIA_VISIBLE_DEVICES, NVIDIA_DRIVER_CAPABILITIES,
  HIP_VISIBLE_DEVICES, ROCR_VISIBLE_DEVICES: str or null}, ``rocm`` {``kfd`` bool,
  ``render_nodes`` [str], ``version`` (from /opt/rocm/.info/version) or null, ``rocm_smi``
  (path or null), ``rocm_smi_output`` (parsed JSON or null)}.
- ``env``: {name: value} of the job's ``NCCL_*``, ``CUDA_*``, ``PYTORCH_*`` and ``TORCH_*``
  variables; the value of a name with TOKEN, SECRET, PASSW, KEY, CREDENTIAL, AUTH, COOKIE or
  SESSION in it is "***".
- ``smoke``: null unless ``--smoke``; else {``timeout`` float, ``compile`` bool, ``probes``
  {name: {``status`` "ok" | "fail" | "timeout" | "skipped", ``seconds`` float, ``value``
  (JSON or null), ``detail`` (str or null)}}}, probes in this order: import_torch (value:
  version/cuda/hip/xpu/git_version/debug/file), cuda_available (bool), devices ({count,
  devices: [{index, name, capability, total_memory_mib}]}), arch_list ([str]), cudnn
  ({available, runtime, runtime_raw, compiled, enabled}), nccl (str), matmul_cpu, conv2d_cpu,
  matmul_cuda, conv2d_cuda (each {device: {dtype: {rel_err, tolerance, ok} | {error}}};
  conv2d_cuda also has cudnn_enabled), torchvision_nms ({device: {kept, ok}}: torchvision.ops.nms
  on the CPU and each GPU; skipped without torchvision), compile ({device, rel_err, ok}),
  cuda_assert ({error}: an out-of-bounds index on cuda:0 must raise "device-side assert
  triggered"; last, since it leaves the CUDA context unusable). A probe failing with a
  device-side assert says so, and the probes after it run in a fresh worker. Matmul runs float32
  and bfloat16 on CPU; float32, float16 and (from sm_80, or on ROCm) bfloat16 on each GPU.
  rel_err is the largest error against a float64 CPU reference over the largest reference
  value. import_torch's ``seconds`` is the import time. GPU probes are "skipped" with a detail starting "no GPU"
  when torch sees none; cudnn and nccl are skipped on CPU-only builds. Each probe has its own
  time limit in a worker process; after a hang or crash a fresh worker runs the rest.
- ``errors``: [{``section``, ``error``}] for any section that broke (its value is then null).
"""

from __future__ import annotations

import os
import sys

# Run by path, sys.path[0] is this folder; drop it so sibling modules never shadow stdlib ones.
_HERE = os.path.dirname(os.path.abspath(__file__))
if sys.path and os.path.abspath(sys.path[0] or ".") == _HERE:
    del sys.path[0]

import time  # noqa: E402

# typing costs a few milliseconds at start-up; annotations are never evaluated here.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from typing import Any

_PYCF_ONLY_AST = 0x400  # ast.PyCF_ONLY_AST
SCHEMA = "mlops-actions/env-probe"
SCHEMA_VERSION = 1
DEFAULT_SMOKE_TIMEOUT = 120.0
DEFAULT_COMMAND_TIMEOUT = 10.0

VERSION_FIELDS = ("__version__", "debug", "cuda", "git_version", "hip", "rocm", "xpu")
SMI_FIELDS = ("index", "name", "uuid", "driver_version", "memory.total", "compute_cap")
GPU_ENV = (
    "CUDA_VISIBLE_DEVICES",
    "NVIDIA_VISIBLE_DEVICES",
    "NVIDIA_DRIVER_CAPABILITIES",
    "HIP_VISIBLE_DEVICES",
    "ROCR_VISIBLE_DEVICES",
)
_SMI_DIRS = ("/usr/local/nvidia/bin", "/usr/lib/wsl/lib")
_EXTRA_DISTS = frozenset(("triton", "functorch", "xformers", "flash-attn", "pynvml"))
_CONTAINER_CGROUP_WORDS = ("docker", "kubepods", "containerd", "libpod", "lxc", "podman")

USAGE = (
    "usage: probe.py [--smoke] [--compile] [--timeout S] [--command-timeout S] "
    "[--path DIR]... [--out FILE]"
)


def _err(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= 2000 else text[:2000] + "..."


# ---------------------------------------------------------------- pure helpers


def normalize_name(name: str) -> str:
    """PEP 503 normalised distribution name (runs of -_. become one -, lower case)."""
    out: list[str] = []
    for char in name.lower():
        if char in "-_.":
            if not out or out[-1] != "-":
                out.append("-")
        else:
            out.append(char)
    return "".join(out)


def _leading_digits(text: str) -> str:
    end = 0
    while end < len(text) and text[end].isdigit():
        end += 1
    return text[:end]


def is_interesting(norm: str) -> bool:
    return norm.startswith(("torch", "pytorch", "nvidia-", "cuda-")) or norm in _EXTRA_DISTS


def parse_version_py(source: str) -> dict[str, Any]:
    """Top-level literal assignments of the torch/version.py fields, annotated or not.

    compile(..., PyCF_ONLY_AST) is what ast.parse does; calling it directly spares importing
    ast (and enum) on the fast path. Raises SyntaxError for a broken file.
    """
    tree: Any = compile(source, "torch/version.py", "exec", _PYCF_ONLY_AST, dont_inherit=True)
    found: dict[str, Any] = {}
    for node in tree.body:
        kind = type(node).__name__
        if kind == "Assign" and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif kind == "AnnAssign" and node.value is not None:
            target, value = node.target, node.value
        else:
            continue
        if type(target).__name__ != "Name" or target.id not in VERSION_FIELDS:
            continue
        if type(value).__name__ != "Constant":
            continue
        if value.value is None or isinstance(value.value, (str, bool)):
            found[target.id] = value.value
    return found


def local_label(version: str | None) -> str | None:
    if not version or "+" not in version:
        return None
    return version.split("+", 1)[1] or None


def build_variant(
    label: str | None, cuda: str | None, hip: str | None, xpu: str | None
) -> tuple[str | None, str | None]:
    """(variant, source): from the local version label when it names one, else the fields."""
    named = label_variant(label) if label else None
    if named:
        return named, "local-label"
    if hip:
        parts = hip.split(".")
        if len(parts) >= 2 and parts[0].isdigit() and _leading_digits(parts[1]):
            return f"rocm{parts[0]}.{_leading_digits(parts[1])}", "version-fields"
        return "rocm", "version-fields"
    if cuda:
        return "cu" + cuda.replace(".", ""), "version-fields"
    if xpu:
        return "xpu", "version-fields"
    return "cpu", "version-fields"


def label_variant(label: str) -> str | None:
    """The build a local version label names: cpu, xpu, cuXYZ or rocmX.Y (cu117.with.pypi.cudnn
    names cu117); None for other labels."""
    end = 0
    if label.startswith(("cpu", "xpu")):
        end = 3
    elif label.startswith("cu"):
        digits = _leading_digits(label[2:])
        end = 2 + len(digits) if digits else 0
    elif label.startswith("rocm"):
        digits = _leading_digits(label[4:])
        end = 4 + len(digits) if digits else 0
        while end and label[end : end + 1] == "." and _leading_digits(label[end + 1 :]):
            end += 1 + len(_leading_digits(label[end + 1 :]))
    if not end or (end < len(label) and label[end].isalnum()):
        return None
    return label[:end]


def decode_library_version(raw: int) -> str:
    """cuDNN/NCCL integer codes: M*10000+m*100+p from cuDNN 9 / NCCL 2.9, M*1000+m*100+p before."""
    if raw >= 10000:
        return f"{raw // 10000}.{(raw % 10000) // 100}.{raw % 100}"
    return f"{raw // 1000}.{(raw % 1000) // 100}.{raw % 100}"


def three_part(version: str) -> str:
    """First three dot-separated parts of a wheel version: 9.1.0.70 -> 9.1.0."""
    return ".".join(version.split("+", 1)[0].split(".")[:3])


def library_from_wheels(dists: dict[str, Any], stem: str) -> dict[str, Any] | None:
    for suffix in ("cu13", "cu12", "cu11"):
        name = f"nvidia-{stem}-{suffix}"
        info = dists.get(name)
        if info and info.get("version"):
            return {
                "version": three_part(info["version"]),
                "package": name,
                "package_version": info["version"],
            }
    return None


def is_bad_field(value: str) -> bool:
    v = value.strip()
    return (
        not v
        or "ERR!" in v
        or v in ("N/A", "Unknown Error")
        or (v.startswith("[") and v.endswith("]"))
    )


def _int_or_none(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


def parse_smi_csv(
    text: str, fields: tuple[str, ...]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Rows of `nvidia-smi --query-gpu=<fields> --format=csv,noheader,nounits` -> devices, faults."""
    devices: list[dict[str, Any]] = []
    faults: list[dict[str, Any]] = []
    width = len(fields)
    name_at = fields.index("name")
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split(",")]
        if len(parts) > width:  # a comma inside the GPU name
            extra = len(parts) - width
            parts[name_at : name_at + extra + 1] = [", ".join(parts[name_at : name_at + extra + 1])]
        if len(parts) != width:
            faults.append(
                _fault("parse", "nvidia-smi", f"line {lineno}: expected {width} fields: {line!r}")
            )
            continue
        raw = dict(zip(fields, parts))  # noqa: B905 - lengths checked above; zip is not strict on 3.8
        device: dict[str, Any] = {
            "index": None,
            "name": None,
            "uuid": None,
            "memory_total_mib": None,
            "compute_capability": None,
            "health": None,
        }
        driver = None
        for field, value in raw.items():
            if is_bad_field(value):
                faults.append(
                    _fault(
                        "bad-field",
                        "nvidia-smi",
                        f"GPU line {lineno}: {field} is {value!r}",
                    )
                )
                continue
            if field == "index":
                device["index"] = _int_or_none(value)
            elif field == "name":
                device["name"] = value
            elif field == "uuid":
                device["uuid"] = value
            elif field == "driver_version":
                driver = value
            elif field == "memory.total":
                device["memory_total_mib"] = _int_or_none(value)
            elif field == "compute_cap":
                device["compute_capability"] = value
            if field in ("index", "memory.total") and _int_or_none(value) is None:
                faults.append(
                    _fault(
                        "bad-field",
                        "nvidia-smi",
                        f"GPU line {lineno}: {field} is not a number: {value!r}",
                    )
                )
        device["driver_version"] = driver
        devices.append(device)
    return devices, faults


def _fault(kind: str, source: str, detail: str) -> dict[str, Any]:
    return {"kind": kind, "source": source, "detail": detail}


_JSON_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\b": "\\b",
    "\f": "\\f",
}


def _json_string(text: str) -> str:
    if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:
        return '"' + text + '"'
    out = []
    for char in text:
        code = ord(char)
        if char in _JSON_ESCAPES:
            out.append(_JSON_ESCAPES[char])
        elif 0x20 <= code < 0x7F:
            out.append(char)
        elif code > 0xFFFF:
            code -= 0x10000
            out.append(f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}")
        else:
            out.append(f"\\u{code:04x}")
    return '"' + "".join(out) + '"'


def to_json(value: Any, level: int = 0) -> str:
    """JSON text, indented by two, ASCII only; what json.dumps gives, without importing json
    (and re) on the fast path. Non-finite floats become null; unknown objects their str()."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        return repr(value) if value - value == 0 else "null"
    if isinstance(value, str):
        return _json_string(value)
    inner = "\n" + "  " * (level + 1)
    outer = "\n" + "  " * level
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [_json_string(str(k)) + ": " + to_json(v, level + 1) for k, v in value.items()]
        return "{" + inner + ("," + inner).join(items) + outer + "}"
    if isinstance(value, (list, tuple)):
        if not value:
            return "[]"
        return "[" + inner + ("," + inner).join(to_json(v, level + 1) for v in value) + outer + "]"
    return _json_string(str(value))


# ---------------------------------------------------------------- facts: python and OS


def interpreter_flags() -> list[str]:
    """Flags that change what the interpreter can import; the smoke worker gets the same."""
    flags = sys.flags
    out = []
    if flags.isolated:
        out.append("-I")
    else:
        if flags.ignore_environment:
            out.append("-E")
        if flags.no_user_site:
            out.append("-s")
    if flags.no_site:
        out.append("-S")
    if getattr(flags, "safe_path", False) and not flags.isolated:
        out.append("-P")
    return out


def _pyvenv_cfg() -> bool:
    # With -S, site never switches sys.prefix to the venv; pyvenv.cfg still marks one.
    exe_dir = os.path.dirname(os.path.abspath(sys.executable))
    return any(
        os.path.isfile(os.path.join(folder, "pyvenv.cfg"))
        for folder in (exe_dir, os.path.dirname(exe_dir))
    )


def python_facts() -> dict[str, Any]:
    info = sys.version_info
    prefix = sys.prefix
    return {
        "version": f"{info[0]}.{info[1]}.{info[2]}",
        "version_info": [info[0], info[1], info[2], info[3], info[4]],
        "implementation": sys.implementation.name,
        "executable": sys.executable,
        "prefix": prefix,
        "base_prefix": getattr(sys, "base_prefix", prefix),
        "venv": prefix != getattr(sys, "base_prefix", prefix) or _pyvenv_cfg(),
        "conda": os.path.isdir(os.path.join(prefix, "conda-meta")),
        "abiflags": getattr(sys, "abiflags", None),
        "flags": interpreter_flags(),
        "sys_path": list(sys.path),
    }


def _read_text(path: str, limit: int = 1 << 16) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read(limit)
    except OSError:
        return None


def parse_os_release(text: str) -> dict[str, str | None]:
    values: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip():
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                value = value[1:-1]
            values[key.strip()] = value
    return {
        "id": values.get("ID"),
        "version_id": values.get("VERSION_ID"),
        "pretty_name": values.get("PRETTY_NAME"),
    }


def container_markers() -> list[str]:
    markers = []
    for path in ("/.dockerenv", "/run/.containerenv"):
        if os.path.exists(path):
            markers.append(path)
    engine = os.environ.get("container")  # noqa: SIM112 - systemd and podman set it lower-case
    if engine:
        markers.append("env:container=" + engine)
    if os.environ.get("KUBERNETES_SERVICE_HOST"):
        markers.append("kubernetes")
    cgroup = _read_text("/proc/1/cgroup") or ""
    for word in _CONTAINER_CGROUP_WORDS:
        if word in cgroup:
            markers.append("cgroup:" + word)
    mountinfo = _read_text("/proc/self/mountinfo", 1 << 18) or ""
    for line in mountinfo.splitlines():
        fields = line.split(" ")
        if len(fields) > 4 and fields[4] == "/" and " - overlay " in line:
            markers.append("overlay-root")
            break
    return markers


def os_facts() -> dict[str, Any]:
    uname = os.uname() if hasattr(os, "uname") else None
    try:
        libc = os.confstr("CS_GNU_LIBC_VERSION")
    except (AttributeError, ValueError, OSError):
        libc = None
    release = _read_text("/etc/os-release") or _read_text("/usr/lib/os-release")
    markers = container_markers()
    return {
        "system": uname.sysname if uname else sys.platform,
        "release": uname.release if uname else None,
        "machine": uname.machine if uname else None,
        "libc": libc,
        "distro": parse_os_release(release) if release else None,
        "container": {"detected": bool(markers), "markers": markers},
    }


# ---------------------------------------------------------------- facts: distributions


def _metadata_headers(path: str) -> dict[str, Any]:
    """Name, Version and Requires-Dist from the headers of a METADATA/PKG-INFO file."""
    out: dict[str, Any] = {"name": None, "version": None, "requires": []}
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if not line.strip():
                    break
                if line[0] in " \t":
                    continue
                key, sep, value = line.partition(":")
                if not sep:
                    continue
                key = key.lower()
                if key == "name" and out["name"] is None:
                    out["name"] = value.strip()
                elif key == "version" and out["version"] is None:
                    out["version"] = value.strip()
                elif key == "requires-dist":
                    out["requires"].append(value.strip())
    except OSError:
        pass
    return out


def _search_dirs(paths: Iterable[str]) -> list[str]:
    seen = set()
    out = []
    for entry in paths:
        directory = os.path.abspath(entry or ".")
        if directory not in seen and os.path.isdir(directory):
            seen.add(directory)
            out.append(directory)
    return out


def scan_distributions(paths: Iterable[str]) -> dict[str, Any]:
    """Torch-family and NVIDIA distributions on the path, first copy wins as import does.

    Reads folder names and a few METADATA headers only: importlib.metadata would open every
    distribution on the path.
    """
    dists: dict[str, Any] = {}
    for directory in _search_dirs(paths):
        try:
            entries = sorted(os.listdir(directory))
        except OSError:
            continue
        for entry in entries:
            if entry.endswith(".dist-info"):
                stem = entry[: -len(".dist-info")]
            elif entry.endswith(".egg-info"):
                stem = entry[: -len(".egg-info")]
            else:
                continue
            raw_name, _, raw_version = stem.partition("-")
            norm = normalize_name(raw_name)
            if not is_interesting(norm):
                continue
            path = os.path.join(directory, entry)
            if os.path.isdir(path):
                meta_file = os.path.join(
                    path, "METADATA" if entry.endswith(".dist-info") else "PKG-INFO"
                )
            else:
                meta_file = path  # a single-file .egg-info is the PKG-INFO itself
            headers = _metadata_headers(meta_file)
            version = headers["version"] or (raw_version.split("-", 1)[0] or None)
            if headers["name"]:
                norm = normalize_name(headers["name"])
            if norm in dists:
                dists[norm]["shadowed"].append({"version": version, "path": path})
                continue
            installer = (
                _read_text(os.path.join(path, "INSTALLER"), 256) if os.path.isdir(path) else None
            )
            dists[norm] = {
                "name": headers["name"] or raw_name,
                "version": version,
                "path": path,
                "requires": headers["requires"],
                "installer": (installer.strip() or None) if installer else None,
                "shadowed": [],
            }
    return dists


# ---------------------------------------------------------------- facts: torch


def find_spec(name: str) -> Any:
    """importlib.util.find_spec for a top-level name, without importing importlib.util.

    Asks the finders on sys.meta_path, as the import system does; nothing is executed.
    """
    for finder in sys.meta_path:
        method = getattr(finder, "find_spec", None)
        if method is None:
            continue
        try:
            spec = method(name, None)
        except Exception:
            continue
        if spec is not None:
            return spec
    return None


def locate_torch() -> str | None:
    """Folder of the torch package the interpreter would import, without importing it."""
    spec = find_spec("torch")
    if spec is None:
        return None
    if spec.origin and spec.origin not in ("namespace", "built-in"):
        return os.path.dirname(str(spec.origin))
    locations = [str(p) for p in spec.submodule_search_locations or []]
    return locations[0] if locations else None


def torch_facts(dists: dict[str, Any]) -> dict[str, Any]:
    facts: dict[str, Any] = {
        "found": False,
        "package_dir": None,
        "version_file": None,
        "fields_present": [],
        "version": None,
        "cuda": None,
        "hip": None,
        "rocm": None,
        "xpu": None,
        "git_version": None,
        "debug": None,
        "distribution_version": None,
        "local_label": None,
        "variant": None,
        "variant_source": None,
        "version_file_error": None,
    }
    dist = dists.get("torch")
    if dist:
        facts["distribution_version"] = dist["version"]
    package_dir = locate_torch()
    if package_dir is None:
        return facts
    facts["found"] = True
    facts["package_dir"] = package_dir
    version_file = os.path.join(package_dir, "version.py")
    source = _read_text(version_file, 1 << 20)
    if source is not None:
        facts["version_file"] = version_file
        try:
            fields = parse_version_py(source)
        except (SyntaxError, ValueError) as exc:
            facts["version_file_error"] = _err(exc)
            fields = {}
        facts["fields_present"] = [name for name in VERSION_FIELDS if name in fields]
        facts["version"] = fields.get("__version__")
        for name in ("cuda", "hip", "rocm", "xpu", "git_version", "debug"):
            facts[name] = fields.get(name)
    label = local_label(facts["version"]) or local_label(facts["distribution_version"])
    facts["local_label"] = label
    if facts["version"] is not None or label is not None:
        variant, source_kind = build_variant(label, facts["cuda"], facts["hip"], facts["xpu"])
        facts["variant"] = variant
        facts["variant_source"] = source_kind
    return facts


# ---------------------------------------------------------------- facts: GPU and driver


def which(program: str, extra: Iterable[str] = ()) -> str | None:
    for directory in list(os.environ.get("PATH", "").split(os.pathsep)) + list(extra):
        if not directory:
            continue
        candidate = os.path.join(directory, program)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def spawn_piped(argv: list[str]) -> Any:
    """A child in its own process group (so a hang is killed whole) with all three streams
    piped. Its stdin is an empty pipe, not /dev/null: some minimal containers have no /dev/null."""
    import subprocess

    return subprocess.Popen(
        argv,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def run_command(
    argv: list[str], timeout: float
) -> tuple[int | None, str, str, dict[str, Any] | None]:
    """(exit status, stdout, stderr, fault): a hang is killed with its whole process group."""
    import subprocess

    source = os.path.basename(argv[0])
    try:
        proc = spawn_piped(argv)
    except OSError as exc:
        return None, "", "", _fault("exec", source, _err(exc))
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        return (
            None,
            "",
            "",
            _fault(
                "timeout",
                source,
                "{} did not finish within {:g} s".format(" ".join(argv[:2]), timeout),
            ),
        )
    stdout = out.decode("utf-8", "replace")
    stderr = err.decode("utf-8", "replace")
    if proc.returncode != 0:
        message = (stderr.strip() or stdout.strip()).splitlines()
        return (
            proc.returncode,
            stdout,
            stderr,
            _fault(
                "exit",
                source,
                "exit status {}: {}".format(
                    proc.returncode, message[0] if message else "(no output)"
                ),
            ),
        )
    return 0, stdout, stderr, None


def _kill_group(proc: Any) -> None:
    import contextlib
    import signal

    try:
        if hasattr(os, "killpg"):
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
    except OSError:
        pass
    # A child stuck in the kernel may never die; do not wait on it forever.
    with contextlib.suppress(Exception):
        proc.wait(timeout=2)
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def nvml_query() -> dict[str, Any]:
    """Driver and devices through pynvml (nvidia-ml-py); raises pynvml errors."""
    import contextlib
    import importlib

    pynvml: Any = importlib.import_module("pynvml")
    pynvml.nvmlInit()
    try:
        result: dict[str, Any] = {
            "driver_version": _text(pynvml.nvmlSystemGetDriverVersion()),
            "cuda_driver_version": None,
            "devices": [],
            "faults": [],
        }
        get_cuda = getattr(pynvml, "nvmlSystemGetCudaDriverVersion", None)
        if get_cuda is not None:
            code = int(get_cuda())
            result["cuda_driver_version"] = f"{code // 1000}.{(code % 1000) // 10}"
        for index in range(int(pynvml.nvmlDeviceGetCount())):
            device: dict[str, Any] = {
                "index": index,
                "name": None,
                "uuid": None,
                "memory_total_mib": None,
                "compute_capability": None,
                "health": None,
            }
            try:
                handle = pynvml.nvmlDeviceGetHandleByIndex(index)
                device["name"] = _text(pynvml.nvmlDeviceGetName(handle))
                device["uuid"] = _text(pynvml.nvmlDeviceGetUUID(handle))
                device["memory_total_mib"] = int(pynvml.nvmlDeviceGetMemoryInfo(handle).total) // (
                    1 << 20
                )
                major, minor = pynvml.nvmlDeviceGetCudaComputeCapability(handle)
                device["compute_capability"] = f"{major}.{minor}"
                device["health"] = nvml_health(pynvml, handle)
            except Exception as exc:
                result["faults"].append(_fault("nvml", "nvml", f"GPU {index}: {_err(exc)}"))
            result["devices"].append(device)
        return result
    finally:
        with contextlib.suppress(Exception):
            pynvml.nvmlShutdown()


# Bits of nvmlDeviceGetCurrentClocksEventReasons (nvml.h, nvmlClocksEventReason*).
THROTTLE_REASONS = (
    (0x1, "gpu_idle"),
    (0x2, "applications_clocks_setting"),
    (0x4, "sw_power_cap"),
    (0x8, "hw_slowdown"),
    (0x10, "sync_boost"),
    (0x20, "sw_thermal_slowdown"),
    (0x40, "hw_thermal_slowdown"),
    (0x80, "hw_power_brake_slowdown"),
    (0x100, "display_clock_setting"),
)


def throttle_names(mask: int) -> list[str]:
    return [name for bit, name in THROTTLE_REASONS if mask & bit]


def empty_health() -> dict[str, Any]:
    return {
        "ecc_volatile_uncorrected": None,
        "retired_pages_pending": None,
        "remapped_rows_pending": None,
        "remapped_rows_failure": None,
        "persistence_mode": None,
        "throttle_mask": None,
        "throttle_reasons": None,
        "mig_mode": None,
        "mig_pending": None,
        "mig_devices": [],
        "unreadable": [],
    }


def known_health(health: dict[str, Any]) -> dict[str, Any] | None:
    """``health``, or None when the driver answered none of it (nothing supported)."""
    return health if any(v not in (None, []) for v in health.values()) else None


def nvml_health(pynvml: Any, handle: Any) -> dict[str, Any] | None:
    """The health facts of one GPU; a feature the GPU lacks (NotSupported) stays null."""
    health = empty_health()

    def ask(name: str, *args: Any) -> Any:
        func = getattr(pynvml, name, None)
        if func is None:
            return None
        try:
            return func(handle, *args)
        except Exception as exc:
            if type(exc).__name__ not in ("NVMLError_NotSupported", "NVMLError_FunctionNotFound"):
                health["unreadable"].append(f"{name}: {_err(exc)}")
            return None

    # Uncorrected errors (1) of the volatile counter (0): since the last driver load.
    ecc = ask("nvmlDeviceGetTotalEccErrors", 1, 0)
    health["ecc_volatile_uncorrected"] = None if ecc is None else int(ecc)
    pending = ask("nvmlDeviceGetRetiredPagesPendingStatus")
    health["retired_pages_pending"] = None if pending is None else bool(pending)
    rows = ask("nvmlDeviceGetRemappedRows")
    if rows is not None:
        health["remapped_rows_pending"] = bool(rows[2])
        health["remapped_rows_failure"] = bool(rows[3])
    persistence = ask("nvmlDeviceGetPersistenceMode")
    health["persistence_mode"] = None if persistence is None else bool(persistence)
    reasons = ask("nvmlDeviceGetCurrentClocksEventReasons")
    if reasons is None:
        reasons = ask("nvmlDeviceGetCurrentClocksThrottleReasons")
    if reasons is not None:
        health["throttle_mask"] = int(reasons)
        health["throttle_reasons"] = throttle_names(int(reasons))
    mig = ask("nvmlDeviceGetMigMode")
    if mig is not None:
        health["mig_mode"] = bool(mig[0])
        health["mig_pending"] = bool(mig[1])
    if health["mig_mode"]:
        for slot in range(int(ask("nvmlDeviceGetMaxMigDeviceCount") or 0)):
            mig_handle = ask("nvmlDeviceGetMigDeviceHandleByIndex", slot)
            if mig_handle is None:
                continue
            try:
                health["mig_devices"].append(_text(pynvml.nvmlDeviceGetUUID(mig_handle)))
            except Exception as exc:
                health["unreadable"].append(f"MIG device {slot}: {_err(exc)}")
    return known_health(health)


def _in_thread(func: Callable[[], dict[str, Any]], timeout: float) -> tuple[str, Any]:
    """('ok', value) | ('error', exc) | ('timeout', None); NVML calls can hang like nvidia-smi."""
    import threading

    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = func()
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=target, name="nvml-probe", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        return "timeout", None
    if "error" in box:
        return "error", box["error"]
    return "ok", box["value"]


def _module_importable(name: str) -> bool:
    return find_spec(name) is not None


def _dev_entries(prefix: str, folder: str = "/dev") -> list[str]:
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    return sorted(os.path.join(folder, n) for n in names if n.startswith(prefix))


def gpu_facts(command_timeout: float) -> dict[str, Any]:
    nodes = _dev_entries("nvidia")
    # Device plugins (Kubernetes, WSL) mount the driver's tools off the default PATH.
    smi = which("nvidia-smi", _SMI_DIRS if nodes or os.path.exists("/dev/dxg") else ())
    facts: dict[str, Any] = {
        "source": None,
        "driver_version": None,
        "cuda_driver_version": None,
        "count": 0,
        "devices": [],
        "faults": [],
        "nvidia_smi": smi,
        "nvml": {"importable": False, "detail": None},
        "notes": [],
        "device_nodes": nodes,
        "env": {name: os.environ.get(name) for name in GPU_ENV},
        "rocm": None,
    }
    # Without device nodes or nvidia-smi no driver is reachable; skip NVML's import cost.
    reachable = bool(nodes) or smi is not None or os.path.exists("/dev/dxg")
    if reachable and _module_importable("pynvml"):
        facts["nvml"]["importable"] = True
        _gpu_from_nvml(facts, command_timeout)
    if facts["source"] is None and smi is not None:
        _gpu_from_smi(facts, smi, command_timeout)
    facts["rocm"] = rocm_facts(command_timeout, facts["faults"])
    return facts


def _gpu_from_nvml(facts: dict[str, Any], timeout: float) -> None:
    status, value = _in_thread(nvml_query, timeout)
    if status == "timeout":
        facts["faults"].append(
            _fault("timeout", "nvml", f"NVML did not answer within {timeout:g} s")
        )
        return
    if status == "error":
        # A missing libnvidia-ml means no driver here: a fact, not a fault.
        if type(value).__name__ == "NVMLError_LibraryNotFound":
            facts["nvml"]["detail"] = "libnvidia-ml not found: " + _err(value)
        else:
            facts["nvml"]["detail"] = _err(value)
            facts["faults"].append(_fault("nvml", "nvml", _err(value)))
        return
    facts["source"] = "nvml"
    facts["driver_version"] = value["driver_version"]
    facts["cuda_driver_version"] = value["cuda_driver_version"]
    facts["devices"] = value["devices"]
    facts["count"] = len(value["devices"])
    facts["faults"].extend(value["faults"])


def _gpu_from_smi(facts: dict[str, Any], smi: str, timeout: float) -> None:
    fields: tuple[str, ...] = SMI_FIELDS
    query = [smi, "--query-gpu=" + ",".join(fields), "--format=csv,noheader,nounits"]
    _, out, err, fault = run_command(query, timeout)
    if (
        fault is not None
        and fault["kind"] == "exit"
        and "compute_cap" in out + err
        and "valid field" in out + err
    ):
        # Drivers before R510 do not know compute_cap; ask again without it.
        facts["notes"].append("nvidia-smi does not know the compute_cap field (driver before R510)")
        fields = tuple(f for f in SMI_FIELDS if f != "compute_cap")
        query = [smi, "--query-gpu=" + ",".join(fields), "--format=csv,noheader,nounits"]
        _, out, err, fault = run_command(query, timeout)
    if fault is not None:
        facts["faults"].append(fault)
        return
    devices, faults = parse_smi_csv(out, fields)
    facts["faults"].extend(faults)
    drivers = sorted({d.pop("driver_version") for d in devices} - {None})
    facts["source"] = "nvidia-smi"
    facts["driver_version"] = drivers[0] if len(drivers) == 1 else None
    if len(drivers) > 1:
        facts["faults"].append(
            _fault(
                "bad-field", "nvidia-smi", "GPUs report different drivers: " + ", ".join(drivers)
            )
        )
    facts["devices"] = devices
    facts["count"] = len(devices)
    _health_from_smi(facts, smi, timeout)


SMI_HEALTH_FIELDS = (
    "index",
    "persistence_mode",
    "ecc.errors.uncorrected.volatile.total",
    "retired_pages.pending",
    "remapped_rows.pending",
    "remapped_rows.failure",
    "clocks_throttle_reasons.active",
    "mig.mode.current",
    "mig.mode.pending",
)


def _smi_flag(value: str) -> bool | None:
    word = value.strip().lower()
    if word in ("enabled", "yes", "1"):
        return True
    if word in ("disabled", "no", "0"):
        return False
    return None


def parse_smi_health(text: str) -> dict[int, dict[str, Any] | None]:
    """Rows of the health query (SMI_HEALTH_FIELDS) -> {GPU index: health}; "[N/A]" is null."""
    out: dict[int, dict[str, Any] | None] = {}
    for line in text.splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) != len(SMI_HEALTH_FIELDS) or _int_or_none(parts[0]) is None:
            continue
        raw = dict(zip(SMI_HEALTH_FIELDS, parts))  # noqa: B905 - lengths checked above
        health = empty_health()
        health["persistence_mode"] = _smi_flag(raw["persistence_mode"])
        health["ecc_volatile_uncorrected"] = _int_or_none(
            raw["ecc.errors.uncorrected.volatile.total"]
        )
        health["retired_pages_pending"] = _smi_flag(raw["retired_pages.pending"])
        health["remapped_rows_pending"] = _smi_flag(raw["remapped_rows.pending"])
        health["remapped_rows_failure"] = _smi_flag(raw["remapped_rows.failure"])
        mask = raw["clocks_throttle_reasons.active"]
        if mask.lower().startswith("0x"):
            try:
                health["throttle_mask"] = int(mask, 16)
                health["throttle_reasons"] = throttle_names(health["throttle_mask"])
            except ValueError:
                pass
        health["mig_mode"] = _smi_flag(raw["mig.mode.current"])
        health["mig_pending"] = _smi_flag(raw["mig.mode.pending"])
        out[int(parts[0])] = known_health(health)
    return out


def parse_smi_list(text: str) -> dict[int, list[str]]:
    """`nvidia-smi -L` -> {GPU index: [MIG device UUIDs]}."""
    out: dict[int, list[str]] = {}
    current: int | None = None
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("GPU ") and ":" in stripped:
            current = _int_or_none(stripped[4 : stripped.index(":")])
            if current is not None:
                out.setdefault(current, [])
        elif stripped.startswith("MIG ") and "(UUID: " in stripped and current is not None:
            uuid = stripped.rsplit("(UUID: ", 1)[1].rstrip(")").strip()
            out[current].append(uuid)
    return out


def _health_from_smi(facts: dict[str, Any], smi: str, timeout: float) -> None:
    """GPU health through nvidia-smi; a driver that does not know a field gives a note."""
    query = [smi, "--query-gpu=" + ",".join(SMI_HEALTH_FIELDS), "--format=csv,noheader,nounits"]
    _, out, err, fault = run_command(query, timeout)
    if fault is not None:
        if fault["kind"] == "exit" and "valid field" in out + err:
            facts["notes"].append("nvidia-smi does not know the GPU health fields (old driver)")
        else:
            facts["faults"].append(fault)
        return
    by_index = parse_smi_health(out)
    if any(h and h["mig_mode"] for h in by_index.values()):
        _, listing, _, list_fault = run_command([smi, "-L"], timeout)
        if list_fault is not None:
            facts["faults"].append(list_fault)
        for index, uuids in parse_smi_list(listing).items():
            found = by_index.get(index)
            if found is not None:
                found["mig_devices"] = uuids
    for device in facts["devices"]:
        device["health"] = by_index.get(device.get("index"))


def rocm_facts(timeout: float, faults: list[dict[str, Any]]) -> dict[str, Any]:
    version = _read_text("/opt/rocm/.info/version", 256)
    rocm_smi = which("rocm-smi")
    facts: dict[str, Any] = {
        "kfd": os.path.exists("/dev/kfd"),
        "render_nodes": _dev_entries("renderD", "/dev/dri"),
        "version": version.strip() if version else None,
        "rocm_smi": rocm_smi,
        "rocm_smi_output": None,
    }
    if rocm_smi is not None:
        _, out, _, fault = run_command(
            [rocm_smi, "--showproductname", "--showdriverversion", "--json"], timeout
        )
        if fault is not None:
            faults.append(fault)
        else:
            import json

            try:
                facts["rocm_smi_output"] = json.loads(out)
            except ValueError as exc:
                faults.append(_fault("parse", "rocm-smi", _err(exc)))
    return facts


# ---------------------------------------------------------------- facts: the job's variables

ENV_PREFIXES = ("NCCL_", "CUDA_", "PYTORCH_", "TORCH_")
_SECRET_WORDS = ("TOKEN", "SECRET", "PASSW", "KEY", "CREDENTIAL", "AUTH", "COOKIE", "SESSION")


def job_environment() -> dict[str, str]:
    """The NCCL_*, CUDA_*, PYTORCH_* and TORCH_* variables; values of secret-looking names are
    masked, long values cut."""
    out: dict[str, str] = {}
    for name in sorted(os.environ):
        if not name.startswith(ENV_PREFIXES):
            continue
        value = os.environ[name]
        if any(word in name.upper() for word in _SECRET_WORDS):
            value = "***"
        elif len(value) > 1000:
            value = value[:1000] + "..."
        out[name] = value
    return out


# ---------------------------------------------------------------- deep path: smoke probes

SMOKE_PROBES = (
    "import_torch",
    "cuda_available",
    "devices",
    "arch_list",
    "cudnn",
    "nccl",
    "matmul_cpu",
    "conv2d_cpu",
    "matmul_cuda",
    "conv2d_cuda",
    "torchvision_nms",
    "compile",
    # Last: a device-side assert leaves the CUDA context unusable for anything after it.
    "cuda_assert",
)
_GPU_PROBES = frozenset(("devices", "arch_list", "matmul_cuda", "conv2d_cuda", "cuda_assert"))
DEVICE_ASSERT = "device-side assert triggered"
_TOLERANCE = {"float64": 1e-9, "float32": 5e-3, "float16": 2e-2, "bfloat16": 6e-2}


def _result(
    status: str, seconds: float = 0.0, value: Any = None, detail: str | None = None
) -> dict[str, Any]:
    return {"status": status, "seconds": round(seconds, 4), "value": value, "detail": detail}


def skip_reason(name: str, results: dict[str, Any], want_compile: bool) -> str | None:
    """Why a probe cannot run given earlier results, or None when it should run."""
    if name == "import_torch":
        return None
    imported = results.get("import_torch")
    if imported is None or imported["status"] != "ok":
        return "import torch did not succeed"
    if name == "compile" and not want_compile:
        return "not requested (--compile)"
    if name == "torchvision_nms" and find_spec("torchvision") is None:
        return "torchvision is not installed"
    info = imported["value"] or {}
    if name in ("cudnn", "nccl") and not (info.get("cuda") or info.get("hip")):
        return "CPU-only build: torch.version.cuda and torch.version.hip are None"
    if name in _GPU_PROBES:
        available = results.get("cuda_available")
        if available is None or available["status"] != "ok":
            return "no GPU: torch.cuda.is_available() did not succeed"
        if available["value"] is not True:
            if not (info.get("cuda") or info.get("hip")):
                return "no GPU: CPU-only build of torch"
            return "no GPU: torch.cuda.is_available() is False"
    return None


def _relative_error(torch: Any, out: Any, ref: Any) -> float:
    diff = (out.detach().to("cpu", torch.float64) - ref).abs().max().item()
    scale = ref.abs().max().item() or 1.0
    return float(diff / scale)


def _dtype_checks(
    torch: Any, device: str, dtypes: list[str], compute: Callable[[Any, str], Any], ref: Any
) -> tuple[dict[str, Any], bool]:
    out: dict[str, Any] = {}
    all_ok = True
    for dtype_name in dtypes:
        try:
            result = compute(getattr(torch, dtype_name), device)
            if device.startswith("cuda"):
                torch.cuda.synchronize(device)
            err = _relative_error(torch, result, ref)
            ok = err <= _TOLERANCE[dtype_name]  # NaN compares False
            out[dtype_name] = {"rel_err": err, "tolerance": _TOLERANCE[dtype_name], "ok": ok}
        except Exception as exc:
            out[dtype_name] = {"error": _err(exc)}
            ok = False
        all_ok = all_ok and ok
    return out, all_ok


def _cuda_devices(torch: Any) -> list[str]:
    return [f"cuda:{i}" for i in range(torch.cuda.device_count())]


def _matmul(
    torch: Any, devices: list[str], dtypes_for: Callable[[str], list[str]]
) -> tuple[str, Any]:
    gen = torch.Generator().manual_seed(0)
    a = torch.rand(64, 64, generator=gen, dtype=torch.float64) * 2 - 1
    b = torch.rand(64, 64, generator=gen, dtype=torch.float64) * 2 - 1
    ref = a @ b

    def compute(dtype: Any, device: str) -> Any:
        return a.to(device, dtype) @ b.to(device, dtype)

    value = {}
    ok = True
    for device in devices:
        value[device], dev_ok = _dtype_checks(torch, device, dtypes_for(device), compute, ref)
        ok = ok and dev_ok
    return ("ok" if ok else "fail"), value


def _conv2d(
    torch: Any, devices: list[str], dtypes_for: Callable[[str], list[str]]
) -> tuple[str, Any]:
    functional = torch.nn.functional
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(2, 3, 16, 16, generator=gen, dtype=torch.float64) * 2 - 1
    w = torch.rand(4, 3, 3, 3, generator=gen, dtype=torch.float64) * 2 - 1
    ref = functional.conv2d(x, w, padding=1)

    def compute(dtype: Any, device: str) -> Any:
        return functional.conv2d(x.to(device, dtype), w.to(device, dtype), padding=1)

    value: dict[str, Any] = {}
    ok = True
    for device in devices:
        value[device], dev_ok = _dtype_checks(torch, device, dtypes_for(device), compute, ref)
        ok = ok and dev_ok
    if any(d.startswith("cuda") for d in devices):
        value["cudnn_enabled"] = bool(torch.backends.cudnn.enabled)
    return ("ok" if ok else "fail"), value


def _cuda_matmul_dtypes(torch: Any) -> Callable[[str], list[str]]:
    def dtypes(device: str) -> list[str]:
        names = ["float32", "float16"]
        major, _ = torch.cuda.get_device_capability(device)
        if major >= 8 or getattr(torch.version, "hip", None):
            names.append("bfloat16")
        return names

    return dtypes


def _nms(torch: Any) -> tuple[str, Any]:
    """torchvision.ops.nms, a compiled torchvision op, on the CPU and each GPU.

    "operator torchvision::nms does not exist" is the classic sign of a torchvision built for
    another torch: the Python side imports, the C++ ops never registered."""
    import importlib

    ops: Any = importlib.import_module("torchvision.ops")
    boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0], [1.0, 1.0, 11.0, 11.0], [20.0, 20.0, 30.0, 30.0]])
    scores = torch.tensor([0.9, 0.8, 0.7])
    devices = ["cpu"] + (_cuda_devices(torch) if torch.cuda.is_available() else [])
    value: dict[str, Any] = {}
    ok = True
    for device in devices:
        kept = ops.nms(boxes.to(device), scores.to(device), 0.5).to("cpu").tolist()
        value[device] = {"kept": kept, "ok": kept == [0, 2]}
        ok = ok and kept == [0, 2]
    return ("ok" if ok else "fail"), value


def _cuda_assert(torch: Any) -> tuple[str, Any]:
    """Provoke a device-side assert (an out-of-bounds index in a CUDA kernel): it must come back
    as an error within the time limit, not as a hang or a silent wrong result."""
    x = torch.zeros(4, device="cuda:0")
    index = torch.tensor([9], device="cuda:0")
    try:
        x[index] += 1
        torch.cuda.synchronize("cuda:0")
    except RuntimeError as exc:
        text = str(exc)
        if DEVICE_ASSERT in text:
            return "ok", {"error": text.strip().splitlines()[0][:300]}
        raise
    return "fail", {"error": None}


def run_probe(name: str, want_compile: bool) -> tuple[str, Any]:
    """Run one smoke probe in this (worker) process: (status, value); raises on failure."""
    import importlib

    torch: Any = importlib.import_module("torch")
    if name == "import_torch":
        version = torch.version
        return "ok", {
            "version": str(torch.__version__),
            "cuda": getattr(version, "cuda", None),
            "hip": getattr(version, "hip", None),
            "xpu": getattr(version, "xpu", None),
            "git_version": getattr(version, "git_version", None),
            "debug": getattr(version, "debug", None),
            "file": torch.__file__,
        }
    if name == "cuda_available":
        return "ok", bool(torch.cuda.is_available())
    if name == "devices":
        devices = []
        for index in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(index)
            devices.append(
                {
                    "index": index,
                    "name": props.name,
                    "capability": f"{props.major}.{props.minor}",
                    "total_memory_mib": int(props.total_memory) // (1 << 20),
                }
            )
        return "ok", {"count": len(devices), "devices": devices}
    if name == "arch_list":
        return "ok", list(torch.cuda.get_arch_list())
    if name == "cudnn":
        cudnn = torch.backends.cudnn
        raw = cudnn.version() if cudnn.is_available() else None
        compiled = None
        compile_version = getattr(getattr(torch._C, "_cudnn", None), "getCompileVersion", None)
        if compile_version is not None:
            compiled = ".".join(str(part) for part in compile_version())
        return "ok", {
            "available": bool(cudnn.is_available()),
            "runtime": decode_library_version(int(raw)) if raw else None,
            "runtime_raw": int(raw) if raw else None,
            "compiled": compiled,
            "enabled": bool(cudnn.enabled),
        }
    if name == "nccl":
        raw_nccl = torch.cuda.nccl.version()
        if isinstance(raw_nccl, tuple):
            return "ok", ".".join(str(part) for part in raw_nccl)
        return "ok", decode_library_version(int(raw_nccl))
    if name == "matmul_cpu":
        return _matmul(torch, ["cpu"], lambda _d: ["float32", "bfloat16"])
    if name == "conv2d_cpu":
        return _conv2d(torch, ["cpu"], lambda _d: ["float32"])
    if name == "matmul_cuda":
        return _matmul(torch, _cuda_devices(torch), _cuda_matmul_dtypes(torch))
    if name == "conv2d_cuda":
        return _conv2d(torch, _cuda_devices(torch), lambda _d: ["float32", "float16"])
    if name == "torchvision_nms":
        return _nms(torch)
    if name == "cuda_assert":
        return _cuda_assert(torch)
    if name == "compile":
        device = "cuda:0" if torch.cuda.is_available() else "cpu"

        def tiny(x: Any) -> Any:
            return torch.sin(x) + torch.cos(x) * 2

        x = torch.linspace(-1, 1, 64, device=device)
        compiled_fn = torch.compile(tiny)
        expected = tiny(x)
        got = compiled_fn(x)
        err = _relative_error(torch, got, expected.double().cpu())
        return ("ok" if err < 1e-4 else "fail"), {
            "device": device,
            "rel_err": err,
            "ok": err < 1e-4,
        }
    raise ValueError("unknown probe " + name)


def worker_main() -> int:
    """Smoke worker: reads its task from stdin, writes one JSON line per event to stdout."""
    import json

    task = json.loads(sys.stdin.read())
    sys.path[:] = task["sys_path"]
    # Keep the protocol stream clean: anything torch or a library prints goes to stderr.
    protocol = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    results: dict[str, Any] = dict(task["results"])
    if (results.get("import_torch") or {}).get("status") == "ok":
        # A fresh worker after a hang: import torch up front so the next probe's time is its own.
        import contextlib
        import importlib

        with contextlib.suppress(Exception):  # the probes then fail on their own and say why
            importlib.import_module("torch")

    def emit(message: dict[str, Any]) -> None:
        protocol.write(json.dumps(message, default=str) + "\n")
        protocol.flush()

    for name in task["probes"]:
        emit({"event": "start", "probe": name})
        reason = skip_reason(name, results, task["compile"])
        if reason is not None:
            result = _result("skipped", 0.0, None, reason)
        else:
            start = time.perf_counter()
            try:
                status, value = run_probe(name, task["compile"])
                result = _result(status, time.perf_counter() - start, value)
            except KeyboardInterrupt:
                raise
            except BaseException as exc:
                detail = _err(exc)
                if DEVICE_ASSERT in detail:
                    detail = (
                        "a CUDA kernel hit a device-side assert (the CUDA context is unusable "
                        "after it; rerun with CUDA_LAUNCH_BLOCKING=1 to see which kernel): "
                        + detail
                    )
                result = _result("fail", time.perf_counter() - start, None, detail)
        results[name] = result
        emit({"event": "result", "probe": name, "result": result})
        if name != "cuda_assert" and DEVICE_ASSERT in str(result.get("detail") or ""):
            # Every later CUDA call in this process fails: the rest runs in a fresh worker.
            emit({"event": "restart"})
            return 0
    return 0


def run_smoke(timeout: float, want_compile: bool) -> dict[str, Any]:
    """Each probe under its own time limit in a worker; a fresh worker after a hang or crash."""
    import json
    import queue
    import subprocess
    import threading

    results: dict[str, Any] = {}
    remaining = list(SMOKE_PROBES)
    argv = [sys.executable, *interpreter_flags(), os.path.abspath(__file__), "--smoke-worker"]
    while remaining:
        task = {
            "sys_path": sys.path,
            "probes": remaining,
            "results": results,
            "compile": want_compile,
        }
        proc = spawn_piped(argv)
        lines: queue.Queue[Any] = queue.Queue()
        stderr_tail: list[bytes] = []

        def pump_stdout(stream: Any = proc.stdout, sink: queue.Queue[Any] = lines) -> None:
            for raw in iter(stream.readline, b""):
                sink.put(raw)
            sink.put(None)

        def pump_stderr(stream: Any = proc.stderr, tail: list[bytes] = stderr_tail) -> None:
            for raw in iter(stream.readline, b""):
                tail.append(raw)
                del tail[:-20]

        threading.Thread(target=pump_stdout, daemon=True).start()
        threading.Thread(target=pump_stderr, daemon=True).start()
        assert proc.stdin is not None
        try:
            proc.stdin.write(json.dumps(task).encode("utf-8"))
            proc.stdin.close()
        except OSError:
            pass
        current: str | None = None
        fresh = True
        started = time.perf_counter()
        while True:
            wait = max(0.0, started + timeout - time.perf_counter())
            try:
                raw = lines.get(timeout=wait)
            except queue.Empty:
                name = current or remaining[0]
                note = ""
                if fresh and name != "import_torch":
                    note = " (the time includes importing torch in a fresh worker)"
                results[name] = _result(
                    "timeout",
                    time.perf_counter() - started,
                    None,
                    f"no result within {timeout:g} s{note}",
                )
                remaining.remove(name)
                _kill_group(proc)
                break
            if raw is None:
                code = proc.wait()
                tail = b"".join(stderr_tail).decode("utf-8", "replace").strip()[-1500:]
                detail = f"worker exited with status {code} during this probe"
                if tail:
                    detail += "; stderr: " + tail
                name = current or remaining[0]
                results[name] = _result("fail", time.perf_counter() - started, None, detail)
                remaining.remove(name)
                break
            try:
                message = json.loads(raw.decode("utf-8", "replace"))
            except ValueError:
                continue
            if message.get("event") == "start":
                current = message["probe"]
                started = time.perf_counter()
            elif message.get("event") == "restart":
                break
            elif message.get("event") == "result":
                results[message["probe"]] = message["result"]
                if message["probe"] in remaining:
                    remaining.remove(message["probe"])
                current = None
                fresh = False
                started = time.perf_counter()
                if not remaining:
                    break
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
    return {
        "timeout": timeout,
        "compile": want_compile,
        "probes": {name: results[name] for name in SMOKE_PROBES},
    }


# ---------------------------------------------------------------- the report


def collect(
    smoke: bool = False,
    want_compile: bool = False,
    timeout: float = DEFAULT_SMOKE_TIMEOUT,
    command_timeout: float = DEFAULT_COMMAND_TIMEOUT,
) -> dict[str, Any]:
    start = time.perf_counter()
    report: dict[str, Any] = {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "probe_seconds": None,
    }
    errors: list[dict[str, Any]] = []

    def section(name: str, func: Callable[[], Any]) -> Any:
        try:
            value = func()
        except Exception as exc:
            errors.append({"section": name, "error": _err(exc)})
            value = None
        report[name] = value
        return value

    section("python", python_facts)
    section("os", os_facts)
    dists = section("distributions", lambda: scan_distributions(sys.path)) or {}
    section("torch", lambda: torch_facts(dists))
    section("cudnn", lambda: library_from_wheels(dists, "cudnn"))
    section("nccl", lambda: library_from_wheels(dists, "nccl"))
    section("gpu", lambda: gpu_facts(command_timeout))
    section("env", job_environment)
    if smoke:
        section("smoke", lambda: run_smoke(timeout, want_compile))
    else:
        report["smoke"] = None
    report["errors"] = errors
    report["probe_seconds"] = round(time.perf_counter() - start, 4)
    return report


class UsageError(Exception):
    pass


def parse_args(argv: list[str]) -> dict[str, Any]:
    options: dict[str, Any] = {
        "smoke": False,
        "compile": False,
        "timeout": DEFAULT_SMOKE_TIMEOUT,
        "command_timeout": DEFAULT_COMMAND_TIMEOUT,
        "out": None,
        "path": [],
        "worker": False,
    }
    args = list(argv)
    while args:
        arg = args.pop(0)
        key, eq, inline = arg.partition("=")
        if key in ("--smoke", "--compile", "--smoke-worker") and not eq:
            options[{"--smoke-worker": "worker"}.get(key, key[2:])] = True
        elif key in ("--timeout", "--command-timeout", "--out", "--path"):
            if eq:
                value = inline
            elif args:
                value = args.pop(0)
            else:
                raise UsageError(f"{key} needs a value")
            if key in ("--timeout", "--command-timeout"):
                try:
                    seconds = float(value)
                except ValueError:
                    seconds = -1.0
                if not seconds > 0:
                    raise UsageError(f"{key} needs a positive number of seconds, got {value!r}")
                options[key[2:].replace("-", "_")] = seconds
            elif key == "--path":
                options["path"].append(value)
            else:
                options["out"] = value
        elif key in ("-h", "--help"):
            raise UsageError("help")
        else:
            raise UsageError(f"unknown argument {arg!r}")
    return options


def main(argv: list[str] | None = None) -> int:
    try:
        options = parse_args(sys.argv[1:] if argv is None else argv)
    except UsageError as exc:
        if str(exc) == "help":
            sys.stdout.write(USAGE + "\n")
            return 0
        sys.stderr.write(f"probe.py: {exc} ({USAGE})\n")
        return 2
    if options["worker"]:
        return worker_main()
    for directory in reversed(options["path"]):
        sys.path.insert(0, os.path.abspath(directory))
    report = collect(
        options["smoke"], options["compile"], options["timeout"], options["command_timeout"]
    )
    text = to_json(report) + "\n"
    if options["out"]:
        try:
            with open(options["out"], "w", encoding="utf-8") as handle:
                handle.write(text)
        except OSError as exc:
            sys.stderr.write("probe.py: cannot write --out {}: {}\n".format(options["out"], exc))
            return 2
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
