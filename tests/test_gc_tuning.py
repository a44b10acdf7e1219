"""The worker's collector tuning (starter/gc_tuning.py): start-up objects frozen, thresholds raised."""

from __future__ import annotations

import gc
import logging
from pathlib import Path

import pytest

from starter import gc_tuning
from starter.gc_tuning import THRESHOLDS, tune_collector, watch_full_collections


def test_tune_collector_freezes_and_raises_thresholds() -> None:
    before = gc.get_threshold()
    try:
        gc.unfreeze()
        assert gc.get_freeze_count() == 0
        tune_collector()
        assert gc.get_freeze_count() > 0  # the objects alive at start are never walked again
        assert gc.get_threshold() == THRESHOLDS
        assert THRESHOLDS[0] > before[0]  # young collections less often than Python's default
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


def test_the_worker_tunes_its_collector_after_start_up() -> None:
    source = (Path(__file__).resolve().parents[1] / "worker.py").read_text()
    main = source[source.index("async def main()") :]
    assert main.index("tune_collector()") > main.index("build_worker(client, settings, program, engine)")
    assert "watch_full_collections(settings.worker_max_cached_workflows)" in main


@pytest.fixture
def recorded(monkeypatch):
    """The durations the hook records on the worker's meter, with the hook installed for the test only."""
    durations: list[float] = []
    monkeypatch.setattr(gc_tuning, "record_full_collection", durations.append)
    hooks = list(gc.callbacks)
    watch_full_collections(56_207)
    yield durations
    gc.callbacks[:] = hooks


def test_each_full_collection_is_timed_and_young_ones_are_not(recorded, caplog, monkeypatch) -> None:
    # how long a full collection takes is this test process's heap (1.1 s late in a full CI run): the
    # pause is below the warning's threshold by construction, so only the hook's behaviour is judged
    monkeypatch.setattr(gc_tuning, "WARN_AFTER_SECONDS", 3600.0)
    gc.collect(0)
    gc.collect(1)
    assert recorded == []  # the hook runs on every collection: nothing to do for the young ones
    with caplog.at_level(logging.WARNING, "tenure.gc"):
        gc.collect()
    assert len(recorded) == 1 and 0 < recorded[0] < gc_tuning.WARN_AFTER_SECONDS
    assert not caplog.records  # a pause under the threshold: on the metrics only


def test_a_long_full_collection_warns_in_words_an_operator_acts_on(recorded, caplog, monkeypatch) -> None:
    monkeypatch.setattr(gc_tuning, "WARN_AFTER_SECONDS", 0.0)  # any pause is long here
    with caplog.at_level(logging.WARNING, "tenure.gc"):
        gc.collect()
    assert len(recorded) == 1
    [warning] = caplog.records
    assert warning.levelno == logging.WARNING
    words = warning.getMessage()
    assert f"paused the worker for {recorded[0]:.2f} s" in words
    assert "56,207" in words and "after 2 s" in words and "TENURE_WORKER_MAX_CACHED_WORKFLOWS" in words


class _Journey:
    """Stands for a cached journey: objects in a reference cycle (the run, its loop, its futures)."""

    def __init__(self) -> None:
        self.loop = {"owner": self}


def test_an_evicted_journey_is_collected_once_the_heap_has_grown_by_a_quarter() -> None:
    """Long-lived garbage in cycles (an evicted journey) waits only for CPython's quarter-growth rule.

    With a full collection allowed only every 50 middle ones, (10,000, 20, 50), it waited for ten
    million allocations and evicted journeys piled up in the worker (this test fails with those).
    """
    import weakref

    before = gc.get_threshold()
    gc.collect()
    try:
        journeys = [_Journey() for _ in range(1_000)]
        evicted = weakref.ref(journeys[0])
        gc.collect()  # the cached journeys are long-lived now; the quarter rule counts from here
        gc.set_threshold(*THRESHOLDS)
        del journeys  # evicted: garbage only a full collection can free
        # new long-lived objects: more than the quarter of the heap that allows a full collection, and
        # more than the 200,000 allocations after which one is considered (two middle collections)
        survivors = [[] for _ in range(len(gc.get_objects()) // 2 + 300_000)]
        assert evicted() is None
        del survivors
    finally:
        gc.set_threshold(*before)
