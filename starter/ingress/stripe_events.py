"""Stripe webhook events -> domain events: the signature check, then a pure translation of the event's JSON.

The body is parsed once, after its signature is checked (`verified_event`); `translate` takes that JSON.

Shapes are those of the API version the installed `stripe` package pins (`stripe.api_version`,
2026-10-28.endive for stripe 16.1), which since 2025-03-31.basil:

- puts an invoice's subscription under `invoice.parent.subscription_details.subscription`
  (no more `invoice.subscription`);
- gives invoice lines `parent.subscription_item_details` and `pricing.price_details.price`
  (a price *id*, never expanded in a webhook: no more `line.price` / `line.plan` objects), so
  the billing interval is not in the event. Tenure reads it from the subscription line's
  `period`: a period of 300 days or more is annual, anything shorter monthly;
- dropped `charge.invoice` (and `invoice.charge` / `invoice.payment_intent`): a refunded charge
  is tied to its invoice through the invoice payments of its PaymentIntent.

Older shapes (`invoice.subscription`, `line.price.recurring`, `charge.invoice`) are read too
when a webhook endpoint still runs on an older API version.

Mapping (the journey id is the Stripe customer id, `cus_...`; every event id is Stripe's `evt_...`):

| Stripe event                     | domain event                                                         |
|----------------------------------|----------------------------------------------------------------------|
| customer.created                 | SignedUp(email, name, address.country, metadata.referral_code)       |
| customer.updated                 | ProfileUpdated(email, name, address.country)                         |
| invoice.paid,                    | PaymentSucceeded(invoice_id, amount_paid, CURRENCY, monthly/annual,  |
| invoice.payment_succeeded        |   the service period bought, proration, customer_email)              |
|                                  | (ignored: one-off invoices, free invoices with total 0, prorations   |
|                                  |  that charged nothing)                                               |
| invoice.payment_failed           | PaymentFailed(invoice_id, amount_due, CURRENCY, attempt count)       |
| customer.subscription.updated    | PlanChanged(price lookup_key or id, cadence) — only if items changed |
| customer.subscription.deleted    | SubscriptionCancelled(feedback or "other", comment, involuntary)     |
| charge.refunded                  | RefundIssued(invoice_id, newly refunded amount, CURRENCY)            |
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar, cast, get_args

import stripe
from pydantic import TypeAdapter, ValidationError
from stripe import SignatureVerificationError, WebhookSignature  # bound once: `stripe.X` is a lazy lookup per use

from domain.messages import (
    AmountMinor,
    CancellationReason,
    PaymentFailed,
    PaymentSucceeded,
    PlanChanged,
    ProfileUpdated,
    RefundIssued,
    SignedUp,
    SubscriptionCancelled,
)
from starter.api.errors import ApiError

from .cadence import Cadence, Interval
from .configuration import configured_secrets
from .customer_ids import check_customer_id
from .parsing import from_unix, parse_json, validate
from .results import Delivery, Ignored
from .stripe_objects import (
    CancellationDetails,
    Charge,
    Customer,
    Envelope,
    Expandable,
    Invoice,
    InvoiceEvent,
    InvoiceLine,
    StripeEvent,
    StripeObject,
    Subscription,
    object_id,
)

SIGNATURE_HEADER = "Stripe-Signature"
TOLERANCE_SECONDS = 300
# the event types whose translation may call `invoice_for_payment_intent` (I/O); the rest are pure
MAY_LOOK_UP = frozenset({"charge.refunded"})

InvoiceLookup = Callable[[str], "str | None"]
"""payment_intent id -> the invoice it paid (None: it paid no invoice)."""

_REASONS = set(get_args(CancellationReason))
PAID_INVOICE_EVENTS = frozenset({"invoice.paid", "invoice.payment_succeeded"})
"""Stripe sends both for a paid invoice (`invoice.paid` also for one marked paid out of band);
an endpoint may subscribe to either or both."""
_PREVIOUS_REFUNDED: TypeAdapter[int] = TypeAdapter(AmountMinor)
ObjectT = TypeVar("ObjectT", bound=StripeObject)


# --- signature ------------------------------------------------------------------------------


def signing_secrets(setting: str | None) -> list[str]:
    """The endpoint's signing secrets (several while rolling), or 503 until one is set."""
    return configured_secrets(
        setting,
        "Stripe",
        "set TENURE_STRIPE_WEBHOOK_SECRET (or STRIPE_WEBHOOK_SECRET) to the endpoint's signing secret",
    )


def verified_event(body: bytes, header: str | None, secrets: list[str]) -> dict[str, Any]:
    """The body's JSON once Stripe's signature on it checks out with one of `secrets` (5-minute tolerance);
    refusals as 400/401 with a clear message.

    What stripe.Webhook.construct_event checks, without it: it also builds a StripeObject tree of the
    whole event, which cost nearly half of the API's CPU per webhook (bench/RESULTS.md), and parses
    the body a second time.
    """
    if header is not None and not header.isascii():  # stripe's compare_digest raises TypeError on it (a 500)
        raise ApiError(401, f"malformed {SIGNATURE_HEADER} header", "it holds characters other than ASCII")
    last: SignatureVerificationError | None = None
    for secret in secrets:
        try:
            WebhookSignature.verify_header(body, header, secret, TOLERANCE_SECONDS)
            break
        except SignatureVerificationError as e:
            last = e
        except UnicodeDecodeError:
            raise ApiError(400, "malformed JSON: the body is not UTF-8") from None
    else:
        raise _signature_refused(header, last)
    data = parse_json(body)
    if not isinstance(data, dict) or data.get("object") == "v2.core.event":  # as construct_event refuses
        raise ApiError(400, "not a Stripe webhook event", 'expected an object with "object": "event"')
    return data


def _signature_refused(header: str | None, last: SignatureVerificationError | None) -> ApiError:
    msg = str(last.user_message if last and last.user_message else last)
    if not header:
        return ApiError(
            401,
            f"missing {SIGNATURE_HEADER} header",
            "Stripe signs every delivery; sign test events with scripts/sign_stripe_event.py",
        )
    if "Timestamp outside the tolerance zone" in msg:
        return ApiError(401, f"stale timestamp: the {SIGNATURE_HEADER} is older than {TOLERANCE_SECONDS} s", msg)
    if "Unable to extract" in msg or "expected scheme" in msg:
        return ApiError(401, f"malformed {SIGNATURE_HEADER} header", msg)
    return ApiError(401, "Stripe signature does not match the body", msg)


# --- translation ----------------------------------------------------------------------------


def _object(model: type[ObjectT], ev: StripeEvent) -> ObjectT:
    return validate(model, ev.data.object, f"{ev.type} event", prefix="data.object")


def _customer(value: Expandable | None, ev: Envelope) -> str:
    cid = object_id(value)
    if not cid:
        raise ApiError(
            422,
            f"{ev.type} event without a customer",
            [{"field": "data.object.customer", "message": "Field required", "type": "missing"}],
        )
    return check_customer_id(cid, "data.object.customer")


def translate(data: Any, invoice_for_payment_intent: InvoiceLookup | None = None) -> Delivery | Ignored:
    """A verified Stripe event (its parsed JSON) -> what it asks of a journey.

    `invoice_for_payment_intent` resolves a refunded charge's invoice on current API versions
    (it is I/O: the API calls it in a thread); without it such a refund is refused with 422.
    """
    kind = data.get("type") if type(data) is dict else None
    if isinstance(kind, str) and kind in PAID_INVOICE_EVENTS:
        try:  # most webhooks: the envelope and the invoice in one validation
            paid = InvoiceEvent.model_validate(data)
        except ValidationError:
            pass  # refused below, step by step, naming the wrong fields as always
        else:
            return _paid_invoice(paid, paid.data.object, from_unix(paid.created), f"stripe:{paid.type}")
    ev = validate(StripeEvent, data, "Stripe event")
    at = from_unix(ev.created)
    src = f"stripe:{ev.type}"

    if ev.type == "customer.created":
        c = _object(Customer, ev)
        cid = check_customer_id(c.id, "data.object.id")
        code = (c.metadata.referral_code or "").strip() or None
        return Delivery(
            cid,
            SignedUp(
                event_id=ev.id, occurred_at=at, email=c.email, name=c.name, country=c.country(), referral_code=code
            ),
            src,
        )

    if ev.type == "customer.updated":
        c = _object(Customer, ev)
        cid = check_customer_id(c.id, "data.object.id")
        return Delivery(
            cid, ProfileUpdated(event_id=ev.id, occurred_at=at, email=c.email, name=c.name, country=c.country()), src
        )

    if ev.type in PAID_INVOICE_EVENTS:
        return _paid_invoice(ev, _object(Invoice, ev), at, src)

    if ev.type == "invoice.payment_failed":
        inv = _object(Invoice, ev)
        cid = _customer(inv.customer, ev)
        reason = f"payment attempt {inv.attempt_count} failed" if inv.attempt_count else None
        return Delivery(
            cid,
            PaymentFailed(
                event_id=ev.id,
                occurred_at=at,
                invoice_id=inv.id,
                amount_minor=inv.amount_due,
                currency=inv.currency.upper(),
                reason=reason,
                customer_email=inv.email(),
            ),
            src,
        )

    if ev.type == "customer.subscription.updated":
        sub = _object(Subscription, ev)
        cid = _customer(sub.customer, ev)
        changed = sorted((ev.data.previous_attributes or {}).keys())
        if not {"items", "plan"} & set(changed):
            return Ignored(
                f"subscription {sub.id} updated without a plan change (changed: {', '.join(changed) or 'nothing'})",
                sub.id,
            )
        price = sub.items.data[0].price
        return Delivery(
            cid,
            PlanChanged(
                event_id=ev.id,
                occurred_at=at,
                plan=price.lookup_key or price.id,
                cadence=price.recurring.cadence() if price.recurring else "monthly",
            ),
            src,
        )

    if ev.type == "customer.subscription.deleted":
        sub = _object(Subscription, ev)
        cid = _customer(sub.customer, ev)
        details = sub.cancellation_details or CancellationDetails()
        reason = cast(CancellationReason, details.feedback if details.feedback in _REASONS else "other")
        return Delivery(
            cid,
            SubscriptionCancelled(
                event_id=ev.id,
                occurred_at=at,
                reason=reason,
                comment=details.comment or None,
                involuntary=details.reason == "payment_failed",
            ),
            src,
        )

    if ev.type == "charge.refunded":
        ch = _object(Charge, ev)
        if object_id(ch.customer) is None:
            return Ignored(f"charge {ch.id} has no customer", ch.id)
        cid = _customer(ch.customer, ev)
        before = _previous_amount_refunded(ev)
        amount = ch.amount_refunded - before if before is not None else ch.amount_refunded
        if amount <= 0:
            return Ignored(f"charge {ch.id}: no newly refunded amount", ch.id)
        invoice_id = _refunded_invoice(ch, invoice_for_payment_intent)
        if invoice_id is None:
            return Ignored(f"charge {ch.id} paid no invoice: nothing earned, nothing to reverse", ch.id)
        return Delivery(
            cid,
            RefundIssued(
                event_id=ev.id, occurred_at=at, invoice_id=invoice_id, amount_minor=amount, currency=ch.currency.upper()
            ),
            src,
        )

    return Ignored(f"Stripe event type {ev.type} is not used by Tenure", ev.id)


def _paid_invoice(ev: Envelope, inv: Invoice, at: datetime | None, src: str) -> Delivery | Ignored:
    """`invoice.paid` or `invoice.payment_succeeded` (both come for most invoices: the invoice id, the
    journey's business key, counts it once) -> the payment and the service period it bought."""
    cid = _customer(inv.customer, ev)
    lines = [ln for ln in inv.lines.data if ln.subscription_line()]
    prorations = [ln for ln in inv.lines.data if ln.is_proration()]
    if not lines and not prorations and inv.subscription_id() is None:
        return Ignored(f"invoice {inv.id} belongs to no subscription (one-off invoices earn no points)", inv.id)
    if inv.total == 0:
        return Ignored(f"invoice {inv.id} is free (a trial or a 100% discount): it earns no points", inv.id)
    proration = not lines and bool(prorations)
    if proration and inv.amount_paid == 0:
        return Ignored(f"invoice {inv.id} only bills a proration and charged nothing: it earns no points", inv.id)
    service: tuple[Interval, int] = ("month", 1)
    if lines:
        line = max(lines, key=lambda ln: ln.amount)
        cadence: Cadence = line.cadence()
        service = line.service()
    elif proration and not any(ln.amount < 0 for ln in prorations):
        # Only time added, nothing credited back: a first period cut short to a billing anchor. It
        # buys the days it covers (a change of plan or seats credits the unused time, and buys none).
        line = max(prorations, key=lambda ln: ln.amount)
        cadence, service, proration = "monthly", ("day", _days(line)), False
    else:
        cadence = "monthly"
    interval, count = service
    return Delivery(
        cid,
        PaymentSucceeded(
            event_id=ev.id,
            occurred_at=at,
            invoice_id=inv.id,
            amount_minor=inv.amount_paid,
            currency=inv.currency.upper(),
            cadence=cadence,
            interval=interval,
            interval_count=count,
            proration=proration,
            customer_email=inv.email(),
        ),
        src,
    )


def _days(line: InvoiceLine) -> int:
    return min(1000, max(1, round((line.period.end - line.period.start) / 86400)))


def _previous_amount_refunded(ev: StripeEvent) -> int | None:
    """What the charge had refunded before this event (`previous_attributes.amount_refunded`), if Stripe says."""
    before = (ev.data.previous_attributes or {}).get("amount_refunded")
    if before is None:
        return None
    return validate(
        _PREVIOUS_REFUNDED, before, "charge.refunded event", prefix="data.previous_attributes.amount_refunded"
    )


def _refunded_invoice(ch: Charge, lookup: InvoiceLookup | None) -> str | None:
    """charge.invoice (old API versions) -> metadata.invoice_id -> the PaymentIntent's invoice payment."""
    if (inv := object_id(ch.invoice)) is not None:
        return inv
    if ch.metadata.invoice_id or ch.metadata.invoice:
        return ch.metadata.invoice_id or ch.metadata.invoice
    pi = object_id(ch.payment_intent)
    if pi is None:
        return None
    if lookup is None:
        raise ApiError(
            422,
            f"cannot tell which invoice charge {ch.id} refunded",
            "Since API version 2025-03-31.basil a charge no longer names its invoice. Set TENURE_STRIPE_API_KEY "
            f"so Tenure looks it up through the invoice payments of {pi}, or put metadata.invoice_id on the "
            "charge's PaymentIntent; Stripe retries this event until then.",
        )
    return lookup(pi)


def stripe_invoice_lookup(api_key: str, api_base: str | None = None, timeout: float = 10.0) -> InvoiceLookup:
    """Resolve a PaymentIntent's invoice through Stripe's invoice payments (GET /v1/invoice_payments)."""
    client = stripe.StripeClient(
        api_key,
        base_addresses={"api": api_base} if api_base else None,
        max_network_retries=1,
        http_client=stripe.HTTPXClient(timeout=timeout, allow_sync_methods=True),
    )

    def lookup(payment_intent: str) -> str | None:
        try:
            page = client.v1.invoice_payments.list(
                params={"payment": {"type": "payment_intent", "payment_intent": payment_intent}, "limit": 1}
            )
        except stripe.StripeError as e:
            raise ApiError(503, "Stripe did not answer the invoice lookup", str(e), {"Retry-After": "30"}) from None
        for payment in page.data:
            invoice = payment.invoice
            return invoice if isinstance(invoice, str) else invoice.id
        return None

    return lookup
