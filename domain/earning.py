"""How points come in: every earning is a lot that expires on its own date, multiplied by the
tier, and activities earn within daily and weekly caps (some only once)."""

from __future__ import annotations

from datetime import datetime

from . import badges, campaign_earning, engagement, onboarding, tier_changes
from . import lots as L
from . import tiers as T
from .effects import Effects
from .messages import ActivityReported
from .rules_port import RulesPort

CAPPED_ACTIVITIES = {"login", "feature_used", "content_shared"}
ONCE_ACTIVITIES = {"profile_completed"}


def multiplier(r: RulesPort) -> float:
    return r.p.tiers.get(r.a.tier.name).multiplier if r.a.tier.name in r.p.tiers.names() else 1.0


def earn(
    r: RulesPort,
    fx: Effects,
    now: datetime,
    points: int,
    source: str,
    origin: str,
    ref: str | None = None,
    spend_minor: int = 0,
    qualifies: bool = True,
    actor: str | None = None,
) -> str | None:
    """Add a lot of `points` (already multiplied); settles a recorded shortfall first. `actor`: who
    granted it, when someone did (a campaign's marketer)."""
    a = r.a
    if points <= 0:
        return None
    lot_id = origin
    a.lots.append(
        L.Lot(
            lot_id=lot_id,
            source=source,
            ref=ref,
            earned_at=now,
            expires_at=r.p.lot_expiry(now),
            points=points,
            remaining=points,
        )
    )
    a.lifetime_points += points
    r.entry(fx, now, "earn", origin, points=points, lot_id=lot_id, ref=ref, reason=source, actor=actor)
    if a.shortfall > 0:
        settle = min(a.shortfall, points)
        L.consume(a.lots, settle, prefer=lot_id)
        a.shortfall -= settle
        r.entry(
            fx,
            now,
            "refund_reversal",
            origin,
            points=-settle,
            lot_id=lot_id,
            ref=ref,
            reason=f"settles {settle} points of an earlier refund shortfall",
        )
    if qualifies:
        a.qualifying.append(T.Qualifying(at=now, points=points, spend_minor=spend_minor, ref=ref))
    tier_changes.check_upgrade(r, fx, now)
    return lot_id


SURVEY_SCORED = "survey_answered, score "
"""How a scored survey's ledger entry and lot name their source (rules version 4 on): the satisfaction
metric (storage/metrics.py) reads the score back from the entry's reason."""


def survey_source(score: int) -> str:
    return f"{SURVEY_SCORED}{score} of 5"


def on_activity(r: RulesPort, fx: Effects, now: datetime, ev: ActivityReported) -> None:
    a = r.a
    e = r.p.earning
    kind = ev.kind
    if kind in ("survey_answered", "review_written"):
        base = getattr(e, kind)
    elif kind in ONCE_ACTIVITIES:
        if kind in a.once_done:
            r.note(now, "activity", f"{kind}: earns only once")
            return
        a.once_done.append(kind)
        base = e.activity[kind].points if kind in e.activity else 0
    else:
        base = e.activity[kind].points if kind in e.activity else 0
    tier_multiplier = multiplier(r)
    points = int(base * tier_multiplier)
    if kind in CAPPED_ACTIVITIES:
        day = now.date().isoformat()
        iso = now.isocalendar()
        week = f"{iso.year}-W{iso.week:02d}"
        if a.activity_day != day:
            a.activity_day, a.activity_day_points = day, 0
        if a.activity_week != week:
            a.activity_week, a.activity_week_points = week, 0
        room = min(e.activity_daily_cap - a.activity_day_points, e.activity_weekly_cap - a.activity_week_points)
        points = max(0, min(points, room))
        a.activity_day_points += points
        a.activity_week_points += points
    said = f"{kind}" + (f": {points} points" if points else ": no points" + (" (cap reached)" if base else ""))
    if r.version >= 3:  # the cause before what it brings (an upgrade and its email)
        r.note(now, "activity", said)
    if points:
        score = getattr(ev, "score", None)  # version 1's event classes (domain/messages_legacy.py) have none
        source = survey_source(score) if score is not None and r.version >= 4 else kind
        earn(r, fx, now, points, source, origin=f"act:{ev.event_id}", ref=ev.event_id)
        if a.campaigns.windows:  # a campaign's multiplier window: extra points (campaign_earning.py)
            campaign_earning.boost(r, fx, now, "activity", points, tier_multiplier, f"act:{ev.event_id}", ev.event_id)
    if r.version < 3:
        r.note(now, "activity", said)
    if r.lifecycle:
        engagement.on_activity(r, fx, now)
        onboarding.on_activity(r, fx, now, kind)
        badges.on_activity(r, fx, now, kind)
        if kind == "review_written":
            a.lifecycle.counters.reviews += 1
        badges.check(r, fx, now)
    if a.campaigns.challenges:
        campaign_earning.on_activity(r, fx, now, kind)
