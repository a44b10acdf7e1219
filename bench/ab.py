"""What `bench.api_ab` and `bench.worker_ab` share: rounds of the same load sent to every variant at
once, each variant's CPU ms per event from /proc, and each one's per-round ratio to a baseline
(a shared machine moves a round by ±15%, but every variant of a round alike)."""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
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


@dataclass
class WorkerLane:
    name: str
    proc: procs.Proc
    tenure: Any  # starter.client.TenureClient, on its own task queue
    engine: Any  # sqlalchemy Engine of the lane's own ledger


def start_worker_lane(
    stack: AsyncExitStack,
    work: Path,
    address: str,
    client: Any,
    program: Any,
    name: str,
    env: dict[str, str],
    root: Path,
    queue_prefix: str,
) -> WorkerLane:
    """A Tenure worker of variant `name` (its checkout `root`, its `env`), started as `make run` starts one
    (the supervisor's worker environment, which `env` may override), with a SQLite ledger and a task
    queue of its own; stopped when `stack` closes. Not waited for: start every lane, then wait."""
    from starter.client import TenureClient
    from starter.supervisor.supervise import worker_env
    from storage.engine import create_engine_for
    from storage.migrate import upgrade

    db_url = f"sqlite:///{work / f'{name}.db'}"
    engine = create_engine_for(db_url)
    upgrade(engine)
    queue = f"{queue_prefix}-{name}"
    base = procs.base_env(temporal_address=address, database_url=db_url, task_queue=queue)
    base["TENURE_DATA_DIR"] = str(work)
    base.update(env)
    proc = procs.Proc(name, [sys.executable, str(root / "worker.py")], worker_env(base), work / f"{name}.log").start()
    stack.callback(proc.stop)
    return WorkerLane(name, proc, TenureClient(client, program, queue, programs=engine), engine)
