"""What `bench.api_ab` and `bench.worker_ab` share: rounds of the same load sent to every variant at
once, each variant's CPU ms per event from /proc, and each one's per-round ratio to a baseline
(a shared machine moves a round by ±15%, but every variant of a round alike)."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

from bench import procs


def distinct_names(names: list[str], reserved: tuple[str, ...] = ()) -> list[str]:
    """`names` when each is non-empty, distinct and not `reserved`: results are keyed by name, so a
    repeated one would merge two variants' rounds (and fail the ratios only after the whole run)."""
    seen: set[str] = set()
    for name in names:
        if not name or name in seen or name in reserved:
            why = "empty" if not name else "reserved" if name in reserved else "repeated"
            raise SystemExit(f"variant name {name!r} is {why}: give each variant a name of its own")
        seen.add(name)
    return names


async def cpu_round(
    number: int, server_pid: int, pids: dict[str, int], load: Callable[[], Awaitable[Any]], events: int, digits: int
) -> dict[str, float]:
    """One round from a quiet machine: `load()` sends `events` to each variant; CPU ms per event by
    variant, printed as a line."""
    await procs.quiet([server_pid, *pids.values()])
    before = {name: procs.cpu_seconds(pid) for name, pid in pids.items()}
    started = time.monotonic()
    await load()
    ms = {name: 1000 * (procs.cpu_seconds(pid) - before[name]) / events for name, pid in pids.items()}
    took, machine_load = time.monotonic() - started, os.getloadavg()[0]
    each = ", ".join(f"{name} {value:.{digits}f}" for name, value in ms.items())
    print(f"round {number} ({took:.0f} s, load {machine_load:.1f}): {each}", flush=True)
    return ms


def summary(results: dict[str, list[float]], baseline: str, unit: str, digits: int) -> list[str]:
    """A line per variant: its median, its rounds, and the median of its per-round ratios to `baseline`."""
    lines = []
    for name, values in results.items():
        ratio = statistics.median(v / b for v, b in zip(values, results[baseline], strict=True))
        each = ", ".join(f"{v:.{digits}f}" for v in values)
        median = statistics.median(values)
        lines.append(f"{name}: median {median:.{digits}f} ms/{unit} (rounds {each}); ÷ {baseline}: {ratio:.3f}×")
    return lines
