"""How much service a payment bought, and what that service earns (rules version 3).

Points follow the service period bought: by default 100 per month of service (`monthly_payment`),
a year earns `annual_payment`, and a day, a week or a quarter earn in proportion to the month
(12/365, 12/52 and 3 months), unless the program sets `daily_payment`, `weekly_payment` or
`quarterly_payment`. A period of several units (a price billed every 2 weeks, every 6 months)
earns its units. So a daily plan earns about 3 points a day, ~100 a month, as a monthly one does.

Before version 3 a payment earned by its cadence only: "annual" 1200, anything else 100.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

from .lifecycle_state import LifecycleState, ServiceRecord, ServiceSpan

if TYPE_CHECKING:
    from .messages import PaymentSucceeded
    from .program.model import EarningRules

Interval = Literal["day", "week", "month", "year"]

DAYS_PER_YEAR = 365
MONTH = timedelta(seconds=DAYS_PER_YEAR * 86400 // 12)
"""A month of service, for counting months subscribed: a twelfth of a year (30 days 10 hours, exactly)."""
KEPT = timedelta(days=400)
"""Spans are kept this long after they end (a refund can still take them back), then folded."""
MAX_SPANS = 100
"""And at most this many (a daily plan's last 100 days): the oldest ended ones fold first. A full
refund of a period folded away still reverses its points, but no longer takes a badge back."""

_DAYS: dict[str, timedelta] = {"day": timedelta(days=1), "week": timedelta(days=7), "month": MONTH, "year": 12 * MONTH}


def service_of(ev: PaymentSucceeded) -> tuple[Interval, int]:
    """The service a payment bought: its interval and count, or its cadence when the sender gave none."""
    if ev.interval is not None:
        return ev.interval, ev.interval_count
    return ("year", 1) if ev.cadence == "annual" else ("month", 1)


def length(interval: Interval, count: int) -> timedelta:
    """How long `count` intervals of service last (a month is a twelfth of a year)."""
    return _DAYS[interval] * count


def points_for(e: EarningRules, interval: Interval, count: int) -> int:
    """The table points of `count` intervals of service (before the tier multiplier)."""
    month = e.monthly_payment
    if interval == "year":
        return e.annual_payment * count
    if interval == "month":
        if count % 12 == 0:
            return e.annual_payment * (count // 12)
        if count % 3 == 0 and e.quarterly_payment is not None:
            return e.quarterly_payment * (count // 3)
        return month * count
    if interval == "week":
        per = e.weekly_payment if e.weekly_payment is not None else month * 12 / 52
        return round(per * count)
    per = e.daily_payment if e.daily_payment is not None else month * 12 / DAYS_PER_YEAR
    return round(per * count)


def describe(interval: Interval, count: int) -> str:
    """'monthly', 'annual', 'weekly', 'daily', 'quarterly', or '15-day', '6-month' (for the timeline)."""
    names = {("day", 1): "daily", ("week", 1): "weekly", ("month", 1): "monthly", ("month", 3): "quarterly"}
    if (interval, count) in names:
        return names[(interval, count)]
    if interval == "year" and count == 1 or interval == "month" and count == 12:
        return "annual"
    return f"{count}-{interval}"


def record(lc: LifecycleState, created_at: datetime, now: datetime) -> ServiceRecord:
    """The member's service record, started on first use: a run carried over from an older version
    brings its paid months as service already elapsed (at most the time since the account opened)."""
    if lc.service is None:
        elapsed = min(MONTH * lc.counters.paid_months, max(now - created_at, timedelta()))
        lc.service = ServiceRecord(before=elapsed, periods=lc.counters.payments)
    return lc.service


def add(service: ServiceRecord, invoice_id: str, start: datetime, interval: Interval, count: int) -> None:
    """A paid period. The oldest spans that have ended fold into `before` once they are past any refund
    (`KEPT`) or too many (`MAX_SPANS`), so the record stays small: a few KB for a daily plan."""
    service.spans.append(ServiceSpan(invoice_id=invoice_id, start=start, end=start + length(interval, count)))
    service.spans.sort(key=lambda s: s.start)
    service.periods += 1
    while service.spans and service.spans[0].end <= start:
        oldest = service.spans[0]
        if oldest.end >= start - KEPT and len(service.spans) <= MAX_SPANS:
            break
        service.before += _union([oldest], start, service.folded_until)
        service.folded_until = max(oldest.end, service.folded_until or oldest.end)
        service.spans.pop(0)


def remove(service: ServiceRecord, invoice_id: str) -> bool:
    """A period fully refunded is no longer service paid for; False when the invoice bought none."""
    kept = [s for s in service.spans if s.invoice_id != invoice_id]
    if len(kept) == len(service.spans):
        return False
    service.spans = kept
    service.periods = max(0, service.periods - 1)
    return True


def elapsed(service: ServiceRecord, now: datetime) -> timedelta:
    """Service that has actually passed by `now` within paid spans (overlaps counted once)."""
    return service.before + _union(service.spans, now, service.folded_until)


def reached_at(service: ServiceRecord, months: int) -> datetime | None:
    """The moment `months` of paid service will have passed, if the spans paid so far reach it."""
    need = MONTH * months - service.before
    reach = service.folded_until
    for span in sorted(service.spans, key=lambda s: s.start):
        start = span.start if reach is None else max(span.start, reach)
        if span.end > start:
            if span.end - start >= need:
                return start + max(need, timedelta())
            need -= span.end - start
        reach = span.end if reach is None else max(reach, span.end)
    return None


def _union(spans: list[ServiceSpan], until: datetime, reach: datetime | None = None) -> timedelta:
    """The time within `spans` before `until`, overlaps once, none before `reach` (already counted)."""
    total = timedelta()
    for span in sorted(spans, key=lambda s: s.start):
        start = span.start if reach is None else max(span.start, reach)
        end = min(span.end, until)
        if end > start:
            total += end - start
        reach = span.end if reach is None else max(reach, span.end)
    return total
