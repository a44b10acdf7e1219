"""`make bench`: every measurement of bench/RESULTS.md in one run; `publish`: the latest into it (bench/__init__.py)."""

from __future__ import annotations

import asyncio
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bench import procs, report, storage_cost
from bench import results as results_files
from bench.config import Sizes, from_env
from bench.load import CounterWatch, LedgerWatch, closed_loop, latencies, open_loop, percentiles
from bench.minihttp import MiniHttp
from bench.tenure_load import (
    API_KEY,
    SECRET,
    client_jobs,
    client_sender,
    http_sender,
    raw_jobs,
    raw_sender,
    spread,
    stripe_jobs,
)
from storage.postgres_schemas import drop_schema

ROOT = Path(__file__).resolve().parent.parent
console = Console(highlight=False)
TIMEOUT = 300.0


class Bar:
    """One rich progress bar for the whole run, with the current phase as its label."""

    def __init__(self, progress: Progress, total: int):
        self.p = progress
        self.task = progress.add_task("starting", total=total)
        self.base = 0

    def phase(self, label: str, size: int) -> Bar:
        self.p.update(self.task, description=label, completed=self.base)
        self._size = size
        return self

    def at(self, n: int) -> None:
        self.p.update(self.task, completed=self.base + min(n, self._size))

    def from_(self, offset: int) -> Callable[[int], None]:
        """`at` for a count that starts at `offset` of this phase."""
        return lambda n: self.at(offset + n)

    def done(self) -> None:
        self.base += self._size
        self.p.update(self.task, completed=self.base)


def machine() -> dict:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = 0
    try:
        mem = int(Path("/proc/meminfo").read_text().split()[1]) // 1024
    except (OSError, ValueError, IndexError):
        pass
    import temporalio

    temporal = procs.find_binary("temporal")
    version = (
        subprocess.run([temporal, "--version"], capture_output=True, text=True).stdout.strip() if temporal else "?"
    )
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    changed = subprocess.run(
        [
            "git",
            "status",
            "--porcelain",
            "--",
            "workflows",
            "domain",
            "activities",
            "starter",
            "worker.py",
            "settings.py",
            "bench",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout
    if commit and changed.strip():
        commit += " + uncommitted changes"
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_mb": mem,
        "os": platform.platform(),
        "python": platform.python_version(),
        "temporalio": temporalio.__version__,
        "temporal_cli": version,
        "commit": commit or "?",
    }


# --- phases ---------------------------------------------------------------------------------------


async def counted_phase(
    label: str, jobs, send, watch: CounterWatch, bar: Bar, concurrency: int, pids: dict[str, int]
) -> dict:
    """A closed-loop phase into the raw engine's counting workflows: done at the worker's count."""
    await procs.quiet(list(pids.values()))
    base = watch.value()
    bar.phase(label, len(jobs))
    cpu0 = {k: procs.cpu_seconds(p) for k, p in pids.items()}
    own0 = time.process_time()
    waiter = asyncio.create_task(watch.wait(base + len(jobs), TIMEOUT, tick=lambda n: bar.at(n - base)))
    log = await closed_loop(jobs, send, concurrency)
    end = await waiter
    cpu = {k: 1000 * (procs.cpu_seconds(p) - cpu0[k]) / len(jobs) for k, p in pids.items()}
    cpu["bench"] = 1000 * (time.process_time() - own0) / len(jobs)
    bar.done()
    elapsed = end - log.first()
    acks = [log.acked[k] - t for k, t in log.sent.items()]
    return {
        "events": len(jobs),
        "concurrency": concurrency,
        "seconds": elapsed,
        "per_second": len(jobs) / elapsed,
        "ack_latency": percentiles(acks),
        "cpu_ms_per_event": cpu,
        "errors": len(log.errors),
    }


async def phase_raw(sizes: Sizes, work: Path, address: str, tag: str, bar: Bar, server: procs.Proc | None) -> dict:
    """Signals/s into trivial counting workflows, worker in its own process: from the Python client
    (the raw engine), then through the minimal HTTP endpoint (`bench.minimal_api`, the HTTP floor)."""
    from settings import Settings
    from starter.connect import connect

    counter = work / f"raw-{tag}.count"
    tq = f"bench-raw-{tag}"
    async with AsyncExitStack() as stack:
        worker = procs.raw_worker(work, address, tq, counter, name=f"raw-worker-{tag}")
        stack.callback(worker.stop)
        await procs.wait_worker_ready(worker, "raw worker polling")
        client = await connect(Settings(temporal_address=address), procs.payload_keys())
        send = raw_sender(client, tq)
        watch = CounterWatch(counter)
        warm = raw_jobs(spread(f"rw{tag}", sizes.concurrency, sizes.concurrency))
        await closed_loop(warm, send, sizes.concurrency)
        await watch.wait(len(warm), TIMEOUT)
        pids = {"worker": worker.pid, **({"temporal": server.pid} if server else {})}
        jobs = raw_jobs(spread(f"r{tag}", sizes.customers, sizes.events))
        out = await counted_phase(f"raw engine ({tag})", jobs, send, watch, bar, sizes.concurrency, pids)
        out["customers"] = sizes.customers

        api, url = procs.api_server(
            work, address, "sqlite://", tq, SECRET, API_KEY, name=f"minimal-api-{tag}", app="bench.minimal_api:app"
        )
        stack.callback(api.stop)
        await procs.wait_http(url, api)
        h = MiniHttp(url)
        stack.push_async_callback(h.aclose)
        hsend = http_sender(h)
        warm_http = stripe_jobs(spread(f"mw{tag}", sizes.concurrency, sizes.concurrency))
        before = watch.value()
        await closed_loop(warm_http, hsend, sizes.concurrency)
        await watch.wait(before + len(warm_http), TIMEOUT)
        jobs = stripe_jobs(spread(f"m{tag}", sizes.customers, sizes.events))
        out["minimal_http"] = await counted_phase(
            f"raw engine through the minimal HTTP endpoint ({tag})",
            jobs,
            hsend,
            watch,
            bar,
            sizes.concurrency,
            {**pids, "api": api.pid},
        )
        return out


async def tenure_phase(
    label: str,
    jobs,
    send,
    watch: LedgerWatch,
    bar: Bar,
    concurrency: int | None = None,
    rate: float | None = None,
    pids: dict[str, int] | None = None,
) -> dict:
    bar.phase(label, len(jobs))
    await procs.quiet(list((pids or {}).values()))
    cpu0 = {k: procs.cpu_seconds(p) for k, p in (pids or {}).items()}
    own0 = time.process_time()
    keys = {j.key for j in jobs}
    # the ledger is polled while the events go in, so a row is seen within one poll of its commit
    waiter = asyncio.create_task(watch.wait(keys, TIMEOUT, tick=bar.at))
    if rate is not None:
        log = await open_loop(jobs, send, rate)
    elif concurrency is not None:
        log = await closed_loop(jobs, send, concurrency)
    else:
        raise ValueError(f"{label}: give a rate (open loop) or a concurrency (closed loop)")
    end = await waiter
    cpu = {k: 1000 * (procs.cpu_seconds(p) - cpu0[k]) / len(jobs) for k, p in (pids or {}).items()}
    cpu["bench"] = 1000 * (time.process_time() - own0) / len(jobs)
    bar.done()
    elapsed = end - log.first()
    lat = latencies(log, {k: watch.seen_at[k] for k in keys})
    rec = latencies(log, {k: watch.done[k] for k in keys})
    acks = [log.acked[k] - t for k, t in log.sent.items()]
    out = {
        "events": len(jobs),
        "seconds": elapsed,
        "per_second": len(jobs) / elapsed,
        "latency": percentiles(lat),
        "latency_recorded_at": percentiles(rec),
        "ack_latency": percentiles(acks),
        "cpu_ms_per_event": cpu,
        "errors": len(log.errors),
    }
    if rate is not None:
        out["offered_rate"] = rate
    else:
        out["concurrency"] = concurrency
    return out


async def phase_tenure(
    sizes: Sizes,
    work: Path,
    address: str,
    tag: str,
    bar: Bar,
    server: procs.Proc | None,
    http: bool = True,
    db_url: str | None = None,
    only_http_full: bool = False,
) -> dict:
    """Tenure end to end: signed webhooks through the API, and the Python client, to ledger rows.
    `db_url` puts the ledger elsewhere (PostgreSQL) than a fresh SQLite file; `only_http_full`
    runs just the full-load HTTP phase (the PostgreSQL comparison)."""
    from settings import Settings
    from starter.client import TenureClient
    from starter.connect import connect
    from starter.program_file import read_program
    from storage.engine import create_engine_for
    from storage.migrate import upgrade

    db_url = db_url or f"sqlite:///{work / f'tenure-{tag}.db'}"
    engine = create_engine_for(db_url)
    upgrade(engine)
    tq = f"bench-tenure-{tag}"
    out: dict = {}
    async with AsyncExitStack() as stack:
        worker = procs.tenure_worker(work, address, db_url, tq, name=f"worker-{tag}")
        stack.callback(worker.stop)
        await procs.wait_worker_ready(worker, "worker on")
        pids = {"worker": worker.pid, **({"temporal": server.pid} if server else {})}
        program = read_program(ROOT / "program.toml")
        client = await connect(Settings(temporal_address=address), procs.payload_keys())
        tenure = TenureClient(client, program, tq, programs=engine)  # by content hash, as the API
        watch = LedgerWatch(engine)
        csend = client_sender(tenure)
        warm = client_jobs(spread(f"cw{tag}", sizes.concurrency, sizes.concurrency))
        await closed_loop(warm, csend, sizes.concurrency)
        await watch.wait({j.key for j in warm}, TIMEOUT)

        if http:
            api, url = procs.api_server(work, address, db_url, tq, SECRET, API_KEY, name=f"api-{tag}")
            stack.callback(api.stop)
            await procs.wait_http(url, api)
            pids["api"] = api.pid
            h = MiniHttp(url)
            stack.push_async_callback(h.aclose)
            hsend = http_sender(h)
            warm = stripe_jobs(spread(f"hw{tag}", sizes.concurrency, sizes.concurrency))
            await closed_loop(warm, hsend, sizes.concurrency)
            await watch.wait({j.key for j in warm}, TIMEOUT)
            jobs = stripe_jobs(spread(f"h{tag}", sizes.customers, sizes.events))
            out["http_full"] = await tenure_phase(
                f"Tenure over HTTP, full load ({tag})",
                jobs,
                hsend,
                watch,
                bar,
                concurrency=sizes.concurrency,
                pids=pids,
            )
            if only_http_full:
                engine.dispose()
                return out
            rate = out["http_full"]["per_second"] / 2
            # the same journeys as at full load (already open), new invoices
            jobs = stripe_jobs(spread(f"h{tag}", sizes.customers, sizes.half_events, offset=sizes.events))
            out["http_half"] = await tenure_phase(
                f"Tenure over HTTP, half load ({tag})", jobs, hsend, watch, bar, rate=rate, pids=pids
            )
            api.stop()
            del pids["api"]

        jobs = client_jobs(spread(f"c{tag}", sizes.customers, sizes.events))
        out["client_full"] = await tenure_phase(
            f"Tenure client, full load ({tag})", jobs, csend, watch, bar, concurrency=sizes.concurrency, pids=pids
        )
        out["worker_rss_kb"] = procs.rss_kb(worker.pid)
    engine.dispose()
    return out


async def phase_postgres(
    sizes: Sizes, work: Path, address: str, tag: str, bar: Bar, server: procs.Proc | None, base_url: str
) -> dict:
    """Tenure over HTTP at full load with the ledger in PostgreSQL (a fresh schema of the CI database)."""
    url, schema = storage_cost.fresh_schema(base_url)
    try:
        return await phase_tenure(sizes, work, address, f"{tag}-pg", bar, server, db_url=url, only_http_full=True)
    finally:
        drop_schema(base_url, schema)


async def phase_memory(
    sizes: Sizes,
    work: Path,
    address: str,
    bar: Bar,
    server: procs.Proc | None = None,
    progress: Callable[[dict], None] | None = None,
) -> dict:
    """Worker RSS with `memory_small` open journeys, then `memory_large`, on a worker whose cache is
    `memory_small` journeys (set explicitly: the default is sized from the machine's memory, and
    "bounded" means bounded by the cache); then the campaign fan-out (bench/campaign.py) on a worker
    of its own with the default cache, returned under "campaign". `progress` sees each checkpoint's
    sample as it is taken (a long memory-only run is read while it goes)."""
    from settings import Settings
    from starter.client import TenureClient
    from starter.connect import connect
    from starter.program_file import read_program
    from storage.engine import create_engine_for
    from storage.migrate import upgrade

    db_url = f"sqlite:///{work / 'memory.db'}"
    engine = create_engine_for(db_url)
    upgrade(engine)
    tq = "bench-memory"
    cache = {"TENURE_WORKER_MAX_CACHED_WORKFLOWS": str(sizes.memory_small)}
    worker = procs.tenure_worker(work, address, db_url, tq, name="worker-memory", extra_env=cache)
    try:
        await procs.wait_worker_ready(worker, "worker on")
        program = read_program(ROOT / "program.toml")
        client = await connect(Settings(temporal_address=address), procs.payload_keys())
        tenure = TenureClient(client, program, tq, programs=engine)  # journeys name the program by hash, as the API's
        watch = LedgerWatch(engine)
        send = client_sender(tenure)
        warm_n = 20
        pairs = spread("m", sizes.memory_large, sizes.memory_large)  # one event per journey
        warm = client_jobs(spread("mw", warm_n, warm_n))
        await closed_loop(warm, send, sizes.concurrency)
        await watch.wait({j.key for j in warm}, TIMEOUT)
        await asyncio.sleep(1.0)
        base = procs.rss_kb(worker.pid)
        samples: list[dict[str, float]] = [{"journeys": 0, "rss_kb": base}]
        bar.phase(f"memory: {sizes.memory_large:,} open journeys", sizes.memory_large)
        checkpoints = sorted(
            {
                sizes.memory_small,
                sizes.memory_large,
                *[n for n in (2000, 5000, 10000, 20000, 50000) if n < sizes.memory_large],
            }
        )
        done = 0
        t0 = time.monotonic()
        for cp in checkpoints:
            jobs = client_jobs(pairs[done:cp])
            await closed_loop(jobs, send, sizes.concurrency)
            await watch.wait({j.key for j in jobs}, max(TIMEOUT * 2, (cp - done) * 0.05), tick=bar.from_(done))
            done = cp
            await asyncio.sleep(1.0)
            samples.append({"journeys": cp, "rss_kb": procs.rss_kb(worker.pid), "seconds": time.monotonic() - t0})
            if progress is not None:
                progress(samples[-1])
        bar.done()
        small = next(s for s in samples if s["journeys"] == sizes.memory_small)
        large = samples[-1]
        per_journey = (small["rss_kb"] - base) / sizes.memory_small
    finally:
        worker.stop()
        engine.dispose()
    campaign = None
    if sizes.campaign_members > 0:
        from bench.campaign import phase_campaign

        campaign = await phase_campaign(
            work, address, server.pid if server else None, sizes.campaign_members, sizes.campaign_concurrency, bar
        )
    return {
        "campaign": campaign,
        "cache": sizes.memory_small,
        "baseline_rss_kb": base,
        "samples": samples,
        "kb_per_journey": per_journey,
        "rss_per_1000_journeys_mb": per_journey * 1000 / 1024,
        "rss_at_small_mb": small["rss_kb"] / 1024,
        "rss_at_large_mb": large["rss_kb"] / 1024,
        "large_over_small": large["rss_kb"] / small["rss_kb"],
        "journeys_opened_per_second": sizes.memory_large / large["seconds"],
    }


async def phase_year(sizes: Sizes, work: Path, bar: Bar, postgres_url: str | None) -> dict:
    from bench.year import incoming, simulate
    from starter.program_file import read_program

    program = read_program(ROOT / "program.toml")
    steps = incoming(sizes.year_months)
    bar.phase(f"busy customer-years on the time-skipping server ({sizes.year_customers} customers)", steps)
    out = await simulate(
        program, sizes.year_customers, sizes.year_months, work, tick=lambda i, n: bar.at(i), postgres_url=postgres_url
    )
    bar.done()
    if sizes.year_rounding:
        # the same year with lots expiring at month ends: what the program setting saves
        rounded = program.model_copy(
            update={"points": program.points.model_copy(update={"expiry_rounding": "end_of_month"})}
        )
        bar.phase("busy customer-years, lots expiring at month ends", steps)
        month_end = await simulate(
            rounded, sizes.year_customers, sizes.year_months, work / "month-end", tick=lambda i, n: bar.at(i)
        )
        bar.done()
        out["end_of_month"] = {
            k: month_end[k]
            for k in (
                "history_events_per_incoming",
                "history_events_per_customer_year",
                "history_bytes_per_customer_year",
                "longest_run",
            )
        }
    return out


# --- main -------------------------------------------------------------------------------------------


async def run(sizes: Sizes, address: str | None = None, console_: Console | None = None) -> dict:
    """Every phase; against `address` when given (the smoke test's server), else dev servers of our own."""
    from bench.year import schedule

    work = Path(tempfile.mkdtemp(prefix="tenure-bench-"))
    results: dict = {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "sizes": sizes.describe(),
        "machine": machine(),
        "workdir": str(work),
    }
    wal = sizes.wal_compare and address is None
    postgres_url = storage_cost.postgres_base_url() if sizes.postgres else None
    if postgres_url:
        results["postgres"] = {"server": "wal" if wal else "default"}
    total = 4 * sizes.events + sizes.half_events + sizes.memory_large + len(schedule(sizes.year_months))
    total += 2 * sizes.campaign_members  # its journeys opened, then the campaign
    if sizes.year_rounding:
        total += len(schedule(sizes.year_months))
    if wal:
        total += 4 * sizes.events + sizes.half_events
    if postgres_url:
        total += sizes.events
    t0 = time.monotonic()
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console_ or console,
        transient=False,
    ) as progress:
        bar = Bar(progress, total)
        server = None
        if address is None:
            server, address = procs.dev_server(work, "temporal")
        try:
            if server is not None:
                await procs.wait_temporal(address, server)
            results["raw"] = await phase_raw(sizes, work, address, "default", bar, server)
            results["tenure"] = await phase_tenure(sizes, work, address, "default", bar, server)
            if postgres_url and not wal:
                results["postgres"]["tenure"] = await phase_postgres(
                    sizes, work, address, "default", bar, server, postgres_url
                )
            if not wal:
                results["memory"] = await phase_memory(sizes, work, address, bar, server)
                results["memory"]["server"] = "default"
        finally:
            if server is not None:
                server.stop(grace=20)
        if wal:
            server, address = procs.dev_server(work, "temporal-wal", wal=True)
            try:
                await procs.wait_temporal(address, server)
                results["wal"] = {
                    "pragmas": procs.WAL_PRAGMAS,
                    "raw": await phase_raw(sizes, work, address, "wal", bar, server),
                    "tenure": await phase_tenure(sizes, work, address, "wal", bar, server),
                }
                if postgres_url:
                    results["postgres"]["tenure"] = await phase_postgres(
                        sizes, work, address, "wal", bar, server, postgres_url
                    )
                # The worker's memory does not depend on the server's disk: opening 20,000
                # journeys goes faster on this one.
                results["memory"] = await phase_memory(sizes, work, address, bar, server)
                results["memory"]["server"] = "wal"
            finally:
                server.stop(grace=20)
        campaign = results["memory"].pop("campaign", None)
        if campaign is not None:  # compared with the raw engine on the same server
            same = results["wal"]["raw"] if results["memory"]["server"] == "wal" else results["raw"]
            results["campaign"] = {
                **campaign,
                "server": results["memory"]["server"],
                "raw_per_second": same["per_second"],
            }
        results["year"] = await phase_year(sizes, work, bar, postgres_url)
    results["total_seconds"] = time.monotonic() - t0
    results["targets"] = report.targets(results)
    return results


async def run_memory(sizes: Sizes, console_: Console | None = None) -> dict:
    """The memory phase alone, on a WAL dev server of its own (as `make bench` runs it), for a count
    too large for the full run: `BENCH_MEMORY_LARGE=100000 python -m bench memory`. The campaign
    runs only when BENCH_CAMPAIGN_MEMBERS is set. Adds the sizes of the server's and the ledger's
    SQLite files at the end."""
    work = Path(tempfile.mkdtemp(prefix="tenure-bench-memory-"))
    out_console = console_ or console
    results: dict = {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "sizes": sizes.describe(),
        "machine": machine(),
        "workdir": str(work),
    }
    t0 = time.monotonic()

    def checkpoint(sample: dict) -> None:
        rate = sample["journeys"] / sample["seconds"] if sample["seconds"] else 0.0
        out_console.print(
            f"{datetime.now(UTC):%H:%M:%S} {sample['journeys']:>7,} journeys: worker RSS "
            f"{sample['rss_kb'] / 1024:,.1f} MB, {sample['seconds']:,.0f} s ({rate:,.1f} opened/s)"
        )

    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=out_console,
        transient=False,
    ) as progress_bar:
        bar = Bar(progress_bar, sizes.memory_large + 2 * sizes.campaign_members)
        server, address = procs.dev_server(work, "temporal-wal", wal=True)
        try:
            await procs.wait_temporal(address, server)
            results["memory"] = await phase_memory(sizes, work, address, bar, server, progress=checkpoint)
            results["memory"]["server"] = "wal"
        finally:
            server.stop(grace=20)
    results["memory"]["storage_bytes"] = {f.name: f.stat().st_size for f in sorted(work.glob("*.db*")) if f.is_file()}
    results["total_seconds"] = time.monotonic() - t0
    return results


def main(argv: list[str]) -> int:
    if argv == ["memory"]:
        sizes = from_env({"BENCH_CAMPAIGN_MEMBERS": "0", **os.environ})
        console.print(f"[bold]Tenure benchmark, memory phase[/] — sizes: {sizes.describe()}")
        results = asyncio.run(run_memory(sizes))
        results_files.RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        memory_file = results_files.RESULTS_DIR / "memory.json"
        memory_file.write_text(json.dumps(results, indent=2))
        console.print_json(data=results["memory"])
        console.print(f"written: {memory_file.relative_to(ROOT)} ({results['total_seconds']:.0f} s)")
        shutil.rmtree(results["workdir"], ignore_errors=True)
        return 0
    if argv == ["publish"]:
        page = results_files.publish()
        console.print(f"published {results_files.RESULTS_DIR / 'latest.json'} into {page.relative_to(ROOT)}")
        return 0
    if argv:
        console.print("usage: python -m bench            run the benchmarks (results in bench/results/)")
        console.print("       python -m bench publish    put the latest run into bench/RESULTS.md")
        console.print(
            "       python -m bench memory     the memory phase alone (BENCH_MEMORY_LARGE=100000 for the scale figure)"
        )
        return 2
    sizes = from_env()
    console.print(f"[bold]Tenure benchmark[/] — sizes: {sizes.describe()}")
    results = asyncio.run(run(sizes))
    written = results_files.save(results)
    console.print(report.markdown(results))
    console.print(
        f"written: {', '.join(str(p.relative_to(ROOT)) for p in written)} ({results['total_seconds']:.0f} s); "
        "`make bench-publish` puts this run into bench/RESULTS.md"
    )
    shutil.rmtree(results["workdir"], ignore_errors=True)
    return 0


if __name__ == "__main__":
    code = main(sys.argv[1:])
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # as the supervisor: skip finalization (temporalio/sdk-python#300)
