"""`python -m bench.worker_ab`: worker CPU per event of several worker variants, side by side.

On a shared machine a run's CPU per event moves by ±15% with the other load, more than the change
being measured. Here every variant gets its own worker process, task queue and SQLite ledger on ONE
WAL dev server, and the same payments (through the Python client, so no API in the way) go to all
of them at the same time, interleaved: the machine's other load falls on every variant alike.
Rounds of BENCH_EVENTS (default 1,000) per variant over BENCH_CUSTOMERS (default 250) new
customers, BENCH_CONCURRENCY (32) in flight per variant; each round's CPU ms per event from /proc.

Variants: BENCH_AB_VARIANTS="name=ENV1=v1+ENV2=v2;name2=...;name3@/path/to/checkout" — `@path`
runs that checkout's worker.py (e.g. a `git archive main` export) instead of this one's.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from contextlib import AsyncExitStack
from pathlib import Path

from bench import procs
from bench.ab import cpu_round, distinct_names, start_worker_lane, summary
from bench.load import LedgerWatch, closed_loop
from bench.tenure_load import client_jobs, client_sender, spread

ROOT = Path(__file__).resolve().parent.parent


def variants() -> list[tuple[str, dict[str, str], Path]]:
    text = os.environ.get("BENCH_AB_VARIANTS") or "pool=TENURE_WORKER_INLINE_ACTIVATIONS=false;inline="
    out = []
    for part in text.split(";"):
        name, _, env_text = part.partition("=")
        root = ROOT
        if "@" in name:
            name, _, where = name.partition("@")
            root = Path(where)
        env = dict(item.split("=", 1) for item in env_text.split("+") if "=" in item)
        out.append((name, env, root))
    distinct_names([name for name, _, _ in out])
    return out


async def main() -> None:
    from settings import Settings
    from starter.connect import connect
    from starter.program_file import read_program

    events = int(os.environ.get("BENCH_EVENTS") or 1000)
    customers = int(os.environ.get("BENCH_CUSTOMERS") or 250)
    concurrency = int(os.environ.get("BENCH_CONCURRENCY") or 32)
    rounds = int(os.environ.get("BENCH_AB_ROUNDS") or 5)
    work = Path(tempfile.mkdtemp(prefix="tenure-ab-"))
    program = read_program(ROOT / "program.toml")
    results: dict[str, list[float]] = {}
    async with AsyncExitStack() as stack:
        server, address = procs.dev_server(work, "temporal", wal=True)
        stack.callback(server.stop)
        await procs.wait_temporal(address, server)
        client = await connect(Settings(temporal_address=address), procs.payload_keys())
        lanes = []
        for name, env, root in variants():
            worker = start_worker_lane(stack, work, address, client, program, name, env, root, "ab")
            lanes.append((name, worker.proc, client_sender(worker.tenure), LedgerWatch(worker.engine)))
            results[name] = []
        for _, proc, _, _ in lanes:
            await procs.wait_worker_ready(proc, "worker on")

        async def lane(prefix: str, n: int, send, watch) -> None:
            jobs = client_jobs(spread(prefix, min(customers, n), n))
            await closed_loop(jobs, send, concurrency)
            await watch.wait({j.key for j in jobs}, 600)

        await asyncio.gather(*(lane(f"w{name}", concurrency * 2, send, watch) for name, _, send, watch in lanes))
        pids = {name: p.pid for name, p, _, _ in lanes}
        for r in range(rounds):

            async def load(r: int = r) -> None:
                await asyncio.gather(*(lane(f"r{r}{name}", events, send, watch) for name, _, send, watch in lanes))

            for name, ms in (await cpu_round(r + 1, server.pid, pids, load, events, 2)).items():
                results[name].append(ms)
    print()
    print("\n".join(summary(results, next(iter(results)), "event", 2)))


if __name__ == "__main__":
    asyncio.run(main())
    sys.stdout.flush()
    os._exit(0)
