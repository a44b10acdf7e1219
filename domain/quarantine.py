"""Quarantine: what a journey could not apply or write is set aside, said, and the journey goes on.

An event that cannot be applied (its payload does not decode, a rule raises on it, it is older
than the deduplication horizon) changes nothing: the journey records it as rejected, with the
reason, in three places: the timeline, the account (`rejections`, for the `summary` query) and
SQL (the `quarantine` table, through an activity), and goes on with the next event. A ledger
entry the ledger refuses for good (a key or seq already taken by another entry) is quarantined
the same way: the ledger activity has put it in the `quarantine` table, and the journey records
it so that reconcile and support see it rather than waiting for it for ever.
"""

from __future__ import annotations

from datetime import datetime

from .effects import Effects, LedgerEntry, QuarantineRecord, UnwritableEntry
from .rejections import Rejection
from .rules_port import RulesPort

REJECTIONS_KEPT = 50
REASON_CHARS = 500
PAYLOAD_CHARS = 2000


def cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def reject_event(
    r: RulesPort, fx: Effects, now: datetime, event_id: str | None, event_type: str | None, reason: str, payload: str
) -> None:
    """Record an event that changed nothing: in the timeline, the account and (through `fx`) SQL."""
    a = r.a
    reason = cut(reason, REASON_CHARS)
    a.rejected_total += 1
    _keep(r, Rejection(at=now, what="event", ref=event_id, type=event_type, reason=reason))
    fx.quarantine.append(
        QuarantineRecord(
            customer_id=a.customer_id,
            key=f"{a.customer_id}/rejected:{a.rejected_total}",
            what="event",
            ref=event_id,
            type=event_type,
            reason=reason,
            payload=cut(payload, PAYLOAD_CHARS),
            at=now,
        )
    )
    r.note(now, "rejected", f"event {event_id or '(no id)'} ({event_type or 'unknown type'}) rejected: {reason}")


def quarantine_entries(
    r: RulesPort, now: datetime, batch: list[LedgerEntry], unwritable: list[UnwritableEntry]
) -> None:
    """Record the entries of `batch` the ledger refused for good (it has quarantined them in SQL)."""
    by_seq = {e.seq: e for e in batch}
    for u in unwritable:
        entry = by_seq.get(u.seq)
        kind = entry.kind if entry else None
        r.a.unwritable_total += 1
        _keep(r, Rejection(at=now, what="ledger_entry", ref=u.key, type=kind, reason=u.reason, entry=entry))
        points = f", {entry.points:+d} points" if entry and entry.points else ""
        r.note(now, "rejected", f"ledger entry {u.seq} ({kind or '?'}{points}) could not be written: {u.reason}")


def _keep(r: RulesPort, rejection: Rejection) -> None:
    r.a.rejections = (r.a.rejections + [rejection])[-REJECTIONS_KEPT:]
