"""Churn and win-back: the balance is frozen for a grace period, a playbook for the reason runs
(wait, offer, follow up, expire), and the journey stops at once when the customer comes back.

While frozen, lots do not expire; a return in time restores them with their remaining validity.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from . import comms, engagement, onboarding
from . import lots as L
from .effects import DiscountOutcome, DiscountRequest, Effects
from .lifecycle_state import Churn, Offer, WinbackOutcome, WinbackResult
from .messages import PaymentSucceeded, SubscriptionCancelled
from .rules_port import RulesPort

WINBACKS_KEPT = 20
WINBACK_EMAILS = frozenset({"winback_offer", "winback_followup"})


def frozen(r: RulesPort) -> bool:
    ch = r.a.lifecycle.churn
    return ch is not None and not ch.forfeited


def is_high_value(r: RulesPort, now: datetime) -> bool:
    hv = r.p.winback.high_value
    payments = max(r.a.lifecycle.counters.payments, 1)
    return (
        r.a.lifetime_spend_minor >= hv.lifetime_spend_minor
        or engagement.activities_90_days(r, now) >= hv.activities_90_days
        or r.a.lifetime_spend_minor // payments >= hv.average_order_minor
    )


def _origin(ch: Churn) -> str:
    return f"churn:{ch.event_id or ch.at.isoformat()}"


def on_cancelled(r: RulesPort, fx: Effects, now: datetime, ev: SubscriptionCancelled) -> None:
    lc = r.a.lifecycle
    if lc.churn is not None:
        r.note(now, "churn", "cancellation while already churned: ignored")
        return
    lc.dunning = None
    onboarding.stop(r, now, "the subscription was cancelled")
    reason = "involuntary" if ev.involuntary else ev.reason
    ch = Churn(
        at=now,
        event_id=ev.event_id,
        reason=reason,
        comment=ev.comment,
        frozen_points=r.a.balance,
        grace_until=now + timedelta(days=r.p.winback.grace_days),
        high_value=is_high_value(r, now),
    )
    lc.churn = ch
    r.entry(
        fx,
        now,
        "freeze",
        _origin(ch),
        reason=f"{ch.frozen_points} points frozen until {ch.grace_until:%Y-%m-%d} ({reason})",
    )
    r.note(
        now,
        "churn",
        f"churned ({reason}{', high value' if ch.high_value else ''}): "
        f"{ch.frozen_points} points frozen until {ch.grace_until:%Y-%m-%d}",
    )
    if ch.frozen_points:
        r.email(
            fx,
            now,
            "points_frozen",
            _origin(ch),
            {"points": ch.frozen_points, "until": ch.grace_until.date().isoformat()},
        )


def _playbook(r: RulesPort, ch: Churn):
    return r.p.winback.playbooks[ch.reason]


def deadlines(r: RulesPort) -> list[datetime]:
    ch = r.a.lifecycle.churn
    if ch is None:
        return []
    times = [ch.at + timedelta(days=s.after_days) for s in _playbook(r, ch).steps if s.purpose not in ch.steps_sent]
    if ch.offer and "offer_expired" not in ch.steps_sent:
        times.append(ch.offer.expires_at)
    if not ch.forfeited:
        times.append(ch.grace_until)
    return times


def _offer_data(ch: Churn) -> dict:
    o = ch.offer
    return (
        {}
        if o is None
        else {
            "offer": o.kind,
            "code": o.code,
            "percent_off": o.percent_off,
            "bonus_points": o.bonus_points,
            "expires_at": o.expires_at.isoformat(),
            "frozen_points": ch.frozen_points,
        }
    )


def advance(r: RulesPort, fx: Effects, now: datetime) -> None:
    ch = r.a.lifecycle.churn
    if ch is None:
        return
    book = _playbook(r, ch)
    for step in book.steps:
        if step.purpose in ch.steps_sent or ch.at + timedelta(days=step.after_days) > now:
            continue
        ch.steps_sent.append(step.purpose)
        if step.purpose == "winback_offer":
            offer = book.strong_offer if ch.high_value and book.strong_offer else book.offer
            expires = now + timedelta(days=offer.valid_days)
            if offer.kind == "discount":
                ch.discount_requested = True
                fx.discounts.append(
                    DiscountRequest(
                        customer_id=r.a.customer_id,
                        key=f"{r.a.customer_id}/{_origin(ch)}/discount",
                        percent_off=offer.percent_off,
                        duration_months=offer.duration_months,
                        expires_at=expires,
                    )
                )
                r.note(
                    now, "winback", f"creating a {offer.percent_off}% discount, valid until {expires:%Y-%m-%d %H:%M}"
                )
                continue
            ch.offer = Offer(
                kind=offer.kind,
                strong=offer is book.strong_offer,
                sent_at=now,
                expires_at=expires,
                bonus_points=offer.bonus_points,
            )
            r.email(fx, now, "winback_offer", _origin(ch), _offer_data(ch))
        elif ch.offer and now < ch.offer.expires_at:
            r.email(fx, now, "winback_followup", _origin(ch), _offer_data(ch))
        else:
            r.note(now, "winback", f"{step.purpose} skipped: no live offer")
    if ch.offer and now >= ch.offer.expires_at and "offer_expired" not in ch.steps_sent:
        ch.steps_sent.append("offer_expired")
        r.note(now, "winback", f"{ch.offer.kind} offer expired")
    if not ch.forfeited and now >= ch.grace_until:
        ch.forfeited = True
        forfeited = 0
        for lot in list(r.a.lots):
            if lot.remaining:
                forfeited += lot.remaining
                lost = lot.remaining
                L.replace(r.a.lots, {id(lot): lot.model_copy(update={"remaining": 0})})
                r.entry(
                    fx,
                    now,
                    "forfeit",
                    f"forfeit:{lot.lot_id}",
                    points=-lost,
                    lot_id=lot.lot_id,
                    reason=f"grace period of {r.p.winback.grace_days:g} days after churn ended",
                )
        r.a.lots = []
        r.note(now, "churn", f"grace period over: {forfeited} points forfeited")
        if forfeited:
            r.email(fx, now, "points_forfeited", _origin(ch), {"points": forfeited})


def on_discount_created(
    r: RulesPort, fx: Effects, now: datetime, req: DiscountRequest, outcome: DiscountOutcome
) -> None:
    ch = r.a.lifecycle.churn
    if ch is None or not req.key.endswith(f"{_origin(ch)}/discount"):
        r.note(now, "winback", f"discount {outcome.code} created after the customer came back: not sent")
        return
    book = _playbook(r, ch)
    ch.offer = Offer(
        kind="discount",
        strong=ch.high_value and book.strong_offer is not None,
        sent_at=now,
        expires_at=req.expires_at,
        code=outcome.code,
        percent_off=req.percent_off,
    )
    r.email(fx, now, "winback_offer", _origin(ch), _offer_data(ch))


def on_discount_failed(r: RulesPort, now: datetime, why: str) -> None:
    r.note(now, "winback", f"billing could not create the discount: {why}")


RETURNED_PAYING = "; came back paying "


def returned_paying(amount_minor: int, currency: str) -> str:
    """The end of a return's `restore` entry reason (rules version 4 on): the payment that brought the
    member back, in minor units, e.g. "; came back paying 4900 USD"."""
    return f"{RETURNED_PAYING}{amount_minor} {currency}"


def on_return(r: RulesPort, fx: Effects, now: datetime, ev: PaymentSucceeded) -> None:
    """A paying customer came back: stop the win-back, restore or settle the frozen points."""
    lc = r.a.lifecycle
    ch = lc.churn
    if ch is None:
        return
    lc.churn = None
    for d in comms.drop_deferred(lc.comms, WINBACK_EMAILS):  # waiting for quiet hours or the cap to end
        r.note(now, "email", f"{d.intent.purpose} email dropped: the customer came back")
    restored = 0
    if not ch.forfeited:
        paused = now - ch.at
        r.a.lots = [lot.model_copy(update={"expires_at": lot.expires_at + paused}) for lot in r.a.lots]
        restored = r.a.balance
        reason = f"{restored} frozen points restored; expiry dates moved by {paused.days} days"
        if r.version >= 4:  # the win-back revenue metric reads the payment back (storage/metrics.py)
            reason += returned_paying(ev.amount_minor, ev.currency)
        r.entry(
            fx, now, "restore", f"return:{ev.event_id}", reason=reason, ref=ev.invoice_id if r.version >= 4 else None
        )
    elif r.version >= 4:  # a return after the grace period restores nothing, but is a return all the same
        r.entry(
            fx,
            now,
            "restore",
            f"return:{ev.event_id}",
            reason="nothing restored: the grace period was over" + returned_paying(ev.amount_minor, ev.currency),
            ref=ev.invoice_id,
        )
    outcome: WinbackResult
    if ch.forfeited:
        outcome = "returned_after_forfeit"
    elif ch.offer and now < ch.offer.expires_at:
        outcome = "returned_with_offer"
        if ch.offer.bonus_points:
            r.earn(
                fx, now, ch.offer.bonus_points, "win-back bonus", origin=f"winback-bonus:{ev.event_id}", qualifies=False
            )
    else:
        outcome = "returned_after_offer"
    lc.winbacks = (
        lc.winbacks
        + [
            WinbackOutcome(
                churned_at=ch.at,
                reason=ch.reason,
                outcome=outcome,
                returned_at=now,
                points_restored=restored,
                revenue_minor=ev.amount_minor,
            )
        ]
    )[-WINBACKS_KEPT:]
    r.note(
        now,
        "winback",
        f"customer came back ({outcome.replace('_', ' ')})" + (f": {restored} points restored" if restored else ""),
    )
    r.email(fx, now, "welcome_back", f"return:{ev.event_id}", {"points": restored, "outcome": outcome})
