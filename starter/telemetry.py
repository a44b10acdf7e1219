"""The worker's Prometheus endpoint: the Temporal SDK's runtime serves its own metrics (schedule-to-start
latency, task slots, sticky cache, polls) and Tenure's business counters (activities/metrics.py) on
TENURE_WORKER_METRICS_ADDRESS. The API serves its own on `/metrics` (starter/api/metrics.py)."""

from __future__ import annotations

from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from activities.metrics import FULL_COLLECTIONS, LAG_BUCKETS, LEDGER_LAG, PAUSE_BUCKETS
from settings import Settings


def worker_runtime(settings: Settings) -> Runtime | None:
    """A runtime serving Prometheus metrics on the configured address, or None (the SDK's default runtime)."""
    if not settings.worker_metrics_address:
        return None
    return Runtime(
        telemetry=TelemetryConfig(
            metrics=PrometheusConfig(
                bind_address=settings.worker_metrics_address,
                histogram_bucket_overrides={LEDGER_LAG: list(LAG_BUCKETS), FULL_COLLECTIONS: list(PAUSE_BUCKETS)},
            )
        )
    )
