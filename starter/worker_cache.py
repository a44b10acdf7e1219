"""How many journeys a worker keeps in its sticky cache by default: a share of the memory it may use.

A journey evicted from the cache is replayed from its history at its next workflow task. A campaign
sweeps its segment in customer-id order, one touch per journey, so with a cache smaller than the
segment the LRU cache always holds the members the sweep left behind and every member is a replay
(bench/RESULTS.md, fan-out steps 8-9: ~2.5× the CPU of a cached member). The default is therefore as
many journeys as a quarter of the worker's memory holds, at ~110 KB per cached journey as measured:
on this 24 GiB machine ~57,000, so the bench's 20,000-member campaign fits with room to spare; in a
1 GiB container ~2,400. A quarter, not more, because the worker usually shares its host (the compose
stack runs the Temporal server, PostgreSQL and the API beside it), a busy member's journey is larger
than the bench's one-payment journeys, and the process needs its ~130 MB baseline besides.
`TENURE_WORKER_MAX_CACHED_WORKFLOWS` set explicitly always wins.
"""

from __future__ import annotations

import os
from pathlib import Path

BYTES_PER_JOURNEY = 110 * 1024  # worker RSS per cached journey (bench/RESULTS.md, memory phase)
MEMORY_SHARE = 0.25  # of the memory the worker may use (see the module docstring)
MINIMUM = 1_000  # the SDK-era default: never fewer, however small the machine
MAXIMUM = 100_000  # the largest cache measured (RSS bounded at 100,000 open journeys); beyond, set it explicitly

CGROUP_ROOT = Path("/sys/fs/cgroup")
PROC_CGROUP = Path("/proc/self/cgroup")


def cache_size(memory_bytes: int | None) -> int:
    """Journeys to cache given the memory the worker may use (None: unknown, the minimum)."""
    if memory_bytes is None or memory_bytes <= 0:
        return MINIMUM
    return max(MINIMUM, min(MAXIMUM, int(memory_bytes * MEMORY_SHARE) // BYTES_PER_JOURNEY))


def cgroup_limit(root: Path, proc_cgroup: Path) -> int | None:
    """The lowest cgroup v2 `memory.max` from this process's cgroup up to the root a container sees;
    None when none is set (absent, or `max`: no limit)."""
    own = root
    try:  # "0::/system.slice/x.service" on a host; "0::/" inside a container's own cgroup namespace
        for line in proc_cgroup.read_text().splitlines():
            if line.startswith("0::"):
                own = root / line[3:].strip().lstrip("/")
    except OSError:
        pass
    limits = []
    for directory in [own, *own.parents]:
        try:
            text = (directory / "memory.max").read_text().strip()
        except OSError:
            text = "max"
        if text.isdigit():
            limits.append(int(text))
        if directory == root:
            break
    return min(limits) if limits else None


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
