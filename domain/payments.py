"""Money in and back out: a payment earns points by its cadence (or as cashback on its amount), a
refund takes back what that payment earned, pro rata; what the balance cannot cover is recorded
as a shortfall, settled from future earnings."""

from __future__ import annotations

from datetime import datetime, timedelta

from . import badges, campaign_earning, churn, dunning, earning, membership, referrals, service_periods, tier_changes
from . import lots as L
from . import tiers as T
from .account import Account, Payment
from .currencies import convert
from .effects import Effects
from .messages import PaymentSucceeded, RefundIssued
from .rules_port import RulesPort

PAYMENTS_KEPT_DAYS = 400


class CurrencyMismatch(ValueError):
    """A payment whose amount means nothing to the program: the journey rejects it (quarantine)."""


def on_payment(r: RulesPort, fx: Effects, now: datetime, ev: PaymentSucceeded) -> None:
    a = r.a
    e = r.p.earning
    if any(p.invoice_id == ev.invoice_id for p in a.payments):
        r.note(now, "payment", f"invoice {ev.invoice_id} already counted; ignored")
        return
    if r.version >= 3:
        _on_payment_v3(r, fx, now, ev)
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
    _keep_payment(a, ev, now, points, lot_id)
    a.status = "active"
    _campaigns(r, fx, now, ev, points, tier_multiplier)
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


def _keep_payment(
    a: Account, ev: PaymentSucceeded, now: datetime, points: int, lot_id: str | None, spend_minor: int | None = None
) -> None:
    """Remember the payment (a refund reverses what it earned) for PAYMENTS_KEPT_DAYS; `spend_minor`
    from rules version 3 (what it counted as spend), None before."""
    payment = Payment(
        invoice_id=ev.invoice_id,
        amount_minor=ev.amount_minor,
        currency=ev.currency,
        points=points,
        lot_id=lot_id,
        at=now,
        spend_minor=spend_minor,
    )
    a.payments = [p for p in [*a.payments, payment] if p.at > now - timedelta(days=PAYMENTS_KEPT_DAYS)]


def _campaigns(
    r: RulesPort, fx: Effects, now: datetime, ev: PaymentSucceeded, points: int, tier_multiplier: float
) -> None:
    """A live campaign (only the `apply_campaign` update makes one, at any rules version): a multiplier
    window's extra points, remembered on the payment so a refund takes them back; an offer's bonus."""
    if not r.a.campaigns:
        return
    origin = f"pay:{ev.invoice_id}"
    extra = campaign_earning.boost(r, fx, now, "payments", points, tier_multiplier, origin, ev.invoice_id)
    r.a.payments[-1].campaign_points = extra
    campaign_earning.on_payment(r, fx, now, ev.invoice_id)


def _on_payment_v3(r: RulesPort, fx: Effects, now: datetime, ev: PaymentSucceeded) -> None:
    """Rules version 3: points follow the service period bought; a proration buys no period and
    earns only as cashback; a payment in another currency than the program's counts as no spend and
    is refused in cashback mode; the invoice's address serves while the journey has none; the
    payment is said before what it causes (an upgrade, a badge, their emails)."""
    a = r.a
    e = r.p.earning
    foreign = ev.currency != r.p.currency
    rate = e.exchange_rates.get(ev.currency) if foreign else None
    if foreign and rate is None and e.mode == "cashback":
        raise CurrencyMismatch(
            f"paid in {ev.currency}, but the program counts in {r.p.currency} and has no rate for "
            f"{ev.currency} ([earning.exchange_rates]): cashback cannot be computed; set the rate and send "
            "the payment again, or adjust the member's points"
        )
    # The amount in the program's currency: converted at the program's rate, or none at all.
    amount = (
        ev.amount_minor
        if not foreign
        else 0
        if rate is None
        else convert(ev.amount_minor, ev.currency, r.p.currency, rate)
    )
    membership.take_invoice_email(r, now, ev.customer_email)
    if r.lifecycle:
        churn.on_return(r, fx, now, ev)
        dunning.on_recovered(r, now)
    interval, count = service_periods.service_of(ev)
    if e.mode == "cashback":
        base = amount * e.cashback_percent / 100 * r.p.redemption.points_per_currency_unit / 100
    else:
        base = 0 if ev.proration else service_periods.points_for(e, interval, count)
    tier_multiplier = earning.multiplier(r)
    points = int(base * tier_multiplier)
    spend = amount
    converted = f" (at {rate:g} {r.p.currency} per {ev.currency}: {amount / 100:.2f} {r.p.currency})" if rate else ""
    what = "proration" if ev.proration else f"{service_periods.describe(interval, count)} payment"
    r.note(
        now,
        "payment",
        f"{what} {ev.invoice_id} of {ev.amount_minor / 100:.2f} {ev.currency} earned {points} points"
        + (" (a proration buys no new service period)" if ev.proration and e.mode == "table" else "")
        + (converted or (f" (not {r.p.currency}, no rate: counts as no spend)" if foreign else "")),
    )
    a.lifetime_spend_minor += spend
    lot_id = r.earn(fx, now, points, what, origin=f"pay:{ev.invoice_id}", ref=ev.invoice_id, spend_minor=spend)
    if lot_id is None and spend:  # no points, but the money still counts towards a spend-based tier
        a.qualifying.append(T.Qualifying(at=now, points=0, spend_minor=spend, ref=ev.invoice_id))
        tier_changes.check_upgrade(r, fx, now)
    _keep_payment(a, ev, now, points, lot_id, spend_minor=spend)
    a.status = "active"
    _campaigns(r, fx, now, ev, points, tier_multiplier)
    if r.lifecycle and not ev.proration:
        lc = a.lifecycle
        service = service_periods.record(lc, a.created_at, now)
        service_periods.add(service, ev.invoice_id, now, interval, count)
        lc.counters.payments += 1
        lc.counters.paid_months += round(service_periods.length(interval, count) / service_periods.MONTH)
        # What segments call the plan's cadence: a year or more of service at once is annual.
        lc.plan_cadence = (
            "annual" if service_periods.length(interval, count) >= service_periods.length("year", 1) else "monthly"
        )
        lc.first_invoice_id = lc.first_invoice_id or ev.invoice_id
        referrals.after_payment(r, fx, now, ev.invoice_id)
    if r.lifecycle:
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
    earned = pay.points + pay.campaign_points  # a campaign's extra points for it go back too
    before = earned * pay.refunded_minor // pay.amount_minor
    base_before = pay.points * pay.refunded_minor // pay.amount_minor
    pay.refunded_minor += amount
    after = earned * pay.refunded_minor // pay.amount_minor
    reverse = after - before
    base_reverse = pay.points * pay.refunded_minor // pay.amount_minor - base_before  # what qualified
    taken = sum(t for _, t in L.consume(a.lots, reverse, prefer=pay.lot_id))
    short = reverse - taken
    a.shortfall += short
    # The refunded money no longer qualifies for a tier: from version 3 in the program's currency
    # (a payment in another one counted as its converted amount, or as none).
    unspent = amount if r.version < 3 or pay.spend_minor is None else pay.spend_minor * amount // pay.amount_minor
    for i, q in enumerate(a.qualifying):
        if q.ref == pay.invoice_id:
            a.qualifying[i] = q.model_copy(
                update={"points": max(0, q.points - base_reverse), "spend_minor": max(0, q.spend_minor - unspent)}
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
    if r.version >= 3 and r.lifecycle and pay.refunded_minor >= pay.amount_minor:
        # Fully refunded: the period it bought was never paid for, and a badge it brought goes with it.
        service = a.lifecycle.service
        if service is not None and service_periods.remove(service, ev.invoice_id):
            badges.revoke_undone(r, fx, now, f"invoice {ev.invoice_id} fully refunded")
