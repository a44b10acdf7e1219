"""Lot arithmetic (domain/lots.py): examples, then hypothesis properties.

The properties: the balance is always the sum of live lots; spending never touches a newer lot
while an older one still has points; nothing expires early or late; consume never takes more
than asked nor drives a lot below zero.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from domain import lots as L

T0 = datetime(2026, 1, 1, tzinfo=UTC)
PROPS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def lot(n: int, points: int, day: float = 0, validity: float = 365, remaining: int | None = None) -> L.Lot:
    at = T0 + timedelta(days=day)
    return L.Lot(
        lot_id=f"lot{n:03d}",
        source="test",
        earned_at=at,
        expires_at=at + timedelta(days=validity),
        points=points,
        remaining=points if remaining is None else remaining,
    )


# ---- examples ----------------------------------------------------------------------------------


def test_consume_takes_oldest_first():
    lots = [lot(2, 50, day=10), lot(1, 100, day=0), lot(3, 70, day=20)]
    taken = L.consume(lots, 120)
    assert taken == [("lot001", 100), ("lot002", 20)]
    assert {x.lot_id: x.remaining for x in lots} == {"lot001": 0, "lot002": 30, "lot003": 70}
    assert L.balance(lots) == 100


def test_consume_prefers_the_named_lot_then_oldest():
    lots = [lot(1, 100, day=0), lot(2, 50, day=10), lot(3, 70, day=20)]
    assert L.consume(lots, 90, prefer="lot003") == [("lot003", 70), ("lot001", 20)]


def test_consume_more_than_balance_takes_everything_and_no_more():
    lots = [lot(1, 10), lot(2, 5, day=1)]
    assert L.consume(lots, 100) == [("lot001", 10), ("lot002", 5)]
    assert L.balance(lots) == 0 and all(x.remaining == 0 for x in lots)


def test_consume_zero_takes_nothing_and_negative_is_refused():
    lots = [lot(1, 10)]
    assert L.consume(lots, 0) == []
    with pytest.raises(ValueError, match="negative"):
        L.consume(lots, -1)
    assert lots[0].remaining == 10


def test_same_instant_lots_are_ordered_by_id():
    lots = [lot(2, 10), lot(1, 10)]
    assert L.consume(lots, 15) == [("lot001", 10), ("lot002", 5)]


def test_expiry_is_exactly_at_expires_at():
    lots = [lot(1, 100, day=0), lot(2, 40, day=1)]
    deadline = lots[0].expires_at
    assert L.expire_due(lots, deadline - timedelta(microseconds=1)) == []
    assert L.expire_due(lots, deadline) == [("lot001", 100)]
    assert L.expire_due(lots, deadline) == [], "an expired lot is not expired twice"
    assert L.balance(lots) == 40


def test_expire_skips_empty_lots_and_prune_drops_them():
    lots = [lot(1, 100, remaining=0), lot(2, 40, day=1)]
    assert L.expire_due(lots, T0 + timedelta(days=400)) == [("lot002", 40)]
    assert L.prune(lots) == []
    assert L.prune([lot(3, 5)])[0].lot_id == "lot003"


# ---- properties --------------------------------------------------------------------------------


@st.composite
def lot_lists(draw, max_lots: int = 12) -> list[L.Lot]:
    n = draw(st.integers(0, max_lots))
    out = []
    for i in range(n):
        points = draw(st.integers(0, 500))
        remaining = draw(st.integers(0, points))
        day = draw(st.integers(0, 60))  # often several lots on the same day
        validity = draw(st.sampled_from([30, 365, 365, 365, 400]))
        out.append(lot(i, points, day=day, validity=validity, remaining=remaining))
    return draw(st.permutations(out))


def live_sum(lots: list[L.Lot]) -> int:
    return sum(x.remaining for x in lots if x.remaining > 0)


@PROPS
@given(lot_lists(), st.integers(0, 3000))
def test_consume_properties(lots, ask):
    before = {x.lot_id: x.remaining for x in lots}
    taken = L.consume(lots, ask)
    got = sum(t for _, t in taken)
    assert got == min(ask, sum(before.values())), "takes what was asked, or everything when the lots run dry"
    assert got <= ask
    assert all(t > 0 for _, t in taken), "no empty takes recorded"
    assert len({lid for lid, _ in taken}) == len(taken), "each lot at most once"
    for x in lots:
        assert 0 <= x.remaining <= before[x.lot_id], "never negative, never grows"
        assert before[x.lot_id] - x.remaining == dict(taken).get(x.lot_id, 0), "what is reported is what was taken"
    assert L.balance(lots) == live_sum(lots) == sum(before.values()) - got


@PROPS
@given(lot_lists(), st.integers(0, 3000))
def test_consume_never_touches_a_newer_lot_before_an_older_one_is_empty(lots, ask):
    before = {x.lot_id: x.remaining for x in lots}
    L.consume(lots, ask)
    for newer in lots:
        if newer.remaining == before[newer.lot_id]:
            continue  # untouched
        for older in lots:
            if L.order_key(older) < L.order_key(newer):
                assert older.remaining == 0, f"{newer.lot_id} was spent while the older {older.lot_id} had points"


@PROPS
@given(lot_lists(), st.integers(0, 3000), st.data())
def test_consume_with_prefer_empties_the_preferred_lot_first_then_oldest(lots, ask, data):
    assume(lots)
    prefer = data.draw(st.sampled_from([x.lot_id for x in lots]))
    before = {x.lot_id: x.remaining for x in lots}
    taken = L.consume(lots, ask, prefer=prefer)
    if taken and before[prefer] > 0:
        assert taken[0][0] == prefer
    others = [x for x in lots if x.lot_id != prefer]
    if any(x.remaining != before[x.lot_id] for x in others):
        assert next(x for x in lots if x.lot_id == prefer).remaining == 0
    for newer in others:
        if newer.remaining != before[newer.lot_id]:
            assert all(o.remaining == 0 for o in others if L.order_key(o) < L.order_key(newer))
    assert sum(t for _, t in taken) == min(ask, sum(before.values()))


@PROPS
@given(lot_lists(), st.integers(-5, 500), st.integers(0, 86400))
def test_nothing_expires_early_or_late(lots, day, seconds):
    now = T0 + timedelta(days=day, seconds=seconds)
    before = {x.lot_id: x.remaining for x in lots}
    lost = dict(L.expire_due(lots, now))
    for x in lots:
        if x.expires_at > now:
            assert x.lot_id not in lost and x.remaining == before[x.lot_id], f"{x.lot_id} expired early"
        else:
            assert x.remaining == 0, f"{x.lot_id} is past its expiry at {now} and still has points"
            assert lost.get(x.lot_id, 0) == before[x.lot_id]
    assert all(v > 0 for v in lost.values())
    assert L.balance(lots) == sum(before.values()) - sum(lost.values())


@PROPS
@given(lot_lists(), st.lists(st.tuples(st.sampled_from(["spend", "wait"]), st.integers(0, 400)), max_size=20))
def test_balance_is_the_sum_of_live_lots_through_spending_and_expiry(lots, steps):
    now = T0
    total = sum(x.remaining for x in lots)
    for action, n in steps:
        if action == "spend":
            total -= sum(t for _, t in L.consume(lots, n))
        else:
            now += timedelta(days=n)
            total -= sum(t for _, t in L.expire_due(lots, now))
        lots = L.prune(lots)
        assert all(x.remaining > 0 for x in lots)
        assert all(x.expires_at > now for x in lots), "no lot past its expiry survives expire_due"
        assert L.balance(lots) == live_sum(lots) == total >= 0
