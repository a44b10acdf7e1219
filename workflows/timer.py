"""The journey's one durable timer, always for its next deadline (after the `updatable_timer`
sample of temporalio/samples-python: the loop says when, the timer decides whether that needs a
new Temporal timer).

The timer is re-armed only when the deadline moves. Lazily (journeys started since the patch
`lazy-timer-v1`), a deadline that moves later leaves the armed timer running: it fires early, the
loop finds nothing due and arms the next one. The engagement watch moves the deadline on every
event, and cancelling and starting a timer each time cost two history events.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

from temporalio import workflow

from workflows.labels import label


class DeadlineTimer:
    def __init__(self, lazy: bool) -> None:
        self.lazy = lazy
        self.deadline: datetime | None = None
        self.fired = False
        self._task: asyncio.Task | None = None

    def arm(self, deadline: datetime | None, summary: str | Callable[[], str] = "next deadline") -> None:
        """Sleep until `deadline` (None: no timer), starting a timer only when that changes what fires.
        `summary` labels the timer in the Temporal UI (what is due then); a callable is called only
        when a timer starts, and not while replaying (workflows/labels.py)."""
        if deadline == self.deadline and self._task is not None:
            return
        if (
            self.lazy
            and self._task is not None
            and self.deadline is not None
            and (deadline is None or deadline > self.deadline)
        ):
            return  # the armed timer fires early; the loop finds nothing due and arms the next deadline
        if self._task is not None:
            self._task.cancel()
            self._task = None
        self.deadline = deadline
        if deadline is not None:
            delay = max((deadline - workflow.now()).total_seconds(), 0.001)
            self._task = asyncio.create_task(self._sleep(delay, label(summary)))

    def woke(self) -> None:
        """The loop woke up: a timer that fired is spent, and the next `arm` starts a new one."""
        if self.fired:
            self.fired, self.deadline = False, None

    def cancel(self) -> None:
        if self._task:
            self._task.cancel()

    async def _sleep(self, seconds: float, summary: str | None) -> None:
        await workflow.sleep(seconds, summary=summary)
        self.fired = True
