"""How far ahead support may set a minimum tier: from today to at most five years ahead.

A minimum tier is an exception granted by a person (a key account's contract, a goodwill gesture):
contracts run for one to three years, so five covers the longest with room, and catches a typo
(2207, 9999-12-31) that would otherwise pin a member's tier for good. A day in the past is refused
too (the journey would refuse it later, in its own words). The bound is the edge's, checked by
every sender of the set-tier update (`TenureClient.set_minimum_tier`, the console's form, `tenure
member set-tier`): the journey's own validation stays as histories recorded it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time

MINIMUM_TIER_YEARS = 5
END_OF_DAY = time(23, 59, 59)


def years_after(day: date, years: int) -> date:
    """The same day `years` later; 29 February becomes the 28th in a year without it."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def until_range(now: datetime) -> tuple[date, date]:
    """The first and the last day a minimum tier may be set to end on (UTC), seen at `now`."""
    today = now.astimezone(UTC).date()
    return today, years_after(today, MINIMUM_TIER_YEARS)


def until_problem(until: datetime, now: datetime, name: str = "until") -> str | None:
    """What to type instead, when `until` is past or more than five years ahead; None when it is fine."""
    first, last = until_range(now)
    if now < until <= datetime.combine(last, END_OF_DAY, tzinfo=UTC):
        return None
    at = until.astimezone(UTC)
    given = at.date().isoformat() if at.time() == END_OF_DAY else at.strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"{name}: give a last day from {first.isoformat()} (today) to {last.isoformat()} "
        f"(at most {MINIMUM_TIER_YEARS} years ahead), not {given}"
    )
