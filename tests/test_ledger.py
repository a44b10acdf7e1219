"""Ledger activities and queries on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.ledger import LEDGER_CONFLICT, LedgerActivities
from domain.effects import CustomerProfile, LedgerEntry
from storage.ledger_reads import Totals, ledger_page, ledger_totals
from storage.schema import customers, ledger_entries

T0 = datetime(2026, 1, 15, 9, 30, tzinfo=timezone(timedelta(hours=2)))


def entries_for(customer_id: str, points: list[int], start_seq: int = 1) -> list[LedgerEntry]:
    """A consistent run of earn/spend entries with running balances."""
    out, balance = [], 0
    for i, p in enumerate(points):
        seq = start_seq + i
        balance += p
        out.append(
            LedgerEntry(
                customer_id=customer_id,
                seq=seq,
                key=f"{customer_id}:{seq}",
                kind="earn" if p >= 0 else "spend",
                points=p,
                balance_after=balance,
                pending_after=0,
                at=T0 + timedelta(days=seq),
                lot_id=f"lot-{seq}" if p >= 0 else None,
                ref=f"inv-{seq}",
                program_version="v1",
            )
        )
    return out


def count_rows(engine, customer_id: str) -> int:
    with engine.connect() as conn:
        return conn.execute(
            sa.select(sa.func.count()).select_from(ledger_entries).where(ledger_entries.c.customer_id == customer_id)
        ).scalar_one()


async def test_record_entries_is_idempotent(engine, uid):
    acts = LedgerActivities(engine)
    batch = entries_for(f"c-{uid}", [100, 100, -50])
    env = ActivityEnvironment()
    assert await env.run(acts.record_entries, batch) == 3
    assert await env.run(acts.record_entries, batch) == 0
    # A batch overlapping what is recorded inserts only the new part.
    more = entries_for(f"c-{uid}", [100, 100, -50, 20])
    assert await env.run(acts.record_entries, more) == 1
    assert count_rows(engine, f"c-{uid}") == 4
    # What comes back is exactly what went in (aware datetimes, same instant, all fields).
    assert ledger_page(engine, f"c-{uid}", 0, 10) == more


async def test_empty_batch(engine):
    assert await ActivityEnvironment().run(LedgerActivities(engine).record_entries, []) == 0


async def test_100_concurrent_calls_record_one_row(engine, uid):
    acts = LedgerActivities(engine)
    [entry] = entries_for(f"c-{uid}", [100])
    results = await asyncio.gather(*(ActivityEnvironment().run(acts.record_entries, [entry]) for _ in range(100)))
    assert sorted(results) == [0] * 99 + [1]
    assert count_rows(engine, f"c-{uid}") == 1


def test_racing_workers_never_hit_the_seq_constraint(engine, uid):
    """Attempts released at the same instant from separate threads (as separate workers would).

    With `ON CONFLICT (key)` PostgreSQL sometimes reports the loser's clash on
    UNIQUE(customer_id, seq) as an IntegrityError; the activity must report 0 instead.
    """
    acts = LedgerActivities(engine)

    def attempt(entry: LedgerEntry, barrier: threading.Barrier) -> int:
        barrier.wait()
        return asyncio.run(ActivityEnvironment().run(acts.record_entries, [entry]))

    with ThreadPoolExecutor(max_workers=8) as pool:
        for trial in range(25):
            [entry] = entries_for(f"r{trial}-{uid}", [1])
            barrier = threading.Barrier(8)
            results = list(pool.map(lambda _, e=entry, b=barrier: attempt(e, b), range(8)))
            assert sorted(results) == [0] * 7 + [1]


async def test_concurrent_overlapping_batches(engine, uid):
    """Retries racing with later batches: every entry lands once, counts add up."""
    acts = LedgerActivities(engine)
    full = entries_for(f"c-{uid}", [10] * 30)
    batches = [full[i : i + 10] for i in range(0, 30, 5)] * 3  # each entry in up to 6 batches
    results = await asyncio.gather(*(ActivityEnvironment().run(acts.record_entries, b) for b in batches))
    assert sum(results) == 30
    assert ledger_page(engine, f"c-{uid}", 0, 100) == full


async def test_same_seq_under_another_key_is_a_conflict(engine, uid):
    acts = LedgerActivities(engine)
    first = entries_for(f"c-{uid}", [100])
    await ActivityEnvironment().run(acts.record_entries, first)
    clash = first[0].model_copy(update={"key": f"other-{uid}"})
    fresh = entries_for(f"c-{uid}", [100, 5])[1]
    with pytest.raises(ApplicationError) as err:
        await ActivityEnvironment().run(acts.record_entries, [fresh, clash])
    assert err.value.type == LEDGER_CONFLICT and not err.value.non_retryable  # caller decides by policy
    assert "seq 1" in str(err.value)
    # One transaction: the good entry of the failed batch was not kept either.
    assert count_rows(engine, f"c-{uid}") == 1


async def test_key_reused_for_another_entry_is_a_conflict(engine, uid):
    acts = LedgerActivities(engine)
    [a] = entries_for(f"a-{uid}", [100])
    [b] = entries_for(f"b-{uid}", [100])
    await ActivityEnvironment().run(acts.record_entries, [a])
    with pytest.raises(ApplicationError, match="recorded as customer"):
        await ActivityEnvironment().run(acts.record_entries, [b.model_copy(update={"key": a.key})])


async def test_one_key_for_two_entries_in_a_batch_is_a_conflict(engine, uid):
    a, b = entries_for(f"c-{uid}", [100, 5])
    with pytest.raises(ApplicationError, match="two different entries") as err:
        await ActivityEnvironment().run(
            LedgerActivities(engine).record_entries, [a, b.model_copy(update={"key": a.key})]
        )
    assert err.value.type == LEDGER_CONFLICT
    assert count_rows(engine, f"c-{uid}") == 0


async def test_ledger_page_in_seq_order(engine, uid):
    acts = LedgerActivities(engine)
    cid = f"c-{uid}"
    all_entries = entries_for(cid, list(range(1, 26)))
    # Recorded out of order, in two batches, next to another customer's entries.
    await ActivityEnvironment().run(acts.record_entries, all_entries[10:][::-1])
    await ActivityEnvironment().run(acts.record_entries, entries_for(f"x-{uid}", [7, 7]) + all_entries[:10])
    pages = [ledger_page(engine, cid, off, 10) for off in (0, 10, 20, 30)]
    assert [len(p) for p in pages] == [10, 10, 5, 0]
    assert [e.seq for p in pages for e in p] == list(range(1, 26))
    assert pages[1][0] == all_entries[10]
    assert ledger_page(engine, "nobody", 0, 10) == []
    with pytest.raises(ValueError):
        ledger_page(engine, cid, -1, 10)


async def test_ledger_totals(engine, uid):
    acts = LedgerActivities(engine)
    a, b = f"a-{uid}", f"b-{uid}"
    batch_a = entries_for(a, [100, 200, -50, -25])
    pending = LedgerEntry(
        customer_id=a,
        seq=5,
        key=f"{a}:5",
        kind="pending",
        points=0,
        pending_points=200,
        balance_after=225,
        pending_after=200,
        at=T0 + timedelta(days=9),
        program_version="v1",
    )
    await ActivityEnvironment().run(acts.record_entries, [*batch_a, pending, *entries_for(b, [1200])])

    totals = ledger_totals(engine)
    assert totals[a] == Totals(
        points_sum=225, pending_sum=200, max_seq=5, count=5, last_balance_after=225, last_pending_after=200
    )
    assert totals[b] == Totals(
        points_sum=1200, pending_sum=0, max_seq=1, count=1, last_balance_after=1200, last_pending_after=0
    )
    assert ledger_totals(engine, a) == {a: totals[a]}
    assert ledger_totals(engine, "nobody") == {}


async def test_upsert_customer(engine, uid):
    acts = LedgerActivities(engine)
    cid = f"c-{uid}"
    env = ActivityEnvironment()
    await env.run(acts.upsert_customer, CustomerProfile(customer_id=cid, program_version="v1"))
    await env.run(acts.upsert_customer, CustomerProfile(customer_id=cid, program_version="v1"))
    with engine.connect() as conn:
        first = conn.execute(sa.select(customers).where(customers.c.customer_id == cid)).one()
    assert (first.email, first.timezone) == (None, "UTC")
    assert (first.referral_code, first.status, first.tier, first.at_risk) == (None, "active", "", False)

    await env.run(
        acts.upsert_customer,
        CustomerProfile(
            customer_id=cid, email="ada@example.com", name="Ada", timezone="Europe/Berlin", program_version="v2"
        ),
    )
    with engine.connect() as conn:
        rows = conn.execute(sa.select(customers).where(customers.c.customer_id == cid)).all()
    assert len(rows) == 1
    row = rows[0]
    assert (row.email, row.name, row.timezone, row.program_version) == ("ada@example.com", "Ada", "Europe/Berlin", "v2")
    assert row.created_at == first.created_at and row.updated_at >= first.updated_at
    assert row.created_at.tzinfo is not None


def customer_row(engine, cid: str):
    with engine.connect() as conn:
        return conn.execute(sa.select(customers).where(customers.c.customer_id == cid)).one()


async def test_upsert_customer_writes_lifecycle_fields(engine, uid):
    acts = LedgerActivities(engine)
    cid = f"c-{uid}"
    env = ActivityEnvironment()
    profile = CustomerProfile(
        customer_id=cid,
        program_version="v1",
        referral_code=f"T{uid.upper()}",
        status="past_due",
        tier="gold",
        at_risk=True,
    )
    await env.run(acts.upsert_customer, profile)
    row = customer_row(engine, cid)
    assert (row.referral_code, row.status, row.tier, row.at_risk) == (f"T{uid.upper()}", "past_due", "gold", True)
    # The workflow's copy is the truth: every field is overwritten, back to the defaults too.
    await env.run(acts.upsert_customer, CustomerProfile(customer_id=cid, program_version="v1"))
    row = customer_row(engine, cid)
    assert (row.referral_code, row.status, row.tier, row.at_risk) == (None, "active", "", False)
    # Codes are stored upper-case whatever the profile says.
    await env.run(acts.upsert_customer, profile.model_copy(update={"referral_code": f" t{uid} "}))
    assert customer_row(engine, cid).referral_code == f"T{uid.upper()}"


async def test_lookup_referrer(engine, uid):
    acts = LedgerActivities(engine)
    env = ActivityEnvironment()
    code = f"T{uid.upper()}"
    await env.run(
        acts.upsert_customer, CustomerProfile(customer_id=f"ref-{uid}", program_version="v1", referral_code=code)
    )
    await env.run(acts.upsert_customer, CustomerProfile(customer_id=f"plain-{uid}", program_version="v1"))
    assert await env.run(acts.lookup_referrer, code) == f"ref-{uid}"
    assert await env.run(acts.lookup_referrer, code.lower()) == f"ref-{uid}"
    assert await env.run(acts.lookup_referrer, f"  {code.capitalize()} ") == f"ref-{uid}"
    assert await env.run(acts.lookup_referrer, f"X{uid.upper()}") is None
    assert await env.run(acts.lookup_referrer, "") is None  # members without a code are never matched
