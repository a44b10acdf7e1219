"""Tiers: earned by points (or spend) in a rolling window; up at once, down one level a year.

Upgrades follow the qualifying total immediately. Downgrades happen only when the tier year
ends, one level at a time and never below a support-set minimum, so a single refund or a
quiet month never costs a member their status.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field

from .compact import Compact
from .program import TierRules

ROLLING_WINDOW = timedelta(days=365)


class Qualifying(Compact):
    """One contribution to the rolling total: points earned and money paid at a moment (frozen, like a
    lot: a refund replaces it)."""

    model_config = ConfigDict(frozen=True)

    at: datetime
    points: int = 0
    spend_minor: int = 0
    ref: str | None = Field(None, description="The invoice whose payment this is, so a refund finds it.")


class MinimumTier(BaseModel):
    tier: str
    reason: str
    actor: str
    until: datetime


class TierStatus(Compact):
    name: str
    year_start: datetime
    year_end: datetime
    because: str = Field("", description="Why the member has this tier, in words support can read.")
    minimum: MinimumTier | None = None


def rolling_total(items: list[Qualifying], rules: TierRules, now: datetime) -> int:
    since = now - ROLLING_WINDOW
    live = [q for q in items if q.at > since]
    if rules.basis == "spend":
        return sum(q.spend_minor for q in live) // 100
    return sum(q.points for q in live)


def trim(items: list[Qualifying], now: datetime) -> list[Qualifying]:
    since = now - ROLLING_WINDOW
    return [q for q in items if q.at > since]


def earned_tier(total: int, rules: TierRules) -> str:
    """The highest tier whose threshold the total reaches."""
    name = rules.levels[0].name
    for tier in rules.levels:
        if total >= tier.threshold:
            name = tier.name
    return name


def floor_of(status: TierStatus, rules: TierRules, now: datetime) -> int:
    m = status.minimum
    if m is not None and m.until > now and m.tier in rules.names():
        return rules.index(m.tier)
    return 0


def upgrade_target(status: TierStatus, total: int, rules: TierRules, now: datetime) -> str | None:
    """A higher tier the member qualifies for now (by points or by a minimum), else None."""
    current = rules.index(status.name) if status.name in rules.names() else 0
    target = max(rules.index(earned_tier(total, rules)), floor_of(status, rules, now))
    return rules.levels[target].name if target > current else None


def year_end_target(status: TierStatus, total: int, rules: TierRules, now: datetime) -> str:
    """The tier for the next tier year: at most one level down, never below the minimum."""
    names = rules.names()
    current = names.index(status.name) if status.name in names else 0
    earned = names.index(earned_tier(total, rules))
    target = current if earned >= current else current - 1
    return names[max(target, floor_of(status, rules, now))]


def next_tier(status: TierStatus, total: int, rules: TierRules) -> tuple[str | None, int]:
    """The next tier up and how many qualifying points are still needed for it."""
    names = rules.names()
    current = names.index(status.name) if status.name in names else 0
    if current + 1 >= len(names):
        return None, 0
    nxt = rules.levels[current + 1]
    return nxt.name, max(0, nxt.threshold - total)
