"""The worker's garbage collector, tuned for a cache of thousands of journeys.

A worker holds every cached journey's objects (~110 KB each; tens of thousands of journeys with the
cache sized from memory, starter/worker_cache.py), and each of Python's full collections walks all of
them: with 2,000 cached journeys a full collection took 0.35 s, and the collector's thread time was
0.45 ms per campaign member, 7% of the worker's CPU (bench/RESULTS.md, fan-out step 9). The SDK
allocates briskly (protos, futures, payloads per activation), so with Python's defaults (700, 10, 10)
young collections run every few activations and full ones every few seconds.

`tune_collector` freezes what the worker has at start (modules, models, the program: never garbage,
now never walked again) and collects young objects less often: a young collection every 10,000 net
allocations, a middle one every 10 of those. A full collection is considered after every middle one
and, as always in CPython, runs only once the objects that survived since the last full one are a
quarter of those it kept: the heap may grow by a quarter between full collections, never more. That
rule, not a count, is what keeps full collections rare with a large cache; a count must not delay
them further, because a journey evicted from the cache is long-lived garbage in reference cycles
that only a full collection frees (~50 KB each). With a full one only every 50 middle ones (10M
allocations) the worker held 440 MB at 5,000 open journeys against 234 MB at 1,000 (cache 1,000):
evicted journeys piled up. With (10,000, 10, 1): 277 MB, and the same CPU per campaign member
(4.5–4.6 ms, bench/RESULTS.md fan-out step 10).

A full collection still walks every cached journey, holding the GIL: the SDK times each workflow
activation by wall clock and fails it as deadlocked after 2 s (TMPRL1101), so a long pause fails the
tasks in flight (retried, nothing applied twice, but operators see the failures). `watch_full_collections`
times each one onto the worker's metrics (tenure_worker_gc_full_collection_seconds) and warns past 1 s.
"""

from __future__ import annotations

import gc
import logging
import time
from typing import Any

from activities.metrics import record_full_collection

THRESHOLDS = (10_000, 10, 1)
WARN_AFTER_SECONDS = 1.0  # half the SDK's 2 s: time to act before tasks fail
_log = logging.getLogger("tenure.gc")


def tune_collector() -> None:
    """Freeze the objects alive now and raise the collection thresholds (call once, after start-up)."""
    gc.collect()  # the start-up's garbage first: frozen objects are never collected
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)


class _FullCollectionTimer:
    """A `gc.callbacks` hook timing generation-2 collections; returns at once for the young ones."""

    def __init__(self, max_cached_workflows: int) -> None:
        self.max_cached_workflows = max_cached_workflows
        self.started = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            self.started = time.perf_counter()
            return
        seconds = time.perf_counter() - self.started
        record_full_collection(seconds)
        _log.debug("full collection: %.3f s, %d objects collected", seconds, info["collected"])
        if seconds > WARN_AFTER_SECONDS:
            _log.warning(
                "a full garbage collection paused the worker for %.2f s walking the cached journeys (the cache "
                "may hold %s); the Temporal SDK fails the workflow tasks in flight as deadlocked (TMPRL1101) "
                "after 2 s — lower TENURE_WORKER_MAX_CACHED_WORKFLOWS to shorten these pauses",
                seconds,
                f"{self.max_cached_workflows:,}",
            )


def watch_full_collections(max_cached_workflows: int) -> None:
    """Time every full collection onto the worker's metrics and warn when one nears the SDK's deadlock
    timeout (call once; the worker does, next to `tune_collector`)."""
    gc.callbacks.append(_FullCollectionTimer(max_cached_workflows))
