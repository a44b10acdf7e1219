"""Referrals: a code per member; the referrer's points are pending until the referee's first
payment has stood for the hold period, and are voided if that payment is refunded. A journey
recorded before the lifecycle release takes no part: referral events leave it as it was."""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime, timedelta

from .effects import CrossSignal, Effects
from .lifecycle_state import Referral
from .messages import ReferralLinked, ReferralPaid, ReferralRefunded, SignedUp
from .rules_port import RulesPort


def code_for(customer_id: str) -> str:
    """A short, stable code derived from the customer id (not reversible, so it reveals nothing)."""
    digest = hashlib.sha256(customer_id.encode()).digest()
    return "T" + base64.b32encode(digest).decode()[:8]


def _signal(fx: Effects, to: str, event) -> None:
    fx.signals.append(CrossSignal(to_customer_id=to, event=event.model_dump(mode="json")))


def on_signed_up(r: RulesPort, fx: Effects, now: datetime, ev: SignedUp) -> None:
    lc = r.a.lifecycle
    code = (ev.referral_code or "").strip()
    if not code:
        return
    if lc.referred_by or lc.referral_code_used:
        r.note(now, "referral", f"referral code {code} refused: this customer was already referred")
        return
    if code.upper() == lc.referral_code:
        r.note(now, "referral", f"referral code {code} refused: self-referral")
        return
    lc.referral_code_used = code.upper()
    fx.lookups.append(code.upper())


def on_referrer_found(r: RulesPort, fx: Effects, now: datetime, code: str, referrer: str | None) -> None:
    lc = r.a.lifecycle
    if referrer is None:
        lc.referral_code_used = None  # a mistyped code does not use up the one referral
        r.note(now, "referral", f"referral code {code} refused: no member has this code")
        return
    if referrer == r.a.customer_id:
        r.note(now, "referral", f"referral code {code} refused: self-referral")
        return
    lc.referred_by = referrer
    r.note(now, "referral", f"referred by {referrer} (code {code})")
    _signal(fx, referrer, ReferralLinked(event_id=f"referral-linked:{r.a.customer_id}", referee_id=r.a.customer_id))
    first = next((p for p in r.a.payments if p.invoice_id == lc.first_invoice_id), None)
    if first is not None and first.refunded_minor:
        r.note(now, "referral", f"first payment {first.invoice_id} already refunded: no referral reward")
    elif lc.first_invoice_id:  # the first payment came in while the code was being looked up
        _signal(
            fx,
            referrer,
            ReferralPaid(
                event_id=f"referral-paid:{r.a.customer_id}", referee_id=r.a.customer_id, invoice_id=lc.first_invoice_id
            ),
        )


def on_linked(r: RulesPort, fx: Effects, now: datetime, ev: ReferralLinked) -> None:
    if not r.lifecycle:
        return
    lc = r.a.lifecycle
    if ev.referee_id == r.a.customer_id:
        r.note(now, "referral", "referral refused: self-referral")
    elif ev.referee_id in lc.referrals:
        r.note(now, "referral", f"referral of {ev.referee_id} refused: already referred")
    else:
        lc.referrals[ev.referee_id] = Referral(referee_id=ev.referee_id, linked_at=now)
        r.note(now, "referral", f"{ev.referee_id} signed up with your code")


def after_payment(r: RulesPort, fx: Effects, now: datetime, invoice_id: str) -> None:
    """In the referee's journey: its first payment tells the referrer."""
    lc = r.a.lifecycle
    if lc.referred_by and lc.counters.payments == 1:
        _signal(
            fx,
            lc.referred_by,
            ReferralPaid(
                event_id=f"referral-paid:{r.a.customer_id}", referee_id=r.a.customer_id, invoice_id=invoice_id
            ),
        )


def after_refund(r: RulesPort, fx: Effects, now: datetime, invoice_id: str) -> None:
    lc = r.a.lifecycle
    if lc.referred_by and invoice_id == lc.first_invoice_id:
        _signal(
            fx,
            lc.referred_by,
            ReferralRefunded(
                event_id=f"referral-refunded:{r.a.customer_id}:{invoice_id}",
                referee_id=r.a.customer_id,
                invoice_id=invoice_id,
            ),
        )


def pending_id(referee_id: str) -> str:
    return f"referral:{referee_id}"


def on_paid(r: RulesPort, fx: Effects, now: datetime, ev: ReferralPaid) -> None:
    if not r.lifecycle:
        return
    ref = r.a.lifecycle.referrals.get(ev.referee_id)
    if ref is None or ref.status != "linked":
        r.note(now, "referral", f"payment of {ev.referee_id} ignored: not a linked referral")
        return
    ref.status, ref.invoice_id = "pending", ev.invoice_id
    points = r.p.earning.referral
    r.add_pending(
        fx,
        now,
        pending_id(ev.referee_id),
        points,
        "referral",
        f"{ev.referee_id}:{ev.invoice_id}",
        timedelta(days=r.p.earning.referral_hold_days),
    )
    r.email(fx, now, "referral_pending", f"referral:{ev.referee_id}", {"points": points, "referee": ev.referee_id})


def on_refunded(r: RulesPort, fx: Effects, now: datetime, ev: ReferralRefunded) -> None:
    if not r.lifecycle:
        return
    ref = r.a.lifecycle.referrals.get(ev.referee_id)
    if ref is None or ref.invoice_id != ev.invoice_id:
        return
    if ref.status == "pending":
        r.void_pending(fx, now, f"{ev.referee_id}:{ev.invoice_id}", f"referee {ev.referee_id}'s payment refunded")
        ref.status = "voided"
    else:
        r.note(now, "referral", f"refund of {ev.referee_id}'s first payment after the hold: points kept")


def on_released(r: RulesPort, fx: Effects, now: datetime, pending_ref: str | None) -> None:
    referee = (pending_ref or "").split(":", 1)[0]
    ref = r.a.lifecycle.referrals.get(referee)
    if ref is not None and ref.status == "pending":
        ref.status = "rewarded"
        r.a.lifecycle.counters.referrals_rewarded += 1
