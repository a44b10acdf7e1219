"""Load generation and completion tracking, shared by the throughput phases.

Closed loop (full load): `concurrency` senders, each sends its next event as soon as the last
was acknowledged. Open loop (half load): events leave at a fixed rate, whatever the answers.
An event is *done* when its effect is durable where the phase looks for it: for Tenure its
ledger row (SQL), for the raw engine the worker's count of applied signals.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path
from typing import Any

import sqlalchemy as sa


@dataclass
class Job:
    customer: str
    key: str  # what identifies its completion (the invoice id for Tenure)
    payload: Any  # what the sender needs (a signed body, a domain event, a dict)


@dataclass
class SendLog:
    sent: dict[str, float] = field(default_factory=dict)  # key -> wall time the request left
    acked: dict[str, float] = field(default_factory=dict)  # key -> wall time it was answered
    errors: list[str] = field(default_factory=list)

    def first(self) -> float:
        return min(self.sent.values())


Send = Callable[[Job], Awaitable[None]]


async def _send_one(job: Job, send: Send, log: SendLog, retries: int = 5) -> None:
    log.sent[job.key] = time.time()
    for attempt in range(retries):
        try:
            await send(job)
            log.acked[job.key] = time.time()
            return
        except Exception as e:  # noqa: BLE001 - a benchmark records, retries, and goes on
            log.errors.append(f"{job.key}: {type(e).__name__}: {e}"[:300])
            await asyncio.sleep(0.2 * (attempt + 1))
    raise RuntimeError(f"{job.key} failed {retries} times: {log.errors[-1]}")


async def closed_loop(jobs: list[Job], send: Send, concurrency: int, tick: Callable[[], None] | None = None) -> SendLog:
    log = SendLog()
    queue = list(reversed(jobs))

    async def sender() -> None:
        while queue:
            job = queue.pop()
            await _send_one(job, send, log)
            if tick:
                tick()

    await asyncio.gather(*(sender() for _ in range(concurrency)))
    return log


async def open_loop(jobs: list[Job], send: Send, rate: float, tick: Callable[[], None] | None = None) -> SendLog:
    """Start one send every 1/rate seconds (on schedule, not after the previous answer)."""
    log = SendLog()
    t0 = time.monotonic()
    tasks = []

    async def one(job: Job) -> None:
        await _send_one(job, send, log)
        if tick:
            tick()

    for i, job in enumerate(jobs):
        delay = t0 + i / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(job)))
    await asyncio.gather(*tasks)
    return log


# --- completion ---------------------------------------------------------------------------------


class LedgerWatch:
    """Follows `ledger_entries` by id: which of our invoices have their `earn` row, and when.

    An event's completion time is when this poll (every 50 ms) first saw its row, so a latency
    is at most one poll interval late; `recorded_at` (stamped just before the inserting
    transaction, so without its lock wait) is kept for comparison.
    """

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.last_id = 0
        self.done: dict[str, float] = {}  # ref -> recorded_at (wall time, inside the inserting transaction)
        self.seen_at: dict[str, float] = {}  # ref -> wall time this poll first saw it
        self._stmt = sa.text(
            "select id, ref, recorded_at from ledger_entries where id > :last and kind = 'earn' order by id"
        )
        # PostgreSQL hands out ids at INSERT and concurrent transactions commit out of id order: a
        # row with a lower id can appear after a poll saw a higher one. Each poll looks back this
        # many ids (SQLite serializes its writers, so there it only re-reads rows already seen).
        self.overlap = 0 if engine.dialect.name == "sqlite" else 2000

    def _poll(self) -> int:
        now = time.time()
        with self.engine.connect() as conn:
            rows = conn.execute(self._stmt, {"last": max(0, self.last_id - self.overlap)}).all()
        for id_, ref, at in rows:
            self.last_id = max(self.last_id, id_)
            if ref is not None:
                self.done.setdefault(ref, _epoch(at))
                self.seen_at.setdefault(ref, now)
        return len(rows)

    async def poll(self) -> int:
        return await asyncio.to_thread(self._poll)

    async def wait(
        self, keys: set[str], timeout: float, tick: Callable[[int], None] | None = None, every: float = 0.05
    ) -> float:
        """Until every key has its row; returns the wall time the last one was recorded."""
        deadline = time.monotonic() + timeout
        while True:
            await self.poll()
            have = sum(1 for k in keys if k in self.done)
            if tick:
                tick(have)
            if have == len(keys):
                return max(self.seen_at[k] for k in keys)
            if time.monotonic() > deadline:
                missing = sorted(k for k in keys if k not in self.done)[:5]
                raise TimeoutError(
                    f"{len(keys) - have} of {len(keys)} ledger rows missing after {timeout:.0f}s: {missing}"
                )
            await asyncio.sleep(every)


def _epoch(value: Any) -> float:
    from datetime import datetime

    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


class CounterWatch:
    """The raw worker's count of applied signals, from the file it rewrites every 20 ms."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def value(self) -> int:
        try:
            return int(self.path.read_text() or 0)
        except (FileNotFoundError, ValueError):
            return 0

    async def wait(
        self, target: int, timeout: float, tick: Callable[[int], None] | None = None, every: float = 0.02
    ) -> float:
        deadline = time.monotonic() + timeout
        while True:
            n = self.value()
            if tick:
                tick(n)
            if n >= target:
                return time.time()
            if time.monotonic() > deadline:
                raise TimeoutError(f"raw worker counted {n} of {target} signals after {timeout:.0f}s")
            await asyncio.sleep(every)


# --- statistics -----------------------------------------------------------------------------------


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    v = sorted(values)

    def pct(p: float) -> float:
        return v[min(len(v) - 1, max(0, round(p / 100 * len(v) + 0.5) - 1))]

    return {"p50": pct(50), "p95": pct(95), "p99": pct(99), "max": v[-1], "mean": statistics.fmean(v)}


def latencies(log: SendLog, done: dict[str, float]) -> list[float]:
    return [done[k] - t for k, t in log.sent.items() if k in done]
