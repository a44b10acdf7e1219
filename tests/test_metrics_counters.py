"""The business counters (activities/metrics.py) reach the worker's Prometheus endpoint through the SDK runtime's
meter, with their labels; the API's webhook outcomes are named by status."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from activities import metrics
from settings import Settings
from starter.api.metrics import outcome_of
from starter.telemetry import worker_runtime
from tests.codec_kit import free_port
from tests.journey_kit import eventually
from tests.payload_key_for_tests import TEST_ONLY_PAYLOAD_KEYS

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def served():
    """The counters on a runtime serving Prometheus (as the worker's), put back to counting nowhere after."""
    address = f"127.0.0.1:{free_port()}"
    runtime = worker_runtime(Settings(worker_metrics_address=address))
    assert runtime is not None and worker_runtime(Settings()) is None
    metrics.use_meter(runtime.metric_meter)
    yield f"http://{address}/metrics"
    metrics.use_meter(metrics.MetricMeter.noop)


async def test_the_business_counters_reach_prometheus(served):
    metrics.count_ledger_write(2, 1, [datetime.now(UTC) - timedelta(seconds=4), datetime.now(UTC)])
    metrics.count_ledger_write(0, 0, [])  # a retry that found its rows: nothing
    metrics.count_email("sent")
    metrics.count_email("sent")
    metrics.count_email("rejected")
    metrics.count_rejected_events(3)
    metrics.count_campaign_members("sent", 5)
    metrics.count_campaign_members("skipped")
    metrics.record_full_collection(0.3)

    async def scrape() -> str:
        async with httpx.AsyncClient() as http:
            return (await http.get(served)).text

    text = await eventually(scrape, lambda t: "tenure_campaign_members_total" in t, timeout=10)
    value = _values(text)
    assert value["tenure_ledger_rows_written_total"] == 2
    assert value["tenure_ledger_entries_set_aside_total"] == 1
    assert value["tenure_ledger_write_lag_seconds_count"] == 2
    assert value['tenure_ledger_write_lag_seconds_bucket{le="1"}'] == 1  # the buckets the runtime was given
    assert value['tenure_ledger_write_lag_seconds_bucket{le="5"}'] == 2
    assert value['tenure_emails_total{status="sent"}'] == 2 and value['tenure_emails_total{status="rejected"}'] == 1
    assert value["tenure_events_rejected_total"] == 3
    assert value['tenure_campaign_members_total{outcome="sent"}'] == 5
    assert value['tenure_campaign_members_total{outcome="skipped"}'] == 1
    assert value['tenure_worker_gc_full_collection_seconds_bucket{le="0.25"}'] == 0  # its own buckets
    assert value['tenure_worker_gc_full_collection_seconds_bucket{le="0.5"}'] == 1
    served_names = {re.sub(r"_(bucket|count|sum)$", "", key.split("{")[0]) for key in value}
    assert set(metrics.NAMES) <= served_names


def _values(text: str) -> dict[str, float]:
    """`name{labels}` -> value, without the runtime's own `service_name` label."""
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, number = line.rpartition(" ")
            key = (
                re.sub(r'service_name="[^"]*"', "", key)
                .replace(",,", ",")
                .replace("{,", "{")
                .replace(",}", "}")
                .replace("{}", "")
            )
            out[key] = float(number)
    return out


def test_campaign_progress_counted_outside_a_worker_lands_on_the_apis_registry():
    from prometheus_client import REGISTRY

    def counted() -> float:
        return REGISTRY.get_sample_value("tenure_campaign_members_total", {"outcome": "no_journey"}) or 0.0

    metrics.use_meter(metrics.MetricMeter.noop)  # as in a process that built no worker (the API's)
    before = counted()
    metrics.count_campaign_members("no_journey", 2)
    assert counted() == before + 2


def test_webhook_outcomes_by_status():
    assert [outcome_of(s) for s in (200, 202, 400, 401, 403, 404, 413, 422, 503, 500)] == [
        "accepted", "accepted", "invalid", "unauthorized", "unauthorized", "refused", "too_large", "invalid",
        "unavailable", "error",
    ]  # fmt: skip


def test_a_worker_whose_metrics_address_is_taken_says_so(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        address = f"127.0.0.1:{taken.getsockname()[1]}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("TENURE_")} | {
            "TENURE_ENVIRONMENT": "development",
            "TENURE_DATA_DIR": str(tmp_path),
            "TENURE_PAYLOAD_KEYS": TEST_ONLY_PAYLOAD_KEYS,
            "TENURE_WORKER_METRICS_ADDRESS": address,
        }
        done = subprocess.run(
            [sys.executable, "worker.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
        )
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"TENURE_WORKER_METRICS_ADDRESS={address}: Failed starting Prometheus exporter" in done.stderr
