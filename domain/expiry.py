"""Points expire lot by lot, each on its own date, after warning emails (e.g. 30 days, then a last
chance at 7). A churned member's frozen lots neither expire nor warn."""

from __future__ import annotations

from datetime import datetime, timedelta

from . import churn
from . import lots as L
from .effects import Effects
from .rules_port import RulesPort


def deadlines(r: RulesPort) -> list[datetime]:
    """The earliest of the live lots' expiries and warnings not yet sent (a grouped warning marks every
    lot it covers). Only the earliest: the journey's clock takes the minimum of all deadlines, and a
    busy member holds hundreds of lots (one per login), so each wake-up computed hundreds of dates
    to keep one (bench/RESULTS.md)."""
    if r.lifecycle and churn.frozen(r):
        return []
    warn_days = r.p.points.expiry_warning_days
    first_warning = timedelta(days=max(warn_days)) if warn_days else timedelta(0)
    earliest: datetime | None = None
    for lot in r.a.lots:
        if lot.remaining <= 0:
            continue
        if not lot.warned:  # most lots: none of their warnings sent yet
            due = lot.expires_at - first_warning
        else:
            unwarned = [d for d in warn_days if d not in lot.warned]
            due = lot.expires_at - timedelta(days=max(unwarned)) if unwarned else lot.expires_at
        if earliest is None or due < earliest:
            earliest = due
    return [] if earliest is None else [earliest]


def advance(r: RulesPort, fx: Effects, now: datetime) -> None:
    """Send the warnings that came due, then expire what has reached its date."""
    a = r.a
    frozen = r.lifecycle and churn.frozen(r)
    if not frozen:
        (_warn_grouped if r.grouped_warnings else _warn_per_lot)(r, fx, now)
    # only the lots that reached their date, in the same order (a busy member holds hundreds of lots)
    reached = [] if frozen else [lot for lot in a.lots if lot.expires_at <= now and lot.remaining > 0]
    for lot in sorted(reached, key=L.order_key):
        if lot.expires_at <= now and lot.remaining > 0:  # one lot at a time: each entry's balance_after is exact
            L.replace(a.lots, {id(lot): lot.model_copy(update={"remaining": 0})})
            lot_id, lost = lot.lot_id, lot.remaining
            r.entry(fx, now, "expire", f"expire:{lot_id}", points=-lost, lot_id=lot_id, reason="12 months passed")
            r.note(now, "expiry", f"{lost} points of lot {lot_id} expired")
    a.lots = L.prune(a.lots)


def _warning_purpose(r: RulesPort, days: int) -> str:
    warn_days = sorted(r.p.points.expiry_warning_days)
    return "expiry_last_chance" if days == warn_days[0] and len(warn_days) > 1 else "expiry_warning"


def _warn_grouped(r: RulesPort, fx: Effects, now: datetime) -> None:
    """One email for every lot expiring close together, not one per lot: a member who logs in
    daily would otherwise get a warning for each two-point lot. When a lot's warning comes due,
    the lots expiring up to `expiry_warning_group_days` after it are warned with it (so at most
    about one email of each kind a week), and they never wake the journey for that warning."""
    warn_days = r.p.points.expiry_warning_days
    first_warning = timedelta(days=max(warn_days)) if warn_days else timedelta(0)
    if not any(lot.remaining > 0 and lot.expires_at - first_warning <= now < lot.expires_at for lot in r.a.lots):
        return  # no lot is inside its first warning's window: nothing can be due (the usual wake-up)
    live = [lot for lot in sorted(r.a.lots, key=L.order_key) if lot.remaining > 0 and lot.expires_at > now]
    warn_days = sorted(r.p.points.expiry_warning_days)
    for d in warn_days:  # most urgent first: a lot warned at 7 days needs no 30-day warning
        window_end = now + timedelta(days=d)  # now >= expires_at - d days, with one timedelta per pass
        due = [lot for lot in live if lot.expires_at <= window_end and d not in lot.warned]
        if not due:
            continue
        horizon = max(lot.expires_at for lot in due) + timedelta(days=r.p.points.expiry_warning_group_days)
        group = [lot for lot in live if d not in lot.warned and lot.expires_at <= horizon]
        warned = {
            id(lot): lot.model_copy(
                update={"warned": lot.warned + [x for x in warn_days if x >= d and x not in lot.warned]}
            )
            for lot in group
        }
        L.replace(r.a.lots, warned)
        L.replace(live, warned)
        group = [warned[id(lot)] for lot in group]
        points = sum(lot.remaining for lot in group)
        first, last = group[0].expires_at, max(lot.expires_at for lot in group)
        r.email(
            fx,
            now,
            _warning_purpose(r, d),
            f"warn:{group[0].lot_id}:{d}",
            {
                "points": points,
                "expires_at": first.date().isoformat(),
                "last_expires_at": last.date().isoformat(),
                "lots": len(group),
                "days": d,
            },
        )
        span = f"on {first.date()}" if first.date() == last.date() else f"between {first.date()} and {last.date()}"
        r.note(now, "expiry", f"warned: {points} points expire {span} ({d} days)")


def _warn_per_lot(r: RulesPort, fx: Effects, now: datetime) -> None:
    a = r.a
    warn_days = sorted(r.p.points.expiry_warning_days)
    for lot in sorted(a.lots, key=L.order_key):
        if lot.remaining <= 0 or lot.expires_at <= now:
            continue
        due = [d for d in warn_days if d not in lot.warned and now >= lot.expires_at - timedelta(days=d)]
        if due:
            L.replace(a.lots, {id(lot): lot.model_copy(update={"warned": lot.warned + due})})
            urgent = min(due)
            purpose = _warning_purpose(r, urgent)
            r.email(
                fx,
                now,
                purpose,
                f"warn:{lot.lot_id}:{urgent}",
                {"points": lot.remaining, "expires_at": lot.expires_at.date().isoformat(), "days": urgent},
            )
            r.note(now, "expiry", f"warned: {lot.remaining} points expire on {lot.expires_at.date()} ({urgent} days)")
