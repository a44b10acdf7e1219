"""Points promised but on hold (a referral until the referee's payment has stood): pending, then
released into a lot when the hold is over, or voided."""

from __future__ import annotations

from datetime import datetime, timedelta

from . import badges, referrals
from .account import Pending
from .effects import Effects
from .rules_port import RulesPort


def add_pending(
    r: RulesPort,
    fx: Effects,
    now: datetime,
    pending_id: str,
    points: int,
    source: str,
    ref: str | None,
    hold: timedelta,
) -> None:
    a = r.a
    if points <= 0 or any(p.pending_id == pending_id for p in a.pending):
        return
    a.pending.append(Pending(pending_id=pending_id, points=points, source=source, ref=ref, release_at=now + hold))
    r.entry(fx, now, "pending", f"pending:{pending_id}", pending_points=points, ref=ref, reason=source)
    r.note(now, "pending", f"{points} points pending until {(now + hold).date()} ({source})")


def void_pending(r: RulesPort, fx: Effects, now: datetime, ref: str, why: str) -> int:
    a = r.a
    voided = [p for p in a.pending if p.ref == ref]
    for p in voided:
        a.pending.remove(p)
        r.entry(fx, now, "pending_voided", f"pending:{p.pending_id}", pending_points=-p.points, ref=ref, reason=why)
        r.note(now, "pending", f"{p.points} pending points voided: {why}")
    return sum(p.points for p in voided)


def release_due(r: RulesPort, fx: Effects, now: datetime) -> None:
    a = r.a
    for p in [p for p in a.pending if p.release_at <= now]:
        a.pending.remove(p)
        r.entry(
            fx,
            now,
            "pending_released",
            f"pending:{p.pending_id}",
            pending_points=-p.points,
            ref=p.ref,
            reason=f"{p.source}: hold over",
        )
        r.earn(fx, now, p.points, p.source, origin=f"release:{p.pending_id}", ref=p.ref)
        if r.lifecycle and p.source == "referral":
            referrals.on_released(r, fx, now, p.ref)
            badges.check(r, fx, now)


def deadlines(r: RulesPort) -> list[datetime]:
    return [p.release_at for p in r.a.pending]
