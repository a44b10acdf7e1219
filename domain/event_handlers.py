"""Which rule applies each fact of the `event` signal: one handler per `CustomerEvent` type.

tests/test_domain_events.py holds this table to the union in domain/messages.py, so a new event
type cannot reach a journey that has no rule for it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from . import earning, membership, payments, referrals
from .effects import Effects
from .messages import CustomerEvent
from .rules_port import RulesPort

EventHandler = Callable[[RulesPort, Effects, datetime, Any], None]

HANDLERS: dict[str, EventHandler] = {
    "payment_succeeded": payments.on_payment,
    "payment_failed": membership.on_payment_failed,
    "subscription_cancelled": membership.on_cancelled,
    "plan_changed": membership.on_plan_changed,
    "refund_issued": payments.on_refund,
    "activity": earning.on_activity,
    "profile_updated": membership.on_profile,
    "signed_up": membership.on_signed_up,
    "email_suppressed": membership.on_email_suppressed,
    "referral_linked": referrals.on_linked,
    "referral_paid": referrals.on_paid,
    "referral_refunded": referrals.on_refunded,
}

# Events that may change who the member is (contact details): the customers table must follow.
CONTACT_EVENTS = frozenset({"profile_updated", "signed_up"})


def apply_event(r: RulesPort, fx: Effects, now: datetime, event: CustomerEvent) -> None:
    HANDLERS[event.type](r, fx, now, event)
