"""What a journey asks the outside world to do, as plain records.

Domain rules return these; the workflow hands them to activities. Each carries an
idempotency `key` derived from workflow data only, so a retried or replayed activity
finds its earlier work and never repeats it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import ConfigDict, Field

from .compact import Compact
from .segments import SegmentProjection

EntryKind = Literal[
    "earn",  # points added to a new lot
    "pending",  # points promised but on hold (referrals): pending_points only
    "pending_released",  # hold over: pending -> balance
    "pending_voided",  # hold cancelled (refunded referee payment)
    "spend",  # redemption
    "expire",  # a lot reached its expiry
    "refund_reversal",  # a refund took back what its payment earned
    "shortfall",  # the part of a reversal the balance could not cover (points=0, recorded)
    "adjust",  # support adjustment
    "forfeit",  # churn grace period ended
    "freeze",  # balance frozen on churn (informational)
    "restore",  # frozen balance restored on return (informational)
]


class _Record(Compact):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LedgerEntry(_Record):
    """One append-only ledger row. `points` moves the balance; `pending_points` the pending total."""

    customer_id: str
    seq: int = Field(ge=1, description="1, 2, 3… per customer, never reused.")
    key: str = Field(description="Idempotency key, unique across the ledger.")
    kind: EntryKind
    points: int = 0
    pending_points: int = 0
    balance_after: int
    pending_after: int
    at: datetime
    lot_id: str | None = None
    ref: str | None = Field(None, description="Invoice, request or event the entry stems from.")
    reason: str | None = None
    actor: str | None = None
    program_version: str


EmailCategory = Literal["transactional", "marketing"]


class EmailIntent(_Record):
    customer_id: str
    key: str
    purpose: str = Field(description="Names the template in the program's email.templates.")
    template_id: str
    category: EmailCategory
    to_email: str | None
    to_name: str | None = None
    data: dict = Field(default_factory=dict, description="Dynamic template data.")
    at: datetime


class BillingCredit(_Record):
    """A credit to the customer's billing account, bought with points."""

    customer_id: str
    key: str
    amount_minor: int = Field(gt=0)
    currency: str
    description: str
    at: datetime


class EmailOutcome(_Record):
    key: str
    status: Literal["sent", "outbox", "duplicate", "rejected"]
    detail: str | None = None


class CreditOutcome(_Record):
    key: str
    status: Literal["applied", "duplicate"]
    external_id: str | None = None


class CustomerProfile(_Record):
    """Who a journey belongs to, as the workflow knows it; mirrored into the `customers` table.

    The workflow's copy is the truth: an upsert overwrites every field with these values.
    """

    customer_id: str
    email: str | None = None
    name: str | None = None
    timezone: str = "UTC"
    program_version: str
    referral_code: str = Field("", description="The member's own code, upper-case; empty if none.")
    status: str = Field("active", description="Account status (active, past_due, cancelled): a segment.")
    tier: str = Field("", description="Tier name; empty without tiers.")
    at_risk: bool = False
    projection: SegmentProjection | None = Field(
        None, description="Rules version 4 on: what segments filter on (None: leave those columns as they are)."
    )


class CrossSignal(_Record):
    """An event for another customer's journey (referrals): delivered by signal, deduplicated there."""

    to_customer_id: str
    event: dict = Field(description="A CustomerEvent, as JSON-ready data.")


class DiscountRequest(_Record):
    """A time-limited win-back discount, created through the billing gateway."""

    customer_id: str
    key: str
    percent_off: int = Field(ge=1, le=100)
    duration_months: int = Field(ge=1)
    expires_at: datetime


class DiscountOutcome(_Record):
    key: str
    code: str
    external_id: str | None = None


QuarantineWhat = Literal["event", "ledger_entry"]


class QuarantineRecord(_Record):
    """Something a journey could not apply (an event) or write (a ledger entry): a row of the
    `quarantine` table, where support lists them across members (`tenure doctor`)."""

    customer_id: str
    key: str = Field(description="Idempotency key, unique across the table.")
    what: QuarantineWhat
    ref: str | None = Field(None, description="The event id, or the ledger entry's key.")
    type: str | None = Field(None, description="The event type, or the entry kind.")
    reason: str
    payload: str = Field("", description="The event or the entry as JSON (cut at 2,000 characters).")
    at: datetime


class UnwritableEntry(_Record):
    """A ledger entry the ledger refused for good (a key or seq already taken by another entry, a
    value out of range); the entry is in the `quarantine` table instead."""

    seq: int
    key: str
    reason: str


class LedgerWrite(_Record):
    """What `record_ledger_entries` did with a batch: every entry is either written or unwritable."""

    inserted: int
    unwritable: list[UnwritableEntry] = Field(default_factory=list)


class LedgerAndProfile(_Record):
    """One local activity's input (rules version 4 on): the profile to mirror and the entries to append,
    when a wake-up has both, so an event costs the journey one local activity (one history marker,
    one activation) instead of two."""

    profile: CustomerProfile
    entries: list[LedgerEntry]


class Effects(Compact):
    """What one step asks of the outside world, in order."""

    entries: list[LedgerEntry] = Field(default_factory=list)
    emails: list[EmailIntent] = Field(default_factory=list)
    credits: list[BillingCredit] = Field(default_factory=list)
    lookups: list[str] = Field(default_factory=list, description="Referral codes to resolve.")
    signals: list[CrossSignal] = Field(default_factory=list)
    discounts: list[DiscountRequest] = Field(default_factory=list)
    quarantine: list[QuarantineRecord] = Field(default_factory=list, description="Rejections to record in SQL.")

    def __bool__(self) -> bool:
        return bool(
            self.entries
            or self.emails
            or self.credits
            or self.lookups
            or self.signals
            or self.discounts
            or self.quarantine
        )

    def extend(self, later: Effects) -> None:
        """Append what `later` asks, after what this already asks (in place: this runs per event)."""
        self.entries.extend(later.entries)
        self.emails.extend(later.emails)
        self.credits.extend(later.credits)
        self.lookups.extend(later.lookups)
        self.signals.extend(later.signals)
        self.discounts.extend(later.discounts)
        self.quarantine.extend(later.quarantine)
