"""The journey's one clock: the next moment anything comes due, and doing all that has come due.

The workflow sleeps on one durable timer until `next_deadline`, and calls `advance` when it wakes
and before it applies any signal or update, so every rule sees the time it runs at.
"""

from __future__ import annotations

from datetime import datetime

from . import (
    badges,
    bookkeeping,
    campaign_earning,
    churn,
    dunning,
    engagement,
    engagement_scores,
    expiry,
    onboarding,
    pending_points,
    reward_reach,
    tier_changes,
)
from .effects import Effects
from .rules_port import RulesPort
from .segments import PROJECTION_RULES_VERSION


def next_deadline(r: RulesPort) -> datetime | None:
    times: list[datetime] = [r.a.tier.year_end]
    if r.lifecycle:
        times += [d.due for d in r.a.lifecycle.comms.deferred]
        for journey in (onboarding, badges, engagement, churn, dunning):
            times += journey.deadlines(r)
    if r.lifecycle and r.version >= PROJECTION_RULES_VERSION:  # scores that time alone moves are written
        times += engagement_scores.rescore_deadlines(r.a)
    times += campaign_earning.deadlines(r)
    times += expiry.deadlines(r)
    times += pending_points.deadlines(r)
    return min(times) if times else None


def advance(r: RulesPort, fx: Effects, now: datetime) -> None:
    """Do everything that has come due by `now`: journey steps, warnings, expiries, releases, tier year end."""
    if r.lifecycle:
        bookkeeping.send_deferred(r, fx, now)
        churn.advance(r, fx, now)
        dunning.advance(r, fx, now)
        onboarding.advance(r, fx, now)
        badges.advance(r, fx, now)
        engagement.advance(r, fx, now)
    campaign_earning.advance(r, fx, now)
    expiry.advance(r, fx, now)
    pending_points.release_due(r, fx, now)
    tier_changes.advance(r, fx, now)
    if r.lifecycle and r.version >= PROJECTION_RULES_VERSION:
        reward_reach.check(r, fx, now)  # balance reached the cheapest reward
        engagement_scores.rescored(r.a, now)
