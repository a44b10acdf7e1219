"""What support and the app see of an account: derived from state, never stored twice."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from . import tiers as T
from .account import Account, TimelineItem
from .effects import LedgerEntry
from .engagement_scores import ChurnRiskView, EngagementView, churn_risk, engagement_level
from .rejections import Rejection


class LotView(BaseModel):
    lot_id: str
    source: str
    earned_at: datetime
    expires_at: datetime
    points: int
    remaining: int


class PendingView(BaseModel):
    points: int
    source: str
    release_at: datetime


class Summary(BaseModel):
    customer_id: str
    status: str
    program_version: str
    balance: int
    pending: int
    shortfall: int
    tier: str
    tier_because: str
    tier_year_end: datetime
    minimum_tier: T.MinimumTier | None
    multiplier: float
    priority_support: bool
    beta_access: bool
    qualifying_points: int
    next_tier: str | None
    points_to_next_tier: int
    lots: list[LotView]
    pending_lots: list[PendingView]
    lifetime_points: int
    ledger_seq: int
    rejected_events: int = Field(0, description="Events set aside, ever (rules version 2 on).")
    unwritable_entries: int = Field(0, description="Ledger entries the ledger refused, ever.")
    rejections: list[Rejection] = Field(default_factory=list, description="The latest of them, oldest first.")
    engagement: EngagementView | None = Field(None, description="How the member uses the product, and why.")
    churn_risk: ChurnRiskView | None = Field(None, description="How likely the member is to leave (0-100), and why.")
    tier_threshold: int = Field(0, description="The qualifying total that keeps the tier when the tier year ends.")
    qualifying_at_year_end: int = Field(
        0, description="The qualifying total when the tier year ends if nothing more is earned (older points age out)."
    )
    tier_at_year_end: str | None = Field(
        None,
        description="The tier the member has after the tier year ends if nothing more is earned: kept at its "
        "threshold, else one level down (never below a minimum tier still running then).",
    )
    erased_at: datetime | None = Field(
        None,
        description="When the member's personal data was erased (None: it was not, or a new sign-up reopened the "
        "account): every event is refused until a new sign-up.",
    )
    erased_by: str | None = Field(None, description="Who asked for the erasure (the actor).")
    frozen_since: datetime | None = Field(
        None, description="When the member cancelled and the balance was frozen (None: it is not frozen)."
    )
    frozen_until: datetime | None = Field(
        None,
        description="End of the grace period: until then the balance cannot be redeemed and its lots do not expire; "
        "a payment before it restores the points (their expiry dates move by the time frozen), after it they are "
        "forfeited.",
    )


def summarize(account: Account, now: datetime) -> Summary:
    p = account.program
    churn = account.lifecycle.churn
    frozen = churn if churn is not None and not churn.forfeited else None  # cancelled, within the grace period
    total = T.rolling_total(account.qualifying, p.tiers, now)
    nxt, needed = T.next_tier(account.tier, total, p.tiers)
    tier = p.tiers.get(account.tier.name)
    year_end = account.tier.year_end
    total_then = T.rolling_total(account.qualifying, p.tiers, year_end)
    return Summary(
        customer_id=account.customer_id,
        status=account.status,
        program_version=p.version,
        balance=account.balance,
        pending=account.pending_points,
        shortfall=account.shortfall,
        tier=tier.name,
        tier_because=account.tier.because,
        tier_year_end=account.tier.year_end,
        minimum_tier=account.tier.minimum,
        multiplier=tier.multiplier,
        priority_support=tier.priority_support,
        beta_access=tier.beta_access,
        qualifying_points=total,
        next_tier=nxt,
        points_to_next_tier=needed,
        lots=[LotView(**lot.model_dump(include=set(LotView.model_fields))) for lot in account.lots],
        pending_lots=[PendingView(points=x.points, source=x.source, release_at=x.release_at) for x in account.pending],
        lifetime_points=account.lifetime_points,
        ledger_seq=account.seq,
        rejected_events=account.rejected_total,
        unwritable_entries=account.unwritable_total,
        rejections=account.rejections,
        engagement=engagement_level(account, now),
        churn_risk=churn_risk(account, now),
        tier_threshold=tier.threshold,
        qualifying_at_year_end=total_then,
        tier_at_year_end=T.year_end_target(account.tier, total_then, p.tiers, year_end),
        erased_at=account.erasure.at if account.erasure else None,
        erased_by=account.erasure.actor if account.erasure else None,
        frozen_since=frozen.at if frozen else None,
        frozen_until=frozen.grace_until if frozen else None,
    )


class LedgerPage(BaseModel):
    entries: list[LedgerEntry]
    total: int
    note: str = "the workflow keeps the most recent entries; the full ledger is in the database"


class Timeline(BaseModel):
    items: list[TimelineItem]


class ReconcileView(BaseModel):
    customer_id: str
    balance: int
    pending: int
    seq: int
    unwritten: list[LedgerEntry]
    unwritable: list[Rejection] = Field(
        default_factory=list, description="Entries the ledger refused for good (the latest kept), never to be written."
    )
    unwritable_total: int = 0
    writing_since: datetime | None = Field(
        None, description="When the journey began the ledger write still under way (None: none is)."
    )


def ledger_page(account: Account, offset: int, limit: int) -> LedgerPage:
    """The most recent entries the journey keeps, newest first."""
    recent = list(reversed(account.recent_entries))
    return LedgerPage(entries=recent[offset : offset + limit], total=account.seq)


def recent_timeline(account: Account, limit: int) -> Timeline:
    return Timeline(items=account.timeline[-limit:])


def reconcile_view_of(
    account: Account, unwritten: list[LedgerEntry], writing_since: datetime | None = None
) -> ReconcileView:
    return ReconcileView(
        customer_id=account.customer_id,
        balance=account.balance,
        pending=account.pending_points,
        seq=account.seq,
        unwritten=unwritten,
        unwritable=[x for x in account.rejections if x.entry is not None],
        unwritable_total=account.unwritable_total,
        writing_since=writing_since,
    )
