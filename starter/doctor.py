"""Which journeys need support: stuck ones, and ones that set events or ledger entries aside.

- Stuck (from Temporal): a journey whose workflow task fails again and again (it takes no event,
  answers no query), one whose activity (billing, email) keeps failing, one whose ledger write
  has been retried for longer than `stalled_after` (the journey's `reconcile` view says since
  when it writes). Every running journey is described, and asked its view unless its workflow
  task is failing.
- Set aside (from SQL, the `quarantine` table): events a journey rejected and ledger entries the
  ledger refused for good (domain/quarantine.py), counted per customer, across all members.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine

from starter.client import JourneyError, JourneyHealth, NoJourney, TenureClient
from storage.quarantine_reads import QuarantineTally, quarantine_tallies

ATTEMPTS = 3  # a task on its third attempt has failed twice in a row
STALLED_AFTER = timedelta(minutes=2)


@dataclass
class Diagnosis:
    customer_id: str
    stuck: list[str] = field(default_factory=list)  # why the journey makes no progress; empty: it does
    rejected_events: int = 0
    unwritable_entries: int = 0
    latest_reason: str = ""
    latest_at: datetime | None = None

    @property
    def ok(self) -> bool:
        return not self.stuck and not self.rejected_events and not self.unwritable_entries

    def as_json(self) -> dict:
        return {
            "customer_id": self.customer_id,
            "stuck": self.stuck,
            "rejected_events": self.rejected_events,
            "unwritable_entries": self.unwritable_entries,
            "latest_reason": self.latest_reason or None,
            "latest_at": self.latest_at.isoformat() if self.latest_at else None,
        }


def stuck_reasons(health: JourneyHealth, attempts: int) -> list[str]:
    reasons = []
    task = health.workflow_task
    if task is not None and task.attempt >= attempts:
        reasons.append(f"workflow task failing ({task.attempt} attempts): {task.last_failure or 'no reason recorded'}")
    for a in health.activities:
        if a.attempt >= attempts:
            reasons.append(
                f"activity {a.what} retrying ({a.attempt} attempts): {a.last_failure or 'no reason recorded'}"
            )
    return reasons


async def examine(
    tenure: TenureClient, customer_id: str, attempts: int, stalled_after: timedelta, now: datetime
) -> list[str]:
    """Why this running journey makes no progress (empty: it does)."""
    try:
        health = await tenure.health(customer_id)
    except NoJourney:
        return []
    except JourneyError as e:
        return [f"Temporal cannot describe it: {e}"]
    reasons = stuck_reasons(health, attempts)
    if health.workflow_task is not None and health.workflow_task.attempt >= attempts:
        return reasons  # it answers no query
    try:
        view = await tenure.reconcile_view(customer_id)
    except JourneyError as e:
        return [*reasons, f"does not answer queries: {e}"]
    if view.writing_since is not None and now - view.writing_since >= stalled_after:
        reasons.append(
            f"ledger write retrying since {view.writing_since:%Y-%m-%d %H:%M:%S} UTC "
            f"({len(view.unwritten)} entr{'y' if len(view.unwritten) == 1 else 'ies'} waiting)"
        )
    return reasons


async def diagnose(
    tenure: TenureClient,
    engine: Engine,
    customer_id: str | None = None,
    *,
    attempts: int = ATTEMPTS,
    stalled_after: timedelta = STALLED_AFTER,
    concurrency: int = 8,
    on_total: Callable[[int], None] | None = None,
    on_done: Callable[[], None] | None = None,
) -> list[Diagnosis]:
    """The journeys that need support (one customer, or every running journey and every customer with
    quarantined rows), by customer id. Raises NoJourney for one customer with neither."""
    tallies = {t.customer_id: t for t in await asyncio.to_thread(quarantine_tallies, engine, customer_id)}
    if customer_id is not None:
        running = [customer_id] if await tenure.exists(customer_id) else []
        if not running and not tallies:
            raise NoJourney(customer_id)
    else:
        running = await tenure.running_customers()
    if on_total:
        on_total(len(running))
    now = datetime.now(UTC)
    gate = asyncio.Semaphore(concurrency)

    async def one(cid: str) -> tuple[str, list[str]]:
        async with gate:
            reasons = await examine(tenure, cid, attempts, stalled_after, now)
        if on_done:
            on_done()
        return cid, reasons

    stuck = dict(await asyncio.gather(*(one(cid) for cid in running)))
    found = [
        _diagnosis(cid, stuck.get(cid, []), tallies.get(cid))
        for cid in sorted(set(stuck) | set(tallies))
        if stuck.get(cid) or cid in tallies or customer_id is not None
    ]
    return found


def _diagnosis(customer_id: str, stuck: list[str], tally: QuarantineTally | None) -> Diagnosis:
    if tally is None:
        return Diagnosis(customer_id, stuck)
    return Diagnosis(customer_id, stuck, tally.events, tally.entries, tally.latest_reason, tally.latest_at)
