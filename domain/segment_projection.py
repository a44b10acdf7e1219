"""The segment projection of an account: what segments filter on, from the account and `now` alone.

The journey computes it whenever it writes its profile (rules version 4 on), so the `customers`
table follows balance, spend, activity, engagement and churn risk as they move.
"""

from __future__ import annotations

from datetime import datetime

from .account import Account
from .engagement_scores import churn_risk, engagement_level
from .segments import SegmentProjection


def project(a: Account, now: datetime) -> SegmentProjection:
    lc = a.lifecycle
    comms = lc.comms
    churn = lc.churn if a.status == "cancelled" else None
    return SegmentProjection(
        tier=a.tier.name,
        status=a.status,
        at_risk=lc.at_risk,
        balance=a.balance,
        lifetime_points=a.lifetime_points,
        lifetime_spend_minor=a.lifetime_spend_minor,
        last_activity_at=lc.last_activity_at,
        signed_up_at=lc.signed_up_at,
        plan_cadence=lc.plan_cadence,
        churn_reason=churn.reason if churn else None,
        timezone=a.timezone,
        country=a.country,
        email_reachable=bool(a.email) and not comms.unsubscribed and not comms.blocked,
        referral_count=lc.counters.referrals_rewarded,
        engagement_level=engagement_level(a, now).level,
        churn_risk_score=churn_risk(a, now).score,
    )
