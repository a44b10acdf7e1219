"""Nothing twice at any distance (rules version 2), on the time-skipping server with a SQLite ledger.

Before version 2 a journey remembered its last 2,000 event ids and the payments of 400 days: an
id repeated past that was applied again, its ledger entry clashed with the first one's, and the
ledger write retried for ever, so that member's later entries never landed.
"""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa

from domain import requests as request_rules
from domain.journey import JourneyInput
from domain.messages import ActivityReported, PaymentSucceeded, PlanChanged, RedeemRequest
from starter.client import JourneyRefused
from tests.journey_kit import (
    days,
    eventually,
    foreign_ledger_row,
    ledger_rows,
    payment,
    running_worker,
    start_at_version,
)


def refs(rows: list[dict]) -> list[str]:
    """What the earn entries were for (payments and activities; badges have no ref)."""
    return [r["ref"] for r in rows if r["kind"] == "earn" and r["ref"]]


async def written(tenure, engine, cid: str) -> list[dict]:
    view = await eventually(lambda: tenure.reconcile_view(cid), lambda v: v.seq > 0 and not v.unwritten, timeout=60)
    return await eventually(lambda: asyncio.to_thread(ledger_rows, engine, cid), lambda r: len(r) == view.seq)


async def test_an_event_id_repeated_after_2000_newer_events_counts_once(time_env, program, tmp_path):
    cid = "cus_far"
    survey = ActivityReported(event_id="evt_survey", kind="survey_answered")
    async with running_worker(time_env.client, program, tmp_path) as (tenure, engine):
        await tenure.send(cid, survey)
        await eventually(lambda: tenure.summary(cid), lambda s: s.balance == 50)
        gate = asyncio.Semaphore(64)

        async def plan(n: int) -> None:
            async with gate:
                await tenure.send(cid, PlanChanged(event_id=f"evt_plan_{n}", plan=f"plan-{n}"))

        await asyncio.gather(*(plan(n) for n in range(2000)))  # all durably in history before the repeat
        await tenure.send(cid, survey)
        await tenure.send(cid, payment(1))
        rows = await eventually(
            lambda: asyncio.to_thread(ledger_rows, engine, cid), lambda rows: "in_1" in refs(rows), timeout=60
        )
        assert refs(rows) == ["evt_survey", "in_1"], "the survey earned once, and the payment after it landed"
        s = await tenure.summary(cid)
        assert s.balance == 150 == sum(r["points"] for r in await written(tenure, engine, cid))


async def test_an_invoice_paid_again_after_400_days_counts_once(time_env, program, tmp_path):
    cid = "cus_invoice"
    async with running_worker(time_env.client, program, tmp_path) as (tenure, engine):
        await tenure.send(cid, payment(1, cadence="annual", amount=49000))
        await eventually(lambda: tenure.summary(cid), lambda s: "pay:in_1" in {lot.lot_id for lot in s.lots})
        await time_env.sleep(days(401))
        await tenure.send(cid, payment(2))  # payments are kept 400 days: this one drops in_1 from the account
        again = PaymentSucceeded(event_id="evt_resent", invoice_id="in_1", amount_minor=49000, currency="USD")
        await tenure.send(cid, again)
        await tenure.send(cid, payment(3))
        rows = await eventually(
            lambda: asyncio.to_thread(ledger_rows, engine, cid), lambda rows: "in_3" in refs(rows), timeout=30
        )
        assert refs(rows) == ["in_1", "in_2", "in_3"]
        timeline = await tenure.timeline(cid)
        assert any(i.text == "invoice in_1 already counted; ignored" for i in timeline.items)


async def test_a_redemption_retried_past_the_kept_answers_is_refused_not_redeemed_again(
    time_env, program, tmp_path, monkeypatch
):
    """The journey keeps the last 500 answers; 3 here, so the test need not make 500 redemptions."""
    monkeypatch.setattr(request_rules, "ANSWERS_KEPT", 3)
    cid = "cus_answers"
    async with running_worker(time_env.client, program, tmp_path) as (tenure, engine):
        await tenure.send(cid, payment(1, cadence="annual", amount=49000))
        start = await eventually(lambda: tenure.summary(cid), lambda s: "pay:in_1" in {lot.lot_id for lot in s.lots})
        for n in range(5):
            await tenure.redeem(cid, RedeemRequest(request_id=f"order-{n}", points=100))
        with pytest.raises(JourneyRefused) as refused:
            await tenure.redeem(cid, RedeemRequest(request_id="order-0", points=100))
        assert refused.value.code == "answer_expired" and refused.value.invalid
        assert "order-0 was already carried out" in refused.value.message
        again = await tenure.redeem(cid, RedeemRequest(request_id="order-4", points=100))  # still kept: answered
        assert again.balance_after == start.balance - 500
        s = await tenure.summary(cid)
        assert s.balance == start.balance - 500
        rows = await written(tenure, engine, cid)
        assert [r["ref"] for r in rows if r["kind"] == "spend"] == [f"order-{n}" for n in range(5)]


async def test_a_ledger_entry_that_clashes_is_set_aside_and_the_ledger_goes_on(time_env, program, tmp_path):
    """Another writer took seq 2 of this member (a reset journey, two deployments on one database):
    the journey's entry 2 is quarantined, and entry 3 is written."""
    cid = "cus_clash"
    async with running_worker(time_env.client, program, tmp_path) as (tenure, engine):
        foreign_ledger_row(engine, cid, seq=2)
        for n in (1, 2, 3):
            await tenure.send(cid, payment(n))
        rows = await eventually(
            lambda: asyncio.to_thread(ledger_rows, engine, cid), lambda rows: "in_3" in refs(rows), timeout=30
        )
        assert [(r["seq"], r["key"]) for r in rows] == [
            (1, f"{cid}/pay:in_1/earn"),
            (2, f"{cid}/someone-else/earn"),
            (3, f"{cid}/pay:in_3/earn"),
        ]
        s = await tenure.summary(cid)
        assert s.balance == 300 and s.unwritable_entries == 1
        (rejection,) = s.rejections
        assert rejection.what == "ledger_entry" and rejection.entry and rejection.entry.ref == "in_2"
        assert "that seq is already recorded under another key" in rejection.reason
        view = await tenure.reconcile_view(cid)
        assert not view.unwritten and [x.entry.seq for x in view.unwritable if x.entry] == [2]
        with engine.connect() as conn:
            (row,) = conn.execute(sa.text("select * from quarantine where customer_id = :c"), {"c": cid}).mappings()
        assert row["what"] == "ledger_entry" and row["ref"] == f"{cid}/pay:in_2/earn" and row["type"] == "earn"


async def test_a_version_1_run_hands_what_it_saw_to_version_2_at_continue_as_new(time_env, program, tmp_path):
    """The last 2,000 ids and the invoices of a version 1 run come along into its version 2 run."""
    cid = "cus_moves"
    async with running_worker(time_env.client, program, tmp_path, history_budget=60) as (tenure, engine):
        await start_at_version(tenure, cid, 1, payment(1))
        survey = ActivityReported(event_id="evt_survey", kind="survey_answered")
        await tenure.send(cid, survey)
        for n in range(40):
            await tenure.send(cid, PlanChanged(event_id=f"evt_plan_{n}", plan=f"plan-{n}"))
        handle = tenure.handle(cid)

        async def version() -> int:
            started = (await handle.fetch_history()).events[0].workflow_execution_started_event_attributes
            [inp] = await time_env.client.data_converter.decode(started.input.payloads, [JourneyInput])
            return inp.rules_version

        await eventually(version, lambda v: v >= 2, timeout=30)
        await tenure.send(cid, survey)  # seen by the version 1 run
        again = PaymentSucceeded(event_id="evt_resent", invoice_id="in_1", amount_minor=4900, currency="USD")
        await tenure.send(cid, again)  # paid in the version 1 run, under another event id
        await tenure.send(cid, payment(2))
        rows = await eventually(
            lambda: asyncio.to_thread(ledger_rows, engine, cid), lambda rows: "in_2" in refs(rows), timeout=30
        )
        assert refs(rows) == ["in_1", "evt_survey", "in_2"]
