"""When a member's tier moves: an upgrade as soon as qualifying points reach the next tier, a
renewal or downgrade only when the tier year ends, never below a minimum set by support.

The pure arithmetic is in domain/tiers.py; this module applies it to an account and says so.
"""

from __future__ import annotations

from datetime import datetime

from . import tiers as T
from .effects import Effects
from .rules_port import RulesPort


def qualifying_total(r: RulesPort, now: datetime) -> int:
    return T.rolling_total(r.a.qualifying, r.p.tiers, now)


def check_upgrade(r: RulesPort, fx: Effects, now: datetime) -> None:
    total = qualifying_total(r, now)
    target = T.upgrade_target(r.a.tier, total, r.p.tiers, now)
    if target:
        floor = T.floor_of(r.a.tier, r.p.tiers, now)
        because = (
            f"minimum tier set by support ({r.a.tier.minimum.reason})"
            if r.a.tier.minimum and r.p.tiers.index(target) == floor and total < r.p.tiers.get(target).threshold
            else f"{total} qualifying points in 12 months"
        )
        _set_tier(r, fx, now, target, because)


def advance(r: RulesPort, fx: Effects, now: datetime) -> None:
    """Qualifying points age out, a support minimum ends, and the tier year ends: renewed or moved."""
    a = r.a
    a.qualifying = T.trim(a.qualifying, now)
    if a.tier.minimum and a.tier.minimum.until <= now:
        r.note(now, "tier", f"minimum tier {a.tier.minimum.tier} ended")
        a.tier.minimum = None
    if now >= a.tier.year_end:
        total = qualifying_total(r, now)
        target = T.year_end_target(a.tier, total, r.p.tiers, now)
        because = (
            f"tier year ended with {total} qualifying points"
            if target != a.tier.name
            else f"tier renewed: {total} qualifying points in 12 months"
        )
        if target == a.tier.name:
            a.tier.year_start, a.tier.year_end = now, now + r.p.tier_year
            a.tier.because = because
            r.note(now, "tier", because)
        else:
            _set_tier(r, fx, now, target, because)


def _set_tier(r: RulesPort, fx: Effects, now: datetime, name: str, because: str) -> None:
    a = r.a
    old = a.tier.name
    a.tier = T.TierStatus(
        name=name, year_start=now, year_end=now + r.p.tier_year, because=because, minimum=a.tier.minimum
    )
    if name != old:
        a.tier_changes += 1
        direction = "upgrade" if r.p.tiers.index(name) > r.p.tiers.index(old) else "downgrade"
        if r.version >= 3:  # the cause before its effect (the email's decision) in the timeline
            r.note(now, "tier", f"{direction} {old} → {name}: {because}")
        r.email(
            fx,
            now,
            "tier_changed",
            f"tier-change:{a.tier_changes}:{name}",
            {"old_tier": old, "new_tier": name, "direction": direction, "because": because},
        )
        if r.version < 3:
            r.note(now, "tier", f"{direction} {old} → {name}: {because}")
