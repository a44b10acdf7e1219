"""Stripe's objects as Tenure reads them (validated models; every field Tenure does not read is ignored).

Shapes of the API version the installed `stripe` package pins, plus the older fields still sent by
endpoints on older versions (`invoice.subscription`, `line.price`, `charge.invoice`); see
`stripe_events` for what changed in 2025-03-31.basil.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .cadence import Cadence, cadence_of_interval, cadence_of_period


class StripeObject(BaseModel):
    """Stripe objects carry far more than Tenure reads: unknown fields are ignored."""

    model_config = ConfigDict(extra="ignore")


Expandable = str | dict[str, Any]
"""An id, or the object itself when the sender expanded it."""


def object_id(value: Expandable | None) -> str | None:
    if isinstance(value, dict):
        return value.get("id")
    return value


class EventData(StripeObject):
    object: dict[str, Any]
    previous_attributes: dict[str, Any] | None = None


class StripeEvent(StripeObject):
    """The envelope of every Stripe webhook (a v1 "snapshot" event)."""

    id: str = Field(min_length=1)
    object: Literal["event"]
    type: str = Field(min_length=1)
    created: int
    api_version: str | None = None
    livemode: bool = False
    data: EventData


class Customer(StripeObject):
    id: str
    email: str | None = None
    name: str | None = None
    metadata: dict[str, str] = Field(default_factory=dict)


class Recurring(StripeObject):
    interval: str
    interval_count: int = 1

    def cadence(self) -> Cadence:
        return cadence_of_interval(self.interval, self.interval_count)


class Price(StripeObject):
    id: str
    lookup_key: str | None = None
    nickname: str | None = None
    recurring: Recurring | None = None


class Period(StripeObject):
    start: int
    end: int


class SubscriptionItemDetails(StripeObject):
    subscription: str | None = None
    subscription_item: str | None = None
    proration: bool = False


class LineParent(StripeObject):
    type: str
    subscription_item_details: SubscriptionItemDetails | None = None


class PriceDetails(StripeObject):
    price: Expandable
    product: str | None = None


class Pricing(StripeObject):
    type: str | None = None
    price_details: PriceDetails | None = None


class InvoiceLine(StripeObject):
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

    def cadence(self) -> Cadence:
        """From the price's interval (older API versions), else from the billed period."""
        if self.price is not None and self.price.recurring is not None:
            return self.price.recurring.cadence()
        return cadence_of_period(self.period.start, self.period.end)


class InvoiceLines(StripeObject):
    data: list[InvoiceLine] = Field(default_factory=list)


class SubscriptionDetails(StripeObject):
    subscription: Expandable | None = None


class InvoiceParent(StripeObject):
    type: str
    subscription_details: SubscriptionDetails | None = None


class Invoice(StripeObject):
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
            return object_id(self.parent.subscription_details.subscription)
        return object_id(self.subscription)


class SubscriptionItem(StripeObject):
    id: str
    price: Price


class SubscriptionItems(StripeObject):
    data: list[SubscriptionItem] = Field(min_length=1)


class CancellationDetails(StripeObject):
    comment: str | None = None
    feedback: str | None = None
    reason: str | None = None


class Subscription(StripeObject):
    id: str
    customer: Expandable
    status: str
    items: SubscriptionItems
    cancellation_details: CancellationDetails | None = None


class Charge(StripeObject):
    id: str
    customer: Expandable | None = None
    currency: str = Field(min_length=3, max_length=3)
    amount: int = Field(ge=0)
    amount_refunded: int = Field(ge=0)
    payment_intent: Expandable | None = None
    metadata: dict[str, str] = Field(default_factory=dict)
    invoice: Expandable | None = None  # API versions before 2025-03-31.basil
