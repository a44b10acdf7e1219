"""Facts about the membership that move no points: a failed payment, a cancellation, a plan
change, sign-up and contact details, an address that bounced or unsubscribed."""

from __future__ import annotations

from datetime import datetime

from . import badges, churn, comms, dunning, onboarding, referrals
from .effects import Effects
from .messages import EmailSuppressed, PaymentFailed, PlanChanged, ProfileUpdated, SignedUp, SubscriptionCancelled
from .rules_port import RulesPort


def on_payment_failed(r: RulesPort, fx: Effects, now: datetime, ev: PaymentFailed) -> None:
    if r.version >= 3:
        take_invoice_email(r, now, ev.customer_email)
    r.note(now, "billing", f"payment failed for invoice {ev.invoice_id}" + (f": {ev.reason}" if ev.reason else ""))
    if r.lifecycle:
        dunning.on_failed(r, fx, now, ev)


def take_invoice_email(r: RulesPort, now: datetime, email: str | None) -> None:
    """Rules version 3: an invoice's address serves while the journey has none (no customer event yet)."""
    if email and not r.a.email:
        r.a.email = email
        r.note(now, "profile", "email address taken from the invoice: none on file")


def on_cancelled(r: RulesPort, fx: Effects, now: datetime, ev: SubscriptionCancelled) -> None:
    r.a.status = "cancelled"
    kind = "involuntary" if ev.involuntary else "voluntary"
    r.note(
        now,
        "billing",
        f"subscription cancelled ({kind}), reason: {ev.reason}" + (f" — “{ev.comment}”" if ev.comment else ""),
    )
    if r.lifecycle:
        churn.on_cancelled(r, fx, now, ev)


def on_plan_changed(r: RulesPort, fx: Effects, now: datetime, ev: PlanChanged) -> None:
    r.note(now, "billing", f"plan changed to {ev.plan} ({ev.cadence})")
    r.a.lifecycle.plan_cadence = ev.cadence


def _contact(r: RulesPort, ev: ProfileUpdated | SignedUp) -> None:
    """Contact details that came with the event; a field left out keeps what we had."""
    a = r.a
    a.email = ev.email or a.email
    a.name = ev.name or a.name
    a.timezone = ev.timezone or a.timezone
    a.country = getattr(ev, "country", None) or a.country  # the legacy models (version 0-1) have none


def on_profile(r: RulesPort, fx: Effects, now: datetime, ev: ProfileUpdated) -> None:
    _contact(r, ev)
    r.note(now, "profile", "contact details updated")


def on_signed_up(r: RulesPort, fx: Effects, now: datetime, ev: SignedUp) -> None:
    a = r.a
    _contact(r, ev)
    r.note(now, "profile", "signed up" + (f" with referral code {ev.referral_code}" if ev.referral_code else ""))
    if not r.lifecycle:
        return
    lc = a.lifecycle
    if lc.signed_up_at is None:
        lc.signed_up_at = now
        onboarding.start(r, fx, now)
        badges.enroll(r, now)
    referrals.on_signed_up(r, fx, now, ev)


def on_email_suppressed(r: RulesPort, fx: Effects, now: datetime, ev: EmailSuppressed) -> None:
    state = r.a.lifecycle.comms
    if ev.reason in comms.HARD_STOPS:
        state.blocked = ev.reason
        r.note(now, "email", f"address blocked ({ev.reason}): no more email")
    else:
        state.unsubscribed = True
        r.note(now, "email", f"unsubscribed ({ev.reason}): no more marketing email")
