"""Campaign activities: page through a segment and hand each member's journey the campaign's touch.

`campaign_page` is the campaign's only contact with members: it reads one page of the segment
(keyset, by customer id), holds out the members `domain/holdout.py` picks, and sends every other
member's journey the touch through the `apply_campaign` update, at the campaign's rate and a few at
a time, then records each member in `campaign_members`. It heartbeats its cursor within the page (every
member up to it recorded); a retry (the worker killed mid-page) starts after that cursor and skips the
members already recorded, and a member reached but not yet
recorded is answered by their journey with the first result (a journey applies a campaign once), so
nobody is reached twice. The page's counts are read back from the rows: a retried page counts once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Engine
from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError

from domain.campaign_touch import CampaignTouch, TouchResult
from domain.campaigns import (
    BUDGET_SPENT,
    NO_JOURNEY,
    CampaignDefinition,
    PageRequest,
    PageResult,
    StateChange,
    anniversary_in_month,
    committed_points,
    due_at,
    grants_points,
    max_points_for,
    reserve_for,
    touch_for,
)
from domain.holdout import in_holdout
from domain.segments import SegmentFilter
from storage import campaigns as records
from storage import segments as segment_store

UNKNOWN_SEGMENT = "UnknownSegment"
WRITE_EVERY = 100  # member rows written per transaction while a page runs
HEARTBEAT_EVERY = 1.0  # seconds between heartbeats while the page's cursor stands still

Apply = Callable[[str, CampaignTouch], Awaitable[TouchResult]]


def resolve_filter(engine: Engine, definition: CampaignDefinition) -> SegmentFilter:
    """The definition's inline filter, or its saved segment's; non-retryable when the segment is gone."""
    if definition.filter is not None:
        return definition.filter
    assert definition.segment is not None
    segment = segment_store.get_segment(engine, definition.segment)
    if segment is None:
        raise ApplicationError(
            f"segment {definition.segment!r} does not exist", type=UNKNOWN_SEGMENT, non_retryable=True
        )
    return segment.filter


class Pacer:
    """At most `rate` starts per second: the k-th start waits until k / rate seconds after the first.

    `not_before` (wall clock) is where the previous page's pacing left off, so a campaign of small
    pages keeps its rate between pages too; `resume_at()` is that instant for the next page."""

    def __init__(self, rate: float, not_before: datetime | None = None) -> None:
        self.interval = 1.0 / rate
        self.next_at = time.monotonic()
        if not_before is not None:
            self.next_at += max(0.0, not_before.timestamp() - time.time())
        self.lock = asyncio.Lock()

    def resume_at(self) -> datetime:
        """The wall-clock instant the next start may happen (for the next page's pacer)."""
        return datetime.fromtimestamp(time.time() + max(0.0, self.next_at - time.monotonic()), UTC)

    async def wait(self) -> None:
        async with self.lock:
            now = time.monotonic()
            at = max(self.next_at, now)
            self.next_at = at + self.interval
        if at > now:
            await asyncio.sleep(at - now)


class CampaignActivities:
    """`client`: the worker's Temporal client (the one the activities' updates go through); `apply`
    replaces the journey call in unit tests."""

    def __init__(self, engine: Engine, client: Client | None = None, apply: Apply | None = None) -> None:
        self.engine = engine
        self.client = client
        self._apply = apply
        self._journeys: Any = None  # the TenureClient, made once (not once per member)

    async def apply(self, customer_id: str, touch: CampaignTouch) -> TouchResult:
        if self._apply is not None:
            return await self._apply(customer_id, touch)
        journeys = self._journeys
        if journeys is None or journeys.client is not (self.client or activity.client()):
            from starter.client import TenureClient  # the one door to a journey (typed errors)

            journeys = self._journeys = TenureClient(self.client or activity.client())
        return await journeys.apply_campaign(customer_id, touch)

    @activity.defn
    async def count_campaign_segment(self, definition: CampaignDefinition) -> int:
        """How many members the campaign's segment has now."""
        f = await asyncio.to_thread(resolve_filter, self.engine, definition)
        return await asyncio.to_thread(segment_store.count_members, self.engine, f)

    @activity.defn
    async def record_campaign_state(self, change: StateChange) -> None:
        await asyncio.to_thread(
            records.set_state, self.engine, change.campaign_id, change.state, change.progress, change.stopped_because
        )

    @activity.defn
    async def campaign_page(self, request: PageRequest) -> PageResult:
        """Reach one page of the segment (see the module docstring); records the campaign's progress after it."""
        d = request.definition
        f = await asyncio.to_thread(resolve_filter, self.engine, d)
        members = await asyncio.to_thread(segment_store.member_page, self.engine, f, request.after, request.limit)
        if not members:
            return PageResult(counts=records.Counts(), cursor=request.after, done=True)
        last = members[-1].customer_id
        ids = [m.customer_id for m in members]
        already = await asyncio.to_thread(records.recorded_members, self.engine, request.run_id, ids)
        # The cursor an earlier attempt of this page heartbeat: every member up to it is recorded.
        details = activity.info().heartbeat_details
        resume_after = str(details[0]) if details else None
        facts = await asyncio.to_thread(records.member_facts, self.engine, ids)
        before = await asyncio.to_thread(
            records.counts_between, self.engine, request.run_id, request.after, last, request.pass_started_at
        )
        left = None if request.budget_left is None else request.budget_left - before.points_committed
        now = request.now
        next_due: datetime | None = None
        rows: list[records.MemberRow] = []
        treated = []

        def row(customer_id: str, group: str, outcome: str, **extra: Any) -> records.MemberRow:
            fact = facts.get(customer_id, {})
            return records.MemberRow(
                campaign_id=request.run_id,
                customer_id=customer_id,
                group=group,
                outcome=outcome,
                status_at_start=fact.get("status"),
                spend_at_start_minor=fact.get("lifetime_spend_minor"),
                at=request.now,
                **extra,
            )

        for m in members:
            if m.customer_id in already or (resume_after is not None and m.customer_id <= resume_after):
                continue
            if d.recurrence is not None and not anniversary_in_month(
                facts.get(m.customer_id, {}).get("signed_up_at"), now
            ):
                continue  # not this month's: not targeted
            due = due_at(d, m.timezone)
            if due is not None and due > now:
                next_due = due if next_due is None else min(next_due, due)
                continue
            if in_holdout(request.run_id, m.customer_id, d.holdout_percent):
                rows.append(row(m.customer_id, "holdout", "held_out"))
            else:
                treated.append(m)

        pacer = Pacer(d.rate, request.progress_before.next_touch_at)
        semaphore = asyncio.Semaphore(d.concurrency)
        spent = False
        lock = asyncio.Lock()
        pending: list[records.MemberRow] = rows

        recorded: set[str] = set()
        through = 0  # members[:through] are all recorded (or not this pass's)
        untouched = {m.customer_id for m in members} - {r.customer_id for r in rows} - {m.customer_id for m in treated}

        async def flush() -> None:
            nonlocal pending, through
            batch, pending = pending, []
            await asyncio.to_thread(records.record_members, self.engine, batch)
            recorded.update(r.customer_id for r in batch)
            while through < len(members) and (
                members[through].customer_id in recorded or members[through].customer_id in untouched
            ):
                through += 1
            beat()

        beaten = [-1, 0.0]  # the cursor position and the instant of the last heartbeat

        def beat() -> None:
            """Alive, and the page's cursor so far (every member up to it recorded), for a retry.

            At most one a second while the cursor stands still: each heartbeat is a payload encoded
            and encrypted, and a member a millisecond apart need not say so each time (profiled)."""
            now = time.monotonic()
            if through == beaten[0] and now - beaten[1] < HEARTBEAT_EVERY:
                return
            beaten[0], beaten[1] = through, now
            if through:
                activity.heartbeat(members[through - 1].customer_id)
            else:
                activity.heartbeat()

        async def reach(customer_id: str, timezone: str) -> None:
            nonlocal left, spent
            async with semaphore:
                reserved = 0
                max_points: int | None = None
                if grants_points(d):
                    async with lock:
                        max_points = max_points_for(d, left)
                        if max_points == 0:
                            spent = True
                            pending.append(row(customer_id, "treated", "skipped", reason=BUDGET_SPENT))
                            return
                        reserved = min(reserve_for(d), max_points) if max_points is not None else reserve_for(d)
                        if left is not None:
                            left -= reserved
                await pacer.wait()
                touch = touch_for(d, request.run_id, timezone, max_points, actor=request.actor)
                try:
                    result = await self.apply(customer_id, touch)
                except Exception as e:  # the typed errors of starter.client
                    kind = type(e).__name__
                    if kind == "JourneyUnavailable":
                        raise  # Temporal itself is away: the page is retried, from what is recorded
                    async with lock:
                        if left is not None:
                            left += reserved
                    if kind == "NoJourney":
                        pending.append(row(customer_id, "treated", "skipped", reason=NO_JOURNEY))
                    else:
                        pending.append(row(customer_id, "treated", "failed", reason=f"{kind}: {e}"[:300]))
                    return
                committed = committed_points(d, result, max_points)
                async with lock:
                    if left is not None:
                        left += reserved - committed
                outcome = result.outcome
                pending.append(
                    row(
                        customer_id,
                        "treated",
                        outcome,
                        reason=result.reason,
                        points_granted=result.points_granted,
                        points_committed=committed,
                        email=result.email,
                    )
                )
                beat()
                if len(pending) >= WRITE_EVERY:
                    await flush()

        await asyncio.gather(*(reach(m.customer_id, m.timezone) for m in treated))
        await flush()
        counts = await asyncio.to_thread(
            records.counts_between, self.engine, request.run_id, request.after, last, request.pass_started_at
        )
        at_end = len(members) < request.limit
        next_touch_at = pacer.resume_at()
        progress = request.progress_before.model_copy(
            update={
                "counts": request.progress_before.counts.plus(counts),
                "cursor": last,
                "next_touch_at": next_touch_at,
            }
        )
        await asyncio.to_thread(records.set_state, self.engine, d.id, request.progress_before.state, progress)
        return PageResult(
            counts=counts,
            cursor=last,
            done=at_end,
            next_due_at=next_due,
            budget_spent=spent,
            next_touch_at=next_touch_at,
        )
