"""A campaign reaches one member: the `apply_campaign` update's rule.

Once per campaign id, whole or not at all: the touch is applied on a checkpoint of the account
into effects of its own (as an event is, domain/intake.py), and its answer is kept, so a repeat
answers the first result, and a repeat whose answer is no longer kept answers `already_applied`.

What each kind does:
- bonus: a lot of `bonus_points` (at most `max_points`), expiring by the program's rule, with the
  campaign's reason in the ledger (key `{customer}/campaign:{id}/earn`) and its actor;
- multiplier: the window is remembered; earnings inside it add extra points (campaign_earning.py);
- announcement: a marketing email with the touch's template;
- offer: a discount through the billing gateway, or bonus points earned by the next payment,
  valid `valid_days`, announced by email (the touch's template, or the program's win-back offer);
- challenge: the member joins a time-boxed challenge; finishing it earns its bonus;
- publish_program: the journey moves to the program (the `adopt_program` rule).
Points earned through a campaign do not count towards tiers (as badge and challenge bonuses).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from . import campaign_comms
from .campaign_comms import Delivery
from .campaign_state import RESULTS_KEPT, ActiveWindow, CampaignChallenge, CampaignOffer
from .campaign_touch import ALREADY_APPLIED, CampaignTouch, EmailReport, TouchResult, touch_problems
from .checkpoint import Checkpoint
from .effects import DiscountRequest, Effects
from .refusals import Refused
from .rules_port import RulesPort

NEEDS_ACTIVE = frozenset({"bonus", "multiplier", "challenge"})  # what a cancelled member cannot take part in
DELIVERY_REPORT: dict[Delivery, EmailReport] = {
    "sent": "sent",
    "deferred": "deferred",
    "capped": "suppressed",
    "unsubscribed": "suppressed",
    "unreachable": "suppressed",
}
SKIP_FOR: dict[Delivery, str] = {"capped": "capped", "unsubscribed": "unsubscribed", "unreachable": "not_eligible"}


def answered(r: RulesPort, campaign_id: str) -> TouchResult | None:
    """The answer to a campaign already applied; None for a campaign this journey has not seen."""
    memory = r.a.campaigns
    if campaign_id in memory.results:
        return memory.results[campaign_id]
    if memory.applied.has(campaign_id):
        return TouchResult(campaign_id=campaign_id, outcome="skipped", reason=ALREADY_APPLIED)
    return None


def check_touch(touch: CampaignTouch) -> None:
    """Refuse a touch that cannot make sense (its model refuses it too; this guards a touch built unchecked)."""
    problems = touch_problems(touch)
    if problems:
        raise Refused("malformed_touch", "; ".join(problems))


def apply_touch(r: RulesPort, outbox: Effects, now: datetime, touch: CampaignTouch) -> TouchResult:
    known = answered(r, touch.campaign_id)
    if known is not None:
        return known
    check_touch(touch)
    saved = Checkpoint(r.a)
    fx = Effects()
    try:
        result = _apply(r, fx, now, touch)
    except BaseException:
        saved.restore()  # nothing of a touch that failed halfway stays behind
        raise
    outbox.extend(fx)
    memory = r.a.campaigns
    memory.applied.add(touch.campaign_id)
    memory.results[touch.campaign_id] = result
    memory.results = dict(list(memory.results.items())[-RESULTS_KEPT:])
    return result


def _apply(r: RulesPort, fx: Effects, now: datetime, touch: CampaignTouch) -> TouchResult:
    if touch.kind in NEEDS_ACTIVE and r.a.status == "cancelled":
        return _skip(r, now, touch, "member_inactive", "the member has cancelled")
    if touch.kind == "bonus":
        return _bonus(r, fx, now, touch)
    if touch.kind == "multiplier":
        return _multiplier(r, fx, now, touch)
    if touch.kind == "announcement":
        return _announcement(r, fx, now, touch)
    if touch.kind == "offer":
        return _offer(r, fx, now, touch)
    if touch.kind == "challenge":
        return _challenge(r, fx, now, touch)
    return _publish(r, fx, now, touch)


def _skip(r: RulesPort, now: datetime, touch: CampaignTouch, reason: str, why: str, email: EmailReport = "none"):
    r.note(now, "campaign", f"campaign {touch.campaign_id} ({touch.kind}) skipped: {why}")
    return TouchResult(campaign_id=touch.campaign_id, outcome="skipped", reason=reason, email=email)


def _applied(touch: CampaignTouch, email: Delivery | None = None, points: int = 0) -> TouchResult:
    return TouchResult(
        campaign_id=touch.campaign_id,
        outcome="applied",
        reason="quiet_hours" if email == "deferred" else None,
        points_granted=points,
        email="none" if email is None else DELIVERY_REPORT[email],
    )


def _capped(touch: CampaignTouch, points: int) -> int:
    return points if touch.max_points is None else min(points, touch.max_points)


def _notify(r: RulesPort, fx: Effects, now: datetime, touch: CampaignTouch, data: dict) -> Delivery | None:
    """The touch's own email, when it names a template."""
    if touch.template_id is None:
        return None
    purpose = f"{campaign_comms.PURPOSE_PREFIX}{touch.kind}"
    intent = campaign_comms.campaign_email(
        r, touch.campaign_id, purpose, touch.template_id, now, {"reason": touch.reason, **data}
    )
    return campaign_comms.submit(r, fx, now, intent)


def _bonus(r: RulesPort, fx: Effects, now: datetime, touch: CampaignTouch) -> TouchResult:
    assert touch.bonus_points is not None, "checked by the touch's model"
    points = _capped(touch, touch.bonus_points)
    if points <= 0:
        return _skip(r, now, touch, "not_eligible", "no points left to grant (max_points is 0)")
    r.earn(
        fx,
        now,
        points,
        f"campaign {touch.campaign_id}: {touch.reason}",
        origin=f"campaign:{touch.campaign_id}",
        ref=touch.campaign_id,
        qualifies=False,
        actor=touch.actor,
    )
    r.note(now, "campaign", f"campaign {touch.campaign_id}: {points} bonus points ({touch.reason})")
    return _applied(touch, _notify(r, fx, now, touch, {"points": points}), points)


def _multiplier(r: RulesPort, fx: Effects, now: datetime, touch: CampaignTouch) -> TouchResult:
    window = touch.multiplier
    assert window is not None, "checked by the touch's model"
    if window.ends_at <= now:
        return _skip(r, now, touch, "not_eligible", f"the window ended at {window.ends_at:%Y-%m-%d %H:%M} UTC")
    caps = [c for c in (window.cap_extra_points, touch.max_points) if c is not None]
    cap = min(caps) if caps else None
    if cap == 0:
        return _skip(r, now, touch, "not_eligible", "no extra points left to grant (cap is 0)")
    r.a.campaigns.windows.append(
        ActiveWindow(campaign_id=touch.campaign_id, reason=touch.reason, actor=touch.actor, window=window, cap=cap)
    )
    channels = " and ".join(sorted(window.applies_to))
    r.note(
        now,
        "campaign",
        f"campaign {touch.campaign_id}: ×{window.factor:g} on {channels} from {window.starts_at:%Y-%m-%d %H:%M} "
        f"to {window.ends_at:%Y-%m-%d %H:%M} UTC ({window.combine} with the tier)"
        + (f", at most {cap} extra points" if cap is not None else ""),
    )
    data = {"factor": window.factor, "starts_at": window.starts_at.isoformat(), "ends_at": window.ends_at.isoformat()}
    return _applied(touch, _notify(r, fx, now, touch, data))


def _announcement(r: RulesPort, fx: Effects, now: datetime, touch: CampaignTouch) -> TouchResult:
    delivery = _notify(r, fx, now, touch, {})
    assert delivery is not None, "an announcement has a template (checked by the touch's model)"
    if delivery in SKIP_FOR:
        return _skip(r, now, touch, SKIP_FOR[delivery], f"its email was not sent ({delivery})", "suppressed")
    r.note(now, "campaign", f"campaign {touch.campaign_id}: announcement {delivery}")
    return _applied(touch, delivery)


def _offer(r: RulesPort, fx: Effects, now: datetime, touch: CampaignTouch) -> TouchResult:
    """An offer no one hears of is no offer: one the policy would not let out now is skipped."""
    terms = touch.offer
    assert terms is not None, "checked by the touch's model"
    memory = r.a.campaigns
    expires = now + timedelta(days=terms.valid_days)
    template = touch.template_id or r.p.email.templates.for_purpose("winback_offer")
    purpose = f"{campaign_comms.PURPOSE_PREFIX}offer"
    if terms.percent_off is not None:
        probe = campaign_comms.campaign_email(r, touch.campaign_id, purpose, template, now, {})
        delivery = campaign_comms.preview(r, probe, now)
        if delivery in SKIP_FOR:
            return _skip(r, now, touch, SKIP_FOR[delivery], f"its email could not go ({delivery})", "suppressed")
        fx.discounts.append(
            DiscountRequest(
                customer_id=r.a.customer_id,
                key=discount_key(r, touch.campaign_id),
                percent_off=terms.percent_off,
                duration_months=terms.duration_months,
                expires_at=expires,
            )
        )
        memory.offers.append(
            CampaignOffer(
                campaign_id=touch.campaign_id,
                reason=touch.reason,
                actor=touch.actor,
                kind="discount",
                expires_at=expires,
                template_id=template,
                percent_off=terms.percent_off,
            )
        )
        r.note(
            now,
            "campaign",
            f"campaign {touch.campaign_id}: creating a {terms.percent_off}% discount, "
            f"valid until {expires:%Y-%m-%d %H:%M}",
        )
        return _applied(touch, delivery)  # the email follows once billing answers with the code
    assert terms.bonus_points is not None, "an offer is a discount or bonus points (checked by its model)"
    points = _capped(touch, terms.bonus_points)
    if points <= 0:
        return _skip(r, now, touch, "not_eligible", "no points left to offer (max_points is 0)")
    offer = CampaignOffer(
        campaign_id=touch.campaign_id,
        reason=touch.reason,
        actor=touch.actor,
        kind="bonus_points",
        expires_at=expires,
        template_id=template,
        bonus_points=points,
    )
    intent = campaign_comms.campaign_email(r, touch.campaign_id, purpose, template, now, offer_data(offer))
    delivery = campaign_comms.submit(r, fx, now, intent)
    if delivery in SKIP_FOR:
        return _skip(r, now, touch, SKIP_FOR[delivery], f"its email was not sent ({delivery})", "suppressed")
    memory.offers.append(offer)
    r.note(
        now,
        "campaign",
        f"campaign {touch.campaign_id}: {points} bonus points offered on the next payment "
        f"until {expires:%Y-%m-%d %H:%M}",
    )
    return _applied(touch, delivery)


def offer_data(offer: CampaignOffer) -> dict:
    return {
        "offer": offer.kind,
        "code": offer.code,
        "percent_off": offer.percent_off,
        "bonus_points": offer.bonus_points,
        "expires_at": offer.expires_at.isoformat(),
        "reason": offer.reason,
    }


def discount_key(r: RulesPort, campaign_id: str) -> str:
    return f"{r.a.customer_id}/campaign:{campaign_id}/discount"


def _challenge(r: RulesPort, fx: Effects, now: datetime, touch: CampaignTouch) -> TouchResult:
    terms = touch.challenge
    assert terms is not None, "checked by the touch's model"
    if terms.ends_at <= now:
        return _skip(r, now, touch, "not_eligible", f"the challenge ended at {terms.ends_at:%Y-%m-%d %H:%M} UTC")
    starts = max(now, terms.starts_at) if terms.starts_at is not None else now
    r.a.campaigns.challenges.append(
        CampaignChallenge(
            campaign_id=touch.campaign_id,
            actor=touch.actor,
            terms=terms,
            starts_at=starts,
            bonus_points=_capped(touch, terms.bonus_points),
        )
    )
    r.note(
        now,
        "challenge",
        f"joined challenge {terms.title!r} (campaign {touch.campaign_id}): {terms.activity} ×{terms.count} "
        f"from {starts:%Y-%m-%d %H:%M} until {terms.ends_at:%Y-%m-%d %H:%M} UTC",
    )
    data = {"challenge": terms.title, "ends_at": terms.ends_at.isoformat(), "bonus_points": terms.bonus_points}
    return _applied(touch, _notify(r, fx, now, touch, data))


def _publish(r: RulesPort, fx: Effects, now: datetime, touch: CampaignTouch) -> TouchResult:
    program = touch.program
    assert program is not None, "checked by the touch's model"
    try:
        r.check_adopt(program)
    except Refused as e:
        return _skip(r, now, touch, "not_eligible", e.message)
    r.adopt(fx, now, program)
    return _applied(touch, _notify(r, fx, now, touch, {"program_version": program.version}))
