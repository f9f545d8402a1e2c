"""Streaming aggregates over GPU readings: constant memory however long the job runs.

Everything here is pure: readings (plain dataclasses) go in, a summary comes out. A 24-hour job
sampled at 1 Hz costs the same memory as a one-minute job: utilisation goes into a 101-bin
histogram (NVML and nvidia-smi report whole percents, so its p95 is exact), other figures are
running sums and extremes, and the timeline keeps at most `TIMELINE_POINTS` buckets by merging
neighbours (each merge doubles the bucket width).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

TIMELINE_POINTS = 240
MAX_EVENTS = 50  # events kept verbatim per GPU; counts keep going past it
MAX_PROCESSES = 32  # processes kept per GPU (the largest by peak memory)

# NVML clock-event ("throttle") reason bits, as nvmlClocksEventReason* names them.
THROTTLE_REASONS: tuple[tuple[int, str], ...] = (
    (0x1, "gpu-idle"),
    (0x2, "applications-clocks-setting"),
    (0x4, "sw-power-cap"),
    (0x8, "hw-slowdown"),
    (0x10, "sync-boost"),
    (0x20, "sw-thermal-slowdown"),
    (0x40, "hw-thermal-slowdown"),
    (0x80, "hw-power-brake-slowdown"),
    (0x100, "display-clock-setting"),
)


@dataclass(frozen=True)
class Identity:
    index: int
    name: str
    uuid: str
    memory_total_mib: float | None = None


@dataclass(frozen=True)
class Reading:
    """One poll of one GPU, `t` seconds after the monitor started.

    `utilization` holds every utilisation sample taken since the previous poll: the driver's own
    sample buffer when it has one (several per poll), else the single polled rate.
    `energy_mj` is NVML's total-energy counter (millijoules since the driver loaded)."""

    t: float
    utilization: tuple[float, ...] = ()
    memory_used_mib: float | None = None
    memory_total_mib: float | None = None
    power_w: float | None = None
    energy_mj: int | None = None
    temperature_c: float | None = None
    sm_clock_mhz: float | None = None
    throttle_reasons: int | None = None
    processes: tuple[tuple[int, float], ...] = ()  # (pid, MiB used)


@dataclass(frozen=True)
class Event:
    """A driver event: an Xid critical error or an ECC error, `t` seconds in."""

    t: float
    kind: str  # "xid" | "ecc-single-bit" | "ecc-double-bit"
    code: int | None = None


@dataclass
class Bucket:
    start: float
    util_sum: float = 0.0
    util_count: int = 0
    memory_max_mib: float | None = None

    @property
    def utilization(self) -> float | None:
        return self.util_sum / self.util_count if self.util_count else None

    def merge(self, other: Bucket) -> Bucket:
        return Bucket(
            self.start,
            self.util_sum + other.util_sum,
            self.util_count + other.util_count,
            _max(self.memory_max_mib, other.memory_max_mib),
        )


@dataclass
class Timeline:
    """At most `capacity` buckets; when full, neighbours merge and the width doubles."""

    width: float
    capacity: int = TIMELINE_POINTS
    buckets: list[Bucket] = field(default_factory=list)

    def add(self, t: float, utilization: Sequence[float], memory_mib: float | None) -> None:
        start = math.floor(t / self.width) * self.width
        if not self.buckets or start > self.buckets[-1].start:
            self.buckets.append(Bucket(start))
            if len(self.buckets) > self.capacity:
                self._halve()
        bucket = self.buckets[-1]
        bucket.util_sum += sum(utilization)
        bucket.util_count += len(utilization)
        bucket.memory_max_mib = _max(bucket.memory_max_mib, memory_mib)

    def _halve(self) -> None:
        self.width *= 2
        merged: list[Bucket] = []
        for bucket in self.buckets:
            start = math.floor(bucket.start / self.width) * self.width
            if merged and merged[-1].start == start:
                merged[-1] = merged[-1].merge(bucket)
            else:
                merged.append(Bucket(start).merge(bucket))
        self.buckets = merged


@dataclass
class GpuStats:
    """Everything the report says about one GPU, updated one reading at a time."""

    identity: Identity
    timeline: Timeline
    polls: int = 0
    util_histogram: list[int] = field(default_factory=lambda: [0] * 101)
    util_sum: float = 0.0
    util_count: int = 0
    memory_peak_mib: float | None = None
    memory_total_mib: float | None = None
    power_sum: float = 0.0
    power_count: int = 0
    power_max_w: float | None = None
    energy_first_mj: int | None = None
    energy_last_mj: int | None = None
    energy_integrated_j: float = 0.0  # trapezoids of power, when there is no energy counter
    last_power: tuple[float, float] | None = None  # (t, W)
    temperature_max_c: float | None = None
    sm_clock_max_mhz: float | None = None
    throttle_mask: int = 0
    events: list[Event] = field(default_factory=list)
    event_counts: dict[str, int] = field(default_factory=dict)
    processes: dict[int, float] = field(default_factory=dict)
    first_t: float | None = None
    last_t: float | None = None
    lost_at: float | None = None
    lost_reason: str = ""

    def add(self, reading: Reading) -> None:
        self.polls += 1
        self.first_t = reading.t if self.first_t is None else self.first_t
        self.last_t = reading.t
        for value in reading.utilization:
            percent = min(100, max(0, round(value)))
            self.util_histogram[percent] += 1
            self.util_sum += percent
            self.util_count += 1
        self.memory_peak_mib = _max(self.memory_peak_mib, reading.memory_used_mib)
        if reading.memory_total_mib:
            self.memory_total_mib = reading.memory_total_mib
        if reading.power_w is not None:
            self.power_sum += reading.power_w
            self.power_count += 1
            self.power_max_w = _max(self.power_max_w, reading.power_w)
            if self.last_power is not None:
                t0, w0 = self.last_power
                self.energy_integrated_j += (reading.t - t0) * (w0 + reading.power_w) / 2
            self.last_power = (reading.t, reading.power_w)
        if reading.energy_mj is not None:
            if self.energy_first_mj is None:
                self.energy_first_mj = reading.energy_mj
            self.energy_last_mj = reading.energy_mj
        self.temperature_max_c = _max(self.temperature_max_c, reading.temperature_c)
        self.sm_clock_max_mhz = _max(self.sm_clock_max_mhz, reading.sm_clock_mhz)
        if reading.throttle_reasons:
            self.throttle_mask |= reading.throttle_reasons
        for pid, mib in reading.processes:
            self.processes[pid] = max(mib, self.processes.get(pid, 0.0))
        if len(self.processes) > MAX_PROCESSES:
            kept = sorted(self.processes.items(), key=lambda kv: -kv[1])[:MAX_PROCESSES]
            self.processes = dict(kept)
        self.timeline.add(reading.t, reading.utilization, reading.memory_used_mib)

    def add_event(self, event: Event) -> None:
        self.event_counts[event.kind] = self.event_counts.get(event.kind, 0) + 1
        if len(self.events) < MAX_EVENTS:
            self.events.append(event)

    def lose(self, t: float, reason: str) -> None:
        if self.lost_at is None:
            self.lost_at = t
            self.lost_reason = reason

    # -- figures ---------------------------------------------------------------------------

    @property
    def util_mean(self) -> float | None:
        return self.util_sum / self.util_count if self.util_count else None

    @property
    def util_max(self) -> int | None:
        return max((p for p, n in enumerate(self.util_histogram) if n), default=None)

    def util_percentile(self, q: float) -> int | None:
        return histogram_percentile(self.util_histogram, q)

    @property
    def idle_fraction(self) -> float | None:
        return self.util_histogram[0] / self.util_count if self.util_count else None

    @property
    def energy_wh(self) -> float | None:
        """From the driver's counter when it moved forward, else integrated from power."""
        if self.energy_first_mj is not None and self.energy_last_mj is not None:
            delta = self.energy_last_mj - self.energy_first_mj
            if delta >= 0 and self.polls > 1:
                return delta / 3_600_000
        if self.power_count > 1:
            return self.energy_integrated_j / 3600
        return None

    @property
    def energy_source(self) -> str:
        if (
            self.energy_first_mj is not None
            and self.energy_last_mj is not None
            and self.energy_last_mj >= self.energy_first_mj
            and self.polls > 1
        ):
            return "counter"
        return "integrated-power" if self.power_count > 1 else "none"

    def throttle_names(self) -> list[str]:
        return throttle_names(self.throttle_mask)


def histogram_percentile(histogram: Sequence[int], q: float) -> int | None:
    """Nearest-rank percentile of whole-number values counted in `histogram` (exact)."""
    total = sum(histogram)
    if not total:
        return None
    rank = max(1, math.ceil(q / 100 * total))
    seen = 0
    for value, count in enumerate(histogram):
        seen += count
        if seen >= rank:
            return value
    return len(histogram) - 1


def throttle_names(mask: int) -> list[str]:
    names = [name for bit, name in THROTTLE_REASONS if mask & bit]
    unknown = mask & ~sum(bit for bit, _ in THROTTLE_REASONS)
    if unknown:
        names.append(f"other-0x{unknown:x}")
    return names


def downsample(buckets: Sequence[Bucket], points: int) -> list[Bucket]:
    """At most `points` buckets, each merging a run of neighbours (for charts)."""
    if len(buckets) <= points:
        return list(buckets)
    step = math.ceil(len(buckets) / points)
    out: list[Bucket] = []
    for i in range(0, len(buckets), step):
        merged = Bucket(buckets[i].start)
        for bucket in buckets[i : i + step]:
            merged = merged.merge(bucket)
        out.append(merged)
    return out


def new_stats(identities: Iterable[Identity], interval: float) -> list[GpuStats]:
    return [
        GpuStats(
            identity=i,
            timeline=Timeline(width=interval),
            memory_total_mib=i.memory_total_mib,
        )
        for i in identities
    ]


def _max(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    if b is None:
        return a
    return a if a >= b else b
