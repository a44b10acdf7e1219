"""What reaches a journey from Stripe invoices of older API versions and from the generic format, signed and
sent through the API (a recorder in place of Temporal): the service period, prorations, the invoice's address."""

from __future__ import annotations

import json

import pytest

from starter.ingress import generic_billing
from tests.api_kit import BILLING_SECRET, invoice_paid_event, recording_app, stripe_body, stripe_headers


@pytest.fixture
async def fake(program, tmp_path):
    async with recording_app(program, tmp_path) as http:
        yield http


async def stripe(fake, event: dict):
    body = stripe_body(event)
    r = await fake.post("/webhooks/stripe", content=body, headers=stripe_headers(body))
    assert r.status_code == 200, r.text
    return r.json(), (fake.rec.sent[-1][1] if fake.rec.sent else None)


def older_version(event: dict, interval: str, count: int = 1, proration: bool = False) -> dict:
    """The invoice as an endpoint pinned before 2025-03-31.basil gets it: `line.price` expanded, with its
    `recurring` interval, `line.subscription` and `line.proration`, `invoice.subscription`."""
    event["api_version"] = "2024-06-20"
    inv = event["data"]["object"]
    line = inv["lines"]["data"][0]
    subscription = line["parent"]["subscription_item_details"]["subscription"]
    for key in ("parent", "pricing"):
        line.pop(key)
    inv.pop("parent")
    inv["subscription"] = subscription
    line.update(subscription=subscription, proration=proration, type="subscription")
    line["price"] = {
        "id": "price_old",
        "object": "price",
        "recurring": {"interval": interval, "interval_count": count, "usage_type": "licensed"},
        "type": "recurring",
        "unit_amount": line["amount"],
    }
    return event


async def test_an_older_api_versions_price_interval_is_the_service_bought(fake):
    answer, sent = await stripe(fake, older_version(invoice_paid_event("cus_old", 2400), "week", 2))
    assert answer["applied_as"] == "payment_succeeded"
    assert (sent.interval, sent.interval_count, sent.cadence, sent.proration) == ("week", 2, "monthly", False)
    _, sent = await stripe(fake, older_version(invoice_paid_event("cus_old", 14000), "month", 3))
    assert (sent.interval, sent.interval_count) == ("month", 3)


async def test_an_older_api_versions_proration_lines_are_a_proration(fake):
    """Remaining time on the new plan and unused time on the old one credited: a proration. Alone, the
    remaining time (a first period cut short to a billing anchor) is the days it covers."""
    event = older_version(invoice_paid_event("cus_old", 2000), "month", proration=True)
    inv = event["data"]["object"]
    inv["billing_reason"] = "subscription_update"
    _, sent = await stripe(fake, json.loads(json.dumps(event)))
    assert (sent.proration, sent.interval, sent.interval_count) == (False, "day", 30)
    charge = inv["lines"]["data"][0]
    inv["lines"]["data"] = [{**charge, "amount": 4000}, {**charge, "id": "il_credit", "amount": -2000}]
    inv["id"] = "in_upgrade"
    _, sent = await stripe(fake, event)
    assert sent.proration is True and sent.invoice_id == "in_upgrade"


async def test_an_odd_invoice_address_does_not_refuse_the_payment(fake):
    event = invoice_paid_event("cus_odd", 4900)
    event["data"]["object"]["customer_email"] = "not an address"
    answer, sent = await stripe(fake, event)
    assert answer["applied_as"] == "payment_succeeded" and sent.customer_email is None


async def test_the_generic_format_names_the_service_period(fake):
    event = {
        "id": "bill_evt_week",
        "type": "payment.succeeded",
        "customer_id": "acme-7",
        "invoice_id": "inv_w1",
        "amount_minor": 1200,
        "currency": "EUR",
        "cadence": "monthly",
        "interval": "week",
        "email": "ops@acme.example",
    }
    body = json.dumps(event).encode()
    headers = {"Tenure-Signature": generic_billing.sign(body, BILLING_SECRET), "Content-Type": "application/json"}
    r = await fake.post("/webhooks/billing", content=body, headers=headers)
    assert r.status_code in (200, 202), r.text
    sent = fake.rec.sent[-1][1]
    assert (sent.interval, sent.interval_count, sent.customer_email) == ("week", 1, "ops@acme.example")
    bad = {**event, "id": "bill_evt_bad", "interval_count": 0}
    body = json.dumps(bad).encode()
    headers = {"Tenure-Signature": generic_billing.sign(body, BILLING_SECRET), "Content-Type": "application/json"}
    r = await fake.post("/webhooks/billing", content=body, headers=headers)
    assert r.status_code == 422 and "interval_count" in r.text, r.text
