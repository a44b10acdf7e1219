"""The worker has no port to probe: while it runs it touches a file, and a fresh file means a live worker.

A worker whose event loop is stuck (a blocking call in a coroutine, a deadlock) stops touching the
file, and its container health check (`python -m starter.healthcheck worker`) fails. A worker that
cannot reach Temporal keeps beating: the SDK reconnects by itself, and a restart would not help.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from pathlib import Path

INTERVAL = 5.0  # seconds between beats
STALE_AFTER = 6 * INTERVAL  # a file older than this is a dead (or stuck) worker


async def beat(path: Path, running: Callable[[], bool], interval: float = INTERVAL) -> None:
    """Touch `path` every `interval` seconds while `running()`; removes it when cancelled (a clean stop).
    Until the first beat it looks every 0.2 s: a worker is healthy as soon as it runs, not an interval later."""
    path.parent.mkdir(parents=True, exist_ok=True)
    beaten = False
    try:
        while True:
            if running():
                path.touch()
                beaten = True
            await asyncio.sleep(interval if beaten else min(interval, 0.2))
    finally:
        path.unlink(missing_ok=True)


@asynccontextmanager
async def beating(path: Path | None, running: Callable[[], bool]) -> AsyncIterator[None]:
    """Beat into `path` (None: no heartbeat) for the duration of the block."""
    if path is None:
        yield
        return
    task = asyncio.create_task(beat(path, running))
    try:
        yield
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task


def is_fresh(path: Path, stale_after: float = STALE_AFTER, now: float | None = None) -> bool:
    """Whether the worker beat within the last `stale_after` seconds."""
    try:
        modified = path.stat().st_mtime
    except OSError:
        return False
    return (time.time() if now is None else now) - modified <= stale_after
