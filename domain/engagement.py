"""Engagement watch: no activity for a while marks a member at risk and nudges them once.

How engaged a member is (new, occasional, loyal) and how likely to leave: domain/engagement_scores.py.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from .effects import Effects
from .rules_port import RulesPort

WINDOW_DAYS = 90


def on_activity(r: RulesPort, fx: Effects, now: datetime) -> None:
    lc = r.a.lifecycle
    lc.last_activity_at = now
    day = now.date().isoformat()
    since = (now - timedelta(days=WINDOW_DAYS)).date().isoformat()
    lc.activity_days = {d: n for d, n in lc.activity_days.items() if d > since}
    lc.activity_days[day] = lc.activity_days.get(day, 0) + 1
    if lc.at_risk:
        lc.at_risk = False
        r.note(now, "engagement", "active again: no longer at risk")


def activities_90_days(r: RulesPort, now: datetime) -> int:
    since = (now - timedelta(days=WINDOW_DAYS)).date().isoformat()
    return sum(n for d, n in r.a.lifecycle.activity_days.items() if d > since)


def _due(r: RulesPort) -> datetime | None:
    lc = r.a.lifecycle
    if lc.at_risk or r.a.status != "active":
        return None
    since = lc.last_activity_at or lc.signed_up_at
    return since + timedelta(days=r.p.engagement.at_risk_after_days) if since else None


def deadlines(r: RulesPort) -> list[datetime]:
    due = _due(r)
    return [due] if due else []


def advance(r: RulesPort, fx: Effects, now: datetime) -> None:
    due = _due(r)
    if due is None or now < due:
        return
    r.a.lifecycle.at_risk = True
    days = r.p.engagement.at_risk_after_days
    r.note(now, "engagement", f"at risk: no activity for {days:g} days")
    r.email(fx, now, "at_risk_nudge", f"at-risk:{due.isoformat()}", {"days_inactive": days})
