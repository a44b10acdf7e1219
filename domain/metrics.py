"""The program's health in numbers: what each metric means, the shape the API, the CLI and the
console share, and how far each goal of the program has come. Pure: the figures are measured from
the database by storage/metrics.py."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from .program.goals import Goal

Unit = Literal["percent", "count", "money", "points", "score"]

DEFINITIONS: dict[str, tuple[str, Unit, str]] = {
    "participation_rate": (
        "Participation rate",
        "percent",
        "Members who earned or redeemed points in the last 30 days, of all members.",
    ),
    "daily_active": (
        "Daily active members",
        "count",
        "Members whose own activity in the app (login, feature used, content shared, survey, review…) "
        "earned points in the last 24 hours. Activity past the daily cap earns nothing and is not counted.",
    ),
    "weekly_active": ("Weekly active members", "count", "The same over the last 7 days."),
    "churn_rate": (
        "Churn (30 days)",
        "percent",
        "Subscriptions cancelled in the last 30 days (the journey's freeze entry), of the members there were "
        "30 days ago.",
    ),
    "retention_rate": ("Retention (30 days)", "percent", "100% minus the churn of the same 30 days."),
    "reactivation_rate": (
        "Win-back reactivation",
        "percent",
        "Of the members who cancelled in the last 365 days, those who paid again afterwards.",
    ),
    "winback_revenue": (
        "Revenue won back",
        "money",
        "The payments that brought cancelled members back in the last 365 days, as their return's ledger "
        "entry records them (journeys at rules version 4 on).",
    ),
    "referrals": (
        "Referrals (30 days)",
        "count",
        "Referred members whose first payment earned their referrer's (pending) reward in the last 30 days.",
    ),
    "redemption_rate": (
        "Redemption rate (90 days)",
        "percent",
        "Points redeemed in the last 90 days, of the points earned in the same days.",
    ),
    "liability": (
        "Outstanding points liability",
        "money",
        "Every member's balance, valued at the program's billing-credit rate (points per 1.00 of the currency).",
    ),
    "expiring_30_days": (
        "Points expiring in the next 30 days",
        "points",
        "Points of lots whose validity ends in the next 30 days, taking a member's balance to sit in their newest "
        "lots (spending draws the oldest first); frozen balances of cancelled members do not expire.",
    ),
    "satisfaction": (
        "Satisfaction (90 days)",
        "score",
        "The mean score (1-5) of the survey answers of the last 90 days that carried one.",
    ),
    "campaign_lift": (
        "Campaign lift",
        "percent",
        "The latest finished campaign: the share of its treated members active during it, minus the share of "
        "its holdout (percentage points).",
    ),
}


class Metric(BaseModel):
    id: str
    title: str
    unit: Unit
    value: float | None = Field(description="None: not measurable yet (the definition says what it needs).")
    definition: str
    note: str | None = None


class Week(BaseModel):
    """One week of the trend (Monday to Monday, UTC)."""

    starts: date
    members: int
    participation_rate: float | None
    weekly_active: int
    churn_rate: float | None
    referrals: int
    redemption_rate: float | None
    satisfaction: float | None


Status = Literal["met", "on_the_way", "behind", "no_data"]


class GoalProgress(BaseModel):
    id: str
    title: str
    metric: str
    target: str
    current: float | None
    baseline: float | None = Field(None, description="The period before (change goals).")
    change_percent: float | None = None
    progress: float | None = Field(None, description="1.0 is the goal reached; None: not measurable yet.")
    status: Status
    explanation: str


class MetricsReport(BaseModel):
    as_of: datetime
    currency: str
    metrics: list[Metric]
    weeks: list[Week]
    goals: list[GoalProgress]


def metric(metric_id: str, value: float | None, note: str | None = None) -> Metric:
    title, unit, definition = DEFINITIONS[metric_id]
    return Metric(id=metric_id, title=title, unit=unit, value=value, definition=definition, note=note)


def goal_progress(goal: Goal, current: float | None, baseline: float | None) -> GoalProgress:
    """How far `goal` has come, from the metric over its last period (`current`) and the period before."""

    def progress_of(
        target: str, status: Status, explanation: str, progress: float | None = None, change: float | None = None
    ) -> GoalProgress:
        return GoalProgress(
            id=goal.id,
            title=goal.title,
            metric=goal.metric,
            target=target,
            current=current,
            baseline=baseline,
            change_percent=change,
            progress=progress,
            status=status,
            explanation=explanation,
        )

    if goal.at_least is not None:
        target = f"at least {goal.at_least:g} over {goal.period_days} days"
        if current is None:
            return progress_of(target, "no_data", "nothing measured yet")
        met = current >= goal.at_least
        ratio = current / goal.at_least if goal.at_least else 1.0
        return progress_of(target, "met" if met else "behind", f"{current:.2f} against {goal.at_least:g}", ratio)
    change_goal = goal.change_percent or 0.0
    target = f"{change_goal:+g}% over {goal.period_days} days, against the {goal.period_days} days before"
    if current is None or baseline is None or baseline == 0:
        why = "no baseline yet: the period before has nothing to compare with" if current is not None else "no data"
        return progress_of(target, "no_data", why)
    change = (current / baseline - 1) * 100
    ratio = change / change_goal if change_goal else 1.0
    status: Status = "met" if ratio >= 1 else ("on_the_way" if change > 0 else "behind")
    shown = f"{change:+.1f}% so far ({_show(goal.metric, current)} against {_show(goal.metric, baseline)})"
    return progress_of(target, status, shown, ratio, change)


def _show(metric_id: str, value: float) -> str:
    unit = DEFINITIONS[metric_id][1] if metric_id in DEFINITIONS else "count"
    return f"{value * 100:.1f}%" if unit == "percent" else f"{value:g}"


def shown(m: Metric, currency: str) -> str:
    """A metric's value as people read it: 12.5%, 1,204, 48.00 USD, 4.60 of 5; "—" when not measurable."""
    if m.value is None:
        return "—"
    if m.unit == "percent":
        return f"{m.value * 100:.1f}%"
    if m.unit == "money":
        return f"{m.value / 100:,.2f} {currency}"
    if m.unit == "score":
        return f"{m.value:.2f} of 5"
    return f"{m.value:,.0f}"
