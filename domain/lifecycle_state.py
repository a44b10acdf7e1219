"""The state of a member's lifecycle journeys; plain data carried through continue-as-new."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from pydantic import Field

from .comms import CommsState
from .compact import Compact
from .messages import CancellationReason


class OnboardingState(Compact):
    started_at: datetime
    sent: list[str] = Field(default_factory=list)
    goals_met: list[str] = Field(default_factory=list)
    finished: Literal["completed", "ended"] | None = None


class ChallengeState(Compact):
    progress: int = 0
    ends_at: datetime
    done_at: datetime | None = None
    expired: bool = False


class Referral(Compact):
    referee_id: str
    linked_at: datetime
    status: Literal["linked", "pending", "rewarded", "voided"] = "linked"
    invoice_id: str | None = None


class Offer(Compact):
    kind: str
    strong: bool
    sent_at: datetime
    expires_at: datetime
    code: str | None = None
    percent_off: int | None = None
    bonus_points: int = 0


class Churn(Compact):
    at: datetime
    event_id: str = Field("", description="The cancellation's event id: keys of this churn derive from it.")
    reason: CancellationReason | Literal["involuntary"]
    comment: str | None = None
    frozen_points: int
    grace_until: datetime
    high_value: bool
    steps_sent: list[str] = Field(default_factory=list)
    offer: Offer | None = None
    discount_requested: bool = False
    forfeited: bool = False


WinbackResult = Literal["returned_with_offer", "returned_after_offer", "returned_after_forfeit"]


class WinbackOutcome(Compact):
    churned_at: datetime
    reason: str
    outcome: WinbackResult
    returned_at: datetime
    points_restored: int
    revenue_minor: int


class Dunning(Compact):
    started_at: datetime
    invoice_id: str
    sent_days: list[float] = Field(default_factory=list)


class Counters(Compact):
    payments: int = 0
    paid_months: int = 0
    redemptions: int = 0
    reviews: int = 0
    referrals_rewarded: int = 0


class ServiceSpan(Compact):
    """A service period a payment bought (rules version 3): from the payment, for its interval."""

    invoice_id: str
    start: datetime
    end: datetime


class ServiceRecord(Compact):
    """What the member has actually been subscribed for (rules version 3; domain/service_periods.py)."""

    spans: list[ServiceSpan] = Field(default_factory=list)
    before: timedelta = Field(timedelta(), description="Service elapsed in spans folded away (old, or many).")
    folded_until: datetime | None = Field(None, description="The end of the spans folded away.")
    periods: int = Field(0, description="Service periods paid and not fully refunded.")


class LifecycleState(Compact):
    comms: CommsState = Field(default_factory=CommsState)
    signed_up_at: datetime | None = None
    onboarding: OnboardingState | None = None
    challenges: dict[str, ChallengeState] = Field(default_factory=dict)
    referral_code: str = ""
    referred_by: str | None = None
    referral_code_used: str | None = None
    first_invoice_id: str | None = None
    referrals: dict[str, Referral] = Field(default_factory=dict)
    badges: dict[str, datetime] = Field(default_factory=dict)
    counters: Counters = Field(default_factory=Counters)
    activity_days: dict[str, int] = Field(default_factory=dict, description="Activities per day, last 90 days.")
    last_activity_at: datetime | None = None
    at_risk: bool = False
    churn: Churn | None = None
    dunning: Dunning | None = None
    winbacks: list[WinbackOutcome] = Field(default_factory=list)
    plan_cadence: Literal["monthly", "annual"] | None = Field(None, description="From the last payment or plan change.")
    scored_at: datetime | None = Field(
        None, description="Rules version 4: when engagement and churn risk were last brought up to date."
    )
    reward_levels_told: list[int] = Field(
        default_factory=list, description="Rules version 4: reward levels (points) the member was told they reached."
    )
    service: ServiceRecord | None = Field(None, description="Rules version 3: months actually subscribed.")
    badge_awards: dict[str, int] = Field(default_factory=dict, description="Awards per badge (revoked ones return).")
