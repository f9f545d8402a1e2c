"""Timing the benchmarks share: a stopwatch, interleaved rounds and medians.

The scripts run as ``python bench/NAME.py``, so this folder is on ``sys.path`` and they import
it as ``_timing``.
"""

from __future__ import annotations

import os
import random
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType


class Stopwatch:
    """``with Stopwatch() as watch: ...``; then ``watch.seconds`` is the wall time it took."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._start = 0.0

    def __enter__(self) -> Stopwatch:
        self._start = time.perf_counter()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.seconds = time.perf_counter() - self._start


def rounds(
    contenders: Mapping[str, Callable[[], float]],
    runs: int,
    *,
    warm: bool = False,
    rng: random.Random | None = None,
) -> dict[str, list[float]]:
    """Seconds per contender over ``runs`` rounds, each round running every contender once, so
    drift (caches, CPU frequency) hits all alike. Each contender times itself. ``warm`` runs
    each once first and drops the result (page cache, byte-code); ``rng`` shuffles each round's
    order, which otherwise is the mapping's."""
    names = list(contenders)
    if warm:
        for name in names:
            contenders[name]()
    samples: dict[str, list[float]] = {name: [] for name in names}
    for _ in range(runs):
        order = names[:]
        if rng is not None:
            rng.shuffle(order)
        for name in order:
            samples[name].append(contenders[name]())
    return samples


def medians(samples: Mapping[str, Sequence[float]]) -> dict[str, float]:
    return {name: statistics.median(values) for name, values in samples.items()}


def child_env(**extra: str) -> dict[str, str]:
    """This process's environment for the commands under test, as a runner step would have it:
    byte-code caching on (an action's venv is compiled on install) and no runner files, so no
    command appends to a real step summary or output."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GITHUB_", "RUNNER_", "INPUT_"))
        and k not in ("CI", "PYTHONDONTWRITEBYTECODE")
    }
    env.update(extra)
    return env
