"""The HTTP API without Temporal: translations, signatures, and every class of bad input.

Journeys are replaced by a recorder: a refused request must not send anything at all.
"""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest

from domain.messages import (
    ActivityReported,
    EmailSuppressed,
    PaymentFailed,
    PaymentSucceeded,
    PlanChanged,
    RefundIssued,
    SignedUp,
    SubscriptionCancelled,
)
from starter.api.errors import ApiError
from starter.client import JourneyUnavailable
from starter.ingress import Delivery, Ignored, generic_billing, sendgrid_events, stripe_events
from tests.api_kit import (
    AUTH,
    BILLING_SECRET,
    KEY,
    api_settings,
    app_client,
    charge_refunded,
    customer_created,
    invoice_paid_event,
    invoice_payment_failed,
    recording_app,
    sendgrid_headers,
    stripe_body,
    stripe_event,
    stripe_headers,
    subscription,
)


@pytest.fixture
async def fake(program, tmp_path):
    async with recording_app(program, tmp_path) as http:
        yield http


def _errors(r) -> dict:
    body = r.json()
    assert isinstance(body.get("error"), str) and body["error"], body
    return body


# --- Stripe translation --------------------------------------------------------------------


def test_invoice_paid_in_the_pinned_api_version():
    ev = invoice_paid_event("cus_A1", 4900, "usd", "month")
    assert ev["api_version"] == __import__("stripe").api_version
    inv = ev["data"]["object"]
    assert "subscription" not in inv and inv["parent"]["subscription_details"]["subscription"].startswith("sub_")
    assert "price" not in inv["lines"]["data"][0] and inv["lines"]["data"][0]["pricing"]["price_details"]["price"]
    d = stripe_events.translate(ev)
    assert d == Delivery(
        "cus_A1",
        PaymentSucceeded(
            event_id=ev["id"],
            occurred_at=d.event.occurred_at,
            invoice_id=inv["id"],
            amount_minor=4900,
            currency="USD",
            cadence="monthly",
            interval="month",  # the service period bought: the line's 30-day period is a calendar month
        ),
        "stripe:invoice.paid",
    )
    annual = stripe_events.translate(invoice_paid_event("cus_A1", 49000, "eur", "year"))
    assert annual.event.cadence == "annual" and annual.event.currency == "EUR"
    assert (annual.event.interval, annual.event.interval_count) == ("year", 1)


def test_sign_script_signs_as_stripe_does(capsys):
    import shlex

    import stripe

    from tests.api_kit import sign_script

    assert sign_script.main(["--customer", "cus_S1", "--secret", "whsec_x", "--url", "http://h/webhooks/stripe"]) == 0
    argv = shlex.split(capsys.readouterr().out)
    header = argv[argv.index("-H", argv.index("-H") + 1) + 1].removeprefix("Stripe-Signature: ")
    body = argv[argv.index("--data-binary") + 1]
    event = stripe.Webhook.construct_event(body, header, "whsec_x", tolerance=300)
    assert event.type == "invoice.paid" and event.data.object.customer == "cus_S1"
    assert stripe_events.translate(json.loads(body)).event.amount_minor == 4900


def test_invoice_paid_in_an_older_api_version():
    ev = invoice_paid_event("cus_A1", 49000, "usd", "month")
    inv = ev["data"]["object"]
    sub = inv.pop("parent")["subscription_details"]["subscription"]
    inv["subscription"] = sub
    line = inv["lines"]["data"][0]
    del line["parent"], line["pricing"]
    line.update(
        subscription=sub,
        proration=False,
        price={"id": "price_1", "recurring": {"interval": "year", "interval_count": 1}},
    )
    assert stripe_events.translate(ev).event.cadence == "annual"


def test_one_off_invoice_is_ignored():
    ev = invoice_paid_event("cus_A1")
    inv = ev["data"]["object"]
    inv["parent"] = None
    inv["lines"]["data"][0]["parent"] = {
        "type": "invoice_item_details",
        "invoice_item_details": {"invoice_item": "ii_1"},
    }
    assert isinstance(stripe_events.translate(ev), Ignored)
    trial = invoice_paid_event("cus_A1", 0)
    trial["data"]["object"]["billing_reason"] = "subscription_create"
    assert "free" in stripe_events.translate(trial).reason
    by_credit = invoice_paid_event("cus_A1", 4900)
    by_credit["data"]["object"]["amount_paid"] = 0  # paid from the customer's credit balance
    assert stripe_events.translate(by_credit).event.amount_minor == 0


def test_other_stripe_events():
    created = customer_created("cus_B", "b@example.com", "Bea", referral_code="FRIEND-7")
    d = stripe_events.translate(created)
    assert isinstance(d.event, SignedUp) and d.customer_id == "cus_B"
    assert (d.event.email, d.event.name, d.event.referral_code) == ("b@example.com", "Bea", "FRIEND-7")

    failed = stripe_events.translate(invoice_payment_failed("cus_B"))
    assert isinstance(failed.event, PaymentFailed) and failed.event.amount_minor == 4900

    upd = stripe_event(
        "customer.subscription.updated",
        subscription("cus_B", interval="year", lookup_key="pro_annual"),
        previous={"items": {"data": []}},
    )
    plan = stripe_events.translate(upd)
    assert plan.event == PlanChanged(
        event_id=upd["id"], occurred_at=plan.event.occurred_at, plan="pro_annual", cadence="annual"
    )
    quiet = stripe_event(
        "customer.subscription.updated", subscription("cus_B"), previous={"cancel_at_period_end": True}
    )
    assert isinstance(stripe_events.translate(quiet), Ignored)

    deleted = stripe_event(
        "customer.subscription.deleted",
        subscription(
            "cus_B",
            status="canceled",
            feedback="too_expensive",
            comment="cheaper elsewhere",
            reason="cancellation_requested",
        ),
    )
    c = stripe_events.translate(deleted).event
    assert isinstance(c, SubscriptionCancelled)
    assert (c.reason, c.comment, c.involuntary) == ("too_expensive", "cheaper elsewhere", False)
    dunned = stripe_event(
        "customer.subscription.deleted", subscription("cus_B", status="canceled", reason="payment_failed")
    )
    c = stripe_events.translate(dunned).event
    assert (c.reason, c.involuntary) == ("other", True)

    other = stripe_event("payment_method.attached", {"id": "pm_1", "object": "payment_method"})
    assert isinstance(stripe_events.translate(other), Ignored)


def test_charge_refunded_finds_its_invoice():
    by_meta = charge_refunded("cus_C", 4900, 4900, metadata={"invoice_id": "in_9"})
    r = stripe_events.translate(by_meta).event
    assert r == RefundIssued(
        event_id=by_meta["id"], occurred_at=r.occurred_at, invoice_id="in_9", amount_minor=4900, currency="USD"
    )

    second_partial = charge_refunded("cus_C", 4900, 3000, previously=1000, payment_intent="pi_7")
    asked = []
    r = stripe_events.translate(second_partial, lambda pi: asked.append(pi) or "in_7").event
    assert asked == ["pi_7"] and r.invoice_id == "in_7" and r.amount_minor == 2000, "only the new refund counts"

    not_invoice = charge_refunded("cus_C", 4900, 4900)
    assert isinstance(stripe_events.translate(not_invoice, lambda pi: None), Ignored)
    with pytest.raises(ApiError) as e:
        stripe_events.translate(not_invoice)  # no way to look it up: refused so Stripe retries later
    assert e.value.status == 422 and "which invoice" in e.value.error
    assert isinstance(stripe_events.translate(charge_refunded(None, 4900, 4900)), Ignored)


def test_bad_stripe_objects_name_the_field():
    neg = invoice_paid_event("cus_D")
    neg["data"]["object"]["amount_paid"] = -5
    with pytest.raises(ApiError) as e:
        stripe_events.translate(neg)
    assert e.value.status == 422 and e.value.detail[0]["field"] == "data.object.amount_paid"
    nocust = invoice_paid_event("cus_D")
    del nocust["data"]["object"]["customer"]
    with pytest.raises(ApiError) as e:
        stripe_events.translate(nocust)
    assert "data.object.customer" in e.value.error
    with pytest.raises(ApiError) as e:
        stripe_events.translate({"id": "evt_1", "object": "event", "type": "invoice.paid"})
    assert {x["field"] for x in e.value.detail} == {"created", "data"}


# --- generic billing -------------------------------------------------------------------------


def test_generic_format_translates_every_type():
    base = {"customer_id": "acme-1"}
    cases = [
        ({"type": "customer.created", "email": "a@x.io", "referral_code": "R1"}, SignedUp),
        ({"type": "customer.updated", "name": "A"}, object),
        (
            {
                "type": "payment.succeeded",
                "invoice_id": "i1",
                "amount_minor": 100,
                "currency": "eur",
                "cadence": "annual",
            },
            PaymentSucceeded,
        ),
        ({"type": "payment.failed", "invoice_id": "i1"}, PaymentFailed),
        ({"type": "subscription.plan_changed", "plan": "pro"}, PlanChanged),
        ({"type": "subscription.cancelled", "reason": "unused"}, SubscriptionCancelled),
        ({"type": "refund.issued", "invoice_id": "i1", "amount_minor": 50, "currency": "EUR"}, RefundIssued),
    ]
    for n, (fields, cls) in enumerate(cases):
        d = generic_billing.translate({"id": f"e{n}", **base, **fields})
        assert d.customer_id == "acme-1" and d.event.event_id == f"e{n}" and isinstance(d.event, cls)
    assert generic_billing.translate({"id": "p", **base, **cases[2][0]}).event.currency == "EUR"


@pytest.mark.parametrize(
    "body, status, words",
    [
        ({"id": "e", "customer_id": "c", "type": "payment.teleported"}, 422, "unknown event type"),
        (
            {
                "id": "e",
                "customer_id": "c",
                "type": "payment.succeeded",
                "invoice_id": "i",
                "amount_minor": -1,
                "currency": "EUR",
                "cadence": "monthly",
            },
            422,
            "amount_minor",
        ),
        (
            {
                "id": "e",
                "customer_id": "c",
                "type": "payment.succeeded",
                "invoice_id": "i",
                "amount_minor": "lots",
                "currency": "EUR",
                "cadence": "monthly",
            },
            422,
            "amount_minor",
        ),
        (
            {
                "id": "e",
                "customer_id": "c",
                "type": "payment.succeeded",
                "amount_minor": 1,
                "currency": "EUR",
                "cadence": "monthly",
            },
            422,
            "invoice_id",
        ),
        (
            {
                "id": "e",
                "customer_id": "c",
                "type": "refund.issued",
                "invoice_id": "i",
                "amount_minor": 5,
                "currency": "EUR",
                "amout": 3,
            },
            422,
            "amout",
        ),
        ({"id": "e", "customer_id": "bad id!", "type": "payment.failed", "invoice_id": "i"}, 422, "customer_id"),
    ],
)
def test_generic_format_refusals(body, status, words):
    with pytest.raises(ApiError) as e:
        generic_billing.translate(body)
    assert e.value.status == status and words in e.value.error, e.value.body()


def test_generic_signature():
    body = b'{"a": 1}'
    now = time.time()
    generic_billing.verify(body, generic_billing.sign(body, "s1"), ["s0", "s1"])  # rotation: any secret
    cases = [
        (None, "missing"),
        ("v1=abc", "malformed"),
        (generic_billing.sign(body, "other"), "does not match"),
        (generic_billing.sign(body + b" ", "s1"), "does not match"),
        (generic_billing.sign(body, "s1", int(now) - 301), "stale"),
        (generic_billing.sign(body, "s1", int(now) + 301), "stale"),
    ]
    for header, words in cases:
        with pytest.raises(ApiError) as e:
            generic_billing.verify(body, header, ["s1"], now=now)
        assert e.value.status == 401 and words in e.value.error


# --- SendGrid --------------------------------------------------------------------------------


def _sg(event: str, **kw) -> dict:
    return {
        "email": "ada@example.com",
        "timestamp": int(time.time()),
        "event": event,
        "sg_event_id": f"sg_{event}_{kw.pop('n', 0)}",
        "sg_message_id": "msg.1",
        **kw,
    }


def test_sendgrid_translation():
    batch = [
        _sg("bounce", type="bounce", customer_id="cus_E"),
        _sg("bounce", type="blocked", customer_id="cus_E"),
        _sg("spamreport", customer_id="cus_E"),
        _sg("open", customer_id="cus_E", sg_machine_open=True),
        _sg("open", customer_id="cus_E", n=1),
        _sg("click", customer_id="cus_E", url="https://x.io/a"),
        _sg("delivered", customer_id="cus_E"),
        _sg("unsubscribe"),  # no custom arg: found by address
    ]
    out = sendgrid_events.translate(batch, lambda email: ["cus_F", "cus_G"] if email == "ada@example.com" else [])
    kinds = [(type(r).__name__, getattr(getattr(r, "event", None), "type", None)) for r in out]
    assert kinds == [
        ("Delivery", "email_suppressed"),
        ("Ignored", None),
        ("Delivery", "email_suppressed"),
        ("Ignored", None),
        ("Delivery", "activity"),
        ("Delivery", "activity"),
        ("Ignored", None),
        ("Delivery", "email_suppressed"),
        ("Delivery", "email_suppressed"),
    ]
    assert out[0].event == EmailSuppressed(
        event_id="sendgrid:sg_bounce_0", occurred_at=out[0].event.occurred_at, reason="bounce"
    )
    assert isinstance(out[4].event, ActivityReported) and out[4].event.kind == "email_opened"
    assert out[5].event.kind == "email_clicked" and out[5].event.detail == "https://x.io/a"
    assert {r.customer_id for r in out[7:]} == {"cus_F", "cus_G"}


def test_sendgrid_signature():
    body = json.dumps([_sg("open")]).encode()
    h = sendgrid_headers(body)
    sig, ts = h["X-Twilio-Email-Event-Webhook-Signature"], h["X-Twilio-Email-Event-Webhook-Timestamp"]
    from tests.api_kit import SENDGRID_PUBLIC_KEY as pk

    sendgrid_events.verify(pk, body, sig, ts)
    for args, status in [
        ((pk, body + b" ", sig, ts), 401),
        ((pk, body, sig, str(int(ts) + 1)), 401),
        ((pk, body, None, ts), 401),
        ((pk, body, "not base64!", ts), 401),
        ((None, body, sig, ts), 503),
    ]:
        with pytest.raises(ApiError) as e:
            sendgrid_events.verify(*args)
        assert e.value.status == status


# --- over HTTP, nothing reaches a journey ---------------------------------------------------


async def test_stripe_webhook_refusals(fake):
    ok = stripe_body(invoice_paid_event("cus_H"))
    stale = stripe_headers(ok, t=int(time.time()) - 400)
    neg_event = invoice_paid_event("cus_H")
    neg_event["data"]["object"]["amount_paid"] = -100
    neg = stripe_body(neg_event)
    cases = [
        (ok, {"Content-Type": "application/json"}, 401, "missing Stripe-Signature"),
        (ok, stripe_headers(ok, secret="whsec_wrong"), 401, "does not match"),
        (ok, {"Stripe-Signature": "garbage"}, 401, "malformed Stripe-Signature"),
        (ok, stale, 401, "stale timestamp"),
        (b"{not json", stripe_headers(b"{not json"), 400, "malformed JSON"),
        (b'{"hello": 1}', stripe_headers(b'{"hello": 1}'), 422, "invalid Stripe event: id, object, type"),
        (neg, stripe_headers(neg), 422, "data.object.amount_paid"),
    ]
    for body, headers, status, words in cases:
        r = await fake.post("/webhooks/stripe", content=body, headers=headers)
        assert r.status_code == status and words in _errors(r)["error"], (words, r.text)
    assert fake.rec.sent == []

    other = stripe_body(stripe_event("invoice.finalized", {"id": "in_1", "object": "invoice"}))
    r = await fake.post("/webhooks/stripe", content=other, headers=stripe_headers(other))
    assert r.status_code == 200 and r.json()["ignored"] == "invoice.finalized"
    r = await fake.post("/webhooks/stripe", content=ok, headers=stripe_headers(ok))
    assert r.status_code == 200 and r.json()["applied_as"] == "payment_succeeded"
    assert [c for c, _ in fake.rec.sent] == ["cus_H"]


async def test_billing_webhook_refusals(fake):
    def signed(obj) -> tuple[bytes, dict]:
        body = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
        return body, {
            "Tenure-Signature": generic_billing.sign(body, BILLING_SECRET),
            "Content-Type": "application/json",
        }

    good = {
        "id": "b1",
        "type": "payment.succeeded",
        "customer_id": "acme-9",
        "invoice_id": "i1",
        "amount_minor": 4900,
        "currency": "EUR",
        "cadence": "monthly",
    }
    body, headers = signed(good)
    cases = [
        (body, {}, 401, "missing Tenure-Signature"),
        (body, {"Tenure-Signature": generic_billing.sign(body, "nope")}, 401, "does not match"),
        (body, {"Tenure-Signature": generic_billing.sign(body, BILLING_SECRET, int(time.time()) - 600)}, 401, "stale"),
        (*signed(b'{"id": '), 400, "malformed JSON"),
        (*signed({**good, "type": "invoice.exploded"}), 422, "unknown event type"),
        (*signed({**good, "amount_minor": -4900}), 422, "amount_minor"),
        (*signed({k: v for k, v in good.items() if k != "currency"}), 422, "currency"),
        (*signed([good]), 422, "invalid billing event"),
    ]
    for b, h, status, words in cases:
        r = await fake.post("/webhooks/billing", content=b, headers=h)
        assert r.status_code == status and words in _errors(r)["error"], (words, r.text)
    assert fake.rec.sent == []
    r = await fake.post("/webhooks/billing", content=body, headers=headers)
    assert r.status_code == 200 and r.json() == {
        "received": True,
        "event_id": "b1",
        "customer_id": "acme-9",
        "applied_as": "payment_succeeded",
    }


async def test_events_refusals(fake):
    one = {"event_id": "a1", "customer_id": "cus_I", "kind": "login"}
    cases = [
        ({}, one, 401, "missing API key"),
        ({"Authorization": "Bearer nope"}, one, 401, "wrong API key"),
        (AUTH, b"[1, 2", 400, "malformed JSON"),
        (AUTH, {**one, "kind": "teleported"}, 422, "kind"),
        (AUTH, {"customer_id": "cus_I", "kind": "login"}, 422, "event_id"),
        (AUTH, {"events": [one, {**one, "customer_id": 5}]}, 422, "events[1].customer_id"),
        (AUTH, {"events": [dict(one, event_id=f"a{i}") for i in range(501)]}, 422, "events"),
        (AUTH, {"events": []}, 422, "events"),
        (AUTH, [one], 422, "bare list"),
    ]
    for headers, body, status, words in cases:
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        r = await fake.post("/events", content=content, headers=headers)
        assert r.status_code == status and words in _errors(r)["error"], (words, r.text)
    assert fake.rec.sent == []
    r = await fake.post(
        "/events", json={"events": [one, dict(one, event_id="a2", kind="feature_used")]}, headers={"X-Api-Key": KEY}
    )
    assert r.status_code == 202 and r.json() == {"accepted": 2} and len(fake.rec.sent) == 2


async def test_member_api_refusals(fake):
    r = await fake.get("/rewards", headers=AUTH)
    assert r.status_code == 200 and {x["id"] for x in r.json()["rewards"]} >= {"premium-month", "beta-access"}
    assert (await fake.get("/rewards")).status_code == 401
    url = "/members/cus_J/redemptions"
    cases = [
        ({}, {"points": 100}, 422, "idempotency-key"),
        ({"Idempotency-Key": "k1"}, {"points": 100, "reward_id": "beta-access"}, 422, "exactly one"),
        ({"Idempotency-Key": "k1"}, {"points": -100}, 422, "points"),
        ({"Idempotency-Key": "k1"}, {"points": "many"}, 422, "points"),
        ({"Idempotency-Key": "k1"}, b"{", 400, "malformed JSON"),
    ]
    for headers, body, status, words in cases:
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        r = await fake.post(url, content=content, headers={**AUTH, **headers, "Content-Type": "application/json"})
        err = _errors(r)
        assert r.status_code == status and words.lower() in (err["error"] + json.dumps(err.get("detail"))).lower(), (
            words,
            r.text,
        )
    r = await fake.get("/members/not%20an%20id!", headers=AUTH)
    assert r.status_code == 422 and "customer_id" in _errors(r)["error"]
    r = await fake.get("/members/cus_J/ledger?limit=0", headers=AUTH)
    assert r.status_code == 422 and "query.limit" in _errors(r)["error"]
    r = await fake.get("/nowhere")
    assert r.status_code == 404 and _errors(r)


async def test_sendgrid_webhook(fake):
    body = json.dumps(
        [_sg("bounce", type="bounce", customer_id="cus_K"), _sg("delivered", customer_id="cus_K")]
    ).encode()
    r = await fake.post("/webhooks/sendgrid", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 401 and "missing" in _errors(r)["error"]
    r = await fake.post("/webhooks/sendgrid", content=body + b"\n", headers=sendgrid_headers(body))
    assert r.status_code == 401 and fake.rec.sent == []
    fake.rec.journeys.add("cus_K")
    r = await fake.post("/webhooks/sendgrid", content=body, headers=sendgrid_headers(body))
    assert r.status_code == 200 and r.json() == {"received": 2, "delivered": 1, "ignored": 1, "no_journey": 0}
    assert fake.rec.sent[0][0] == "cus_K" and fake.rec.sent[0][1].reason == "bounce"


async def test_oversized_bodies_are_refused_before_parsing(fake):
    limit = 256 * 1024
    big = b"[" + b" " * limit + b"]"
    r = await fake.post("/events", content=big, headers=AUTH)
    assert r.status_code == 413 and "limit" in _errors(r)["error"]

    async def chunks():  # no Content-Length: counted while streaming
        for _ in range(40):
            yield b" " * 8192

    r = await fake.post("/webhooks/billing", content=chunks(), headers={"Tenure-Signature": "t=1,v1=x"})
    assert r.status_code == 413 and _errors(r)
    assert fake.rec.sent == []


async def test_openapi_publishes_the_formats(fake):
    doc = (await fake.get("/openapi.json")).json()
    schemas = doc["components"]["schemas"]
    assert {"BillingEvent", "ActivityReport", "StripeEvent", "SendGridEvents", "Summary"} <= set(schemas)
    body = doc["paths"]["/webhooks/billing"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/BillingEvent"}
    assert set(schemas["BillingEvent"]["discriminator"]["mapping"]) == set(generic_billing.EVENT_TYPES)


# --- Temporal unreachable -> 503 -------------------------------------------------------------


async def test_temporal_errors_answer_503(fake):
    fake.rec.fail = JourneyUnavailable("connection refused", status="UNAVAILABLE")
    r = await fake.post("/events", json={"event_id": "z1", "customer_id": "cus_L", "kind": "login"}, headers=AUTH)
    assert r.status_code == 503 and r.headers["retry-after"] and "unavailable" in _errors(r)["error"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_app_starts_without_temporal_and_answers_503(program, tmp_path: Path):
    s = api_settings(data_dir=tmp_path, temporal_address=f"127.0.0.1:{_free_port()}", api_temporal_timeout=2.0)
    t0 = time.monotonic()
    async with app_client(s, program=program) as http:
        r = await http.post("/events", json={"event_id": "z2", "customer_id": "cus_M", "kind": "login"}, headers=AUTH)
        assert r.status_code == 503 and r.headers["retry-after"] == "5", r.text
        assert "unreachable" in r.json()["error"]
        r = await http.get("/healthz")
        assert r.status_code == 503 and r.json()["status"] == "degraded"
    assert time.monotonic() - t0 < 10


async def test_app_refuses_a_database_behind_and_names_the_command(program, tmp_path: Path):
    s = api_settings(data_dir=tmp_path, temporal_address=f"127.0.0.1:{_free_port()}")
    with pytest.raises(SystemExit, match="run `tenure db upgrade`"):
        async with app_client(s, program=program, migrate=False):
            pass


async def test_openapi_lists_the_answers_each_route_gives(fake):
    doc = (await fake.get("/openapi.json")).json()

    def statuses(path: str, method: str) -> set[str]:
        return set(doc["paths"][path][method]["responses"])

    assert statuses("/webhooks/stripe", "post") == {"200", "400", "401", "413", "422", "503"}, "no roles: no 403"
    assert statuses("/events", "post") == {"202", "400", "401", "403", "413", "422", "503"}
    assert statuses("/members/{customer_id}", "get") == {"200", "401", "403", "404", "422", "503"}
    assert statuses("/members/{customer_id}/ledger", "get") == {"200", "401", "403", "404", "422", "503"}
    assert statuses("/members/{customer_id}/redemptions", "post") == {
        *("200", "400", "401", "403", "404", "409", "413", "422", "503")
    }
    assert statuses("/rewards", "get") == {"200", "401", "403"}
    assert statuses("/healthz", "get") == {"200", "503"}
    for path, method in [("/healthz", "get"), ("/webhooks/billing", "post"), ("/events", "post")]:
        assert "Retry-After" in doc["paths"][path][method]["responses"]["503"]["headers"]
    offset = next(
        p for p in doc["paths"]["/members/{customer_id}/ledger"]["get"]["parameters"] if p["name"] == "offset"
    )
    assert offset["schema"]["maximum"] == 2**63 - 1
    redemption = doc["components"]["schemas"]["RedemptionIn"]
    assert [branch["required"] for branch in redemption["oneOf"]] == [["points"], ["reward_id"]]
