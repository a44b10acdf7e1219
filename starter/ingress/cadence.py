"""Monthly or annual: the one rule every translator uses to tell a subscription's billing cadence."""

from __future__ import annotations

from typing import Literal

Cadence = Literal["monthly", "annual"]

ANNUAL_PERIOD_DAYS = 300
"""A billing period at least this long is annual (a year with a short month or a late renewal still is)."""

_MONTHS = {"year": 12, "month": 1}


def cadence_of_interval(interval: str, count: int = 1) -> Cadence:
    """A price's recurring interval ('month', 'year'; shorter ones count as monthly) -> its cadence."""
    return "annual" if _MONTHS.get(interval, 0) * count >= 12 else "monthly"


def cadence_of_period(start: int, end: int) -> Cadence:
    """A billed period (unix seconds) -> its cadence."""
    return "annual" if (end - start) / 86400 >= ANNUAL_PERIOD_DAYS else "monthly"
