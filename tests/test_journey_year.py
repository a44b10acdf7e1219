"""A customer's year on the time-skipping server: months of durable timers in seconds."""

from __future__ import annotations

import asyncio

import pytest
from temporalio import activity
from temporalio.exceptions import ApplicationError

import worker
from domain.effects import BillingCredit, CreditOutcome
from domain.messages import ActivityReported, AdjustRequest, ProfileUpdated, RedeemRequest
from starter.client import JourneyRefused, NoJourney
from tests.journey_kit import days, email_rows, eventually, ledger_rows, payment, refund, running_worker


@pytest.fixture
def program(program):
    """The core rules alone: no badge bonuses mixed into the arithmetic."""
    return program.model_copy(update={"badges": [], "challenges": []})


async def test_customer_year(time_env, program, tmp_path):
    """12 monthly payments, an upgrade, a lot expiring at 12 months with its warnings, a refund, an idle year."""
    cid = "cus_year"
    async with running_worker(time_env.client, program, tmp_path) as (tenure, engine):
        await tenure.send(cid, ProfileUpdated(event_id="evt_profile", email="ada@example.com", name="Ada"))
        for n in range(12):
            await tenure.send(cid, payment(n))
            s = await eventually(
                lambda: tenure.summary(cid), lambda s, n=n: s.lifetime_points > 0 and len(s.lots) == n + 1
            )
            if n == 9:
                assert s.tier == "silver", "1000 points in 12 months reach silver at once"
                assert s.balance == 1000
            await time_env.sleep(days(30))
        # day 360: payments 11 and 12 earned 110 each under silver's 1.1 multiplier
        s = await tenure.summary(cid)
        assert s.tier == "silver" and s.balance == 1220
        assert s.next_tier == "gold" and s.points_to_next_tier == 2500 - 1220

        first = min(s.lots, key=lambda lot: lot.earned_at)
        assert first.expires_at - first.earned_at == days(365)
        mails = [m["purpose"] for m in email_rows(engine, cid)]
        assert "expiry_warning" in mails and "expiry_last_chance" in mails

        await time_env.sleep(days(6))  # day 366: the first lot is gone, exactly at 12 months
        s = await eventually(lambda: tenure.summary(cid), lambda s: s.balance == 1120)
        expired = [r for r in ledger_rows(engine, cid) if r["kind"] == "expire"]
        assert len(expired) == 1 and expired[0]["points"] == -100
        lag = expired[0]["at"] - first.expires_at
        assert days(0) <= lag < days(1 / 24), f"expired {lag} after its deadline"

        await tenure.send(cid, refund(11))  # the last payment is refunded: its 110 points go back
        s = await eventually(lambda: tenure.summary(cid), lambda s: s.balance == 1010)
        assert s.tier == "silver", "a refund never downgrades on its own"

        await time_env.sleep(days(300))  # idle until after the tier anniversary (upgrade day 270 + 365)
        s = await eventually(lambda: tenure.summary(cid), lambda s: s.tier == "member")
        rows = ledger_rows(engine, cid)
        assert sum(r["points"] for r in rows) == s.balance, "the ledger reconciles with the journey"
        timeline = await tenure.timeline(cid)
        assert any("downgrade silver → member" in i.text for i in timeline.items)


async def test_downgrade_one_level_per_tier_year(time_env, program, tmp_path):
    cid = "cus_gold"
    async with running_worker(time_env.client, program, tmp_path) as (tenure, _):
        for n in range(3):
            await tenure.send(cid, payment(n, cadence="annual", amount=49000))
        s = await eventually(lambda: tenure.summary(cid), lambda s: len(s.lots) == 3)
        # 1200 as a member, 1320 (×1.1) as silver, 1500 (×1.25) as gold
        assert (s.qualifying_points, s.tier) == (4020, "gold")
        start = s.tier
        await time_env.sleep(days(366))
        s = await eventually(lambda: tenure.summary(cid), lambda s: s.tier != start)
        names = program.tiers.names()
        assert names.index(s.tier) == names.index(start) - 1, "one level at a time"
        await time_env.sleep(days(366))
        s2 = await eventually(lambda: tenure.summary(cid), lambda x: x.tier != s.tier)
        assert names.index(s2.tier) == names.index(s.tier) - 1


async def test_concurrent_redemptions_of_whole_balance(time_env, program, tmp_path):
    cid = "cus_race"
    async with running_worker(time_env.client, program, tmp_path) as (tenure, engine):
        await tenure.send(cid, payment(1, cadence="annual", amount=49000))
        await eventually(lambda: tenure.summary(cid), lambda s: s.balance == 1200)
        results = await asyncio.gather(
            tenure.redeem(cid, RedeemRequest(request_id="r1", points=1200)),
            tenure.redeem(cid, RedeemRequest(request_id="r2", points=1200)),
            return_exceptions=True,
        )
        ok = [r for r in results if not isinstance(r, BaseException)]
        failed = [r for r in results if isinstance(r, BaseException)]
        assert len(ok) == 1 and len(failed) == 1
        assert isinstance(failed[0], JourneyRefused)
        assert "not enough points" in failed[0].message
        assert failed[0].code == "insufficient_points"
        assert ok[0].credit_minor == 1200 and ok[0].balance_after == 0
        again = await tenure.redeem(cid, RedeemRequest(request_id=ok[0].request_id, points=1200))
        assert again == ok[0], "the same request id returns the first answer"
        s = await tenure.summary(cid)
        assert s.balance == 0
        spends = [r for r in ledger_rows(engine, cid) if r["kind"] == "spend"]
        assert len(spends) == 1


@pytest.mark.parametrize(
    "request_, code, message",
    [
        (RedeemRequest(request_id="neg", points=-5), "points_not_positive", "positive"),
        (RedeemRequest(request_id="big", points=100_000), "insufficient_points", "not enough points"),
        (RedeemRequest(request_id="rw", kind="reward", reward_id="yacht"), "unknown_reward", "unknown reward"),
    ],
)
async def test_redemption_validator_refuses_before_history(time_env, program, tmp_path, request_, code, message):
    cid = f"cus_bad_{request_.request_id}"
    async with running_worker(time_env.client, program, tmp_path) as (tenure, engine):
        await tenure.send(cid, payment(1))
        await eventually(lambda: tenure.summary(cid), lambda s: s.balance == 100)
        with pytest.raises(JourneyRefused) as err:
            await tenure.redeem(cid, request_)
        assert message in err.value.message
        assert err.value.code == code
        history = await tenure.handle(cid).fetch_history()
        assert not any(e.HasField("workflow_execution_update_accepted_event_attributes") for e in history.events)
        assert (await tenure.summary(cid)).balance == 100


async def test_a_credit_billing_refuses_returns_the_points_and_answers_credit_refused(
    time_env, program, tmp_path, monkeypatch
):
    @activity.defn(name="apply_credit")
    async def refuse_credit(credit: BillingCredit) -> CreditOutcome:
        raise ApplicationError("card declined", non_retryable=True)

    everything = worker.build_activities
    monkeypatch.setattr(
        worker,
        "build_activities",
        lambda *args, **kwargs: (
            [f for f in everything(*args, **kwargs) if f.__name__ != "apply_credit"] + [refuse_credit]
        ),
    )
    cid = "cus_declined"
    async with running_worker(time_env.client, program, tmp_path) as (tenure, engine):
        await tenure.send(cid, payment(1, cadence="annual", amount=49000))
        await eventually(lambda: tenure.summary(cid), lambda s: s.balance == 1200)
        with pytest.raises(JourneyRefused) as err:
            await tenure.redeem(cid, RedeemRequest(request_id="r1", points=1000))
        assert err.value.code == "credit_refused"
        assert err.value.message == "billing refused the credit: card declined"
        assert (await tenure.summary(cid)).balance == 1200, "the points came back"
        kinds = [r["kind"] for r in ledger_rows(engine, cid)]
        assert kinds == ["earn", "spend", "adjust"]


async def test_inactive_member_cannot_redeem(time_env, program, tmp_path):
    from domain.messages import SubscriptionCancelled

    cid = "cus_gone"
    async with running_worker(time_env.client, program, tmp_path) as (tenure, _):
        await tenure.send(cid, payment(1, cadence="annual", amount=49000))
        await tenure.send(cid, SubscriptionCancelled(event_id="evt_cancel", reason="too_expensive"))
        await eventually(lambda: tenure.summary(cid), lambda s: s.status == "cancelled")
        with pytest.raises(JourneyRefused) as err:
            await tenure.redeem(cid, RedeemRequest(request_id="x", points=200))
        assert "not active" in err.value.message


async def test_duplicate_event_id_has_no_effect(time_env, program, tmp_path):
    cid = "cus_dup"
    async with running_worker(time_env.client, program, tmp_path) as (tenure, engine):
        for _ in range(5):
            await tenure.send(cid, payment(1))
        await tenure.send(cid, payment(2))
        await eventually(lambda: tenure.summary(cid), lambda s: s.balance == 200)
        await asyncio.sleep(0.5)
        assert (await tenure.summary(cid)).balance == 200
        assert [r["kind"] for r in ledger_rows(engine, cid)] == ["earn", "earn"]


async def test_support_adjustment_is_recorded_with_actor(time_env, program, tmp_path):
    cid = "cus_adj"
    goodwill = AdjustRequest(request_id="adj1", points=250, reason="goodwill for outage", actor="support:maria")
    async with running_worker(time_env.client, program, tmp_path) as (tenure, engine):
        with pytest.raises(NoJourney):  # an update never opens a journey
            await tenure.adjust(cid, goodwill)
        assert not await tenure.exists(cid)
        await tenure.send(cid, ProfileUpdated(event_id="evt_profile", email="adj@example.com"))
        r = await tenure.adjust(cid, goodwill)
        assert r.balance_after == 250
        with pytest.raises(JourneyRefused):
            await tenure.adjust(cid, AdjustRequest(request_id="adj2", points=-500, reason="too much", actor="m"))
        row = [r for r in ledger_rows(engine, cid) if r["kind"] == "adjust"][0]
        assert row["actor"] == "support:maria" and row["reason"] == "goodwill for outage"


async def test_continue_as_new_during_a_burst_loses_nothing(time_env, program, tmp_path):
    cid = "cus_burst"
    async with running_worker(time_env.client, program, tmp_path, history_budget=60) as (tenure, engine):
        n = 120
        await tenure.send(cid, ActivityReported(event_id="evt_0", kind="survey_answered"))
        first_run = (await tenure.handle(cid).describe()).run_id
        await asyncio.gather(
            *(tenure.send(cid, ActivityReported(event_id=f"evt_{i}", kind="survey_answered")) for i in range(1, n))
        )
        await eventually(
            lambda: asyncio.to_thread(ledger_rows, engine, cid),
            lambda rows: sum(r["kind"] == "earn" for r in rows) == n,
            timeout=60,
        )
        s = await eventually(lambda: tenure.summary(cid), lambda s: s.ledger_seq == n)
        rows = ledger_rows(engine, cid)
        assert sorted(r["ref"] for r in rows if r["kind"] == "earn") == sorted(f"evt_{i}" for i in range(n))
        assert sum(r["points"] for r in rows) == s.balance
        assert [r["seq"] for r in rows] == list(range(1, len(rows) + 1)), "no gap, no repeat"
        assert (await tenure.handle(cid).describe()).run_id != first_run, "the journey continued as new"


async def test_a_running_journey_adopts_a_published_program(time_env, program, tmp_path):
    from domain.program import Program

    cid = "cus_adopt"
    async with running_worker(time_env.client, program, tmp_path) as (tenure, _):
        await tenure.send(cid, payment(1))
        before = await eventually(lambda: tenure.summary(cid), lambda s: s.balance == 100)
        v2 = Program.model_validate({**program.model_dump(), "version": "v2"})
        assert await tenure.adopt_program(cid, v2) == program.version
        s = await tenure.summary(cid)
        assert s.program_version == "v2" and s.lots == before.lots
        with pytest.raises(JourneyRefused):
            await tenure.adopt_program(cid, v2)  # refused: it already runs v2
