"""Reading the probe document (see ``probe.py``): each accessor answers None when a fact is absent."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlops_actions import compat


def get(facts: Mapping[str, Any], *path: str) -> Any:
    node: Any = facts
    for key in path:
        if not isinstance(node, Mapping):
            return None
        node = node.get(key)
    return node


def torch_version(facts: Mapping[str, Any]) -> str | None:
    value = get(facts, "torch", "version") or get(facts, "torch", "distribution_version")
    return str(value) if value else None


def torch_found(facts: Mapping[str, Any]) -> bool:
    return bool(get(facts, "torch", "found")) or torch_version(facts) is not None


def torch_variant(facts: Mapping[str, Any]) -> str | None:
    value = get(facts, "torch", "variant")
    return str(value) if value else None


def torch_cuda(facts: Mapping[str, Any]) -> str | None:
    """CUDA version of the torch build ("12.1"), from version.py or the ``+cuXYZ`` label."""
    cuda = get(facts, "torch", "cuda")
    if cuda:
        return str(cuda)
    variant = torch_variant(facts)
    if variant and variant.startswith("cu"):
        return compat.cuda_tag_to_version(variant)
    return None


def distribution_version(facts: Mapping[str, Any], name: str) -> str | None:
    # The probe keys distributions by their PEP 503 name; callers pass such names.
    dist = get(facts, "distributions", name)
    if isinstance(dist, Mapping) and dist.get("version"):
        return str(dist["version"])
    return None


def smoke_probe(facts: Mapping[str, Any], name: str) -> Mapping[str, Any] | None:
    probe = get(facts, "smoke", "probes", name)
    return probe if isinstance(probe, Mapping) else None


def smoke_value(facts: Mapping[str, Any], name: str) -> Any:
    probe = smoke_probe(facts, name)
    if probe is None or probe.get("status") != "ok":
        return None
    return probe.get("value")


def text_or_none(value: Any) -> str | None:
    """A fact as text; absent, empty and null facts are None."""
    return str(value) if value else None


def cudnn_version(facts: Mapping[str, Any]) -> str | None:
    """The cuDNN torch loads (smoke) or the nvidia-cudnn wheel's version."""
    runtime = get(smoke_value(facts, "cudnn") or {}, "runtime")
    return text_or_none(runtime) or text_or_none(get(facts, "cudnn", "version"))


def nccl_version(facts: Mapping[str, Any]) -> str | None:
    return text_or_none(smoke_value(facts, "nccl")) or text_or_none(get(facts, "nccl", "version"))


def python_version(facts: Mapping[str, Any]) -> str | None:
    return text_or_none(get(facts, "python", "version"))


def records(value: Any) -> list[Mapping[str, Any]]:
    """The mappings in a list fact; anything else is no records."""
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def gpu_devices(facts: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return records(get(facts, "gpu", "devices"))


def cuda_visible_devices(facts: Mapping[str, Any]) -> str | None:
    value = get(facts, "gpu", "env", "CUDA_VISIBLE_DEVICES")
    return None if value is None else str(value)


def visible_selection(facts: Mapping[str, Any]) -> tuple[list[Selected], list[str]]:
    """What ``CUDA_VISIBLE_DEVICES`` selects, as CUDA reads it: (selected, unmatched entries).

    Unset: every GPU. Entries are indices, ``GPU-`` UUIDs (a unique prefix is enough) or
    ``MIG-`` UUIDs of MIG devices. CUDA stops at the first entry that matches nothing, so that
    entry and all after it are unmatched.
    """
    devices = gpu_devices(facts)
    spec = cuda_visible_devices(facts)
    if spec is None:
        return [Selected(str(d.get("index", i)), d, None) for i, d in enumerate(devices)], []
    selected: list[Selected] = []
    entries = [e.strip() for e in spec.split(",")] if spec.strip() else []
    for position, entry in enumerate(entries):
        if entry.startswith("-") and entry[1:].isdigit():
            break  # `-1`: the usual way to hide every GPU from here on, on purpose
        match = _match_entry(entry, devices)
        if match is None:
            return selected, entries[position:]
        selected.append(match)
    return selected, []


class Selected:
    """One device CUDA would see: ``device`` (the physical GPU) and the MIG UUID, if any."""

    __slots__ = ("device", "entry", "mig")

    def __init__(self, entry: str, device: Mapping[str, Any], mig: str | None) -> None:
        self.entry = entry
        self.device = device
        self.mig = mig


def _match_entry(entry: str, devices: list[Mapping[str, Any]]) -> Selected | None:
    if entry.isdigit():
        index = int(entry)
        return Selected(entry, devices[index], None) if index < len(devices) else None
    if entry.startswith("MIG-GPU-"):
        # The CUDA 11.0-11.x form MIG-GPU-<GPU UUID>/<GPU instance>/<compute instance>.
        parent = entry[len("MIG-") :].split("/", 1)[0]
        hits = [d for d in devices if d.get("uuid") == parent]
        return Selected(entry, hits[0], entry) if hits else None
    if entry.startswith("MIG-"):
        for device in devices:
            health = device.get("health")
            migs = health.get("mig_devices") if isinstance(health, Mapping) else None
            if isinstance(migs, list) and entry in migs:
                return Selected(entry, device, entry)
        return None
    if entry.startswith("GPU-"):
        hits = [d for d in devices if str(d.get("uuid") or "").startswith(entry)]
        return Selected(entry, hits[0], None) if len(hits) == 1 else None
    return None


def visible_devices(facts: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The GPUs the job sees (a MIG device stands for its GPU), in CUDA's order."""
    if cuda_visible_devices(facts) is None:
        return gpu_devices(facts)
    return [selected.device for selected in visible_selection(facts)[0]]


def gpu_count(facts: Mapping[str, Any]) -> int:
    """GPUs the job sees: the driver's, narrowed by ``CUDA_VISIBLE_DEVICES`` when it is set."""
    if cuda_visible_devices(facts) is not None and gpu_devices(facts):
        return len(visible_selection(facts)[0])
    count = get(facts, "gpu", "count")
    return int(count) if isinstance(count, int) else len(gpu_devices(facts))


def driver_version(facts: Mapping[str, Any]) -> str | None:
    return text_or_none(get(facts, "gpu", "driver_version"))


def gpu_faults(facts: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return records(get(facts, "gpu", "faults"))


def no_gpu_reason(facts: Mapping[str, Any]) -> str:
    if get(facts, "gpu") is None:
        return "the probe could not read the GPU section"
    if not get(facts, "gpu", "nvidia_smi") and not get(facts, "gpu", "device_nodes"):
        return "no NVIDIA driver here (no nvidia-smi, no /dev/nvidia*)"
    visible = cuda_visible_devices(facts)
    if gpu_devices(facts) and visible is not None:
        return (
            f"CUDA_VISIBLE_DEVICES={visible!r} selects none of the {len(gpu_devices(facts))} GPU(s)"
        )
    return "the driver lists no GPU"
