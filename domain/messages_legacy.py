"""The events as runs before rules version 2 decode them: the shapes of domain/messages.py before
its fields were bounded. Frozen on purpose, never edited.

A journey replays its signals for years. A run at version 0 or 1 took these models' word for what
an event is (a value past today's bounds was applied, or wedged the run); decoding its history
with today's stricter models would drop such a signal on replay and change what the run did. So
those runs decode with these; runs from version 2 on decode with domain/messages.py, and what does
not decode is quarantined, visibly.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

CancellationReason = Literal[
    "too_expensive",
    "missing_features",
    "switched_service",
    "unused",
    "customer_service",
    "too_complex",
    "low_quality",
    "other",
]

ActivityKind = Literal[
    "login",
    "feature_used",
    "content_shared",
    "profile_completed",
    "survey_answered",
    "review_written",
    "email_opened",
    "email_clicked",
]


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Fact(_Message):
    event_id: str = Field(min_length=1, max_length=200)
    occurred_at: datetime | None = None


class PaymentSucceeded(_Fact):
    type: Literal["payment_succeeded"] = "payment_succeeded"
    invoice_id: str = Field(min_length=1)
    amount_minor: int = Field(ge=0, description="Amount in the currency's minor unit (cents).")
    currency: str = Field(min_length=3, max_length=3)
    cadence: Literal["monthly", "annual"] = "monthly"


class PaymentFailed(_Fact):
    type: Literal["payment_failed"] = "payment_failed"
    invoice_id: str = Field(min_length=1)
    amount_minor: int = Field(0, ge=0)
    currency: str = "USD"
    reason: str | None = None


class SubscriptionCancelled(_Fact):
    type: Literal["subscription_cancelled"] = "subscription_cancelled"
    reason: CancellationReason = "other"
    comment: str | None = None
    involuntary: bool = False


class PlanChanged(_Fact):
    type: Literal["plan_changed"] = "plan_changed"
    plan: str
    cadence: Literal["monthly", "annual"] = "monthly"


class RefundIssued(_Fact):
    type: Literal["refund_issued"] = "refund_issued"
    invoice_id: str = Field(min_length=1)
    amount_minor: int = Field(gt=0)
    currency: str = Field(min_length=3, max_length=3)


class ActivityReported(_Fact):
    type: Literal["activity"] = "activity"
    kind: ActivityKind
    detail: str | None = None


class ProfileUpdated(_Fact):
    """Contact details from the billing system or the app (email, name, time zone)."""

    type: Literal["profile_updated"] = "profile_updated"
    email: str | None = None
    name: str | None = None
    timezone: str | None = None


class SignedUp(_Fact):
    """A new customer: starts onboarding, and links a referral when a code came with the sign-up."""

    type: Literal["signed_up"] = "signed_up"
    email: str | None = None
    name: str | None = None
    timezone: str | None = None
    referral_code: str | None = None


class EmailSuppressed(_Fact):
    """SendGrid reported the address: a bounce or spam report stops everything, an unsubscribe marketing."""

    type: Literal["email_suppressed"] = "email_suppressed"
    reason: Literal["bounce", "spamreport", "dropped", "unsubscribe", "group_unsubscribe"]


class ReferralLinked(_Fact):
    """Sent by a referee's journey to its referrer's: this customer signed up with your code."""

    type: Literal["referral_linked"] = "referral_linked"
    referee_id: str


class ReferralPaid(_Fact):
    type: Literal["referral_paid"] = "referral_paid"
    referee_id: str
    invoice_id: str


class ReferralRefunded(_Fact):
    type: Literal["referral_refunded"] = "referral_refunded"
    referee_id: str
    invoice_id: str


CustomerEvent = Annotated[
    PaymentSucceeded
    | PaymentFailed
    | SubscriptionCancelled
    | PlanChanged
    | RefundIssued
    | ActivityReported
    | ProfileUpdated
    | SignedUp
    | EmailSuppressed
    | ReferralLinked
    | ReferralPaid
    | ReferralRefunded,
    Field(discriminator="type"),
]


class EventEnvelope(_Message):
    """The one signal payload: a single discriminated event."""

    event: CustomerEvent
