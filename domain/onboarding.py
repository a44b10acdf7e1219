"""Onboarding: a welcome, then tips, a nudge only while the key action is missing, and a summary;
the sequence ends early once every goal is met, and completing it is a badge."""

from __future__ import annotations

from datetime import datetime, timedelta

from . import comms
from .effects import Effects
from .lifecycle_state import OnboardingState
from .rules_port import RulesPort


def start(r: RulesPort, fx: Effects, now: datetime) -> None:
    lc = r.a.lifecycle
    if not r.p.onboarding.enabled or lc.onboarding is not None:
        return
    lc.onboarding = OnboardingState(started_at=now)
    r.note(now, "onboarding", "onboarding started")
    advance(r, fx, now)


def deadlines(r: RulesPort) -> list[datetime]:
    ob = r.a.lifecycle.onboarding
    if ob is None or ob.finished:
        return []
    for step in r.p.onboarding.steps:
        if step.purpose not in ob.sent:
            return [ob.started_at + timedelta(days=step.day)]
    return []


def advance(r: RulesPort, fx: Effects, now: datetime) -> None:
    ob = r.a.lifecycle.onboarding
    if ob is None or ob.finished:
        return
    steps = r.p.onboarding.steps
    for step in steps:
        if step.purpose in ob.sent or ob.started_at + timedelta(days=step.day) > now:
            continue
        ob.sent.append(step.purpose)
        if step.only_if_missing and step.only_if_missing in ob.goals_met:
            r.note(now, "onboarding", f"{step.purpose} skipped: {step.only_if_missing} already done")
            continue
        r.email(
            fx,
            now,
            step.purpose,
            "onboarding",
            {"goals_met": ob.goals_met, "goals": r.p.onboarding.goals, "day": step.day},
        )
    if all(s.purpose in ob.sent for s in steps):
        ob.finished = "ended"
        r.note(now, "onboarding", "onboarding sequence ended with goals still open")


def on_activity(r: RulesPort, fx: Effects, now: datetime, kind: str) -> None:
    ob = r.a.lifecycle.onboarding
    # goals still count after the sequence ran out: completing them late still earns the badge
    if ob is None or ob.finished == "completed" or kind not in r.p.onboarding.goals or kind in ob.goals_met:
        return
    ob.goals_met.append(kind)
    # a step waiting for the morning (quiet hours) or for room under the cap is decided again then,
    # by the communication policy only: drop what the member no longer needs
    _drop_deferred(r, now, {s.purpose for s in r.p.onboarding.steps if s.only_if_missing == kind}, f"{kind} done")
    if set(r.p.onboarding.goals) <= set(ob.goals_met):
        late = ob.finished is not None
        ob.finished = "completed"
        r.note(now, "onboarding", "onboarding goals met" + (" after the sequence ended" if late else ": sequence ends"))
        _drop_deferred(r, now, {s.purpose for s in r.p.onboarding.steps}, "onboarding goals met")


def _drop_deferred(r: RulesPort, now: datetime, purposes: set[str], why: str) -> None:
    for d in comms.drop_deferred(r.a.lifecycle.comms, purposes):
        r.note(now, "email", f"{d.intent.purpose} email dropped: {why}")


def stop(r: RulesPort, now: datetime, why: str) -> None:
    """End a running sequence (the member cancelled): no more onboarding email, sent or deferred."""
    ob = r.a.lifecycle.onboarding
    if ob is None or ob.finished:
        return
    ob.finished = "ended"
    r.note(now, "onboarding", f"onboarding ended: {why}")
    _drop_deferred(r, now, {s.purpose for s in r.p.onboarding.steps}, why)
