"""Times as the ledger database compares them: in UTC. A time whose UTC falls outside the years 1 to 9999
(`0001-01-01T00:00:00+01:00`, `9999-12-31T23:59:59-05:00`) has none, and would fail in the database
(an OverflowError, a 500): it is refused where it comes in (a segment filter's time, a bound of the
personal-data register), as the fault of the field that gave it."""

from __future__ import annotations

from datetime import UTC, datetime

OUT_OF_RANGE = "is out of range: in UTC it falls outside the years 1 to 9999"


def in_utc(value: datetime) -> datetime:
    """`value` in UTC (a time without a zone is UTC); a `ValueError` (OUT_OF_RANGE) when it has no UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError(OUT_OF_RANGE) from None
