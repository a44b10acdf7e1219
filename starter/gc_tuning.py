"""The worker's garbage collector, tuned for a cache of thousands of journeys.

A worker holds every cached journey's objects (~110 KB each; tens of thousands of journeys with the
cache sized from memory, starter/worker_cache.py), and each of Python's full collections walks all of
them: with 2,000 cached journeys a full collection took 0.35 s, and the collector's thread time was
0.45 ms per campaign member, 7% of the worker's CPU (bench/RESULTS.md, fan-out step 9). The SDK
allocates briskly (protos, futures, payloads per activation), so with Python's defaults (700, 10, 10)
young collections run every few activations and full ones every few seconds.

`tune_collector` freezes what the worker has at start (modules, models, the program: never garbage,
now never walked again) and collects less often: a young collection every 10,000 net allocations,
a middle one every 20 of those, a full one every 50 middle ones (and, as always, only once the
objects that survived since the last full one are a quarter of those it kept). Reference cycles
are still collected, later; their memory is small beside the cache's.
"""

from __future__ import annotations

import gc

THRESHOLDS = (10_000, 20, 50)


def tune_collector() -> None:
    """Freeze the objects alive now and raise the collection thresholds (call once, after start-up)."""
    gc.collect()  # the start-up's garbage first: frozen objects are never collected
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
