"""What the Temporal UI shows of a journey: a plain-words current-details line, summaries on its timer
and activities, and search attributes without personal data that `temporal workflow list --query`
filters on (rules version 4). Against the dev server, as support would see it."""

from __future__ import annotations

import asyncio
import uuid

from temporalio.api.enums.v1 import EventType
from temporalio.worker import Replayer

from domain.journey import workflow_id
from domain.messages import SignedUp
from settings import Settings
from starter.client import TenureClient
from starter.search_attributes import ensure as ensure_search_attributes
from storage.engine import create_engine_for
from storage.migrate import upgrade
from tests.journey_kit import email_rows, eventually, payment, running_worker
from worker import RUNNER, WORKFLOWS, build_worker


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


async def test_a_worker_replaying_every_task_still_labels_what_it_newly_does(dev_env, program, tmp_path, monkeypatch):
    """Summaries are left out only of replayed commands (workflows/labels.py): with no sticky cache,
    every workflow task replays the history first, and each new command still carries its label."""
    cid = f"uir_{uuid.uuid4().hex[:8]}"
    settings = Settings(data_dir=tmp_path, task_queue=f"tenure-{uuid.uuid4().hex[:8]}")
    engine = create_engine_for(settings.db_url())
    upgrade(engine)
    await ensure_search_attributes(dev_env.client, dev_env.client.namespace)
    async with build_worker(dev_env.client, settings, program, engine, max_cached_workflows=0):
        tenure = TenureClient(dev_env.client, program, settings.task_queue)
        await tenure.send(cid, SignedUp(event_id="su", email="uir@example.com", name="Una Ray", timezone="UTC"))
        await eventually(lambda: asyncio.to_thread(email_rows, engine, cid), lambda rows: len(rows) >= 1)
        await tenure.send(cid, payment(1))
        await eventually(lambda: tenure.summary(cid), lambda s: s.balance >= 100)
        handle = dev_env.client.get_workflow_handle(workflow_id(cid))
        kinds = {
            EventType.EVENT_TYPE_TIMER_STARTED: "timer",
            EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED: "activity",
            EventType.EVENT_TYPE_MARKER_RECORDED: "marker",
        }

        async def history_labels() -> dict[str, list[str]]:
            labels: dict[str, list[str]] = {"timer": [], "activity": [], "marker": []}
            async for event in handle.fetch_history_events():
                if event.event_type in kinds:
                    labels[kinds[event.event_type]].append(await _summary(dev_env.client, event))
            return labels

        # the balance is in the journey's state before the ledger's local activity has run: its marker
        # lands with the next workflow task, so wait for the payment's marker (here, the earn's) first
        labels = await eventually(history_labels, lambda labels: len(labels["marker"]) >= 2)
    engine.dispose()
    assert "welcome email" in labels["activity"], labels
    assert "ledger: earn +100 and the profile for segments" in labels["marker"], labels
    assert all(labels["marker"]), labels
    assert labels["timer"] and all(text and text != "next deadline" for text in labels["timer"]), labels
    # and replaying that history builds none of them again (what labels.py is for)
    import workflows.customer as journey_module

    built: list[int] = []
    real = journey_module._ledger_summary
    monkeypatch.setattr(journey_module, "_ledger_summary", lambda entries: built.append(1) or real(entries))
    replayer = Replayer(workflows=WORKFLOWS, workflow_runner=RUNNER, data_converter=dev_env.client.data_converter)
    await replayer.replay_workflow(await handle.fetch_history())
    assert not built, "no ledger label is built while replaying"


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
