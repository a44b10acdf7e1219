"""Read-only ledger queries for the reconcile command, the HTTP API and the CLI (not activities).

Workflows never call these: a workflow reads its own state. They are plain blocking
functions; call them from async code through `asyncio.to_thread`.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from domain.effects import LedgerEntry

from .schema import ledger_entries

_ENTRY_COLUMNS = [c for c in ledger_entries.c if c.name in LedgerEntry.model_fields]


@dataclass(frozen=True)
class Totals:
    """What the ledger says about one customer, to compare with the workflow's summary.

    A healthy journey has balance == points_sum == last_balance_after and
    pending == pending_sum == last_pending_after, and count == max_seq (no gaps).
    """

    points_sum: int
    pending_sum: int
    max_seq: int
    count: int
    last_balance_after: int
    last_pending_after: int


def ledger_page(engine: Engine, customer_id: str, offset: int = 0, limit: int = 50) -> list[LedgerEntry]:
    """Entries of one customer in seq order, `limit` of them starting after `offset`."""
    if offset < 0 or limit < 0:
        raise ValueError("offset and limit must not be negative")
    t = ledger_entries
    stmt = (
        sa.select(*_ENTRY_COLUMNS).where(t.c.customer_id == customer_id).order_by(t.c.seq).offset(offset).limit(limit)
    )
    with engine.connect() as conn:
        return [LedgerEntry.model_validate(dict(row._mapping)) for row in conn.execute(stmt)]


def ledger_totals(engine: Engine, customer_id: str | None = None) -> dict[str, Totals]:
    """Totals per customer (one customer, or all when `customer_id` is None)."""
    t = ledger_entries
    agg = sa.select(
        t.c.customer_id,
        sa.func.coalesce(sa.func.sum(t.c.points), 0).label("points_sum"),
        sa.func.coalesce(sa.func.sum(t.c.pending_points), 0).label("pending_sum"),
        sa.func.max(t.c.seq).label("max_seq"),
        sa.func.count().label("entry_count"),  # not "count": a Row has a count() method
    ).group_by(t.c.customer_id)
    if customer_id is not None:
        agg = agg.where(t.c.customer_id == customer_id)
    agg_sq = agg.subquery()
    last = t.alias("last")
    stmt = sa.select(agg_sq, last.c.balance_after, last.c.pending_after).join(
        last, sa.and_(last.c.customer_id == agg_sq.c.customer_id, last.c.seq == agg_sq.c.max_seq)
    )
    with engine.connect() as conn:
        return {
            r.customer_id: Totals(
                points_sum=int(r.points_sum),
                pending_sum=int(r.pending_sum),
                max_seq=int(r.max_seq),
                count=int(r.entry_count),
                last_balance_after=int(r.balance_after),
                last_pending_after=int(r.pending_after),
            )
            for r in conn.execute(stmt)
        }


def clashes(engine: Engine, entries: list[LedgerEntry]) -> dict[int, str]:
    """Which of a journey's entries the ledger can never take, by seq, and why: another row has the
    entry's key, or the entry's customer and seq (an entry already written is no clash)."""
    if not entries:
        return {}
    t = ledger_entries
    customer_id = entries[0].customer_id
    keys = [e.key for e in entries]
    seqs = [e.seq for e in entries]
    stmt = sa.select(t.c.key, t.c.customer_id, t.c.seq).where(
        sa.or_(t.c.key.in_(keys), sa.and_(t.c.customer_id == customer_id, t.c.seq.in_(seqs)))
    )
    with engine.connect() as conn:
        rows = conn.execute(stmt).all()
    by_key = {key: (cid, seq) for key, cid, seq in rows}
    by_seq = {seq: key for key, cid, seq in rows if cid == customer_id}
    found: dict[int, str] = {}
    for e in entries:
        if e.key in by_key and by_key[e.key] != (e.customer_id, e.seq):
            cid, seq = by_key[e.key]
            found[e.seq] = f"its key {e.key!r} is recorded as customer {cid!r} seq {seq}"
        elif e.seq in by_seq and by_seq[e.seq] != e.key:
            found[e.seq] = f"seq {e.seq} is recorded under another key ({by_seq[e.seq]!r})"
    return found
