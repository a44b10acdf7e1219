"""Scaling out: two workers and two API processes on one Temporal server and one ledger database.

Each process is started as production starts it (`python worker.py`, `uvicorn starter.api:app`),
on the session's dev server and the test's database (SQLite file; PostgreSQL when
TENURE_TEST_POSTGRES_URL is set). A few hundred signed payments go in, spread over both APIs,
a fifth of them delivered a second time through the other API. Every payment is in the ledger
exactly once, `tenure reconcile` agrees, both APIs answered, both workers ran workflow tasks
(the identity on WorkflowTaskStarted in the journeys' histories is the worker's `pid@host`),
and the containers' health probes pass against the live processes.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import httpx
import pytest
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from domain.journey import workflow_id
from starter.client import TenureClient
from starter.ingress.generic_billing import sign
from starter.reconcile import reconcile
from storage.engine import create_engine_for
from tests.journey_kit import eventually, ledger_rows

ROOT = Path(__file__).resolve().parent.parent
API_KEY = "scale-out-key-0123456789"
BILLING_SECRET = "scale-out-billing-secret"
CUSTOMERS = 40
PAYMENTS_EACH = 6  # 240 payments, plus every fifth delivered again: 288 requests
IN_FLIGHT = 16


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def spawned(argv: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    """A child process in its own group, its output in `log`; stopped with SIGTERM (killed after 15 s)."""
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, process_group=0
        )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def _alive(proc: subprocess.Popen, log: Path) -> None:
    assert proc.poll() is None, f"{proc.args} exited {proc.returncode}:\n{log.read_text()[-3000:]}"


async def _pollers(client: Client, task_queue: str) -> set[str]:
    answer = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=client.namespace,
            task_queue=TaskQueue(name=task_queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        )
    )
    return {poller.identity for poller in answer.pollers}


@asynccontextmanager
async def cluster(client: Client, env: dict[str, str], task_queue: str, tmp_path: Path) -> AsyncIterator[dict]:
    """Two workers and two APIs, each its own process, all polling / answering before it yields."""
    with (
        spawned([sys.executable, "worker.py"], env | {"TENURE_WORKER_HEALTH_FILE": str(tmp_path / "w0.alive")},
                tmp_path / "worker-0.log") as w0,
        spawned([sys.executable, "worker.py"], env | {"TENURE_WORKER_HEALTH_FILE": str(tmp_path / "w1.alive")},
                tmp_path / "worker-1.log") as w1,
    ):  # fmt: skip
        ports = [_free_port(), _free_port()]
        uvicorn = [sys.executable, "-m", "uvicorn", "starter.api:app", "--host", "127.0.0.1", "--log-level", "warning"]
        with (
            spawned([*uvicorn, "--port", str(ports[0])], env, tmp_path / "api-0.log") as a0,
            spawned([*uvicorn, "--port", str(ports[1])], env, tmp_path / "api-1.log") as a1,
        ):
            procs = {"worker-0": w0, "worker-1": w1, "api-0": a0, "api-1": a1}
            identities = {f"{w.pid}@{socket.gethostname()}" for w in (w0, w1)}

            async def pollers() -> set[str]:
                for name, proc in procs.items():
                    _alive(proc, tmp_path / f"{name}.log")
                return await _pollers(client, task_queue)

            await eventually(pollers, lambda seen: identities <= seen, timeout=60)
            apis = [httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) for port in ports]
            try:
                for api, name in zip(apis, ("api-0", "api-1"), strict=True):

                    async def healthz(api: httpx.AsyncClient = api, name: str = name) -> int:
                        _alive(procs[name], tmp_path / f"{name}.log")
                        try:
                            return (await api.get("/healthz")).status_code
                        except httpx.TransportError:
                            return 0

                    await eventually(healthz, lambda status: status == 200, timeout=60)
                yield {"apis": apis, "ports": ports, "identities": identities, "procs": procs}
            finally:
                for api in apis:
                    await api.aclose()


def payment(customer: str, n: int) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(
        {
            "id": f"{customer}-evt-{n}",
            "type": "payment.succeeded",
            "customer_id": customer,
            "invoice_id": f"{customer}-inv-{n}",
            "amount_minor": 4900,
            "currency": "USD",
            "cadence": "monthly",
        }
    ).encode()
    return body, {"Tenure-Signature": sign(body, BILLING_SECRET), "Content-Type": "application/json"}


def _probe(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    argv = [sys.executable, "-m", "starter.healthcheck", *args]
    return subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=30)


@pytest.mark.timeout(240)  # ~20 s alone (SQLite; PostgreSQL about the same); four processes start under load
async def test_two_workers_and_two_apis_apply_every_event_once(dev_env, db_url, program, task_queue, uid, tmp_path):
    t0 = time.monotonic()
    client = dev_env.client
    env = {k: v for k, v in os.environ.items() if not k.startswith("TENURE_")} | {
        "PYTHONUNBUFFERED": "1",
        "TENURE_ENVIRONMENT": "development",
        "TENURE_TEMPORAL_ADDRESS": client.service_client.config.target_host,
        "TENURE_TEMPORAL_NAMESPACE": client.namespace,
        "TENURE_TASK_QUEUE": task_queue,
        "TENURE_DATABASE_URL": db_url,
        "TENURE_DATA_DIR": str(tmp_path),
        "TENURE_API_KEYS": f"{API_KEY}:app",
        "TENURE_BILLING_WEBHOOK_SECRET": BILLING_SECRET,
    }
    customers = [f"scale-{uid}-{i}" for i in range(CUSTOMERS)]
    sends = [(c, n) for n in range(PAYMENTS_EACH) for c in customers]
    deliveries = [(i % 2, c, n) for i, (c, n) in enumerate(sends)]
    deliveries += [((i + 1) % 2, c, n) for i, (c, n) in enumerate(sends) if i % 5 == 0]  # again, the other API
    engine = create_engine_for(db_url)
    try:
        async with cluster(client, env, task_queue, tmp_path) as running:
            started = time.monotonic()
            answered: Counter[int] = Counter()
            gate = asyncio.Semaphore(IN_FLIGHT)

            async def deliver(api: int, customer: str, n: int) -> None:
                body, headers = payment(customer, n)
                async with gate:
                    r = await running["apis"][api].post("/webhooks/billing", content=body, headers=headers)
                assert r.status_code == 200, r.text
                answered[api] += 1

            await asyncio.gather(*(deliver(*d) for d in deliveries))
            sent_in = time.monotonic() - started

            def earned() -> dict[str, list[str]]:
                refs: dict[str, list[str]] = {c: [] for c in customers}
                for c in customers:
                    refs[c] = [row["ref"] for row in ledger_rows(engine, c) if row["kind"] == "earn"]
                return refs

            refs = await eventually(
                lambda: asyncio.to_thread(earned),
                lambda refs: sum(map(len, refs.values())) >= len(sends),
                timeout=60,
            )
            await asyncio.sleep(0.5)  # anything applied twice would land now
            refs = await asyncio.to_thread(earned)

            # every payment applied exactly once, duplicates and all
            for c in customers:
                assert Counter(refs[c]) == Counter(f"{c}-inv-{n}" for n in range(PAYMENTS_EACH)), (c, refs[c])
            rows = await reconcile(TenureClient(client, program, task_queue), engine)
            assert [r.customer_id for r in rows] == sorted(customers)
            assert all(r.ok for r in rows), [(r.customer_id, r.problems) for r in rows if not r.ok]

            # the load was spread: both APIs answered, both workers ran workflow tasks
            assert answered == {0: len(deliveries) // 2, 1: len(deliveries) - len(deliveries) // 2}, answered
            tasks_by: Counter[str] = Counter()
            for c in customers:
                async for event in client.get_workflow_handle(workflow_id(c)).fetch_history_events():
                    if event.HasField("workflow_task_started_event_attributes"):
                        tasks_by[event.workflow_task_started_event_attributes.identity] += 1
            assert set(tasks_by) == running["identities"], tasks_by
            for name, proc in running["procs"].items():
                _alive(proc, tmp_path / f"{name}.log")

            # and the containers' health probes pass against the live processes
            for i, port in enumerate(running["ports"]):
                assert _probe("api", env=env | {"TENURE_API_PORT": str(port)}).returncode == 0
                health = env | {"TENURE_WORKER_HEALTH_FILE": str(tmp_path / f"w{i}.alive")}
                assert _probe("worker", env=health).returncode == 0
            print(
                f"\n{len(deliveries)} deliveries in {sent_in:.1f} s over 2 APIs {dict(answered)}; "
                f"workflow tasks by worker {dict(tasks_by)}; {time.monotonic() - t0:.1f} s in all"
            )
    finally:
        engine.dispose()
