"""The communication policy: every email of every journey passes through `decide`.

Transactional email always goes (unless the address bounced or reported spam: then nothing
goes). Marketing email also respects unsubscribes, a weekly frequency cap and quiet hours in
the member's time zone; what cannot go now waits, and is decided again when its time comes.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field

from .compact import Compact
from .effects import EmailIntent
from .program_lifecycle import CommsRules

WEEK = timedelta(days=7)
HARD_STOPS = {"bounce", "spamreport", "dropped"}


class Deferred(BaseModel):
    intent: EmailIntent
    due: datetime


class CommsState(Compact):
    blocked: str | None = Field(None, description="bounce/spamreport/dropped: the address gets nothing more.")
    unsubscribed: bool = False
    marketing_sent: list[datetime] = Field(default_factory=list)
    deferred: list[Deferred] = Field(default_factory=list)


DecisionCause = Literal["blocked", "no_address", "unsubscribed", "no_marketing", "frequency_cap", "quiet_hours"]


class Decision(BaseModel):
    action: Literal["send", "defer", "suppress"]
    until: datetime | None = None
    why: str = ""
    cause: DecisionCause | None = Field(None, description="Why it does not go now, for rules that act on it.")


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def quiet_until(now: datetime, tz: str, rules: CommsRules) -> datetime | None:
    """The end of the quiet hours `now` falls in, in the member's zone; None when it is daytime there."""
    start, end = rules.quiet_hours_start, rules.quiet_hours_end
    if start == end:
        return None
    local = now.astimezone(zone(tz))
    h = local.hour
    quiet = (h >= start or h < end) if start > end else (start <= h < end)
    if not quiet:
        return None
    morning = local.replace(hour=end, minute=0, second=0, microsecond=0)
    if morning <= local:
        morning += timedelta(days=1)
    return morning.astimezone(now.tzinfo)


def decide(intent: EmailIntent, state: CommsState, rules: CommsRules, tz: str, now: datetime) -> Decision:
    if state.blocked:
        return Decision(action="suppress", why=f"address blocked after {state.blocked}", cause="blocked")
    if not intent.to_email:
        return Decision(action="suppress", why="no email address on file", cause="no_address")
    if intent.category == "transactional":
        return Decision(action="send")
    if state.unsubscribed:
        return Decision(action="suppress", why="member unsubscribed from marketing", cause="unsubscribed")
    if rules.frequency_cap_per_week == 0:  # no room ever: deferring would wait for ever
        return Decision(action="suppress", why="frequency cap is 0: no marketing email", cause="no_marketing")
    recent = sorted(t for t in state.marketing_sent if t > now - WEEK)
    if len(recent) >= rules.frequency_cap_per_week:
        free_at = recent[len(recent) - rules.frequency_cap_per_week] + WEEK
        return Decision(
            action="defer",
            until=free_at,
            why=f"frequency cap: {len(recent)} marketing emails in 7 days",
            cause="frequency_cap",
        )
    morning = quiet_until(now, tz, rules)
    if morning is not None:
        return Decision(action="defer", until=morning, why=f"quiet hours in {tz}", cause="quiet_hours")
    return Decision(action="send")


def record_sent(state: CommsState, intent: EmailIntent, now: datetime) -> None:
    if intent.category == "marketing":
        state.marketing_sent = [t for t in state.marketing_sent if t > now - WEEK] + [now]


def drop_deferred(state: CommsState, purposes: set[str] | frozenset[str]) -> list[Deferred]:
    """Take the deferred emails of these purposes out of the queue (their journey has moved on)."""
    dropped = [d for d in state.deferred if d.intent.purpose in purposes]
    state.deferred = [d for d in state.deferred if d.intent.purpose not in purposes]
    return dropped
