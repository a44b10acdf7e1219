"""Billing gateways: local (SQLite and PostgreSQL) and Stripe against a stdlib stub."""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest
import sqlalchemy as sa
import stripe
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

import activities.billing as billing_mod
from activities import billing_gateway, build_activities
from activities.billing import (
    BILLING_REJECTED,
    BillingActivities,
    LocalBillingGateway,
    StripeBillingGateway,
    discount_code,
)
from domain.effects import BillingCredit, DiscountRequest
from settings import Settings
from storage.schema import billing_credits, billing_discounts

STRIPE_KEY = "sk_test_tenure"


def credit(uid: str, n: int = 1, customer: str | None = None, amount: int = 500) -> BillingCredit:
    return BillingCredit(
        customer_id=customer or f"cus_{uid}",
        key=f"redeem-{uid}-{n}",
        amount_minor=amount,
        currency="USD",
        description="Loyalty points: 500 points",
        at=datetime(2026, 3, 1, tzinfo=UTC),
    )


def rows(engine, key: str) -> list[Any]:
    with engine.connect() as conn:
        return conn.execute(sa.select(billing_credits).where(billing_credits.c.key == key)).all()


async def apply(acts: BillingActivities, c: BillingCredit):
    return await ActivityEnvironment().run(acts.apply_credit, c)


EXPIRES = datetime(2026, 4, 1, 12, tzinfo=UTC)


def discount(uid: str, n: int = 1, customer: str | None = None) -> DiscountRequest:
    return DiscountRequest(
        customer_id=customer or f"cus_{uid}",
        key=f"cus_{uid}/churn-{n}/discount",
        percent_off=25,
        duration_months=3,
        expires_at=EXPIRES,
    )


def discount_rows(engine, key: str) -> list[Any]:
    with engine.connect() as conn:
        return conn.execute(sa.select(billing_discounts).where(billing_discounts.c.key == key)).all()


async def create(acts: BillingActivities, req: DiscountRequest):
    return await ActivityEnvironment().run(acts.create_discount, req)


# --- local -----------------------------------------------------------------------------------


async def test_local_credit_is_idempotent(engine, uid):
    acts = BillingActivities(LocalBillingGateway(engine))
    first = await apply(acts, credit(uid))
    assert first.status == "applied" and first.external_id
    again = await apply(acts, credit(uid))
    assert (again.status, again.external_id) == ("duplicate", first.external_id)
    [r] = rows(engine, credit(uid).key)
    assert (r.gateway, r.amount_minor, r.currency, r.customer_id, r.external_id) == (
        "local",
        500,
        "USD",
        f"cus_{uid}",
        first.external_id,
    )


async def test_local_concurrent_same_key_applies_once(engine, uid):
    acts = BillingActivities(LocalBillingGateway(engine))
    outs = await asyncio.gather(*(apply(acts, credit(uid)) for _ in range(30)))
    assert sorted(o.status for o in outs) == ["applied"] + ["duplicate"] * 29
    assert len({o.external_id for o in outs}) == 1
    assert len(rows(engine, credit(uid).key)) == 1


def test_discount_code_is_derived_from_the_key():
    code = discount_code("cus_1/churn-1/discount")
    assert re.fullmatch(r"WB-[A-Z2-7]{8}", code)
    assert discount_code("cus_1/churn-1/discount") == code
    assert discount_code("cus_1/churn-2/discount") != code


async def test_local_discount_is_idempotent(engine, uid):
    acts = BillingActivities(LocalBillingGateway(engine))
    req = discount(uid)
    first = await create(acts, req)
    assert first.key == req.key and first.code == discount_code(req.key)
    assert first.external_id and first.external_id.startswith("local_")
    assert await create(acts, req) == first
    [r] = discount_rows(engine, req.key)
    assert (r.gateway, r.customer_id, r.percent_off, r.duration_months, r.expires_at, r.code, r.external_id) == (
        "local",
        f"cus_{uid}",
        25,
        3,
        EXPIRES,
        first.code,
        first.external_id,
    )
    other = await create(acts, discount(uid, 2))
    assert other.code != first.code and len(discount_rows(engine, other.key)) == 1


async def test_local_concurrent_same_discount_key_records_once(engine, uid):
    acts = BillingActivities(LocalBillingGateway(engine))
    outs = await asyncio.gather(*(create(acts, discount(uid)) for _ in range(30)))
    assert len(set(outs)) == 1
    assert len(discount_rows(engine, discount(uid).key)) == 1


# --- Stripe stub -----------------------------------------------------------------------------


class StripeStub:
    """POST /v1/customers/{id}/balance_transactions, /v1/coupons and /v1/promotion_codes,
    with Stripe's idempotency replay."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.customers = {"cus_known"}
        self.fail_next: list[int] = []
        self.fail_path: dict[str, list[int]] = {}  # path -> statuses for its next requests
        self._by_key: dict[str, dict[str, Any]] = {}
        self._n = 0
        self.coupons = 0
        self.promotion_codes = 0
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def _answer(self, path: str, headers: dict[str, str], form: dict[str, str]) -> tuple[int, dict[str, str], dict]:
        if headers.get("Authorization") != f"Bearer {STRIPE_KEY}":
            return 401, {}, {"error": {"type": "invalid_request_error", "message": "Invalid API Key provided"}}
        if self.fail_next or self.fail_path.get(path):
            status = (self.fail_next or self.fail_path[path]).pop(0)
            return status, {}, {"error": {"type": "api_error", "message": "Something went wrong"}}
        key = headers.get("Idempotency-Key")
        if key in self._by_key:
            return 200, {"Idempotent-Replayed": "true"}, self._by_key[key]
        parts = path.strip("/").split("/")
        if parts == ["v1", "coupons"]:
            status, body = self._coupon(form)
        elif parts == ["v1", "promotion_codes"]:
            status, body = self._promotion_code(form)
        elif len(parts) == 4 and parts[:2] == ["v1", "customers"] and parts[3] == "balance_transactions":
            status, body = self._balance_transaction(parts[2], form)
        else:
            return (
                404,
                {},
                {"error": {"type": "invalid_request_error", "message": f"Unrecognized request URL (POST: {path})"}},
            )
        if key and status == 200:
            self._by_key[key] = body
        return status, {}, body

    @staticmethod
    def _metadata(form: dict[str, str]) -> dict[str, str]:
        return {k[9:-1]: v for k, v in form.items() if k.startswith("metadata[")}

    def _coupon(self, form: dict[str, str]) -> tuple[int, dict]:
        self.coupons += 1
        return 200, {
            "id": f"cpn_{self.coupons:03d}",
            "object": "coupon",
            "percent_off": float(form["percent_off"]),
            "duration": form["duration"],
            "duration_in_months": int(form["duration_in_months"]),
            "redeem_by": int(form["redeem_by"]),
            "max_redemptions": int(form["max_redemptions"]),
            "times_redeemed": 0,
            "valid": True,
            "livemode": False,
            "created": int(time.time()),
            "metadata": self._metadata(form),
        }

    def _promotion_code(self, form: dict[str, str]) -> tuple[int, dict]:
        if "coupon" in form:  # the pre-2025-09-30.clover shape
            return 400, {
                "error": {
                    "type": "invalid_request_error",
                    "param": "coupon",
                    "message": "Received unknown parameter: coupon",
                }
            }
        if form.get("customer") not in self.customers:
            return 400, {
                "error": {
                    "type": "invalid_request_error",
                    "code": "resource_missing",
                    "param": "customer",
                    "message": f"No such customer: '{form.get('customer')}'",
                }
            }
        self.promotion_codes += 1
        return 200, {
            "id": f"promo_{self.promotion_codes:03d}",
            "object": "promotion_code",
            "active": True,
            "code": form["code"],
            "customer": form["customer"],
            "expires_at": int(form["expires_at"]),
            "max_redemptions": int(form["max_redemptions"]),
            "promotion": {"type": form["promotion[type]"], "coupon": form["promotion[coupon]"]},
            "times_redeemed": 0,
            "livemode": False,
            "created": int(time.time()),
            "metadata": self._metadata(form),
        }

    def _balance_transaction(self, customer: str, form: dict[str, str]) -> tuple[int, dict]:
        if customer not in self.customers:
            return 404, {
                "error": {
                    "type": "invalid_request_error",
                    "code": "resource_missing",
                    "param": "customer",
                    "message": f"No such customer: '{customer}'",
                }
            }
        self._n += 1
        txn = {
            "id": f"cbtxn_{self._n:03d}",
            "object": "customer_balance_transaction",
            "amount": int(form["amount"]),
            "currency": form["currency"],
            "customer": customer,
            "description": form.get("description"),
            "ending_balance": int(form["amount"]),
            "type": "adjustment",
            "livemode": False,
            "created": int(time.time()),
            "metadata": self._metadata(form),
            "credit_note": None,
            "invoice": None,
        }
        return 200, txn

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                form = {k: v[0] for k, v in parse_qs(raw).items()}
                headers = dict(self.headers.items())
                with stub._lock:
                    stub.requests.append({"path": self.path, "headers": headers, "form": form})
                    status, extra, body = stub._answer(self.path, headers, form)
                data = json.dumps(body).encode()
                self.send_response(status)
                for k, v in {**extra, "Content-Type": "application/json", "Request-Id": "req_stub"}.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler


@pytest.fixture
def stripe_stub():
    stub = StripeStub()
    yield stub
    stub.server.shutdown()
    stub.server.server_close()


def stripe_acts(engine, stub: StripeStub) -> BillingActivities:
    return BillingActivities(StripeBillingGateway(engine, STRIPE_KEY, stub.url))


async def test_stripe_credit_is_a_negative_balance_transaction(engine, stripe_stub, uid):
    c = credit(uid, customer="cus_known")
    out = await apply(stripe_acts(engine, stripe_stub), c)
    assert (out.status, out.external_id) == ("applied", "cbtxn_001")

    [req] = stripe_stub.requests
    assert req["path"] == "/v1/customers/cus_known/balance_transactions"
    assert req["headers"]["Idempotency-Key"] == c.key
    assert req["form"] == {
        "amount": "-500",
        "currency": "usd",
        "description": "Loyalty points: 500 points",
        "metadata[tenure_key]": c.key,
    }
    [r] = rows(engine, c.key)
    assert (r.gateway, r.external_id, r.amount_minor, r.currency) == ("stripe", "cbtxn_001", 500, "USD")


async def test_stripe_same_key_twice_is_recorded_once(engine, stripe_stub, uid):
    acts = stripe_acts(engine, stripe_stub)
    c = credit(uid, customer="cus_known")
    await apply(acts, c)
    again = await apply(acts, c)
    assert (again.status, again.external_id) == ("duplicate", "cbtxn_001")
    # Answered from our own record: Stripe forgets idempotency keys after 24 hours.
    assert len(stripe_stub.requests) == 1
    assert len(rows(engine, c.key)) == 1


def crash_first_local_record(monkeypatch, name: str) -> None:
    """The worker dies after Stripe answered and before our own row is written, once."""
    real = getattr(billing_mod, name)
    calls = {"n": 0}

    def crash_once(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("worker lost")
        return real(*args, **kwargs)

    monkeypatch.setattr(billing_mod, name, crash_once)


async def test_stripe_crash_before_recording_reuses_the_idempotency_key(engine, stripe_stub, uid, monkeypatch):
    """Stripe applied the credit, the worker died before our insert; the retry gets the same txn."""
    crash_first_local_record(monkeypatch, "_record")
    acts = stripe_acts(engine, stripe_stub)
    c = credit(uid, customer="cus_known")
    with pytest.raises(RuntimeError, match="worker lost"):
        await apply(acts, c)
    assert rows(engine, c.key) == []
    out = await apply(acts, c)  # Temporal's retry
    assert (out.status, out.external_id) == ("applied", "cbtxn_001")
    assert [r["headers"]["Idempotency-Key"] for r in stripe_stub.requests] == [c.key, c.key]
    assert [r.external_id for r in rows(engine, c.key)] == ["cbtxn_001"]


async def test_stripe_unknown_customer_is_not_retried(engine, stripe_stub, uid):
    c = credit(uid, customer="cus_missing")
    with pytest.raises(ApplicationError) as err:
        await apply(stripe_acts(engine, stripe_stub), c)
    assert err.value.type == BILLING_REJECTED and err.value.non_retryable
    assert "No such customer" in str(err.value)
    assert rows(engine, c.key) == []


async def test_stripe_server_error_is_retryable(engine, stripe_stub, uid):
    acts = stripe_acts(engine, stripe_stub)
    c = credit(uid, customer="cus_known")
    stripe_stub.fail_next = [500]
    with pytest.raises(stripe.APIError):
        await apply(acts, c)
    assert rows(engine, c.key) == []
    assert (await apply(acts, c)).status == "applied"
    assert len(stripe_stub.requests) == 2


async def test_stripe_discount_is_a_coupon_and_a_promotion_code_for_the_customer(engine, stripe_stub, uid):
    req = discount(uid, customer="cus_known")
    out = await create(stripe_acts(engine, stripe_stub), req)
    code = discount_code(req.key)
    assert (out.key, out.code, out.external_id) == (req.key, code, "promo_001")

    coupon, promo = stripe_stub.requests
    # This client pins the package's API version, in which promotion codes take `promotion`.
    assert {coupon["headers"]["Stripe-Version"], promo["headers"]["Stripe-Version"]} == {stripe.api_version}
    assert coupon["path"] == "/v1/coupons"
    assert coupon["headers"]["Idempotency-Key"] == f"{req.key}/coupon"
    assert coupon["form"] == {
        "percent_off": "25",
        "duration": "repeating",
        "duration_in_months": "3",
        "redeem_by": str(int(EXPIRES.timestamp())),
        "max_redemptions": "1",
        "metadata[tenure_key]": req.key,
    }
    assert promo["path"] == "/v1/promotion_codes"
    assert promo["headers"]["Idempotency-Key"] == f"{req.key}/promotion"
    assert promo["form"] == {
        "promotion[type]": "coupon",
        "promotion[coupon]": "cpn_001",
        "code": code,
        "customer": "cus_known",
        "expires_at": str(int(EXPIRES.timestamp())),
        "max_redemptions": "1",
        "metadata[tenure_key]": req.key,
    }
    [r] = discount_rows(engine, req.key)
    assert (r.gateway, r.code, r.external_id, r.percent_off, r.expires_at) == ("stripe", code, "promo_001", 25, EXPIRES)


async def test_stripe_same_discount_key_twice_is_created_once(engine, stripe_stub, uid):
    acts = stripe_acts(engine, stripe_stub)
    req = discount(uid, customer="cus_known")
    first = await create(acts, req)
    assert await create(acts, req) == first
    assert len(stripe_stub.requests) == 2  # the second answer came from our own record
    assert len(discount_rows(engine, req.key)) == 1


async def test_stripe_discount_crash_before_recording_reuses_both_keys(engine, stripe_stub, uid, monkeypatch):
    crash_first_local_record(monkeypatch, "_record_discount")
    acts = stripe_acts(engine, stripe_stub)
    req = discount(uid, customer="cus_known")
    with pytest.raises(RuntimeError, match="worker lost"):
        await create(acts, req)
    out = await create(acts, req)
    assert out.external_id == "promo_001"
    assert [r["headers"]["Idempotency-Key"] for r in stripe_stub.requests] == [
        f"{req.key}/coupon",
        f"{req.key}/promotion",
    ] * 2
    assert (stripe_stub.coupons, stripe_stub.promotion_codes) == (1, 1)
    assert [r.external_id for r in discount_rows(engine, req.key)] == ["promo_001"]


async def test_stripe_discount_refused_is_not_retried(engine, stripe_stub, uid):
    req = discount(uid, customer="cus_missing")
    with pytest.raises(ApplicationError) as err:
        await create(stripe_acts(engine, stripe_stub), req)
    assert err.value.type == BILLING_REJECTED and err.value.non_retryable
    assert "No such customer" in str(err.value)
    assert [r["path"] for r in stripe_stub.requests] == ["/v1/coupons", "/v1/promotion_codes"]
    assert discount_rows(engine, req.key) == []


async def test_stripe_discount_server_error_is_retryable(engine, stripe_stub, uid):
    acts = stripe_acts(engine, stripe_stub)
    req = discount(uid, customer="cus_known")
    stripe_stub.fail_path["/v1/promotion_codes"] = [503]  # the coupon is created, its promotion code fails
    with pytest.raises(stripe.APIError):
        await create(acts, req)
    assert discount_rows(engine, req.key) == []
    out = await create(acts, req)
    assert out.external_id == "promo_001"
    assert stripe_stub.coupons == 1  # the retry's coupon call was replayed, not a second coupon
    assert len(stripe_stub.requests) == 4


# --- wiring ----------------------------------------------------------------------------------


def test_build_activities_wiring(engine):
    fns = build_activities(Settings(), engine, from_email="a@example.com", from_name="A")
    assert [f.__name__ for f in fns] == [
        "record_entries",
        "record_ledger_entries",
        "record_rejections",
        "upsert_customer",
        "record_ledger_and_profile",
        "lookup_referrer",
        "send_email",
        "apply_credit",
        "create_discount",
        "campaign_page",
        "count_campaign_segment",
        "record_campaign_state",
    ]
    assert isinstance(billing_gateway(Settings(billing="local"), engine), LocalBillingGateway)
    assert isinstance(
        billing_gateway(Settings(billing="stripe", stripe_api_key="sk_test_x"), engine), StripeBillingGateway
    )
    with pytest.raises(ValueError, match="STRIPE_API_KEY"):
        billing_gateway(Settings(billing="stripe"), engine)
    with pytest.raises(ValueError, match="'local' or 'stripe'"):  # no other mode gets past the settings
        Settings(billing="paypal")
