"""Billing gateways: local (SQLite and PostgreSQL) and Stripe against a stdlib stub."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from datetime import datetime, timezone
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
from activities.billing import BILLING_REJECTED, BillingActivities, LocalBillingGateway, StripeBillingGateway
from activities.db import billing_credits
from domain.effects import BillingCredit
from ledger_fixtures import engine, ledger_db_url, uid  # noqa: F401  (fixtures)
from settings import Settings

STRIPE_KEY = "sk_test_tenure"


def credit(uid: str, n: int = 1, customer: str | None = None, amount: int = 500) -> BillingCredit:
    return BillingCredit(
        customer_id=customer or f"cus_{uid}",
        key=f"redeem-{uid}-{n}",
        amount_minor=amount,
        currency="USD",
        description="Loyalty points: 500 points",
        at=datetime(2026, 3, 1, tzinfo=timezone.utc),
    )


def rows(engine, key: str) -> list[Any]:
    with engine.connect() as conn:
        return conn.execute(sa.select(billing_credits).where(billing_credits.c.key == key)).all()


async def apply(acts: BillingActivities, c: BillingCredit):
    return await ActivityEnvironment().run(acts.apply_credit, c)


# --- local -----------------------------------------------------------------------------------


async def test_local_credit_is_idempotent(engine, uid):
    acts = BillingActivities(LocalBillingGateway(engine))
    first = await apply(acts, credit(uid))
    assert first.status == "applied" and first.external_id
    again = await apply(acts, credit(uid))
    assert (again.status, again.external_id) == ("duplicate", first.external_id)
    [r] = rows(engine, credit(uid).key)
    assert (r.gateway, r.amount_minor, r.currency, r.customer_id, r.external_id) == (
        "local", 500, "USD", f"cus_{uid}", first.external_id
    )


async def test_local_concurrent_same_key_applies_once(engine, uid):
    acts = BillingActivities(LocalBillingGateway(engine))
    outs = await asyncio.gather(*(apply(acts, credit(uid)) for _ in range(30)))
    assert sorted(o.status for o in outs) == ["applied"] + ["duplicate"] * 29
    assert len({o.external_id for o in outs}) == 1
    assert len(rows(engine, credit(uid).key)) == 1


# --- Stripe stub -----------------------------------------------------------------------------


class StripeStub:
    """POST /v1/customers/{id}/balance_transactions, with Stripe's idempotency replay."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.customers = {"cus_known"}
        self.fail_next: list[int] = []
        self._by_key: dict[str, dict[str, Any]] = {}
        self._n = 0
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()

    @property
    def url(self) -> str:
        return "http://127.0.0.1:%d" % self.server.server_address[1]

    def _answer(self, path: str, headers: dict[str, str], form: dict[str, str]) -> tuple[int, dict[str, str], dict]:
        if headers.get("Authorization") != f"Bearer {STRIPE_KEY}":
            return 401, {}, {"error": {"type": "invalid_request_error", "message": "Invalid API Key provided"}}
        if self.fail_next:
            return self.fail_next.pop(0), {}, {"error": {"type": "api_error", "message": "Something went wrong"}}
        parts = path.strip("/").split("/")
        if len(parts) != 4 or parts[:2] != ["v1", "customers"] or parts[3] != "balance_transactions":
            return 404, {}, {"error": {"type": "invalid_request_error", "message": f"Unrecognized request URL (POST: {path})"}}
        customer = parts[2]
        key = headers.get("Idempotency-Key")
        if key in self._by_key:
            return 200, {"Idempotent-Replayed": "true"}, self._by_key[key]
        if customer not in self.customers:
            return 404, {}, {"error": {"type": "invalid_request_error", "code": "resource_missing", "param": "customer",
                                       "message": f"No such customer: '{customer}'"}}
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
            "metadata": {k[9:-1]: v for k, v in form.items() if k.startswith("metadata[")},
            "credit_note": None,
            "invoice": None,
        }
        if key:
            self._by_key[key] = txn
        return 200, {}, txn

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


async def test_stripe_crash_before_recording_reuses_the_idempotency_key(engine, stripe_stub, uid, monkeypatch):
    """Stripe applied the credit, the worker died before our insert; the retry gets the same txn."""
    real_record = billing_mod._record
    calls = {"n": 0}

    def crash_once(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("worker lost")
        return real_record(*args, **kwargs)

    monkeypatch.setattr(billing_mod, "_record", crash_once)
    acts = stripe_acts(engine, stripe_stub)
    c = credit(uid, customer="cus_known")
    with pytest.raises(RuntimeError):
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


# --- wiring ----------------------------------------------------------------------------------


def test_build_activities_wiring(engine):
    fns = build_activities(Settings(), engine, from_email="a@example.com", from_name="A")
    assert [f.__name__ for f in fns] == ["record_entries", "upsert_customer", "send_email", "apply_credit"]
    assert isinstance(billing_gateway(Settings(billing="local"), engine), LocalBillingGateway)
    assert isinstance(
        billing_gateway(Settings(billing="stripe", stripe_api_key="sk_test_x"), engine), StripeBillingGateway
    )
    with pytest.raises(ValueError, match="STRIPE_API_KEY"):
        billing_gateway(Settings(billing="stripe"), engine)
    with pytest.raises(ValueError, match="'local' or 'stripe'"):
        billing_gateway(Settings(billing="paypal"), engine)
