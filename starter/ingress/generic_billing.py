"""The generic billing webhook: a documented, signed format for in-house billing systems.

One event per request, `POST /webhooks/billing`, JSON body (the schema `BillingEvent` is published
in the OpenAPI document at /docs):

    {"id": "bill_evt_0001", "type": "payment.succeeded", "customer_id": "acme-42",
     "occurred_at": "2026-01-31T12:00:00Z",
     "invoice_id": "inv_2026_01", "amount_minor": 4900, "currency": "EUR", "cadence": "monthly"}

`id` is the sender's event id: a repeated id is answered 200 and has no effect. Unknown fields
are refused (they are usually typos), amounts are JSON integers in the currency's minor unit
(cents; never a string or a boolean), currencies ISO 4217 codes, `occurred_at` ISO 8601 with a
time zone; every limit is in `domain/messages.py` and `bounds.py` (README: Answers and errors).

Signature: header `Tenure-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, f"{t}.{body}")>`,
the body exactly as sent; the secret is TENURE_BILLING_WEBHOOK_SECRET (several, comma-separated,
while rotating; the header may carry several v1= values). A timestamp more than 5 minutes away
from the receiver's clock is refused, so a captured request cannot be replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, TypeAdapter

from domain.messages import (
    AmountMinor,
    CancellationReason,
    Code,
    Comment,
    Id,
    Name,
    PaymentFailed,
    PaymentSucceeded,
    PlanChanged,
    PositiveAmountMinor,
    ProfileUpdated,
    RefundIssued,
    SignedUp,
    SubscriptionCancelled,
    Text,
    whole_number,
)
from starter.api.errors import ApiError

from .bounds import Country, Currency, EmailAddress, RecentTime, ZoneName
from .cadence import Cadence, Interval, cadence_of_interval
from .configuration import configured_secrets
from .customer_ids import CustomerId
from .parsing import parse_json, validate
from .results import Delivery

SIGNATURE_HEADER = "Tenure-Signature"
TOLERANCE_SECONDS = 300


class _Base(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: Id = Field(description="The sender's unique event id (deduplication key).")
    customer_id: CustomerId
    occurred_at: RecentTime | None = Field(None, description="When it happened at the sender (ISO 8601, with a zone).")


class CustomerCreated(_Base):
    """A new customer; `referral_code` is the code they signed up with, if any."""

    type: Literal["customer.created"]
    email: EmailAddress | None = None
    name: Name | None = None
    timezone: ZoneName | None = Field(None, examples=["Europe/Berlin"])
    country: Country | None = None
    referral_code: Code | None = None

    def to_domain(self) -> SignedUp:
        return SignedUp(
            event_id=self.id,
            occurred_at=self.occurred_at,
            email=self.email,
            name=self.name,
            timezone=self.timezone,
            country=self.country,
            referral_code=self.referral_code,
        )


class CustomerUpdated(_Base):
    type: Literal["customer.updated"]
    email: EmailAddress | None = None
    name: Name | None = None
    timezone: ZoneName | None = None
    country: Country | None = None

    def to_domain(self) -> ProfileUpdated:
        return ProfileUpdated(
            event_id=self.id,
            occurred_at=self.occurred_at,
            email=self.email,
            name=self.name,
            timezone=self.timezone,
            country=self.country,
        )


class PaymentSucceededEvent(_Base):
    """An invoice was paid (a subscription payment or renewal)."""

    type: Literal["payment.succeeded"]
    invoice_id: Id
    amount_minor: AmountMinor = Field(description="Amount paid in the currency's minor unit.")
    currency: Currency
    cadence: Cadence = Field(description="The subscription's billing interval.")
    interval: Interval | None = Field(
        None, description="The service period bought (day, week, month, year); earns in proportion. Default: cadence."
    )
    interval_count: Annotated[int, Field(ge=1, le=1000), BeforeValidator(whole_number)] = Field(
        1, description="How many intervals it bought (interval month, count 3: a quarter)."
    )
    proration: StrictBool = Field(False, description="Only a proration (a mid-period plan or seat change).")
    email: EmailAddress | None = Field(None, description="The customer's billing address, used while none is known.")

    def to_domain(self) -> PaymentSucceeded:
        interval = self.interval or ("year" if self.cadence == "annual" else "month")
        return PaymentSucceeded(
            event_id=self.id,
            occurred_at=self.occurred_at,
            invoice_id=self.invoice_id,
            amount_minor=self.amount_minor,
            currency=self.currency.upper(),
            cadence=self.cadence if self.interval is None else cadence_of_interval(interval, self.interval_count),
            interval=interval,
            interval_count=self.interval_count if self.interval is not None else 1,
            proration=self.proration,
            customer_email=self.email,
        )


class PaymentFailedEvent(_Base):
    type: Literal["payment.failed"]
    invoice_id: Id
    amount_minor: AmountMinor = 0
    currency: Currency = "USD"
    reason: Text | None = Field(None, examples=["card_declined"])

    def to_domain(self) -> PaymentFailed:
        return PaymentFailed(
            event_id=self.id,
            occurred_at=self.occurred_at,
            invoice_id=self.invoice_id,
            amount_minor=self.amount_minor,
            currency=self.currency.upper(),
            reason=self.reason,
        )


class PlanChangedEvent(_Base):
    type: Literal["subscription.plan_changed"]
    plan: Id
    cadence: Cadence = "monthly"

    def to_domain(self) -> PlanChanged:
        return PlanChanged(event_id=self.id, occurred_at=self.occurred_at, plan=self.plan, cadence=self.cadence)


class SubscriptionCancelledEvent(_Base):
    """The subscription ended. `reason` uses Stripe's cancellation feedback values."""

    type: Literal["subscription.cancelled"]
    reason: CancellationReason = "other"
    comment: Comment | None = None
    involuntary: StrictBool = Field(False, description="True when it ended because payments failed.")

    def to_domain(self) -> SubscriptionCancelled:
        return SubscriptionCancelled(
            event_id=self.id,
            occurred_at=self.occurred_at,
            reason=self.reason,
            comment=self.comment,
            involuntary=self.involuntary,
        )


class RefundIssuedEvent(_Base):
    """Money of a paid invoice went back: the points that payment earned are reversed (pro rata)."""

    type: Literal["refund.issued"]
    invoice_id: Id
    amount_minor: PositiveAmountMinor = Field(description="This refund's amount (not a running total).")
    currency: Currency

    def to_domain(self) -> RefundIssued:
        return RefundIssued(
            event_id=self.id,
            occurred_at=self.occurred_at,
            invoice_id=self.invoice_id,
            amount_minor=self.amount_minor,
            currency=self.currency.upper(),
        )


BillingEvent = Annotated[
    CustomerCreated
    | CustomerUpdated
    | PaymentSucceededEvent
    | PaymentFailedEvent
    | PlanChangedEvent
    | SubscriptionCancelledEvent
    | RefundIssuedEvent,
    Field(discriminator="type"),
]
billing_event_adapter: TypeAdapter = TypeAdapter(BillingEvent)
EVENT_TYPES: list[str] = [get_args(m.model_fields["type"].annotation)[0] for m in get_args(get_args(BillingEvent)[0])]


def translate(data: Any) -> Delivery:
    """A verified body (parsed JSON) -> the domain event for the customer's journey."""
    if isinstance(data, dict) and "type" in data and data["type"] not in EVENT_TYPES:
        raise ApiError(
            422,
            f"unknown event type {data['type']!r}",
            [{"field": "type", "message": f"must be one of {', '.join(EVENT_TYPES)}", "type": "union_tag_invalid"}],
        )
    ev = validate(billing_event_adapter, data, "billing event")
    return Delivery(ev.customer_id, ev.to_domain(), f"billing:{ev.type}")


# --- signature ------------------------------------------------------------------------------


def signing_secrets(setting: str | None) -> list[str]:
    """The HMAC secrets (several while rotating), or 503 until one is set."""
    return configured_secrets(setting, "billing", "set TENURE_BILLING_WEBHOOK_SECRET")


def sign(body: bytes | str, secret: str, timestamp: int | None = None) -> str:
    """The `Tenure-Signature` header value for `body` (for senders and tests)."""
    t = int(time.time()) if timestamp is None else int(timestamp)
    raw = body.encode() if isinstance(body, str) else body
    mac = hmac.new(secret.encode(), f"{t}.".encode() + raw, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def verified_event(body: bytes, header: str | None, secrets: list[str]) -> Any:
    """The body's JSON once its signature checks out (parsed once, after the check)."""
    verify(body, header, secrets)
    return parse_json(body)


def verify(
    body: bytes, header: str | None, secrets: list[str], tolerance: int = TOLERANCE_SECONDS, now: float | None = None
) -> None:
    """Raise ApiError 401 unless `header` signs `body` with one of `secrets` within `tolerance`."""
    if not header:
        raise ApiError(
            401,
            f"missing {SIGNATURE_HEADER} header",
            f"sign the body: {SIGNATURE_HEADER}: t=<unix time>,v1=<hex HMAC-SHA256(secret, t + '.' + body)>",
        )
    t: int | None = None
    sigs: list[str] = []
    for item in header.split(","):
        k, sep, v = item.strip().partition("=")
        if not sep:
            continue
        if k == "t":
            try:
                t = int(v)
            except ValueError:
                t = None
        elif k == "v1":
            sigs.append(v.strip())
    if t is None or not sigs:
        raise ApiError(401, f"malformed {SIGNATURE_HEADER} header", "expected t=<unix time>,v1=<hex signature>")
    now = time.time() if now is None else now
    signed = f"{t}.".encode() + body
    expected = [hmac.new(s.encode(), signed, hashlib.sha256).hexdigest() for s in secrets]
    # bytes: compare_digest raises TypeError (a 500) on a str with characters other than ASCII
    if not any(hmac.compare_digest(e.encode(), s.encode()) for e in expected for s in sigs):
        raise ApiError(401, "signature does not match the body", "check the secret and sign the exact bytes sent")
    if abs(now - t) > tolerance:
        raise ApiError(
            401,
            f"stale timestamp: t={t} is {int(abs(now - t))} s away from now (tolerance {tolerance} s)",
            "sign each delivery (and each retry) with the current time",
        )
