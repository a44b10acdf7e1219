"""Dunning on the time-skipping server: a failed payment asks for a new card on days 0, 3 and 7
(transactional), a successful payment ends it at once, and the billing system's final,
involuntary cancellation runs the update-card win-back."""

from __future__ import annotations

from domain.messages import PaymentFailed, SubscriptionCancelled
from tests.journey_kit import days, email_rows, eventually, payment, running_worker
from tests.lifecycle_kit import (
    close_to,
    daytime_zone,
    discount_rows,
    has,
    purposes,
    sends,
    server_now,
    sign_up,
    template_data,
    timeline,
    wait_for,
    wait_sent,
)


def failed(n: int) -> PaymentFailed:
    return PaymentFailed(event_id=f"evt_fail_{n}", invoice_id=f"in_{n}", amount_minor=4900, reason="card_declined")


async def paying_member(tenure, cid: str, tz: str) -> None:
    await tenure.send(cid, sign_up(cid, tz))
    await tenure.send(cid, payment(1))
    await eventually(lambda: tenure.summary(cid), lambda s: s.balance == 100)


async def test_dunning_emails_on_day_0_3_and_7(time_env, program, tmp_path):
    cid = "cus_card"
    tz = daytime_zone(await server_now(time_env), hour=2)  # at night: dunning is transactional, it goes
    async with running_worker(time_env.client, program, tmp_path) as (tenure, engine):
        await paying_member(tenure, cid, tz)
        await tenure.send(cid, failed(2))
        items = await wait_sent(tenure, cid, "dunning")
        started = next(i.at for i in items if i.text == "dunning started for invoice in_2")
        s = await tenure.summary(cid)
        assert s.status == "past_due"

        await time_env.sleep(days(8))
        items = await wait_sent(tenure, cid, "dunning", 3)
        for sent, day in zip(sends(items, "dunning"), (0, 3, 7), strict=True):
            assert close_to(sent.at, started + days(day)), f"dunning email at {sent.at}, expected day {day}"
        rows = [r for r in email_rows(engine, cid) if r["purpose"] == "dunning"]
        assert sorted(r["key"] for r in rows) == [f"{cid}/dunning:in_2:{d}/dunning" for d in (0, 3, 7)]
        assert {r["category"] for r in rows} == {"transactional"}
        assert [d["attempt"] for d in template_data(engine, cid, "dunning")] == [1, 2, 3]
        assert not has(items, "dunning email deferred")
        assert (await tenure.summary(cid)).status == "past_due", "a failed payment is not a cancellation"


async def test_payment_during_dunning_ends_it_at_once(time_env, program, tmp_path):
    cid = "cus_recover"
    tz = daytime_zone(await server_now(time_env))
    async with running_worker(time_env.client, program, tmp_path) as (tenure, engine):
        await paying_member(tenure, cid, tz)
        await tenure.send(cid, failed(2))
        await eventually(lambda: tenure.summary(cid), lambda s: s.status == "past_due")
        await time_env.sleep(days(4))
        await wait_sent(tenure, cid, "dunning", 2)
        assert (await tenure.summary(cid)).status == "past_due"

        await tenure.send(cid, payment(2))  # the retried invoice is paid
        items = await wait_for(tenure, cid, "payment recovered: dunning for in_2 ended")
        s = await eventually(lambda: tenure.summary(cid), lambda s: s.balance == 200)
        assert s.status == "active"

        await time_env.sleep(days(6))  # past day 7
        await tenure.send(cid, payment(3))
        await eventually(lambda: tenure.summary(cid), lambda s: s.balance == 300)
        items = await timeline(tenure, cid)
        assert len(sends(items, "dunning")) == 2, "no day-7 email after the payment"
        assert purposes(engine, cid).count("dunning") == 2


async def test_involuntary_cancellation_runs_the_update_card_playbook(time_env, program, tmp_path):
    cid = "cus_expired_card"
    tz = daytime_zone(await server_now(time_env))
    async with running_worker(time_env.client, program, tmp_path) as (tenure, engine):
        await paying_member(tenure, cid, tz)
        await tenure.send(cid, failed(2))
        await time_env.sleep(days(8))
        await wait_sent(tenure, cid, "dunning", 3)

        await tenure.send(cid, SubscriptionCancelled(event_id="evt_cancel", involuntary=True))
        items = await wait_for(tenure, cid, "churned (involuntary)")
        at = next(i.at for i in items if i.text.startswith("churned"))
        assert has(items, "subscription cancelled (involuntary)")
        s = await tenure.summary(cid)
        assert s.status == "cancelled" and s.balance == 100

        await time_env.sleep(days(3.05))
        items = await wait_sent(tenure, cid, "winback_offer")
        assert close_to(sends(items, "winback_offer")[0].at, at + days(3))
        (offer,) = template_data(engine, cid, "winback_offer")
        assert offer["offer"] == "update_card" and offer["code"] is None
        assert not discount_rows(engine, cid), "no discount for a card that expired"
        assert purposes(engine, cid).count("dunning") == 3, "the dunning sequence stopped at the cancellation"
