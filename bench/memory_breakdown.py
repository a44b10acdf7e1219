"""What one cached journey holds in the worker: `python -m bench.memory_breakdown [N]`.

Starts a WAL dev server, runs Tenure's worker in this process (the same runner, workflows and
converter as `worker.py`), opens N journeys (one payment each, all cached) and then accounts for
the memory three ways:

- RSS per journey: (RSS after N − RSS after a warm-up) / N, as the bench's memory phase does;
- tracemalloc: the Python allocations still alive, grouped by the file that made them;
- the object graph of each cached run: what is reachable from that run and from nothing outside the
  worker's cache, split by where it hangs (the sandbox's globals and module copies, the SDK's
  instance, the start input, the journey's account, its other state).

A measurement tool for bench/RESULTS.md, not part of `make bench`.
"""

from __future__ import annotations

import asyncio
import gc
import os
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from pathlib import Path
from typing import Any

from bench import procs

ROOT = Path(__file__).resolve().parent.parent


def pymalloc() -> dict[str, int]:
    """pymalloc's own accounts (sys._debugmallocstats, which writes to the C stderr)."""
    with tempfile.TemporaryFile() as out:
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(out.fileno(), 2)
        try:
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        out.seek(0)
        text = out.read().decode()
    found: dict[str, int] = {}
    for line in text.splitlines():
        if "=" in line and line.startswith("# "):
            name, value = line[2:].split("=", 1)
            found[name.strip()] = int(value.strip().replace(",", ""))
    return found


def malloc_in_use() -> int:
    """glibc malloc's bytes in use (mallinfo2): the SDK's Rust core, and Python objects > 512 bytes."""
    import ctypes

    class MallInfo2(ctypes.Structure):
        _fields_ = [
            (name, ctypes.c_size_t)
            for name in (
                "arena",
                "ordblks",
                "smblks",
                "hblks",
                "hblkhd",
                "usmblks",
                "fsmblks",
                "uordblks",
                "fordblks",
                "keepcost",
            )
        ]

    libc = ctypes.CDLL("libc.so.6")
    libc.mallinfo2.restype = MallInfo2
    info = libc.mallinfo2()
    return int(info.uordblks + info.hblkhd)


TYPES: dict[str, Counter[str]] = {}  # label -> type name -> bytes, over every run


def owned_by(roots: list[tuple[str, Any]], shared: set[int]) -> dict[str, tuple[int, int]]:
    """Bytes and objects reachable from each root (first root wins), never entering `shared` objects."""
    seen: set[int] = set()
    out: dict[str, tuple[int, int]] = {}
    for label, root in roots:
        size = count = 0
        stack = [root]
        types = TYPES.setdefault(label.split(" (")[0] if label.startswith("journey: other") else label, Counter())
        while stack:
            obj = stack.pop()
            key = id(obj)
            if key in seen or key in shared:
                continue
            seen.add(key)
            if isinstance(obj, type | type(sys) | type(owned_by)):  # classes, modules, functions: shared code
                continue
            one = sys.getsizeof(obj)
            size += one
            types[type(obj).__qualname__] += one
            count += 1
            stack.extend(gc.get_referents(obj))
        previous = out.get(label, (0, 0))
        out[label] = (previous[0] + size, previous[1] + count)
    return out


def reachable(roots: list[Any], barrier: set[int]) -> set[int]:
    seen: set[int] = set()
    stack = list(roots)
    while stack:
        obj = stack.pop()
        key = id(obj)
        if key in seen or key in barrier:
            continue
        seen.add(key)
        stack.extend(gc.get_referents(obj))
    return seen


def breakdown(running: dict[str, Any]) -> dict[str, tuple[int, int]]:
    """Per-run owned bytes, summed over the cached runs, by where they hang."""
    barrier = {id(running)} | {id(rw) for rw in running.values()}
    shared = reachable([sys.modules, *[m for m in list(sys.modules.values()) if m is not None]], barrier)
    totals: dict[str, list[int]] = {}
    for rw in list(running.values()):
        instance = rw.instance
        glob = instance.globals_and_locals
        in_sandbox = glob.get("__temporal_in_sandbox")
        impl = getattr(in_sandbox, "instance", None)
        journey = getattr(impl, "_object", None)
        roots: list[tuple[str, Any]] = []
        if impl is not None:
            roots.append(("start input (JourneyInput, decoded)", impl._workflow_input))
            roots.append(("SDK instance details (info, start payloads)", instance.instance_details))
        if journey is not None:
            state = vars(journey)
            roots.append(("journey: account (lots, timeline, memory)", state.get("account")))
            roots.append(("journey: rules", state.get("rules")))
            for name, value in state.items():
                if name not in ("account", "rules", "timer"):
                    roots.append((f"journey: other state ({name})", value))
        if impl is not None:
            for name, value in vars(impl).items():
                roots.append((f"SDK instance: {name}", value))
        roots.append(("sandbox: importer (module copies, restrictions)", instance.importer))
        roots.append(("sandbox: globals", glob))
        roots.append(("SDK running-workflow wrapper", rw))
        for label, (size, count) in owned_by(roots, shared).items():
            if label.startswith("journey: other state"):
                label = "journey: other state (outbox, profile, ...)"
            acc = totals.setdefault(label, [0, 0])
            acc[0] += size
            acc[1] += count
    return {k: (v[0], v[1]) for k, v in totals.items()}


def detail(rw: Any, shared: set[int]) -> None:
    """What the SDK's primary task of one run holds, beyond the journey (MEMBREAK_DETAIL=1)."""
    impl = rw.instance.globals_and_locals["__temporal_in_sandbox"].instance
    state = [v for k, v in vars(impl._object).items() if k != "timer"]  # the timer reaches the SDK instance
    journey_owned = reachable([*state, impl._workflow_input], shared)
    stack, seen = [impl._primary_task], set()
    while stack:
        obj = stack.pop()
        if id(obj) in seen or id(obj) in shared or id(obj) in journey_owned or isinstance(obj, type | type(sys)):
            continue
        seen.add(id(obj))
        size = sys.getsizeof(obj)
        if isinstance(obj, dict) and size > 300:
            print(f"    dict {size} B keys {list(obj)[:8]}")
        elif type(obj).__name__ in ("code", "coroutine", "str", "deque", "Random") and size > 150:
            print(f"    {type(obj).__name__} {size} B {str(obj)[:90]!r}")
        stack.extend(gc.get_referents(obj))


async def main(n: int) -> None:
    from temporalio.worker import Worker

    from bench.tenure_load import client_jobs, spread
    from settings import Settings
    from starter.client import TenureClient
    from starter.connect import connect
    from starter.program_file import read_program
    from storage.engine import create_engine_for
    from storage.migrate import upgrade
    from worker import build_worker

    work = Path(tempfile.mkdtemp(prefix="tenure-membreak-"))
    server, address = procs.dev_server(work, wal=True)
    try:
        await procs.wait_temporal(address, server)
        db_url = f"sqlite:///{work / 'memory.db'}"
        engine = create_engine_for(db_url)
        upgrade(engine)
        settings = Settings(temporal_address=address, database_url=db_url, task_queue="membreak")
        client = await connect(settings, procs.payload_keys())
        program = read_program(ROOT / "program.toml")
        raw = os.environ.get("MEMBREAK_RAW") == "1"  # the raw engine's counting workflow instead
        if raw:
            from bench import counter
            from bench.raw import BenchCounter
            from bench.tenure_load import raw_sender
            from starter.sandbox_runner import runner_for
            from worker import RUNNER

            runner = runner_for(RUNNER.restrictions.with_passthrough_modules("bench"), client.data_converter)
            worker = Worker(client, task_queue="membreak", workflows=[BenchCounter], workflow_runner=runner)
            send_raw = raw_sender(client, "membreak")
        else:
            worker = build_worker(client, settings, program, engine)
        # as the API opens journeys: the program by content hash (MEMBREAK_WHOLE=1: the whole program, as before)
        store = None if os.environ.get("MEMBREAK_WHOLE") == "1" else engine
        options: dict[str, Any] = {} if store is None else {"programs": store}  # (main's client has no `programs`)
        tenure = TenureClient(client, program, "membreak", **options)

        async def open_journeys(prefix: str, count: int) -> None:
            per = 1 if prefix == "w" else int(os.environ.get("MEMBREAK_EVENTS", "1"))  # payments per journey
            jobs = client_jobs(spread(prefix, count, count * per))
            gate = asyncio.Semaphore(32)

            async def one(job: Any) -> None:
                async with gate:
                    if raw:
                        await send_raw(job)
                    else:
                        await tenure.send(job.customer, job.payload)

            await asyncio.gather(*(one(j) for j in jobs))
            running = worker._workflow_worker._running_workflows  # type: ignore[union-attr]  # the SDK's cache
            t0 = time.monotonic()
            while raw:
                if counter.value() >= len(jobs) + (0 if prefix == "w" else 20):
                    break
                await asyncio.sleep(0.2)
            while not raw:
                with engine.connect() as conn:
                    from sqlalchemy import text

                    rows = conn.execute(text("select count(*) from ledger_entries where kind = 'earn'")).scalar()
                if rows is not None and rows >= len(jobs) + (0 if prefix == "w" else 20):
                    break
                if time.monotonic() - t0 > 300:
                    raise TimeoutError(f"{rows} ledger rows, {len(running)} cached runs")
                await asyncio.sleep(0.2)
            await asyncio.sleep(1.0)

        async with worker:
            await open_journeys("w", 20)
            gc.collect()
            trace = os.environ.get("MEMBREAK_TRACE") == "1"
            if trace:
                tracemalloc.start(1)
                before = tracemalloc.take_snapshot()
            base_rss = procs.rss_kb(os.getpid())
            base_py, base_malloc = pymalloc(), malloc_in_use()
            await open_journeys("m", n)
            gc.collect()
            rss = procs.rss_kb(os.getpid())
            py, malloc = pymalloc(), malloc_in_use()
            running = worker._workflow_worker._running_workflows  # type: ignore[union-attr]  # the SDK's cache
            cached = len(running) - 20
            print(f"journeys opened: {n}; cached runs: {len(running)} (20 warm-up)")
            print(f"RSS per journey: {(rss - base_rss) / n:.1f} KB" + (" (tracemalloc on: inflated)" if trace else ""))

            def per(after: int, before: int) -> str:
                return f"{(after - before) / n / 1024:7.1f} KB"

            arena = "arenas allocated current"
            print(f"  pymalloc arenas (objects <= 512 B), per journey: {per(py[arena] << 20, base_py[arena] << 20)}")
            used = "bytes in allocated blocks"
            print(f"    of which live small objects: {per(py[used], base_py[used])}")
            free = "bytes in available blocks"
            print(f"    of which free blocks in those arenas (fragmentation): {per(py[free], base_py[free])}")
            print(f"  malloc in use (Rust core + Python objects > 512 B): {per(malloc, base_malloc)}")
            if trace:
                after = tracemalloc.take_snapshot()
                print("\ntracemalloc, per journey, by file:")
                stats = after.compare_to(before, "filename")
                for stat in stats[:14]:
                    name = str(stat.traceback[0].filename).replace(str(ROOT) + "/", "")
                    name = name.split("site-packages/")[-1]
                    print(f"  {stat.size_diff / n / 1024:7.2f} KB  {stat.count_diff / n:7.1f} objects  {name}")
                tracemalloc.stop()
            print("\nobject graph, per cached run (sys.getsizeof, owned by the run alone):")
            parts = breakdown(running)
            total = sum(size for size, _ in parts.values())
            for label, (size, count) in sorted(parts.items(), key=lambda kv: -kv[1][0])[:22]:
                print(f"  {size / len(running) / 1024:7.2f} KB  {count / len(running):7.1f} objects  {label}")
            print(f"  {total / len(running) / 1024:7.2f} KB  in all (per run; {cached} measured runs + 20 warm-up)")
            print("\nthe largest parts by type (KB per run):")
            for label, types in sorted(TYPES.items(), key=lambda kv: -sum(kv[1].values()))[:5]:
                shown = ", ".join(f"{name} {size / len(running) / 1024:.2f}" for name, size in types.most_common(6))
                print(f"  {label}: {shown}")
            kinds: Counter[str] = Counter()
            rw = next(iter(running.values()))
            barrier = {id(running)} | {id(r) for r in running.values()}
            shared = reachable([sys.modules, *[m for m in list(sys.modules.values()) if m is not None]], barrier)
            sizes: Counter[str] = Counter()
            stack = [rw]
            seen: set[int] = set()
            while stack:
                obj = stack.pop()
                if id(obj) in seen or id(obj) in shared or isinstance(obj, type | type(sys) | type(owned_by)):
                    continue
                seen.add(id(obj))
                kinds[type(obj).__qualname__] += 1
                sizes[type(obj).__qualname__] += sys.getsizeof(obj)
                stack.extend(gc.get_referents(obj))
            if os.environ.get("MEMBREAK_DETAIL"):
                detail(rw, shared)
            print("\none run's owned objects by type (top 15):")
            for name, size in sizes.most_common(15):
                print(f"  {size / 1024:7.2f} KB  {kinds[name]:6d}  {name}")
    finally:
        server.stop()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 500))
