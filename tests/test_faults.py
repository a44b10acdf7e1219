"""kill -9 during a burst of signed webhooks: nothing acknowledged is lost, nothing lands twice, nothing is wrong.

Each test runs Tenure as `make run` does, each part in its own process (`tests/fault_kit.py`): the
dev server on a SQLite file in the test's tmp folder, the worker, the API under uvicorn. It sends
EVENTS signed payments (Stripe `invoice.paid` and generic billing `payment.succeeded`, alternately)
over CUSTOMERS customers, CONCURRENCY in flight, from a sender that retries on 503 and on connection
errors with the same event ids. Once a third are acknowledged, one process is killed with SIGKILL
and, a few seconds later, started again on the same port and the same data. Then every
acknowledged payment must have exactly one `earn` row in the SQL ledger, no row may come from
anything else, every journey must have written all its entries, and the real `tenure reconcile`
must pass for every customer.

Marked `faults` (`make test-faults` runs only these; `make test` runs them too). Each test is bounded
by its own timeout, and its fixture kills every process it started, whatever happened.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from tests.fault_kit import API_TEMPORAL_TIMEOUT, TenureProcesses, burst_with_kill, check_exactly_once, payments

EVENTS, CUSTOMERS, CONCURRENCY = 400, 8, 16
DOWNTIME = 1.0  # seconds the killed process stays dead, so the sender runs into the hole
SERVER_DOWNTIME = API_TEMPORAL_TIMEOUT + 1  # longer than the API waits for Temporal: it answers 503

# 15-30 s each alone on 2 cores. method="signal": the timeout raises in the test, so the fixture's
# finalizer still kills every process (the "thread" method would end pytest without it).
pytestmark = [pytest.mark.faults, pytest.mark.timeout(120, method="signal")]


@pytest_asyncio.fixture(loop_scope="session")
async def tenure_processes(tmp_path: Path, temporal_cli: str) -> AsyncIterator[TenureProcesses]:
    processes = TenureProcesses.create(tmp_path, temporal_cli)
    try:
        await processes.start()
        yield processes
    finally:
        processes.stop()
    assert not processes.running_pids(), "a process of the test outlived it"


async def test_worker_killed_mid_burst(tenure_processes: TenureProcesses, uid: str) -> None:
    processes, webhooks = tenure_processes, payments(uid, EVENTS, CUSTOMERS)
    sender = await burst_with_kill(processes, webhooks, processes.worker, DOWNTIME, CONCURRENCY)
    await check_exactly_once(processes, sender, webhooks)


async def test_dev_server_killed_mid_burst(tenure_processes: TenureProcesses, uid: str) -> None:
    processes, webhooks = tenure_processes, payments(uid, EVENTS, CUSTOMERS)
    sender = await burst_with_kill(processes, webhooks, processes.server, SERVER_DOWNTIME, CONCURRENCY)
    assert sender.retried_because["503"], "the API answered 503 while Temporal was gone"
    assert processes.worker.alive() and processes.api.alive(), "the worker and the API ride out the outage"
    await check_exactly_once(processes, sender, webhooks)


async def test_api_killed_mid_burst(tenure_processes: TenureProcesses, uid: str) -> None:
    processes, webhooks = tenure_processes, payments(uid, EVENTS, CUSTOMERS)
    sender = await burst_with_kill(processes, webhooks, processes.api, DOWNTIME, CONCURRENCY)
    assert sender.retried_because["ConnectError"], "the sender found nobody listening and came back"
    await check_exactly_once(processes, sender, webhooks)
