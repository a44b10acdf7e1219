#!/usr/bin/env python3
"""Build a Stripe `invoice.paid` event and sign it exactly as Stripe does, for curl.

The event has the shape of the API version the installed `stripe` package pins
(`stripe.api_version`): the subscription under `parent.subscription_details`, the line's price
under `pricing.price_details`, the billing period on the line. The signature is Stripe's:
`Stripe-Signature: t=<unix time>,v1=<hex HMAC-SHA256(secret, f"{t}.{body}")>`.

    # print a curl command (pipe it to sh), or --send it right away
    .venv/bin/python scripts/sign_stripe_event.py --customer cus_demo | sh
    .venv/bin/python scripts/sign_stripe_event.py --customer cus_demo --interval year --amount 49000 --send

The secret is --secret, else TENURE_STRIPE_WEBHOOK_SECRET, else STRIPE_WEBHOOK_SECRET.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import secrets
import shlex
import sys
import time
from typing import Any

DAY = 86400


def _id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def api_version() -> str:
    try:
        import stripe

        return stripe.api_version
    except ImportError:  # pragma: no cover - the project depends on stripe
        return "2026-10-28.endive"


def invoice_paid_event(
    customer: str,
    amount: int = 4900,
    currency: str = "usd",
    interval: str = "month",
    *,
    event_id: str | None = None,
    invoice_id: str | None = None,
    subscription_id: str | None = None,
    created: int | None = None,
) -> dict:
    """A complete `invoice.paid` event as Stripe delivers it to a webhook endpoint."""
    now = int(time.time()) if created is None else created
    period_days = {"day": 1, "week": 7, "year": 365}.get(interval, 30)
    invoice_id = invoice_id or _id("in")
    subscription_id = subscription_id or _id("sub")
    price, product, item = _id("price"), _id("prod"), _id("si")
    per = interval if interval in ("day", "week", "year") else "month"
    line = {
        "id": _id("il"),
        "object": "line_item",
        "amount": amount,
        "currency": currency,
        "description": f"1 × Tenure Pro (at {amount / 100:.2f} {currency.upper()} / {per})",
        "discount_amounts": [],
        "discountable": True,
        "discounts": [],
        "invoice": invoice_id,
        "livemode": False,
        "metadata": {},
        "parent": {
            "invoice_item_details": None,
            "subscription_item_details": {
                "invoice_item": None,
                "proration": False,
                "proration_details": {"credited_items": None},
                "subscription": subscription_id,
                "subscription_item": item,
            },
            "type": "subscription_item_details",
        },
        "period": {"end": now + period_days * DAY, "start": now},
        "pretax_credit_amounts": [],
        "pricing": {
            "price_details": {"price": price, "product": product},
            "type": "price_details",
            "unit_amount_decimal": str(amount),
        },
        "quantity": 1,
        "taxes": [],
    }
    invoice: dict[str, Any] = {
        "id": invoice_id,
        "object": "invoice",
        "account_country": "US",
        "account_name": "Tenure Demo",
        "account_tax_ids": None,
        "amount_due": amount,
        "amount_overpaid": 0,
        "amount_paid": amount,
        "amount_remaining": 0,
        "amount_shipping": 0,
        "application": None,
        "attempt_count": 1,
        "attempted": True,
        "auto_advance": False,
        "automatic_tax": {
            "disabled_reason": None,
            "enabled": False,
            "liability": None,
            "provider": None,
            "status": None,
        },
        "automatically_finalizes_at": None,
        "billing_reason": "subscription_cycle",
        "collection_method": "charge_automatically",
        "confirmation_secret": None,
        "created": now,
        "currency": currency,
        "custom_fields": None,
        "customer": customer,
        "customer_account": None,
        "customer_address": None,
        "customer_email": None,
        "customer_name": None,
        "customer_phone": None,
        "customer_shipping": None,
        "customer_tax_exempt": "none",
        "customer_tax_ids": [],
        "default_payment_method": None,
        "default_source": None,
        "default_tax_rates": [],
        "description": None,
        "discounts": [],
        "due_date": None,
        "effective_at": now,
        "ending_balance": 0,
        "footer": None,
        "from_invoice": None,
        "hosted_invoice_url": f"https://invoice.stripe.com/i/acct_demo/test_{invoice_id}",
        "invoice_pdf": f"https://pay.stripe.com/invoice/acct_demo/test_{invoice_id}/pdf",
        "issuer": {"type": "self"},
        "last_finalization_error": None,
        "latest_revision": None,
        "lines": {
            "object": "list",
            "data": [line],
            "has_more": False,
            "total_count": 1,
            "url": f"/v1/invoices/{invoice_id}/lines",
        },
        "livemode": False,
        "metadata": {},
        "next_payment_attempt": None,
        "number": f"DEMO-{now % 100000:05d}",
        "on_behalf_of": None,
        "parent": {
            "quote_details": None,
            "subscription_details": {"metadata": {}, "subscription": subscription_id},
            "type": "subscription_details",
        },
        "payment_settings": {"default_mandate": None, "payment_method_options": None, "payment_method_types": None},
        "period_end": now,
        "period_start": now - period_days * DAY,
        "post_payment_credit_notes_amount": 0,
        "pre_payment_credit_notes_amount": 0,
        "receipt_number": None,
        "rendering": None,
        "shipping_cost": None,
        "shipping_details": None,
        "starting_balance": 0,
        "statement_descriptor": None,
        "status": "paid",
        "status_transitions": {"finalized_at": now, "marked_uncollectible_at": None, "paid_at": now, "voided_at": None},
        "subtotal": amount,
        "subtotal_excluding_tax": amount,
        "test_clock": None,
        "total": amount,
        "total_discount_amounts": [],
        "total_excluding_tax": amount,
        "total_pretax_credit_amounts": [],
        "total_taxes": [],
        "webhooks_delivered_at": None,
    }
    return {
        "id": event_id or _id("evt"),
        "object": "event",
        "api_version": api_version(),
        "created": now,
        "data": {"object": invoice},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": "invoice.paid",
    }


def body_of(event: dict) -> str:
    """Stripe delivers pretty-printed JSON; the signature covers these exact bytes."""
    return json.dumps(event, indent=2, ensure_ascii=False)


def stripe_signature(body: str, secret: str, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else timestamp
    v1 = hmac.new(secret.encode(), f"{t}.{body}".encode(), hashlib.sha256).hexdigest()
    return f"t={t},v1={v1}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--customer", default="cus_demo", help="Stripe customer id (the journey's id)")
    p.add_argument("--amount", type=int, default=4900, help="amount paid, in cents")
    p.add_argument("--currency", default="usd")
    p.add_argument("--interval", choices=["day", "week", "month", "year"], default="month")
    p.add_argument("--event-id", help="reuse an event id (to see a duplicate ignored)")
    p.add_argument(
        "--secret", default=os.environ.get("TENURE_STRIPE_WEBHOOK_SECRET") or os.environ.get("STRIPE_WEBHOOK_SECRET")
    )
    p.add_argument("--url", default=f"http://127.0.0.1:{os.environ.get('TENURE_API_PORT', '8000')}/webhooks/stripe")
    p.add_argument("--send", action="store_true", help="POST it now and print the answer")
    a = p.parse_args(argv)
    if not a.secret:
        p.error("no secret: pass --secret or set TENURE_STRIPE_WEBHOOK_SECRET (the same value the API runs with)")

    body = body_of(invoice_paid_event(a.customer, a.amount, a.currency, a.interval, event_id=a.event_id))
    header = stripe_signature(body, a.secret)
    if a.send:
        import httpx

        r = httpx.post(
            a.url, content=body.encode(), headers={"Stripe-Signature": header, "Content-Type": "application/json"}
        )
        print(r.status_code, r.text)
        return 0 if r.is_success else 1
    print(
        " ".join(
            [
                "curl",
                "-sS",
                "-X",
                "POST",
                shlex.quote(a.url),
                "-H",
                shlex.quote("Content-Type: application/json"),
                "-H",
                shlex.quote(f"Stripe-Signature: {header}"),
                "--data-binary",
                shlex.quote(body),
            ]
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
