"""The records every rule keeps: ledger entries, emails, timeline notes and the events already seen.

An email goes out at once on a journey without the lifecycle; with it, the communication policy
(domain/comms.py) decides whether it goes now, waits, or is suppressed.
"""

from __future__ import annotations

from datetime import datetime

from . import campaign_comms, comms
from .account import TimelineItem
from .effects import Effects, EmailIntent, EntryKind, LedgerEntry
from .rules_port import RulesPort

SEEN_EVENTS_KEPT = 2000
RECENT_ENTRIES_KEPT = 50
TIMELINE_KEPT = 300
# Marketing by nature, even under a program whose `comms.marketing` predates them.
ALWAYS_MARKETING = frozenset({"reward_reachable"})


def entry(
    r: RulesPort,
    fx: Effects,
    now: datetime,
    kind: EntryKind,
    origin: str,
    points: int = 0,
    pending_points: int = 0,
    *,
    lot_id: str | None = None,
    ref: str | None = None,
    reason: str | None = None,
    actor: str | None = None,
) -> LedgerEntry:
    """Record a ledger entry for a change already made to the account (its balance is after it)."""
    a = r.a
    a.seq += 1
    recorded = LedgerEntry(
        customer_id=a.customer_id,
        seq=a.seq,
        key=f"{a.customer_id}/{origin}/{kind}",
        kind=kind,
        points=points,
        pending_points=pending_points,
        balance_after=a.balance,
        pending_after=a.pending_points,
        at=now,
        program_version=r.p.version,
        lot_id=lot_id,
        ref=ref,
        reason=reason,
        actor=actor,
    )
    fx.entries.append(recorded)
    a.recent_entries = (a.recent_entries + [recorded])[-RECENT_ENTRIES_KEPT:]
    return recorded


def email(r: RulesPort, fx: Effects, now: datetime, purpose: str, origin: str, data: dict) -> None:
    """Compose an email; with the lifecycle on, the communication policy decides when it goes."""
    a = r.a
    intent = EmailIntent(
        customer_id=a.customer_id,
        key=f"{a.customer_id}/{origin}/{purpose}",
        purpose=purpose,
        template_id=r.p.email.templates.for_purpose(purpose),
        category="marketing" if purpose in r.p.comms.marketing or purpose in ALWAYS_MARKETING else "transactional",
        to_email=a.email,
        to_name=a.name,
        data={"name": a.name, "balance": a.balance, "tier": a.tier.name, **data},
        at=now,
    )
    if not r.lifecycle:
        fx.emails.append(intent)
    else:
        _submit(r, fx, now, intent)


def send_deferred(r: RulesPort, fx: Effects, now: datetime) -> None:
    """Emails the policy deferred whose time has come are decided again: an unsubscribe in between
    suppresses them."""
    state = r.a.lifecycle.comms
    due = [d for d in state.deferred if d.due <= now]
    state.deferred = [d for d in state.deferred if d.due > now]
    for d in due:
        if campaign_comms.is_campaign(d.intent):  # dropped rather than held by the weekly cap
            campaign_comms.submit(r, fx, now, d.intent)
        else:
            _submit(r, fx, now, d.intent)


def _submit(r: RulesPort, fx: Effects, now: datetime, intent: EmailIntent) -> None:
    state = r.a.lifecycle.comms
    d = comms.decide(intent, state, r.p.comms, r.a.timezone, now)
    if d.action == "send":
        comms.record_sent(state, intent, now)
        fx.emails.append(intent.model_copy(update={"to_email": r.a.email, "to_name": r.a.name}))
    elif d.action == "defer":
        assert d.until is not None, "a deferral always says until when"
        state.deferred.append(comms.Deferred(intent=intent, due=d.until))
        note(r, now, "email", f"{intent.purpose} email deferred until {d.until:%Y-%m-%d %H:%M} UTC: {d.why}")
    else:
        note(r, now, "email", f"{intent.purpose} email suppressed: {d.why}")


def note(r: RulesPort, now: datetime, kind: str, text: str) -> None:
    """A line of the member's timeline, in words (the `timeline` query)."""
    r.a.timeline = (r.a.timeline + [TimelineItem(at=now, kind=kind, text=text)])[-TIMELINE_KEPT:]


def seen(r: RulesPort, event_id: str) -> bool:
    return event_id in r.a.seen_events


def remember(r: RulesPort, event_id: str) -> None:
    r.a.seen_events = (r.a.seen_events + [event_id])[-SEEN_EVENTS_KEPT:]
