"""Helpers for the lifecycle journey tests (tests/test_lifecycle_*.py).

The time-skipping server starts at the real "now", so a test that cares about the local time
of day reads the server's clock (`server_now`) and picks a time zone (`daytime_zone`) or a
moment (`next_local`) from it. Email times are read off the timeline: the workflow notes
"<purpose> email: outbox" at workflow time once the email activity is done, while the
`emails` table's created_at is wall-clock time.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from domain.account import TimelineItem
from domain.messages import ActivityReported, SignedUp
from storage.schema import billing_discounts, customers
from tests.journey_kit import email_rows, eventually, ledger_rows

UTC = UTC


async def server_now(env) -> datetime:
    return (await env.get_current_time()).astimezone(UTC)


def daytime_zone(at: datetime, hour: int = 12) -> str:
    """An `Etc/GMT…` zone in which `at` is `hour` o'clock local time (so marketing is not quiet)."""
    off = (hour - at.astimezone(UTC).hour) % 24
    if off > 14:
        off -= 24
    return "UTC" if off == 0 else f"Etc/GMT{-off:+d}"  # Etc/GMT-5 is UTC+5: the sign is inverted


def next_local(after: datetime, tz: str, hour: int, minute: int = 0) -> datetime:
    """The first moment after `after` when the wall clock in `tz` shows hour:minute."""
    local = after.astimezone(ZoneInfo(tz))
    candidate = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if candidate <= local:
        candidate = (candidate + timedelta(days=1)).replace(hour=hour, minute=minute)
    return candidate.astimezone(UTC)


async def timeline(tenure, cid: str) -> list[TimelineItem]:
    return (await tenure.timeline(cid, 300)).items


def texts(items: list[TimelineItem]) -> list[str]:
    return [i.text for i in items]


def has(items: list[TimelineItem], fragment: str) -> bool:
    return any(fragment in i.text for i in items)


def count(items: list[TimelineItem], fragment: str) -> int:
    return sum(fragment in i.text for i in items)


def sends(items: list[TimelineItem], purpose: str) -> list[TimelineItem]:
    """Timeline notes of emails of `purpose` that went out (recorded by the email activity)."""
    return [
        i
        for i in items
        if i.kind == "email" and i.text.startswith(f"{purpose} email: ") and not i.text.endswith("failed")
    ]


async def wait_for(tenure, cid: str, fragment: str, timeout: float = 20) -> list[TimelineItem]:
    """Wait until the timeline contains `fragment`; returns the whole timeline."""
    return await eventually(lambda: timeline(tenure, cid), lambda items: has(items, fragment), timeout)


async def wait_sent(tenure, cid: str, purpose: str, n: int = 1) -> list[TimelineItem]:
    """Wait until `n` emails of `purpose` went out; returns the whole timeline."""
    return await eventually(lambda: timeline(tenure, cid), lambda items: len(sends(items, purpose)) >= n)


async def ledger(tenure, engine, cid: str) -> list[dict]:
    """The customer's ledger rows, once every entry the journey has made so far is written
    (a handler's note and summary are immediate; the ledger write follows in the same task)."""

    async def probe() -> tuple[int, list[dict]]:
        seq = (await tenure.summary(cid)).ledger_seq
        return seq, await asyncio.to_thread(ledger_rows, engine, cid)

    _, rows = await eventually(probe, lambda got: len(got[1]) == got[0])
    return rows


def sign_up(cid: str, tz: str, code: str | None = None, n: int = 0) -> SignedUp:
    return SignedUp(
        event_id=f"evt_signup_{cid}_{n}", email=f"{cid}@example.com", name=cid, timezone=tz, referral_code=code
    )


def act(kind: str, n: int | str) -> ActivityReported:
    return ActivityReported(event_id=f"evt_{kind}_{n}", kind=kind)


def purposes(engine, cid: str) -> list[str]:
    return [r["purpose"] for r in email_rows(engine, cid)]


def template_data(engine, cid: str, purpose: str) -> list[dict]:
    """dynamic_template_data of every recorded email of `purpose`."""
    out = []
    for r in email_rows(engine, cid):
        if r["purpose"] == purpose:
            payload = json.loads(r["payload"]) if isinstance(r["payload"], str) else r["payload"]
            out.append(payload["personalizations"][0]["dynamic_template_data"])
    return out


def customer_row(engine, cid: str) -> dict | None:
    with engine.connect() as conn:
        row = conn.execute(sa.select(customers).where(customers.c.customer_id == cid)).first()
    return None if row is None else dict(row._mapping)


def discount_rows(engine, cid: str) -> list[dict]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(billing_discounts).where(billing_discounts.c.customer_id == cid))
        return [dict(r._mapping) for r in rows]


def close_to(actual: datetime, expected: datetime, slack: timedelta = timedelta(minutes=1)) -> bool:
    """`actual` is at `expected` or a little after (timers fire, then the email activity runs)."""
    return expected - timedelta(seconds=1) <= actual <= expected + slack


def roomy_cap(program, per_week: int = 6):
    """The program with more marketing emails a week: for tests whose first payment reaches rewards
    and badges at once (rules version 3 adds the reward-reachable email and the lifetime-spend badge),
    so that what they test is not deferred by the weekly cap."""
    return program.model_copy(update={"comms": program.comms.model_copy(update={"frequency_cap_per_week": per_week})})
