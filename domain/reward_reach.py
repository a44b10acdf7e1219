"""A member whose balance first reaches the cheapest reward hears they can redeem it (rules version 4).

Once per reward level: the level (the cheapest reward's points) is remembered, so the member hears
again only when the program's cheapest reward moves to another level. The email is marketing
whatever the program lists (bookkeeping.ALWAYS_MARKETING): it respects unsubscribes, the weekly
cap and quiet hours like any campaign.
"""

from __future__ import annotations

from datetime import datetime

from .effects import Effects
from .rules_port import RulesPort
from .segments import PROJECTION_RULES_VERSION

PURPOSE = "reward_reachable"


def check(r: RulesPort, fx: Effects, now: datetime) -> None:
    if r.version < PROJECTION_RULES_VERSION or not r.lifecycle:
        return
    rewards = [x for x in r.p.redemption.catalog if x.available]
    if not rewards:
        return
    cheapest = min(rewards, key=lambda x: (x.points, x.id))
    told = r.a.lifecycle.reward_levels_told
    if r.a.balance < cheapest.points or cheapest.points in told:
        return
    told.append(cheapest.points)
    del told[:-20]  # bounded: only a program change adds a level
    r.note(now, "rewards", f"balance reached {cheapest.points} points: {cheapest.title!r} can be redeemed")
    r.email(
        fx,
        now,
        PURPOSE,
        f"reward-reachable:{cheapest.points}",
        {"reward_id": cheapest.id, "reward": cheapest.title, "reward_points": cheapest.points},
    )
