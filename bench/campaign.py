"""The campaign fan-out: a bonus campaign to `campaign_members` journeys, on the raw engine's server.

Opens the journeys (one sign-up each, so each has its row in the customers projection), then starts a
bonus campaign to all of them through `CampaignClient`, as `tenure campaign start` does, and
measures members reached per second (to compare with the raw engine's signals per second), the
campaign workflow's longest run history (continue-as-new keeps each run short), and the worker's
RSS while the campaign runs.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

from bench import procs

CAMPAIGN_ID = "bench-bonus"
OPEN_CONCURRENCY = 64


async def phase_campaign(
    members: int,
    concurrency: int,
    work: Path,
    address: str,
    tick_open: Callable[[int], None],
    tick_reach: Callable[[int], None],
    timeout: float = 3600.0,
) -> dict:
    import sqlalchemy as sa

    from domain.campaigns import CampaignDefinition, workflow_id
    from domain.messages import SignedUp
    from settings import Settings
    from starter.client import TenureClient
    from starter.connect import connect
    from starter.program_file import read_program
    from storage.engine import create_engine_for
    from storage.migrate import upgrade
    from storage.schema import customers

    root = Path(__file__).resolve().parent.parent
    db_url = f"sqlite:///{work / 'campaign.db'}"
    engine = create_engine_for(db_url)
    upgrade(engine)
    tq = "bench-campaign"
    worker = procs.tenure_worker(work, address, db_url, tq, name="worker-campaign")
    try:
        await procs.wait_worker_ready(worker, "worker on")
        program = read_program(root / "program.toml")
        client = await connect(Settings(temporal_address=address), procs.payload_keys())
        tenure = TenureClient(client, program, tq)
        ids = [f"cm{i:07d}" for i in range(members)]
        gate = asyncio.Semaphore(OPEN_CONCURRENCY)
        opened = 0
        t0 = time.monotonic()

        async def open_journey(cid: str) -> None:
            nonlocal opened
            async with gate:
                await tenure.send(cid, SignedUp(event_id=f"su-{cid}", email=f"{cid}@example.com", timezone="UTC"))

        def projected() -> int:
            with engine.connect() as conn:
                stmt = sa.select(sa.func.count()).select_from(customers).where(customers.c.signed_up_at.is_not(None))
                return int(conn.execute(stmt).scalar_one())

        sender = asyncio.gather(*(open_journey(c) for c in ids))
        while True:
            opened = await asyncio.to_thread(projected)
            tick_open(opened)
            if opened >= members:
                break
            if time.monotonic() - t0 > timeout:
                raise TimeoutError(f"only {opened} of {members} journeys projected")
            await asyncio.sleep(0.5)
        await sender
        open_seconds = time.monotonic() - t0
        await procs.quiet([worker.pid])

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
        rss_before = procs.rss_kb(worker.pid)
        rss_max = rss_before
        started = time.monotonic()
        await campaigns.start(CAMPAIGN_ID, "bench")
        while True:
            p = await campaigns.status(CAMPAIGN_ID)
            tick_reach(p.counts.targeted)
            rss_max = max(rss_max, procs.rss_kb(worker.pid))
            if p.state in ("completed", "failed", "cancelled"):
                break
            if time.monotonic() - started > timeout:
                raise TimeoutError(f"campaign still {p.state} after {timeout:.0f} s: {p.counts}")
            await asyncio.sleep(0.5)
        wall = time.monotonic() - started
        runs = []
        query = f"WorkflowId = '{workflow_id(CAMPAIGN_ID)}'"
        async for execution in client.list_workflows(query):
            handle = client.get_workflow_handle(execution.id, run_id=execution.run_id)
            events = 0
            async for _ in handle.fetch_history_events():
                events += 1
            runs.append(events)
        assert p.started_at is not None and p.finished_at is not None
        inside = (p.finished_at - p.started_at).total_seconds()
        return {
            "members": members,
            "concurrency": concurrency,
            "state": p.state,
            "applied": p.counts.applied,
            "skipped": p.counts.skipped,
            "failed": p.counts.failed,
            "journeys_opened_per_second": members / open_seconds,
            "seconds": wall,
            "workflow_seconds": inside,
            "per_second": p.counts.targeted / wall,
            "runs": len(runs),
            "longest_run": max(runs) if runs else 0,
            "worker_rss_before_mb": rss_before / 1024,
            "worker_rss_max_mb": rss_max / 1024,
            "seconds_per_million": 1_000_000 * wall / max(1, p.counts.targeted),
        }
    finally:
        worker.stop()
        engine.dispose()
