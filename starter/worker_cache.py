"""How many journeys a worker keeps in its sticky cache by default: a share of the memory it may use.

A journey evicted from the cache is replayed from its history at its next workflow task. A campaign
sweeps its segment in customer-id order, one touch per journey, so with a cache smaller than the segment
the LRU cache always holds the members the sweep left behind and every member is a replay
(bench/RESULTS.md, fan-out steps 8-9: ~2.5× the CPU of a cached member). The default is therefore as
many journeys as a quarter of the worker's memory (its cgroup's limit, v2 or v1, else the machine's)
holds, at ~110 KB per cached journey as measured: in a 1 GiB container ~2,400. A quarter, not more,
because the worker usually shares its host (the compose stack runs the Temporal server, PostgreSQL and
the API beside it), a busy member's journey is larger than the bench's one-payment journeys, and the
process needs its ~130 MB baseline besides. At most 5,000, whatever the memory: each of Python's full
collections walks every cached journey while holding the GIL (~0.14 ms each here: 1 s at ~7,000, 3 s at
20,000, ~8 s at the 57,000 a quarter of 24 GiB would give), and the Temporal SDK fails every workflow
task in flight as deadlocked once an activation has waited 2 s (bench/RESULTS.md, fan-out step 12);
5,000 keeps a pause near 0.7 s, a third of that, with room for a loaded host. Larger segments take more
worker processes, each with its own cache (a campaign over more members than the workers cache replays
each member). `TENURE_WORKER_MAX_CACHED_WORKFLOWS` set explicitly always wins.
"""

from __future__ import annotations

import os
from pathlib import Path

BYTES_PER_JOURNEY = 110 * 1024  # worker RSS per cached journey (bench/RESULTS.md, memory phase)
MEMORY_SHARE = 0.25  # of the memory the worker may use (see the module docstring)
MINIMUM = 1_000  # the SDK-era default: never fewer, however small the machine
MAXIMUM = 5_000  # a full collection walks every cached journey, ~0.14 ms each: 0.7 s at 5,000 (fan-out step 12)

CGROUP_ROOT = Path("/sys/fs/cgroup")
PROC_CGROUP = Path("/proc/self/cgroup")


def cache_size(memory_bytes: int | None) -> int:
    """Journeys to cache given the memory the worker may use (None: unknown, the minimum)."""
    if memory_bytes is None or memory_bytes <= 0:
        return MINIMUM
    return max(MINIMUM, min(MAXIMUM, int(memory_bytes * MEMORY_SHARE) // BYTES_PER_JOURNEY))


def cgroup_limit(root: Path, proc_cgroup: Path) -> int | None:
    """The lowest memory limit from this process's cgroup up to the root a container sees: cgroup v2's
    `memory.max`, or cgroup v1's `memory/…/memory.limit_in_bytes` (Docker on hosts still on v1: without
    it, a container's worker would size its cache from the host's memory). None when none is set
    (absent, unreadable, v2's `max`, v1's "unlimited": a number near 2**63)."""
    v2_path = v1_path = "/"
    try:  # "0::/system.slice/x.service" (v2) or "9:memory:/docker/<id>" (v1); "0::/" in a cgroup namespace
        lines = proc_cgroup.read_text().splitlines()
    except OSError:
        lines = []
    for line in lines:
        hierarchy, _, rest = line.partition(":")
        controllers, _, path = rest.partition(":")
        if hierarchy == "0" and controllers == "":
            v2_path = path
        elif "memory" in controllers.split(","):
            v1_path = path
    limits = [*_limits(root, v2_path, "memory.max"), *_limits(root / "memory", v1_path, "memory.limit_in_bytes")]
    return min(limits) if limits else None


UNLIMITED = 2**62  # cgroup v1 writes "no limit" as 2**63 - 1 rounded down to a page


def _limits(top: Path, path: str, name: str) -> list[int]:
    """The limits set in file `name` of the cgroup `path` under `top` and of each of its parents up to `top`."""
    own = top / path.strip().lstrip("/")
    limits = []
    for directory in [own, *own.parents]:
        try:
            text = (directory / name).read_text().strip()
        except OSError:
            text = ""
        if text.isdigit() and int(text) < UNLIMITED:
            limits.append(int(text))
        if directory == top:
            break
    return limits


def physical_memory() -> int | None:
    """The machine's physical memory (None where the platform does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def worker_memory() -> int | None:
    """What the worker may use: its cgroup's limit when set (and below the machine's memory), else the machine's."""
    limit, physical = cgroup_limit(CGROUP_ROOT, PROC_CGROUP), physical_memory()
    if limit is None:
        return physical
    return limit if physical is None else min(limit, physical)


def default_cache_size() -> int:
    """`TENURE_WORKER_MAX_CACHED_WORKFLOWS` when it is not set."""
    return cache_size(worker_memory())
