"""`record_ledger_entries` (rules version 2) and `record_rejections`, on SQLite and PostgreSQL: an entry
the ledger can never take is set aside in `quarantine` and reported, and the rest of its batch is
written; reconcile's `clashes` finds the entries an older run retries for ever."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from temporalio.testing import ActivityEnvironment

from activities.ledger import LedgerActivities
from domain.effects import QuarantineRecord
from storage.ledger_reads import clashes, ledger_page
from storage.quarantine_reads import quarantine_tallies, quarantined
from tests.test_ledger import count_rows, entries_for


async def test_written_entries_are_written_once_and_nothing_is_set_aside(engine, uid):
    acts, env = LedgerActivities(engine), ActivityEnvironment()
    batch = entries_for(f"c-{uid}", [100, 100, -50])
    first = await env.run(acts.record_ledger_entries, batch)
    assert (first.inserted, first.unwritable) == (3, [])
    again = await env.run(acts.record_ledger_entries, batch)
    assert (again.inserted, again.unwritable) == (0, [])
    assert ledger_page(engine, f"c-{uid}", 0, 10) == batch and quarantine_tallies(engine) == []


async def test_an_entry_that_clashes_is_set_aside_and_the_rest_of_its_batch_is_written(engine, uid):
    cid = f"c-{uid}"
    acts, env = LedgerActivities(engine), ActivityEnvironment()
    await env.run(acts.record_ledger_entries, entries_for(cid, [100]))
    other = entries_for(cid, [7], start_seq=2)[0].model_copy(update={"key": f"{cid}:someone-else"})
    await env.run(acts.record_ledger_entries, [other])
    batch = entries_for(cid, [100, 100, -50])  # seq 1 is written already, seq 2 is the other writer's
    written = await env.run(acts.record_ledger_entries, batch)
    assert written.inserted == 1 and [u.seq for u in written.unwritable] == [2]
    assert "that seq is already recorded under another key" in written.unwritable[0].reason
    assert [e.key for e in ledger_page(engine, cid, 0, 10)] == [f"{cid}:1", f"{cid}:someone-else", f"{cid}:3"]
    (row,) = quarantined(engine, cid)
    assert (row["what"], row["ref"], row["type"]) == ("ledger_entry", f"{cid}:2", "earn")
    again = await env.run(acts.record_ledger_entries, batch)  # a retry: the same answer, no second row
    assert again.inserted == 0 and [u.seq for u in again.unwritable] == [2]
    assert len(quarantined(engine, cid)) == 1
    assert clashes(engine, batch) == {2: f"seq 2 is recorded under another key ('{cid}:someone-else')"}


async def test_a_row_the_database_refuses_is_set_aside_and_the_others_are_written(engine, uid):
    """Points beyond what the column holds (PostgreSQL's integer, SQLite's 64 bits) refuse one row."""
    cid = f"c-{uid}"
    batch = entries_for(cid, [100, 100, 100])
    batch[1] = batch[1].model_copy(update={"points": 10**20, "balance_after": 10**20})
    written = await ActivityEnvironment().run(LedgerActivities(engine).record_ledger_entries, batch)
    assert written.inserted == 2 and [u.seq for u in written.unwritable] == [2]
    assert written.unwritable[0].reason.startswith("the ledger refused the row: ")
    assert count_rows(engine, cid) == 2 and [r["ref"] for r in quarantined(engine, cid)] == [f"{cid}:2"]


async def test_two_different_entries_with_one_key_in_a_batch(engine, uid):
    cid = f"c-{uid}"
    batch = entries_for(cid, [100, 100])
    twin = batch[1].model_copy(update={"key": batch[0].key})
    written = await ActivityEnvironment().run(LedgerActivities(engine).record_ledger_entries, [batch[0], twin])
    assert written.inserted == 1 and [u.seq for u in written.unwritable] == [2]
    assert clashes(engine, [twin]) == {2: f"its key '{cid}:1' is recorded as customer '{cid}' seq 1"}


async def test_rejections_are_recorded_once_and_tallied_per_customer(engine, uid):
    at = datetime(2026, 1, 1, tzinfo=UTC)
    records = [
        QuarantineRecord(
            customer_id=f"c-{uid}-{n % 2}",
            key=f"c-{uid}-{n % 2}/rejected:{n}",
            what="event",
            ref=f"evt_{n}",
            type="payment_succeeded",
            reason=f"reason {n}",
            payload="{}",
            at=at,
        )
        for n in range(3)
    ]
    acts, env = LedgerActivities(engine), ActivityEnvironment()
    assert await env.run(acts.record_rejections, records) == 3
    assert await env.run(acts.record_rejections, records) == 0
    mine = [t for t in quarantine_tallies(engine) if t.customer_id.startswith(f"c-{uid}")]
    assert [(t.customer_id, t.events, t.entries, t.latest_reason) for t in mine] == [
        (f"c-{uid}-0", 2, 0, "reason 2"),
        (f"c-{uid}-1", 1, 0, "reason 1"),
    ]
    with engine.connect() as conn:
        assert conn.execute(sa.text("select count(*) from quarantine")).scalar_one() >= 3
