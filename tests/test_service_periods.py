"""The service a billed period is, and months actually subscribed (pure rules, no server)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from domain import service_periods as S
from domain.lifecycle_state import ServiceRecord
from domain.program import Program
from starter.ingress.cadence import service_of_period


def ts(*parts: int) -> int:
    return int(datetime(*parts, tzinfo=UTC).timestamp())


def test_periods_are_read_by_the_calendar():
    assert service_of_period(ts(2026, 1, 31), ts(2026, 2, 28)) == ("month", 1)  # Stripe's 31st anchor
    assert service_of_period(ts(2026, 2, 28), ts(2026, 3, 31)) == ("month", 1)
    assert service_of_period(ts(2026, 1, 1), ts(2026, 4, 1)) == ("month", 3)
    assert service_of_period(ts(2026, 3, 1), ts(2027, 3, 1)) == ("year", 1)
    assert service_of_period(ts(2024, 2, 29), ts(2026, 2, 28)) == ("year", 2)
    assert service_of_period(ts(2026, 1, 1), ts(2026, 1, 8)) == ("week", 1)
    assert service_of_period(ts(2026, 1, 1), ts(2026, 1, 15)) == ("week", 2)
    assert service_of_period(ts(2026, 1, 1), ts(2026, 1, 2)) == ("day", 1)
    assert service_of_period(ts(2026, 1, 15), ts(2026, 2, 1)) == ("day", 17)
    assert service_of_period(ts(2026, 1, 1), ts(2026, 1, 1)) == ("day", 1), "never less than a day"


def test_points_are_in_proportion_to_the_month_unless_set():
    e = Program(version="v").earning
    assert [S.points_for(e, "day", 1), S.points_for(e, "day", 30), S.points_for(e, "week", 1)] == [3, 99, 23]
    assert [S.points_for(e, "month", 1), S.points_for(e, "month", 3), S.points_for(e, "month", 6)] == [100, 300, 600]
    assert [S.points_for(e, "month", 12), S.points_for(e, "year", 1), S.points_for(e, "year", 2)] == [1200, 1200, 2400]


moments = st.integers(min_value=0, max_value=800 * 24).map(
    lambda h: datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=h)
)
spans = st.lists(st.tuples(moments, st.sampled_from(["day", "week", "month", "year"]), st.integers(1, 3)), max_size=8)


@given(spans, st.integers(min_value=1, max_value=30))
def test_the_badge_comes_due_exactly_when_the_months_have_passed(paid, months):
    service = ServiceRecord()
    for n, (start, interval, count) in enumerate(sorted(paid)):
        S.add(service, f"in_{n}", start, interval, count)
    at = S.reached_at(service, months)
    if at is None:
        end = max((s.end for s in service.spans), default=datetime(2026, 1, 1, tzinfo=UTC))
        assert S.elapsed(service, end) < S.MONTH * months
    else:
        assert S.elapsed(service, at) >= S.MONTH * months
        if service.before < S.MONTH * months:  # else reached already, in spans folded away
            assert S.elapsed(service, at - timedelta(seconds=1)) < S.MONTH * months
