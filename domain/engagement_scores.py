"""How the member uses the product: an engagement level (new, occasional, loyal) and a churn-risk score.

Both read only the account and `now`, so the journey's projection (rules version 4), its summary
and every segment agree; each comes with the reasons behind it, in words a marketer can check
against the member.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, Field

from .account import Account
from .segments import EngagementLevel

NEW_MEMBER_DAYS = 30  # younger memberships are "new", whatever else they do
LOYAL_ACTIVE_DAYS = 8  # days with activity in the last 30 that count as frequent use
LOYAL_RECENT_DAYS = 7  # last activity at most this long ago counts as recent
LOYAL_TENURE_DAYS = 180
LOYAL_PAID_MONTHS = 6  # renewals: months paid for
LOYAL_SPEND_MINOR = 50_000  # lifetime spend (500.00 in the account currency)
LOYAL_SCORE = 5  # of at most 7: frequency 2, recency 2, tenure 1, renewals 1, spend 1


class EngagementView(BaseModel):
    level: EngagementLevel
    reasons: list[str]


class ChurnRiskView(BaseModel):
    score: int = Field(ge=0, le=100, description="0 (no sign of leaving) to 100 (gone).")
    reasons: list[str]


def _member_since(a: Account) -> datetime:
    return a.lifecycle.signed_up_at or a.created_at


def _active_days(a: Account, now: datetime, days: int, skip: int = 0) -> int:
    """Days with activity in the `days` before `now`, leaving out the most recent `skip` days."""
    newest = (now - timedelta(days=skip)).date().isoformat()
    oldest = (now - timedelta(days=skip + days)).date().isoformat()
    return sum(1 for d, n in a.lifecycle.activity_days.items() if oldest < d <= newest and n > 0)


def _days_since(then: datetime | None, now: datetime) -> int | None:
    return None if then is None else max(0, (now - then).days)


def engagement_level(a: Account, now: datetime) -> EngagementView:
    """new (joined within 30 days), loyal (frequent, recent, long-standing, renewing, spending) or occasional."""
    tenure = _days_since(_member_since(a), now) or 0
    if tenure < NEW_MEMBER_DAYS:
        return EngagementView(level="new", reasons=[f"member for {tenure} days (new below {NEW_MEMBER_DAYS})"])
    active = _active_days(a, now, 30)
    idle = _days_since(a.lifecycle.last_activity_at, now)
    paid = a.lifecycle.counters.paid_months
    score = 0
    reasons = [f"active on {active} of the last 30 days"]
    score += 2 if active >= LOYAL_ACTIVE_DAYS else 1 if active >= 2 else 0
    if idle is None:
        reasons.append("no activity yet")
    else:
        reasons.append(f"last active {idle} days ago")
        score += 2 if idle <= LOYAL_RECENT_DAYS else 1 if idle <= 30 else 0
    reasons.append(f"member for {tenure} days")
    score += tenure >= LOYAL_TENURE_DAYS
    reasons.append(f"{paid} months paid")
    score += paid >= LOYAL_PAID_MONTHS
    reasons.append(f"lifetime spend {a.lifetime_spend_minor / 100:.2f} {a.program.currency}")
    score += a.lifetime_spend_minor >= LOYAL_SPEND_MINOR
    frequent_and_recent = active >= 2 and idle is not None and idle <= 30
    level: EngagementLevel = "loyal" if score >= LOYAL_SCORE and frequent_and_recent else "occasional"
    return EngagementView(level=level, reasons=[f"score {score} of 7 (loyal from {LOYAL_SCORE})", *reasons])


def churn_risk(a: Account, now: datetime) -> ChurnRiskView:
    """A 0-100 score from inactivity, a drop in use, billing trouble, a short tenure and commitment."""
    if a.status == "cancelled":
        return ChurnRiskView(score=100, reasons=["subscription cancelled"])
    score = 0
    reasons: list[str] = []
    limit = a.program.engagement.at_risk_after_days
    idle = _days_since(a.lifecycle.last_activity_at or _member_since(a), now) or 0
    if idle > LOYAL_RECENT_DAYS:
        part = min(45, round(45 * idle / (2 * limit)))
        score += part
        reasons.append(f"no activity for {idle} days (+{part})")
    recent, before = _active_days(a, now, 30), _active_days(a, now, 60, skip=30)
    if before >= 4 and recent * 2 < before / 2:  # under half the earlier rate (60 days vs 30)
        score += 15
        reasons.append(f"use dropped: {recent} active days in the last 30, {before} in the 60 before (+15)")
    if a.lifecycle.at_risk:
        score += 10
        reasons.append("marked at risk (+10)")
    if a.status == "past_due":
        score += 20
        reasons.append("payment past due (+20)")
    comms = a.lifecycle.comms
    if comms.unsubscribed or comms.blocked:
        score += 5
        reasons.append("unreachable by marketing email (+5)")
    tenure = _days_since(_member_since(a), now) or 0
    if tenure < 90:
        score += 10
        reasons.append(f"member for {tenure} days (+10 below 90)")
    if a.lifecycle.plan_cadence == "annual":
        score -= 10
        reasons.append("annual plan (-10)")
    if a.lifecycle.counters.paid_months >= 12:
        score -= 10
        reasons.append(f"{a.lifecycle.counters.paid_months} months paid (-10)")
    return ChurnRiskView(score=max(0, min(100, score)), reasons=reasons or ["no sign of leaving"])


# ---- the journey wakes when time alone moves a score (rules version 4) -------------------------


def _time_boundaries(a: Account) -> list[datetime]:
    """The moments the level changes with no event: a membership stops being new, the last
    activity leaves the 30 days that count as recent use."""
    out = [_member_since(a) + timedelta(days=NEW_MEMBER_DAYS)]
    if a.lifecycle.last_activity_at is not None:
        out.append(a.lifecycle.last_activity_at + timedelta(days=30))  # with the default at-risk deadline: one wake
    return out


def rescore_deadlines(a: Account) -> list[datetime]:
    """The next such moment after the scores were last brought up to date (none before that is due again)."""
    since = a.lifecycle.scored_at
    if since is None:
        return []
    later = [t for t in _time_boundaries(a) if t > since]
    return [min(later)] if later else []


def rescored(a: Account, now: datetime) -> None:
    """The journey woke at `now`: the projection it writes next carries the scores as of now."""
    a.lifecycle.scored_at = now
