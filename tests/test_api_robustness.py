"""Bad input gets a 4xx, never a 500: hostile JSON after a valid signature, out-of-range queries and
timestamps, through the app over HTTP (journeys replaced by a recorder, so nothing may reach one)."""

from __future__ import annotations

import json

import pytest

from starter.ingress import generic_billing
from tests.api_kit import AUTH, BILLING_SECRET, recording_app, sendgrid_headers, stripe_headers

DEEP = b"[" * 50_000 + b"]" * 50_000
LONG_INTEGER = b'{"id": ' + b"9" * 5_000 + b"}"
NOT_A_NUMBER = b'{"id": NaN}'


@pytest.fixture
async def app(program, tmp_path):
    async with recording_app(program, tmp_path) as http:
        yield http


def signed(route: str, body: bytes) -> dict[str, str]:
    if route == "/webhooks/stripe":
        return stripe_headers(body)
    if route == "/webhooks/billing":
        return {"Tenure-Signature": generic_billing.sign(body, BILLING_SECRET), "Content-Type": "application/json"}
    if route == "/webhooks/sendgrid":
        return sendgrid_headers(body)
    return {**AUTH, "Content-Type": "application/json"}


@pytest.mark.parametrize("route", ["/events", "/webhooks/stripe", "/webhooks/billing", "/webhooks/sendgrid"])
@pytest.mark.parametrize(
    "body, words",
    [(DEEP, "nested deeper than 64 levels"), (LONG_INTEGER, "more than 4,300 digits"), (NOT_A_NUMBER, "NaN")],
    ids=["deep", "long-integer", "nan"],
)
async def test_hostile_json_is_a_400(app, route, body, words):
    r = await app.post(route, content=body, headers=signed(route, body))
    assert r.status_code == 400 and words in r.json()["error"], r.text
    assert app.rec.sent == []


async def test_json_just_deep_enough_is_read(app):
    body = json.dumps({"event_id": "d1", "customer_id": "cus_D", "kind": "login", "x": [[[[1]]]]}).encode()
    r = await app.post("/events", content=body, headers=signed("/events", body))
    assert r.status_code == 422 and "x" in r.json()["error"], "read, then refused for its unknown field"
    nested = b'{"events": ' + b"[" * 64 + b"]" * 64 + b"}"
    r = await app.post("/events", content=nested, headers=signed("/events", nested))
    assert r.status_code == 400, "65 levels"


async def test_hostile_redemption_bodies(app):
    headers = {**AUTH, "Idempotency-Key": "k1", "Content-Type": "application/json"}
    for body in (DEEP, LONG_INTEGER):
        r = await app.post("/members/cus_R/redemptions", content=body, headers=headers)
        assert r.status_code in (400, 422), r.text


@pytest.mark.parametrize("offset", [2**63, 10**30])
async def test_ledger_offset_past_any_database(app, offset):
    for customer in ("cus_known", "cus_nobody"):
        r = await app.get(f"/members/{customer}/ledger", params={"offset": offset}, headers=AUTH)
        assert r.status_code == 422 and "query.offset" in r.json()["error"], r.text


async def test_ledger_offset_at_the_last_addressable_entry(app):
    app.rec.journeys.add("cus_known")
    r = await app.get("/members/cus_known/ledger", params={"offset": 2**63 - 1}, headers=AUTH)
    assert r.status_code == 200 and r.json()["entries"] == [], r.text


async def test_sendgrid_timestamps_out_of_range(app):
    app.rec.journeys.add("cus_S")
    body = json.dumps([{"event": "bounce", "customer_id": "cus_S", "timestamp": 10**20, "sg_event_id": "x"}]).encode()
    r = await app.post("/webhooks/sendgrid", content=body, headers=sendgrid_headers(body))
    assert r.status_code == 422 and "timestamp" in r.json()["error"], r.text
    ok = json.dumps([{"event": "bounce", "customer_id": "cus_S", "sg_event_id": "y"}]).encode()
    r = await app.post("/webhooks/sendgrid", content=ok, headers=sendgrid_headers(ok, timestamp=str(10**20)))
    assert r.status_code == 401, r.text
    assert app.rec.sent == []


@pytest.mark.parametrize(
    "route, header",
    [
        ("/webhooks/stripe", "Stripe-Signature"),
        ("/webhooks/billing", "Tenure-Signature"),
        ("/webhooks/sendgrid", "X-Twilio-Email-Event-Webhook-Signature"),
        ("/events", "X-API-Key"),
    ],
)
async def test_a_credential_header_with_non_ascii_bytes_is_refused_not_a_500(app, route, header):
    """HTTP headers are bytes (read as latin-1): an `é` in a signature must be a 401, not a comparison's TypeError."""
    body = b'{"id": "evt_N"}'
    headers = {**signed(route, body), header: "t=1,v1=\xe9".encode("latin-1")}  # type: ignore[dict-item] - raw bytes on purpose
    r = await app.post(route, content=body, headers=headers)
    assert r.status_code == 401 and r.json()["error"], r.text
    assert app.rec.sent == []
