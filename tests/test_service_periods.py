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


def naive_union(spans: list[tuple[datetime, datetime]], until: datetime) -> timedelta:
    """Merged intervals, clipped at `until`: the plain definition of service that has passed."""
    total, current = timedelta(), None
    for start, end in sorted(spans):
        end = min(end, until)
        if end <= start:
            continue
        if current and start <= current[1]:
            current = (current[0], max(current[1], end))
        else:
            if current:
                total += current[1] - current[0]
            current = (start, end)
    return total + (current[1] - current[0] if current else timedelta())


@given(
    st.lists(st.tuples(st.integers(0, 1200), st.sampled_from(["day", "week", "month", "year"])), max_size=160),
    st.integers(0, 1500),
)
def test_folding_old_and_many_spans_keeps_the_months_subscribed(paid, later):
    """A daily plan's hundreds of periods fold into a total: the record stays small, the months the same."""
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    service, plain = ServiceRecord(), []
    for n, (day, interval) in enumerate(sorted(paid)):
        start = t0 + timedelta(days=day)
        S.add(service, f"in_{n}", start, interval, 1)
        plain.append((start, start + S.length(interval, 1)))
    assert len(service.spans) <= S.MAX_SPANS + 1 or all(s.end > t0 for s in service.spans)
    now = t0 + timedelta(days=later)
    if not plain or now >= max(start for start, _ in plain):  # folding is judged from the latest payment on
        assert S.elapsed(service, now) == naive_union(plain, now)


def test_a_daily_plan_keeps_at_most_a_hundred_spans():
    service, t0 = ServiceRecord(), datetime(2026, 1, 1, tzinfo=UTC)
    for n in range(800):
        S.add(service, f"in_{n}", t0 + timedelta(days=n), "day", 1)
    assert len(service.spans) <= S.MAX_SPANS + 1 and len(service.model_dump_json()) < 10_000
    assert S.elapsed(service, t0 + timedelta(days=800)) == timedelta(days=800)
