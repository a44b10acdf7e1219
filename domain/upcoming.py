"""What will happen to a member next, and when, in plain words: for support ("why will this change?")
and for the journey's current-details line in the Temporal UI.

Read from the same state the deadlines come from (domain/deadlines.py), so the list names every
moment the journey's single timer can wake for; it changes nothing.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import NamedTuple

from pydantic import BaseModel

from . import churn
from .rules_port import RulesPort

SHOWN = 12  # the nearest moments; a busy member has hundreds of lots


class Upcoming(BaseModel):
    at: datetime
    what: str
    kind: str


class UpcomingView(BaseModel):
    items: list[Upcoming]


class _Item(NamedTuple):
    """An `Upcoming` before it is chosen: only the `limit` nearest become models. The journey asks for
    the nearest one at every wake-up (its Temporal UI line), and a model per lot, warning and date
    was its largest own cost per event (bench/RESULTS.md, step 14.11)."""

    at: datetime
    what: str
    kind: str


def _expiry(at: datetime, points: int) -> _Item:
    return _Item(at=at, what=f"{points} points expire", kind="expiry")


def _warning(at: datetime, points: int) -> _Item:
    return _Item(at=at, what=f"expiry warning: {points} points expire soon", kind="expiry")


def upcoming(r: RulesPort, now: datetime, limit: int = SHOWN, as_sent: bool = False) -> list[Upcoming]:
    """The next moments anything comes due, nearest first (at most `limit`).

    `as_sent` (the `upcoming` query: what support reads) lists the expiry warnings as the journey will
    send them: with grouped warnings (domain/expiry.py) one email covers every lot expiring within
    `expiry_warning_group_days` of the first, so two lots earned a second apart get one warning of 52
    points, not one of 2 and one of 50. Without it each warning moment is listed with its lots' points,
    as the journey's timer label has always said (that label is recorded in histories)."""
    items: list[_Item] = []
    a = r.a
    frozen = r.lifecycle and churn.frozen(r)
    by_day: dict[datetime, int] = defaultdict(int)
    warnings: dict[datetime, int] = defaultdict(int)
    grouped = as_sent and r.grouped_warnings
    if not frozen:
        for lot in a.lots:
            if lot.remaining > 0:
                by_day[lot.expires_at] += lot.remaining
                for d in [] if grouped else r.p.points.expiry_warning_days:
                    if d not in lot.warned:
                        warnings[lot.expires_at - timedelta(days=d)] += lot.remaining
        if grouped:
            items += _warnings_as_sent(r, now, limit)
    for at, points in by_day.items():
        items.append(_expiry(at, points))
    for at, points in warnings.items():
        items.append(_warning(at, points))
    items += _others(r)
    items = [i for i in items if i.at >= now - timedelta(seconds=1)]
    return [Upcoming(at=i.at, what=i.what, kind=i.kind) for i in sorted(items, key=lambda i: i.at)[:limit]]


def _warnings_as_sent(r: RulesPort, now: datetime, limit: int) -> list[_Item]:
    """The grouped expiry warnings still to come (at most `limit`), by playing domain/expiry.py's
    `_warn_grouped` forward on a copy of the lots: the journey wakes at the earliest warning not yet
    sent (expiry.deadlines), and each wake-up warns, most urgent first, every lot expiring up to
    `expiry_warning_group_days` after the lots that came due, marking them warned for that warning and
    the earlier ones. Nothing is earned or spent meanwhile, as in every upcoming moment."""
    warn_days = sorted(r.p.points.expiry_warning_days)
    if not warn_days:
        return []
    span = timedelta(days=r.p.points.expiry_warning_group_days)
    lots = [(lot.expires_at, lot.remaining, set(lot.warned)) for lot in r.a.lots if lot.remaining > 0]
    items: list[_Item] = []
    while len(items) < limit:
        wakes = [
            expires - timedelta(days=max(d for d in warn_days if d not in warned))
            for expires, _, warned in lots
            if any(d not in warned for d in warn_days)
        ]
        if not wakes:
            break
        at = max(min(wakes), now)  # one already due is sent at the next wake-up
        lots = [lot for lot in lots if lot[0] > at]  # a lot expired by then is warned no more
        for d in warn_days:
            due = [lot for lot in lots if lot[0] <= at + timedelta(days=d) and d not in lot[2]]
            if not due:
                continue
            horizon = max(lot[0] for lot in due) + span
            group = [lot for lot in lots if d not in lot[2] and lot[0] <= horizon]
            for _, _, warned in group:
                warned.update(x for x in warn_days if x >= d)
            first, last = min(lot[0] for lot in group).date(), max(lot[0] for lot in group).date()
            when = f"on {first}" if first == last else f"between {first} and {last}"
            kind = "last-chance warning" if d == warn_days[0] and len(warn_days) > 1 else "expiry warning"
            points = sum(lot[1] for lot in group)
            items.append(_Item(at=at, what=f"{kind} email ({d} days): {points} points expire {when}", kind="expiry"))
    return items


def nearest(r: RulesPort, now: datetime) -> _Item | None:
    """The first of `upcoming(r, now)`, without listing every lot's moments: the journey's Temporal UI
    line asks for it at every wake-up, and a busy member holds hundreds of lots. The same choice: the
    earliest moment; on a tie, the first in `upcoming`'s order (expiries, warnings, then the others)."""
    cutoff = now - timedelta(seconds=1)
    best: _Item | None = None
    if not (r.lifecycle and churn.frozen(r)):
        live = [lot for lot in r.a.lots if lot.remaining > 0]
        expiry = min((lot.expires_at for lot in live if lot.expires_at >= cutoff), default=None)
        if expiry is not None:
            points = sum(lot.remaining for lot in live if lot.expires_at == expiry)
            best = _expiry(expiry, points)
        days = [timedelta(days=d) for d in r.p.points.expiry_warning_days]
        unsent = [
            (lot.expires_at - delta, lot.remaining)
            for lot in live
            for d, delta in zip(r.p.points.expiry_warning_days, days, strict=True)
            if d not in lot.warned
        ]
        warning = min((at for at, _ in unsent if at >= cutoff), default=None)
        if warning is not None and (best is None or warning < best.at):
            points = sum(remaining for at, remaining in unsent if at == warning)
            best = _warning(warning, points)
    for item in _others(r):
        if item.at >= cutoff and (best is None or item.at < best.at):
            best = item
    return best


def _others(r: RulesPort) -> list[_Item]:
    """Every moment but the lots' expiries and warnings, in `upcoming`'s order."""
    a = r.a
    items = [
        _Item(at=p.release_at, what=f"{p.points} pending points ({p.source}) released", kind="pending")
        for p in a.pending
    ]
    items.append(_Item(at=a.tier.year_end, what=f"tier year ends: {a.tier.name} is reviewed", kind="tier"))
    if a.tier.minimum is not None:
        items.append(_Item(at=a.tier.minimum.until, what=f"minimum tier {a.tier.minimum.tier} ends", kind="tier"))
    if r.lifecycle:
        items += _lifecycle(r)
    return items


def _lifecycle(r: RulesPort) -> list[_Item]:
    lc = r.a.lifecycle
    items: list[_Item] = []
    ob = lc.onboarding
    if ob is not None and not ob.finished:
        for step in r.p.onboarding.steps:
            if step.purpose not in ob.sent:
                condition = f" (only if {step.only_if_missing} is still missing)" if step.only_if_missing else ""
                items.append(
                    _Item(
                        at=ob.started_at + timedelta(days=step.day),
                        what=f"onboarding: {step.purpose} email{condition}",
                        kind="onboarding",
                    )
                )
                break
    ch = lc.churn
    if ch is not None:
        for s in r.p.winback.playbooks[ch.reason].steps:
            if s.purpose not in ch.steps_sent:
                items.append(
                    _Item(at=ch.at + timedelta(days=s.after_days), what=f"win-back: {s.purpose}", kind="winback")
                )
        if ch.offer and "offer_expired" not in ch.steps_sent:
            items.append(_Item(at=ch.offer.expires_at, what=f"win-back {ch.offer.kind} offer expires", kind="winback"))
        if not ch.forfeited:
            items.append(
                _Item(at=ch.grace_until, what=f"grace ends: {ch.frozen_points} frozen points forfeited", kind="churn")
            )
    d = lc.dunning
    if d is not None:
        for day in r.p.dunning.email_days:
            if day not in d.sent_days:
                items.append(
                    _Item(
                        at=d.started_at + timedelta(days=day),
                        what=f"dunning email for invoice {d.invoice_id}",
                        kind="dunning",
                    )
                )
                break
    for cid, st in lc.challenges.items():
        if not st.done_at and not st.expired:
            items.append(_Item(at=st.ends_at, what=f"challenge {cid} closes", kind="challenge"))
    if not lc.at_risk and r.a.status == "active":
        since = lc.last_activity_at or lc.signed_up_at
        if since is not None:
            items.append(
                _Item(
                    at=since + timedelta(days=r.p.engagement.at_risk_after_days),
                    what="at risk if no activity by then",
                    kind="engagement",
                )
            )
    for deferred in lc.comms.deferred:
        items.append(
            _Item(at=deferred.due, what=f"deferred {deferred.intent.purpose} email decided again", kind="email")
        )
    return items


def current_details(r: RulesPort, now: datetime) -> str:
    """One plain line for the Temporal UI: balance, tier, status, what happens next. No personal data."""
    a = r.a
    line = f"{a.balance} points"
    if a.pending_points:
        line += f" (+{a.pending_points} pending)"
    line += f" · {a.tier.name} · {a.status.replace('_', ' ')}"
    if r.lifecycle and a.lifecycle.at_risk:
        line += " · at risk"
    nxt = nearest(r, now)
    if nxt is not None:
        line += f" · next: {nxt.what} on {nxt.at:%Y-%m-%d}"
    return line
