"""Stripe webhook events -> domain events. Pure functions over the verified event's JSON.

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
| customer.created                 | SignedUp(email, name, referral_code = metadata.referral_code)        |
| customer.updated                 | ProfileUpdated(email, name)                                          |
| invoice.paid                     | PaymentSucceeded(invoice_id, amount_paid, CURRENCY, monthly/annual)  |
|                                  | (ignored: one-off invoices, free invoices with total 0)              |
| invoice.payment_failed           | PaymentFailed(invoice_id, amount_due, CURRENCY, attempt count)       |
| customer.subscription.updated    | PlanChanged(price lookup_key or id, cadence) — only if items changed |
| customer.subscription.deleted    | SubscriptionCancelled(feedback or "other", comment, involuntary)     |
| charge.refunded                  | RefundIssued(invoice_id, newly refunded amount, CURRENCY)            |
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from domain.messages import (
    CancellationReason,
    PaymentFailed,
    PaymentSucceeded,
    PlanChanged,
    ProfileUpdated,
    RefundIssued,
    SignedUp,
    SubscriptionCancelled,
)

from .ingress import ApiError, Delivery, Ignored, check_customer_id, from_unix, validate

ANNUAL_PERIOD_DAYS = 300
"""A subscription line whose period lasts at least this long is billed annually."""

HANDLED = (
    "customer.created",
    "customer.updated",
    "invoice.paid",
    "invoice.payment_failed",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "charge.refunded",
)

InvoiceLookup = Callable[[str], "str | None"]
"""payment_intent id -> the invoice it paid (None: it paid no invoice)."""

_REASONS = set(get_args(CancellationReason))


class _S(BaseModel):
    """Stripe objects carry far more than Tenure reads: unknown fields are ignored."""

    model_config = ConfigDict(extra="ignore")


Expandable = str | dict[str, Any]


def _id(value: Expandable | None) -> str | None:
    if isinstance(value, dict):
        return value.get("id")
    return value


class EventData(_S):
    object: dict[str, Any]
    previous_attributes: dict[str, Any] | None = None


class StripeEvent(_S):
    """The envelope of every Stripe webhook (a v1 "snapshot" event)."""

    id: str = Field(min_length=1)
    object: Literal["event"]
    type: str = Field(min_length=1)
    created: int
    api_version: str | None = None
    livemode: bool = False
    data: EventData


# --- objects --------------------------------------------------------------------------------


class Customer(_S):
    id: str
    email: str | None = None
    name: str | None = None
    metadata: dict[str, str] = Field(default_factory=dict)


class Recurring(_S):
    interval: str
    interval_count: int = 1


class Price(_S):
    id: str
    lookup_key: str | None = None
    nickname: str | None = None
    recurring: Recurring | None = None


class Period(_S):
    start: int
    end: int


class SubscriptionItemDetails(_S):
    subscription: str | None = None
    subscription_item: str | None = None
    proration: bool = False


class LineParent(_S):
    type: str
    subscription_item_details: SubscriptionItemDetails | None = None


class PriceDetails(_S):
    price: Expandable
    product: str | None = None


class Pricing(_S):
    type: str | None = None
    price_details: PriceDetails | None = None


class InvoiceLine(_S):
    id: str
    amount: int
    period: Period
    parent: LineParent | None = None
    pricing: Pricing | None = None
    # older API versions
    price: Price | None = None
    subscription: Expandable | None = None
    proration: bool = False

    def subscription_line(self) -> bool:
        if self.parent is not None:
            return self.parent.type == "subscription_item_details" and not (
                self.parent.subscription_item_details and self.parent.subscription_item_details.proration
            )
        return self.subscription is not None and not self.proration

    def cadence(self) -> Literal["monthly", "annual"]:
        if self.price is not None and self.price.recurring is not None:  # older API versions
            r = self.price.recurring
            months = {"year": 12 * r.interval_count, "month": r.interval_count}.get(r.interval, 0)
            return "annual" if months >= 12 else "monthly"
        days = (self.period.end - self.period.start) / 86400
        return "annual" if days >= ANNUAL_PERIOD_DAYS else "monthly"


class InvoiceLines(_S):
    data: list[InvoiceLine] = Field(default_factory=list)


class SubscriptionDetails(_S):
    subscription: Expandable | None = None


class InvoiceParent(_S):
    type: str
    subscription_details: SubscriptionDetails | None = None


class Invoice(_S):
    id: str
    customer: Expandable
    currency: str = Field(min_length=3, max_length=3)
    amount_paid: int = Field(0, ge=0)
    amount_due: int = Field(0, ge=0)
    total: int | None = None
    attempt_count: int = 0
    billing_reason: str | None = None
    parent: InvoiceParent | None = None
    lines: InvoiceLines = Field(default_factory=InvoiceLines)
    subscription: Expandable | None = None  # older API versions

    def subscription_id(self) -> str | None:
        if self.parent is not None and self.parent.subscription_details is not None:
            return _id(self.parent.subscription_details.subscription)
        return _id(self.subscription)


class SubscriptionItem(_S):
    id: str
    price: Price


class SubscriptionItems(_S):
    data: list[SubscriptionItem] = Field(min_length=1)


class CancellationDetails(_S):
    comment: str | None = None
    feedback: str | None = None
    reason: str | None = None


class Subscription(_S):
    id: str
    customer: Expandable
    status: str
    items: SubscriptionItems
    cancellation_details: CancellationDetails | None = None


class Charge(_S):
    id: str
    customer: Expandable | None = None
    currency: str = Field(min_length=3, max_length=3)
    amount: int = Field(ge=0)
    amount_refunded: int = Field(ge=0)
    payment_intent: Expandable | None = None
    metadata: dict[str, str] = Field(default_factory=dict)
    invoice: Expandable | None = None  # API versions before 2025-03-31.basil


# --- translation ----------------------------------------------------------------------------


def parse_event(data: Any) -> StripeEvent:
    return validate(StripeEvent, data, "Stripe event")


def _object(model: type[_S], ev: StripeEvent):
    return validate(model, ev.data.object, f"{ev.type} event", prefix="data.object")


def _customer(value: Expandable | None, ev: StripeEvent) -> str:
    cid = _id(value)
    if not cid:
        raise ApiError(
            422,
            f"{ev.type} event without a customer",
            [{"field": "data.object.customer", "message": "Field required", "type": "missing"}],
        )
    return check_customer_id(cid, "data.object.customer")


def _cadence(price: Price) -> Literal["monthly", "annual"]:
    r = price.recurring
    if r is None:
        return "monthly"
    months = {"year": 12 * r.interval_count, "month": r.interval_count}.get(r.interval, 0)
    return "annual" if months >= 12 else "monthly"


def translate(data: Any, invoice_for_payment_intent: InvoiceLookup | None = None) -> Delivery | Ignored:
    """A verified Stripe event (its parsed JSON) -> what it asks of a journey.

    `invoice_for_payment_intent` resolves a refunded charge's invoice on current API versions
    (it is I/O: the API calls it in a thread); without it such a refund is refused with 422.
    """
    ev = parse_event(data)
    at = from_unix(ev.created)
    src = f"stripe:{ev.type}"

    if ev.type == "customer.created":
        c = _object(Customer, ev)
        cid = check_customer_id(c.id, "data.object.id")
        code = (c.metadata.get("referral_code") or "").strip() or None
        return Delivery(
            cid, SignedUp(event_id=ev.id, occurred_at=at, email=c.email, name=c.name, referral_code=code), src
        )

    if ev.type == "customer.updated":
        c = _object(Customer, ev)
        cid = check_customer_id(c.id, "data.object.id")
        return Delivery(cid, ProfileUpdated(event_id=ev.id, occurred_at=at, email=c.email, name=c.name), src)

    if ev.type == "invoice.paid":
        inv = _object(Invoice, ev)
        cid = _customer(inv.customer, ev)
        lines = [ln for ln in inv.lines.data if ln.subscription_line()]
        if not lines and inv.subscription_id() is None:
            return Ignored(f"invoice {inv.id} belongs to no subscription (one-off invoices earn no points)", inv.id)
        if inv.total == 0:
            return Ignored(f"invoice {inv.id} is free (a trial or a 100% discount): it earns no points", inv.id)
        line = max(lines, key=lambda ln: ln.amount) if lines else None
        cadence = line.cadence() if line else "monthly"
        return Delivery(
            cid,
            PaymentSucceeded(
                event_id=ev.id,
                occurred_at=at,
                invoice_id=inv.id,
                amount_minor=inv.amount_paid,
                currency=inv.currency.upper(),
                cadence=cadence,
            ),
            src,
        )

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
            PlanChanged(event_id=ev.id, occurred_at=at, plan=price.lookup_key or price.id, cadence=_cadence(price)),
            src,
        )

    if ev.type == "customer.subscription.deleted":
        sub = _object(Subscription, ev)
        cid = _customer(sub.customer, ev)
        details = sub.cancellation_details or CancellationDetails()
        reason = details.feedback if details.feedback in _REASONS else "other"
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
        if _id(ch.customer) is None:
            return Ignored(f"charge {ch.id} has no customer", ch.id)
        cid = _customer(ch.customer, ev)
        before = (ev.data.previous_attributes or {}).get("amount_refunded")
        amount = ch.amount_refunded - before if isinstance(before, int) else ch.amount_refunded
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


def _refunded_invoice(ch: Charge, lookup: InvoiceLookup | None) -> str | None:
    """charge.invoice (old API versions) -> metadata.invoice_id -> the PaymentIntent's invoice payment."""
    if (inv := _id(ch.invoice)) is not None:
        return inv
    for key in ("invoice_id", "invoice"):
        if ch.metadata.get(key):
            return ch.metadata[key]
    pi = _id(ch.payment_intent)
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
    import stripe

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
            return _id(payment.invoice)
        return None

    return lookup
