"""Fuzzing every pin scanner and the config loader, seeded from the fixtures.

Each target gets mutated fixture bytes (bit flips, splices, tokens, cuts, numbers past Python's
4,300-digit limit, deep nesting, YAML alias bombs, bytes that are not UTF-8) and must end with
a result or the project's own error, never another exception. Bounded for CI: a fixed number of
examples per target and a fixed seed (``derandomize``), so a red run is reproducible; the long,
random exploration is ``bench/fuzz.py``.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.fuzzing import MUTATORS, TARGETS, Crash, mutate, run_target, seeds

SEEDS = seeds()

recipes = st.lists(
    st.tuples(st.sampled_from(sorted(MUTATORS)), st.integers(0, 2**32 - 1)),
    min_size=1,
    max_size=3,
)


def test_every_target_has_seeds() -> None:
    assert all(SEEDS[name] for name in TARGETS), {n: len(s) for n, s in SEEDS.items()}


@pytest.mark.parametrize("target", sorted(TARGETS))
@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data(), steps=recipes)
def test_mutated_fixtures_never_crash(target: str, data: st.DataObject, steps: list) -> None:
    pool = SEEDS[target]
    seed = data.draw(st.sampled_from(pool), label="seed")
    outcome = run_target(target, mutate(seed, steps, pool))
    assert not isinstance(outcome, Crash), outcome


@pytest.mark.parametrize("target", sorted(TARGETS))
@settings(max_examples=40, deadline=None, derandomize=True, database=None)
@given(text=st.text(max_size=300))
def test_arbitrary_text_never_crashes(target: str, text: str) -> None:
    outcome = run_target(target, text.encode("utf-8", "surrogatepass"))
    assert not isinstance(outcome, Crash), outcome
