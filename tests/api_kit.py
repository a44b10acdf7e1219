"""Helpers for the HTTP API tests: Stripe events as Stripe sends them, signatures, an app client."""

from __future__ import annotations

import base64
import hashlib
import hmac
import importlib.util
import json
import secrets
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from starter.api import ApiSettings, create_app
from starter.client import NoJourney
from storage.engine import create_engine_for
from storage.migrate import db_upgrade, upgrade

ROOT = Path(__file__).resolve().parent.parent
KEY = "test-key"
STRIPE_SECRET = "whsec_test_" + "s" * 24
BILLING_SECRET = "billing-secret-for-tests"
AUTH = {"Authorization": f"Bearer {KEY}"}


def _load_script():
    spec = importlib.util.spec_from_file_location("sign_stripe_event", ROOT / "scripts" / "sign_stripe_event.py")
    assert spec is not None and spec.loader is not None, "scripts/sign_stripe_event.py is missing"
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


sign_script = _load_script()
invoice_paid_event = sign_script.invoice_paid_event


# --- SendGrid's key pair (SendGrid keeps the private half; tests play both sides) -------------


def sendgrid_key_pair() -> tuple[ec.EllipticCurvePrivateKey, str]:
    """A private key and its public half as SendGrid's settings show it (base64 DER)."""
    private = ec.generate_private_key(ec.SECP256R1())
    public = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, base64.b64encode(public).decode()


_sg_private, SENDGRID_PUBLIC_KEY = sendgrid_key_pair()


def sendgrid_headers(
    body: bytes, timestamp: str | None = None, private_key: ec.EllipticCurvePrivateKey | None = None
) -> dict[str, str]:
    ts = timestamp or str(int(time.time()))
    sig = (private_key or _sg_private).sign(ts.encode() + body, ec.ECDSA(hashes.SHA256()))
    return {
        "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(sig).decode(),
        "X-Twilio-Email-Event-Webhook-Timestamp": ts,
        "Content-Type": "application/json",
    }


# --- Stripe ----------------------------------------------------------------------------------


def stripe_body(event: dict) -> bytes:
    """Stripe sends pretty-printed JSON; the signature covers exactly these bytes."""
    return json.dumps(event, indent=2).encode()


def stripe_headers(body: bytes, secret: str = STRIPE_SECRET, t: int | None = None) -> dict[str, str]:
    """Stripe's scheme, computed here independently of the stripe package: v1 = HMAC-SHA256(secret, "t.body")."""
    t = int(time.time()) if t is None else t
    v1 = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return {"Stripe-Signature": f"t={t},v1={v1}", "Content-Type": "application/json"}


def _id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(10)}"


def stripe_event(type_: str, obj: dict, previous: dict | None = None, event_id: str | None = None) -> dict:
    data: dict[str, Any] = {"object": obj}
    if previous is not None:
        data["previous_attributes"] = previous
    return {
        "id": event_id or _id("evt"),
        "object": "event",
        "api_version": sign_script.api_version(),
        "created": int(time.time()),
        "data": data,
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": _id("req"), "idempotency_key": None},
        "type": type_,
    }


def customer_created(customer: str, email: str, name: str, referral_code: str | None = None) -> dict:
    return stripe_event(
        "customer.created",
        {
            "id": customer,
            "object": "customer",
            "address": None,
            "balance": 0,
            "created": int(time.time()),
            "currency": None,
            "default_source": None,
            "delinquent": False,
            "description": None,
            "discount": None,
            "email": email,
            "invoice_prefix": "ABC123",
            "invoice_settings": {
                "custom_fields": None,
                "default_payment_method": None,
                "footer": None,
                "rendering_options": None,
            },
            "livemode": False,
            "metadata": {"referral_code": referral_code} if referral_code else {},
            "name": name,
            "phone": None,
            "preferred_locales": [],
            "shipping": None,
            "tax_exempt": "none",
            "test_clock": None,
        },
    )


def _price(interval: str = "month", lookup_key: str | None = "pro_monthly") -> dict:
    return {
        "id": _id("price"),
        "object": "price",
        "active": True,
        "billing_scheme": "per_unit",
        "currency": "usd",
        "livemode": False,
        "lookup_key": lookup_key,
        "metadata": {},
        "nickname": None,
        "product": _id("prod"),
        "recurring": {"interval": interval, "interval_count": 1, "meter": None, "usage_type": "licensed"},
        "tax_behavior": "unspecified",
        "type": "recurring",
        "unit_amount": 4900,
        "unit_amount_decimal": "4900",
    }


def subscription(
    customer: str,
    *,
    interval: str = "month",
    lookup_key: str | None = "pro_monthly",
    status: str = "active",
    feedback: str | None = None,
    comment: str | None = None,
    reason: str | None = None,
) -> dict:
    now = int(time.time())
    sub = _id("sub")
    return {
        "id": sub,
        "object": "subscription",
        "billing_cycle_anchor": now,
        "cancel_at": None,
        "cancel_at_period_end": False,
        "canceled_at": now if status == "canceled" else None,
        "cancellation_details": {"comment": comment, "feedback": feedback, "reason": reason},
        "collection_method": "charge_automatically",
        "created": now,
        "currency": "usd",
        "customer": customer,
        "items": {
            "object": "list",
            "data": [
                {
                    "id": _id("si"),
                    "object": "subscription_item",
                    "created": now,
                    "current_period_end": now + 30 * 86400,
                    "current_period_start": now,
                    "discounts": [],
                    "metadata": {},
                    "price": _price(interval, lookup_key),
                    "quantity": 1,
                    "subscription": sub,
                    "tax_rates": [],
                }
            ],
            "has_more": False,
            "total_count": 1,
            "url": f"/v1/subscription_items?subscription={sub}",
        },
        "latest_invoice": _id("in"),
        "livemode": False,
        "metadata": {},
        "start_date": now,
        "status": status,
    }


def invoice_payment_failed(customer: str, amount: int = 4900) -> dict:
    ev = invoice_paid_event(customer, amount)
    inv = ev["data"]["object"]
    inv.update(status="open", amount_paid=0, amount_remaining=amount, attempt_count=2)
    ev["type"] = "invoice.payment_failed"
    return ev


def charge_refunded(
    customer: str | None,
    amount: int,
    refunded: int,
    previously: int | None = 0,
    *,
    payment_intent: str | None = None,
    metadata: dict | None = None,
) -> dict:
    ch = {
        "id": _id("ch"),
        "object": "charge",
        "amount": amount,
        "amount_captured": amount,
        "amount_refunded": refunded,
        "balance_transaction": _id("txn"),
        "captured": True,
        "created": int(time.time()),
        "currency": "usd",
        "customer": customer,
        "description": None,
        "livemode": False,
        "metadata": metadata or {},
        "paid": True,
        "payment_intent": payment_intent or _id("pi"),
        "payment_method": _id("pm"),
        "refunded": refunded == amount,
        "status": "succeeded",
    }
    prev = None if previously is None else {"amount_refunded": previously, "refunded": False}
    return stripe_event("charge.refunded", ch, prev)


# --- the app ---------------------------------------------------------------------------------


def api_settings(task_queue: str = "tenure", **overrides) -> ApiSettings:
    values = dict(
        task_queue=task_queue,
        api_keys=KEY,
        stripe_webhook_secret=STRIPE_SECRET,
        billing_webhook_secret=BILLING_SECRET,
        sendgrid_webhook_public_key=SENDGRID_PUBLIC_KEY,
        stripe_api_key=None,
        api_temporal_timeout=3.0,
        api_update_timeout=15.0,
    )
    values.update(overrides)
    return ApiSettings(**values)


@asynccontextmanager
async def app_client(settings: ApiSettings, client=None, program=None, engine=None, migrate: bool = True):
    """The app with its lifespan run (httpx's ASGITransport does not run it), and an HTTP client on it.
    Without an engine, the settings' database is migrated first (`migrate=False`: left as it is)."""
    if engine is None and migrate:
        db_upgrade(settings)
    app = create_app(settings, client=client, program=program, engine=engine)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://tenure.test", timeout=30) as http:
            http.app = app  # type: ignore[attr-defined] - tests reach the app through the client
            yield http


class Recorder:
    """Stands in for TenureClient: records what would reach Temporal; `journeys` are the customers that
    have one (`send` opens one, `signal` needs one)."""

    def __init__(self, fail: Exception | None = None):
        self.sent: list[tuple[str, object]] = []
        self.fail = fail
        self.journeys: set[str] = set()

    async def send(self, customer_id, event):
        if self.fail:
            raise self.fail
        self.journeys.add(customer_id)
        self.sent.append((customer_id, event))

    async def exists(self, customer_id) -> bool:
        if self.fail:
            raise self.fail
        return customer_id in self.journeys

    async def signal(self, customer_id, event):
        if self.fail:
            raise self.fail
        if customer_id not in self.journeys:
            raise NoJourney(customer_id)
        self.sent.append((customer_id, event))


@asynccontextmanager
async def recording_app(program, tmp_path: Path, **settings):
    """The app on a migrated SQLite ledger with journeys replaced by a `Recorder` (`http.rec`): a
    refused request must not send anything at all."""
    engine = create_engine_for(f"sqlite:///{tmp_path / 'api.db'}")
    upgrade(engine)
    rec = Recorder()
    try:
        async with app_client(
            api_settings(data_dir=tmp_path, **settings), client=object(), program=program, engine=engine
        ) as http:
            http.app.state.services._tenure = rec
            http.rec = rec  # type: ignore[attr-defined] - tests reach the recorder through the client
            yield http
    finally:
        engine.dispose()
