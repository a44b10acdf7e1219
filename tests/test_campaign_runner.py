"""The campaign runner on the time-skipping server: one workflow per campaign pages through the segment.

Journeys are stood in for by `FakeJourneys` (tests/campaign_kit.py), which applies a campaign once per
member as the journey's `apply_campaign` does, so these tests see exactly whom the runner reached and
how often; tests/test_campaign_dev_server.py runs real journeys.
"""

from __future__ import annotations

import asyncio

import pytest

from domain.holdout import in_holdout
from storage import campaigns as records
from tests.campaign_kit import (
    FakeJourneys,
    add_members,
    bonus_campaign,
    campaign_worker,
    database,
    member_ids,
    wait_for,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def finished(campaigns, campaign_id: str):
    return await wait_for(
        lambda: campaigns.status(campaign_id), lambda p: p.state in ("completed", "cancelled", "failed")
    )


async def test_a_campaign_reaches_every_member_once_and_holds_out_the_hashed_ones(time_env, tmp_path):
    engine = database(tmp_path)
    ids = member_ids(60)
    add_members(engine, ids)
    journeys = FakeJourneys()
    async with campaign_worker(time_env.client, engine, journeys) as campaigns:
        definition = bonus_campaign("hello", holdout_percent=20)
        await campaigns.create(definition, "test")
        preview = await campaigns.preview("hello")
        await campaigns.start("hello", "test")
        progress = await finished(campaigns, "hello")
    held = {c for c in ids if in_holdout("hello", c, 20)}
    assert 0 < len(held) < 30
    assert progress.state == "completed", progress
    assert progress.counts.targeted == 60
    assert progress.counts.held_out == len(held) == preview.held_out
    assert progress.counts.applied == 60 - len(held) == preview.reached
    assert progress.counts.points_granted == 100 * (60 - len(held)) == preview.max_points
    assert set(journeys.applied) == set(ids) - held
    assert all(n == 1 for n in journeys.applied.values())
    rows = records.member_rows(engine, "hello")
    assert {r.customer_id for r in rows if r.group == "holdout"} == held
    record = records.get_campaign(engine, "hello")
    assert record is not None and record.state == "completed" and record.progress is not None
    assert record.progress.counts == progress.counts


async def test_holdout_is_the_same_members_every_time(time_env, tmp_path):
    """The same campaign id holds out the same members on every run, preview and worker; another id others."""
    ids = member_ids(2000)
    first = {c for c in ids if in_holdout("spring", c, 10)}
    assert first == {c for c in ids if in_holdout("spring", c, 10)}
    assert 150 < len(first) < 250  # about 10 %
    assert first != {c for c in ids if in_holdout("autumn", c, 10)}
    engine = database(tmp_path)
    add_members(engine, ids[:80])
    async with campaign_worker(time_env.client, engine, FakeJourneys()) as campaigns:
        for cid in ("spring", "again"):
            await campaigns.create(bonus_campaign(cid, holdout_percent=10), "test")
        await campaigns.start("spring", "test")
        await finished(campaigns, "spring")
    held = {r.customer_id for r in records.member_rows(engine, "spring") if r.group == "holdout"}
    assert held == first & set(ids[:80])


async def test_the_budget_runs_out_mid_campaign_and_the_campaign_says_so(time_env, tmp_path):
    engine = database(tmp_path)
    ids = member_ids(50)
    add_members(engine, ids)
    journeys = FakeJourneys()
    async with campaign_worker(time_env.client, engine, journeys) as campaigns:
        definition = bonus_campaign("budget", budget={"total_points": 2050, "per_member_points": 100}, concurrency=4)
        await campaigns.create(definition, "test")
        await campaigns.start("budget", "test")
        progress = await finished(campaigns, "budget")
    assert progress.state == "completed"
    assert progress.counts.points_granted <= 2050
    assert progress.counts.applied == 21  # 20 × 100, then 50 left: the last touch grants what remains
    assert progress.counts.skipped.get("budget_spent", 0) >= 1
    assert progress.counts.targeted < 50, "members after the budget ran out are not reached"
    assert progress.stopped_because is not None and "budget spent" in progress.stopped_because
    assert sum(journeys.applied.values()) == 21
    assert progress.budget_left == 0


async def test_pause_stops_within_a_page_resume_continues_from_the_cursor(time_env, tmp_path):
    engine = database(tmp_path)
    ids = member_ids(120)
    add_members(engine, ids)
    journeys = FakeJourneys(delay=0.02)
    async with campaign_worker(time_env.client, engine, journeys) as campaigns:
        await campaigns.create(bonus_campaign("pausing", concurrency=2), "test")
        await campaigns.start("pausing", "test")
        await wait_for(lambda: campaigns.status("pausing"), lambda p: p.counts.targeted >= 10)
        await campaigns.pause("pausing")
        paused = await wait_for(lambda: campaigns.status("pausing"), lambda p: p.state == "paused")
        assert paused.counts.targeted <= 30, "a pause takes effect within one page"
        reached = sum(journeys.calls.values())
        await asyncio.sleep(0.5)
        assert sum(journeys.calls.values()) == reached, "nobody is reached while paused"
        with pytest.raises(Exception, match="pause"):
            await campaigns.pause("pausing")
        await campaigns.resume("pausing")
        done = await finished(campaigns, "pausing")
    assert done.state == "completed" and done.counts.applied == 120
    assert all(n == 1 for n in journeys.calls.values()), "resumed from the cursor: nobody asked twice"
    assert records.get_campaign(engine, "pausing").state == "completed"


async def test_cancel_ends_the_campaign_and_reaches_nobody_more(time_env, tmp_path):
    engine = database(tmp_path)
    add_members(engine, member_ids(200))
    journeys = FakeJourneys(delay=0.02)
    async with campaign_worker(time_env.client, engine, journeys) as campaigns:
        await campaigns.create(bonus_campaign("stopping", concurrency=2), "test")
        await campaigns.start("stopping", "test")
        await wait_for(lambda: campaigns.status("stopping"), lambda p: p.counts.targeted >= 10)
        await campaigns.cancel("stopping")
        done = await finished(campaigns, "stopping")
        reached = sum(journeys.calls.values())
        await asyncio.sleep(0.3)
        assert sum(journeys.calls.values()) == reached
        with pytest.raises(Exception, match="cancelled"):
            await campaigns.resume("stopping")
    assert done.state == "cancelled" and done.counts.targeted < 200
    assert records.get_campaign(engine, "stopping").state == "cancelled"


async def test_a_worker_killed_mid_campaign_reaches_nobody_twice(time_env, tmp_path):
    engine = database(tmp_path)
    ids = member_ids(100)
    add_members(engine, ids)
    journeys = FakeJourneys()
    journeys.hang_after = 35  # the 35th member's journey applies the touch, then the worker dies
    queue = "campaigns-restart"
    async with campaign_worker(time_env.client, engine, journeys, queue, max_cached_workflows=0) as campaigns:
        await campaigns.create(bonus_campaign("restart", concurrency=4), "test")
        await campaigns.start("restart", "test")
        await wait_for(lambda: asyncio.sleep(0, sum(journeys.applied.values())), lambda n: n >= 35)
    journeys.hang_after = None
    async with campaign_worker(time_env.client, engine, journeys, task_queue=queue) as campaigns:
        record = await wait_for(lambda: campaigns.get("restart"), lambda r: r.state == "completed", timeout=120)
        done = record.progress
    assert done.state == "completed", done
    assert set(journeys.applied) == set(ids)
    assert all(n == 1 for n in journeys.applied.values()), "no member's journey applied the campaign twice"
    asked_again = [c for c, n in journeys.calls.items() if n == 2]
    assert asked_again, "the members reached but not recorded when the worker died are asked again"
    assert max(journeys.calls.values()) == 2, "and answered the first result: applied once"
    rows = records.member_rows(engine, "restart")
    assert sorted(r.customer_id for r in rows) == ids
    assert done.counts.applied == 100 and done.counts.points_granted == 100 * 100
