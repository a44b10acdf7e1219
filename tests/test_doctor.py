"""`tenure doctor` lists the journeys that need support, and `tenure reconcile` reports every member
even when one journey does not answer — on the dev server, with a worker of this test.

Four members: one healthy; one (rules version 2) that rejected an event it could not apply; two
runs of rules version 1, as journeys started before version 2 still are: one whose workflow task
fails on every retry (the same event wedges it), one whose ledger write clashes with a row another
writer put there and is retried for ever.
"""

from __future__ import annotations

import asyncio
import json
import uuid

from domain.journey import EVENT_SIGNAL
from settings import Settings
from tests.journey_kit import eventually, foreign_ledger_row, ledger_rows, payment, running_worker, start_at_version
from tests.test_cli import ainvoke, out
from tests.test_journey_quarantine import HUGE_PAYMENT, raw_event


async def test_doctor_lists_stuck_journeys_and_rejections_and_reconcile_reports_every_member(
    dev_env, program, tmp_path
):
    tag = uuid.uuid4().hex[:6]
    healthy, rejecting, wedged, clashing = (f"{name}_{tag}" for name in ("healthy", "rejecting", "wedged", "clashing"))
    async with running_worker(dev_env.client, program, tmp_path) as (tenure, engine):
        settings = Settings(
            temporal_address=dev_env.client.service_client.config.target_host,
            task_queue=tenure.task_queue,
            data_dir=tmp_path,
        )
        try:
            foreign_ledger_row(engine, clashing, seq=2)
            await tenure.send(healthy, payment(1))
            await tenure.send(rejecting, payment(1))
            await tenure.handle(rejecting).signal(EVENT_SIGNAL, raw_event(HUGE_PAYMENT))
            await start_at_version(tenure, wedged, 1, payment(1))
            await start_at_version(tenure, clashing, 1, payment(1))
            for cid in (wedged, clashing):  # the first entry written, before the event that stops each
                await eventually(
                    lambda cid=cid: asyncio.to_thread(ledger_rows, engine, cid),
                    lambda rows: any(r["ref"] == "in_1" for r in rows),
                )
            await tenure.send(clashing, payment(2))  # its entry is seq 2: taken by the other writer's row
            await tenure.handle(wedged).signal(EVENT_SIGNAL, raw_event(HUGE_PAYMENT))
            await eventually(lambda: tenure.summary(rejecting), lambda s: s.rejected_events == 1)
            await eventually(  # its workflow task has failed: it will answer no query
                lambda: tenure.health(wedged), lambda h: h.workflow_task is not None, timeout=30
            )

            async def doctor() -> dict:
                r = await ainvoke(settings, "doctor", "--json", "--attempts", "2", "--stalled-after", "1")
                assert r.exit_code == 1, out(r)
                return {j["customer_id"]: j for j in json.loads(r.stdout)["journeys"]}

            found = await eventually(doctor, lambda f: f.keys() == {rejecting, wedged, clashing}, timeout=60)
            assert found[rejecting]["stuck"] == [] and found[rejecting]["rejected_events"] == 1
            reason = found[rejecting]["latest_reason"]  # refused by the bounds, or by the rule that overflows
            assert "amount_minor" in reason or "could not be applied: OverflowError" in reason, reason
            (why,) = found[wedged]["stuck"]
            assert why.startswith("workflow task failing (") and "OverflowError" in why, why
            assert "Encoded failure" not in why, "the message is decoded with the CLI's keys"
            assert found[wedged]["rejected_events"] == 0
            (why,) = found[clashing]["stuck"]
            assert why.startswith("ledger write retrying since") and "(1 entry waiting)" in why, why

            table = await ainvoke(settings, "doctor", "--attempts", "2", "--stalled-after", "1")
            one = await ainvoke(settings, "doctor", rejecting)
            fine = await ainvoke(settings, "doctor", healthy)
            r = await ainvoke(settings, "reconcile")
            assert table.exit_code == 1, out(table)
            assert "✘ 3 journey(s) need support: 2 stuck, 1 with things set aside" in table.stdout, out(table)
            assert one.exit_code == 1 and "evt_huge" in one.stdout and "payment_succeeded" in one.stdout, out(one)
            assert fine.exit_code == 0 and "✔ no journey is stuck" in fine.stdout, out(fine)

            assert r.exit_code == 1, out(r)
            assert "✘ 2 of 4 customers do not reconcile" in r.stdout, out(r)
            lines = {cid: next(x for x in r.stdout.splitlines() if cid in x) for cid in (healthy, rejecting, wedged)}
            assert "✔" in lines[healthy] and "✔" in lines[rejecting] and "✘" in lines[wedged]
            # each member that does not reconcile is named under the table with its problems
            assert f"✘ {wedged}: the journey did not answer" in r.stdout, out(r)
            (row,) = [x for x in r.stdout.splitlines() if x.startswith(f"✘ {clashing}: ")]
            assert "1 entry cannot be written: seq 2 (earn +100)" in row, row
        finally:
            for cid in (wedged, clashing):  # their tasks never end: the worker could not stop
                await tenure.handle(cid).terminate("test over")
