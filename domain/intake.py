"""How a journey takes in one fact (rules version 2 on): once, whole, or not at all.

`receive` is the `event` signal's rule:
1. an event id already seen is a duplicate: nothing happens (as before);
2. a fact older than the deduplication horizon is rejected: its id may be forgotten by now;
3. a business key already used (an invoice paid, a refund, a SendGrid or referral event) is a
   duplicate at any distance: said in the timeline, nothing else;
4. the event is applied on a checkpoint of the account (domain/checkpoint.py), into effects of its
   own: if a rule raises, the account is put back as it was, the effects are dropped and the
   event is rejected (domain/quarantine.py); the journey goes on with the next one;
5. applied, its effects join the outbox and its id and business key are remembered.

A payload that does not decode as an event is rejected the same way (`reject_undecodable`), so a
bad signal is visible instead of being dropped by the SDK with only a worker log line.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from .account import Account
from .checkpoint import Checkpoint
from .deduplication import Deduplication
from .effects import Effects
from .event_handlers import apply_event
from .journey import DEDUPLICATION_HORIZON_DAYS
from .messages import CustomerEvent
from .quarantine import reject_event
from .rules_port import RulesPort

Outcome = Literal["applied", "duplicate", "rejected"]

HORIZON = timedelta(days=DEDUPLICATION_HORIZON_DAYS)
BUSINESS_KEY_TYPES = frozenset({"referral_linked", "referral_paid", "referral_refunded"})


def business_key(event: CustomerEvent) -> str | None:
    """What makes this fact the same fact whatever its event id, remembered for good; None: only its id."""
    if event.type == "payment_succeeded":
        return f"invoice:{event.invoice_id}"
    if event.type == "refund_issued":
        return f"refund:{event.event_id}"
    if event.type in BUSINESS_KEY_TYPES or event.event_id.startswith("sendgrid:"):
        return f"event:{event.event_id}"
    return None


def _describe(event: CustomerEvent) -> str:
    if event.type == "payment_succeeded":
        return f"invoice {event.invoice_id}"
    return f"{event.type.replace('_', ' ')} {event.event_id}"


def receive(r: RulesPort, outbox: Effects, now: datetime, event: CustomerEvent) -> Outcome:
    dedup = r.a.dedup
    assert dedup is not None, "rules version 2 on: the account has its memory"
    if dedup.recent.seen(event.event_id):
        return "duplicate"
    if event.occurred_at is not None and _utc(event.occurred_at) < now - HORIZON:
        reject_event(
            r,
            outbox,
            now,
            event.event_id,
            event.type,
            f"occurred at {_utc(event.occurred_at):%Y-%m-%d}, more than {DEDUPLICATION_HORIZON_DAYS} days ago: "
            "older than the deduplication horizon",
            event.model_dump_json(),
        )
        return "rejected"
    key = business_key(event)
    if key is not None and dedup.keys.has(key):
        r.note(now, "duplicate", f"{_describe(event)} already counted; ignored")
        dedup.recent.remember(event.event_id, now, DEDUPLICATION_HORIZON_DAYS)
        return "duplicate"
    saved = Checkpoint(r.a)
    fx = Effects()
    try:
        apply_event(r, fx, now, event)
    except Exception as e:  # noqa: BLE001 - any rule failing on this event: the event is set aside, not retried
        saved.restore()
        reject_event(
            r, outbox, now, event.event_id, event.type, f"could not be applied: {_error(e)}", event.model_dump_json()
        )
        return "rejected"
    outbox.extend(fx)
    dedup.recent.remember(event.event_id, now, DEDUPLICATION_HORIZON_DAYS)
    if key is not None:
        dedup.keys.add(key)
    return "applied"


def reject_undecodable(r: RulesPort, outbox: Effects, now: datetime, payload: str, error: BaseException) -> None:
    """A signal payload that is not an event: rejected, with whatever id and type it names."""
    event_id, event_type = _named(payload)
    reject_event(r, outbox, now, event_id, event_type, f"payload is not a valid event: {_error(error)}", payload)


def adopt_memory(account: Account, now: datetime) -> None:
    """Give an account from an older rules version its deduplication memory (a no-op when it has one).

    What the older run knew goes in: its last 2,000 event ids (as ids seen today), the invoices
    of its payments, its kept redemption and adjustment answers; `seen_events` is then emptied.
    """
    if account.dedup is not None:
        return
    dedup = Deduplication()
    for event_id in account.seen_events:
        dedup.recent.remember(event_id, now, DEDUPLICATION_HORIZON_DAYS)
        if event_id.startswith(("sendgrid:", "referral-")):
            dedup.keys.add(f"event:{event_id}")
    for payment in account.payments:
        dedup.keys.add(f"invoice:{payment.invoice_id}")
    for request_id in account.redemptions:
        dedup.keys.add(f"redeem:{request_id}")
    for request_id in account.adjustments:
        dedup.keys.add(f"adjust:{request_id}")
    account.dedup = dedup
    account.seen_events = []


def _utc(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _error(e: BaseException) -> str:
    text = str(e).strip()
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


def _named(payload: str) -> tuple[str | None, str | None]:
    """The event id and type a payload names, if it is JSON of roughly the right shape."""
    try:
        data: Any = json.loads(payload)
    except ValueError:
        return None, None
    event = data.get("event") if isinstance(data, dict) else None
    if not isinstance(event, dict):
        return None, None
    event_id, event_type = event.get("event_id"), event.get("type")
    return (
        event_id[:200] if isinstance(event_id, str) else None,
        event_type[:50] if isinstance(event_type, str) else None,
    )
