"""Churn and win-back on the time-skipping server: the balance frozen for the grace period, the
too-expensive playbook (discount after 3 days, follow-up at day 7, expiry 14 days after the
offer), the return one second before and one second after the offer expires, restore within
the grace period and forfeit after it, the strong offer for high-value churners, and a journey
that stops at once when the customer comes back."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest

from domain.messages import SubscriptionCancelled
from tests.journey_kit import days, eventually, ledger_rows, payment, running_worker
from tests.lifecycle_kit import (
    close_to,
    count,
    daytime_zone,
    discount_rows,
    has,
    ledger,
    purposes,
    roomy_cap,
    sends,
    server_now,
    sign_up,
    template_data,
    timeline,
    wait_for,
    wait_sent,
)

SECOND = timedelta(seconds=1)


def cancel(reason: str = "too_expensive", n: int = 1, involuntary: bool = False) -> SubscriptionCancelled:
    return SubscriptionCancelled(event_id=f"evt_cancel_{n}", reason=reason, involuntary=involuntary)


async def churned(tenure, cid: str, tz: str, amount: int = 4900, cadence: str = "monthly") -> datetime:
    """A member who paid once, then cancelled as too expensive; returns the cancellation time."""
    await tenure.send(cid, sign_up(cid, tz))
    await tenure.send(cid, payment(1, cadence=cadence, amount=amount))
    await eventually(lambda: tenure.summary(cid), lambda s: s.lifetime_points > 0)
    await tenure.send(cid, cancel())
    items = await wait_for(tenure, cid, "points frozen until")
    return next(i.at for i in items if i.text.startswith("churned"))


async def offer_sent(tenure, engine, cid: str) -> dict:
    await wait_sent(tenure, cid, "winback_offer")
    (data,) = template_data(engine, cid, "winback_offer")
    return data


async def test_too_expensive_playbook_discount_followup_and_expiry(time_env, program, tmp_path):
    cid = "cus_pricey"
    tz = daytime_zone(await server_now(time_env))
    async with running_worker(time_env.client, program, tmp_path) as (tenure, engine):
        at = await churned(tenure, cid, tz)
        s = await tenure.summary(cid)
        assert s.status == "cancelled" and s.balance == 100
        freeze = [r for r in await ledger(tenure, engine, cid) if r["kind"] == "freeze"]
        assert len(freeze) == 1 and freeze[0]["points"] == 0 and "100 points frozen" in freeze[0]["reason"]
        items = await wait_sent(tenure, cid, "points_frozen")
        assert has(items, "onboarding ended: the subscription was cancelled")
        assert not discount_rows(engine, cid), "nothing is offered before day 3"

        await time_env.sleep(days(3.05))
        data = await offer_sent(tenure, engine, cid)
        (row,) = discount_rows(engine, cid)
        assert (row["percent_off"], row["duration_months"]) == (25, 3)
        assert close_to(row["expires_at"], at + days(3 + 14))
        assert data["code"] == row["code"] and data["code"].startswith("WB-")
        assert data["percent_off"] == 25 and data["offer"] == "discount"
        assert datetime.fromisoformat(data["expires_at"]) == row["expires_at"], "the email promises the real expiry"
        assert data["frozen_points"] == 100
        items = await timeline(tenure, cid)
        assert close_to(sends(items, "winback_offer")[0].at, at + days(3))

        await time_env.sleep(days(4))  # day 7.05: the follow-up
        items = await wait_sent(tenure, cid, "winback_followup")
        assert close_to(sends(items, "winback_followup")[0].at, at + days(7))
        assert template_data(engine, cid, "winback_followup")[0]["code"] == row["code"]

        await time_env.sleep(days(10.05))  # day 17.1
        items = await wait_for(tenure, cid, "discount offer expired")
        expired = next(i for i in items if i.text == "discount offer expired")
        assert close_to(expired.at, row["expires_at"])
        assert sorted(purposes(engine, cid)) == [
            "badge_awarded",
            "points_frozen",
            "welcome",
            "winback_followup",
            "winback_offer",
        ], "no onboarding tips to a member who left"
        s = await tenure.summary(cid)
        assert s.balance == 100, "still frozen, not forfeited, inside the 90 days"


@pytest.mark.parametrize(
    "offset, outcome",
    [(-SECOND, "returned with offer"), (SECOND, "returned after offer")],
    ids=["one-second-before", "one-second-after"],
)
async def test_return_one_second_around_the_offer_expiry(time_env, program, tmp_path, offset, outcome):
    cid = "cus_edge"
    tz = daytime_zone(await server_now(time_env))
    async with running_worker(time_env.client, program, tmp_path) as (tenure, engine):
        await churned(tenure, cid, tz)
        await time_env.sleep(days(3.05))
        data = await offer_sent(tenure, engine, cid)
        expires_at = datetime.fromisoformat(data["expires_at"])
        await time_env.sleep(days(4))
        await wait_sent(tenure, cid, "winback_followup")

        await time_env.sleep(expires_at + offset - await server_now(time_env))
        await tenure.send(cid, payment(2))
        items = await wait_for(tenure, cid, "customer came back")
        back = next(i for i in items if i.text.startswith("customer came back"))
        assert abs(back.at - (expires_at + offset)) < SECOND, f"landed at {back.at}, offer expires {expires_at}"
        assert back.text == f"customer came back ({outcome}): 100 points restored"
        await wait_sent(tenure, cid, "welcome_back")
        (welcome,) = template_data(engine, cid, "welcome_back")
        assert welcome["outcome"] == outcome.replace(" ", "_") and welcome["points"] == 100
        assert has(items, "discount offer expired") == (offset > timedelta(0))
        s = await eventually(lambda: tenure.summary(cid), lambda s: s.status == "active")
        assert s.balance == 200

        await time_env.sleep(days(3))  # the win-back is over: nothing more from it
        await tenure.send(cid, payment(3))
        await eventually(lambda: tenure.summary(cid), lambda s: s.balance == 300)
        items = await timeline(tenure, cid)
        assert count(items, "discount offer expired") == (1 if offset > timedelta(0) else 0)
        assert purposes(engine, cid).count("winback_followup") == 1


async def test_return_stops_the_journey_at_once(time_env, program, tmp_path):
    cid = "cus_back"
    tz = daytime_zone(await server_now(time_env))
    async with running_worker(time_env.client, program, tmp_path) as (tenure, engine):
        await churned(tenure, cid, tz)
        await time_env.sleep(days(3.05))
        await offer_sent(tenure, engine, cid)
        await time_env.sleep(days(2))  # day 5: back, before the follow-up
        await tenure.send(cid, payment(2))
        await wait_for(tenure, cid, "customer came back (returned with offer)")

        await time_env.sleep(days(20))  # past the follow-up (day 7) and the expiry (day 17)
        await tenure.send(cid, payment(3))
        await eventually(lambda: tenure.summary(cid), lambda s: s.lifetime_points == 300)
        items = await timeline(tenure, cid)
        assert "winback_followup" not in purposes(engine, cid)
        assert not has(items, "offer expired")
        assert [r["kind"] for r in await ledger(tenure, engine, cid)].count("forfeit") == 0
        assert len(discount_rows(engine, cid)) == 1


async def test_frozen_balance_restored_within_grace_with_expiry_moved(time_env, program, tmp_path):
    cid = "cus_restore"
    tz = daytime_zone(await server_now(time_env))
    async with running_worker(time_env.client, program, tmp_path) as (tenure, engine):
        await tenure.send(cid, sign_up(cid, tz))
        await tenure.send(cid, payment(1))
        s = await eventually(lambda: tenure.summary(cid), lambda s: s.balance == 100)
        (lot,) = s.lots
        await time_env.sleep(days(300))
        await tenure.send(cid, cancel())
        items = await wait_for(tenure, cid, "points frozen until")
        at = next(i.at for i in items if i.text.startswith("churned"))

        await time_env.sleep(days(80))  # day 380: the lot would have expired on day 365
        await asyncio.sleep(0.3)
        s = await tenure.summary(cid)
        assert s.balance == 100 and s.lots[0].remaining == 100, "no lot expires while frozen"
        assert not [r for r in await ledger(tenure, engine, cid) if r["kind"] in ("expire", "forfeit")]

        await tenure.send(cid, payment(2))
        items = await wait_for(tenure, cid, "customer came back")
        back = next(i for i in items if i.text.startswith("customer came back"))
        assert back.text == "customer came back (returned after offer): 100 points restored"
        paused = back.at - at
        s = await eventually(lambda: tenure.summary(cid), lambda s: s.balance == 200)
        old = next(x for x in s.lots if x.lot_id == lot.lot_id)
        assert old.expires_at == lot.expires_at + paused, "expiry moved by the frozen time"
        restore = [r for r in await ledger(tenure, engine, cid) if r["kind"] == "restore"]
        assert len(restore) == 1 and restore[0]["points"] == 0
        assert restore[0]["reason"] == (
            f"100 frozen points restored; expiry dates moved by {paused.days} days"
            "; came back paying 4900 USD"  # rules version 4: the payment that brought the member back
        )
        assert restore[0]["ref"] == "in_2"
        await wait_sent(tenure, cid, "welcome_back")
        assert template_data(engine, cid, "welcome_back")[0]["points"] == 100  # "your 100 points are waiting"

        # the moved expiry is real: the lot expires 365 days of unfrozen time after it was earned
        await time_env.sleep(old.expires_at - await server_now(time_env) + days(0.1))
        rows = await eventually(
            lambda: asyncio.to_thread(ledger_rows, engine, cid), lambda rows: any(r["kind"] == "expire" for r in rows)
        )
        (gone,) = [r for r in rows if r["kind"] == "expire"]
        assert gone["lot_id"] == lot.lot_id and gone["points"] == -100
        assert close_to(gone["at"], old.expires_at)


async def test_frozen_balance_forfeited_after_grace(time_env, program, tmp_path):
    cid = "cus_forfeit"
    tz = daytime_zone(await server_now(time_env))
    async with running_worker(time_env.client, program, tmp_path) as (tenure, engine):
        at = await churned(tenure, cid, tz)
        await time_env.sleep(days(89.9))
        await asyncio.sleep(0.3)
        assert (await tenure.summary(cid)).balance == 100

        await time_env.sleep(days(0.2))
        items = await wait_for(tenure, cid, "grace period over: 100 points forfeited")
        over = next(i for i in items if i.text.startswith("grace period over"))
        assert close_to(over.at, at + days(90))
        s = await eventually(lambda: tenure.summary(cid), lambda s: s.balance == 0)
        assert s.lots == []
        rows = await ledger(tenure, engine, cid)
        forfeits = [r for r in rows if r["kind"] == "forfeit"]
        assert len(forfeits) == 1 and forfeits[0]["points"] == -100 and forfeits[0]["lot_id"] == "pay:in_1"
        assert "grace period of 90 days" in forfeits[0]["reason"]
        assert sum(r["points"] for r in rows) == 0
        await wait_sent(tenure, cid, "points_forfeited")
        assert template_data(engine, cid, "points_forfeited")[0]["points"] == 100

        await tenure.send(cid, payment(2))  # back after the grace: nothing to restore
        items = await wait_for(tenure, cid, "customer came back")
        assert has(items, "customer came back (returned after forfeit)")
        s = await eventually(lambda: tenure.summary(cid), lambda s: s.status == "active")
        assert s.balance == 100
        # Rules version 4: the return is recorded all the same, restoring nothing, with the payment behind it.
        restore = [r for r in await ledger(tenure, engine, cid) if r["kind"] == "restore"]
        assert [(r["points"], r["reason"], r["ref"]) for r in restore] == [
            (0, "nothing restored: the grace period was over; came back paying 4900 USD", "in_2")
        ]


@pytest.mark.parametrize(
    "amount, cadence, percent", [(120_000, "annual", 50), (4900, "monthly", 25)], ids=["high-value", "ordinary"]
)
async def test_high_value_churner_gets_the_strong_offer(time_env, program, tmp_path, amount, cadence, percent):
    cid = "cus_value"
    tz = daytime_zone(await server_now(time_env))
    async with running_worker(time_env.client, roomy_cap(program), tmp_path) as (tenure, engine):
        await churned(tenure, cid, tz, amount=amount, cadence=cadence)
        items = await timeline(tenure, cid)
        assert has(items, ", high value)") == (percent == 50)
        await time_env.sleep(days(3.05))
        data = await offer_sent(tenure, engine, cid)
        (row,) = discount_rows(engine, cid)
        assert row["percent_off"] == data["percent_off"] == percent
        assert row["duration_months"] == 3


async def test_followup_deferred_by_quiet_hours_is_dropped_when_the_customer_comes_back(time_env, program, tmp_path):
    """Cancelled at 23:00 local: the day-7 follow-up falls in quiet hours and waits for 08:00.
    The customer comes back at 01:00: the follow-up must not go at 08:00."""
    cid = "cus_night"
    tz = daytime_zone(await server_now(time_env), hour=23)
    async with running_worker(time_env.client, program, tmp_path) as (tenure, engine):
        await churned(tenure, cid, tz)
        await time_env.sleep(days(7) + timedelta(hours=2))
        items = await wait_for(tenure, cid, "winback_followup email deferred until")
        assert has(items, f"quiet hours in {tz}")
        await tenure.send(cid, payment(2))
        items = await wait_for(tenure, cid, "customer came back (returned with offer)")

        await time_env.sleep(days(1))  # past 08:00
        await tenure.send(cid, payment(3))
        await eventually(lambda: tenure.summary(cid), lambda s: s.lifetime_points == 300)
        items = await timeline(tenure, cid)
        assert "winback_followup" not in purposes(engine, cid)
        assert has(items, "winback_followup email dropped: the customer came back")


async def test_unused_playbook_bonus_points_granted_on_return_with_the_offer(time_env, program, tmp_path):
    cid = "cus_idle"
    tz = daytime_zone(await server_now(time_env))
    async with running_worker(time_env.client, program, tmp_path) as (tenure, engine):
        await tenure.send(cid, sign_up(cid, tz))
        await tenure.send(cid, payment(1))
        await eventually(lambda: tenure.summary(cid), lambda s: s.balance == 100)
        await tenure.send(cid, cancel("unused"))
        at = next(i.at for i in await wait_for(tenure, cid, "churned (unused)") if i.text.startswith("churned"))
        await time_env.sleep(days(3.05))
        data = await offer_sent(tenure, engine, cid)
        assert data["offer"] == "bonus_points" and data["bonus_points"] == 500 and data["code"] is None
        assert close_to(datetime.fromisoformat(data["expires_at"]), at + days(3 + 14))
        assert not discount_rows(engine, cid)

        await tenure.send(cid, payment(2))
        await wait_for(tenure, cid, "customer came back (returned with offer): 100 points restored")
        s = await eventually(lambda: tenure.summary(cid), lambda s: s.balance == 100 + 500 + 100)
        bonus = [r for r in await ledger(tenure, engine, cid) if r["reason"] == "win-back bonus"]
        assert len(bonus) == 1 and bonus[0]["points"] == 500
        assert s.qualifying_points == 200, "a win-back bonus does not count towards a tier"
