"""The erasure inside a journey (domain/erasure.py), without a server: what is scrubbed, what stays,
what an erased account refuses and what reopens it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from domain.account import Account
from domain.effects import Effects
from domain.erasure import ErasureRequest, erase, refuse, refused, reopen
from domain.intake import adopt_memory, receive
from domain.messages import (
    AdjustRequest,
    PaymentFailed,
    PaymentSucceeded,
    ProfileUpdated,
    SignedUp,
    SubscriptionCancelled,
)
from domain.program import parse_program
from domain.rules import AccountRules

PROGRAM = parse_program((Path(__file__).resolve().parent.parent / "program.toml").read_text())
EMAIL, NAME = "olwen.pryce@example.com", "Olwen Pryce"
T0 = datetime(2026, 3, 2, 12, tzinfo=UTC)


def journey() -> tuple[AccountRules, Effects]:
    account = Account.open("cus_er", PROGRAM, T0)
    adopt_memory(account, T0)
    rules = AccountRules(account, lifecycle=True, version=3)
    outbox = Effects()
    receive(rules, outbox, T0, SignedUp(event_id="su", email=EMAIL, name=NAME, timezone="Europe/Paris"))
    receive(rules, outbox, T0, PaymentSucceeded(event_id="p1", invoice_id="in_1", amount_minor=4900, currency="USD"))
    rules.adjust(
        outbox, T0, AdjustRequest(request_id="a1", points=25, reason=f"goodwill for {NAME}", actor="support:m")
    )
    later = T0 + timedelta(days=3)
    receive(rules, outbox, later, SubscriptionCancelled(event_id="c1", reason="other", comment=f"I am {NAME}, bye"))
    return rules, outbox


def test_erasure_scrubs_the_account_and_the_outbox_and_keeps_the_books():
    rules, outbox = journey()
    a = rules.a
    assert outbox.emails and any(e.to_email == EMAIL for e in outbox.emails), "the journey composed emails"
    assert NAME in a.model_dump_json() and EMAIL in a.model_dump_json()
    before = (
        a.balance,
        a.seq,
        [(e.seq, e.points) for e in a.recent_entries],
        [(e.seq, e.points) for e in outbox.entries],
    )

    at = T0 + timedelta(days=4)
    done = erase(rules, outbox, at, ErasureRequest(request_id="er-1", actor="api:admin", reason="ticket 42"))

    state = a.model_dump_json() + outbox.model_dump_json()
    for secret in (EMAIL, NAME, "Olwen", "Pryce", "bye"):
        assert secret not in state, secret
    assert (a.email, a.name, a.timezone) == (None, None, "UTC")
    assert outbox.emails == [] and a.lifecycle.comms.deferred == []
    after = (
        a.balance,
        a.seq,
        [(e.seq, e.points) for e in a.recent_entries],
        [(e.seq, e.points) for e in outbox.entries],
    )
    assert after == before, "amounts, points and seqs stay"
    assert done == a.erasure and (done.actor, done.request_id, done.at) == ("api:admin", "er-1", at)
    assert a.timeline[-1].text == "personal data erased by api:admin: ticket 42"


def test_an_erased_account_refuses_events_but_a_new_sign_up():
    rules, outbox = journey()
    erase(rules, Effects(), T0, ErasureRequest(request_id="er-1", actor="api:admin"))
    payment = PaymentSucceeded(event_id="p2", invoice_id="in_2", amount_minor=4900, currency="USD")
    assert refused(rules.a, payment)
    # an invoice's address would serve a journey that has none (rules version 3): not an erased one
    failed = PaymentFailed(event_id="f2", invoice_id="in_2", customer_email=EMAIL)
    assert refused(rules.a, failed) and refused(rules.a, ProfileUpdated(event_id="pu", email=EMAIL))
    fx = Effects()
    balance = rules.a.balance
    refuse(rules, fx, T0, payment)
    assert rules.a.balance == balance
    [record] = fx.quarantine
    assert (record.ref, record.type, record.payload) == ("p2", "payment_succeeded", "")
    assert "erased" in record.reason and "signed_up" in record.reason

    again = SignedUp(event_id="su-2", email="new@example.com", name="New")
    assert not refused(rules.a, again)
    assert receive(rules, fx, T0, again) == "applied"
    reopen(rules, T0)
    assert rules.a.erasure is None and rules.a.email == "new@example.com"
    assert not refused(rules.a, payment)


def test_the_country_and_a_minimum_tiers_reason_are_erased_too():
    """Support's reason for a minimum tier is kept in the tier (`minimum.reason`, `because`), not only in
    the timeline; the country is contact data like the time zone."""
    rules, outbox = journey()
    a = rules.a
    a.country = "FR"
    until = T0 + timedelta(days=60)
    rules.set_minimum_tier(outbox, T0, "gold", f"{NAME} is a key account ({EMAIL})", "support:m", until)
    assert NAME in (a.tier.minimum.reason if a.tier.minimum else "") and NAME in a.tier.because
    erase(rules, outbox, T0, ErasureRequest(request_id="er-1", actor="api:admin"))
    assert a.country is None
    assert a.tier.minimum is not None and (a.tier.minimum.tier, a.tier.minimum.until) == ("gold", until)
    state = a.model_dump_json()
    assert NAME not in state and EMAIL not in state, (a.tier.minimum.reason, a.tier.because)


def test_the_time_zone_a_note_names_is_erased_with_the_zone():
    """A deferred email's note says "quiet hours in Europe/London": the zone, cleared from the contact
    details, stayed in the timeline after an erasure."""
    rules, outbox = journey()
    a = rules.a
    a.timezone = "Europe/London"
    rules.note(T0, "email", "welcome deferred: quiet hours in Europe/London")
    erase(rules, outbox, T0, ErasureRequest(request_id="er-1", actor="api:admin"))
    assert a.timezone == "UTC" and "Europe/London" not in a.model_dump_json()
    assert any(item.text == "welcome deferred: quiet hours in [erased]" for item in a.timeline), a.timeline
