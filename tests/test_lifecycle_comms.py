"""The communication policy inside real journeys: an unsubscribe between two emails of a
sequence, a bounce, quiet hours in two time zones, the weekly frequency cap — every decision
visible in the timeline."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from domain.messages import EmailSuppressed, PaymentFailed, RedeemRequest
from tests.journey_kit import days, eventually, payment, running_worker
from tests.lifecycle_kit import (
    act,
    close_to,
    count,
    daytime_zone,
    has,
    next_local,
    purposes,
    roomy_cap,
    sends,
    server_now,
    sign_up,
    wait_for,
    wait_sent,
)


def suppressed(reason: str, n: int = 1) -> EmailSuppressed:
    return EmailSuppressed(event_id=f"evt_sg_{reason}_{n}", reason=reason)


async def test_unsubscribe_between_two_emails_stops_marketing_not_transactional(time_env, program, tmp_path):
    cid = "cus_unsub"
    tz = daytime_zone(await server_now(time_env))
    async with running_worker(time_env.client, roomy_cap(program), tmp_path) as (tenure, engine):
        await tenure.send(cid, sign_up(cid, tz))
        await tenure.send(cid, payment(1, cadence="annual", amount=49000))
        await time_env.sleep(days(1.05))
        await wait_sent(tenure, cid, "onboarding_tips")  # the first email of the sequence went

        await time_env.sleep(days(1))  # day 2: between the tips and the nudge
        await tenure.send(cid, suppressed("unsubscribe"))
        await wait_for(tenure, cid, "unsubscribed (unsubscribe): no more marketing email")

        await time_env.sleep(days(1.1))  # day 3: the nudge is due
        await wait_for(tenure, cid, "onboarding_nudge email suppressed: member unsubscribed from marketing")
        # transactional email still goes: a redemption receipt and a dunning email
        await tenure.redeem(cid, RedeemRequest(request_id="r1", points=500))
        await tenure.send(cid, PaymentFailed(event_id="evt_fail", invoice_id="in_2"))
        await wait_sent(tenure, cid, "redemption_receipt")
        await wait_sent(tenure, cid, "dunning")

        await time_env.sleep(days(4.1))  # day 7: the summary is marketing too; dunning's day 3 has come
        await wait_for(tenure, cid, "onboarding_summary email suppressed: member unsubscribed")
        await wait_sent(tenure, cid, "dunning", 2)
        sent = purposes(engine, cid)
        assert "onboarding_nudge" not in sent and "onboarding_summary" not in sent
        assert sent.count("onboarding_tips") == 1
        assert {"welcome", "redemption_receipt", "dunning"} <= set(sent)


async def test_bounce_stops_everything(time_env, program, tmp_path):
    cid = "cus_bounce"
    tz = daytime_zone(await server_now(time_env))
    async with running_worker(time_env.client, program, tmp_path) as (tenure, engine):
        await tenure.send(cid, sign_up(cid, tz))
        await wait_sent(tenure, cid, "welcome")
        await tenure.send(cid, suppressed("bounce"))
        await wait_for(tenure, cid, "address blocked (bounce): no more email")
        await tenure.send(cid, suppressed("unsubscribe"))  # a later unsubscribe does not lift the block
        await tenure.send(cid, payment(1, cadence="annual", amount=49000))
        await eventually(lambda: tenure.summary(cid), lambda s: s.balance >= 1200)
        await tenure.redeem(cid, RedeemRequest(request_id="r1", points=500))
        await tenure.send(cid, PaymentFailed(event_id="evt_fail", invoice_id="in_2"))
        await time_env.sleep(days(8))
        items = await wait_for(tenure, cid, "onboarding_summary email suppressed")
        await wait_for(tenure, cid, "challenge first-week-explorer expired")
        for fragment in (
            "redemption_receipt email suppressed: address blocked after bounce",  # transactional
            "dunning email suppressed: address blocked after bounce",  # transactional
            "tier_changed email suppressed: address blocked after bounce",
            "badge_awarded email suppressed: address blocked after bounce",
            "onboarding_tips email suppressed: address blocked after bounce",
        ):
            assert has(items, fragment), fragment
        assert count(items, "dunning email suppressed") == 3
        assert purposes(engine, cid) == ["welcome"], "nothing after the bounce"


@pytest.mark.parametrize("tz", ["America/New_York", "Asia/Tokyo"])
async def test_quiet_hours_push_a_send_to_eight_in_the_morning(time_env, program, tmp_path, tz):
    """Sign up at 23:30 local: the welcome (transactional) goes at once; the day-1 tips fall at
    23:30 the next night and wait until 08:00 local."""
    cid = "cus_night"
    now = await server_now(time_env)
    at = next_local(now + timedelta(minutes=1), tz, 23, 30)
    await time_env.sleep(at - now)
    async with running_worker(time_env.client, program, tmp_path) as (tenure, engine):
        await tenure.send(cid, sign_up(cid, tz))
        items = await wait_sent(tenure, cid, "welcome")
        signed = next(i.at for i in items if i.text == "signed up")
        assert signed.astimezone(ZoneInfo(tz)).strftime("%H:%M") == "23:30"

        await time_env.sleep(days(1.2))  # 04:15 local, the night after
        items = await wait_for(tenure, cid, "onboarding_tips email deferred until")
        deferral = next(i for i in items if i.text.startswith("onboarding_tips email deferred"))
        assert deferral.text.endswith(f": quiet hours in {tz}")
        assert close_to(deferral.at, signed + days(1)), "decided when it was due"
        morning = next_local(deferral.at, tz, 8)
        assert f"until {morning:%Y-%m-%d %H:%M} UTC" in deferral.text
        assert "onboarding_tips" not in purposes(engine, cid)

        await time_env.sleep(days(0.3))  # 11:30 local
        items = await wait_sent(tenure, cid, "onboarding_tips")
        (sent,) = sends(items, "onboarding_tips")
        local = sent.at.astimezone(ZoneInfo(tz))
        assert close_to(sent.at, morning), f"sent at {local}, expected 08:00 {tz}"
        assert (local.hour, local.minute) == (8, 0)
        assert timedelta(hours=7) < sent.at - deferral.at < timedelta(hours=10), "the same night's morning"
        assert purposes(engine, cid) == ["welcome", "onboarding_tips"]


async def test_frequency_cap_defers_the_fourth_marketing_email(time_env, program, tmp_path):
    cid = "cus_busy"
    tz = daytime_zone(await server_now(time_env))
    async with running_worker(time_env.client, program, tmp_path) as (tenure, engine):
        await tenure.send(cid, sign_up(cid, tz))
        await tenure.send(cid, payment(1))  # marketing #1: the first-payment badge, day 0
        items = await wait_sent(tenure, cid, "badge_awarded")
        first = next(i.at for i in items if i.text == "badge 'First payment' awarded")  # decided and sent
        await time_env.sleep(days(3.05))  # marketing #2 and #3: tips (day 1), nudge (day 3)
        await wait_sent(tenure, cid, "onboarding_nudge")

        await time_env.sleep(days(1))  # day 4: the onboarding goals are met -> the onboarding badge
        await tenure.send(cid, act("profile_completed", 1))
        await tenure.send(cid, act("feature_used", 1))
        items = await wait_for(tenure, cid, "badge_awarded email deferred until")
        deferral = next(i for i in items if i.text.startswith("badge_awarded email deferred"))
        assert deferral.text.endswith("frequency cap: 3 marketing emails in 7 days")
        assert len(sends(items, "badge_awarded")) == 1

        await time_env.sleep(days(3.1))  # day 7: the first badge email leaves the week
        items = await wait_sent(tenure, cid, "badge_awarded", 2)
        later = sends(items, "badge_awarded")[1]
        assert first + days(7) <= later.at and close_to(later.at, first + days(7))
        assert purposes(engine, cid).count("badge_awarded") == 2
        week = [
            i.at
            for i in items
            if i.kind == "email"
            and i.text.endswith(": outbox")
            and any(i.text.startswith(p) for p in program.comms.marketing)
        ]
        slack = timedelta(seconds=1)  # notes are written when the send is done, a few ms after the decision
        for t in week:  # never more than 3 marketing emails in any 7 days
            assert sum(t - days(7) + slack < u <= t for u in week) <= 3


async def test_nudge_waiting_for_the_morning_is_dropped_once_the_key_action_is_done(time_env, program, tmp_path):
    """The day-3 nudge falls at 23:00 local and waits for 08:00; the member uses the feature at
    01:00. At 08:00 the key action is no longer missing: the nudge must not go."""
    cid = "cus_owl"
    tz = daytime_zone(await server_now(time_env), hour=23)
    async with running_worker(time_env.client, program, tmp_path) as (tenure, engine):
        await tenure.send(cid, sign_up(cid, tz))
        await time_env.sleep(days(3) + timedelta(hours=2))
        await wait_for(tenure, cid, "onboarding_nudge email deferred until")
        await tenure.send(cid, act("feature_used", 1))
        await wait_for(tenure, cid, "feature_used: 5 points")

        await time_env.sleep(days(1))
        await tenure.send(cid, act("login", 1))  # a marker after 08:00
        items = await wait_for(tenure, cid, "login:")
        assert "onboarding_nudge" not in purposes(engine, cid)
        assert has(items, "onboarding_nudge email dropped: feature_used done")
        assert sends(items, "onboarding_tips"), "the tips, deferred the same way, did go"
