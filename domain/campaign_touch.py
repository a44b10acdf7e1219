"""What a campaign hands one member's journey (`CampaignTouch`), and what the journey answers (`TouchResult`).

The campaign workflow (the runner) sends a touch to each member's journey with the update
`apply_campaign` (domain/journey.py `CAMPAIGN_UPDATE`); the journey applies a campaign once, keyed
by `campaign_id`, and answers the same result to every repeat. The models are frozen and bounded:
they travel in histories, and a touch that cannot make sense is refused before it gets there.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, field_serializer, model_validator

from .messages import MAX_POINTS, ActivityKind, Id, Text, whole_number
from .program import Program

TouchKind = Literal["bonus", "multiplier", "announcement", "offer", "challenge", "publish_program"]
Channel = Literal["payments", "activity"]
Combine = Literal["multiply", "larger"]
TouchOutcome = Literal["applied", "skipped"]
EmailReport = Literal["sent", "deferred", "suppressed", "none"]

# Why a touch was skipped; a repeat of an applied campaign answers its first result instead, or
# ALREADY_APPLIED when that answer is no longer kept.
SkipReason = Literal["unsubscribed", "capped", "quiet_hours", "not_eligible", "member_inactive", "already_applied"]
ALREADY_APPLIED = "already_applied"

MAX_FACTOR = 10.0
MAX_TEMPLATE_LENGTH = 200


def _aware(at: datetime) -> datetime:
    """An instant: a time without a zone is read as UTC (the journey compares instants)."""
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


Instant = Annotated[datetime, AfterValidator(_aware)]
TouchPoints = Annotated[int, Field(ge=0, le=MAX_POINTS), BeforeValidator(whole_number)]
PositivePoints = Annotated[int, Field(gt=0, le=MAX_POINTS), BeforeValidator(whole_number)]


class _Terms(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MultiplierWindow(_Terms):
    """×`factor` on what payments and/or activity earn between two instants (the runner turns a
    member's local weekend into instants). `combine` says how it meets the tier multiplier:
    `multiply` (tier × factor) or `larger` (the larger of the two); `cap_extra_points` bounds the
    points it adds for one member."""

    factor: float = Field(gt=1.0, le=MAX_FACTOR)
    starts_at: Instant
    ends_at: Instant
    applies_to: set[Channel] = Field(min_length=1)
    combine: Combine = "multiply"
    cap_extra_points: TouchPoints | None = None

    @field_serializer("applies_to")
    def _sorted(self, channels: set[Channel]) -> list[str]:
        return sorted(channels)  # the same JSON on every worker, whatever the hash seed

    @model_validator(mode="after")
    def _ordered(self) -> MultiplierWindow:
        if self.ends_at <= self.starts_at:
            raise ValueError("multiplier.ends_at must be after multiplier.starts_at")
        return self


class OfferTerms(_Terms):
    """A win-back or retention offer: a discount through the billing gateway (`percent_off`, for
    `duration_months`) or `bonus_points` earned by the member's next payment; valid `valid_days`."""

    percent_off: int | None = Field(None, ge=1, le=100)
    duration_months: int = Field(1, ge=1, le=36)
    valid_days: float = Field(14, gt=0, le=366)
    bonus_points: PositivePoints | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> OfferTerms:
        if (self.percent_off is None) == (self.bonus_points is None):
            raise ValueError("offer needs exactly one of percent_off (a discount) or bonus_points")
        return self


class ChallengeTerms(_Terms):
    """A time-boxed challenge, as the program's challenges are: do `activity` `count` times before
    `ends_at` (from the touch, or from `starts_at` when later) and earn `bonus_points`."""

    title: Annotated[str, Field(min_length=1, max_length=200)]
    activity: ActivityKind
    count: int = Field(ge=1, le=10_000)
    starts_at: Instant | None = None
    ends_at: Instant
    bonus_points: TouchPoints = 0

    @model_validator(mode="after")
    def _ordered(self) -> ChallengeTerms:
        if self.starts_at is not None and self.ends_at <= self.starts_at:
            raise ValueError("challenge.ends_at must be after challenge.starts_at")
        return self


REQUIRED_TERMS: dict[str, str] = {
    "bonus": "bonus_points",
    "multiplier": "multiplier",
    "announcement": "template_id",
    "offer": "offer",
    "challenge": "challenge",
    "publish_program": "program",
}


class CampaignTouch(_Terms):
    """One campaign, for one member. `max_points` is the most this touch may grant that member
    (the per-member cap and what is left of the budget, whichever is smaller); None: no limit."""

    campaign_id: Id
    kind: TouchKind
    reason: Text = Field(min_length=1, description="Shown in the ledger and the timeline.")
    actor: Id
    bonus_points: PositivePoints | None = None
    multiplier: MultiplierWindow | None = None
    template_id: Annotated[str, Field(min_length=1, max_length=MAX_TEMPLATE_LENGTH, pattern=r"^[^\s]+$")] | None = (
        Field(None, description="The marketing email's template (an announcement's whole point; optional otherwise).")
    )
    offer: OfferTerms | None = None
    challenge: ChallengeTerms | None = None
    program: Program | None = None
    max_points: TouchPoints | None = None

    @model_validator(mode="after")
    def _complete(self) -> CampaignTouch:
        problems = touch_problems(self)
        if problems:
            raise ValueError("; ".join(problems))
        return self


def touch_problems(touch: CampaignTouch) -> list[str]:
    """What makes a touch malformed: the terms its kind needs are missing, or another kind's are given."""
    problems = []
    needed = REQUIRED_TERMS[touch.kind]
    if getattr(touch, needed) is None:
        problems.append(f"{needed} is required for a {touch.kind} campaign")
    for kind, field in REQUIRED_TERMS.items():
        if kind != touch.kind and field != "template_id" and getattr(touch, field) is not None:
            problems.append(f"{field} belongs to a {kind} campaign, not a {touch.kind} one")
    return problems


class TouchResult(_Terms):
    """What the journey did with a touch. A deferred email (quiet hours) counts as applied with
    `email="deferred"`; `points_granted` is what the touch itself granted now (never above
    `max_points`): a multiplier window's extra points come with later earnings."""

    campaign_id: str
    outcome: TouchOutcome
    reason: str | None = None
    points_granted: int = Field(0, ge=0)
    email: EmailReport = "none"
