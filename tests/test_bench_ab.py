"""The side-by-side A/B benches' shared parts (bench/ab.py) and their variant lists: pure, no servers."""

from __future__ import annotations

import os
import time

import pytest

from bench import ab, api_ab, worker_ab


def test_api_ab_variants_parse_and_refuse_a_name_that_would_merge_two_lanes(monkeypatch):
    monkeypatch.setenv("BENCH_AB_APIS", "before@/tmp/old;after;arena+MALLOC_ARENA_MAX=2")
    assert [(n, str(p), e) for n, p, e in api_ab.variants()] == [
        ("before", "/tmp/old", {}),
        ("after", str(api_ab.ROOT), {}),
        ("arena", str(api_ab.ROOT), {"MALLOC_ARENA_MAX": "2"}),
    ]
    for text in ("floor@/tmp/old", "a;a+X=1", "a;"):  # the floor's own name, a repeat, an empty one
        monkeypatch.setenv("BENCH_AB_APIS", text)
        with pytest.raises(SystemExit, match="variant name"):
            api_ab.variants()


def test_worker_ab_variants_refuse_a_repeated_name(monkeypatch):
    monkeypatch.setenv("BENCH_AB_VARIANTS", "pool=TENURE_WORKER_INLINE_ACTIVATIONS=false;old@/tmp/x=")
    assert [(n, e) for n, e, _ in worker_ab.variants()] == [
        ("pool", {"TENURE_WORKER_INLINE_ACTIVATIONS": "false"}),
        ("old", {}),
    ]
    monkeypatch.setenv("BENCH_AB_VARIANTS", "a=X=1;a=X=2")
    with pytest.raises(SystemExit, match="'a' is repeated"):
        worker_ab.variants()


def test_summary_is_the_median_of_per_round_ratios():
    results = {"floor": [1.0, 2.0, 1.0], "api": [1.2, 2.2, 1.5]}
    lines = ab.summary(results, "floor", "webhook", 3)
    assert lines[0] == "floor: median 1.000 ms/webhook (rounds 1.000, 2.000, 1.000); ÷ floor: 1.000×"
    # per-round ratios 1.2, 1.1, 1.5: their median, not the ratio of the medians (1.5 / 1.0)
    assert lines[1] == "api: median 1.500 ms/webhook (rounds 1.200, 2.200, 1.500); ÷ floor: 1.200×"


async def test_a_round_counts_the_cpu_its_load_spent(capsys):
    def burn() -> None:
        end = time.process_time() + 0.2
        while time.process_time() < end:
            pass

    async def load() -> None:
        burn()

    ms = await ab.cpu_round(3, os.getpid(), {"me": os.getpid()}, load, 10, 2)
    assert 15 <= ms["me"] <= 60, ms  # 0.2 s over 10 events: ~20 ms each (ticks of 10 ms)
    assert capsys.readouterr().out.startswith("round 3 (")


async def test_a_worker_lane_runs_with_the_supervisors_worker_environment_and_the_variants_own(monkeypatch, tmp_path):
    """Every A/B worker starts as `make run` starts one (two malloc arenas), unless its variant says otherwise."""
    from contextlib import AsyncExitStack

    from starter.supervisor.supervise import WORKER_ALLOCATOR_ENV

    started: dict[str, dict[str, str]] = {}

    class Recorded:
        def __init__(self, name, argv, env, log):
            started[name] = env

        def start(self):
            return self

        def stop(self):
            pass

    monkeypatch.setattr(ab.procs, "Proc", Recorded)
    async with AsyncExitStack() as stack:
        plain = ab.start_worker_lane(stack, tmp_path, "127.0.0.1:1", None, None, "plain", {}, tmp_path, "ab")
        own = ab.start_worker_lane(
            stack, tmp_path, "127.0.0.1:1", None, None, "own", {"MALLOC_ARENA_MAX": "8"}, tmp_path, "ab"
        )
    assert WORKER_ALLOCATOR_ENV.items() <= started["plain"].items()
    assert started["own"]["MALLOC_ARENA_MAX"] == "8"
    assert started["plain"]["TENURE_TASK_QUEUE"] == "ab-plain" and plain.tenure is not own.tenure
    plain.engine.dispose()
    own.engine.dispose()


def test_thread_cpu_splits_a_process_by_thread_name():
    """bench.fanout's split of the worker's CPU (Python threads, the SDK core's tokio and
    workflow-processing threads): summed by name, and the delta covers only what ran since."""
    import threading

    from bench import procs

    done = threading.Event()
    spun = threading.Event()

    def spin() -> None:
        while time.thread_time() < 0.3:  # its own CPU, however loaded the machine
            pass
        spun.set()
        done.wait(10)  # alive while the delta is read: an ended thread's time is no longer listed

    before = procs.thread_cpu(os.getpid())
    spinner = threading.Thread(target=spin, name="spinner")
    spinner.start()
    spun.wait(10)
    after = procs.thread_cpu_delta(os.getpid(), before)
    done.set()
    spinner.join()
    assert all(seconds >= 0 for seconds in after.values())
    # the OS names Python's threads "python" (a threading name stays in Python): the spinner's 0.3 s is there
    assert after.get("python", 0.0) >= 0.25, after
