"""Shared helpers for journey tests: a worker on a fresh ledger, and waiting for a journey to catch up."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import sqlalchemy as sa
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from domain.journey import EVENT_SIGNAL, HISTORY_BUDGET, WORKFLOW_NAME, JourneyInput, workflow_id
from domain.messages import ActivityReported, CustomerEvent, EventEnvelope, PaymentSucceeded, RefundIssued
from domain.program import Program
from settings import Settings
from starter.client import JourneyUnavailable, TenureClient
from starter.client.temporal_errors import connection_dropped
from starter.search_attributes import ensure as ensure_search_attributes
from storage.engine import create_engine_for
from storage.ledger_reads import ledger_page
from storage.migrate import upgrade
from storage.schema import ledger_entries
from worker import build_worker

T = TypeVar("T")


@asynccontextmanager
async def running_worker(
    client: Client,
    program: Program,
    tmp_path: Path,
    db_url: str | None = None,
    programs_by_hash: bool = True,
    **client_opts,
):
    """A worker on its own task queue and ledger; yields (TenureClient, engine). `programs_by_hash`
    (the default, the product's path): the client stores the program in the ledger database's program
    store and opens journeys by its content hash, as the API and the CLI do (storage/programs.py);
    False: journeys carry the whole program (tests/record_histories.py, whose histories replay alone)."""
    settings = Settings(data_dir=tmp_path, database_url=db_url or "", task_queue=f"tenure-{uuid.uuid4().hex[:8]}")
    engine = create_engine_for(settings.db_url())
    upgrade(engine)
    await ensure_search_attributes(client, client.namespace)  # as worker.py does at start-up
    worker = build_worker(client, settings, program, engine)
    async with worker:
        programs = engine if programs_by_hash else None
        yield TenureClient(client, program, settings.task_queue, programs=programs, **client_opts), engine
    engine.dispose()


async def start_at_version(tenure: TenureClient, customer_id: str, version: int, first: CustomerEvent) -> None:
    """Open a journey at an older rules version, as journeys started before the newest one still run."""
    assert tenure.program is not None
    await tenure.client.start_workflow(
        WORKFLOW_NAME,
        JourneyInput(
            customer_id=customer_id,
            program=tenure.program,
            rules_version=version,
            history_budget=tenure.history_budget or HISTORY_BUDGET,
        ),
        id=workflow_id(customer_id),
        task_queue=tenure.task_queue,
        start_signal=EVENT_SIGNAL,
        start_signal_args=[EventEnvelope(event=first)],
    )


def retried(error: BaseException) -> bool:
    """Whether `eventually` tries again after `error`: a check not met yet, or a server not ready to answer.

    - AssertionError: a probe or check that asserts, not yet true.
    - RPCError UNAVAILABLE: the Temporal server is starting or restarting.
    - RPCError DEADLINE_EXCEEDED ("query deadline exceeded"), or CANCELLED with "Timeout expired":
      a query whose `rpc_timeout` ran out before a workflow task answered it. The time-skipping
      server holds a query that arrives while a run continues as new until that deadline
      (seen in `tests/record_histories.py`); the next query is answered by the new run.
    - RPCError CANCELLED "h2 protocol error": the connection to the server broke mid-call
      (`connection_dropped`; seen in CI on a query to the time-skipping server); the next call reconnects.
    - JourneyUnavailable, TenureClient's form of one of these RPCErrors (its cause).
    Nothing else: NOT_FOUND (the journey was never started), a refusal, a TypeError in the probe
    are answers, and waiting would only hide them behind a timeout.
    """
    if isinstance(error, AssertionError):
        return True
    if isinstance(error, JourneyUnavailable):
        return isinstance(error.__cause__, RPCError) and retried(error.__cause__)
    if not isinstance(error, RPCError):
        return False
    if error.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED):
        return True
    return connection_dropped(error) or (error.status == RPCStatusCode.CANCELLED and "timeout" in error.message.lower())


async def eventually(probe: Callable[[], Awaitable[T]], check: Callable[[T], bool], timeout: float = 20) -> T:
    """Poll until `check(probe())` holds; fail with the last value seen.

    Only what `retried` accepts is tried again (every 0.1 s, for `timeout` seconds, at least
    once); any other exception from `probe` or `check` propagates at once. Modelled on
    `assert_eventually` of the Temporal Python SDK's own tests.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        error: BaseException | None = None
        try:
            last = await probe()
            if check(last):
                return last
            seen = repr(last)
        except (AssertionError, RPCError, JourneyUnavailable) as e:
            if not retried(e):
                raise
            error, seen = e, f"{type(e).__name__}: {e}"
        if loop.time() >= deadline:
            raise AssertionError(f"condition not reached within {timeout} s; last value: {seen}") from error
        await asyncio.sleep(0.1)


def foreign_ledger_row(engine, customer_id: str, seq: int) -> None:
    """A row another writer put in this customer's ledger at `seq` (a reset journey, two deployments
    on one database): the journey's own entry with that seq can never be written."""
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            sa.insert(ledger_entries).values(
                customer_id=customer_id,
                seq=seq,
                key=f"{customer_id}/someone-else/earn",
                kind="earn",
                points=5,
                balance_after=5,
                pending_after=0,
                at=now,
                program_version="other",
                recorded_at=now,
            )
        )


def ledger_rows(engine, customer_id: str) -> list[dict]:
    return [e.model_dump() for e in ledger_page(engine, customer_id, 0, 100_000)]


def email_rows(engine, customer_id: str) -> list[dict]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("select * from emails where customer_id = :c order by created_at"), {"c": customer_id}
        )
        return [dict(r._mapping) for r in rows]


def payment(n: int, cadence: str = "monthly", amount: int = 4900) -> PaymentSucceeded:
    return PaymentSucceeded(
        event_id=f"evt_pay_{n}", invoice_id=f"in_{n}", amount_minor=amount, currency="USD", cadence=cadence
    )


def refund(n: int, amount: int = 4900) -> RefundIssued:
    return RefundIssued(event_id=f"evt_refund_{n}", invoice_id=f"in_{n}", amount_minor=amount, currency="USD")


def login(n: int) -> ActivityReported:
    return ActivityReported(event_id=f"evt_login_{n}", kind="login")


def days(n: float) -> timedelta:
    return timedelta(days=n)


def utc(s: str) -> datetime:
    return datetime.fromisoformat(s)
