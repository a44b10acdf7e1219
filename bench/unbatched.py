"""`python -m bench.unbatched`: what an event costs when it is its own workflow task.

At full load signals queue behind the workflow task in flight and one task applies several; at
half load (open loop) or in a campaign fan-out, every event wakes its journey alone and pays the
whole per-task cost (`make bench`'s half load: 6.65 ms of worker CPU per event against 1.8 at
full load). This probe isolates that: one WAL dev server; per worker variant, BENCH_UNBATCHED_JOURNEYS
(400) journeys opened with one payment each; then rounds in which each variant in turn gets
BENCH_EVENTS (800) payments at BENCH_UNBATCHED_RATE (40/s) dealt round-robin over its journeys
(each journey gets one every journeys/rate seconds: every event its own task), and, unless
BENCH_UNBATCHED_FULL=0, the same number at full load (64 in flight) to compare. Variants run one
after the other, never together, so the server's CPU per event is the variant's too; each
window's CPU ms per event (worker and server, from /proc) is printed gross and net of the
process's idle rate measured just before (pollers, heartbeat file).

Variants: BENCH_AB_VARIANTS as in `bench.worker_ab` ("name=ENV=v+ENV2=v;name2@/path/to/checkout";
default: this checkout). BENCH_UNBATCHED_RAW=1 adds the raw engine's counting workflow, paced the
same way (one signal per task: the SDK's floor for an activation). BENCH_UNBATCHED_PYSPY=name
records py-spy (`--gil --nonblocking`, BENCH_PROFILE_RATE samples/s, default 200; BENCH_UNBATCHED_GIL=0
drops `--gil`, but then threads waiting in a queue or epoll count as running) on that
variant's worker during one extra paced round and one extra full-load round, after the measured
ones (so it perturbs none of them), and prints each split by area and top functions by own and
by total time; the raw stacks go to bench/results/unbatched-<name>-<paced|full>.txt.
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
from collections.abc import Callable, Coroutine
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import procs
from bench.ab import start_worker_lane
from bench.load import CounterWatch, LedgerWatch, closed_loop, open_loop
from bench.profile import tally
from bench.results import RESULTS_DIR
from bench.tenure_load import client_jobs, client_sender, raw_jobs, raw_sender, spread
from bench.worker_ab import variants

ROOT = Path(__file__).resolve().parent.parent
IDLE_WINDOW = 3.0  # seconds of idle CPU measured before each window
PROFILED_EVENTS = int(os.environ.get("BENCH_UNBATCHED_PROFILE_EVENTS") or 0)  # the py-spy rounds' size


@dataclass
class Lane:
    name: str
    proc: procs.Proc
    send: Callable
    wait: Callable[[list], Coroutine[Any, Any, None]]
    jobs: Callable[[list[tuple[str, str]]], list]
    prefix: str
    next_key: int = 0
    windows: dict[str, list[dict[str, float]]] = field(default_factory=dict)

    def batch(self, journeys: int, events: int) -> list:
        pairs = spread(self.prefix, journeys, events, offset=self.next_key)
        self.next_key += events
        return self.jobs(pairs)


def thread_cpu(pid: int) -> dict[str, float]:
    """A process's CPU seconds by kind of thread (/proc/PID/task): the main thread (the worker's event
    loop), its other Python threads (activation and `to_thread` pools), the SDK core's tokio threads
    (gRPC, polling) and its workflow-processing thread (the state machines, in Rust)."""
    out: dict[str, float] = {}  # "<kind> user" / "<kind> sys"
    for task, comm, user, system in procs.thread_stats(pid):
        kind = "main" if task == str(pid) else "python" if comm == "python" else comm
        out[f"{kind} user"] = out.get(f"{kind} user", 0.0) + user
        out[f"{kind} sys"] = out.get(f"{kind} sys", 0.0) + system
    return out


async def window(lane: Lane, server: procs.Proc, jobs: list, rate: float | None, concurrency: int) -> dict[str, float]:
    """One measured window: idle rates first, then the events; CPU ms per event, gross and net of idle."""
    pids = {"worker": lane.proc.pid, "temporal": server.pid}
    await procs.quiet(list(pids.values()))
    i0 = {k: procs.cpu_seconds(p) for k, p in pids.items()}
    await asyncio.sleep(IDLE_WINDOW)
    idle = {k: (procs.cpu_seconds(p) - i0[k]) / IDLE_WINDOW for k, p in pids.items()}  # CPU s per s
    c0 = {k: procs.cpu_seconds(p) for k, p in pids.items()}
    threads0 = thread_cpu(lane.proc.pid)
    t0 = time.monotonic()
    waiter = asyncio.create_task(lane.wait(jobs))
    if rate is not None:
        await open_loop(jobs, lane.send, rate)
    else:
        await closed_loop(jobs, lane.send, concurrency)
    await waiter
    took = time.monotonic() - t0
    out: dict[str, float] = {"seconds": took, "per_second": len(jobs) / took}
    for k, p in pids.items():
        used = procs.cpu_seconds(p) - c0[k]
        out[k] = 1000 * used / len(jobs)
        out[f"{k}_net"] = 1000 * (used - idle[k] * took) / len(jobs)
        out[f"{k}_idle_ms_per_s"] = 1000 * idle[k]
    for kind, used in thread_cpu(lane.proc.pid).items():  # threads that ended in between are lost: few
        out[f"thread {kind}"] = 1000 * (used - threads0.get(kind, 0.0)) / len(jobs)
    return out


def spy(pid: int, out: Path, rate: int) -> subprocess.Popen:
    binary = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    argv = [binary, "record", "--pid", str(pid), "--rate", str(rate), "--nonblocking"]
    if os.environ.get("BENCH_UNBATCHED_GIL") != "0":  # only the thread holding the GIL (without, waits count)
        argv.append("--gil")
    return subprocess.Popen(
        [*argv, "--format", "raw", "-o", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
    )


PERF = os.environ.get("BENCH_UNBATCHED_PERF") == "1"  # `perf record` (every thread, native) instead of py-spy


def perf(pid: int, out: Path) -> subprocess.Popen:
    argv = ["perf", "record", "-F", "499", "-p", str(pid), "-o", str(out)]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)


def perf_split(data: Path, events: int) -> str:
    """Samples by thread kind and library, then the top symbols (the SDK core's Rust, libpython, the kernel)."""
    lines = []
    for sort in ("comm,dso", "dso,sym"):
        report = subprocess.run(
            ["perf", "report", "-i", str(data), "--stdio", "--no-children", "--sort", sort, "--percent-limit", "0.7"],
            capture_output=True,
            text=True,
        ).stdout
        lines += [line for line in report.splitlines() if line.strip() and not line.startswith("#")][:45]
        lines.append("")
    return "\n".join(lines)


def split(collapsed: Path, events: int, rate: int, cpu_ms: float, top: int = 25) -> str:
    """Python time (a thread holding the GIL) in ms per event, by area, and the top functions by own
    and by total (inclusive) time: each sample is 1/rate s. What the samples do not cover of /proc's
    `cpu_ms` is time without the GIL: the SDK core's Rust threads, C code that releases it."""
    areas, own, inclusive, total = tally(collapsed)
    if not total:
        return "(no samples)\n"
    per = 1000 / rate / events  # ms per event of one sample
    lines = [
        f"{cpu_ms:.2f} ms CPU per event (/proc, net of idle); {total:,} samples of the GIL holder: "
        f"{total * per:.2f} ms per event of Python",
        "",
    ]
    lines += [f"| {a} | {c * per:.3f} ms | {100 * c / total:.0f}% |" for a, c in areas.most_common()]
    lines += ["", "top by own time:"]
    lines += [f"  {100 * c / total:5.1f}%  {c * per:.3f} ms  {f}" for f, c in own.most_common(top)]
    lines += ["", "top by total time:"]
    lines += [f"  {100 * c / total:5.1f}%  {c * per:.3f} ms  {f}" for f, c in inclusive.most_common(top * 2)]
    return "\n".join(lines) + "\n"


async def main() -> None:
    from settings import Settings
    from starter.connect import connect
    from starter.program_file import read_program

    journeys = int(os.environ.get("BENCH_UNBATCHED_JOURNEYS") or 400)
    rate = float(os.environ.get("BENCH_UNBATCHED_RATE") or 40)
    events = int(os.environ.get("BENCH_EVENTS") or 800)
    rounds = int(os.environ.get("BENCH_AB_ROUNDS") or 3)
    full = os.environ.get("BENCH_UNBATCHED_FULL", "1") != "0"
    profiled = os.environ.get("BENCH_UNBATCHED_PYSPY") or None
    spy_rate = int(os.environ.get("BENCH_PROFILE_RATE") or 200)
    work = Path(tempfile.mkdtemp(prefix="tenure-unbatched-"))
    program = read_program(ROOT / "program.toml")
    lanes: list[Lane] = []
    async with AsyncExitStack() as stack:
        server, address = procs.dev_server(work, "temporal", wal=True)
        stack.callback(server.stop)
        await procs.wait_temporal(address, server)
        client = await connect(Settings(temporal_address=address), procs.payload_keys())
        for name, env, root in variants() if os.environ.get("BENCH_AB_VARIANTS") else [("this", {}, ROOT)]:
            worker = start_worker_lane(stack, work, address, client, program, name, env, root, "ub")
            proc, watch = worker.proc, LedgerWatch(worker.engine)

            async def wait_rows(jobs: list, watch: LedgerWatch = watch) -> None:
                await watch.wait({j.key for j in jobs}, 600)

            lanes.append(Lane(name, proc, client_sender(worker.tenure), wait_rows, client_jobs, f"u{name}"))
        if os.environ.get("BENCH_UNBATCHED_RAW") == "1":
            counter = CounterWatch(work / "raw.count")
            proc = procs.raw_worker(work, address, "ub-raw", counter.path)
            stack.callback(proc.stop)

            async def wait_count(jobs: list) -> None:
                await counter.wait(counter.value() + len(jobs), 600)

            lanes.append(Lane("raw", proc, raw_sender(client, "ub-raw"), wait_count, raw_jobs, "uraw"))
        for lane in lanes:
            await procs.wait_worker_ready(lane.proc, "raw worker polling" if lane.name == "raw" else "worker on")
        # open every journey (one payment each), then one more round each so the workers are warm
        for lane in lanes:
            jobs = lane.batch(journeys, journeys)
            if lane.name == "raw":  # the counter counts from here
                before = counter.value()
                await closed_loop(jobs, lane.send, 32)
                await counter.wait(before + len(jobs), 600)
            else:
                await closed_loop(jobs, lane.send, 32)
                await lane.wait(jobs)
            await closed_loop(lane.batch(journeys, journeys), lane.send, 32)
        for lane in lanes:
            if lane.name == "raw":
                await counter.wait(2 * journeys, 600)
        print(f"{len(lanes)} lanes, {journeys} journeys each open; {events} events a window", flush=True)
        for r in range(rounds):
            order = lanes[r % len(lanes) :] + lanes[: r % len(lanes)]
            for lane in order:
                modes = [("paced", rate)] + ([("full", None)] if full else [])
                for mode, mode_rate in modes:
                    w = await window(lane, server, lane.batch(journeys, events), mode_rate, 64)
                    lane.windows.setdefault(mode, []).append(w)
                    print(
                        f"round {r + 1} {lane.name:>10} {mode:>5}: {w['per_second']:6.1f}/s  worker {w['worker']:.2f} "
                        f"(net {w['worker_net']:.2f}, idle {w['worker_idle_ms_per_s']:.1f} ms/s)  temporal "
                        f"{w['temporal']:.2f} (net {w['temporal_net']:.2f})  load {os.getloadavg()[0]:.1f}",
                        flush=True,
                    )
        spied: dict[str, tuple[Path, dict[str, float]]] = {}
        if profiled:
            lane = next(x for x in lanes if x.name == profiled)
            RESULTS_DIR.mkdir(exist_ok=True)
            for mode, mode_rate in [("paced", rate)] + ([("full", None)] if full else []):
                out = RESULTS_DIR / f"unbatched-{profiled}-{mode}.txt"
                jobs = lane.batch(journeys, PROFILED_EVENTS or events)
                await procs.quiet([lane.proc.pid, server.pid])
                s = perf(lane.proc.pid, out.with_suffix(".perf")) if PERF else spy(lane.proc.pid, out, spy_rate)
                await asyncio.sleep(1.0)  # py-spy attached
                w = await window(lane, server, jobs, mode_rate, 64)
                s.send_signal(signal.SIGINT)
                s.wait(timeout=60)
                spied[mode] = (out, w)
    print()
    for lane in lanes:
        for mode, ws in lane.windows.items():
            med = {k: statistics.median(w.get(k, 0.0) for w in ws) for k in ws[0]}
            each = ", ".join(f"{w['worker']:.2f}" for w in ws)
            print(
                f"{lane.name} {mode}: median of {len(ws)} windows, CPU ms per event: worker {med['worker']:.2f} "
                f"(net of idle {med['worker_net']:.2f}; rounds {each}), "
                f"temporal {med['temporal']:.2f} (net {med['temporal_net']:.2f}); {med['per_second']:.0f}/s"
            )
            threads = {k[7:]: v for k, v in med.items() if k.startswith("thread ")}
            print("   worker by thread, ms per event: " + ", ".join(f"{k} {v:.2f}" for k, v in sorted(threads.items())))
    for mode, (out, w) in spied.items():
        by_thread = ", ".join(f"{k[7:]} {v:.2f}" for k, v in sorted(w.items()) if k.startswith("thread "))
        print(f"\n## {profiled}, {mode} (worker by thread, ms per event: {by_thread})\n")
        if PERF:
            print(perf_split(out.with_suffix(".perf"), PROFILED_EVENTS or events))
        else:
            print(split(out, PROFILED_EVENTS or events, spy_rate, w["worker_net"]))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
    sys.stdout.flush()
    os._exit(0)  # skip finalization (temporalio/sdk-python#300)
