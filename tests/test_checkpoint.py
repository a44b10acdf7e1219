"""domain/checkpoint.py: an account put back after a change made anywhere in it equals the account before,
field for field; frozen parts are shared, not copied; a field the plan cannot classify is refused."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from domain.account import Account
from domain.checkpoint import Checkpoint
from domain.effects import Effects
from domain.event_handlers import apply_event
from domain.messages import (
    ActivityReported,
    EmailSuppressed,
    PaymentFailed,
    PaymentSucceeded,
    RedeemRequest,
    RefundIssued,
    SignedUp,
    SubscriptionCancelled,
)
from domain.rules import AccountRules
from tests.test_domain_account import PROGRAM, T0

EVENTS = [
    SignedUp(event_id="su", email="a@example.com", name="A", referral_code="TX"),
    PaymentSucceeded(event_id="p1", invoice_id="in_1", amount_minor=49000, currency="USD", cadence="annual"),
    PaymentSucceeded(event_id="p2", invoice_id="in_2", amount_minor=4900, currency="USD"),
    RefundIssued(event_id="r1", invoice_id="in_1", amount_minor=20000, currency="USD"),
    ActivityReported(event_id="a1", kind="feature_used"),
    ActivityReported(event_id="a2", kind="profile_completed"),
    PaymentFailed(event_id="f1", invoice_id="in_3"),
    SubscriptionCancelled(event_id="c1", reason="too_expensive"),
    EmailSuppressed(event_id="e1", reason="unsubscribe"),
]


def lived_in(steps: list[tuple[int, int]]) -> tuple[Account, AccountRules]:
    """An account with some history: the given (event, days later) steps applied in order."""
    a = Account.open("cus_ck", PROGRAM, T0)
    r = AccountRules(a, lifecycle=True)
    now = T0
    for index, wait in steps:
        now += timedelta(days=wait)
        r.advance(Effects(), now)
        apply_event(r, Effects(), now, EVENTS[index])
    return a, r


STEPS = st.lists(st.tuples(st.integers(0, len(EVENTS) - 1), st.sampled_from([0, 1, 10, 100, 400])), max_size=8)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(before=STEPS, during=STEPS)
def test_restore_undoes_any_change(before, during):
    a, r = lived_in(before)
    dumped = a.model_dump_json()
    saved = Checkpoint(a)
    now = T0 + timedelta(days=1000)
    for index, wait in during:  # events, expiries, a redemption: anything the rules change in place
        now += timedelta(days=wait)
        r.advance(Effects(), now)
        apply_event(r, Effects(), now, EVENTS[index])
    if a.status == "active" and a.balance >= 100:
        r.redeem(Effects(), now, RedeemRequest(request_id="x", points=100))
    saved.restore()
    assert a.model_dump_json() == dumped


def test_frozen_parts_are_shared_not_copied():
    a, _ = lived_in([(1, 0), (2, 30), (4, 1)])
    lots, timeline = list(a.lots), list(a.timeline)
    saved = Checkpoint(a)
    a.lots.clear()
    a.timeline = []
    saved.restore()
    assert all(x is y for x, y in zip(a.lots, lots, strict=True))
    assert all(x is y for x, y in zip(a.timeline, timeline, strict=True))


def test_an_unplanned_field_type_is_refused():
    class Loose(BaseModel):
        anything: dict

    with pytest.raises(TypeError, match=r"cannot checkpoint Loose.anything"):
        Checkpoint(Loose(anything={}))
