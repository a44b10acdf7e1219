"""`python -m bench.fanout`: the campaign fan-out row of `make bench` alone, for profiling it.

A WAL dev server (`BENCH_FANOUT_SERVER=default`: the server as `make run` starts it); the raw
engine's signals/s (client only) on it; then `BENCH_CAMPAIGN_MEMBERS` journeys opened (a sign-up
each) and a bonus campaign to all of them, as `make bench` runs it (bench/campaign.py). Prints the
ratio and the CPU per member; with `BENCH_FANOUT_PYSPY=1`, records a py-spy profile of the worker
during the campaign into the work directory (py-spy is not a dependency:
`.venv/bin/pip install py-spy`). The SDK core's threads are Rust, which py-spy does not see: the
result splits the worker's CPU during the campaign by thread (`threads_cpu_s`: `python`, the
core's `tokio-rt-worker` and `workflow-proces[sing]`), and `BENCH_FANOUT_PERF=1` records `perf`
on the worker into `worker.perf` (`perf report -i worker.perf --comm workflow-proces`).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bench import procs
from bench.__main__ import ROOT, TIMEOUT, Bar, counted_phase
from bench.campaign import open_more, run_campaign
from bench.load import CounterWatch, closed_loop
from bench.tenure_load import raw_jobs, raw_sender, spread


async def raw_rate(work: Path, address: str, server: procs.Proc, bar: Bar, events: int) -> dict:
    from settings import Settings
    from starter.connect import connect

    counter = work / "raw.count"
    worker = procs.raw_worker(work, address, "bench-raw", counter)
    try:
        await procs.wait_worker_ready(worker, "raw worker polling")
        client = await connect(Settings(temporal_address=address), procs.payload_keys())
        send = raw_sender(client, "bench-raw")
        watch = CounterWatch(counter)
        warm = raw_jobs(spread("rw", 64, 64))
        await closed_loop(warm, send, 64)
        await watch.wait(len(warm), TIMEOUT)
        jobs = raw_jobs(spread("r", 400, events))
        return await counted_phase(
            "raw engine", jobs, send, watch, bar, 64, {"worker": worker.pid, "temporal": server.pid}
        )
    finally:
        worker.stop()


async def signal_sweep(tenure, engine, worker_pid: int, server_pid: int, members: int, bar: Bar) -> dict:
    """The same journeys again, each sent one payment event (a signal, a ledger row and the profile,
    as a touch writes): what a touch delivered as a signal would cost, the journeys not cached."""
    import time

    from bench.load import LedgerWatch
    from bench.tenure_load import client_jobs, client_sender

    watch = LedgerWatch(engine)
    await watch.poll()
    jobs = client_jobs([(f"cm{i:07d}", f"in_sweep{i:07d}") for i in range(members)])
    await procs.quiet([worker_pid])
    cpu0 = {k: procs.cpu_seconds(p) for k, p in {"worker": worker_pid, "temporal": server_pid}.items()}
    bar.phase(f"signal sweep over {members:,}", members)
    t0 = time.monotonic()
    sender = asyncio.create_task(closed_loop(jobs, client_sender(tenure), 64))
    await watch.wait({j.key for j in jobs}, TIMEOUT * 4, tick=bar.at)
    await sender
    wall = time.monotonic() - t0
    bar.done()
    pids = {"worker": worker_pid, "temporal": server_pid}
    cpu = {k: 1000 * (procs.cpu_seconds(p) - cpu0[k]) / members for k, p in pids.items()}
    return {"members": members, "per_second": members / wall, "cpu_ms_per_member": cpu}


async def main() -> dict:
    from settings import Settings
    from starter.client import TenureClient
    from starter.connect import connect
    from starter.program_file import read_program
    from storage.engine import create_engine_for
    from storage.migrate import upgrade

    members = int(os.environ.get("BENCH_CAMPAIGN_MEMBERS", "2000"))
    events = int(os.environ.get("BENCH_EVENTS", "1500"))
    work = Path(tempfile.mkdtemp(prefix="tenure-fanout-"))
    wal = os.environ.get("BENCH_FANOUT_SERVER", "wal") != "default"  # "default": as `make run` starts it
    server, address = procs.dev_server(work, "temporal-wal" if wal else "temporal", wal=wal)
    out: dict = {"workdir": str(work), "server": "wal" if wal else "default"}
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()) as p:
        bar = Bar(p, events + 2 * members)
        try:
            await procs.wait_temporal(address, server)
            out["raw"] = await raw_rate(work, address, server, bar, events)
            db_url = f"sqlite:///{work / 'fanout.db'}"
            engine = create_engine_for(db_url)
            upgrade(engine)
            cache = os.environ.get("BENCH_FANOUT_CACHE")  # the worker cache, for the with/without figure
            extra = {"TENURE_WORKER_MAX_CACHED_WORKFLOWS": cache} if cache else None
            worker = procs.tenure_worker(work, address, db_url, "bench-fanout", name="worker-fanout", extra_env=extra)
            try:
                await procs.wait_worker_ready(worker, "worker on")
                program = read_program(ROOT / "program.toml")
                settings = Settings(temporal_address=address)
                client = await connect(settings, procs.payload_keys())
                tenure = TenureClient(client, program, "bench-fanout", programs=engine)  # by content hash, as the API
                more = [
                    procs.tenure_worker(
                        work, address, db_url, "bench-fanout", name=f"worker-fanout-{i + 2}", extra_env=extra
                    )
                    for i in range(int(os.environ.get("BENCH_FANOUT_WORKERS", "1")) - 1)
                ]  # further worker processes on the same task queue ("more workers")
                for w in more:
                    await procs.wait_worker_ready(w, "worker on")
                bar.phase(f"open {members:,} journeys", members)
                await open_more(tenure, engine, members, bar.at, TIMEOUT * 10)
                bar.done()
                spy = None
                if os.environ.get("BENCH_FANOUT_PYSPY") and shutil.which(
                    "py-spy", path=str(Path(sys.executable).parent)
                ):
                    spy = subprocess.Popen(
                        [
                            str(Path(sys.executable).parent / "py-spy"),
                            "record",
                            "--pid",
                            str(worker.pid),
                            "--gil",
                            "--nonblocking",
                            "--format",
                            "raw",
                            "-o",
                            str(work / "worker.pyspy.txt"),
                            "--rate",
                            "50",
                        ],
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                perf = None
                if os.environ.get("BENCH_FANOUT_PERF") and shutil.which("perf"):
                    perf = subprocess.Popen(
                        ["perf", "record", "-F", "199", "-g", "-p", str(worker.pid), "-o", str(work / "worker.perf")],
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                threads_before = procs.thread_cpu(worker.pid)
                bar.phase(f"campaign to {members:,}", members)
                out["campaign"] = await run_campaign(
                    tenure, engine, worker.pid, server.pid, 64, bar.at, more_workers=tuple(w.pid for w in more)
                )
                for w in more:
                    w.stop()
                bar.done()
                out["threads_cpu_s"] = procs.thread_cpu_delta(worker.pid, threads_before)
                for profiler in (spy, perf):
                    if profiler is not None:
                        profiler.send_signal(2)
                        profiler.wait(30)
                if os.environ.get("BENCH_FANOUT_SWEEP"):
                    out["sweep"] = await signal_sweep(tenure, engine, worker.pid, server.pid, members, bar)
            finally:
                worker.stop()
        finally:
            server.stop(grace=20)
    c, r = out["campaign"], out["raw"]
    out["ratio"] = c["per_second"] / r["per_second"]
    return out


if __name__ == "__main__":
    result = asyncio.run(main())
    c, r = result["campaign"], result["raw"]
    Console().print(
        f"raw {r['per_second']:.0f}/s cpu {r['cpu_ms_per_event']}\n"
        f"campaign {c['per_second']:.1f}/s over {c['members']} cpu/member {c['cpu_ms_per_member']} "
        f"applied {c['applied']} failed {c['failed']} skipped {c['skipped']}\n"
        f"ratio {result['ratio']:.3f}  workdir {result['workdir']}"
    )
    if "sweep" in result:
        w = result["sweep"]
        Console().print(f"signal sweep {w['per_second']:.1f}/s cpu/member {w['cpu_ms_per_member']}")
    print(json.dumps(result, default=str))
