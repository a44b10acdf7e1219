"""The campaign runner on the time-skipping server: one workflow per campaign pages through the segment.

Journeys are stood in for by `FakeJourneys` (tests/campaign_kit.py), which applies a campaign once per
member as the journey's `apply_campaign` does, so these tests see exactly whom the runner reached and
how often; tests/test_campaign_dev_server.py runs real journeys.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain.campaigns import workflow_id
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


async def test_a_campaign_reaches_every_member_once_and_holds_out_the_hashed_ones(time_env, tmp_path, db_url):
    engine = database(tmp_path, db_url)  # SQLite, and PostgreSQL when TENURE_TEST_POSTGRES_URL is set
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


async def test_a_worker_killed_mid_campaign_reaches_nobody_twice(time_env, tmp_path, db_url):
    engine = database(tmp_path, db_url)
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


async def test_a_weekend_in_each_members_local_time(time_env, tmp_path):
    """Start at 09:00 and a double-points weekend, both in each member's zone: Tokyo is reached first, New York
    fourteen hours later, and each journey's window is its own local weekend."""
    engine = database(tmp_path)
    add_members(engine, member_ids(6, "ny_"), timezone="America/New_York")
    add_members(engine, member_ids(6, "tokyo_"), timezone="Asia/Tokyo")
    journeys = FakeJourneys()
    saturday = (datetime.now(UTC) + timedelta(days=3)).replace(tzinfo=None, hour=0, minute=0, second=0, microsecond=0)
    start = saturday - timedelta(hours=15)  # Friday 09:00, local
    async with campaign_worker(time_env.client, engine, journeys) as campaigns:
        definition = bonus_campaign(
            "weekend",
            kind="multiplier",
            bonus_points=None,
            local_time=True,
            start={"at": start.isoformat(), "local_time": True},
            multiplier={
                "factor": 2,
                "starts_at": saturday.isoformat(),
                "ends_at": (saturday + timedelta(days=2)).isoformat(),
            },
        )
        await campaigns.create(definition, "test")
        await campaigns.start("weekend", "test")
        await wait_for(lambda: campaigns.status("weekend"), lambda p: p.next_due_at is not None)
        tokyo_first = records.member_rows(engine, "weekend")
        await time_env.sleep(timedelta(days=4))  # the time-skipping server skips to New York's 09:00
        progress = await finished(campaigns, "weekend")
    assert tokyo_first == [], "nobody is reached before their local time"
    assert progress.state == "completed" and progress.counts.applied == 12 and progress.passes == 3
    reached = {r.customer_id: r.at for r in records.member_rows(engine, "weekend")}
    tokyo, new_york = ZoneInfo("Asia/Tokyo"), ZoneInfo("America/New_York")
    for cid, at in reached.items():
        zone = tokyo if cid.startswith("tokyo_") else new_york
        due = start.replace(tzinfo=zone)
        assert due <= at < due + timedelta(minutes=1), (cid, at, due)
        window = journeys.touches[cid].multiplier
        assert window is not None
        assert window.starts_at == saturday.replace(tzinfo=zone) and window.ends_at == (
            saturday + timedelta(days=2)
        ).replace(tzinfo=zone)
    assert max(reached[c] for c in reached if c.startswith("tokyo_")) < min(
        reached[c] for c in reached if c.startswith("ny_")
    )


async def test_a_campaign_at_a_time_waits_paused_stays_paused_and_temporal_cancel_counts(time_env, tmp_path):
    engine = database(tmp_path)
    add_members(engine, member_ids(20))
    journeys = FakeJourneys()
    at = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    async with campaign_worker(time_env.client, engine, journeys) as campaigns:
        await campaigns.create(bonus_campaign("later", start={"at": at}), "test")
        assert (await campaigns.start("later", "test")).state == "scheduled"
        await wait_for(lambda: campaigns.status("later"), lambda p: p.state == "scheduled")
        await campaigns.pause("later")
        await time_env.sleep(timedelta(days=2))
        assert not journeys.calls, "paused before its time: it does not begin"
        await campaigns.resume("later")
        await wait_for(lambda: campaigns.status("later"), lambda p: p.state == "completed")
        assert len(journeys.applied) == 20

        later = (await time_env.get_current_time()) + timedelta(days=1)
        await campaigns.create(bonus_campaign("dropped", start={"at": later.isoformat()}), "test")
        await campaigns.start("dropped", "test")
        await wait_for(lambda: campaigns.status("dropped"), lambda p: p.state == "scheduled")
        await time_env.client.get_workflow_handle(workflow_id("dropped")).cancel()
        record = await wait_for(lambda: campaigns.get("dropped"), lambda r: r.state == "cancelled")
    assert record.stopped_because == "the workflow was cancelled"


async def test_a_discount_to_the_members_of_a_saved_segment(time_env, tmp_path):
    """ "A 20 % discount to members at risk, valid 14 days": the saved segment's members only, each touch the offer."""
    from domain.segments import Segment
    from storage.segments import save_segment

    engine = database(tmp_path)
    add_members(engine, member_ids(8, "risky_"), at_risk=True)
    add_members(engine, member_ids(8, "happy_"), at_risk=False)
    segment = {"all": [{"field": "at_risk", "op": "is_true"}]}
    save_segment(
        engine,
        Segment.model_validate(
            {
                "segment_id": "at-risk",
                "name": "At risk",
                "filter": segment,
                "created_at": datetime.now(UTC),
                "created_by": "test",
            }
        ),
    )
    journeys = FakeJourneys()
    async with campaign_worker(time_env.client, engine, journeys) as campaigns:
        definition = bonus_campaign(
            "winback-20",
            kind="offer",
            bonus_points=None,
            filter=None,
            segment="at-risk",
            template_id="d-winback",
            offer={"percent_off": 20, "valid_days": 14},
        )
        await campaigns.create(definition, "test")
        await campaigns.start("winback-20", "test")
        done = await finished(campaigns, "winback-20")
    assert done.state == "completed" and set(journeys.applied) == set(member_ids(8, "risky_"))
    offer = journeys.touches["risky_00000"].offer
    assert offer is not None and offer.percent_off == 20 and offer.valid_days == 14


async def test_the_cli_follows_a_running_campaign_to_its_end(time_env, tmp_path):
    from settings import Settings
    from tests.test_cli import ainvoke

    engine = database(tmp_path)
    add_members(engine, member_ids(150))
    journeys = FakeJourneys(delay=0.03)
    async with campaign_worker(time_env.client, engine, journeys) as campaigns:
        settings = Settings(
            temporal_address=time_env.client.service_client.config.target_host,
            task_queue=campaigns.task_queue,
            database_url=str(engine.url),
            data_dir=tmp_path,
        )
        await campaigns.create(bonus_campaign("followed", concurrency=2), "test")
        r = await ainvoke(settings, "campaign", "start", "followed")
        assert r.exit_code == 0, r.output
        r = await ainvoke(settings, "campaign", "status", "followed")  # the live bar, until it ends
        assert r.exit_code == 0, r.output
        assert "followed: completed — targeted 150 of 150, applied 150" in r.stdout, r.output
        r = await ainvoke(settings, "campaign", "pause", "followed")
        assert r.exit_code == 1 and "completed" in r.output


async def test_the_rate_holds_across_pages(time_env, tmp_path):
    """Pages of one member at 5 members/s: each start waits 0.2 s after the last, the next page's too
    (the pacing rides the progress from page to page instead of starting afresh each page)."""
    engine = database(tmp_path)
    add_members(engine, member_ids(6))
    journeys = FakeJourneys()
    started: list[float] = []
    apply = journeys.apply

    async def timed(customer_id, touch):
        started.append(time.monotonic())
        return await apply(customer_id, touch)

    journeys.apply = timed  # type: ignore[method-assign]  # the runner is handed the timed door
    async with campaign_worker(time_env.client, engine, journeys) as campaigns:
        await campaigns.create(bonus_campaign("paced", rate=5, page_size=1), "test")
        await campaigns.start("paced", "test")
        progress = await finished(campaigns, "paced")
    assert progress.state == "completed" and progress.counts.applied == 6
    gaps = [b - a for a, b in zip(started, started[1:], strict=False)]
    assert len(gaps) == 5 and min(gaps) >= 0.18, gaps
