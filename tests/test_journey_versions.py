"""Rules versions: a new journey carries no patch markers; a run from before versions still asks
the patches (so its history replays); continue-as-new moves a run to the newest rules."""

from __future__ import annotations

from temporalio.api.enums.v1 import EventType

from domain.journey import RULES_VERSION, WORKFLOW_NAME, JourneyInput, workflow_id
from domain.messages import EventEnvelope
from tests.journey_kit import eventually, login, payment, running_worker


async def _history_events(handle):
    return [e async for e in handle.fetch_history_events()]


def _markers(events) -> list:
    """Patch markers (local activities record markers of their own, `core_local_activity`)."""
    return [
        e
        for e in events
        if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
        and e.marker_recorded_event_attributes.marker_name == "core_patch"
    ]


async def test_a_new_journey_has_no_patch_markers(time_env, program, tmp_path):
    async with running_worker(time_env.client, program, tmp_path) as (tenure, _engine):
        await tenure.send("cus_new", payment(1))
        await tenure.send("cus_new", login(1))
        await eventually(lambda: tenure.summary("cus_new"), lambda s: s.balance == 102)
        events = await _history_events(tenure.handle("cus_new"))
        assert not _markers(events), "a journey started at the newest rules version records no patch markers"


async def test_a_run_from_before_versions_still_asks_the_patches(time_env, program, tmp_path):
    async with running_worker(time_env.client, program, tmp_path) as (tenure, _engine):
        legacy = JourneyInput(customer_id="cus_legacy", program=program)  # rules_version 0
        assert legacy.rules_version == 0 and RULES_VERSION >= 1
        await time_env.client.start_workflow(
            WORKFLOW_NAME,
            legacy,
            id=workflow_id("cus_legacy"),
            task_queue=tenure.task_queue,
            start_signal="event",
            start_signal_args=[EventEnvelope(event=payment(1))],
        )
        await eventually(lambda: tenure.summary("cus_legacy"), lambda s: s.balance == 100)
        markers = _markers(await _history_events(tenure.handle("cus_legacy")))
        assert len(markers) == 4, "lifecycle, grouped warnings, segment wake and lazy timer are asked"


async def test_continue_as_new_moves_a_run_to_the_newest_rules(time_env, program, tmp_path):
    async with running_worker(time_env.client, program, tmp_path, history_budget=60) as (tenure, _engine):
        legacy = JourneyInput(customer_id="cus_moves", program=program, history_budget=60)
        await time_env.client.start_workflow(
            WORKFLOW_NAME,
            legacy,
            id=workflow_id("cus_moves"),
            task_queue=tenure.task_queue,
            start_signal="event",
            start_signal_args=[EventEnvelope(event=payment(1))],
        )
        for n in range(40):
            await tenure.send("cus_moves", login(n))
        await eventually(lambda: tenure.summary("cus_moves"), lambda s: s.lifetime_points >= 100 + 20)
        handle = time_env.client.get_workflow_handle(workflow_id("cus_moves"))
        # the points can be there before the run hands over: wait for the hand-over itself
        events = await eventually(
            lambda: _history_events(handle),  # the latest run
            lambda evs: bool(evs[0].workflow_execution_started_event_attributes.continued_execution_run_id),
        )
        started = events[0].workflow_execution_started_event_attributes
        # the payload is encrypted: read it as the worker does
        [moved] = await time_env.client.data_converter.decode(started.input.payloads, [JourneyInput])
        assert moved.rules_version == RULES_VERSION
        assert not _markers(events)
