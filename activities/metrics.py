"""The business counters operators watch, counted where the work is done (the activities).

They go through the Temporal SDK's meter, so the worker serves them on the same Prometheus endpoint as the
SDK's own metrics (TENURE_WORKER_METRICS_ADDRESS; README "Operating Tenure", Metrics): one scrape target per
worker. Until `use_meter` is called (the worker does, from its client's runtime) they count nowhere.

Labels are closed vocabularies (a status, an outcome), never a customer id. Any code may count campaign
progress with `count_campaign_members("applied")`: in the worker it lands on the worker's endpoint, in any
other process (the API, which serves `/metrics`) on prometheus_client's registry.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache

import prometheus_client
from temporalio.common import MetricCounter, MetricHistogramFloat, MetricMeter

_meter: MetricMeter = MetricMeter.noop
_in_worker = False  # use_meter was called: this process is a worker

# The names, for deploy/ and the test that checks the dashboards refer only to what is exported.
LEDGER_ROWS = "tenure_ledger_rows_written_total"
LEDGER_SET_ASIDE = "tenure_ledger_entries_set_aside_total"
LEDGER_LAG = "tenure_ledger_write_lag_seconds"
EMAILS = "tenure_emails_total"
REJECTED_EVENTS = "tenure_events_rejected_total"
CAMPAIGN_MEMBERS = "tenure_campaign_members_total"
FULL_COLLECTIONS = "tenure_worker_gc_full_collection_seconds"
NAMES = (LEDGER_ROWS, LEDGER_SET_ASIDE, LEDGER_LAG, EMAILS, REJECTED_EVENTS, CAMPAIGN_MEMBERS, FULL_COLLECTIONS)
# A ledger entry is written seconds after its event, or minutes when the database was away.
LAG_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800)
# A full collection of the worker's heap: tenths of a second per few thousand cached journeys; at 2 s the
# SDK fails the workflow tasks in flight (starter/gc_tuning.py).
PAUSE_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 1.5, 2, 3, 5, 10)


def use_meter(meter: MetricMeter) -> None:
    """Count on `meter` from now on (the worker's runtime's meter)."""
    global _meter, _in_worker
    _meter = meter
    _in_worker = meter is not MetricMeter.noop
    _counter.cache_clear()
    _histogram.cache_clear()


@lru_cache
def _counter(name: str, description: str) -> MetricCounter:
    return _meter.create_counter(name, description)


@lru_cache
def _histogram(name: str, description: str) -> MetricHistogramFloat:
    return _meter.create_histogram_float(name, description, "s")


def count_ledger_write(inserted: int, set_aside: int, entry_times: list[datetime]) -> None:
    """A ledger write: rows new in the table, entries set aside for good, and how long after its event
    each entry reached the ledger (the journey's outbox plus the write)."""
    if inserted:
        _counter(LEDGER_ROWS, "Ledger rows written (retries that found the row already there not counted).").add(
            inserted
        )
    if set_aside:
        _counter(LEDGER_SET_ASIDE, "Ledger entries the ledger can never take, set aside in quarantine.").add(set_aside)
    lag = _histogram(LEDGER_LAG, "Seconds from a ledger entry's event to its write.")
    now = datetime.now(UTC)
    for at in entry_times:
        lag.record(max(0.0, (now - (at if at.tzinfo else at.replace(tzinfo=UTC))).total_seconds()))


def record_full_collection(seconds: float) -> None:
    """How long one full (generation 2) collection of the worker's heap held the GIL."""
    _histogram(FULL_COLLECTIONS, "Seconds each full garbage collection of the worker paused it.").record(seconds)


def count_email(status: str) -> None:
    """One email's outcome: sent, outbox, rejected, duplicate."""
    _counter(EMAILS, "Emails by status (sent, outbox, rejected, duplicate).").add(1, {"status": status})


def count_rejected_events(n: int) -> None:
    """Events a journey rejected (quarantined: undecodable, too old, refused by the rules)."""
    if n:
        _counter(REJECTED_EVENTS, "Events journeys rejected and recorded in quarantine.").add(n)


def count_campaign_members(outcome: str, n: int = 1) -> None:
    """Campaign progress: members a campaign reached, by outcome (e.g. applied, repeated, refused, no_journey)."""
    if not n:
        return
    if _in_worker:
        _counter(CAMPAIGN_MEMBERS, "Campaign members by outcome.").add(n, {"outcome": outcome})
    else:
        _CAMPAIGN_MEMBERS_ELSEWHERE.labels(outcome).inc(n)


_CAMPAIGN_MEMBERS_ELSEWHERE = prometheus_client.Counter(
    CAMPAIGN_MEMBERS.removesuffix("_total"), "Campaign members by outcome.", ["outcome"]
)
