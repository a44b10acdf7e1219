"""Read-only queries on the `quarantine` table, for `tenure doctor` (not activities).

Plain blocking functions, like storage/ledger_reads.py; call them through `asyncio.to_thread`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from .schema import quarantine


@dataclass(frozen=True)
class QuarantineTally:
    """What one customer's journey set aside: how many events and ledger entries, and the latest one."""

    customer_id: str
    events: int
    entries: int
    latest_at: datetime
    latest_reason: str


def quarantine_tallies(engine: Engine, customer_id: str | None = None) -> list[QuarantineTally]:
    """One tally per customer with quarantined rows (one customer, or all), by customer id."""
    q = quarantine
    agg = sa.select(
        q.c.customer_id,
        sa.func.sum(sa.case((q.c.what == "event", 1), else_=0)).label("events"),
        sa.func.sum(sa.case((q.c.what == "ledger_entry", 1), else_=0)).label("entries"),
        sa.func.max(q.c.id).label("latest_id"),
    ).group_by(q.c.customer_id)
    if customer_id is not None:
        agg = agg.where(q.c.customer_id == customer_id)
    sub = agg.subquery()
    latest = q.alias("latest")
    stmt = (
        sa.select(sub, latest.c.at, latest.c.reason)
        .join(latest, latest.c.id == sub.c.latest_id)
        .order_by(sub.c.customer_id)
    )
    with engine.connect() as conn:
        return [
            QuarantineTally(r.customer_id, int(r.events), int(r.entries), r.at, r.reason) for r in conn.execute(stmt)
        ]


def quarantined(engine: Engine, customer_id: str, limit: int = 50) -> list[dict]:
    """The latest rows of one customer, newest first."""
    q = quarantine
    stmt = sa.select(q).where(q.c.customer_id == customer_id).order_by(q.c.id.desc()).limit(limit)
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(stmt)]
