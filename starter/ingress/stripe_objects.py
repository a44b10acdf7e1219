"""Stripe's objects as Tenure reads them (validated models; every field Tenure does not read is ignored).

Shapes of the API version the installed `stripe` package pins, plus the older fields still sent by
endpoints on older versions (`invoice.subscription`, `line.price`, `charge.invoice`); see
`stripe_events` for what changed in 2025-03-31.basil.

What Tenure reads is typed as Stripe sends it, strictly: amounts and times are JSON integers in
Stripe's API (never strings: only the `*_decimal` fields are), so a string or a boolean there is
not Stripe's and is refused; amounts within `MAX_AMOUNT_MINOR` (Stripe's own twelve-digit
ceiling), currencies of ISO 4217, ids and texts without control characters.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, TypeAdapter, ValidationError

from domain.messages import MAX_AMOUNT_MINOR, AmountMinor, Code, Comment, Id, Name, line, whole_number

from .bounds import Currency, EmailAddress, RecentUnixTime, UnixTime, lenient_country
from .cadence import (
    Cadence,
    Interval,
    cadence_of_interval,
    cadence_of_period,
    service_of_interval,
    service_of_period,
)

SignedAmount = Annotated[int, Field(ge=-MAX_AMOUNT_MINOR, le=MAX_AMOUNT_MINOR), BeforeValidator(whole_number)]
"""An invoice line or total: negative for credits and discounts."""
Word = Annotated[str, line(100)]
_EMAIL: TypeAdapter[str] = TypeAdapter(EmailAddress)


class StripeObject(BaseModel):
    """Stripe objects carry far more than Tenure reads: unknown fields are ignored."""

    model_config = ConfigDict(extra="ignore")


class Expanded(StripeObject):
    """An object the sender expanded in place of its id."""

    id: Id


Expandable = Id | Expanded
"""An id, or the object itself when the sender expanded it."""


def object_id(value: Expandable | None) -> str | None:
    if isinstance(value, Expanded):
        return value.id
    return value


class EventData(StripeObject):
    object: dict[str, Any]
    previous_attributes: dict[str, Any] | None = None


class Envelope(StripeObject):
    """The fields every Stripe event shares; `StripeEvent` and `InvoiceEvent` add its data."""

    id: Id
    object: Literal["event"]
    type: Annotated[str, line(100, min_length=1)]
    created: RecentUnixTime
    api_version: Word | None = None
    livemode: StrictBool = False


class StripeEvent(Envelope):
    """The envelope of every Stripe webhook (a v1 "snapshot" event)."""

    data: EventData


class Metadata(StripeObject):
    """The keys of an object's metadata that Tenure reads (the rest are the account's own business)."""

    referral_code: Code | None = None
    invoice_id: Id | None = None
    invoice: Id | None = None


class Address(StripeObject):
    country: Annotated[str | None, BeforeValidator(lenient_country)] = None  # an odd one is ignored, not refused


class Customer(StripeObject):
    id: Id
    email: EmailAddress | None = None
    name: Name | None = None
    address: Address | None = None
    metadata: Metadata = Field(default_factory=Metadata)

    def country(self) -> str | None:
        return self.address.country if self.address else None


class Recurring(StripeObject):
    interval: Word
    interval_count: Annotated[int, Field(ge=1, le=10_000), BeforeValidator(whole_number)] = 1

    def cadence(self) -> Cadence:
        return cadence_of_interval(self.interval, self.interval_count)


class Price(StripeObject):
    id: Id
    lookup_key: Id | None = None
    recurring: Recurring | None = None


class Period(StripeObject):
    start: UnixTime
    end: UnixTime


class SubscriptionItemDetails(StripeObject):
    subscription: str | None = None
    subscription_item: str | None = None
    proration: bool = False


class LineParent(StripeObject):
    type: str
    subscription_item_details: SubscriptionItemDetails | None = None


class InvoiceLine(StripeObject):
    """What a paid invoice's translation reads of a line (its id and `pricing`, never read, are not checked)."""

    amount: SignedAmount
    period: Period
    parent: LineParent | None = None
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

    def cadence(self) -> Cadence:
        """From the price's interval (older API versions), else from the billed period."""
        if self.price is not None and self.price.recurring is not None:
            return self.price.recurring.cadence()
        return cadence_of_period(self.period.start, self.period.end)

    def service(self) -> tuple[Interval, int]:
        """The service period this line bills: the price's interval (older API versions), else its period."""
        if self.price is not None and self.price.recurring is not None:
            r = self.price.recurring
            known = service_of_interval(r.interval, r.interval_count)
            if known is not None:
                return known
        return service_of_period(self.period.start, self.period.end)

    def is_proration(self) -> bool:
        """A subscription line that bills a proration (a plan, quantity or anchor change mid-period)."""
        if self.parent is not None:
            details = self.parent.subscription_item_details
            return self.parent.type == "subscription_item_details" and details is not None and details.proration
        return self.subscription is not None and self.proration


class InvoiceLines(StripeObject):
    data: list[InvoiceLine] = Field(default_factory=list)


class SubscriptionDetails(StripeObject):
    subscription: Expandable | None = None


class InvoiceParent(StripeObject):
    type: str
    subscription_details: SubscriptionDetails | None = None


class Invoice(StripeObject):
    id: Id
    customer: Expandable
    currency: Currency
    amount_paid: AmountMinor = 0
    amount_due: AmountMinor = 0
    total: SignedAmount | None = None
    attempt_count: Annotated[int, Field(ge=0, le=10_000), BeforeValidator(whole_number)] = 0
    customer_email: Any = None  # read leniently (`email()`): an odd address must not refuse a payment
    parent: InvoiceParent | None = None
    lines: InvoiceLines = Field(default_factory=InvoiceLines)
    subscription: Expandable | None = None  # older API versions

    def email(self) -> str | None:
        """The invoice's billing address when it is a sound one; None otherwise (the payment still counts)."""
        try:
            return _EMAIL.validate_python(self.customer_email) if self.customer_email is not None else None
        except ValidationError:
            return None

    def subscription_id(self) -> str | None:
        if self.parent is not None and self.parent.subscription_details is not None:
            return object_id(self.parent.subscription_details.subscription)
        return object_id(self.subscription)


class SubscriptionItem(StripeObject):
    id: Id
    price: Price


class SubscriptionItems(StripeObject):
    data: list[SubscriptionItem] = Field(min_length=1)


class CancellationDetails(StripeObject):
    comment: Comment | None = None
    feedback: Word | None = None
    reason: Word | None = None


class Subscription(StripeObject):
    id: Id
    customer: Expandable
    status: Word
    items: SubscriptionItems
    cancellation_details: CancellationDetails | None = None


class Charge(StripeObject):
    id: Id
    customer: Expandable | None = None
    currency: Currency
    amount: AmountMinor
    amount_refunded: AmountMinor
    payment_intent: Expandable | None = None
    metadata: Metadata = Field(default_factory=Metadata)
    invoice: Expandable | None = None  # API versions before 2025-03-31.basil


class InvoiceEventData(StripeObject):
    object: Invoice
    previous_attributes: dict[str, Any] | None = None


class InvoiceEvent(Envelope):
    """An invoice event validated in one pass, envelope and invoice (a paid invoice: most webhooks):
    what `StripeEvent` and then `Invoice` check, without copying the object's JSON in between."""

    data: InvoiceEventData
