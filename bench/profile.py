"""`python -m bench.profile`: where the worker's and the API's CPU per event goes, under bench load.

Starts a dev server (WAL pragmas unless BENCH_PROFILE_SERVER=default), Tenure's worker and API as
`make bench` does, warms them, then samples both with py-spy (`py-spy record --nonblocking`, raw
collapsed stacks) while signed invoice.paid webhooks go in at full load (BENCH_EVENTS, default
1,500 over BENCH_CUSTOMERS=400). Each process's CPU ms per event (from /proc) is split over what
its samples were doing, by area (the SDK, pydantic, the codec, FastAPI…) and by function (self
time). Writes bench/results/profile-<process>.txt (stacks) and prints the summary that
bench/RESULTS.md quotes. py-spy: `pip install py-spy` (a profiler only; not a dependency).

The floor in the same run (BENCH_PROFILE_FLOOR=0 to skip): the minimal HTTP endpoint
(`bench.minimal_api`, sampled as `floor`) feeding the raw engine's counting workflows on the same
server gets the same signed bodies, in BENCH_PROFILE_ROUNDS (default 2) rounds alternating with
Tenure's, so the API's CPU per webhook ÷ the floor's is a same-run, same-noise ratio.

BENCH_PROFILE_WORKER_ENV="TENURE_X=1,TENURE_Y=2" starts the worker with those settings (an A/B of a
worker setting; the bench strips the caller's TENURE_ variables).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import AsyncExitStack
from pathlib import Path

from bench import procs
from bench.load import CounterWatch, LedgerWatch, closed_loop
from bench.minihttp import MiniHttp
from bench.results import RESULTS_DIR
from bench.tenure_load import API_KEY, SECRET, http_sender, spread, stripe_jobs

ROOT = Path(__file__).resolve().parent.parent
RATE = int(os.environ.get("BENCH_PROFILE_RATE") or 250)  # samples per second; only samples holding the GIL (`--gil`)

# first match wins: (area, substring of a frame "function (file:line)")
AREAS = [
    ("payload codec (encryption)", "payload_codec"),
    ("payload codec (encryption)", "cryptography"),
    ("ledger (SQLAlchemy, sqlite)", "sqlalchemy"),
    ("ledger (SQLAlchemy, sqlite)", "storage/"),
    ("workflow sandbox", "workflow_sandbox"),
    ("Tenure workflow + domain", "workflows/"),
    ("Tenure workflow + domain", "domain/"),
    ("Tenure activities", "activities/"),
    ("pydantic (validate / dump)", "pydantic"),
    ("data converter (JSON, protobuf)", "converter.py"),
    ("data converter (JSON, protobuf)", "google/protobuf"),
    ("Temporal SDK: workflow activations", "_workflow_instance"),
    ("Temporal SDK: workflow activations", "worker/_workflow"),
    ("Temporal SDK: client calls", "temporalio/client"),
    ("Temporal SDK: client calls", "temporalio/service"),
    ("Temporal SDK: other", "temporalio"),
    ("Stripe signature + translation", "stripe"),
    ("Stripe signature + translation", "starter/ingress"),
    ("FastAPI routing, validation, answer", "fastapi"),
    ("Starlette + middleware", "starlette"),
    ("Starlette + middleware", "starter/api/middleware"),
    ("Starlette + middleware", "starter/api/metrics"),
    ("Tenure client + API code", "starter/"),
    ("uvicorn (HTTP parsing)", "uvicorn"),
    ("uvicorn (HTTP parsing)", "h11"),
    ("uvicorn (HTTP parsing)", "httptools"),
    ("logging", "logging/"),
    ("asyncio event loop", "asyncio"),
    ("threads", "threading.py"),
]


def area_of(stack: list[str]) -> str:
    """The innermost frame that belongs to a known area names the sample's area."""
    for frame in reversed(stack):
        for area, needle in AREAS:
            if needle in frame:
                return area
    return "other"


def read_collapsed(collapsed: Path) -> Iterator[tuple[list[str], int]]:
    """py-spy's collapsed format, one stack per line: `frame;frame;... count` → (frames, count)."""
    for line in collapsed.read_text().splitlines():
        stack_text, _, n = line.rpartition(" ")
        if stack_text:
            yield [f.strip() for f in stack_text.split(";")], int(n)


def tally(collapsed: Path) -> tuple[Counter[str], Counter[str], Counter[str], int]:
    """Samples by area, by own frame (the leaf), by every frame on the stack (inclusive), and in all."""
    areas: Counter[str] = Counter()
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for stack, count in read_collapsed(collapsed):
        areas[area_of(stack)] += count
        own[stack[-1]] += count
        for frame in set(stack):
            inclusive[frame] += count
        total += count
    return areas, own, inclusive, total


def summarize(collapsed: Path, cpu_ms: float, top: int = 15) -> str:
    """The process's CPU ms per event split by area in proportion to its GIL-holding samples (the
    SDK's Rust core and C libraries without the GIL are not seen: they count with their callers)."""
    areas, leaves, _, total = tally(collapsed)
    if not total:
        return "(no samples)\n"
    lines = [
        f"{cpu_ms:.2f} ms CPU per event (/proc), split by {total:,} samples of a thread holding the GIL",
        "",
        "| area | ms / event | share |",
        "|---|---|---|",
    ]
    lines += [f"| {a} | {cpu_ms * c / total:.2f} | {100 * c / total:.0f}% |" for a, c in areas.most_common()]
    lines += ["", f"top {top} functions by own time:", ""]
    lines += [f"- {100 * c / total:4.1f}%  {f}" for f, c in leaves.most_common(top)]
    return "\n".join(lines) + "\n"


def spy(pid: int, out: Path) -> subprocess.Popen:
    binary = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    return subprocess.Popen(
        [
            binary,
            "record",
            "--pid",
            str(pid),
            "--rate",
            str(RATE),
            "--gil",
            "--nonblocking",
            "--format",
            "raw",
            "-o",
            str(out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )


async def main() -> None:
    from settings import Settings
    from starter.client import TenureClient
    from starter.connect import connect
    from starter.program_file import read_program
    from storage.engine import create_engine_for
    from storage.migrate import upgrade

    events = int(os.environ.get("BENCH_EVENTS") or 1500)
    customers = int(os.environ.get("BENCH_CUSTOMERS") or 400)
    concurrency = int(os.environ.get("BENCH_CONCURRENCY") or 64)
    wal = os.environ.get("BENCH_PROFILE_SERVER", "wal") != "default"
    floor = os.environ.get("BENCH_PROFILE_FLOOR", "1") != "0"
    rounds = int(os.environ.get("BENCH_PROFILE_ROUNDS") or 2) if floor else 1
    work = Path(tempfile.mkdtemp(prefix="tenure-profile-"))
    RESULTS_DIR.mkdir(exist_ok=True)
    db_url = f"sqlite:///{work / 'tenure.db'}"
    engine = create_engine_for(db_url)
    upgrade(engine)
    async with AsyncExitStack() as stack:
        server, address = procs.dev_server(work, "temporal", wal=wal)
        stack.callback(server.stop)
        await procs.wait_temporal(address, server)
        worker_env = dict(
            item.split("=", 1) for item in os.environ.get("BENCH_PROFILE_WORKER_ENV", "").split(",") if "=" in item
        )
        worker = procs.tenure_worker(work, address, db_url, "profile", extra_env=worker_env)
        stack.callback(worker.stop)
        api, url = procs.api_server(work, address, db_url, "profile", SECRET, API_KEY)
        stack.callback(api.stop)
        await procs.wait_worker_ready(worker, "worker on")
        await procs.wait_http(url, api)
        client = await connect(Settings(temporal_address=address), procs.payload_keys())
        TenureClient(client, read_program(ROOT / "program.toml"), "profile")
        h = MiniHttp(url)
        stack.push_async_callback(h.aclose)
        send = http_sender(h)
        watch = LedgerWatch(engine)
        warm = stripe_jobs(spread("pw", concurrency, concurrency))
        await closed_loop(warm, send, concurrency)
        await watch.wait({j.key for j in warm}, 300)
        pids = {"worker": worker.pid, "api": api.pid}
        quiet_pids = [worker.pid, api.pid, server.pid]
        if floor:
            counter = work / "raw.count"
            raw = procs.raw_worker(work, address, "profile-raw", counter)
            stack.callback(raw.stop)
            await procs.wait_worker_ready(raw, "raw worker polling")
            minimal, floor_url = procs.api_server(
                work, address, "sqlite://", "profile-raw", SECRET, API_KEY, name="floor", app="bench.minimal_api:app"
            )
            stack.callback(minimal.stop)
            await procs.wait_http(floor_url, minimal)
            fh = MiniHttp(floor_url)
            stack.push_async_callback(fh.aclose)
            floor_send = http_sender(fh)
            count = CounterWatch(counter)
            warm = stripe_jobs(spread("fw", concurrency, concurrency))
            await closed_loop(warm, floor_send, concurrency)
            await count.wait(len(warm), 300)
            pids["floor"] = minimal.pid
            quiet_pids += [raw.pid, minimal.pid]
        outs = {name: RESULTS_DIR / f"profile-{name}.txt" for name in pids}
        spies = {name: spy(pid, outs[name]) for name, pid in pids.items()}
        cpu = {k: 0.0 for k in pids}
        seconds = {"tenure": 0.0, "floor": 0.0}
        ratios: list[float] = []  # each round's API ÷ floor: the machine's other load moves both
        for n in range(rounds):
            if floor:  # the floor first, then Tenure: the same bodies, the same server, moments apart
                jobs = stripe_jobs(spread(f"f{n}", customers, events))
                await procs.quiet(quiet_pids)
                before, t0 = count.value(), time.monotonic()
                c0 = procs.cpu_seconds(pids["floor"])
                await closed_loop(jobs, floor_send, concurrency)
                await count.wait(before + len(jobs), 300)
                seconds["floor"] += time.monotonic() - t0
                floor_ms = 1000 * (procs.cpu_seconds(pids["floor"]) - c0) / len(jobs)
                cpu["floor"] += floor_ms / rounds
            jobs = stripe_jobs(spread(f"p{n}", customers, events))
            await procs.quiet(quiet_pids)
            c0s = {k: procs.cpu_seconds(pids[k]) for k in ("worker", "api")}
            t0 = time.monotonic()
            await closed_loop(jobs, send, concurrency)
            await watch.wait({j.key for j in jobs}, 300)
            seconds["tenure"] += time.monotonic() - t0
            round_ms = {k: 1000 * (procs.cpu_seconds(pids[k]) - c0s[k]) / len(jobs) for k in ("worker", "api")}
            for k, ms in round_ms.items():
                cpu[k] += ms / rounds
            if floor:
                ratios.append(round_ms["api"] / floor_ms)
        for s in spies.values():
            s.send_signal(signal.SIGINT)
        for s in spies.values():
            s.wait(timeout=60)
    engine.dispose()
    shutil.rmtree(work, ignore_errors=True)
    total = events * rounds
    print(
        f"{total} signed webhooks at full load in {seconds['tenure']:.0f} s ({total / seconds['tenure']:.0f}/s), "
        f"{'WAL' if wal else 'default'} server"
    )
    if floor:
        print(
            f"the floor (bench.minimal_api), the same bodies: {total / seconds['floor']:.0f}/s; "
            f"API CPU per webhook {cpu['api']:.2f} ms vs the floor's {cpu['floor']:.2f} ms: "
            f"**{cpu['api'] / cpu['floor']:.2f}×** (target ≤ 1.2×); by round "
            f"{', '.join(f'{r:.2f}' for r in ratios)} (median {statistics.median(ratios):.2f})"
        )
    print()
    for name in pids:
        print(f"## {name}\n")
        print(summarize(outs[name], cpu[name]))


if __name__ == "__main__":
    asyncio.run(main())
    sys.stdout.flush()
    os._exit(0)  # as the supervisor: skip finalization (temporalio/sdk-python#300)
