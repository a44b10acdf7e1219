"""`make run` says where its metrics are, both answer Prometheus text with Temporal's and Tenure's metrics after
a payment went through, and the worker it started made its deployment version current. With TENURE_TRACING=console
the worker and the API print the payment's spans (the production wiring of tests/test_tracing.py)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from temporalio.client import Client

from starter.deployment import current_version
from starter.ingress.generic_billing import sign
from storage.engine import create_engine_for
from tests.codec_kit import free_port
from tests.journey_kit import eventually
from tests.test_personal_data_make_run import MakeRun, api_healthy, make_run_env

ROOT = Path(__file__).resolve().parent.parent
SECRET = "billing-secret-for-the-metrics-test"


def _samples(text: str) -> dict[str, float]:
    """`name{labels}` -> value, of every sample line."""
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            out[key] = float(value)
    return out


def _names(samples: dict[str, float]) -> set[str]:
    return {key.split("{", 1)[0] for key in samples}


async def _async(value):
    return value


@pytest.mark.devserver
@pytest.mark.timeout(300)  # a dev server, a worker and an API on shared cores
async def test_make_run_serves_worker_and_api_metrics(tmp_path):
    grpc, ui, api, worker_metrics = free_port(), free_port(), free_port(), free_port()
    data = tmp_path / "data"
    env = make_run_env(data, grpc, ui, api, "k-app:app:billing", SECRET)
    env |= {
        "TENURE_WORKER_METRICS_ADDRESS": f"127.0.0.1:{worker_metrics}",
        "TENURE_TRACING": "console",
    }
    worker_url, api_url = f"http://127.0.0.1:{worker_metrics}/metrics", f"http://127.0.0.1:{api}/metrics"
    run = MakeRun(env)
    try:
        await run.wait_for("Tenure is running", timeout=180)
        assert worker_url in run.output and api_url in run.output, run.output
        assert "version tenure.dev" in run.output, run.output
        # the worker it started has the allocator's settings in its environment (glibc reads them at start)
        children = Path(f"/proc/{run.proc.pid}/task/{run.proc.pid}/children").read_text().split()
        commands = {pid: Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0") for pid in children}
        worker_pid = next(pid for pid, argv in commands.items() if any(a.endswith(b"worker.py") for a in argv))
        worker_environ = Path(f"/proc/{worker_pid}/environ").read_bytes().split(b"\0")
        assert b"MALLOC_ARENA_MAX=2" in worker_environ

        async with httpx.AsyncClient(timeout=30) as http:
            await api_healthy(http, api)
            body = json.dumps(
                {
                    "id": "evt_metrics_1",
                    "type": "payment.succeeded",
                    "customer_id": "cus_metrics",
                    "invoice_id": "in_metrics_1",
                    "amount_minor": 4900,
                    "currency": "USD",
                    "cadence": "monthly",
                }
            ).encode()
            headers = {"Tenure-Signature": sign(body, SECRET), "Content-Type": "application/json"}
            sent = await http.post(f"http://127.0.0.1:{api}/webhooks/billing", content=body, headers=headers)
            assert sent.status_code == 200, sent.text
            unsigned = await http.post(f"http://127.0.0.1:{api}/webhooks/billing", content=body)
            assert unsigned.status_code == 401

            engine = create_engine_for(f"sqlite:///{data / 'tenure.db'}")
            try:

                def ledger() -> int:
                    with engine.connect() as conn:
                        query = sa.text("select count(*) from ledger_entries where customer_id = 'cus_metrics'")
                        return conn.execute(query).scalar_one()

                await eventually(lambda: asyncio.to_thread(ledger), lambda n: n >= 1, timeout=60)
            finally:
                engine.dispose()

            # two redemptions: more points than the member has (refused, by code), and the balance (redeemed)
            outcomes = []
            for key, points in (("too-many", 100_000), ("all", 100)):
                answer = await http.post(
                    f"http://127.0.0.1:{api}/members/cus_metrics/redemptions",
                    json={"points": points},
                    headers={"Authorization": "Bearer k-app", "Idempotency-Key": key},
                )
                assert answer.status_code in (200, 409, 422), answer.text
                outcomes.append("redeemed" if answer.status_code == 200 else answer.json()["detail"]["code"])
            assert outcomes[0] == "insufficient_points", outcomes

            async def scrape(url: str) -> dict[str, float]:
                answer = await http.get(url)
                assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
                return _samples(answer.text)

            worker = await eventually(
                lambda: scrape(worker_url),
                lambda s: "tenure_ledger_rows_written_total" in _names(s),
                timeout=30,
            )
            names = _names(worker)
            for temporal in (
                "temporal_workflow_task_schedule_to_start_latency_bucket",
                "temporal_worker_task_slots_available",
                "temporal_sticky_cache_size",
                "temporal_workflow_task_queue_poll_succeed",
            ):
                assert temporal in names, f"{temporal} not in {sorted(names)}"
            assert "tenure_ledger_write_lag_seconds_bucket" in names
            assert sum(v for k, v in worker.items() if k.startswith("tenure_ledger_rows_written_total")) >= 1

            served = await scrape(api_url)
            assert served['tenure_webhooks_total{outcome="accepted",source="billing"}'] == 1
            assert served['tenure_webhooks_total{outcome="unauthorized",source="billing"}'] == 1
            assert served['tenure_events_signalled_total{source="billing",type="payment_succeeded"}'] == 1
            assert served['tenure_api_answer_seconds_count{method="POST",route="/webhooks/billing"}'] == 2
            assert "process_cpu_seconds_total" in served
            for outcome in outcomes:
                assert served[f'tenure_redemptions_total{{outcome="{outcome}"}}'] == outcomes.count(outcome), outcome

        def traced(text: str) -> bool:
            return text in run.output

        for span in (
            '"name": "POST /webhooks/billing"',
            '"name": "RunActivity:record_ledger_and_profile"',  # rules version 4: the ledger with the profile
            '"name": "INSERT"',
        ):
            await eventually(lambda span=span: _async(traced(span)), bool, timeout=30)
        client = await Client.connect(f"127.0.0.1:{grpc}")
        assert await current_version(client, "tenure") == "dev", "make run made its worker's version current"
    finally:
        run.stop()
