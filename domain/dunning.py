"""Dunning: a failed payment is not a cancellation. Ask for a new card on the program's days;
a successful payment ends it at once."""

from __future__ import annotations

from datetime import datetime, timedelta

from .effects import Effects
from .lifecycle_state import Dunning
from .messages import PaymentFailed
from .rules_port import RulesPort


def on_failed(r: RulesPort, fx: Effects, now: datetime, ev: PaymentFailed) -> None:
    lc = r.a.lifecycle
    if lc.churn is not None:
        return
    if lc.dunning is None:
        lc.dunning = Dunning(started_at=now, invoice_id=ev.invoice_id)
        r.a.status = "past_due"
        r.note(now, "dunning", f"dunning started for invoice {ev.invoice_id}")
    advance(r, fx, now)


def on_recovered(r: RulesPort, now: datetime) -> None:
    if r.a.lifecycle.dunning is not None:
        r.note(now, "dunning", f"payment recovered: dunning for {r.a.lifecycle.dunning.invoice_id} ended")
        r.a.lifecycle.dunning = None


def deadlines(r: RulesPort) -> list[datetime]:
    d = r.a.lifecycle.dunning
    if d is None:
        return []
    return [d.started_at + timedelta(days=day) for day in r.p.dunning.email_days if day not in d.sent_days][:1]


def advance(r: RulesPort, fx: Effects, now: datetime) -> None:
    d = r.a.lifecycle.dunning
    if d is None:
        return
    due = [
        day for day in r.p.dunning.email_days if day not in d.sent_days and d.started_at + timedelta(days=day) <= now
    ]
    if due:
        d.sent_days += due
        r.email(
            fx,
            now,
            "dunning",
            f"dunning:{d.invoice_id}:{max(due):g}",
            {"invoice_id": d.invoice_id, "attempt": len(d.sent_days)},
        )
