"""Helpers for campaign tests: members in the projection, journeys that answer touches, a campaign worker."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from temporalio.client import Client
from temporalio.worker import Worker

from activities.campaigns import CampaignActivities
from domain.campaign_touch import CampaignTouch, TouchResult
from domain.campaigns import CampaignDefinition
from settings import Settings
from starter.client import NoJourney
from starter.client.campaigns import CampaignClient
from storage.engine import create_engine_for
from storage.migrate import upgrade
from storage.schema import customers
from worker import RUNNER
from workflows.campaign import CampaignWorkflow


def add_members(engine: Engine, ids: list[str], **columns: Any) -> None:
    """Members as their journeys would have projected them (active, reachable, UTC unless told)."""
    now = datetime.now(UTC)
    rows = [
        {
            "customer_id": cid,
            "email": f"{cid}@example.com",
            "timezone": "UTC",
            "program_version": "test",
            "created_at": now,
            "updated_at": now,
            "status": "active",
            "tier": "member",
            "email_reachable": True,
            "lifetime_spend_minor": 0,
            **columns,
        }
        for cid in ids
    ]
    with engine.begin() as conn:
        conn.execute(sa.insert(customers), rows)


def member_ids(n: int, prefix: str = "cus_") -> list[str]:
    return [f"{prefix}{i:05d}" for i in range(n)]


class FakeJourneys:
    """Journeys as the runner sees them through `apply_campaign`: a campaign applies once per member,
    a repeat answers the first result. `applied` counts applications, `calls` every call."""

    def __init__(self, points_of: Callable[[CampaignTouch], int] | None = None, delay: float = 0.0) -> None:
        self.results: dict[tuple[str, str], TouchResult] = {}
        self.applied: Counter[str] = Counter()
        self.calls: Counter[str] = Counter()
        self.delay = delay
        self.hang_after: int | None = None  # hang (a killed worker) once this many have been applied
        self.missing: set[str] = set()
        self.touches: dict[str, CampaignTouch] = {}  # the last touch each member's journey received
        self.points_of = points_of or (
            lambda t: min(t.bonus_points or 0, t.max_points if t.max_points is not None else 10**9)
        )

    async def apply(self, customer_id: str, touch: CampaignTouch) -> TouchResult:
        self.calls[customer_id] += 1
        self.touches[customer_id] = touch
        if customer_id in self.missing:
            raise NoJourney(customer_id)
        if self.delay:
            await asyncio.sleep(self.delay)
        key = (customer_id, touch.campaign_id)
        if key not in self.results:
            self.results[key] = TouchResult(
                campaign_id=touch.campaign_id, outcome="applied", points_granted=self.points_of(touch)
            )
            self.applied[customer_id] += 1
            if self.hang_after is not None and sum(self.applied.values()) >= self.hang_after:
                await asyncio.Event().wait()  # the worker dies here: reached, not recorded
        return self.results[key]


def database(tmp_path: Path, db_url: str | None = None) -> Engine:
    engine = create_engine_for(db_url or f"sqlite:///{tmp_path / 'tenure.db'}")
    upgrade(engine)
    return engine


@asynccontextmanager
async def campaign_worker(
    client: Client, engine: Engine, journeys: FakeJourneys, task_queue: str | None = None, **options: Any
):
    """A worker running campaigns only, their journeys `journeys`; yields a CampaignClient.

    `max_cached_workflows=0` for a worker that is to die: the time-skipping server never moves a
    workflow off a dead worker's sticky queue, as a real server does after a few seconds."""
    queue = task_queue or f"campaigns-{uuid.uuid4().hex[:8]}"
    acts = CampaignActivities(engine, apply=journeys.apply)
    worker = Worker(
        client,
        task_queue=queue,
        workflows=[CampaignWorkflow],
        activities=[acts.campaign_page, acts.count_campaign_segment, acts.record_campaign_state],
        workflow_runner=RUNNER,
        graceful_shutdown_timeout=timedelta(seconds=0),
        **options,
    )
    async with worker:
        yield CampaignClient(client, engine, queue)


def bonus_campaign(campaign_id: str = "bonus-1", **fields: Any) -> CampaignDefinition:
    base: dict[str, Any] = {
        "id": campaign_id,
        "name": "Bonus",
        "kind": "bonus",
        "bonus_points": 100,
        "filter": {"all": []},
        "rate": 1000,
        "page_size": 10,
    }
    return CampaignDefinition.model_validate(base | fields)


async def wait_for(probe: Callable[[], Awaitable[Any]], check: Callable[[Any], bool], timeout: float = 30) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = await probe()
        if check(value):
            return value
        if loop.time() > deadline:
            raise AssertionError(f"not reached in {timeout} s: {value!r}")
        await asyncio.sleep(0.05)


def settings_for(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path)
