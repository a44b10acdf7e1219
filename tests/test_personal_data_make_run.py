"""What the auditor checked, on `make run` itself: after a journey with an email and a name, neither is in
the dev server's database file, in an exported history, or in the logs; staff read them through the
codec endpoint the Temporal UI is given, and nobody else does.

Runs `python -m starter.supervisor` as `make run` does (its own dev server with its SQLite file in a
temporary data folder, the worker, the API), with no payload key configured: it makes a development key.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import stat
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from google.protobuf import json_format
from temporalio.api.common.v1 import Payloads
from temporalio.client import WorkflowHistory

from domain.journey import workflow_id
from starter.ingress.generic_billing import sign
from storage.engine import create_engine_for
from tests.codec_kit import found, free_port
from tests.journey_kit import eventually

ROOT = Path(__file__).resolve().parent.parent
SECRET = "billing-secret-for-the-make-run-test"
EMAIL, NAME = "zelda.quarrington@example.org", "Zelda Quarrington"


def make_run_env(data: Path, grpc: int, ui: int, api: int, api_keys: str, secret: str) -> dict[str, str]:
    """`make run`'s environment as a user's shell gives it (none of the test run's own TENURE_ settings):
    its ports, data folder, API keys and billing secret; wide lines for its panel."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TENURE_")}
    return env | {
        "TENURE_PROGRAM_PATH": str(ROOT / "program.toml"),
        "TENURE_TEMPORAL_ADDRESS": f"127.0.0.1:{grpc}",
        "TENURE_UI_PORT": str(ui),
        "TENURE_API_PORT": str(api),
        "TENURE_DATA_DIR": str(data),
        "TENURE_API_KEYS": api_keys,
        "TENURE_BILLING_WEBHOOK_SECRET": secret,
        "COLUMNS": "250",
    }


async def api_healthy(http: httpx.AsyncClient, api: int) -> None:
    """Until the API `make run` started answers /healthz with 200 (its process starts after the panel)."""

    async def health() -> int:
        try:
            return (await http.get(f"http://127.0.0.1:{api}/healthz")).status_code
        except httpx.TransportError as e:  # the API process is still starting
            raise AssertionError(f"the API does not answer yet: {e}") from None

    await eventually(health, lambda status: status == 200, timeout=60)


class MakeRun:
    """`python -m starter.supervisor` in a process of its own; its output (and its children's) collected."""

    def __init__(self, env: dict[str, str]):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "starter.supervisor"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    async def wait_for(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.output:
            assert self.proc.poll() is None, f"make run exited with {self.proc.returncode}:\n{self.output}"
            assert time.monotonic() < deadline, f"no {text!r} within {timeout:.0f} s:\n{self.output}"
            await asyncio.sleep(0.2)

    def stop(self) -> int:
        """Ctrl-C, as a user stops it; the supervisor stops its children in order."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.send_signal(signal.SIGTERM)
                self.proc.wait(timeout=30)
        self._reader.join(timeout=10)
        return self.proc.returncode


def temporal(*args: str) -> str:
    proc = subprocess.run([str(Path(sys.executable).parent / "temporal"), *args], capture_output=True, text=True)
    assert proc.returncode == 0, f"temporal {' '.join(args)}:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


@pytest.mark.devserver
@pytest.mark.timeout(300)  # a dev server, a worker and an API on shared cores; ~25 s alone
async def test_make_run_keeps_personal_data_out_of_temporal(tmp_path):
    grpc, ui, api = free_port(), free_port(), free_port()
    data = tmp_path / "data"
    env = make_run_env(data, grpc, ui, api, "k-sup:support:maria,k-app:app:billing", SECRET)
    cid = f"cus_pd_{uuid.uuid4().hex[:8]}"
    wid = workflow_id(cid)
    codec = f"http://127.0.0.1:{api}/codec"
    address = f"127.0.0.1:{grpc}"
    run = MakeRun(env)
    try:
        await run.wait_for("Tenure is running", timeout=180)
        # the development key: made now, private, announced
        key_file = data / "payload-keys"
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        assert "created a development key" in run.output and codec in run.output, run.output
        assert f"http://127.0.0.1:{api}/console" in run.output, "make run prints the console's address"

        async with httpx.AsyncClient(timeout=30) as http:
            # the Temporal UI is told where to decode
            settings = (await http.get(f"http://127.0.0.1:{ui}/api/v1/settings")).json()
            assert settings["Codec"]["Endpoint"] == codec

            # a journey with an email and a name: signed up, then welcomed by email (the outbox)
            await api_healthy(http, api)
            body = json.dumps(
                {"id": "evt_pd_1", "type": "customer.created", "customer_id": cid, "email": EMAIL, "name": NAME}
            ).encode()
            sent = await http.post(
                f"http://127.0.0.1:{api}/webhooks/billing",
                content=body,
                headers={"Tenure-Signature": sign(body, SECRET), "Content-Type": "application/json"},
            )
            assert sent.status_code in (200, 202), sent.text
            engine = create_engine_for(f"sqlite:///{data / 'tenure.db'}")
            try:

                def outbox() -> list:
                    with engine.connect() as conn:
                        query = sa.text("select purpose from emails where customer_id = :c and status = 'outbox'")
                        return list(conn.execute(query, {"c": cid}).scalars())

                await eventually(lambda: asyncio.to_thread(outbox), bool, timeout=60)
            finally:
                engine.dispose()

            # the journey is filterable by its search attributes, registered by make run (no personal data)
            query = f"TenureStatus = 'active' AND TenureTier = 'member' AND WorkflowId = '{wid}'"
            await eventually(
                lambda: asyncio.to_thread(temporal, "workflow", "list", "--query", query, "--address", address),
                lambda out: wid in out,
                timeout=30,
            )
            assert (await http.get(f"http://127.0.0.1:{api}/console/login")).status_code == 200

            # an exported history holds ciphertext only
            exported = await asyncio.to_thread(
                temporal, "workflow", "show", "-w", wid, "-o", "json", "--address", address
            )
            assert wid in exported
            assert not found(EMAIL, exported.encode()) and not found(NAME, exported.encode())
            history = WorkflowHistory.from_json(wid, exported)
            signup = next(
                e.workflow_execution_signaled_event_attributes.input
                for e in history.events
                if e.HasField("workflow_execution_signaled_event_attributes")
            )
            wire = json_format.MessageToDict(Payloads(payloads=signup.payloads))

            # staff decode it through the codec endpoint, from the UI's origin too; nobody else does
            preflight = await http.options(
                f"{codec}/decode",
                headers={
                    "Origin": f"http://127.0.0.1:{ui}",
                    "Access-Control-Request-Method": "POST",
                    "Access-Control-Request-Headers": "authorization,content-type,x-namespace",
                },
            )
            assert preflight.headers.get("access-control-allow-origin") == f"http://127.0.0.1:{ui}", preflight.text
            decoded = await http.post(
                f"{codec}/decode", json=wire, headers={"Authorization": "Bearer k-sup", "X-Namespace": "default"}
            )
            assert decoded.status_code == 200 and found(EMAIL, decoded.content) and found(NAME, decoded.content)
            assert (await http.post(f"{codec}/decode", json=wire)).status_code == 401
            assert (await http.post(f"{codec}/decode", json=wire, headers={"X-Api-Key": "k-app"})).status_code == 403

        # what the README shows: the temporal CLI through the codec endpoint reads the history
        readable = await asyncio.to_thread(
            temporal, "workflow", "show", "-w", wid, "--detailed", "--address", address,
            "--codec-endpoint", codec, "--codec-auth", "Bearer k-sup",
        )  # fmt: skip
        assert EMAIL in readable and NAME in readable, readable[-3000:]
    finally:
        code = run.stop()
    assert code == 0, run.output

    # the dev server's database: the customer id is there in plain text (the scan sees plain text), the
    # email and the name are not
    database = b"".join(p.read_bytes() for p in sorted(data.glob("temporal.db*")))
    assert found(cid, database), "the scan must see what the server stores in plain text"
    assert not found(EMAIL, database), "the email is in temporal.db"
    assert not found(NAME, database), "the name is in temporal.db"

    # the logs of the worker and the API: the outbox line names the customer, never the address
    assert "outbox (no SendGrid key)" in run.output and cid in run.output, run.output
    assert EMAIL not in run.output and NAME not in run.output and "example.org" not in run.output, run.output
