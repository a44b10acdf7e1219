"""What the Temporal UI shows of a journey: a plain-words current-details line, summaries on its timer
and activities, and search attributes without personal data that `temporal workflow list --query`
filters on (rules version 4). Against the dev server, as support would see it."""

from __future__ import annotations

import asyncio
import uuid

from temporalio.api.enums.v1 import EventType

from domain.journey import workflow_id
from domain.messages import SignedUp
from tests.journey_kit import email_rows, eventually, payment, running_worker


async def test_a_journey_reads_well_in_the_temporal_ui(dev_env, program, tmp_path):
    cid = f"ui_{uuid.uuid4().hex[:8]}"
    async with running_worker(dev_env.client, program, tmp_path) as (tenure, engine):
        await tenure.send(cid, SignedUp(event_id="su", email="ui@example.com", name="Una Ingram", timezone="UTC"))
        await tenure.send(cid, payment(1))
        await eventually(lambda: asyncio.to_thread(email_rows, engine, cid), lambda rows: len(rows) >= 1)
        handle = dev_env.client.get_workflow_handle(workflow_id(cid))

        async def details() -> str:
            metadata = await handle.query("__temporal_workflow_metadata")
            return metadata.current_details

        line = await eventually(details, lambda text: "100 points" in text)
        assert "member · active" in line and "next:" in line, line

        query = f"WorkflowId = '{workflow_id(cid)}' AND TenureTier = 'member' AND TenureStatus = 'active'"
        listed = await eventually(
            lambda: _listed(dev_env.client, query + " AND TenureAtRisk = false"), lambda ids: ids == [workflow_id(cid)]
        )
        assert listed == [workflow_id(cid)]
        described = await handle.describe()
        attributes = {pair.key.name: pair.value for pair in described.typed_search_attributes}
        assert attributes["TenureProgramVersion"] == program.version
        assert attributes["TenureEngagement"]  # the segment projection's level
        assert await _listed(dev_env.client, f"WorkflowId = '{workflow_id(cid)}' AND TenureTier = 'gold'") == []

        summaries: dict[str, list[str]] = {"timer": [], "activity": []}
        async for event in handle.fetch_history_events():
            summary = await _summary(dev_env.client, event)
            if event.event_type == EventType.EVENT_TYPE_TIMER_STARTED:
                summaries["timer"].append(summary)
            elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
                summaries["activity"].append(summary)
        assert "welcome email" in summaries["activity"], summaries
        assert summaries["timer"] and all(s and s != "next deadline" for s in summaries["timer"]), summaries


async def _listed(client, query: str) -> list[str]:
    return [w.id async for w in client.list_workflows(query)]


async def _summary(client, event) -> str:
    if not event.HasField("user_metadata") or not event.user_metadata.HasField("summary"):
        return ""
    [text] = await client.data_converter.decode([event.user_metadata.summary], [str])
    return text


def test_the_production_stack_creates_the_same_search_attributes():
    """deploy/temporal/create-namespace.sh (the compose stack's namespace job) names every attribute
    the journeys set, with its type, as `make run`'s dev server flags do."""
    from pathlib import Path

    from domain.journey_attributes import SEARCH_ATTRIBUTES
    from starter.search_attributes import dev_server_flags

    script = (Path(__file__).resolve().parent.parent / "deploy/temporal/create-namespace.sh").read_text()
    for name, kind in SEARCH_ATTRIBUTES.items():
        assert f"{name}={kind}" in script
        assert f"{name}={kind}" in dev_server_flags()
