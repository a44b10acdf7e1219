"""Benchmark sizes: the defaults of `make bench`, BENCH_QUICK=1 for a smoke run, BENCH_* to override."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, fields, replace
from typing import Any


@dataclass(frozen=True)
class Sizes:
    customers: int = 400  # customers (journeys) each throughput phase spreads its events over
    events: int = 3000  # events per throughput phase (raw, HTTP, client)
    concurrency: int = 64  # requests in flight, the same for every throughput phase
    half_events: int = 1200  # events of the half-load (open-loop) latency phase
    memory_small: int = 1000  # open journeys for "RSS per 1,000 journeys" (the default cache size)
    memory_large: int = 20000  # open journeys for "RSS bounded"
    year_customers: int = 4  # busy customer-years simulated side by side on the time-skipping server
    year_months: int = 14  # months simulated per customer (>12 so lots expire)
    wal_compare: bool = True  # repeat raw + client phases on a dev server with SQLite WAL pragmas
    year_rounding: bool = True  # the busy year again with points.expiry_rounding = end_of_month
    postgres: bool = True  # the ledger in PostgreSQL too, when BENCH_POSTGRES_URL / TENURE_TEST_POSTGRES_URL is set
    campaign_members: int = 20000  # journeys a bonus campaign reaches (the fan-out phase); 0 skips it
    campaign_concurrency: int = 64  # journeys the campaign asks at once

    def describe(self) -> dict:
        return asdict(self)


QUICK = Sizes(
    customers=100,
    events=500,
    concurrency=32,
    half_events=200,
    memory_small=300,
    memory_large=1500,
    year_customers=2,
    year_months=13,
    wal_compare=False,
    campaign_members=2000,
)
TINY = Sizes(  # tests/test_bench_smoke.py
    customers=5,
    events=20,
    concurrency=4,
    half_events=10,
    memory_small=10,
    memory_large=20,
    year_customers=1,
    year_months=2,
    wal_compare=False,
    year_rounding=False,
    postgres=False,
    campaign_members=20,
    campaign_concurrency=8,
)


def from_env(env: dict[str, str] | None = None) -> Sizes:
    env = dict(os.environ if env is None else env)
    base = QUICK if env.get("BENCH_QUICK", "") not in ("", "0") else Sizes()
    over: dict[str, Any] = {}  # field name -> value, of the field's own type
    for f in fields(Sizes):
        raw = env.get(f"BENCH_{f.name.upper()}")
        if raw is None or raw == "":
            continue
        over[f.name] = raw not in ("0", "false", "no") if f.type in (bool, "bool") else int(raw)
    return replace(base, **over)
