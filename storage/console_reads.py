"""Read-only queries behind the console's member pages: finding a member, the ledger newest first,
the emails recorded for a member. Plain blocking functions: call them through `asyncio.to_thread`."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from domain.effects import LedgerEntry

from .schema import customers, emails, ledger_entries

_ENTRY_COLUMNS = [c for c in ledger_entries.c if c.name in LedgerEntry.model_fields]


def find_members(engine: Engine, query: str, limit: int = 20, *, by_contact: bool = True) -> list[dict]:
    """Members whose customer id or email is `query` (any case), then those whose id or email starts
    with it: support types what the customer told them. Without `by_contact` (a role not shown
    personal data), the customer id only: nobody is found by their address."""
    q = query.strip()
    if not q:
        return []
    c = customers
    low = q.lower()
    pattern = low.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    exact = sa.or_(c.c.customer_id == q, *([sa.func.lower(c.c.email) == low] if by_contact else []))
    starts = sa.or_(
        sa.func.lower(c.c.customer_id).like(pattern, escape="\\"),
        *([sa.func.lower(c.c.email).like(pattern, escape="\\")] if by_contact else []),
    )
    stmt = (
        sa.select(
            c.c.customer_id,
            *((c.c.email, c.c.name) if by_contact else ()),
            c.c.status,
            c.c.tier,
            c.c.at_risk,
            c.c.program_version,
        )
        .where(sa.or_(exact, starts))
        .order_by(sa.case((exact, 0), else_=1), c.c.customer_id)
        .limit(limit)
    )
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(stmt)]


def ledger_newest(engine: Engine, customer_id: str, offset: int, limit: int) -> tuple[int, list[LedgerEntry]]:
    """How many entries the member has, and `limit` of them newest first after skipping `offset`."""
    t = ledger_entries
    with engine.connect() as conn:
        total = conn.execute(sa.select(sa.func.count()).where(t.c.customer_id == customer_id)).scalar_one()
        rows = conn.execute(
            sa.select(*_ENTRY_COLUMNS)
            .where(t.c.customer_id == customer_id)
            .order_by(t.c.seq.desc())
            .offset(offset)
            .limit(limit)
        )
        return int(total), [LedgerEntry.model_validate(dict(r._mapping)) for r in rows]


def emails_of(engine: Engine, customer_id: str, limit: int = 50) -> list[dict]:
    """The member's emails as recorded (sent, waiting in the outbox, rejected by SendGrid), newest first."""
    e = emails
    stmt = (
        sa.select(e.c.purpose, e.c.category, e.c.status, e.c.detail, e.c.template_id, e.c.created_at)
        .where(e.c.customer_id == customer_id)
        .order_by(e.c.created_at.desc())
        .limit(limit)
    )
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(stmt)]


def contact_of(engine: Engine, customer_id: str) -> dict | None:
    """Where the member's email goes and in which zone their quiet hours fall (the customers table the
    journey keeps): support's first questions about an email that did not arrive. None: no row yet."""
    c = customers
    stmt = sa.select(c.c.email, c.c.name, c.c.timezone, c.c.country, c.c.email_reachable).where(
        c.c.customer_id == customer_id
    )
    with engine.connect() as conn:
        row = conn.execute(stmt).first()
    return None if row is None else dict(row._mapping)


def contacts_of(engine: Engine, customer_ids: list[str]) -> dict[str, list[str]]:
    """The address and name each of these members is known by (to mask them where they are quoted)."""
    if not customer_ids:
        return {}
    c = customers
    stmt = sa.select(c.c.customer_id, c.c.email, c.c.name).where(c.c.customer_id.in_(customer_ids))
    with engine.connect() as conn:
        return {r.customer_id: [t for t in (r.email, r.name) if t] for r in conn.execute(stmt)}
