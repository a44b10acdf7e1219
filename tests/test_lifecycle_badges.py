"""Badges (each awarded once), the first-week challenge (completed with its bonus, or expired),
and the engagement watch (30 quiet days → at risk with a nudge; any activity clears it)."""

from __future__ import annotations

import asyncio

from tests.journey_kit import days, eventually, payment, running_worker
from tests.lifecycle_kit import (
    act,
    close_to,
    count,
    customer_row,
    daytime_zone,
    has,
    ledger,
    purposes,
    sends,
    server_now,
    sign_up,
    template_data,
    timeline,
    wait_for,
    wait_sent,
)


async def test_first_payment_badge_is_awarded_once(time_env, program, tmp_path):
    cid = "cus_badge"
    tz = daytime_zone(await server_now(time_env))
    async with running_worker(time_env.client, program, tmp_path) as (tenure, engine):
        await tenure.send(cid, sign_up(cid, tz))
        await tenure.send(cid, payment(1))
        await wait_sent(tenure, cid, "badge_awarded")
        assert template_data(engine, cid, "badge_awarded")[0]["badge"] == "First payment"

        await time_env.sleep(days(2))
        await tenure.send(cid, payment(2))
        await eventually(lambda: tenure.summary(cid), lambda s: s.lifetime_points == 200)
        await tenure.send(cid, act("login", 1))  # a later marker: everything before it is done
        items = await wait_for(tenure, cid, "login:")
        assert count(items, "badge 'First payment' awarded") == 1
        assert purposes(engine, cid).count("badge_awarded") == 1
        s = await tenure.summary(cid)
        assert s.balance == 200 + 2, "first payment has no bonus points; the login earns 2"
        assert not any(r["reason"] and r["reason"].startswith("badge") for r in await ledger(tenure, engine, cid))


async def test_first_week_challenge_completed_with_bonus(time_env, program, tmp_path):
    cid = "cus_challenge"
    tz = daytime_zone(await server_now(time_env))
    async with running_worker(time_env.client, program, tmp_path) as (tenure, engine):
        await tenure.send(cid, sign_up(cid, tz))
        items = await wait_for(tenure, cid, "challenge 'Use a key feature three times in your first week' open until")
        for n in range(3):
            await time_env.sleep(days(1.05) if n else days(0.05))
            await tenure.send(cid, act("feature_used", n))
            await eventually(lambda: tenure.summary(cid), lambda s, n=n: s.lifetime_points >= 5 * (n + 1))
        items = await wait_for(tenure, cid, "challenge 'Use a key feature three times in your first week' completed")
        assert count(items, "first week' completed") == 1
        bonus = [r for r in await ledger(tenure, engine, cid) if r["reason"] == "challenge first-week-explorer"]
        assert len(bonus) == 1 and bonus[0]["points"] == 100 and bonus[0]["kind"] == "earn"
        s = await eventually(lambda: tenure.summary(cid), lambda s: s.balance == 3 * 5 + 100)
        assert s.qualifying_points == 15, "bonus points do not count towards a tier"
        await wait_sent(tenure, cid, "challenge_completed")
        assert template_data(engine, cid, "challenge_completed")[0]["bonus_points"] == 100

        await time_env.sleep(days(6))  # past the window: completed challenges do not expire
        await tenure.send(cid, act("feature_used", 9))
        items = await eventually(lambda: timeline(tenure, cid), lambda i: count(i, "feature_used: 5 points") == 4)
        assert not has(items, "expired")
        assert (
            len([r for r in await ledger(tenure, engine, cid) if r["reason"] == "challenge first-week-explorer"]) == 1
        )


async def test_first_week_challenge_expires_when_not_done_in_time(time_env, program, tmp_path):
    cid = "cus_slow"
    tz = daytime_zone(await server_now(time_env))
    async with running_worker(time_env.client, program, tmp_path) as (tenure, engine):
        await tenure.send(cid, sign_up(cid, tz))
        items = await wait_for(tenure, cid, "signed up")
        signed = items[0].at
        for n in range(2):
            await time_env.sleep(days(1.05))
            await tenure.send(cid, act("feature_used", n))
        await eventually(lambda: tenure.summary(cid), lambda s: s.balance == 10)

        await time_env.sleep(days(6))  # day 8.1
        items = await wait_for(tenure, cid, "challenge first-week-explorer expired at 2 of the goal")
        expired = next(i for i in items if "expired at 2" in i.text)
        assert close_to(expired.at, signed + days(7)), "expires exactly when the week is over"
        await tenure.send(cid, act("feature_used", 3))  # the third use, too late
        await eventually(lambda: tenure.summary(cid), lambda s: s.balance == 15)
        await asyncio.sleep(0.3)
        assert not any(r["reason"] == "challenge first-week-explorer" for r in await ledger(tenure, engine, cid))
        assert "challenge_completed" not in purposes(engine, cid)


async def test_thirty_quiet_days_mark_at_risk_and_any_activity_clears_it(time_env, program, tmp_path):
    cid = "cus_quiet"
    tz = daytime_zone(await server_now(time_env))
    async with running_worker(time_env.client, program, tmp_path) as (tenure, engine):
        await tenure.send(cid, sign_up(cid, tz))
        await time_env.sleep(days(10))
        await tenure.send(cid, act("login", 1))  # the watch counts from the last activity
        items = await wait_for(tenure, cid, "login: 2 points")
        last = next(i.at for i in items if i.text.startswith("login"))

        await time_env.sleep(days(29.9))
        await tenure.send(cid, act("survey_answered", "marker"))  # marker: activity resets the watch...
        await wait_for(tenure, cid, "survey_answered")
        row = customer_row(engine, cid)
        assert row is not None and not row["at_risk"]
        assert "at_risk_nudge" not in purposes(engine, cid)
        last = next(i.at for i in await timeline(tenure, cid) if i.text.startswith("survey_answered"))

        await time_env.sleep(days(30.1))
        items = await wait_for(tenure, cid, "at risk: no activity for 30 days")
        flagged = next(i for i in items if i.text.startswith("at risk"))
        assert close_to(flagged.at, last + days(30)), f"flagged at {flagged.at}, last activity {last}"
        items = await wait_sent(tenure, cid, "at_risk_nudge")
        assert template_data(engine, cid, "at_risk_nudge")[0]["days_inactive"] == 30
        await eventually(lambda: asyncio.to_thread(customer_row, engine, cid), lambda r: bool(r["at_risk"]))

        await time_env.sleep(days(5))
        await asyncio.sleep(0.3)
        assert count(await timeline(tenure, cid), "at risk: no activity") == 1, "flagged and nudged once"
        await tenure.send(cid, act("login", 2))
        items = await wait_for(tenure, cid, "active again: no longer at risk")
        await eventually(lambda: asyncio.to_thread(customer_row, engine, cid), lambda r: not r["at_risk"])
        assert len(sends(items, "at_risk_nudge")) == 1
