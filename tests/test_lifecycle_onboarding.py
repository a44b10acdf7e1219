"""Onboarding on the time-skipping server: welcome, day-1 tips, day-3 nudge (only while the key
action is missing), day-7 summary; an early exit with the onboarding badge once the goals are met."""

from __future__ import annotations

from datetime import UTC

from tests.journey_kit import days, eventually, running_worker
from tests.lifecycle_kit import (
    act,
    close_to,
    count,
    daytime_zone,
    has,
    ledger,
    purposes,
    sends,
    server_now,
    sign_up,
    template_data,
    wait_for,
    wait_sent,
)


async def test_sequence_welcome_tips_nudge_summary(time_env, program, tmp_path):
    cid = "cus_onb_full"
    tz = daytime_zone(await server_now(time_env))
    async with running_worker(time_env.client, program, tmp_path) as (tenure, engine):
        await tenure.send(cid, sign_up(cid, tz))
        items = await wait_sent(tenure, cid, "welcome")
        signed = next(i.at for i in items if i.text.startswith("signed up"))
        assert close_to(sends(items, "welcome")[0].at, signed), "the welcome goes at once"
        assert "onboarding_tips" not in purposes(engine, cid)

        await time_env.sleep(days(8))
        items = await wait_sent(tenure, cid, "onboarding_summary")
        for purpose, day in (("onboarding_tips", 1), ("onboarding_nudge", 3), ("onboarding_summary", 7)):
            (sent,) = sends(items, purpose)
            assert close_to(sent.at, signed + days(day)), f"{purpose} at {sent.at}, expected day {day}"
        assert purposes(engine, cid) == ["welcome", "onboarding_tips", "onboarding_nudge", "onboarding_summary"]
        assert [d["day"] for d in template_data(engine, cid, "onboarding_nudge")] == [3]
        assert has(items, "onboarding sequence ended with goals still open")
        assert "badge onboarded" not in [r["reason"] for r in await ledger(tenure, engine, cid)]


async def test_nudge_skipped_when_key_action_done_but_other_goal_open(time_env, program, tmp_path):
    cid = "cus_onb_nudge"
    tz = daytime_zone(await server_now(time_env))
    async with running_worker(time_env.client, program, tmp_path) as (tenure, engine):
        await tenure.send(cid, sign_up(cid, tz))
        await wait_sent(tenure, cid, "welcome")
        await time_env.sleep(days(1.1))
        await wait_sent(tenure, cid, "onboarding_tips")
        await tenure.send(cid, act("feature_used", 1))  # the key action; profile still incomplete
        await wait_for(tenure, cid, "feature_used: 5 points")

        await time_env.sleep(days(7))
        items = await wait_sent(tenure, cid, "onboarding_summary")
        assert has(items, "onboarding_nudge skipped: feature_used already done")
        assert purposes(engine, cid) == ["welcome", "onboarding_tips", "onboarding_summary"]
        assert has(items, "onboarding sequence ended with goals still open")
        assert "badge onboarded" not in [r["reason"] for r in await ledger(tenure, engine, cid)]


async def test_goals_met_end_the_sequence_early_with_the_badge(time_env, program, tmp_path):
    cid = "cus_onb_done"
    tz = daytime_zone(await server_now(time_env))
    async with running_worker(time_env.client, program, tmp_path) as (tenure, engine):
        await tenure.send(cid, sign_up(cid, tz))
        await time_env.sleep(days(1.1))
        await wait_sent(tenure, cid, "onboarding_tips")
        await tenure.send(cid, act("profile_completed", 1))
        await wait_for(tenure, cid, "profile_completed: 25 points")
        reasons = [r["reason"] for r in await ledger(tenure, engine, cid)]
        assert "badge onboarded" not in reasons, "one goal is not all goals"
        await tenure.send(cid, act("feature_used", 1))
        items = await wait_sent(tenure, cid, "badge_awarded")
        assert has(items, "onboarding goals met: sequence ends")
        assert count(items, "badge 'Onboarding completed' awarded") == 1

        bonus = [r for r in await ledger(tenure, engine, cid) if r["reason"] == "badge onboarded"]
        assert len(bonus) == 1 and bonus[0]["kind"] == "earn" and bonus[0]["points"] == 50
        s = await eventually(lambda: tenure.summary(cid), lambda s: s.balance == 25 + 5 + 50)
        assert sum(r["points"] for r in await ledger(tenure, engine, cid)) == s.balance
        assert template_data(engine, cid, "badge_awarded")[0]["bonus_points"] == 50

        await time_env.sleep(days(7))  # past day 3 and day 7: nothing more from onboarding
        await tenure.send(cid, act("login", 1))  # a marker processed after the skipped days
        items = await wait_for(tenure, cid, "login:")
        assert purposes(engine, cid) == ["welcome", "onboarding_tips", "badge_awarded"]
        assert not has(items, "onboarding sequence ended")


def test_goals_met_after_the_sequence_ended_still_earn_the_badge(program):
    from datetime import datetime, timedelta

    from domain.account import Account
    from domain.effects import Effects
    from domain.messages import ActivityReported, SignedUp
    from domain.rules import AccountRules

    start = datetime(2026, 6, 1, 12, tzinfo=UTC)
    rules = AccountRules(Account.open("cus_late", program, start), lifecycle=True)
    fx = Effects()
    rules.on_signed_up(fx, start, SignedUp(event_id="su", email="late@example.com", timezone="UTC"))
    later = start + timedelta(days=8)
    rules.advance(fx, later)
    assert rules.a.lifecycle.onboarding.finished == "ended"
    rules.on_activity(fx, later, ActivityReported(event_id="a1", kind="profile_completed"))
    rules.on_activity(fx, later, ActivityReported(event_id="a2", kind="feature_used"))
    assert rules.a.lifecycle.onboarding.finished == "completed"
    assert "onboarded" in rules.a.lifecycle.badges
