"""Tenure as `make run` runs it, in processes a test may kill -9, and a webhook sender that retries as a real one does.

- `TenureProcesses`: the Temporal dev server (the argv of `starter.supervisor`, its SQLite file in a
  temporary data folder, so a restart finds every journey), the worker (`python worker.py`) and the
  API (`python -m uvicorn starter.api:app`), each in its own process group on free ports. `kill`
  sends SIGKILL to one of them (no chance to drain or flush); `start_*` brings it back on the same
  port and the same data; `stop` kills whatever is left, and an `atexit` hook does the same should
  the test process end before a fixture finalizer could.
- `Sender`: POSTs signed webhooks (Stripe `invoice.paid`, generic billing `payment.succeeded`)
  concurrently and keeps each one until it is answered 2xx: on a 503 or a failed or dropped
  connection it tries again after a short backoff, with the same event id and the same body,
  signed afresh — what Stripe and any decent sender do. Any other answer is a refusal, kept for
  the test to report. This loop is the sender under simulation, not a test waiting for a condition.
- `check_exactly_once`: every acknowledged event has exactly one `earn` row in the SQL ledger, no
  row comes from an event never sent, every journey has handed all its entries to the ledger, and
  the real `tenure reconcile` passes for every customer.
"""

from __future__ import annotations

import asyncio
import atexit
import itertools
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import sqlalchemy as sa

from bench.procs import free_port
from settings import Settings
from starter.client import TenureClient
from starter.connect import connect
from starter.ingress import generic_billing
from starter.supervisor.children import ROOT, Child
from starter.supervisor.supervise import dev_server
from starter.supervisor.temporal import find_binary, wait_for_temporal
from storage.engine import create_engine_for
from storage.migrate import db_upgrade
from storage.schema import ledger_entries
from tests.api_kit import BILLING_SECRET, STRIPE_SECRET, invoice_paid_event, stripe_body, stripe_headers
from tests.journey_kit import eventually

STARTUP_TIMEOUT = 60.0  # seconds for a process to answer (the dev server creates its SQLite schema first)
WORKER_READY = "worker on "  # worker.py logs this line once connected, right before it polls
# The API's bound on a signal (TENURE_API_TEMPORAL_TIMEOUT, 5 s by default), shortened as in
# tests/test_api_outage.py: a dev server down for longer than this is answered 503, not waited out.
API_TEMPORAL_TIMEOUT = 2.0
LANDING_TIMEOUT = 60.0  # acknowledged → in the ledger, after a fault: task timeouts (10 s) and retries

_started: list[Child] = []  # every child of this process, for the atexit backstop


def _kill_group(child: Child) -> None:
    """SIGKILL the child's process group (its own: `process_group=0`) and reap it."""
    child.signal(signal.SIGKILL)
    if child.proc is not None:
        try:
            child.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL cannot be ignored
            pass
    child.close_log()


@atexit.register
def _kill_leftovers() -> None:
    for child in _started:
        _kill_group(child)


# --- the processes ---------------------------------------------------------------------------


@dataclass
class TenureProcesses:
    """The dev server, the worker and the API of one test, in `data_dir`, each restartable as it was."""

    data_dir: Path
    server: Child
    worker: Child
    api: Child
    address: str
    api_url: str
    env: dict[str, str]

    @classmethod
    def create(cls, data_dir: Path, temporal: str) -> TenureProcesses:
        """Nothing runs yet; `temporal` is the path of the `temporal` binary (fixture `temporal_cli`)."""
        grpc_port, ui_port, api_port = free_port(), free_port(), free_port()
        address = f"127.0.0.1:{grpc_port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("TENURE_")}
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # as deployed: the sandbox reuses compiled modules
        env.update(
            PYTHONUNBUFFERED="1",
            TENURE_ENVIRONMENT="development",
            TENURE_DATA_DIR=str(data_dir),
            TENURE_TEMPORAL_ADDRESS=address,
            TENURE_STRIPE_WEBHOOK_SECRET=STRIPE_SECRET,
            TENURE_BILLING_WEBHOOK_SECRET=BILLING_SECRET,
            TENURE_API_TEMPORAL_TIMEOUT=str(API_TEMPORAL_TIMEOUT),
        )
        settings = Settings(data_dir=data_dir, temporal_address=address)
        uvicorn = [sys.executable, "-m", "uvicorn", "starter.api:app", "--host", "127.0.0.1", "--port", str(api_port)]
        return cls(
            data_dir=data_dir,
            server=dev_server(temporal, settings, "127.0.0.1", grpc_port, ui_port, data_dir),
            worker=Child("worker", [sys.executable, str(ROOT / "worker.py")], signal.SIGINT, data_dir / "worker.log"),
            api=Child("api", uvicorn, signal.SIGINT, data_dir / "api.log"),
            address=address,
            api_url=f"http://127.0.0.1:{api_port}",
            env=env,
        )

    def db_url(self) -> str:
        return Settings(data_dir=self.data_dir).db_url()

    async def start(self) -> None:
        """Everything, in `make run`'s order: the ledger schema, Temporal, then the worker and the API."""
        db_upgrade(Settings(data_dir=self.data_dir))
        await self.start_server()
        await asyncio.gather(self.start_worker(), self.start_api())

    def _launch(self, child: Child) -> None:
        child.close_log()
        child.start(self.env)
        if child not in _started:
            _started.append(child)

    def _check_alive(self, child: Child) -> bool:
        if not child.alive():
            raise RuntimeError(f"{child.name} exited with status {child.returncode()}:\n{child.log_tail(30)}")
        return True

    async def start_server(self) -> None:
        self._launch(self.server)
        await wait_for_temporal(
            Settings(temporal_address=self.address),
            self.address,
            STARTUP_TIMEOUT,
            lambda: self._check_alive(self.server),
        )

    async def start_worker(self) -> None:
        """The worker, once it logs that it polls (a restart appends to the same log: count the lines)."""
        log = self.worker.log_path
        assert log is not None
        before = log.read_text(errors="replace").count(WORKER_READY) if log.exists() else 0
        self._launch(self.worker)
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while log.read_text(errors="replace").count(WORKER_READY) <= before:
            self._check_alive(self.worker)
            if time.monotonic() > deadline:
                raise TimeoutError(f"the worker did not start within {STARTUP_TIMEOUT:.0f}s:\n{self.worker.log_tail()}")
            await asyncio.sleep(0.1)

    async def start_api(self) -> None:
        """The API, once uvicorn answers at all (503 from /healthz is an answer: Temporal may be down)."""
        self._launch(self.api)
        deadline = time.monotonic() + STARTUP_TIMEOUT
        async with httpx.AsyncClient(base_url=self.api_url, timeout=2) as http:
            while True:
                self._check_alive(self.api)
                try:
                    await http.get("/healthz")
                    return
                except httpx.TransportError:
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"the API did not answer within {STARTUP_TIMEOUT:.0f}s") from None
                await asyncio.sleep(0.1)

    async def restart(self, child: Child) -> None:
        starts = {"temporal": self.start_server, "worker": self.start_worker, "api": self.start_api}
        await starts[child.name]()

    def kill(self, child: Child) -> None:
        """kill -9: no signal handler runs, nothing is drained or flushed."""
        assert child.alive(), f"{child.name} was not running"
        _kill_group(child)

    def stop(self) -> None:
        for child in (self.api, self.worker, self.server):
            _kill_group(child)

    def running_pids(self) -> list[int]:
        return [c.proc.pid for c in (self.server, self.worker, self.api) if c.proc is not None and c.alive()]


# --- the events ------------------------------------------------------------------------------

STRIPE_PATH = "/webhooks/stripe"
BILLING_PATH = "/webhooks/billing"


@dataclass(frozen=True)
class Webhook:
    """One payment as its sender keeps it: the same event id and body on every attempt."""

    customer_id: str
    event_id: str
    invoice_id: str
    path: str
    body: bytes

    def headers(self) -> dict[str, str]:
        """Signed now: each attempt carries a fresh timestamp, as Stripe signs each retry."""
        if self.path == STRIPE_PATH:
            return stripe_headers(self.body)
        return {
            generic_billing.SIGNATURE_HEADER: generic_billing.sign(self.body, BILLING_SECRET),
            "Content-Type": "application/json",
        }


def payments(prefix: str, events: int, customers: int) -> list[Webhook]:
    """`events` payments dealt round-robin over `customers`, every other one a Stripe `invoice.paid`,
    the rest generic billing `payment.succeeded`; unique event and invoice ids."""
    out = []
    for i in range(events):
        customer = f"cus_{prefix}_{i % customers:02d}"
        invoice = f"in_{prefix}_{i:04d}"
        if i % 2 == 0:
            event_id = f"evt_{prefix}_{i:04d}"
            body = stripe_body(invoice_paid_event(customer, 4900, invoice_id=invoice, event_id=event_id))
            out.append(Webhook(customer, event_id, invoice, STRIPE_PATH, body))
        else:
            event_id = f"bill_{prefix}_{i:04d}"
            billing = {
                "id": event_id,
                "type": "payment.succeeded",
                "customer_id": customer,
                "invoice_id": invoice,
                "amount_minor": 4900,
                "currency": "USD",
                "cadence": "monthly",
            }
            out.append(Webhook(customer, event_id, invoice, BILLING_PATH, json.dumps(billing).encode()))
    return out


# --- the sender ------------------------------------------------------------------------------


@dataclass
class Sender:
    """Webhooks POSTed `concurrency` at a time, each until a 2xx (see the module docstring)."""

    base_url: str
    concurrency: int = 16
    patience: float = 60.0  # seconds a webhook is retried before the sender gives up on it
    acknowledged: dict[str, Webhook] = field(default_factory=dict)
    attempts: int = 0
    retried_because: Counter[str] = field(default_factory=Counter)  # "503", "ConnectError", "ReadError", ...
    refusals: list[str] = field(default_factory=list)
    _thresholds: list[tuple[int, asyncio.Event]] = field(default_factory=list)

    def when_acknowledged(self, count: int) -> asyncio.Event:
        """An event set once `count` webhooks are acknowledged."""
        reached = asyncio.Event()
        self._thresholds.append((count, reached))
        self._note_progress()
        return reached

    def _note_progress(self) -> None:
        for count, reached in self._thresholds:
            if len(self.acknowledged) >= count:
                reached.set()

    async def send(self, webhooks: list[Webhook]) -> None:
        queue: asyncio.Queue[Webhook] = asyncio.Queue()
        for w in webhooks:
            queue.put_nowait(w)

        async def lane(http: httpx.AsyncClient) -> None:
            while not queue.empty():
                await self._deliver(http, queue.get_nowait())

        async with httpx.AsyncClient(base_url=self.base_url, timeout=10) as http:
            async with asyncio.TaskGroup() as tg:
                for _ in range(self.concurrency):
                    tg.create_task(lane(http))

    async def _deliver(self, http: httpx.AsyncClient, w: Webhook) -> None:
        give_up = time.monotonic() + self.patience
        for attempt in itertools.count():
            self.attempts += 1
            try:
                r = await http.post(w.path, content=w.body, headers=w.headers())
            except httpx.TransportError as e:  # refused, reset, dropped mid-answer, timed out
                why = type(e).__name__
            else:
                if r.is_success:
                    self.acknowledged[w.event_id] = w
                    self._note_progress()
                    return
                if r.status_code != 503:
                    self.refusals.append(f"{w.event_id}: HTTP {r.status_code} {r.text[:300]}")
                    return
                why = "503"
            self.retried_because[why] += 1
            if time.monotonic() > give_up:
                self.refusals.append(f"{w.event_id}: gave up after {attempt + 1} attempts, last: {why}")
                return
            await asyncio.sleep(min(1.0, 0.05 * 2**attempt))


# --- the checks ------------------------------------------------------------------------------


def earn_refs(db_url: str) -> Counter[str]:
    """How many `earn` rows each paid invoice (the row's ref) has in the SQL ledger; earns without a ref
    (badges: 12 payments make a "loyal year") are the journey's own, checked by reconcile."""
    t = ledger_entries
    engine = create_engine_for(db_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.select(t.c.ref).where(t.c.kind == "earn", t.c.ref.is_not(None)))
            return Counter(ref for (ref,) in rows)
    finally:
        engine.dispose()


def ledger_size(db_url: str) -> int:
    engine = create_engine_for(db_url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(ledger_entries)).scalar_one()
    finally:
        engine.dispose()


def run_reconcile(processes: TenureProcesses) -> subprocess.CompletedProcess[str]:
    """The real `tenure reconcile` (the console script of this environment), on the test's data."""
    tenure = find_binary("tenure")
    assert tenure, "the `tenure` console script is missing: make venv"
    return subprocess.run(
        [tenure, "reconcile"],
        env=processes.env | {"COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def missing_from_ledger(db_url: str, invoices: set[str]) -> list[str]:
    return sorted(invoices - set(earn_refs(db_url)))


async def unwritten_entries(tenure: TenureClient, customers: set[str]) -> dict[str, int]:
    """Per customer whose journey still holds entries the ledger has not been sent, how many."""
    views = await asyncio.gather(*(tenure.reconcile_view(c) for c in sorted(customers)))
    return {c: len(v.unwritten) for c, v in zip(sorted(customers), views, strict=True) if v.unwritten}


async def check_exactly_once(processes: TenureProcesses, sender: Sender, webhooks: list[Webhook]) -> None:
    """Every acknowledged payment in the ledger once, nothing that was not sent, and reconcile passes
    with every journey's entries written (so it compares whole ledgers, not "written so far")."""
    assert not sender.refusals, "answers other than 2xx or 503:\n" + "\n".join(sender.refusals[:20])
    assert len(sender.acknowledged) == len(webhooks), "every webhook is acknowledged in the end"
    wanted = {w.invoice_id for w in sender.acknowledged.values()}
    customers = {w.customer_id for w in webhooks}
    db_url = processes.db_url()
    started = time.monotonic()
    await eventually(
        lambda: asyncio.to_thread(missing_from_ledger, db_url, wanted), lambda missing: not missing, LANDING_TIMEOUT
    )
    print(f"all in the ledger {time.monotonic() - started:.1f} s after the last acknowledgement")
    tenure = TenureClient(await connect(Settings(temporal_address=processes.address)))
    await eventually(lambda: unwritten_entries(tenure, customers), lambda unwritten: not unwritten, LANDING_TIMEOUT)
    result = await asyncio.to_thread(run_reconcile, processes)
    assert result.returncode == 0, f"tenure reconcile failed:\n{result.stdout}\n{result.stderr}"
    assert f"✔ {len(customers)} customers reconcile" in result.stdout, result.stdout
    refs = await asyncio.to_thread(earn_refs, db_url)
    twice = {ref: n for ref, n in refs.items() if n != 1}
    assert not twice, f"payments in the ledger more than once: {twice}"
    assert set(refs) == wanted, f"ledger rows of payments never acknowledged: {set(refs) - wanted}"


async def burst_with_kill(
    processes: TenureProcesses, webhooks: list[Webhook], victim: Child, downtime: float, concurrency: int
) -> Sender:
    """Send every webhook; once a third are acknowledged, kill -9 `victim`, and `downtime` seconds later
    start it again (same port, same data) while the sender keeps going."""
    sender = Sender(processes.api_url, concurrency=concurrency)
    at_kill: dict[str, int] = {}

    async def kill_and_restart() -> None:
        await sender.when_acknowledged(len(webhooks) // 3).wait()
        processes.kill(victim)
        at_kill["acknowledged"] = len(sender.acknowledged)
        at_kill["ledger rows"] = await asyncio.to_thread(ledger_size, processes.db_url())
        await asyncio.sleep(downtime)
        await processes.restart(victim)

    started = time.monotonic()
    async with asyncio.TaskGroup() as tg:
        tg.create_task(sender.send(webhooks))
        tg.create_task(kill_and_restart())
    print(  # one line for the log (`pytest -rP`): how much went through, and how the fault showed
        f"{victim.name} killed: {len(sender.acknowledged)} acknowledged in {sender.attempts} attempts "
        f"over {time.monotonic() - started:.1f} s; "
        f"retried because {dict(sender.retried_because)}; at the kill: {at_kill}"
    )
    assert at_kill["acknowledged"] < len(webhooks), f"{victim.name} was killed mid-burst"
    return sender
