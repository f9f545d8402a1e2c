"""Where readings come from: NVML through nvidia-ml-py, else `nvidia-smi` polled as CSV.

This is the edge of the package: driver calls and a subprocess. Each source turns what the
driver says into `Reading`s and `Event`s (plain data) and knows nothing of aggregation.
"""

from __future__ import annotations

import contextlib
import importlib
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from mlops_actions.gpu_monitor.stats import Event, Identity, Reading

MIB = 1024 * 1024
NVML_UTILIZATION_SAMPLES = 1  # NVML_GPU_UTILIZATION_SAMPLES
NVML_TEMPERATURE_GPU = 0
NVML_CLOCK_SM = 1
EVENT_KINDS = {0x1: "ecc-single-bit", 0x2: "ecc-double-bit", 0x8: "xid"}
SMI_TIMEOUT_S = 10.0


class Lost(Exception):
    """The GPU stopped answering (NVML_ERROR_GPU_IS_LOST, or gone from nvidia-smi)."""


class Source(Protocol):
    name: str
    identities: list[Identity]

    def read(self, index: int, t: float) -> Reading: ...

    def events(self, t: float) -> list[tuple[int, Event]]: ...

    def close(self) -> None: ...


@dataclass
class Unavailable:
    """Why no source could be opened, for the one "no NVIDIA GPU visible" line."""

    reasons: list[str] = field(default_factory=list)

    def text(self) -> str:
        return "no NVIDIA GPU visible (" + "; ".join(self.reasons) + ")"


def open_source(which: Callable[[str], str | None] = shutil.which) -> Source | Unavailable:
    """NVML first, then nvidia-smi; an `Unavailable` saying why when neither answers."""
    why = Unavailable()
    try:
        nvml = NvmlSource.open()
    except Exception as exc:  # any driver or binding failure means "try the next source"
        why.reasons.append(f"NVML: {_describe(exc)}")
    else:
        if nvml.identities:
            return nvml
        nvml.close()
        why.reasons.append("NVML: 0 devices")
    smi = which("nvidia-smi")
    if smi is None:
        why.reasons.append("nvidia-smi: not on PATH")
        return why
    try:
        source = SmiSource.open(smi)
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        why.reasons.append(f"nvidia-smi: {_describe(exc)}")
        return why
    if not source.identities:
        why.reasons.append("nvidia-smi: 0 devices")
        return why
    return source


def _describe(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return " ".join(text.split())[:200]


# -- NVML ---------------------------------------------------------------------------------------


class NvmlSource:
    name = "nvml"

    def __init__(self, nvml: Any, handles: list[Any], identities: list[Identity]) -> None:
        self.nvml = nvml
        self.handles = handles
        self.identities = identities
        self.last_sample_us = [0] * len(handles)
        self.use_samples = [True] * len(handles)
        self.event_set: Any = None
        self.event_index: dict[int, int] = {}

    @classmethod
    def open(cls) -> NvmlSource:
        # nvidia-ml-py, imported here so that a machine without it still runs the command.
        pynvml: Any = importlib.import_module("pynvml")
        pynvml.nvmlInit()
        try:
            handles: list[Any] = []
            identities: list[Identity] = []
            for index in range(int(pynvml.nvmlDeviceGetCount())):
                handle = pynvml.nvmlDeviceGetHandleByIndex(index)
                handles.append(handle)
                identities.append(
                    Identity(
                        index,
                        _text(pynvml.nvmlDeviceGetName(handle)),
                        _text(pynvml.nvmlDeviceGetUUID(handle)),
                        _total_mib(pynvml, handle),
                    )
                )
        except Exception:
            with contextlib.suppress(Exception):
                pynvml.nvmlShutdown()
            raise
        source = cls(pynvml, handles, identities)
        # The driver's buffer also holds samples from before this job (CPU timestamps in µs):
        # count only those taken from now on.
        source.last_sample_us = [int(time.time() * 1_000_000)] * len(handles)
        source._register_events()
        return source

    def _register_events(self) -> None:
        nvml = self.nvml
        try:
            self.event_set = nvml.nvmlEventSetCreate()
        except Exception:
            return  # events are a bonus: some drivers and containers refuse them
        for index, handle in enumerate(self.handles):
            try:
                supported = int(nvml.nvmlDeviceGetSupportedEventTypes(handle))
                wanted = supported & sum(EVENT_KINDS)
                if wanted:
                    nvml.nvmlDeviceRegisterEvents(handle, wanted, self.event_set)
                    self.event_index[_address(handle)] = index
            except Exception:
                continue

    def read(self, index: int, t: float) -> Reading:
        nvml = self.nvml
        handle = self.handles[index]
        try:
            memory = self._memory(handle)
            return Reading(
                t=t,
                utilization=self._utilization(index, handle),
                memory_used_mib=memory[0],
                memory_total_mib=memory[1],
                power_w=_optional(lambda: nvml.nvmlDeviceGetPowerUsage(handle) / 1000),
                energy_mj=_optional(lambda: int(nvml.nvmlDeviceGetTotalEnergyConsumption(handle))),
                temperature_c=_optional(
                    lambda: float(nvml.nvmlDeviceGetTemperature(handle, NVML_TEMPERATURE_GPU))
                ),
                sm_clock_mhz=_optional(
                    lambda: float(nvml.nvmlDeviceGetClockInfo(handle, NVML_CLOCK_SM))
                ),
                throttle_reasons=self._throttle(handle),
                processes=self._processes(handle),
            )
        except nvml.NVMLError_GpuIsLost as exc:
            raise Lost(f"NVML: {_describe(exc)}") from None

    def _utilization(self, index: int, handle: Any) -> tuple[float, ...]:
        nvml = self.nvml
        if self.use_samples[index]:
            try:
                _, samples = nvml.nvmlDeviceGetSamples(
                    handle, NVML_UTILIZATION_SAMPLES, self.last_sample_us[index]
                )
            except nvml.NVMLError_NotFound:
                return ()  # no new sample since the last poll
            except nvml.NVMLError_GpuIsLost:
                raise
            except nvml.NVMLError:
                self.use_samples[index] = False  # not supported here: poll the rate instead
            else:
                fresh = [s for s in samples if s.timeStamp > self.last_sample_us[index]]
                if fresh:
                    self.last_sample_us[index] = max(s.timeStamp for s in fresh)
                return tuple(float(s.sampleValue.uiVal) for s in fresh)
        rate = _optional(lambda: float(nvml.nvmlDeviceGetUtilizationRates(handle).gpu))
        return () if rate is None else (rate,)

    def _memory(self, handle: Any) -> tuple[float | None, float | None]:
        nvml = self.nvml
        # v2 counts what nvidia-smi shows as used (v1 adds the driver's reserved memory).
        for version in (getattr(nvml, "nvmlMemory_v2", None), None):
            try:
                info = nvml.nvmlDeviceGetMemoryInfo(handle, version=version)
            except nvml.NVMLError_GpuIsLost:
                raise
            except nvml.NVMLError:
                continue
            return info.used / MIB, info.total / MIB
        return None, None

    def _throttle(self, handle: Any) -> int | None:
        nvml = self.nvml
        for name in (
            "nvmlDeviceGetCurrentClocksEventReasons",
            "nvmlDeviceGetCurrentClocksThrottleReasons",
        ):
            function = getattr(nvml, name, None)
            if function is None:
                continue
            try:
                return int(function(handle))
            except nvml.NVMLError_GpuIsLost:
                raise
            except nvml.NVMLError:
                continue
        return None

    def _processes(self, handle: Any) -> tuple[tuple[int, float], ...]:
        nvml = self.nvml
        try:
            found = nvml.nvmlDeviceGetComputeRunningProcesses(handle)
        except nvml.NVMLError_GpuIsLost:
            raise
        except Exception:  # not visible in this container, or a library mismatch
            return ()
        return tuple((int(p.pid), (p.usedGpuMemory or 0) / MIB) for p in found if p.pid is not None)

    def events(self, t: float) -> list[tuple[int, Event]]:
        if self.event_set is None:
            return []
        nvml = self.nvml
        found: list[tuple[int, Event]] = []
        for _ in range(100):  # bounded: a storm of events cannot stall sampling
            try:
                data = nvml.nvmlEventSetWait_v2(self.event_set, 0)
            except Exception:
                break  # NVML_ERROR_TIMEOUT: nothing pending
            index = self.event_index.get(_address(data.device), -1)
            kind = EVENT_KINDS.get(int(data.eventType), f"event-0x{int(data.eventType):x}")
            code = int(data.eventData) if kind == "xid" else None
            found.append((index, Event(t, kind, code)))
        return found

    def close(self) -> None:
        with contextlib.suppress(Exception):
            if self.event_set is not None:
                self.nvml.nvmlEventSetFree(self.event_set)
        with contextlib.suppress(Exception):
            self.nvml.nvmlShutdown()


def _total_mib(nvml: Any, handle: Any) -> float | None:
    try:
        return float(nvml.nvmlDeviceGetMemoryInfo(handle).total) / MIB
    except nvml.NVMLError:
        return None


def _address(handle: Any) -> int:
    import ctypes

    return int(ctypes.cast(handle, ctypes.c_void_p).value or 0)


def _text(value: object) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _optional(read: Callable[[], Any]) -> Any:
    """A value the GPU may not support (NVML_ERROR_NOT_SUPPORTED and kin): None instead."""
    try:
        return read()
    except Exception as exc:
        if type(exc).__name__ == "NVMLError_GpuIsLost":
            raise
        return None


# -- nvidia-smi ---------------------------------------------------------------------------------

SMI_FIELDS = (
    "index",
    "name",
    "uuid",
    "utilization.gpu",
    "memory.used",
    "memory.total",
    "power.draw",
    "temperature.gpu",
    "clocks.sm",
)
# Newer drivers name it clocks_event_reasons, older ones clocks_throttle_reasons.
SMI_THROTTLE_FIELDS = ("clocks_event_reasons.active", "clocks_throttle_reasons.active")


def smi_number(text: str) -> float | None:
    """A CSV value: a number, or None for `[N/A]`, `[Not Supported]`, `ERR!`."""
    text = text.strip()
    try:
        return float(int(text, 16)) if text.lower().startswith("0x") else float(text)
    except ValueError:
        return None


def parse_smi_rows(text: str, fields: Sequence[str]) -> dict[int, dict[str, str]]:
    """`--format=csv,noheader,nounits` rows keyed by GPU index (names may hold commas)."""
    rows: dict[int, dict[str, str]] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split(", ")]
        extra = len(parts) - len(fields)
        if extra < 0:
            continue
        if extra:  # a comma inside the name: join it back
            name_at = fields.index("name")
            parts[name_at : name_at + extra + 1] = [", ".join(parts[name_at : name_at + extra + 1])]
        row = dict(zip(fields, parts, strict=True))
        index = smi_number(row["index"])
        if index is not None:
            rows[int(index)] = row
    return rows


class SmiSource:
    name = "nvidia-smi"

    def __init__(self, path: str, fields: tuple[str, ...], rows: dict[int, dict[str, str]]):
        self.path = path
        self.fields = fields
        self.identities = [
            Identity(i, row["name"], row["uuid"], smi_number(row["memory.total"]))
            for i, row in sorted(rows.items())
        ]
        self.rows = rows
        self.rows_t: float | None = None

    @classmethod
    def open(cls, path: str) -> SmiSource:
        last: Exception | None = None
        for throttle in (*SMI_THROTTLE_FIELDS, None):
            fields = SMI_FIELDS + ((throttle,) if throttle else ())
            try:
                return cls(path, fields, _query(path, fields))
            except (subprocess.CalledProcessError, ValueError) as exc:
                last = exc  # an older driver refusing a field name: ask for fewer
        assert last is not None
        raise last

    def _rows(self, t: float) -> dict[int, dict[str, str]]:
        # One nvidia-smi call answers for every GPU; reuse it within one poll.
        if self.rows_t != t:
            self.rows = _query(self.path, self.fields)
            self.rows_t = t
        return self.rows

    def read(self, index: int, t: float) -> Reading:
        try:
            row = self._rows(t).get(index)
        except (OSError, subprocess.SubprocessError) as exc:
            raise Lost(f"nvidia-smi: {_describe(exc)}") from None
        if row is None:
            raise Lost("nvidia-smi no longer lists it")
        util = smi_number(row["utilization.gpu"])
        throttle = next((row[f] for f in SMI_THROTTLE_FIELDS if f in row), None)
        reasons = smi_number(throttle) if throttle is not None else None
        return Reading(
            t=t,
            utilization=() if util is None else (util,),
            memory_used_mib=smi_number(row["memory.used"]),
            memory_total_mib=smi_number(row["memory.total"]),
            power_w=smi_number(row["power.draw"]),
            temperature_c=smi_number(row["temperature.gpu"]),
            sm_clock_mhz=smi_number(row["clocks.sm"]),
            throttle_reasons=None if reasons is None else int(reasons),
        )

    def events(self, t: float) -> list[tuple[int, Event]]:
        return []  # nvidia-smi has no event stream

    def close(self) -> None:
        return None


def _query(path: str, fields: Sequence[str]) -> dict[int, dict[str, str]]:
    done = subprocess.run(
        [path, f"--query-gpu={','.join(fields)}", "--format=csv,noheader,nounits"],
        capture_output=True,
        text=True,
        timeout=SMI_TIMEOUT_S,
        check=True,
        stdin=subprocess.DEVNULL,
    )
    return parse_smi_rows(done.stdout, fields)
