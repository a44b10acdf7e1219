"""Badges (milestones, each awarded once) and time-boxed challenges, both from the program."""

from __future__ import annotations

from datetime import datetime, timedelta

from . import lots as L
from . import service_periods
from .effects import Effects
from .lifecycle_state import ChallengeState
from .rules_port import RulesPort
from .segments import PROJECTION_RULES_VERSION

# Milestones a full refund can undo (rules version 3): the badge's bonus is reversed with it.
PAID_MILESTONES = frozenset({"first_payment", "months_subscribed"})


def _reached(r: RulesPort, milestone: str, now: datetime) -> int:
    lc = r.a.lifecycle
    c = lc.counters
    if r.version >= 3 and milestone in PAID_MILESTONES:
        service = service_periods.record(lc, r.a.created_at, now)
        if milestone == "first_payment":
            return service.periods
        return service_periods.elapsed(service, now) // service_periods.MONTH  # months actually subscribed
    return {
        "first_payment": c.payments,
        "months_subscribed": c.paid_months,
        "referrals": c.referrals_rewarded,
        "onboarding_completed": int(lc.onboarding is not None and lc.onboarding.finished == "completed"),
        "first_redemption": c.redemptions,
        "reviews": c.reviews,
        # Rules version 4: the count is a lifetime spend in the currency's minor unit.
        "lifetime_spend": r.a.lifetime_spend_minor if r.version >= PROJECTION_RULES_VERSION else 0,
    }[milestone]


def check(r: RulesPort, fx: Effects, now: datetime) -> None:
    lc = r.a.lifecycle
    for badge in r.p.badges:
        if badge.id in lc.badges or _reached(r, badge.milestone, now) < badge.count:
            continue
        lc.badges[badge.id] = now
        origin = _origin(badge.id, lc.badge_awards.get(badge.id, 0))
        lc.badge_awards[badge.id] = lc.badge_awards.get(badge.id, 0) + 1
        r.note(now, "badge", f"badge {badge.title!r} awarded")
        if badge.bonus_points:
            r.earn(fx, now, badge.bonus_points, f"badge {badge.id}", origin=origin, qualifies=False)
        r.email(fx, now, "badge_awarded", origin, {"badge": badge.title, "bonus_points": badge.bonus_points})


def _origin(badge_id: str, awarded_before: int) -> str:
    """The first award is `badge:<id>` (as always); one that returns after a revocation is numbered."""
    return f"badge:{badge_id}" if awarded_before == 0 else f"badge:{badge_id}:{awarded_before + 1}"


def revoke_undone(r: RulesPort, fx: Effects, now: datetime, why: str) -> None:
    """Rules version 3: a payment badge whose milestone a full refund undid is taken back, with its
    bonus (what the balance cannot cover is a shortfall, as for a refund). Reached again, it returns."""
    a = r.a
    lc = a.lifecycle
    for badge in r.p.badges:
        if badge.milestone not in PAID_MILESTONES or badge.id not in lc.badges:
            continue
        if _reached(r, badge.milestone, now) >= badge.count:
            continue
        del lc.badges[badge.id]
        origin = _origin(badge.id, lc.badge_awards.get(badge.id, 1) - 1)
        taken = 0
        if badge.bonus_points:
            taken = sum(t for _, t in L.consume(a.lots, badge.bonus_points, prefer=origin))
            a.shortfall += badge.bonus_points - taken
            a.lots = L.prune(a.lots)
            r.entry(
                fx,
                now,
                "refund_reversal",
                f"revoke:{origin}",
                points=-taken,
                lot_id=origin,
                reason=f"badge {badge.id} revoked: {why}"
                + (f"; shortfall {badge.bonus_points - taken}" if taken < badge.bonus_points else ""),
            )
        r.note(now, "badge", f"badge {badge.title!r} revoked ({why}): {taken} bonus points reversed")


def _window(r: RulesPort, ch) -> tuple[datetime, datetime] | None:
    if ch.starts_at and ch.ends_at:
        return ch.starts_at, ch.ends_at
    signed = r.a.lifecycle.signed_up_at
    return (signed, signed + timedelta(days=ch.window_days)) if signed else None


def enroll(r: RulesPort, now: datetime) -> None:
    """Start the challenges whose window is open now (sign-up relative ones start at sign-up)."""
    for ch in r.p.challenges:
        w = _window(r, ch)
        if w and w[0] <= now < w[1] and ch.id not in r.a.lifecycle.challenges:
            r.a.lifecycle.challenges[ch.id] = ChallengeState(ends_at=w[1])
            r.note(now, "challenge", f"challenge {ch.title!r} open until {w[1]:%Y-%m-%d %H:%M} UTC")


def on_activity(r: RulesPort, fx: Effects, now: datetime, kind: str) -> None:
    enroll(r, now)
    for ch in r.p.challenges:
        st = r.a.lifecycle.challenges.get(ch.id)
        if st is None or st.done_at or st.expired or ch.activity != kind or now >= st.ends_at:
            continue
        st.progress += 1
        if st.progress >= ch.count:
            st.done_at = now
            r.note(now, "challenge", f"challenge {ch.title!r} completed")
            if ch.bonus_points:
                r.earn(fx, now, ch.bonus_points, f"challenge {ch.id}", origin=f"challenge:{ch.id}", qualifies=False)
            r.email(
                fx,
                now,
                "challenge_completed",
                f"challenge:{ch.id}",
                {"challenge": ch.title, "bonus_points": ch.bonus_points},
            )


def deadlines(r: RulesPort) -> list[datetime]:
    times = [st.ends_at for st in r.a.lifecycle.challenges.values() if not st.done_at and not st.expired]
    service = r.a.lifecycle.service
    if r.version >= 3 and service is not None:  # a months badge comes due while no event arrives
        for badge in r.p.badges:
            if badge.milestone == "months_subscribed" and badge.id not in r.a.lifecycle.badges:
                at = service_periods.reached_at(service, badge.count)
                times += [at] if at is not None else []
    return times


def advance(r: RulesPort, fx: Effects, now: datetime) -> None:
    if r.version >= 3 and r.a.lifecycle.service is not None:
        check(r, fx, now)
    for cid, st in r.a.lifecycle.challenges.items():
        if not st.done_at and not st.expired and now >= st.ends_at:
            st.expired = True
            r.note(now, "challenge", f"challenge {cid} expired at {st.progress} of the goal")
