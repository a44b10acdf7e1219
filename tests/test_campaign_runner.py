"""The campaign runner on the time-skipping server: one workflow per campaign pages through the segment.

Journeys are stood in for by `FakeJourneys` (tests/campaign_kit.py), which applies a campaign once per
member as the journey's `apply_campaign` does, so these tests see exactly whom the runner reached and
how often; tests/test_campaign_dev_server.py runs real journeys.
"""

from __future__ import annotations

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
