"""Every field is bounded and typed at the edge, through the app over HTTP (journeys replaced by a
recorder: a refused request sends nothing), and at the Python client's door (domain/messages.py).

The limits (README, "Answers and errors"): amounts are JSON integers from 0 to 999,999,999,999 minor
units; currencies ISO 4217 codes; times after 2000, at most a day ahead and within the 400-day
deduplication horizon; ids and texts bounded, without control characters.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from domain.messages import ActivityReported, PaymentSucceeded, SignedUp, SubscriptionCancelled
from starter.ingress import generic_billing
from tests.api_kit import (
    AUTH,
    BILLING_SECRET,
    customer_created,
    invoice_paid_event,
    recording_app,
    sendgrid_headers,
    stripe_body,
    stripe_headers,
)

LARGEST_AMOUNT = 999_999_999_999
HORIZON_DAYS = 400


@pytest.fixture
async def app(program, tmp_path):
    async with recording_app(program, tmp_path) as http:
        yield http


def iso(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).isoformat().replace("+00:00", "Z")


def payment(**fields) -> dict:
    return {
        "id": f"b-{time.monotonic_ns()}",
        "type": "payment.succeeded",
        "customer_id": "acme-1",
        "invoice_id": "inv-1",
        "amount_minor": 4900,
        "currency": "EUR",
        "cadence": "monthly",
        **fields,
    }


async def post_billing(http, event: dict):
    body = json.dumps(event).encode()
    headers = {"Tenure-Signature": generic_billing.sign(body, BILLING_SECRET), "Content-Type": "application/json"}
    return await http.post("/webhooks/billing", content=body, headers=headers)


async def post_stripe(http, event: dict):
    body = stripe_body(event)
    return await http.post("/webhooks/stripe", content=body, headers=stripe_headers(body))


def refused(r, field: str, words: str = "") -> bool:
    """A 422 naming `field` (and saying `words`)."""
    body = r.json()
    details = json.dumps(body.get("detail"))
    return r.status_code == 422 and field in body["error"] and words in details


# ---- amounts: strict integers within the ceiling -------------------------------------------------


@pytest.mark.parametrize("amount", [True, "4900", 4900.5, -1, LARGEST_AMOUNT + 1, 10**30, 1e300])
async def test_billing_amounts_are_integers_within_bounds(app, amount):
    r = await post_billing(app, payment(amount_minor=amount))
    assert refused(r, "amount_minor"), r.text
    assert app.rec.sent == []


async def test_the_largest_amount_and_zero_are_accepted(app):
    for amount in (0, LARGEST_AMOUNT):
        r = await post_billing(app, payment(amount_minor=amount))
        assert r.status_code == 200, r.text
    assert [e.amount_minor for _, e in app.rec.sent] == [0, LARGEST_AMOUNT]


@pytest.mark.parametrize("amount", [True, "4900", LARGEST_AMOUNT + 1])
async def test_stripe_amounts_are_integers_within_bounds(app, amount):
    """Stripe sends amounts as JSON integers (only its `*_decimal` fields are strings)."""
    event = invoice_paid_event("cus_B1")
    event["data"]["object"]["amount_paid"] = amount
    r = await post_stripe(app, event)
    assert refused(r, "data.object.amount_paid"), r.text
    assert app.rec.sent == []


async def test_involuntary_is_a_boolean(app):
    r = await post_billing(
        app, {"id": "c1", "type": "subscription.cancelled", "customer_id": "acme-1", "involuntary": "yes"}
    )
    assert refused(r, "involuntary"), r.text


# ---- currencies: ISO 4217 -------------------------------------------------------------------------


@pytest.mark.parametrize("currency", ["ABC", "XXX", "EURO", "E1R", "HRK"])
async def test_currencies_are_iso_4217_codes(app, currency):
    r = await post_billing(app, payment(currency=currency))
    assert refused(r, "currency"), r.text


async def test_currencies_in_any_case_become_capitals(app):
    assert (await post_billing(app, payment(currency="jpy"))).status_code == 200
    event = invoice_paid_event("cus_B2", currency="eur")
    assert (await post_stripe(app, event)).status_code == 200
    assert [e.currency for _, e in app.rec.sent] == ["JPY", "EUR"]
    bad = invoice_paid_event("cus_B2", currency="zzz")
    assert refused(await post_stripe(app, bad), "data.object.currency")


# ---- times: after 2000, at most a day ahead, within the deduplication horizon ---------------------


@pytest.mark.parametrize(
    "occurred_at, words",
    [
        ("1999-12-31T23:59:59Z", "2000"),
        (iso(timedelta(days=2)), "ahead"),
        (iso(-timedelta(days=HORIZON_DAYS + 1)), "deduplicat"),
        ("2026-01-31T12:00:00", "timezone"),  # no zone: hours off, refused rather than guessed
        (1767225600, "ISO 8601"),  # unix seconds are not the documented format
    ],
)
async def test_occurred_at_is_sane(app, occurred_at, words):
    r = await post_billing(app, payment(occurred_at=occurred_at))
    assert refused(r, "occurred_at", words), r.text
    event = {"event_id": "t1", "customer_id": "cus_T", "kind": "login", "occurred_at": occurred_at}
    r = await app.post("/events", json=event, headers=AUTH)
    assert refused(r, "occurred_at", words), r.text
    assert app.rec.sent == []


async def test_the_horizon_refusal_says_why(app):
    r = await post_billing(app, payment(occurred_at=iso(-timedelta(days=HORIZON_DAYS + 1))))
    message = r.json()["detail"][0]["message"]
    assert "older than 400 days" in message and "cannot be deduplicated" in message, message


async def test_recent_times_are_accepted(app):
    for delta in (-timedelta(days=HORIZON_DAYS - 1), timedelta(hours=23), timedelta(0)):
        assert (await post_billing(app, payment(occurred_at=iso(delta)))).status_code == 200
    assert len(app.rec.sent) == 3


@pytest.mark.parametrize("created", [946684799, int(time.time()) + 2 * 86400, int(time.time()) - 401 * 86400])
async def test_stripe_created_is_sane(app, created):
    event = invoice_paid_event("cus_B3")
    event["created"] = created
    assert refused(await post_stripe(app, event), "created"), "the event's own time"


async def test_sendgrid_timestamp_is_sane(app):
    app.rec.journeys.add("cus_S1")
    old = int(time.time()) - (HORIZON_DAYS + 1) * 86400
    for timestamp in (old, 10**20, "1700000000"):
        body = json.dumps([{"event": "bounce", "customer_id": "cus_S1", "timestamp": timestamp}]).encode()
        r = await app.post("/webhooks/sendgrid", content=body, headers=sendgrid_headers(body))
        assert refused(r, "[0].timestamp"), r.text
    assert app.rec.sent == []


# ---- ids and texts: bounded, no control characters ------------------------------------------------


@pytest.mark.parametrize(
    "field, value",
    [
        ("event_id", "e\x00"),
        ("event_id", "e\nforged"),
        ("event_id", "e" * 201),
        ("detail", "a\x00b"),
        ("detail", "d" * 501),
    ],
)
async def test_activity_ids_and_texts(app, field, value):
    event = {"event_id": "a1", "customer_id": "cus_C", "kind": "login", field: value}
    r = await app.post("/events", json=event, headers=AUTH)
    assert refused(r, field), r.text
    assert app.rec.sent == []


async def test_control_characters_are_named(app):
    r = await app.post("/events", json={"event_id": "e\x00", "customer_id": "cus_C", "kind": "login"}, headers=AUTH)
    assert r.json()["detail"][0]["message"].startswith("must not contain control characters"), r.text


async def test_billing_texts(app):
    base = {"id": "u1", "type": "customer.created", "customer_id": "acme-1"}
    for field, value in [
        ("name", "Ada\x00"),
        ("email", "not an address"),
        ("email", "a@" + "x" * 400),
        ("timezone", "../../etc/passwd"),
        ("referral_code", "R\n1"),
    ]:
        assert refused(await post_billing(app, {**base, field: value}), field), (field, value)
    comment = {"id": "c2", "type": "subscription.cancelled", "customer_id": "acme-1", "comment": "too dear\nsorry"}
    assert (await post_billing(app, comment)).status_code == 200, "a comment may span lines"
    assert refused(await post_billing(app, {**comment, "comment": "nul\x00"}), "comment")


async def test_stripe_texts(app):
    named = customer_created("cus_D", "ada@example.com", "Ada\x00Lovelace")
    assert refused(await post_stripe(app, named), "data.object.name")
    coded = customer_created("cus_D", "ada@example.com", "Ada", referral_code="FRIEND\n7")
    assert refused(await post_stripe(app, coded), "data.object.metadata.referral_code")
    expanded = invoice_paid_event("cus_D")
    expanded["data"]["object"]["customer"] = {"id": 42, "object": "customer"}
    assert refused(await post_stripe(app, expanded), "data.object.customer")
    assert app.rec.sent == []


# ---- the Python client's door -------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        {"amount_minor": True},
        {"amount_minor": "4900"},
        {"amount_minor": LARGEST_AMOUNT + 1},
        {"currency": "usd"},
        {"invoice_id": "in\x00"},
        {"event_id": "x" * 201},
        {"occurred_at": datetime(1999, 1, 1, tzinfo=UTC)},
    ],
)
def test_the_client_door_refuses_what_the_edge_refuses(fields):
    good = {"event_id": "e1", "invoice_id": "in_1", "amount_minor": 4900, "currency": "USD"}
    PaymentSucceeded(**good)
    with pytest.raises(ValidationError):
        PaymentSucceeded(**{**good, **fields})


def test_the_client_door_on_texts():
    with pytest.raises(ValidationError):
        ActivityReported(event_id="e", kind="login", detail="a\x00")
    with pytest.raises(ValidationError):
        SignedUp(event_id="e", email="a\nb@example.com")
    with pytest.raises(ValidationError):
        SubscriptionCancelled(event_id="e", involuntary="yes")
    assert SubscriptionCancelled(event_id="e", comment="line one\nline two").comment
