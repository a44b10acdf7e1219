"""`python -m bench.api_ab`: the API's CPU per signed webhook, several API variants and the floor side by side.

On a shared machine a run's CPU per webhook moves by ±15% with the other load, more than a change to
the webhook's path. Here every variant is its own uvicorn process (`make run`'s server options) on
ONE WAL dev server, and the same signed invoice.paid webhooks go to all of them at the same time:
the machine's other load falls on every variant alike. Rounds of BENCH_EVENTS (default 1,000) per
variant over BENCH_CUSTOMERS (default 250) customers, BENCH_CONCURRENCY (16) in flight per variant;
each round's CPU ms per webhook from /proc, and each variant's per-round ratio to the floor.

No worker runs: an API's answer waits for Temporal to accept the signal-with-start, not for a
journey to apply it, so the APIs' CPU is what it is under `make bench` without the workers' share
of the machine (the measure is the API process's CPU, not throughput).

Variants: BENCH_AB_APIS="before@/path/to/checkout;after;arena+MALLOC_ARENA_MAX=2" — `@path` serves that
checkout's API (e.g. a `git archive HEAD` export) instead of this one's, `+NAME=value` adds to its
environment; the floor (`bench.minimal_api`) always runs.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from contextlib import AsyncExitStack
from pathlib import Path

from bench import procs
from bench.ab import cpu_round, distinct_names, summary
from bench.load import closed_loop
from bench.minihttp import MiniHttp
from bench.tenure_load import API_KEY, SECRET, http_sender, spread, stripe_jobs

ROOT = Path(__file__).resolve().parent.parent


def variants() -> list[tuple[str, Path, dict[str, str]]]:
    out = []
    for part in (os.environ.get("BENCH_AB_APIS") or "api").split(";"):
        head, *settings = part.split("+")
        name, _, where = head.partition("@")
        env = dict(item.split("=", 1) for item in settings if "=" in item)
        out.append((name, Path(where) if where else ROOT, env))
    distinct_names([name for name, _, _ in out], reserved=("floor",))
    return out


async def main() -> None:
    from storage.engine import create_engine_for
    from storage.migrate import upgrade

    events = int(os.environ.get("BENCH_EVENTS") or 1000)
    customers = int(os.environ.get("BENCH_CUSTOMERS") or 250)
    concurrency = int(os.environ.get("BENCH_CONCURRENCY") or 16)
    rounds = int(os.environ.get("BENCH_AB_ROUNDS") or 5)
    work = Path(tempfile.mkdtemp(prefix="tenure-api-ab-"))
    db_url = f"sqlite:///{work / 'tenure.db'}"
    engine = create_engine_for(db_url)
    upgrade(engine)
    engine.dispose()
    results: dict[str, list[float]] = {}
    async with AsyncExitStack() as stack:
        server, address = procs.dev_server(work, "temporal", wal=True)
        stack.callback(server.stop)
        await procs.wait_temporal(address, server)
        lanes = []
        for name, root, env in [("floor", ROOT, {}), *variants()]:
            app = "bench.minimal_api:app" if name == "floor" else "starter.api:app"
            queue = "ab-raw" if name == "floor" else "ab-tenure"
            proc, url = procs.api_server(
                work, address, db_url, queue, SECRET, API_KEY, name=name, app=app, cwd=root, extra_env=env
            )
            stack.callback(proc.stop)
            lanes.append((name, proc, url))
            results[name] = []
        senders = []
        for name, proc, url in lanes:
            await procs.wait_http(url, proc)
            http = MiniHttp(url)
            stack.push_async_callback(http.aclose)
            senders.append((name, proc, http_sender(http)))

        async def lane(prefix: str, n: int, send) -> None:
            await closed_loop(stripe_jobs(spread(prefix, min(customers, n), n)), send, concurrency)

        await asyncio.gather(*(lane(f"w{name}", concurrency * 4, send) for name, _, send in senders))
        pids = {name: p.pid for name, p, _ in senders}
        for r in range(rounds):

            async def load(r: int = r) -> None:
                await asyncio.gather(*(lane(f"r{r}{name}", events, send) for name, _, send in senders))

            for name, ms in (await cpu_round(r + 1, server.pid, pids, load, events, 3)).items():
                results[name].append(ms)
    print()
    print("\n".join(summary(results, "floor", "webhook", 3)))


if __name__ == "__main__":
    asyncio.run(main())
    sys.stdout.flush()
    os._exit(0)
