"""A customer's loyalty account: the complete state of one journey, as plain data.

It travels through continue-as-new inside the workflow's input, so its fields keep their JSON
names and shapes for good. The rules that move it are `AccountRules` (domain/rules.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from . import lots as L
from . import tiers as T
from .campaign_state import CampaignMemory
from .compact import Compact
from .deduplication import Deduplication
from .effects import LedgerEntry
from .lifecycle_state import LifecycleState
from .messages import AdjustResult, RedeemResult
from .program import Program
from .rejections import Rejection


class Erasure(BaseModel):
    """The account's record of its erasure (domain/erasure.py): who asked, when, under which request."""

    model_config = ConfigDict(frozen=True)

    request_id: str
    actor: str
    at: datetime


class Pending(BaseModel):
    pending_id: str
    points: int
    source: str
    ref: str | None = None
    release_at: datetime


class Payment(Compact):
    invoice_id: str
    amount_minor: int
    currency: str
    points: int
    lot_id: str | None
    refunded_minor: int = 0
    campaign_points: int = Field(0, description="Extra points a campaign's multiplier window added; refunded with it.")
    at: datetime
    spend_minor: int | None = Field(
        None, exclude_if=lambda v: v is None, description="Rules version 3: the amount in the program's currency."
    )


class TimelineItem(Compact):
    model_config = ConfigDict(frozen=True)

    at: datetime
    kind: str
    text: str


class Account(Compact):
    customer_id: str
    program: Program
    status: Literal["active", "past_due", "cancelled"] = "active"
    email: str | None = None
    name: str | None = None
    timezone: str = "UTC"
    country: str | None = Field(None, description="ISO 3166-1 alpha-2, from the billing system or the app.")
    created_at: datetime

    lots: list[L.Lot] = Field(default_factory=list)
    pending: list[Pending] = Field(default_factory=list)
    shortfall: int = 0
    tier: T.TierStatus
    qualifying: list[T.Qualifying] = Field(default_factory=list)
    payments: list[Payment] = Field(default_factory=list)

    activity_day: str | None = None
    activity_day_points: int = 0
    activity_week: str | None = None
    activity_week_points: int = 0
    once_done: list[str] = Field(default_factory=list)

    seen_events: list[str] = Field(default_factory=list, description="Rules versions 0 and 1: the last 2,000 ids.")
    dedup: Deduplication | None = Field(None, description="Rules version 2 on: what was applied, compactly.")
    redemptions: dict[str, RedeemResult] = Field(default_factory=dict)
    adjustments: dict[str, AdjustResult] = Field(default_factory=dict)

    seq: int = 0
    lifetime_points: int = 0
    lifetime_spend_minor: int = 0
    tier_changes: int = 0
    recent_entries: list[LedgerEntry] = Field(default_factory=list)
    timeline: list[TimelineItem] = Field(default_factory=list)
    lifecycle: LifecycleState = Field(default_factory=LifecycleState)
    rejections: list[Rejection] = Field(default_factory=list, description="The latest events and entries set aside.")
    rejected_total: int = Field(0, description="Events rejected, ever.")
    unwritable_total: int = Field(0, description="Ledger entries the ledger refused, ever.")
    campaigns: CampaignMemory = Field(default_factory=CampaignMemory, description="Campaigns that reached the member.")
    erasure: Erasure | None = Field(
        None, description="Set when the member's personal data was erased (domain/erasure.py)."
    )

    @classmethod
    def open(cls, customer_id: str, program: Program, now: datetime) -> Account:
        first = program.tiers.levels[0].name
        return cls(
            customer_id=customer_id,
            program=program,
            created_at=now,
            tier=T.TierStatus(name=first, year_start=now, year_end=now + program.tier_year, because="new member"),
        )

    @property
    def balance(self) -> int:
        return L.balance(self.lots)

    @property
    def pending_points(self) -> int:
        return sum(p.points for p in self.pending)
