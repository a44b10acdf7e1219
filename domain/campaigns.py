"""Campaign definitions, their states, and the pure rules a campaign run follows.

A marketer writes a definition (TOML or JSON): what to give (`kind` and its terms, the same terms a
journey's `CampaignTouch` carries), to whom (a saved segment or an inline filter), how many to hold
out, what it may cost (budget), how fast (members per second) and when (now, at a time, at the same
local time in each member's zone, or every month on the members' signup anniversary). Everything
here is pure: the campaign workflow runs it outside the sandbox, and preview and results reuse it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .campaign_touch import (
    CampaignTouch,
    ChallengeTerms,
    Channel,
    Combine,
    MultiplierWindow,
    OfferTerms,
    TouchKind,
    TouchResult,
)
from .messages import MAX_POINTS, Text
from .program import Program
from .segments import SegmentFilter, SegmentMember, check_shape

CampaignState = Literal["draft", "scheduled", "running", "paused", "completed", "cancelled", "failed"]
FINAL_STATES: frozenset[str] = frozenset({"completed", "cancelled", "failed"})

# Which state may follow which (README "Campaigns"): paused and running alternate until the end.
TRANSITIONS: dict[str, frozenset[str]] = {
    "draft": frozenset({"scheduled", "running", "cancelled"}),
    "scheduled": frozenset({"running", "paused", "cancelled", "failed"}),
    "running": frozenset({"paused", "completed", "cancelled", "failed"}),
    "paused": frozenset({"running", "cancelled", "failed"}),
    "completed": frozenset(),
    "cancelled": frozenset(),
    "failed": frozenset(),
}

Group = Literal["treated", "holdout"]
MemberOutcome = Literal["applied", "skipped", "held_out", "failed"]

# Skip reasons the runner adds to the journey's (domain/campaign_touch.py SkipReason).
BUDGET_SPENT = "budget_spent"
NO_JOURNEY = "no_journey"

CampaignId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
MAX_RATE = 10_000.0
ALL_CHANNELS: tuple[Channel, ...] = ("payments", "activity")


def workflow_id(campaign_id: str) -> str:
    return f"campaign-{campaign_id}"


def schedule_id(campaign_id: str) -> str:
    return f"campaign-schedule-{campaign_id}"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Budget(_Strict):
    """What a campaign may grant: in all, and to one member. None: no cap."""

    total_points: int | None = Field(None, gt=0, le=MAX_POINTS)
    per_member_points: int | None = Field(None, gt=0, le=MAX_POINTS)


class Start(_Strict):
    """When the campaign reaches its members: now (no `at`), or at `at`. With `local_time`, an `at`
    without an offset is each member's own local time (a member in Tokyo is reached hours before one in
    New York); otherwise a time without an offset is UTC."""

    at: datetime | None = None
    local_time: bool = False

    @model_validator(mode="after")
    def _local_needs_a_time(self) -> Start:
        if self.local_time and self.at is None:
            raise ValueError("local_time needs at (the local time to reach each member)")
        if self.local_time and self.at is not None and self.at.tzinfo is not None:
            raise ValueError("with local_time, at is a local time: give it without an offset")
        return self


class Recurrence(_Strict):
    """Every month, on a Temporal Schedule: the members whose signup anniversary falls in that month
    (`monthly_anniversary`), each month's run a campaign of its own (`{id}-{YYYY-MM}`). The
    projection holds no birthdays, so a birthday bonus is the anniversary of signup."""

    kind: Literal["monthly_anniversary"] = "monthly_anniversary"
    day_of_month: int = Field(1, ge=1, le=28)
    hour_utc: int = Field(9, ge=0, le=23)


class Multiplier(_Strict):
    """×`factor` between `starts_at` and `ends_at`. With the definition's `local_time`, times without an
    offset are each member's local time (a weekend in New York and one in Tokyo)."""

    factor: float = Field(gt=1.0, le=10.0)
    starts_at: datetime
    ends_at: datetime
    applies_to: set[Channel] = Field(default_factory=lambda: set(ALL_CHANNELS), min_length=1)
    combine: Combine = "multiply"
    cap_extra_points: int | None = Field(None, ge=0, le=MAX_POINTS)

    @model_validator(mode="after")
    def _ordered(self) -> Multiplier:
        if (self.starts_at.tzinfo is None) != (self.ends_at.tzinfo is None):
            raise ValueError("starts_at and ends_at: both with an offset, or both without")
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


class CampaignDefinition(_Strict):
    """One campaign, as a marketer writes it. Exactly one of `segment` (a saved segment's id) or
    `filter` (an inline segment filter); the terms named by `kind` (bonus_points, multiplier,
    template_id, offer, challenge, program)."""

    id: CampaignId
    name: Annotated[str, Field(min_length=1, max_length=200)]
    kind: TouchKind
    reason: Text | None = Field(None, description="Shown in the ledger and the timeline; the name when absent.")
    segment: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    filter: SegmentFilter | None = None
    holdout_percent: float = Field(0, ge=0, le=50)
    budget: Budget = Budget()
    rate: float = Field(100.0, gt=0, le=MAX_RATE, description="Members reached per second, at most.")
    concurrency: int = Field(16, ge=1, le=256, description="Journeys asked at once.")
    page_size: int | None = Field(None, ge=1, le=1000, description="Members a page; by default about 5 s at the rate.")
    start: Start = Start()
    recurrence: Recurrence | None = None
    local_time: bool = Field(False, description="Times without an offset in the terms are each member's local time.")
    bonus_points: int | None = Field(None, gt=0, le=MAX_POINTS)
    multiplier: Multiplier | None = None
    template_id: Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\s]+$")] | None = None
    offer: OfferTerms | None = None
    challenge: ChallengeTerms | None = None
    program: Program | None = None

    @model_validator(mode="after")
    def _coherent(self) -> CampaignDefinition:
        if (self.segment is None) == (self.filter is None):
            raise ValueError("give exactly one of segment (a saved segment's id) or filter (an inline filter)")
        if self.filter is not None:
            check_shape(self.filter)
        if self.kind == "multiplier" and self.budget.total_points is not None:
            if self.budget.per_member_points is None and (self.multiplier and self.multiplier.cap_extra_points) is None:
                raise ValueError(
                    "a multiplier campaign with budget.total_points needs budget.per_member_points or "
                    "multiplier.cap_extra_points: its points come later, so the budget reserves a cap per member"
                )
        if self.recurrence is not None and self.start.at is not None:
            raise ValueError("a recurring campaign runs on its schedule: give recurrence or start.at, not both")
        # The journey's own checks, on a sample member: a definition whose touch is malformed is refused now.
        touch_for(self, self.id, "UTC", max_points=None)
        return self


def campaign_reason(definition: CampaignDefinition) -> str:
    return definition.reason or definition.name


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def member_instant(at: datetime, timezone: str, local: bool) -> datetime:
    """`at` as an instant: in the member's zone when local and `at` has no offset, else UTC if none."""
    if at.tzinfo is not None:
        return at.astimezone(UTC)
    if local:
        return at.replace(tzinfo=_zone(timezone)).astimezone(UTC)
    return at.replace(tzinfo=UTC)


def due_at(definition: CampaignDefinition, timezone: str) -> datetime | None:
    """When this member is to be reached: None for at once."""
    at = definition.start.at
    if at is None:
        return None
    return member_instant(at, timezone, definition.start.local_time)


def reserve_for(definition: CampaignDefinition) -> int:
    """The most one touch can cost the budget, before the per-member cap: what the terms grant."""
    kind = definition.kind
    if kind == "bonus" and definition.bonus_points is not None:
        return definition.bonus_points
    if kind == "multiplier" and definition.multiplier is not None:
        cap = definition.multiplier.cap_extra_points
        return cap if cap is not None else (definition.budget.per_member_points or 0)
    if kind == "offer" and definition.offer is not None and definition.offer.bonus_points is not None:
        return definition.offer.bonus_points
    if kind == "challenge" and definition.challenge is not None:
        return definition.challenge.bonus_points
    return 0


def grants_points(definition: CampaignDefinition) -> bool:
    return reserve_for(definition) > 0


def max_points_for(definition: CampaignDefinition, budget_left: int | None) -> int | None:
    """The touch's `max_points`: the per-member cap and what is left of the budget, whichever is smaller."""
    caps = [c for c in (definition.budget.per_member_points, budget_left) if c is not None]
    return max(0, min(caps)) if caps else None


def committed_points(definition: CampaignDefinition, result: TouchResult, max_points: int | None) -> int:
    """What a touch takes from the budget: the points granted; for a multiplier, whose extra points come
    with later earnings, the cap it was given (the most it can still grant)."""
    if result.outcome != "applied":
        return 0
    if definition.kind == "multiplier":
        return min(reserve_for(definition), max_points) if max_points is not None else reserve_for(definition)
    return result.points_granted


def touch_for(
    definition: CampaignDefinition, run_id: str, timezone: str, max_points: int | None, actor: str = "campaign"
) -> CampaignTouch:
    """The touch one member's journey receives. `run_id` is the campaign id the journey is keyed by
    (a recurring campaign's month run has its own)."""
    window = None
    if definition.multiplier is not None:
        m = definition.multiplier
        cap = m.cap_extra_points
        if max_points is not None:
            cap = max_points if cap is None else min(cap, max_points)
        window = MultiplierWindow(
            factor=m.factor,
            starts_at=member_instant(m.starts_at, timezone, definition.local_time),
            ends_at=member_instant(m.ends_at, timezone, definition.local_time),
            applies_to=m.applies_to,
            combine=m.combine,
            cap_extra_points=cap,
        )
    return CampaignTouch(
        campaign_id=run_id,
        kind=definition.kind,
        reason=campaign_reason(definition),
        actor=actor,
        bonus_points=definition.bonus_points,
        multiplier=window,
        template_id=definition.template_id,
        offer=definition.offer,
        challenge=definition.challenge,
        program=definition.program,
        max_points=max_points,
    )


def predicted_outcome(
    definition: CampaignDefinition, member: SegmentMember, max_points: int | None
) -> tuple[MemberOutcome, str | None, int]:
    """What a dry run expects for a treated member from the projection: (outcome, reason, most points).

    The journey has the last word (quiet hours, weekly cap): a preview is an estimate from the
    projection, the same rules the journey applies to what the projection shows.
    """
    if member.status != "active" and definition.kind in ("bonus", "multiplier", "challenge"):
        return "skipped", "member_inactive", 0
    if definition.kind == "announcement" and not member.email_reachable:
        return "skipped", "unsubscribed", 0
    if max_points == 0 and grants_points(definition):
        return "skipped", BUDGET_SPENT, 0
    reserve = reserve_for(definition)
    points = min(reserve, max_points) if max_points is not None else reserve
    return "applied", None, points


# ---- what a run keeps, and what it reports -------------------------------------------------------------


class Counts(BaseModel):
    """Members so far: targeted = treated + held out; treated ones applied, skipped (by reason) or failed."""

    targeted: int = 0
    applied: int = 0
    held_out: int = 0
    skipped: dict[str, int] = Field(default_factory=dict)
    failed: int = 0
    points_granted: int = 0
    points_committed: int = 0

    def plus(self, other: Counts) -> Counts:
        skipped = dict(self.skipped)
        for reason, n in other.skipped.items():
            skipped[reason] = skipped.get(reason, 0) + n
        return Counts(
            targeted=self.targeted + other.targeted,
            applied=self.applied + other.applied,
            held_out=self.held_out + other.held_out,
            skipped=skipped,
            failed=self.failed + other.failed,
            points_granted=self.points_granted + other.points_granted,
            points_committed=self.points_committed + other.points_committed,
        )


class Progress(BaseModel):
    """What `tenure campaign status` shows: the state, the counts, and why it stopped when it did."""

    campaign_id: str
    run_id: str
    state: CampaignState
    segment_size: int | None = None
    counts: Counts = Counts()
    budget_left: int | None = None
    stopped_because: str | None = None
    cursor: str | None = None
    passes: int = 0
    pass_started_at: datetime | None = None
    next_due_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    runs: int = Field(1, description="Workflow runs so far (continue-as-new keeps each history short).")
    next_touch_at: datetime | None = Field(
        None, description="When the next member may be reached at the campaign's rate (pacing across pages)."
    )


class PageRequest(BaseModel):
    """One page for the page activity: members after `after`, `limit` of them, what is left of the budget."""

    definition: CampaignDefinition
    run_id: str
    actor: str
    after: str | None
    limit: int
    budget_left: int | None
    now: datetime
    pass_started_at: datetime = Field(
        description="Rows recorded since then are this pass's (a retried page's included)."
    )
    progress_before: Progress


class StateChange(BaseModel):
    """What the workflow records in the `campaigns` table: a state, the progress, why it stopped."""

    campaign_id: str
    state: CampaignState
    progress: Progress | None = None
    stopped_because: str | None = None


class PageResult(BaseModel):
    """What a page did: its counts (read back from campaign_members, so a retried page counts once),
    the new cursor, whether the segment is done, and the earliest member still waiting for their time."""

    counts: Counts
    cursor: str | None
    done: bool
    next_due_at: datetime | None = None
    budget_spent: bool = False
    next_touch_at: datetime | None = None


class CampaignInput(BaseModel):
    """The campaign workflow's input; a continued run carries its progress and cursor along."""

    definition: CampaignDefinition
    run_id: str
    actor: str
    progress: Progress | None = None
    paused: bool = False


class Preview(BaseModel):
    """A dry run of a whole campaign: nothing is sent."""

    campaign_id: str
    segment_size: int
    reached: int
    held_out: int
    skipped: dict[str, int]
    max_points: int
    sample: list[str] = Field(default_factory=list, description="Some of the members it would reach.")


def page_size(definition: CampaignDefinition) -> int:
    """Members per page: about five seconds at the campaign's rate, so a pause takes effect soon,
    between 20 and 500 (a page's rows and its history events stay small)."""
    if definition.page_size is not None:
        return definition.page_size
    return max(20, min(500, int(definition.rate * 5)))


def month_run_id(campaign_id: str, at: datetime) -> str:
    """A recurring campaign's run for the month of `at`: its own campaign id for the journeys."""
    return f"{campaign_id}-{at:%Y-%m}"


def anniversary_in_month(signed_up_at: datetime | None, at: datetime) -> bool:
    """Whether a member's signup anniversary falls in the month of `at` (signed up in an earlier year)."""
    if signed_up_at is None:
        return False
    return signed_up_at.month == at.month and signed_up_at.year < at.year
