"""The deduplication memory (domain/deduplication.py), the hand-over from an older run (`adopt_memory`),
and the rules of intake that need no server: the horizon, business keys, answers no longer kept."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from domain.account import Account
from domain.deduplication import DIGEST_CHARS, KeptKeys, RecentIds, digest
from domain.effects import Effects
from domain.intake import adopt_memory, business_key, receive
from domain.journey import DEDUPLICATION_HORIZON_DAYS
from domain.messages import ActivityReported, AdjustRequest, EmailSuppressed, PlanChanged, RedeemRequest, RefundIssued
from domain.refusals import Refused
from domain.requests import ANSWERS_KEPT
from domain.rules import AccountRules
from tests.test_domain_account import PROGRAM, T0, pay

H = DEDUPLICATION_HORIZON_DAYS


def v2(account: Account | None = None) -> tuple[Account, AccountRules, Effects]:
    a = account or Account.open("cus_d", PROGRAM, T0)
    adopt_memory(a, T0)
    return a, AccountRules(a, version=2), Effects()


def test_digests_are_twelve_characters_and_append_as_text():
    assert len(digest("evt_1")) == DIGEST_CHARS == 12 and digest("evt_1") != digest("evt_2")
    keys = KeptKeys()
    for n in range(5):
        keys.add(f"invoice:in_{n}")
    keys.add("invoice:in_0")  # already there
    assert len(keys) == 5 and len(keys.digests) == 60
    fresh = KeptKeys.model_validate_json(keys.model_dump_json())  # as after continue-as-new
    assert fresh.has("invoice:in_3") and not fresh.has("invoice:in_9")


def test_recent_ids_are_forgotten_a_day_past_the_horizon():
    recent = RecentIds()
    recent.remember("old", T0, H)
    recent.remember("new", T0 + timedelta(days=H), H)
    assert recent.seen("old") and recent.seen("new")
    recent.remember("newer", T0 + timedelta(days=H + 1), H)
    assert recent.seen("old"), "kept: at most the horizon and one day"
    recent.remember("newest", T0 + timedelta(days=H + 2), H)
    assert not recent.seen("old") and recent.seen("new") and len(recent) == 3


def test_a_fact_older_than_the_horizon_is_rejected_and_recorded():
    a, r, fx = v2()
    now = T0 + timedelta(days=H + 10)
    old = ActivityReported(event_id="evt_old", kind="survey_answered", occurred_at=now - timedelta(days=H + 1))
    assert receive(r, fx, now, old) == "rejected"
    assert a.balance == 0 and a.rejected_total == 1 and "older than the deduplication horizon" in a.rejections[0].reason
    (record,) = fx.quarantine
    assert record.ref == "evt_old" and json.loads(record.payload)["kind"] == "survey_answered"
    recent = old.model_copy(update={"occurred_at": now - timedelta(days=H - 1)})
    assert receive(r, fx, now, recent) == "applied" and a.balance == 50


def test_business_keys():
    assert business_key(pay(1)) == "invoice:in_1"
    assert business_key(RefundIssued(event_id="re_1", invoice_id="in_1", amount_minor=1, currency="USD")) == (
        "refund:re_1"
    )
    assert business_key(EmailSuppressed(event_id="sendgrid:abc", reason="bounce")) == "event:sendgrid:abc"
    assert business_key(ActivityReported(event_id="evt_1", kind="login")) is None


def test_a_refund_sent_again_under_its_id_after_the_horizon_takes_nothing_twice():
    a, r, fx = v2()
    assert receive(r, fx, T0, pay(1, amount=4900)) == "applied"
    partial = RefundIssued(event_id="re_1", invoice_id="in_1", amount_minor=2450, currency="USD")
    assert receive(r, fx, T0, partial) == "applied" and a.balance == 50
    later = T0 + timedelta(days=H + 5)
    r.advance(fx, later)
    assert receive(r, fx, later, partial) == "duplicate"
    assert sum(e.kind == "refund_reversal" for e in fx.entries) == 1


def test_an_older_run_hands_its_memory_over():
    """A version 1 account at continue-as-new: its ids, invoices and answers are kept by version 2."""
    a = Account.open("cus_old", PROGRAM, T0)
    r1 = AccountRules(a, version=1)
    fx = Effects()
    for ev in (pay(1), ActivityReported(event_id="evt_a", kind="survey_answered")):
        r1.remember(ev.event_id)
        r1.on_payment(fx, T0, ev) if ev.type == "payment_succeeded" else r1.on_activity(fx, T0, ev)
    r1.remember("sendgrid:s1")
    a.seen_events.append("sendgrid:s1")
    r1.redeem(fx, T0, RedeemRequest(request_id="order-1", points=100))
    a = Account.model_validate_json(a.model_dump_json())
    a, r, fx = v2(a)
    assert a.seen_events == [] and a.dedup is not None
    later = T0 + timedelta(days=H + 30)
    r.advance(fx, later)
    assert receive(r, fx, T0, ActivityReported(event_id="evt_a", kind="survey_answered")) == "duplicate"
    assert receive(r, fx, later, pay(1).model_copy(update={"event_id": "evt_other"})) == "duplicate"
    assert receive(r, fx, later, EmailSuppressed(event_id="sendgrid:s1", reason="bounce")) == "duplicate"
    assert r.spent("redeem:order-1")


def test_a_request_id_past_the_kept_answers_is_refused():
    a, r, fx = v2()
    a.lots = []
    r.earn(fx, T0, 100 * (ANSWERS_KEPT + 1), "grant", origin="grant")
    for n in range(ANSWERS_KEPT + 1):
        r.redeem(fx, T0, RedeemRequest(request_id=f"order-{n}", points=100))
        r.adjust(fx, T0, AdjustRequest(request_id=f"adj-{n}", points=1, reason="why not", actor="s"))
    assert "order-0" not in a.redemptions and "adj-0" not in a.adjustments
    for check in (
        lambda: r.check_redeem(RedeemRequest(request_id="order-0", points=100)),
        lambda: r.check_adjust(AdjustRequest(request_id="adj-0", points=1, reason="why not", actor="s")),
    ):
        with pytest.raises(Refused) as refused:
            check()
        assert refused.value.code == "answer_expired"
    r.check_redeem(RedeemRequest(request_id=f"order-{ANSWERS_KEPT}", points=100))  # still kept: answered again


def test_version_1_rules_keep_no_keys():
    a = Account.open("cus_v1", PROGRAM, T0)
    r = AccountRules(a, version=1)
    r.spend("redeem:x")
    assert a.dedup is None and not r.spent("redeem:x")
    with pytest.raises(ValueError, match="deduplication memory"):
        AccountRules(a, version=2)


def test_state_bytes_per_customer_year():
    """The memory's size in the journey's state (JSON, as continue-as-new carries it), for the README."""
    a, r, fx = v2()
    now = T0
    for day in range(365):
        for n in range(5):  # an active member: five facts with ids a day
            receive(r, fx, now, PlanChanged(event_id=f"evt_{day}_{n}", plan="pro"))
        now += timedelta(days=1)
    for month in range(12):
        receive(r, fx, now, pay(month))
    assert a.dedup is not None
    size = len(a.dedup.model_dump_json())
    assert len(a.dedup.recent) == 5 * 365 + 12 and len(a.dedup.keys) == 12
    assert size < (5 * 365 + 12) * 12 + 366 * 20 + 12 * 12 + 200, size
