"""Program sections for the lifecycle journeys: communication policy, onboarding, badges,
challenges, engagement watch, churn win-back and dunning. Every number is a default."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field, model_validator

from ..messages import ActivityKind
from .checks import offer_problems, onboarding_problems, refuse, winback_problems
from .strict import Strict


class CommsRules(Strict):
    frequency_cap_per_week: int = Field(3, ge=0, description="Marketing emails in any 7 days, at most.")
    quiet_hours_start: int = Field(21, ge=0, le=23, description="Local hour from which marketing waits.")
    quiet_hours_end: int = Field(8, ge=0, le=23, description="Local hour at which it may go again.")
    marketing: list[str] = Field(
        default_factory=lambda: [
            "onboarding_tips",
            "onboarding_nudge",
            "onboarding_summary",
            "at_risk_nudge",
            "winback_offer",
            "winback_followup",
            "badge_awarded",
            "challenge_completed",
        ],
        description="Purposes that are marketing; every other email is transactional and always goes.",
    )


class OnboardingStep(Strict):
    day: float = Field(ge=0)
    purpose: str
    only_if_missing: ActivityKind | None = Field(None, description="Send only while this action is missing.")


def _goals() -> list[ActivityKind]:
    return ["profile_completed", "feature_used"]


class OnboardingRules(Strict):
    enabled: bool = True
    goals: list[ActivityKind] = Field(default_factory=_goals)
    steps: list[OnboardingStep] = Field(
        default_factory=lambda: [
            OnboardingStep(day=0, purpose="welcome"),
            OnboardingStep(day=1, purpose="onboarding_tips"),
            OnboardingStep(day=3, purpose="onboarding_nudge", only_if_missing="feature_used"),
            OnboardingStep(day=7, purpose="onboarding_summary"),
        ]
    )

    @model_validator(mode="after")
    def _ordered(self) -> OnboardingRules:
        refuse(onboarding_problems(self.model_dump()))
        return self


Milestone = Literal[
    "first_payment",
    "months_subscribed",
    "referrals",
    "onboarding_completed",
    "first_redemption",
    "reviews",
    "lifetime_spend",  # count: lifetime spend in the currency's minor unit (cents)
]


class Badge(Strict):
    id: str
    title: str
    milestone: Milestone
    count: int = Field(1, ge=1)
    bonus_points: int = Field(0, ge=0)


class Challenge(Strict):
    """Do `activity` `count` times within `window_days` of sign-up (or within starts_at..ends_at)."""

    id: str
    title: str
    activity: ActivityKind
    count: int = Field(ge=1)
    window_days: float = Field(7, gt=0)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    bonus_points: int = Field(0, ge=0)


class EngagementRules(Strict):
    at_risk_after_days: float = Field(30, gt=0)


OfferKind = Literal["discount", "bonus_points", "coaching", "priority_support", "whats_new", "update_card", "none"]


class Offer(Strict):
    kind: OfferKind
    percent_off: int | None = Field(None, ge=1, le=100)
    duration_months: int = Field(1, ge=1)
    bonus_points: int = Field(0, ge=0)
    valid_days: float = Field(14, gt=0, description="The offer expires this long after it is sent.")

    @model_validator(mode="after")
    def _discount(self) -> Offer:
        refuse(offer_problems(self.model_dump()))
        return self


class PlaybookStep(Strict):
    after_days: float = Field(ge=0, description="Days after the cancellation.")
    purpose: Literal["winback_offer", "winback_followup"]


class Playbook(Strict):
    offer: Offer
    strong_offer: Offer | None = Field(None, description="For high-value churners.")
    steps: list[PlaybookStep] = Field(
        default_factory=lambda: [
            PlaybookStep(after_days=3, purpose="winback_offer"),
            PlaybookStep(after_days=7, purpose="winback_followup"),
        ]
    )


def _playbooks() -> dict[str, Playbook]:
    def p(kind: OfferKind, strong: Offer | None = None, **kw) -> Playbook:
        return Playbook(offer=Offer(kind=kind, **kw), strong_offer=strong)

    return {
        "too_expensive": p(
            "discount", Offer(kind="discount", percent_off=50, duration_months=3), percent_off=25, duration_months=3
        ),
        "low_quality": p("whats_new", Offer(kind="discount", percent_off=30, duration_months=1)),
        "missing_features": p("whats_new", Offer(kind="discount", percent_off=30, duration_months=1)),
        "too_complex": p("coaching"),
        "customer_service": p("priority_support"),
        "switched_service": p("whats_new", Offer(kind="discount", percent_off=40, duration_months=2)),
        "unused": p("bonus_points", Offer(kind="bonus_points", bonus_points=1000), bonus_points=500),
        "other": p("discount", Offer(kind="discount", percent_off=30, duration_months=2), percent_off=15),
        "involuntary": p("update_card"),
    }


class HighValue(Strict):
    """A churner meeting any of these gets the strong offer."""

    lifetime_spend_minor: int = Field(100_000, ge=0)
    activities_90_days: int = Field(60, ge=0)
    average_order_minor: int = Field(20_000, ge=0)


class WinbackRules(Strict):
    grace_days: float = Field(90, gt=0, description="The balance stays frozen this long, then is forfeited.")
    high_value: HighValue = Field(default_factory=HighValue)
    playbooks: dict[str, Playbook] = Field(default_factory=_playbooks)

    @model_validator(mode="after")
    def _complete(self) -> WinbackRules:
        refuse(winback_problems(self.model_dump()))
        return self


def _dunning_days() -> list[float]:
    return [0, 3, 7]


class DunningRules(Strict):
    email_days: list[float] = Field(default_factory=_dunning_days)
