"""The loyalty program a company configures: the model, with every default of PRODUCT.md.

A journey records the version it runs under and carries a copy of the program in its own
state, so publishing a new file never changes the rules under a running journey's feet:
the JSON shape of these models is part of every recorded history and must not change.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import Field, ModelWrapValidatorHandler, StringConstraints, ValidationInfo, model_validator

from ..messages import ActivityKind
from .checks import (
    cross_section_problems,
    earning_problems,
    points_problems,
    redemption_problems,
    refuse,
    tier_problems,
)
from .goals import Goal, default_goals
from .lifecycle import (
    Badge,
    Challenge,
    CommsRules,
    DunningRules,
    EngagementRules,
    OnboardingRules,
    WinbackRules,
)
from .strict import Strict

TierName = str
CurrencyKey = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
ExchangeRate = Annotated[float, Field(gt=0, le=1e9, allow_inf_nan=False)]
Cadence = Literal["monthly", "annual"]
ExpiryRounding = Literal["exact", "end_of_day", "end_of_month"]


class ActivityRule(Strict):
    points: int = Field(ge=0)


def _activity_points() -> dict[ActivityKind, ActivityRule]:
    return {
        "login": ActivityRule(points=2),
        "feature_used": ActivityRule(points=5),
        "content_shared": ActivityRule(points=10),
        "profile_completed": ActivityRule(points=25),
    }


class EarningRules(Strict):
    mode: Literal["table", "cashback"] = "table"
    monthly_payment: int = Field(100, ge=0)
    annual_payment: int = Field(1200, ge=0)
    # Rules version 3: points follow the service period bought (domain/service_periods.py); unset,
    # a day, a week and a quarter earn in proportion to `monthly_payment` (12/365, 12/52, 3 months).
    # Left out of the JSON while unset, so a program that does not set them has the JSON it had before.
    daily_payment: int | None = Field(None, ge=0, exclude_if=lambda v: v is None)
    weekly_payment: int | None = Field(None, ge=0, exclude_if=lambda v: v is None)
    quarterly_payment: int | None = Field(None, ge=0, exclude_if=lambda v: v is None)
    # Rules version 3: what a unit of another currency is worth in the program's (`EUR = 1.08`); a
    # payment in a currency without a rate counts as no spend, and is rejected in cashback mode.
    exchange_rates: dict[CurrencyKey, ExchangeRate] = Field(default_factory=dict, exclude_if=lambda v: not v)
    cashback_percent: float = Field(5.0, ge=0, le=100)
    referral: int = Field(200, ge=0)
    referral_hold_days: int = Field(14, ge=0)
    survey_answered: int = Field(50, ge=0)
    review_written: int = Field(50, ge=0)
    activity: dict[ActivityKind, ActivityRule] = Field(default_factory=_activity_points)
    activity_daily_cap: int = Field(20, ge=0)
    activity_weekly_cap: int = Field(60, ge=0)

    @model_validator(mode="after")
    def _caps(self) -> EarningRules:
        refuse(earning_problems(self.model_dump()))
        return self


class PointsRules(Strict):
    lot_validity_days: int = Field(365, ge=1)
    expiry_warning_days: list[int] = Field(default_factory=lambda: [30, 7])
    expiry_warning_group_days: float = Field(
        7, ge=0, description="Lots expiring within this many days after a due one are warned in the same email."
    )
    expiry_rounding: ExpiryRounding = Field(
        "exact",
        description="A lot expires exactly lot_validity_days after it was earned, or at the end (UTC) of that "
        "day or month: lots that expire together wake the journey once (bench/RESULTS.md). Never earlier "
        "than exact. `exact` when unset, which is what every journey started before the setting ran under.",
    )

    @model_validator(mode="after")
    def _warnings(self) -> PointsRules:
        refuse(points_problems(self.model_dump()))
        return self


class Tier(Strict):
    name: TierName
    threshold: int = Field(ge=0, description="Points earned in a rolling 12 months to reach it.")
    multiplier: float = Field(1.0, ge=1.0, le=10.0)
    priority_support: bool = False
    beta_access: bool = False


class TierRules(Strict):
    basis: Literal["points", "spend"] = "points"
    year_days: int = Field(365, ge=1)
    levels: list[Tier] = Field(
        default_factory=lambda: [
            Tier(name="member", threshold=0),
            Tier(name="silver", threshold=1000, multiplier=1.1),
            Tier(name="gold", threshold=2500, multiplier=1.25, priority_support=True),
            Tier(name="platinum", threshold=5000, multiplier=1.5, priority_support=True, beta_access=True),
        ]
    )

    @model_validator(mode="after")
    def _ordered(self) -> TierRules:
        refuse(tier_problems(self.model_dump()))
        return self

    def names(self) -> list[str]:
        return [t.name for t in self.levels]

    def index(self, name: str) -> int:
        return self.names().index(name)

    def get(self, name: str) -> Tier:
        return self.levels[self.index(name)]


class Reward(Strict):
    id: str
    title: str
    points: int = Field(gt=0)
    available: bool = True


class RedemptionRules(Strict):
    points_per_currency_unit: int = Field(100, gt=0, description="100 points = 1.00 of the account currency.")
    minimum_points: int = Field(100, gt=0)
    catalog: list[Reward] = Field(
        default_factory=lambda: [
            Reward(id="premium-month", title="A free month of the premium plan", points=1500),
            Reward(id="beta-access", title="Early access to a beta feature", points=500),
            Reward(id="coaching-session", title="An expert coaching session", points=2500),
            Reward(id="exclusive-webinar", title="An exclusive webinar", points=800),
        ]
    )

    @model_validator(mode="after")
    def _unique(self) -> RedemptionRules:
        refuse(redemption_problems(self.model_dump()))
        return self

    def reward(self, reward_id: str) -> Reward | None:
        return next((r for r in self.catalog if r.id == reward_id), None)


class EmailTemplates(Strict):
    """SendGrid dynamic template ids, by the email's purpose."""

    points_earned: str = "d-points-earned"
    expiry_warning: str = "d-expiry-warning"
    expiry_last_chance: str = "d-expiry-last-chance"
    tier_changed: str = "d-tier-changed"
    redemption_receipt: str = "d-redemption-receipt"
    points_adjusted: str = "d-points-adjusted"
    refund_reversal: str = "d-refund-reversal"
    welcome: str = "d-welcome"
    onboarding_tips: str = "d-onboarding-tips"
    onboarding_nudge: str = "d-onboarding-nudge"
    onboarding_summary: str = "d-onboarding-summary"
    badge_awarded: str = "d-badge-awarded"
    challenge_completed: str = "d-challenge-completed"
    referral_pending: str = "d-referral-pending"
    at_risk_nudge: str = "d-at-risk-nudge"
    points_frozen: str = "d-points-frozen"
    points_forfeited: str = "d-points-forfeited"
    welcome_back: str = "d-welcome-back"
    winback_offer: str = "d-winback-offer"
    winback_followup: str = "d-winback-followup"
    dunning: str = "d-dunning"
    reward_reachable: str = "d-reward-reachable"

    def for_purpose(self, purpose: str) -> str:
        return getattr(self, purpose)


EMAIL_PURPOSES = frozenset(EmailTemplates.model_fields)


class EmailRules(Strict):
    from_email: str = "loyalty@example.com"
    from_name: str = "Tenure Rewards"
    templates: EmailTemplates = Field(default_factory=EmailTemplates)


class Program(Strict):
    """A complete loyalty program. `version` names it in every journey that runs under it."""

    version: str = Field(min_length=1)
    currency: str = Field("USD", min_length=3, max_length=3)
    earning: EarningRules = Field(default_factory=EarningRules)
    points: PointsRules = Field(default_factory=PointsRules)
    tiers: TierRules = Field(default_factory=TierRules)
    redemption: RedemptionRules = Field(default_factory=RedemptionRules)
    email: EmailRules = Field(default_factory=EmailRules)
    comms: CommsRules = Field(default_factory=CommsRules)
    onboarding: OnboardingRules = Field(default_factory=OnboardingRules)
    badges: list[Badge] = Field(
        default_factory=lambda: [
            Badge(id="first-payment", title="First payment", milestone="first_payment"),
            Badge(
                id="loyal-year", title="12 months subscribed", milestone="months_subscribed", count=12, bonus_points=250
            ),
            Badge(id="five-referrals", title="5 referrals", milestone="referrals", count=5, bonus_points=500),
            Badge(id="onboarded", title="Onboarding completed", milestone="onboarding_completed", bonus_points=50),
            Badge(id="first-redemption", title="First redemption", milestone="first_redemption"),
            Badge(
                id="big-spender",
                title="1,000 spent",
                milestone="lifetime_spend",
                count=100_000,
                bonus_points=300,
            ),
        ]
    )
    challenges: list[Challenge] = Field(
        default_factory=lambda: [
            Challenge(
                id="first-week-explorer",
                title="Use a key feature three times in your first week",
                activity="feature_used",
                count=3,
                window_days=7,
                bonus_points=100,
            ),
        ]
    )
    engagement: EngagementRules = Field(default_factory=EngagementRules)
    winback: WinbackRules = Field(default_factory=WinbackRules)
    dunning: DunningRules = Field(default_factory=DunningRules)
    goals: list[Goal] = Field(
        default_factory=default_goals, description="What the program should achieve (console, `tenure metrics`)."
    )

    @model_validator(mode="after")
    def _consistent(self) -> Program:
        sections = self.model_dump(include={"onboarding", "comms", "badges", "challenges"})
        refuse(cross_section_problems(sections, EMAIL_PURPOSES))
        return self

    @model_validator(mode="wrap")
    @classmethod
    def _validated_once(cls, value: Any, handler: ModelWrapValidatorHandler[Program], info: ValidationInfo) -> Program:
        """The same content validates to the same (frozen) program: validated once per process.

        Every journey's start input carries its program, so a worker replaying journeys it does not
        hold (a campaign sweeping more members than the cache) validated the same 6.5 KB program,
        with every section's cross-field rules, for each of them: a tenth of the worker's CPU per
        member (bench/RESULTS.md, the fan-out). Keyed by the input's exact JSON content, so only an
        equal program is ever handed out. JSON input only (a payload, a file's JSON): Python input,
        `Program(...)` itself among it, is validated as usual.

        A `Program` given where a program is expected (`Account.open(…, program, …)`, a carried-over
        account given back its program) is taken as it is, as pydantic takes any model instance: it
        was validated when it was made and is frozen. Without this, pydantic ran `_consistent` on it
        again, the cross-section rules walked for every journey a worker opened or replayed
        (bench/RESULTS.md, fan-out step 13).
        """
        if type(value) is cls:
            return value
        key = _content_key(value) if info.mode == "json" else None
        if key is None:
            return handler(value)
        found = _VALIDATED.get(key)
        if found is None:
            found = handler(value)
            if len(_VALIDATED) < MAX_VALIDATED:
                # equal content written another way (key order) is the same program too
                found = _VALIDATED[key] = _BY_CONTENT.setdefault(found.model_dump_json(), found)
        return found

    @property
    def lot_validity(self) -> timedelta:
        return timedelta(days=self.points.lot_validity_days)

    def lot_expiry(self, earned_at: datetime) -> datetime:
        """When a lot earned at `earned_at` expires: `lot_validity` later, rounded up as the program says."""
        exact = earned_at + self.lot_validity
        rounding = self.points.expiry_rounding
        if rounding == "exact":
            return exact
        day_start = exact.replace(hour=0, minute=0, second=0, microsecond=0)
        if rounding == "end_of_day":
            return day_start + timedelta(days=1)
        month_start = day_start.replace(day=1)
        return (
            month_start.replace(year=month_start.year + 1, month=1)
            if month_start.month == 12
            else (month_start.replace(month=month_start.month + 1))
        )

    @property
    def tier_year(self) -> timedelta:
        return timedelta(days=self.tiers.year_days)


MAX_VALIDATED = 64  # distinct program contents remembered (the versions in use); past that, validated each time
_VALIDATED: dict[str, Program] = {}  # the input's JSON text -> its program
_BY_CONTENT: dict[str, Program] = {}  # the program's own dump -> the one instance with that content


def _content_key(value: Any) -> str | None:
    """The exact JSON text of a program's raw input (a dict of JSON values), else None."""
    if not isinstance(value, dict):
        return None
    try:
        return json.dumps(value, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError):
        return None
