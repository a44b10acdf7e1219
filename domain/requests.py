"""What a member or support asks of the account: redeem points, adjust them, hold a minimum tier,
move to a newly published program; and the billing credit refused after a redemption.

Each request has a check that raises `Refused` (the workflow's validator runs it before anything
enters history) and an action that runs the check again; a repeated request id answers as before,
and from rules version 2 a request id whose answer is no longer kept is refused (`answer_expired`).
"""

from __future__ import annotations

from datetime import datetime

from . import badges, tier_changes
from . import lots as L
from . import tiers as T
from .effects import BillingCredit, Effects
from .messages import AdjustRequest, AdjustResult, RedeemRequest, RedeemResult
from .program import Program
from .refusals import Refused
from .rules_port import RulesPort

ANSWERS_KEPT = 500


def check_redeem(r: RulesPort, req: RedeemRequest) -> None:
    """Raise Refused when the request cannot be honoured; a repeated request id always passes."""
    a = r.a
    if req.request_id in a.redemptions:
        return
    _refuse_forgotten_answer(r, f"redeem:{req.request_id}", req.request_id)
    if a.status != "active":
        raise Refused("member_inactive", f"member is not active (status: {a.status})")
    points = redeem_points(r, req)
    if points > a.balance:
        raise Refused("insufficient_points", f"not enough points: {points} asked, {a.balance} available")


def redeem_points(r: RulesPort, req: RedeemRequest) -> int:
    """The points a request spends, or Refused when it can never be honoured as given."""
    redemption = r.p.redemption
    if req.kind == "reward":
        if not req.reward_id:
            raise Refused("reward_required", "reward_id is required for a reward redemption")
        reward = redemption.reward(req.reward_id)
        if reward is None:
            raise Refused("unknown_reward", f"unknown reward {req.reward_id!r}")
        if not reward.available:
            raise Refused("reward_unavailable", f"reward {req.reward_id!r} is not available")
        return reward.points
    if req.points is None or req.points <= 0:
        raise Refused("points_not_positive", "points must be a positive whole number")
    if req.points < redemption.minimum_points:
        raise Refused("below_minimum", f"at least {redemption.minimum_points} points per redemption")
    if (req.points * 100) % redemption.points_per_currency_unit:
        raise Refused(
            "not_whole_cents",
            f"points must buy a whole number of cents ({redemption.points_per_currency_unit} points = 1.00)",
        )
    return req.points


def redeem(r: RulesPort, fx: Effects, now: datetime, req: RedeemRequest) -> RedeemResult:
    a = r.a
    if req.request_id in a.redemptions:
        return a.redemptions[req.request_id]
    check_redeem(r, req)
    points = redeem_points(r, req)
    L.consume(a.lots, points)
    a.lots = L.prune(a.lots)
    credit = points * 100 // r.p.redemption.points_per_currency_unit if req.kind == "credit" else 0
    origin = f"redeem:{req.request_id}"
    r.entry(
        fx,
        now,
        "spend",
        origin,
        points=-points,
        ref=req.request_id,
        reason=f"reward {req.reward_id}" if req.kind == "reward" else "billing credit",
    )
    if credit:
        fx.credits.append(
            BillingCredit(
                customer_id=a.customer_id,
                key=credit_key(r, req.request_id),
                amount_minor=credit,
                currency=r.p.currency,
                description=f"Loyalty points: {points} points redeemed",
                at=now,
            )
        )
    result = RedeemResult(
        request_id=req.request_id,
        points=points,
        kind=req.kind,
        reward_id=req.reward_id,
        credit_minor=credit,
        currency=r.p.currency,
        balance_after=a.balance,
        at=now,
    )
    a.redemptions[req.request_id] = result
    a.redemptions = dict(list(a.redemptions.items())[-ANSWERS_KEPT:])
    r.spend(f"redeem:{req.request_id}")
    r.email(
        fx,
        now,
        "redemption_receipt",
        origin,
        {"points": points, "reward_id": req.reward_id, "credit": f"{credit / 100:.2f} {r.p.currency}"},
    )
    r.note(
        now,
        "redemption",
        f"redeemed {points} points for "
        + (f"reward {req.reward_id}" if req.kind == "reward" else f"a {credit / 100:.2f} {r.p.currency} credit"),
    )
    if r.lifecycle:
        a.lifecycle.counters.redemptions += 1
        badges.check(r, fx, now)
    return result


def _refuse_forgotten_answer(r: RulesPort, key: str, request_id: str) -> None:
    """A request id used before whose answer is no longer kept (the last `ANSWERS_KEPT` are): running
    it again would spend twice, so it is refused (rules version 2 on; older runs ran it again)."""
    if r.spent(key):
        raise Refused(
            "answer_expired",
            f"request {request_id} was already carried out; its answer is no longer kept "
            f"(the last {ANSWERS_KEPT} are): use a new request id for a new request",
        )


def credit_key(r: RulesPort, request_id: str) -> str:
    return f"{r.a.customer_id}/redeem:{request_id}/credit"


def credit_failed(r: RulesPort, fx: Effects, now: datetime, credit: BillingCredit, why: str) -> None:
    """Billing refused a credit for good: give the points back and remember the refusal."""
    a = r.a
    request_id = next((rid for rid in a.redemptions if credit_key(r, rid) == credit.key), None)
    if not request_id:
        return
    done = a.redemptions.get(request_id)
    if done is None or done.error:
        return
    origin = f"redeem-failed:{request_id}"
    a.lots.append(
        L.Lot(
            lot_id=origin,
            source="returned points",
            ref=request_id,
            earned_at=now,
            expires_at=r.p.lot_expiry(now),
            points=done.points,
            remaining=done.points,
        )
    )
    r.entry(
        fx,
        now,
        "adjust",
        origin,
        points=done.points,
        lot_id=origin,
        ref=request_id,
        reason=f"billing credit failed, points returned: {why}",
        actor="tenure",
    )
    a.redemptions[request_id] = done.model_copy(
        update={"error": f"billing refused the credit: {why}", "balance_after": a.balance}
    )
    r.note(now, "redemption", f"credit for {request_id} failed ({why}); {done.points} points returned")


def check_adopt(r: RulesPort, program: Program) -> None:
    if program.version == r.p.version:
        raise Refused("same_program", f"the journey already runs program {program.version}")
    if r.a.tier.name not in program.tiers.names():
        raise Refused(
            "program_lacks_tier",
            f"program {program.version} has no tier {r.a.tier.name!r}, which this member holds",
        )


def adopt(r: RulesPort, fx: Effects, now: datetime, program: Program) -> None:
    """Run under a new program from now on; earned lots keep the expiry they were given."""
    check_adopt(r, program)
    old = r.p.version
    r.a.program = r.p = program
    r.note(now, "program", f"program {old} → {program.version}")
    tier_changes.check_upgrade(r, fx, now)


def check_adjust(r: RulesPort, req: AdjustRequest) -> None:
    if req.request_id in r.a.adjustments:
        return
    _refuse_forgotten_answer(r, f"adjust:{req.request_id}", req.request_id)
    if req.points == 0:
        raise Refused("zero_adjustment", "points must not be zero")
    if req.points < 0 and -req.points > r.a.balance:
        raise Refused("balance_too_low", f"cannot remove {-req.points} points: balance is {r.a.balance}")


def adjust(r: RulesPort, fx: Effects, now: datetime, req: AdjustRequest) -> AdjustResult:
    a = r.a
    if req.request_id in a.adjustments:
        return a.adjustments[req.request_id]
    check_adjust(r, req)
    origin = f"adjust:{req.request_id}"
    if req.points > 0:
        a.lots.append(
            L.Lot(
                lot_id=origin,
                source="adjustment",
                ref=req.request_id,
                earned_at=now,
                expires_at=r.p.lot_expiry(now),
                points=req.points,
                remaining=req.points,
            )
        )
    else:
        L.consume(a.lots, -req.points)
        a.lots = L.prune(a.lots)
    r.entry(
        fx,
        now,
        "adjust",
        origin,
        points=req.points,
        lot_id=origin if req.points > 0 else None,
        ref=req.request_id,
        reason=req.reason,
        actor=req.actor,
    )
    result = AdjustResult(request_id=req.request_id, points=req.points, balance_after=a.balance, at=now)
    a.adjustments[req.request_id] = result
    a.adjustments = dict(list(a.adjustments.items())[-ANSWERS_KEPT:])
    r.spend(f"adjust:{req.request_id}")
    r.email(fx, now, "points_adjusted", origin, {"points": req.points, "reason": req.reason})
    r.note(now, "adjustment", f"{req.actor} adjusted {req.points:+d} points: {req.reason}")
    return result


def check_minimum_tier(r: RulesPort, tier: str, until: datetime, now: datetime) -> None:
    if tier not in r.p.tiers.names():
        raise Refused("unknown_tier", f"unknown tier {tier!r}; tiers are {', '.join(r.p.tiers.names())}")
    if until <= now:
        raise Refused("until_not_future", "until must be in the future")


def set_minimum_tier(
    r: RulesPort, fx: Effects, now: datetime, tier: str, reason: str, actor: str, until: datetime
) -> None:
    check_minimum_tier(r, tier, until, now)
    r.a.tier.minimum = T.MinimumTier(tier=tier, reason=reason, actor=actor, until=until)
    r.note(now, "tier", f"{actor} set minimum tier {tier} until {until.date()}: {reason}")
    tier_changes.check_upgrade(r, fx, now)
