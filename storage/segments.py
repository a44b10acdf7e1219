"""Saved segments and their members, read from the customers projection that journeys keep current.

`where_clause` is the SQL of a filter; it follows `domain.segments.matches` exactly (a property
test holds them to each other on SQLite and PostgreSQL). Members page by customer id (keyset):
a campaign keeps the last id as its cursor, so a page costs the same at any depth.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from domain.segments import (
    AllOf,
    AnyOf,
    Condition,
    SampleMember,
    Segment,
    SegmentFilter,
    SegmentMember,
    SegmentPreview,
)

from .schema import customers, segments

MAX_PAGE = 10_000


class SegmentNameTaken(ValueError):
    """Another saved segment has this name."""

    def __init__(self, name: str) -> None:
        super().__init__(f"a segment named {name!r} exists already")
        self.name = name


def _reachable() -> sa.ColumnElement[Any]:
    # Rows not yet projected (journeys before rules version 3) count as reachable when they have
    # an address; the communication policy still decides at send time.
    c = customers.c
    return sa.func.coalesce(c.email_reachable, c.email.is_not(None))


def _column(field: str) -> sa.ColumnElement[Any]:
    if field == "email_reachable":
        return _reachable()
    return customers.c[field]


def _condition(cond: Condition) -> sa.ColumnElement[bool]:
    col = _column(cond.field)
    op, value = cond.op, cond.value
    if op == "eq":
        return col.is_(None) if value is None else col == value
    if op == "ne":
        return col.is_not(None) if value is None else sa.or_(col.is_(None), col != value)
    if op == "in":
        assert isinstance(value, list)
        return col.in_(value)
    if op == "lt":
        return col < value
    if op == "le":
        return col <= value
    if op == "gt":
        return col > value
    if op == "ge":
        return col >= value
    if op == "between":
        assert isinstance(value, list)
        return col.between(value[0], value[1])
    if op == "is_true":
        return col == sa.true()
    if op == "is_false":
        return col == sa.false()
    raise ValueError(f"unknown operator {op}")


def where_clause(f: SegmentFilter) -> sa.ColumnElement[bool]:
    """The SQL condition of a filter over `customers`."""
    if isinstance(f, AllOf):
        return sa.and_(sa.true(), *(where_clause(part) for part in f.all))
    if isinstance(f, AnyOf):
        return sa.or_(sa.false(), *(where_clause(part) for part in f.any))
    return _condition(f)


def count_members(engine: Engine, filter: SegmentFilter) -> int:
    stmt = sa.select(sa.func.count()).select_from(customers).where(where_clause(filter))
    with engine.connect() as conn:
        return int(conn.execute(stmt).scalar_one())


def member_page(engine: Engine, filter: SegmentFilter, after: str | None, limit: int) -> list[SegmentMember]:
    """Up to `limit` members after the customer id `after` (None: from the start), by customer id."""
    if not 1 <= limit <= MAX_PAGE:
        raise ValueError(f"limit must be between 1 and {MAX_PAGE}")
    c = customers.c
    stmt = (
        sa.select(c.customer_id, c.timezone, _reachable().label("email_reachable"), c.tier, c.status)
        .where(where_clause(filter))
        .order_by(c.customer_id)
        .limit(limit)
    )
    if after is not None:
        stmt = stmt.where(c.customer_id > after)
    with engine.connect() as conn:
        return [
            SegmentMember(
                customer_id=row.customer_id,
                timezone=row.timezone,
                email_reachable=bool(row.email_reachable),
                tier=row.tier,
                status=row.status,
            )
            for row in conn.execute(stmt)
        ]


MAX_SAMPLE = 100


def sample_members(engine: Engine, filter: SegmentFilter, limit: int) -> list[SampleMember]:
    """The first members of a segment with every projected column; no email, name or code."""
    if not 0 <= limit <= MAX_SAMPLE:
        raise ValueError(f"a sample has at most {MAX_SAMPLE} members")
    columns = [customers.c[name] for name in SampleMember.model_fields if name != "email_reachable"]
    stmt = (
        sa.select(*columns, _reachable().label("email_reachable"))
        .where(where_clause(filter))
        .order_by(customers.c.customer_id)
        .limit(limit)
    )
    with engine.connect() as conn:
        return [SampleMember.model_validate(dict(row._mapping)) for row in conn.execute(stmt)]


def preview(engine: Engine, filter: SegmentFilter, sample: int = 10) -> SegmentPreview:
    """The count of a filter's members and the first `sample` of them."""
    return SegmentPreview(count=count_members(engine, filter), sample=sample_members(engine, filter, sample))


def _row(segment: Segment) -> dict[str, Any]:
    return segment.model_dump(mode="json") | {"created_at": segment.created_at}


def save_segment(engine: Engine, segment: Segment) -> None:
    """Insert a segment, or replace the filter and name of the one with its id."""
    row = _row(segment)
    try:
        with engine.begin() as conn:
            updated = conn.execute(
                sa.update(segments)
                .where(segments.c.segment_id == segment.segment_id)
                .values(name=row["name"], filter=row["filter"])
            ).rowcount
            if not updated:
                conn.execute(sa.insert(segments).values(**row))
    except IntegrityError as e:
        if get_segment(engine, segment.segment_id) is None or _named(engine, segment.name) != segment.segment_id:
            raise SegmentNameTaken(segment.name) from e
        raise


def _named(engine: Engine, name: str) -> str | None:
    with engine.connect() as conn:
        return conn.execute(sa.select(segments.c.segment_id).where(segments.c.name == name)).scalar_one_or_none()


def _segment(row: Any) -> Segment:
    return Segment.model_validate(dict(row._mapping))


def get_segment(engine: Engine, segment_id: str) -> Segment | None:
    with engine.connect() as conn:
        row = conn.execute(sa.select(segments).where(segments.c.segment_id == segment_id)).first()
    return _segment(row) if row is not None else None


def list_segments(engine: Engine) -> list[Segment]:
    with engine.connect() as conn:
        return [_segment(row) for row in conn.execute(sa.select(segments).order_by(segments.c.name))]
