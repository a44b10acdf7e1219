"""A journey never wedges (rules version 2): an event that cannot be applied, or whose payload does
not decode, is rejected and recorded — in the timeline, the summary and the `quarantine` table —
the account is left exactly as it was, and the journey goes on with the next event.

On the time-skipping server, with a worker and a SQLite ledger of the test's own. Before version 2
the first of these journeys stopped for good: its workflow task failed on every retry.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import sqlalchemy as sa
from temporalio.api.common.v1 import Payload
from temporalio.common import RawValue

from domain import event_handlers
from domain.journey import EVENT_SIGNAL
from domain.messages import PlanChanged
from tests.journey_kit import eventually, ledger_rows, login, payment, running_worker, start_at_version


def raw_event(event: dict[str, Any]) -> RawValue:
    """A signal payload as any client could send it, bypassing the Python client's own validation."""
    data = json.dumps({"event": event}).encode()
    return RawValue(Payload(metadata={"encoding": b"json/plain"}, data=data))


def quarantined(engine, customer_id: str) -> list[dict]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("select * from quarantine where customer_id = :c order by id"), {"c": customer_id}
        ).mappings()
        return [dict(r) for r in rows]


async def written(tenure, engine, cid: str) -> list[dict]:
    """The ledger once the journey has written every entry it made."""
    view = await eventually(lambda: tenure.reconcile_view(cid), lambda v: v.seq > 0 and not v.unwritten)
    return await eventually(lambda: asyncio.to_thread(ledger_rows, engine, cid), lambda r: len(r) == view.seq)


HUGE_PAYMENT = {
    "type": "payment_succeeded",
    "event_id": "evt_huge",
    "invoice_id": "in_huge",
    "amount_minor": 10**400,
    "currency": "USD",
}


async def test_a_payment_that_cannot_be_applied_is_rejected_and_later_events_reach_the_ledger(
    time_env, program, tmp_path
):
    cid = "cus_huge"
    async with running_worker(time_env.client, program, tmp_path) as (tenure, engine):
        await tenure.send(cid, payment(1))
        await eventually(lambda: tenure.summary(cid), lambda s: s.balance == 100)
        await tenure.handle(cid).signal(EVENT_SIGNAL, raw_event(HUGE_PAYMENT))
        await tenure.send(cid, payment(2))
        await tenure.send(cid, login(1))

        rows = await eventually(
            lambda: asyncio.to_thread(ledger_rows, engine, cid),
            lambda rows: {"in_1", "in_2", "evt_login_1"} <= {r["ref"] for r in rows},
        )
        assert "in_huge" not in {r["ref"] for r in rows}
        s = await tenure.summary(cid)
        assert s.balance == 202 == sum(r["points"] for r in await written(tenure, engine, cid))
        assert "pay:in_huge" not in {lot.lot_id for lot in s.lots}, "the failed payment left nothing behind"
        assert s.rejected_events == 1
        (rejection,) = s.rejections
        assert rejection.what == "event" and rejection.ref == "evt_huge" and rejection.type == "payment_succeeded"
        # the rules fail on it (OverflowError); should the message bounds refuse such an amount, it does not decode
        assert "could not be applied: OverflowError" in rejection.reason or "not a valid event" in rejection.reason

        timeline = await tenure.timeline(cid)
        assert any("evt_huge" in i.text and "rejected" in i.text for i in timeline.items)
        (row,) = await eventually(lambda: asyncio.to_thread(quarantined, engine, cid), lambda rows: len(rows) == 1)
        assert row["what"] == "event" and row["ref"] == "evt_huge" and row["reason"] == rejection.reason
        assert '"invoice_id":"in_huge"' in row["payload"].replace(" ", "")

        await tenure.handle(cid).signal(EVENT_SIGNAL, raw_event(HUGE_PAYMENT))  # sent again: rejected again
        s = await eventually(lambda: tenure.summary(cid), lambda s: s.rejected_events == 2)
        assert s.balance == 202


async def test_a_rule_that_fails_halfway_leaves_the_account_as_it_was(time_env, program, tmp_path, monkeypatch):
    """A fault injected into one rule: it changes the account (points, status, a ledger entry, an
    email) and then raises. The journey puts the account back, drops the effects, and goes on."""

    def changes_then_fails(r, fx, now, ev) -> None:
        r.earn(fx, now, 777, "bogus", origin=f"bogus:{ev.event_id}")
        r.a.status = "cancelled"
        r.a.lifecycle.counters.payments += 5
        r.email(fx, now, "points_adjusted", f"bogus:{ev.event_id}", {"points": 777})
        r.note(now, "billing", "half done")
        raise RuntimeError("a bug in a rule")

    cid = "cus_fault"
    async with running_worker(time_env.client, program, tmp_path) as (tenure, engine):
        await tenure.send(cid, payment(1))
        before = await eventually(lambda: tenure.summary(cid), lambda s: s.balance == 100)
        rows_before = await written(tenure, engine, cid)
        monkeypatch.setitem(event_handlers.HANDLERS, "plan_changed", changes_then_fails)
        await tenure.send(cid, PlanChanged(event_id="evt_plan", plan="pro"))
        s = await eventually(lambda: tenure.summary(cid), lambda s: s.rejected_events == 1)
        monkeypatch.undo()
        assert s.rejections[0].reason == "could not be applied: RuntimeError: a bug in a rule"
        unchanged = {"rejected_events", "rejections"}
        assert s.model_dump(exclude=unchanged) == before.model_dump(exclude=unchanged), "nothing of it stayed"
        timeline = await tenure.timeline(cid)
        assert not any(i.text == "half done" for i in timeline.items)

        await tenure.send(cid, payment(2))  # the journey goes on
        await eventually(lambda: tenure.summary(cid), lambda s: s.balance == 200)
        rows = await written(tenure, engine, cid)
        assert rows[: len(rows_before)] == rows_before and [r["ref"] for r in rows[len(rows_before) :]] == ["in_2"]
        assert "bogus" not in {r["reason"] for r in rows}


async def test_a_signal_that_does_not_decode_is_rejected_not_dropped(time_env, program, tmp_path):
    cid = "cus_garbled"
    async with running_worker(time_env.client, program, tmp_path) as (tenure, engine):
        await tenure.send(cid, payment(1))
        bad = {"type": "payment_succeeded", "event_id": "evt_garbled", "invoice_id": "in_2", "amount_minor": "lots"}
        await tenure.handle(cid).signal(EVENT_SIGNAL, raw_event(bad))
        await tenure.handle(cid).signal(EVENT_SIGNAL)  # no argument at all
        await tenure.send(cid, payment(3))
        timeline = await eventually(
            lambda: tenure.timeline(cid),
            lambda t: any("evt_garbled" in i.text and "rejected" in i.text for i in t.items),
        )
        assert any("(no id)" in i.text and "rejected" in i.text for i in timeline.items)
        s = await eventually(lambda: tenure.summary(cid), lambda s: s.balance == 200)
        assert [(x.ref, x.type) for x in s.rejections] == [("evt_garbled", "payment_succeeded"), (None, None)]
        assert all("payload is not a valid event" in x.reason for x in s.rejections)
        assert "amount_minor" in s.rejections[0].reason
        rows = await eventually(lambda: asyncio.to_thread(quarantined, engine, cid), lambda rows: len(rows) == 2)
        assert '"amount_minor": "lots"' in rows[0]["payload"]


async def test_a_version_1_run_still_drops_a_signal_that_does_not_decode(time_env, program, tmp_path):
    """Older runs keep their behaviour exactly (their histories replay): dropped, as the SDK did."""
    cid = "cus_v1"
    async with running_worker(time_env.client, program, tmp_path) as (tenure, engine):
        await start_at_version(tenure, cid, 1, payment(1))
        await tenure.handle(cid).signal(EVENT_SIGNAL, raw_event({"type": "payment_succeeded", "event_id": "x"}))
        await tenure.send(cid, payment(2))
        s = await eventually(lambda: tenure.summary(cid), lambda s: s.balance == 200)
        assert s.rejected_events == 0 and not s.rejections
        assert not await asyncio.to_thread(quarantined, engine, cid)
