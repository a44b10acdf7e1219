"""Monthly or annual: the one rule every translator uses to tell a subscription's billing cadence."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta
from typing import Literal, cast

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


# --- the service period bought (rules version 3) ---------------------------------------------

Interval = Literal["day", "week", "month", "year"]

MONTH_SLACK_DAYS = 3
"""A period ending within this many days of a calendar month boundary is whole months: Stripe keeps a
31st anchor (Jan 31 → Feb 28 → Mar 31) and a renewal can be late by hours."""


def service_of_interval(interval: str, count: int = 1) -> tuple[Interval, int] | None:
    """A price's recurring interval as the service it bills; None for an interval Stripe does not have."""
    if interval in ("day", "week", "month", "year"):
        return cast(Interval, interval), count
    return None


def service_of_period(start: int, end: int) -> tuple[Interval, int]:
    """A billed period (unix seconds) as the service it covers: whole years or months by the calendar
    (within `MONTH_SLACK_DAYS`), else whole weeks, else days (at least one)."""
    first, last = datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC)
    months = (last.year - first.year) * 12 + last.month - first.month
    for n in (months - 1, months, months + 1):
        if n >= 1 and abs(last - _plus_months(first, n)) <= timedelta(days=MONTH_SLACK_DAYS):
            return ("year", n // 12) if n % 12 == 0 else ("month", n)
    days = max(1, round((end - start) / 86400))
    return ("week", days // 7) if days % 7 == 0 else ("day", days)


_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def days_in_month(year: int, month: int) -> int:
    """`calendar.monthrange(year, month)[1]` without the weekday it also computes (every signed invoice
    pays for three of these: bench/RESULTS.md 14.10)."""
    return 29 if month == 2 and calendar.isleap(year) else _MONTH_DAYS[month - 1]


def _plus_months(at: datetime, months: int) -> datetime:
    index = at.month - 1 + months
    year, month = at.year + index // 12, index % 12 + 1
    return at.replace(year=year, month=month, day=min(at.day, days_in_month(year, month)))
