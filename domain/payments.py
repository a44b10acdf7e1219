"""Money in and back out: a payment earns points by its cadence (or as cashback on its amount), a
refund takes back what that payment earned, pro rata; what the balance cannot cover is recorded
as a shortfall, settled from future earnings."""

from __future__ import annotations

from datetime import datetime, timedelta

from . import badges, campaign_earning, churn, dunning, earning, referrals
from . import lots as L
from .account import Payment
from .effects import Effects
from .messages import PaymentSucceeded, RefundIssued
from .rules_port import RulesPort

PAYMENTS_KEPT_DAYS = 400


def on_payment(r: RulesPort, fx: Effects, now: datetime, ev: PaymentSucceeded) -> None:
    a = r.a
    e = r.p.earning
    if any(p.invoice_id == ev.invoice_id for p in a.payments):
        r.note(now, "payment", f"invoice {ev.invoice_id} already counted; ignored")
        return
    if r.lifecycle:
        churn.on_return(r, fx, now, ev)
        dunning.on_recovered(r, now)
    if e.mode == "cashback":
        base = ev.amount_minor * e.cashback_percent / 100 * r.p.redemption.points_per_currency_unit / 100
    else:
        base = e.annual_payment if ev.cadence == "annual" else e.monthly_payment
    tier_multiplier = earning.multiplier(r)
    points = int(base * tier_multiplier)
    a.lifetime_spend_minor += ev.amount_minor
    lot_id = r.earn(
        fx,
        now,
        points,
        f"{ev.cadence} payment",
        origin=f"pay:{ev.invoice_id}",
        ref=ev.invoice_id,
        spend_minor=ev.amount_minor,
    )
    a.payments.append(
        Payment(
            invoice_id=ev.invoice_id,
            amount_minor=ev.amount_minor,
            currency=ev.currency,
            points=points,
            lot_id=lot_id,
            at=now,
        )
    )
    a.payments = [p for p in a.payments if p.at > now - timedelta(days=PAYMENTS_KEPT_DAYS)]
    a.status = "active"
    if a.campaigns:  # a live campaign: a multiplier window, an offer's bonus (campaign_earning.py)
        origin = f"pay:{ev.invoice_id}"
        campaign_earning.boost(r, fx, now, "payments", points, tier_multiplier, origin, ev.invoice_id)
        campaign_earning.on_payment(r, fx, now, ev.invoice_id)
    r.note(
        now,
        "payment",
        f"{ev.cadence} payment {ev.invoice_id} of {ev.amount_minor / 100:.2f} {ev.currency} earned {points} points",
    )
    if r.lifecycle:
        c = a.lifecycle.counters
        c.payments += 1
        c.paid_months += 12 if ev.cadence == "annual" else 1
        a.lifecycle.plan_cadence = ev.cadence
        a.lifecycle.first_invoice_id = a.lifecycle.first_invoice_id or ev.invoice_id
        referrals.after_payment(r, fx, now, ev.invoice_id)
        badges.check(r, fx, now)


def on_refund(r: RulesPort, fx: Effects, now: datetime, ev: RefundIssued) -> None:
    a = r.a
    pay = next((p for p in a.payments if p.invoice_id == ev.invoice_id), None)
    if pay is None:
        r.note(now, "refund", f"refund of unknown invoice {ev.invoice_id}: no points to reverse")
        return
    refundable = max(0, pay.amount_minor - pay.refunded_minor)
    amount = min(ev.amount_minor, refundable)
    if amount == 0 or pay.amount_minor == 0:
        r.note(now, "refund", f"invoice {ev.invoice_id} already fully refunded")
        return
    before = pay.points * pay.refunded_minor // pay.amount_minor
    pay.refunded_minor += amount
    after = pay.points * pay.refunded_minor // pay.amount_minor
    reverse = after - before
    taken = sum(t for _, t in L.consume(a.lots, reverse, prefer=pay.lot_id))
    short = reverse - taken
    a.shortfall += short
    for i, q in enumerate(a.qualifying):  # the refunded money no longer qualifies for a tier
        if q.ref == pay.invoice_id:
            a.qualifying[i] = q.model_copy(
                update={"points": max(0, q.points - reverse), "spend_minor": max(0, q.spend_minor - amount)}
            )
            break
    origin = f"refund:{ev.event_id}"
    r.entry(
        fx,
        now,
        "refund_reversal",
        origin,
        points=-taken,
        ref=ev.invoice_id,
        reason=f"refund of {amount / 100:.2f} {ev.currency}",
    )
    if short:
        r.entry(
            fx,
            now,
            "shortfall",
            origin,
            ref=ev.invoice_id,
            reason=f"{short} points could not be reversed: balance too low; settled from future earnings",
        )
    r.note(
        now,
        "refund",
        f"refund on {ev.invoice_id} reversed {taken} points" + (f", shortfall {short}" if short else ""),
    )
    a.lots = L.prune(a.lots)
    if r.lifecycle:
        referrals.after_refund(r, fx, now, ev.invoice_id)
