"""Badges (milestones, each awarded once) and time-boxed challenges, both from the program."""

from __future__ import annotations

from datetime import datetime, timedelta

from .effects import Effects
from .lifecycle_state import ChallengeState
from .rules_port import RulesPort


def _reached(r: RulesPort, milestone: str) -> int:
    lc = r.a.lifecycle
    c = lc.counters
    return {
        "first_payment": c.payments,
        "months_subscribed": c.paid_months,
        "referrals": c.referrals_rewarded,
        "onboarding_completed": int(lc.onboarding is not None and lc.onboarding.finished == "completed"),
        "first_redemption": c.redemptions,
        "reviews": c.reviews,
        # Rules version 3: the count is a lifetime spend in the currency's minor unit.
        "lifetime_spend": r.a.lifetime_spend_minor if r.version >= 3 else 0,
    }[milestone]


def check(r: RulesPort, fx: Effects, now: datetime) -> None:
    lc = r.a.lifecycle
    for badge in r.p.badges:
        if badge.id in lc.badges or _reached(r, badge.milestone) < badge.count:
            continue
        lc.badges[badge.id] = now
        r.note(now, "badge", f"badge {badge.title!r} awarded")
        if badge.bonus_points:
            r.earn(fx, now, badge.bonus_points, f"badge {badge.id}", origin=f"badge:{badge.id}", qualifies=False)
        r.email(
            fx, now, "badge_awarded", f"badge:{badge.id}", {"badge": badge.title, "bonus_points": badge.bonus_points}
        )


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
    return [st.ends_at for st in r.a.lifecycle.challenges.values() if not st.done_at and not st.expired]


def advance(r: RulesPort, fx: Effects, now: datetime) -> None:
    for cid, st in r.a.lifecycle.challenges.items():
        if not st.done_at and not st.expired and now >= st.ends_at:
            st.expired = True
            r.note(now, "challenge", f"challenge {cid} expired at {st.progress} of the goal")
