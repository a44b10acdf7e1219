"""What the outside world tells a customer's journey, and what it asks of it.

Every fact carries an `event_id` chosen by its sender (Stripe's event id, an invoice id, the
app's own id): the journey applies a given id once, however often it is delivered.

Every field is bounded and typed here, the Python client's door: integers are JSON's (never a
string, a boolean or a fraction), amounts and points have a ceiling, ids and texts a length and no control
characters (PostgreSQL cannot store NUL; a line break in an id is a forgery), a currency is
three capital letters. These models also decode the signals a journey replays for years, so a
bound here must hold for every history ever recorded, and must not depend on the clock or on
a list that changes: the edge (`starter/ingress/bounds.py`) adds what does (ISO 4217 codes
in force, how recent a fact is) and the shapes the edge never checked before (an address's @,
a zone name's), which older histories may not have.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    StrictBool,
    StringConstraints,
    model_serializer,
    model_validator,
)

MAX_AMOUNT_MINOR = 999_999_999_999
"""The largest amount, in minor units: twelve digits, the most Stripe accepts in any currency
(IDR). Far inside 64-bit integers (and JavaScript's exact 2^53) however many are summed."""

MAX_POINTS = 1_000_000_000_000
"""The most points one request may name: beyond any balance a program can build."""

EARLIEST_FACT = datetime(2000, 1, 1, tzinfo=UTC)
"""No fact about a SaaS subscription happened before this."""

MAX_ID_LENGTH = 200
MAX_EMAIL_LENGTH = 320  # RFC 3696: 64 for the local part, @, 255 for the domain
MAX_NAME_LENGTH = 256
MAX_TEXT_LENGTH = 500  # reasons, details: one sentence or a URL
MAX_COMMENT_LENGTH = 5000  # a customer's own words (Stripe's cancellation comment allows 5000)

SINGLE_LINE = r"^[^\x00-\x1f\x7f-\x9f]*$"
"""No control character at all (C0, DEL, C1): ids, names, addresses, codes."""
FREE_TEXT = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"
"""Tabs and line breaks allowed, no other control character: comments, reasons, details."""


def line(max_length: int, min_length: int = 0) -> StringConstraints:
    return StringConstraints(min_length=min_length, max_length=max_length, pattern=SINGLE_LINE)


def text(max_length: int) -> StringConstraints:
    return StringConstraints(max_length=max_length, pattern=FREE_TEXT)


def whole_number(value: object) -> object:
    """A JSON integer: an int, or a number without a fraction (JSON does not tell 4900 from 4900.0);
    never a string or a boolean (an amount of "4900" or true is a sender's bug). Put it after the
    bounds (`Annotated[int, Field(ge=...), BeforeValidator(whole_number)]`) so they reach the schema."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be an integer (a JSON number, not a string or a boolean)")
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _not_before_2000(at: datetime | None) -> datetime | None:
    if at is not None and (at if at.tzinfo else at.replace(tzinfo=UTC)) < EARLIEST_FACT:
        raise ValueError(f"must not be before {EARLIEST_FACT:%Y-%m-%d}")
    return at


Id = Annotated[str, line(MAX_ID_LENGTH, min_length=1)]
"""An id chosen by a sender: 1-200 characters, no control characters."""
AmountMinor = Annotated[int, Field(ge=0, le=MAX_AMOUNT_MINOR), BeforeValidator(whole_number)]
PositiveAmountMinor = Annotated[int, Field(gt=0, le=MAX_AMOUNT_MINOR), BeforeValidator(whole_number)]
CurrencyCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
"""Three capital letters (which codes ISO 4217 lists is checked at the edge: the list changes)."""
Points = Annotated[int, Field(ge=-MAX_POINTS, le=MAX_POINTS), BeforeValidator(whole_number)]
Email = Annotated[str, line(MAX_EMAIL_LENGTH)]
"""An address, one line (its shape, local@domain, is the edge's: `bounds.EmailAddress`)."""
Name = Annotated[str, line(MAX_NAME_LENGTH)]
TimeZoneName = Annotated[str, line(64)]
"""A zone name, one line (its shape is the edge's: `bounds.ZoneName`); an unknown zone falls back to UTC."""
Code = Annotated[str, line(100)]
CountryCode = Annotated[str, Field(min_length=2, max_length=2, pattern=r"^[A-Za-z]{2}$"), AfterValidator(str.upper)]
"""ISO 3166-1 alpha-2 (any case; kept upper-case)."""
Text = Annotated[str, text(MAX_TEXT_LENGTH)]
Comment = Annotated[str, text(MAX_COMMENT_LENGTH)]
OccurredAt = Annotated[datetime | None, AfterValidator(_not_before_2000)]

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
    event_id: Id
    occurred_at: OccurredAt = None


class PaymentSucceeded(_Fact):
    type: Literal["payment_succeeded"] = "payment_succeeded"
    invoice_id: Id
    amount_minor: AmountMinor = Field(description="Amount in the currency's minor unit (cents).")
    currency: CurrencyCode
    cadence: Literal["monthly", "annual"] = "monthly"
    # Rules version 3 reads these (older runs earn by `cadence` and ignore them):
    interval: Literal["day", "week", "month", "year"] | None = Field(
        None,
        exclude_if=lambda v: v is None,
        description="The service period bought (a price's recurring interval); None: from `cadence`.",
    )
    interval_count: Annotated[int, Field(ge=1, le=1000), BeforeValidator(whole_number)] = Field(
        1, exclude_if=lambda v: v == 1, description="How many intervals the payment bought (3 months: a quarter)."
    )
    proration: StrictBool = Field(
        False,
        exclude_if=lambda v: v is False,
        description="The invoice bills only a proration (a mid-cycle plan or seat change), no new period.",
    )
    customer_email: Email | None = Field(
        None,
        exclude_if=lambda v: v is None,
        description="The billing address on the invoice: used while the journey has none.",
    )


# The fields version 3 added to `payment_succeeded` (and `customer_email` to `payment_failed`),
# left out of the JSON while unset (an event without them is the JSON it always was). Runs before
# version 2 decode with the frozen legacy models, which do not know them, so the workflow takes
# them out for those runs.
PAYMENT_FIELDS_SINCE_V3 = ("interval", "interval_count", "proration", "customer_email")
# And `country` on `signed_up` and `profile_updated` (segments), the same way.
CONTACT_FIELDS_SINCE_V3 = ("country",)
# The survey score (rules version 4) travels the same way: left out while unset, taken out for those runs.
ACTIVITY_FIELDS_SINCE_V4 = ("score",)


class PaymentFailed(_Fact):
    type: Literal["payment_failed"] = "payment_failed"
    invoice_id: Id
    amount_minor: AmountMinor = 0
    currency: CurrencyCode = "USD"
    reason: Text | None = None
    customer_email: Email | None = Field(  # rules version 3, as for a payment: dunning needs an address
        None,
        exclude_if=lambda v: v is None,
        description="The billing address on the invoice: used while the journey has none.",
    )


class SubscriptionCancelled(_Fact):
    type: Literal["subscription_cancelled"] = "subscription_cancelled"
    reason: CancellationReason = "other"
    comment: Comment | None = None
    involuntary: StrictBool = False


class PlanChanged(_Fact):
    type: Literal["plan_changed"] = "plan_changed"
    plan: Id
    cadence: Literal["monthly", "annual"] = "monthly"


class RefundIssued(_Fact):
    type: Literal["refund_issued"] = "refund_issued"
    invoice_id: Id
    amount_minor: PositiveAmountMinor
    currency: CurrencyCode


class ActivityReported(_Fact):
    type: Literal["activity"] = "activity"
    kind: ActivityKind
    detail: Text | None = None
    score: int | None = Field(
        None,
        ge=1,
        le=5,
        description="A survey answer's satisfaction score, 1-5 (survey_answered only): the program's "
        "satisfaction goal is measured from it.",
    )

    @model_validator(mode="after")
    def _score_for_surveys(self) -> ActivityReported:
        if self.score is not None and self.kind != "survey_answered":
            raise ValueError("score: only a survey_answered event carries a score")
        return self

    @model_serializer(mode="wrap")
    def _no_empty_score(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """Without a score, the event is sent exactly as before the field existed, so runs from before
        rules version 2 (which decode with domain/messages_legacy.py, where extra fields are refused)
        take it as they always did."""
        data = handler(self)
        if data.get("score") is None:
            data.pop("score", None)
        return data


class ProfileUpdated(_Fact):
    """Contact details from the billing system or the app (email, name, time zone)."""

    type: Literal["profile_updated"] = "profile_updated"
    email: Email | None = None
    name: Name | None = None
    timezone: TimeZoneName | None = None
    country: CountryCode | None = Field(None, exclude_if=lambda v: v is None, description="ISO 3166-1 alpha-2.")


class SignedUp(_Fact):
    """A new customer: starts onboarding, and links a referral when a code came with the sign-up."""

    type: Literal["signed_up"] = "signed_up"
    email: Email | None = None
    name: Name | None = None
    timezone: TimeZoneName | None = None
    country: CountryCode | None = Field(None, exclude_if=lambda v: v is None, description="ISO 3166-1 alpha-2.")
    referral_code: Code | None = None


class EmailSuppressed(_Fact):
    """SendGrid reported the address: a bounce or spam report stops everything, an unsubscribe marketing."""

    type: Literal["email_suppressed"] = "email_suppressed"
    reason: Literal["bounce", "spamreport", "dropped", "unsubscribe", "group_unsubscribe"]


class ReferralLinked(_Fact):
    """Sent by a referee's journey to its referrer's: this customer signed up with your code."""

    type: Literal["referral_linked"] = "referral_linked"
    referee_id: Id


class ReferralPaid(_Fact):
    type: Literal["referral_paid"] = "referral_paid"
    referee_id: Id
    invoice_id: Id


class ReferralRefunded(_Fact):
    type: Literal["referral_refunded"] = "referral_refunded"
    referee_id: Id
    invoice_id: Id


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


class RedeemRequest(_Message):
    request_id: Id
    kind: Literal["credit", "reward"] = "credit"
    points: Points | None = Field(None, description="For a billing credit: how many points to spend.")
    reward_id: Id | None = Field(None, description="For a catalog reward: which one.")


class RedeemResult(_Message):
    request_id: str
    points: int
    kind: Literal["credit", "reward"]
    reward_id: str | None = None
    credit_minor: int = 0
    currency: str
    balance_after: int
    at: datetime
    error: str | None = Field(None, description="Set when billing refused the credit; the points were returned.")


class AdjustRequest(_Message):
    request_id: Id
    points: Points = Field(description="Positive adds, negative removes; never zero.")
    reason: Text = Field(min_length=3)
    actor: Id


class AdjustResult(_Message):
    request_id: str
    points: int
    balance_after: int
    at: datetime


class MinimumTierRequest(_Message):
    request_id: Id
    tier: Id
    reason: Text = Field(min_length=3)
    actor: Id
    until: datetime
