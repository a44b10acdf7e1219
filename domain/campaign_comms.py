"""A campaign's email, through the one communication policy (domain/comms.py), always as marketing.

Unlike the journeys' own marketing, a campaign email is not held back by the weekly cap: a
promotion that waits days for room is out of date, so the cap drops it (`capped`). Quiet hours
defer it to the member's morning, as every marketing email is; it is then decided again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from . import comms
from .effects import Effects, EmailIntent
from .rules_port import RulesPort

Delivery = Literal["sent", "deferred", "capped", "unsubscribed", "unreachable"]
PURPOSE_PREFIX = "campaign_"  # every campaign email's purpose starts so (none of the program's do)


def is_campaign(intent: EmailIntent) -> bool:
    return intent.purpose.startswith(PURPOSE_PREFIX)


def campaign_email(
    r: RulesPort, campaign_id: str, purpose: str, template_id: str, now: datetime, data: dict
) -> EmailIntent:
    """The email, keyed by customer, campaign and purpose: a retry or a replay finds the first one."""
    a = r.a
    return EmailIntent(
        customer_id=a.customer_id,
        key=f"{a.customer_id}/campaign:{campaign_id}/{purpose}",
        purpose=purpose,
        template_id=template_id,
        category="marketing",
        to_email=a.email,
        to_name=a.name,
        data={"name": a.name, "balance": a.balance, "tier": a.tier.name, "campaign_id": campaign_id, **data},
        at=now,
    )


def preview(r: RulesPort, intent: EmailIntent, now: datetime) -> Delivery:
    """What the policy would do with the email now, without doing it."""
    return _delivery(comms.decide(intent, r.a.lifecycle.comms, r.p.comms, r.a.timezone, now))


def submit(r: RulesPort, fx: Effects, now: datetime, intent: EmailIntent) -> Delivery:
    """Send, defer or drop the email as the policy decides; said in the timeline unless it went."""
    state = r.a.lifecycle.comms
    decision = comms.decide(intent, state, r.p.comms, r.a.timezone, now)
    delivery = _delivery(decision)
    if delivery == "sent":
        comms.record_sent(state, intent, now)
        fx.emails.append(intent.model_copy(update={"to_email": r.a.email, "to_name": r.a.name}))
    elif delivery == "deferred":
        assert decision.until is not None, "a deferral always says until when"
        state.deferred.append(comms.Deferred(intent=intent, due=decision.until))
        r.note(
            now, "email", f"{intent.purpose} email deferred until {decision.until:%Y-%m-%d %H:%M} UTC: {decision.why}"
        )
    else:
        r.note(now, "email", f"{intent.purpose} email dropped: {decision.why}")
    return delivery


def _delivery(decision: comms.Decision) -> Delivery:
    if decision.action == "send":
        return "sent"
    if decision.cause == "quiet_hours":
        return "deferred"
    if decision.cause in ("frequency_cap", "no_marketing"):
        return "capped"
    if decision.cause == "unsubscribed":
        return "unsubscribed"
    return "unreachable"
