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
"""

from __future__ import annotations

import gc

THRESHOLDS = (10_000, 10, 1)


def tune_collector() -> None:
    """Freeze the objects alive now and raise the collection thresholds (call once, after start-up)."""
    gc.collect()  # the start-up's garbage first: frozen objects are never collected
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
