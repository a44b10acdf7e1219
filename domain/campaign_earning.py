"""What a live campaign changes in what the member does afterwards: extra points inside a multiplier
window, an offer's bonus on the next payment, progress in a campaign challenge.

Every hook here does nothing unless a campaign is live on the account, and campaigns only
arrive by the `apply_campaign` update, which no recorded history holds: journeys of every rules
version call these hooks, and the histories recorded before campaigns replay unchanged.
"""

from __future__ import annotations

from datetime import datetime

from . import campaign_comms
from .campaign_apply import offer_data
from .campaign_state import ActiveWindow
from .campaign_touch import Channel
from .effects import DiscountOutcome, DiscountRequest, Effects
from .rules_port import RulesPort


def extra_for(window: ActiveWindow, earned: int, tier_multiplier: float) -> int:
    """The extra points a window adds to `earned` (already multiplied by the tier): ×factor on top
    of the tier (`multiply`), or up to the larger of factor and tier (`larger`), within the cap left."""
    terms = window.window
    if terms.combine == "multiply":
        extra = int(earned * (terms.factor - 1))
    else:
        # earned / tier is what the base earned; 1e-9 keeps 110 × 2 / 1.1 from flooring to 199
        extra = int(earned * max(terms.factor, tier_multiplier) / tier_multiplier + 1e-9) - earned
    if window.cap is not None:
        extra = min(extra, window.cap - window.extra_granted)
    return max(extra, 0)


def boost(
    r: RulesPort,
    fx: Effects,
    now: datetime,
    channel: Channel,
    earned: int,
    tier_multiplier: float,
    origin: str,
    ref: str | None,
) -> int:
    """Add the extra points of every window open at `now` (an instant) for `channel`: a lot of its
    own per campaign, with the campaign in the ledger. Windows of several campaigns add up."""
    total = 0
    for window in r.a.campaigns.windows:
        terms = window.window
        if earned <= 0 or channel not in terms.applies_to or not terms.starts_at <= now < terms.ends_at:
            continue
        extra = extra_for(window, earned, tier_multiplier)
        if extra <= 0:
            continue
        window.extra_granted += extra
        total += extra
        r.earn(
            fx,
            now,
            extra,
            f"campaign {window.campaign_id}: ×{terms.factor:g} {window.reason}",
            origin=f"campaign:{window.campaign_id}:{origin}",
            ref=ref,
            qualifies=False,
            actor=window.actor,
        )
    return total


def on_payment(r: RulesPort, fx: Effects, now: datetime, invoice_id: str) -> None:
    """A payment while a campaign's bonus offer is live earns its bonus, once."""
    for offer in r.a.campaigns.offers:
        if offer.kind != "bonus_points" or offer.redeemed_at is not None or now >= offer.expires_at:
            continue
        offer.redeemed_at = now
        r.earn(
            fx,
            now,
            offer.bonus_points,
            f"campaign {offer.campaign_id}: {offer.reason}",
            origin=f"campaign:{offer.campaign_id}",
            ref=invoice_id,
            qualifies=False,
            actor=offer.actor,
        )
        r.note(now, "campaign", f"campaign {offer.campaign_id}: offer taken up, {offer.bonus_points} bonus points")


def on_activity(r: RulesPort, fx: Effects, now: datetime, kind: str) -> None:
    """Progress in the campaign challenges the member joined; finishing one earns its bonus."""
    for joined in r.a.campaigns.challenges:
        terms = joined.terms
        if joined.done_at or terms.activity != kind or not joined.starts_at <= now < terms.ends_at:
            continue
        joined.progress += 1
        if joined.progress < terms.count:
            continue
        joined.done_at = now
        r.note(now, "challenge", f"challenge {terms.title!r} (campaign {joined.campaign_id}) completed")
        if joined.bonus_points:
            r.earn(
                fx,
                now,
                joined.bonus_points,
                f"campaign {joined.campaign_id}: challenge {terms.title}",
                origin=f"campaign:{joined.campaign_id}",
                ref=joined.campaign_id,
                qualifies=False,
                actor=joined.actor,
            )
        intent = campaign_comms.campaign_email(
            r,
            joined.campaign_id,
            f"{campaign_comms.PURPOSE_PREFIX}challenge_completed",
            r.p.email.templates.for_purpose("challenge_completed"),
            now,
            {"challenge": terms.title, "bonus_points": joined.bonus_points},
        )
        campaign_comms.submit(r, fx, now, intent)


def owns_discount(r: RulesPort, req: DiscountRequest) -> bool:
    return req.key.startswith(f"{r.a.customer_id}/campaign:")


def on_discount_created(
    r: RulesPort, fx: Effects, now: datetime, req: DiscountRequest, outcome: DiscountOutcome
) -> None:
    """Billing created a campaign's discount: the member hears of it, with the code."""
    offer = next((o for o in r.a.campaigns.offers if req.key.endswith(f"/campaign:{o.campaign_id}/discount")), None)
    if offer is None:
        r.note(now, "campaign", f"discount {outcome.code} created for an offer no longer live: not sent")
        return
    offer.code = outcome.code
    purpose = f"{campaign_comms.PURPOSE_PREFIX}offer"
    assert offer.template_id is not None, "a campaign offer always has its template"
    intent = campaign_comms.campaign_email(r, offer.campaign_id, purpose, offer.template_id, now, offer_data(offer))
    campaign_comms.submit(r, fx, now, intent)


def advance(r: RulesPort, fx: Effects, now: datetime) -> None:
    """Forget windows, offers and challenges that are over (said in the timeline); on a run without the
    lifecycle journeys, also send the campaign emails quiet hours deferred (the lifecycle sends them)."""
    memory = r.a.campaigns
    if memory:
        for window in memory.windows:
            if window.window.ends_at <= now:
                r.note(
                    now, "campaign", f"campaign {window.campaign_id}: window over, {window.extra_granted} extra points"
                )
        memory.windows = [w for w in memory.windows if w.window.ends_at > now]
        memory.offers = [o for o in memory.offers if o.expires_at > now and o.redeemed_at is None]
        for joined in memory.challenges:
            if not joined.done_at and joined.terms.ends_at <= now:
                r.note(now, "challenge", f"challenge {joined.terms.title!r} ended at {joined.progress} of the goal")
        memory.challenges = [c for c in memory.challenges if not c.done_at and c.terms.ends_at > now]
    if not r.lifecycle and r.a.lifecycle.comms.deferred:
        state = r.a.lifecycle.comms
        due = [d for d in state.deferred if d.due <= now]
        state.deferred = [d for d in state.deferred if d.due > now]
        for d in due:
            campaign_comms.submit(r, fx, now, d.intent)


def deadlines(r: RulesPort) -> list[datetime]:
    """A run without the lifecycle wakes for the campaign emails it deferred (the lifecycle's clock does otherwise)."""
    return [] if r.lifecycle else [d.due for d in r.a.lifecycle.comms.deferred]
