"""The sampling thread: polls a source every interval while the child runs.

It runs beside the main thread, which only waits for the child, so a driver call that hangs
can delay the report but never the child or its exit status.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from mlops_actions.gpu_monitor.sources import Lost, Source, Unavailable, open_source
from mlops_actions.gpu_monitor.stats import GpuStats, new_stats

STOP_GRACE_S = 5.0  # how long the report waits for a last poll after the child ended


class Sampler(threading.Thread):
    def __init__(
        self,
        interval: float,
        opener: Callable[[], Source | Unavailable] = open_source,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(name="gpu-monitor-sampler", daemon=True)
        self.interval = interval
        self.opener = opener
        self.clock = clock
        self.start_time = clock()
        self.stop_event = threading.Event()
        self.lock = threading.Lock()
        self.source: Source | None = None
        self.unavailable: Unavailable | None = None
        self.stats: list[GpuStats] = []
        self.lost_messages: list[str] = []
        self.error = ""

    def run(self) -> None:
        try:
            opened = self.opener()
            if isinstance(opened, Unavailable):
                self.unavailable = opened
                return
            with self.lock:
                self.source = opened
                self.stats = new_stats(opened.identities, self.interval)
            tick = 0
            while True:
                stopping = self.stop_event.is_set()
                self.poll()
                if stopping:
                    break
                tick += 1
                # Ticks on a fixed grid (no drift), whatever a poll cost.
                delay = self.start_time + tick * self.interval - self.clock()
                if delay > 0:
                    self.stop_event.wait(delay)
        except Exception as exc:  # a sampler failure must never change the child's result
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            if self.source is not None:
                self.source.close()

    def poll(self) -> None:
        source = self.source
        assert source is not None
        t = self.clock() - self.start_time
        for stats in self.stats:
            if stats.lost_at is not None:
                continue
            try:
                reading = source.read(stats.identity.index, t)
            except Lost as lost:
                with self.lock:
                    stats.lose(t, str(lost))
                self.lost_messages.append(
                    f"GPU {stats.identity.index} ({stats.identity.uuid}) was lost after "
                    f"{t:.1f} s: {lost}"
                )
                continue
            with self.lock:
                stats.add(reading)
        for index, event in source.events(t):
            for stats in self.stats:
                if stats.identity.index == index:
                    with self.lock:
                        stats.add_event(event)

    def finish(self) -> bool:
        """Ask for a last poll and wait for it; False when the source did not answer in time."""
        self.stop_event.set()
        self.join(STOP_GRACE_S)
        return not self.is_alive()
