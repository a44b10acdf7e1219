"""The campaign fan-out: a bonus campaign to `BENCH_CAMPAIGN_MEMBERS` journeys (20,000 by default).

Run after the memory phase, on its server (so on the server of the raw engine figure it is compared
with), by a worker of its own with the default cache (the memory phase's worker has an explicit
1,000-journey cache, for its "RSS bounded" row): it opens the members' journeys (one sign-up each)
in a database and on a task queue of its own. Starts a bonus campaign to all of them through
`CampaignClient`, as `tenure campaign start` does, and measures members reached per second (against
the raw engine's signals per second), the CPU each member costs the worker and the server, the
campaign workflow's longest run history (continue-as-new keeps each run short), and the worker's
RSS while the campaign runs.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from bench import procs

CAMPAIGN_ID = "bench-bonus"
OPEN_CONCURRENCY = 64
CAMPAIGN_QUEUE = "bench-campaign"


def projected(engine: Any) -> int:
    """Members in the customers projection: what a campaign's segment is read from."""
    import sqlalchemy as sa

    from storage.schema import customers

    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(customers)).scalar_one())


async def open_more(tenure: Any, engine: Any, members: int, tick: Callable[[int], None], timeout: float) -> None:
    """Open journeys (a sign-up each) until the projection holds `members`."""
    from domain.messages import SignedUp

    have = await asyncio.to_thread(projected, engine)
    gate = asyncio.Semaphore(OPEN_CONCURRENCY)

    async def open_journey(cid: str) -> None:
        async with gate:
            await tenure.send(cid, SignedUp(event_id=f"su-{cid}", email=f"{cid}@example.com", timezone="UTC"))

    sender = asyncio.gather(*(open_journey(f"cm{i:07d}") for i in range(max(0, members - have))))
    t0 = time.monotonic()
    while (n := await asyncio.to_thread(projected, engine)) < members:
        tick(n)
        if time.monotonic() - t0 > timeout:
            raise TimeoutError(f"only {n} of {members} members projected")
        await asyncio.sleep(0.5)
    await sender


async def run_campaign(
    tenure: Any,
    engine: Any,
    worker_pid: int,
    server_pid: int | None,
    concurrency: int,
    tick: Callable[[int], None],
    timeout: float = 3600.0,
    more_workers: tuple[int, ...] = (),
) -> dict:
    """A bonus campaign to every member of the projection; what it took (`more_workers`: the pids
    of further worker processes on the same task queue, whose CPU counts as the worker's)."""
    from domain.campaigns import CampaignDefinition, workflow_id

    client = tenure.client
    await procs.quiet([worker_pid])
    campaigns = tenure.campaigns(engine)
    definition = CampaignDefinition.model_validate(
        {
            "id": CAMPAIGN_ID,
            "name": "Bench bonus",
            "kind": "bonus",
            "bonus_points": 10,
            "filter": {"all": []},
            "rate": 10_000,
            "concurrency": concurrency,
            "page_size": 500,
        }
    )
    await campaigns.create(definition, "bench")
    rss_before = procs.rss_kb(worker_pid)
    rss_max = rss_before
    pids = {"worker": worker_pid, **({"temporal": server_pid} if server_pid else {})}
    pids |= {f"worker{i + 2}": pid for i, pid in enumerate(more_workers)}
    cpu0 = {k: procs.cpu_seconds(pid) for k, pid in pids.items()}
    started = time.monotonic()
    await campaigns.start(CAMPAIGN_ID, "bench")
    while True:
        p = await campaigns.status(CAMPAIGN_ID)
        tick(p.counts.targeted)
        rss_max = max(rss_max, procs.rss_kb(worker_pid))
        if p.state in ("completed", "failed", "cancelled"):
            break
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"campaign still {p.state} after {timeout:.0f} s: {p.counts}")
        await asyncio.sleep(0.5)
    wall = time.monotonic() - started
    reached = max(1, p.counts.targeted)
    cpu = {k: 1000 * (procs.cpu_seconds(pid) - cpu0[k]) / reached for k, pid in pids.items()}
    for k in [k for k in cpu if k.startswith("worker") and k != "worker"]:
        cpu["worker"] += cpu.pop(k)
    runs = []
    async for execution in client.list_workflows(f"WorkflowId = '{workflow_id(CAMPAIGN_ID)}'"):
        handle = client.get_workflow_handle(execution.id, run_id=execution.run_id)
        runs.append(len([e async for e in handle.fetch_history_events()]))
    return {
        "members": p.counts.targeted,
        "concurrency": concurrency,
        "state": p.state,
        "applied": p.counts.applied,
        "skipped": p.counts.skipped,
        "failed": p.counts.failed,
        "seconds": wall,
        "per_second": p.counts.targeted / wall,
        "cpu_ms_per_member": cpu,
        "runs": len(runs),
        "longest_run": max(runs) if runs else 0,
        "worker_rss_before_mb": rss_before / 1024,
        "worker_rss_max_mb": rss_max / 1024,
        "seconds_per_million": 1_000_000 * wall / reached,
    }


async def phase_campaign(
    work: Any, address: str, server_pid: int | None, members: int, concurrency: int, bar: Any
) -> dict:
    """Open `members` journeys on a fresh worker with the default cache, then the campaign to them."""
    from bench.__main__ import ROOT, TIMEOUT
    from settings import Settings
    from starter.client import TenureClient
    from starter.connect import connect
    from starter.program_file import read_program
    from storage.engine import create_engine_for
    from storage.migrate import upgrade

    db_url = f"sqlite:///{work / 'campaign.db'}"
    engine = create_engine_for(db_url)
    upgrade(engine)
    worker = procs.tenure_worker(work, address, db_url, CAMPAIGN_QUEUE, name="worker-campaign")
    try:
        await procs.wait_worker_ready(worker, "worker on")
        client = await connect(Settings(temporal_address=address), procs.payload_keys())
        tenure = TenureClient(client, read_program(ROOT / "program.toml"), CAMPAIGN_QUEUE, programs=engine)
        bar.phase(f"campaign: open {members:,} journeys", members)
        await open_more(tenure, engine, members, bar.at, TIMEOUT * 10)
        bar.done()
        bar.phase(f"campaign: a bonus to {members:,} members", members)
        result = await run_campaign(tenure, engine, worker.pid, server_pid, concurrency, bar.at)
        bar.done()
        return result
    finally:
        worker.stop()
        engine.dispose()
