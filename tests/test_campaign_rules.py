"""A campaign touch as pure rules (domain/campaign_apply.py, campaign_earning.py): each kind, the
multiplier against the tier, caps, the communication policy, once per campaign, all or nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain import campaign_apply
from domain.account import Account
from domain.campaign_state import RESULTS_KEPT
from domain.campaign_touch import CampaignTouch
from domain.effects import DiscountOutcome, Effects
from domain.intake import adopt_memory
from domain.messages import ActivityReported, EmailSuppressed, PaymentSucceeded, SignedUp
from domain.rules import AccountRules

NOON = datetime(2026, 6, 10, 12, tzinfo=UTC)  # daytime in UTC: marketing may go


def member(program, tz: str = "UTC", now: datetime = NOON) -> AccountRules:
    account = Account.open("cus_1", program, now - timedelta(days=30))
    adopt_memory(account, now)
    rules = AccountRules(account, lifecycle=True, version=3)
    rules.on_signed_up(Effects(), now - timedelta(days=30), signed_up(tz))
    return rules


def signed_up(tz: str) -> SignedUp:
    return SignedUp(event_id="evt_signup", email="m@example.com", name="M", timezone=tz)


def touch(kind: str, campaign_id: str = "c-1", **fields) -> CampaignTouch:
    return CampaignTouch.model_validate(
        {"campaign_id": campaign_id, "kind": kind, "reason": "spring promo", "actor": "marketer:ann", **fields}
    )


def window(start: datetime, end: datetime, factor: float = 2, **fields) -> dict:
    return {"factor": factor, "starts_at": start, "ends_at": end, "applies_to": ["payments", "activity"], **fields}


def pay(r: AccountRules, now: datetime, n: int) -> Effects:
    fx = Effects()
    r.on_payment(fx, now, PaymentSucceeded(event_id=f"e{n}", invoice_id=f"in_{n}", amount_minor=4900, currency="USD"))
    return fx


def apply(r: AccountRules, t: CampaignTouch, now: datetime = NOON) -> tuple:
    fx = Effects()
    return r.apply_touch(fx, now, t), fx


# ---- bonus, and once per campaign ----------------------------------------------------------------


def test_bonus_is_a_lot_with_the_reason_the_actor_and_a_key_from_the_campaign(program):
    r = member(program)
    result, fx = apply(r, touch("bonus", bonus_points=300))
    assert (result.outcome, result.points_granted, result.email) == ("applied", 300, "none")
    (entry,) = fx.entries
    assert entry.key == "cus_1/campaign:c-1/earn"
    assert (entry.points, entry.reason, entry.actor) == (300, "campaign c-1: spring promo", "marketer:ann")
    lot = r.a.lots[-1]
    assert lot.expires_at == NOON + program.lot_validity, "expires by the program's rule"
    assert r.a.balance == 300
    assert r.qualifying_total(NOON) == 0, "campaign points do not count towards tiers"


def test_the_same_campaign_twice_applies_once_and_answers_the_first_result(program):
    r = member(program)
    first, _ = apply(r, touch("bonus", bonus_points=300))
    again, fx = apply(r, touch("bonus", bonus_points=999), NOON + timedelta(days=1))
    assert again == first
    assert not fx, "nothing the second time"
    assert r.a.balance == 300


def test_memory_is_bounded_and_a_forgotten_answer_is_already_applied(program):
    r = member(program)
    for n in range(RESULTS_KEPT + 20):
        apply(r, touch("bonus", campaign_id=f"c-{n}", bonus_points=1))
    assert len(r.a.campaigns.results) == RESULTS_KEPT
    assert len(r.a.campaigns.applied) == RESULTS_KEPT + 20
    old, fx = apply(r, touch("bonus", campaign_id="c-0", bonus_points=1))
    assert (old.outcome, old.reason) == ("skipped", "already_applied")
    assert not fx and r.a.balance == RESULTS_KEPT + 20


def test_max_points_bounds_a_bonus(program):
    r = member(program)
    result, _ = apply(r, touch("bonus", bonus_points=300, max_points=120))
    assert result.points_granted == 120 and r.a.balance == 120
    spent, fx = apply(r, touch("bonus", campaign_id="c-2", bonus_points=300, max_points=0))
    assert (spent.outcome, spent.reason, spent.points_granted) == ("skipped", "not_eligible", 0)
    assert not fx.entries


def test_a_cancelled_member_is_not_granted(program):
    from domain.messages import SubscriptionCancelled

    r = member(program)
    r.on_cancelled(Effects(), NOON, SubscriptionCancelled(event_id="evt_cancel", reason="unused"))
    result, fx = apply(r, touch("bonus", bonus_points=300))
    assert (result.outcome, result.reason) == ("skipped", "member_inactive")
    assert not fx.entries


def test_a_touch_failing_halfway_leaves_nothing(program, monkeypatch):
    r = member(program)
    before = r.a.model_dump()

    def broken(*args, **kwargs):
        raise RuntimeError("template service down")

    monkeypatch.setattr(campaign_apply, "_notify", broken)
    outbox = Effects()
    with pytest.raises(RuntimeError):
        r.apply_touch(outbox, NOON, touch("bonus", bonus_points=300, template_id="d-bonus"))
    assert r.a.model_dump() == before
    assert not outbox
    assert r.campaign_answer("c-1") is None, "not remembered: sent again, it applies"


# ---- multiplier windows ------------------------------------------------------------------------


def test_double_points_on_payments_inside_the_window_only(program):
    r = member(program)
    start, end = NOON + timedelta(hours=1), NOON + timedelta(days=2)
    result, _ = apply(r, touch("multiplier", multiplier=window(start, end)))
    assert (result.outcome, result.points_granted) == ("applied", 0)
    before = pay(r, start - timedelta(seconds=1), 1)
    assert [e.points for e in before.entries] == [100], "before the window: as usual"
    inside = pay(r, start, 2)
    assert [(e.points, e.key) for e in inside.entries] == [
        (100, "cus_1/pay:in_2/earn"),
        (100, "cus_1/campaign:c-1:pay:in_2/earn"),
    ]
    after = pay(r, end, 3)
    assert [e.points for e in after.entries] == [100], "the end is excluded"


@pytest.mark.parametrize(("combine", "extra"), [("multiply", 110), ("larger", 90)])
def test_the_window_meets_the_tier_multiplier(program, combine, extra):
    r = member(program)
    r.a.tier.name = "silver"  # ×1.1: a payment earns 110
    start, end = NOON, NOON + timedelta(days=2)
    apply(r, touch("multiplier", multiplier=window(start, end, combine=combine)))
    fx = pay(r, NOON + timedelta(hours=1), 1)
    assert [e.points for e in fx.entries] == [110, extra]  # multiply: 110×2 = 220; larger: 100×max(2, 1.1) = 200


def test_larger_adds_nothing_when_the_tier_is_higher(program):
    r = member(program)
    r.a.tier.name = "platinum"  # ×1.5
    apply(r, touch("multiplier", multiplier=window(NOON, NOON + timedelta(days=1), factor=1.25, combine="larger")))
    assert [e.points for e in pay(r, NOON, 1).entries] == [150]


def test_extra_points_stop_at_the_cap_and_max_points(program):
    r = member(program)
    apply(r, touch("multiplier", multiplier=window(NOON, NOON + timedelta(days=7), cap_extra_points=150)))
    apply(r, touch("multiplier", campaign_id="c-2", multiplier=window(NOON, NOON + timedelta(days=7)), max_points=30))
    extras = [e.points for n in range(3) for e in pay(r, NOON + timedelta(hours=n), n).entries if "campaign" in e.key]
    assert extras == [100, 30, 50], "c-1: 100 then the 50 left of 150; c-2: 30 then none"
    assert r.a.campaigns.windows[0].extra_granted == 150


def test_activity_window_doubles_what_the_activity_earned_after_its_caps(program):
    r = member(program)
    apply(r, touch("multiplier", multiplier=window(NOON, NOON + timedelta(days=1)) | {"applies_to": ["activity"]}))
    fx = Effects()
    r.on_activity(fx, NOON, ActivityReported(event_id="a1", kind="content_shared"))  # 10 points
    assert [e.points for e in fx.entries] == [10, 10]
    assert [e.points for e in pay(r, NOON, 1).entries] == [100], "payments are not in this window"


def test_an_ended_window_is_not_eligible_and_windows_are_forgotten_when_over(program):
    r = member(program)
    result, _ = apply(r, touch("multiplier", multiplier=window(NOON - timedelta(days=2), NOON)))
    assert (result.outcome, result.reason) == ("skipped", "not_eligible")
    apply(r, touch("multiplier", campaign_id="c-2", multiplier=window(NOON, NOON + timedelta(days=1))))
    r.advance(Effects(), NOON + timedelta(days=1))
    assert r.a.campaigns.windows == []


# ---- email through the policy --------------------------------------------------------------------


def test_announcement_goes_as_marketing_with_its_template_and_key(program):
    r = member(program)
    result, fx = apply(r, touch("announcement", template_id="d-spring"))
    assert (result.outcome, result.email, result.reason) == ("applied", "sent", None)
    (email,) = fx.emails
    assert (email.key, email.template_id, email.category) == (
        "cus_1/campaign:c-1/campaign_announcement",
        "d-spring",
        "marketing",
    )


def test_announcement_in_quiet_hours_is_deferred_to_the_morning(program):
    r = member(program, tz="Asia/Tokyo")  # noon UTC is 21:00 in Tokyo
    result, fx = apply(r, touch("announcement", template_id="d-spring"))
    assert (result.outcome, result.email, result.reason) == ("applied", "deferred", "quiet_hours")
    assert not fx.emails
    (deferred,) = r.a.lifecycle.comms.deferred
    assert deferred.due == datetime(2026, 6, 10, 23, tzinfo=UTC)  # 08:00 in Tokyo
    morning = Effects()
    r.advance(morning, deferred.due)
    assert [e.key for e in morning.emails if "campaign" in e.key] == ["cus_1/campaign:c-1/campaign_announcement"]


def test_announcement_over_the_weekly_cap_is_dropped(program):
    r = member(program)
    r.a.lifecycle.comms.marketing_sent = [NOON - timedelta(days=d) for d in (1, 2, 3)]
    result, fx = apply(r, touch("announcement", template_id="d-spring"))
    assert (result.outcome, result.reason, result.email) == ("skipped", "capped", "suppressed")
    assert not fx.emails and not r.a.lifecycle.comms.deferred


def test_announcement_to_an_unsubscribed_member_is_skipped(program):
    r = member(program)
    r.on_email_suppressed(Effects(), NOON, EmailSuppressed(event_id="sendgrid:1", reason="unsubscribe"))
    result, _ = apply(r, touch("announcement", template_id="d-spring"))
    assert (result.outcome, result.reason) == ("skipped", "unsubscribed")


def test_a_bonus_is_granted_even_when_its_email_is_capped(program):
    r = member(program)
    r.a.lifecycle.comms.marketing_sent = [NOON - timedelta(days=d) for d in (1, 2, 3)]
    result, _ = apply(r, touch("bonus", bonus_points=50, template_id="d-bonus"))
    assert (result.outcome, result.points_granted, result.email) == ("applied", 50, "suppressed")


# ---- offers, challenges, programs ----------------------------------------------------------------


def test_discount_offer_goes_through_billing_then_the_email_carries_the_code(program):
    r = member(program)
    result, fx = apply(r, touch("offer", offer={"percent_off": 20, "valid_days": 14}))
    assert result.outcome == "applied"
    (req,) = fx.discounts
    assert (req.key, req.percent_off, req.expires_at) == ("cus_1/campaign:c-1/discount", 20, NOON + timedelta(days=14))
    assert not fx.emails, "the email waits for the code"
    later = Effects()
    r.discount_created(later, NOON, req, DiscountOutcome(key=req.key, code="WB-ABCDEFGH"))
    (email,) = later.emails
    assert email.purpose == "campaign_offer" and email.data["code"] == "WB-ABCDEFGH"
    assert email.template_id == program.email.templates.winback_offer


def test_bonus_offer_is_earned_by_the_next_payment_within_its_days(program):
    r = member(program)
    result, fx = apply(r, touch("offer", offer={"bonus_points": 500, "valid_days": 14}, max_points=400))
    assert (result.outcome, result.points_granted, result.email) == ("applied", 0, "sent")
    assert fx.emails[0].data["bonus_points"] == 400
    paid = pay(r, NOON + timedelta(days=3), 1)
    assert [(e.points, e.key) for e in paid.entries] == [(100, "cus_1/pay:in_1/earn"), (400, "cus_1/campaign:c-1/earn")]
    assert [e.points for e in pay(r, NOON + timedelta(days=4), 2).entries] == [100], "once"


def test_a_bonus_offer_expires(program):
    r = member(program)
    apply(r, touch("offer", offer={"bonus_points": 500, "valid_days": 14}))
    assert [e.points for e in pay(r, NOON + timedelta(days=15), 1).entries] == [100]


def test_challenge_joined_progresses_and_pays_its_bonus_once(program):
    r = member(program)
    terms = {
        "title": "Share three times",
        "activity": "content_shared",
        "count": 3,
        "ends_at": NOON + timedelta(days=7),
    }
    result, _ = apply(r, touch("challenge", challenge=terms | {"bonus_points": 200}, max_points=150))
    assert result.outcome == "applied"
    earned, emails = [], []
    for n in range(4):
        fx = Effects()
        r.on_activity(fx, NOON + timedelta(hours=n), ActivityReported(event_id=f"s{n}", kind="content_shared"))
        earned += [(e.points, e.key) for e in fx.entries if "campaign" in e.key]
        emails += [e.key for e in fx.emails if "campaign" in e.key]
    assert earned == [(150, "cus_1/campaign:c-1/earn")]
    assert emails == ["cus_1/campaign:c-1/campaign_challenge_completed"]


def test_challenge_out_of_time_earns_nothing(program):
    r = member(program)
    terms = {"title": "Log in", "activity": "login", "count": 1, "ends_at": NOON + timedelta(days=1), "bonus_points": 5}
    apply(r, touch("challenge", challenge=terms))
    fx = Effects()
    r.on_activity(fx, NOON + timedelta(days=2), ActivityReported(event_id="l1", kind="login"))
    assert not [e for e in fx.entries if "campaign" in e.key]


def test_publish_program_moves_the_journey_and_a_program_without_the_tier_is_not_eligible(program):
    r = member(program)
    newer = program.model_copy(update={"version": "2027-01"})
    result, _ = apply(r, touch("publish_program", program=newer.model_dump()))
    assert result.outcome == "applied" and r.a.program.version == "2027-01"
    same, _ = apply(r, touch("publish_program", campaign_id="c-2", program=newer.model_dump()))
    assert (same.outcome, same.reason) == ("skipped", "not_eligible")


def test_a_refund_takes_back_the_extra_points_of_its_payment_too(program):
    from domain.messages import RefundIssued

    r = member(program)
    apply(r, touch("multiplier", multiplier=window(NOON, NOON + timedelta(days=1))))
    pay(r, NOON, 1)
    assert r.a.balance == 200
    fx = Effects()
    r.on_refund(
        fx, NOON + timedelta(days=2), RefundIssued(event_id="rf1", invoice_id="in_1", amount_minor=4900, currency="USD")
    )
    assert [e.points for e in fx.entries] == [-200]
    assert r.a.balance == 0
    assert r.qualifying_total(NOON + timedelta(days=2)) == 0


def test_a_run_without_the_lifecycle_sends_a_deferred_campaign_email_in_the_morning(program):
    """Runs recorded before the lifecycle release have no comms clock of their own: the campaign's is used."""
    account = Account.open("cus_1", program, NOON - timedelta(days=1))
    account.email, account.timezone = "m@example.com", "Asia/Tokyo"
    r = AccountRules(account, lifecycle=False, version=0)
    result, _ = apply(r, touch("announcement", template_id="d-news"))
    assert result.email == "deferred"
    due = datetime(2026, 6, 10, 23, tzinfo=UTC)
    assert r.next_deadline() == due
    morning = Effects()
    r.advance(morning, due)
    assert [e.key for e in morning.emails] == ["cus_1/campaign:c-1/campaign_announcement"]
    assert r.next_deadline() == account.tier.year_end
