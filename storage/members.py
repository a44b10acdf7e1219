"""Read-only queries over the customers projection that journeys keep current (segments, lookups)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from .schema import customers


def segment(
    engine: Engine,
    *,
    at_risk: bool | None = None,
    status: str | None = None,
    tier: str | None = None,
    limit: int = 1000,
) -> list[dict]:
    """Members matching every given filter, from the profile each journey mirrors into `customers`."""
    q = sa.select(customers).order_by(customers.c.customer_id).limit(limit)
    if at_risk is not None:
        q = q.where(customers.c.at_risk == at_risk)
    if status:
        q = q.where(customers.c.status == status)
    if tier:
        q = q.where(customers.c.tier == tier)
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]


def customers_with_email(engine: Engine, email: str) -> list[str]:
    """Customer ids whose address is `email` (any case): how a SendGrid event finds its journey."""
    with engine.connect() as conn:
        rows = conn.execute(sa.select(customers.c.customer_id).where(sa.func.lower(customers.c.email) == email.lower()))
        return [r[0] for r in rows]
