"""Worker Versioning on the dev server: a journey stays on the worker version it started on while a newer
one is current, and moves to the newer one at continue-as-new, whose new run records no patch markers."""

from __future__ import annotations

import uuid
from contextlib import AsyncExitStack

import pytest
from pydantic import ValidationError
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle
from temporalio.common import VersioningBehavior, WorkerDeploymentVersion

from domain.journey import RULES_VERSION, JourneyInput, workflow_id
from settings import Settings
from starter.client import TenureClient
from starter.deployment import (
    current_version,
    deployment_config,
    set_current_version,
    set_ramping_version,
    source_build_id,
)
from storage.engine import create_engine_for
from storage.migrate import upgrade
from tests.journey_kit import eventually, login, payment
from worker import build_worker


def _patch_markers(events) -> list:
    return [
        e
        for e in events
        if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
        and e.marker_recorded_event_attributes.marker_name == "core_patch"
    ]


def _pinned_build(handle_description) -> str:
    info = handle_description.raw_description.workflow_execution_info.versioning_info
    return info.deployment_version.build_id or WorkerDeploymentVersion.from_canonical_string(info.version).build_id


async def _pinned_to(handle: WorkflowHandle) -> tuple[str, str]:
    """(run id, build id) of the journey's latest run."""
    description = await handle.describe()
    behavior = description.raw_description.workflow_execution_info.versioning_info.behavior
    assert behavior == 1, "VERSIONING_BEHAVIOR_PINNED"
    return description.run_id, _pinned_build(description)


def test_build_id_is_the_journeys_code():
    assert source_build_id().startswith(f"r{RULES_VERSION}-")
    assert source_build_id() == source_build_id()
    assert deployment_config(Settings()) is None, "unversioned unless TENURE_WORKER_VERSIONING"
    config = deployment_config(Settings(worker_versioning=True, deployment_name="tenure"))
    assert config is not None and config.version == WorkerDeploymentVersion("tenure", source_build_id())
    assert config.default_versioning_behavior == VersioningBehavior.PINNED
    assert deployment_config(Settings(worker_versioning=True, build_id="v1.2.3")).version.build_id == "v1.2.3"
    with pytest.raises(ValidationError, match="deployment_name"):
        Settings(deployment_name="tenure.eu")  # the name ends at the first dot of "name.build-id"


async def test_a_journey_stays_on_its_version_and_moves_at_continue_as_new(dev_env, program, tmp_path):
    client = dev_env.client
    deployment = f"tenure-{uuid.uuid4().hex[:8]}"  # versions are per deployment: this test's own
    queue = f"versioning-{uuid.uuid4().hex[:8]}"
    base = Settings(data_dir=tmp_path, task_queue=queue, worker_versioning=True, deployment_name=deployment)
    engine = create_engine_for(base.db_url())
    upgrade(engine)
    tenure = TenureClient(client, program, queue)
    async with AsyncExitStack() as workers:
        await workers.enter_async_context(build_worker(client, base.model_copy(update={"build_id": "a"}), program))
        await set_current_version(client, WorkerDeploymentVersion(deployment, "a"))
        assert await current_version(client, deployment) == "a"

        await tenure.send("cus_pinned", payment(1))
        await eventually(lambda: tenure.summary("cus_pinned"), lambda s: s.balance == 100)
        handle = client.get_workflow_handle(workflow_id("cus_pinned"))
        first_run, build = await _pinned_to(handle)
        assert build == "a"

        await workers.enter_async_context(build_worker(client, base.model_copy(update={"build_id": "b.1"}), program))
        await set_current_version(client, WorkerDeploymentVersion(deployment, "b.1"))
        await set_current_version(client, WorkerDeploymentVersion(deployment, "b.1"))  # again: a restart's
        assert await current_version(client, deployment) == "b.1"
        # B is current: a new journey starts there, the pinned one is still on A
        await tenure.send("cus_fresh", payment(2))
        await eventually(lambda: tenure.summary("cus_fresh"), lambda s: s.balance == 100)
        fresh = client.get_workflow_handle(workflow_id("cus_fresh"))
        assert (await _pinned_to(fresh))[1] == "b.1"
        assert not _patch_markers([e async for e in fresh.fetch_history_events()]), "a new journey asks no patch"
        assert await _pinned_to(handle) == (first_run, "a")

        # its next task runs on A, sees the target changed, and continues as new onto B
        await tenure.send("cus_pinned", login(1))
        await eventually(lambda: _pinned_to(handle), lambda pinned: pinned[0] != first_run)
        assert (await _pinned_to(handle))[1] == "b.1"
        summary = await tenure.summary("cus_pinned")
        assert summary.balance == 102, "the login (2 points) and the balance came along"

        old_run = [e async for e in client.get_workflow_handle(handle.id, run_id=first_run).fetch_history_events()]
        completed = [
            e.workflow_task_completed_event_attributes
            for e in old_run
            if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
        ]
        assert {(c.deployment_version.deployment_name, c.deployment_version.build_id) for c in completed} == {
            (deployment, "a")
        }, "every task of the first run ran on A, the event after the switch included"
        assert old_run[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW

        new_run = [e async for e in handle.fetch_history_events()]
        assert not _patch_markers(new_run), "the moved run records no patch markers"
        started = new_run[0].workflow_execution_started_event_attributes
        [moved] = await client.data_converter.decode(started.input.payloads, [JourneyInput])
        assert moved.rules_version == RULES_VERSION
    engine.dispose()


async def test_a_ramp_moves_the_journeys_it_selects(dev_env, program, tmp_path):
    """At 50%, about half the journeys pinned to A move to the ramping B at their next event, the rest stay."""
    client = dev_env.client
    deployment = f"tenure-{uuid.uuid4().hex[:8]}"
    queue = f"versioning-{uuid.uuid4().hex[:8]}"
    base = Settings(data_dir=tmp_path, task_queue=queue, worker_versioning=True, deployment_name=deployment)
    engine = create_engine_for(base.db_url())
    upgrade(engine)
    tenure = TenureClient(client, program, queue)
    customers = [f"cus_ramp_{uuid.uuid4().hex[:6]}_{n}" for n in range(20)]  # 2 in a million all fall one side
    async with AsyncExitStack() as workers:
        await workers.enter_async_context(build_worker(client, base.model_copy(update={"build_id": "a"}), program))
        await set_current_version(client, WorkerDeploymentVersion(deployment, "a"))
        for c in customers:
            await tenure.send(c, payment(1))
        for c in customers:
            await eventually(lambda c=c: tenure.summary(c), lambda s: s.balance == 100)
        await workers.enter_async_context(build_worker(client, base.model_copy(update={"build_id": "b"}), program))
        await set_ramping_version(client, WorkerDeploymentVersion(deployment, "b"), 50)
        for c in customers:
            await tenure.send(c, login(1))
        for c in customers:
            await eventually(lambda c=c: tenure.summary(c), lambda s: s.balance == 102)
        pinned = [(await _pinned_to(client.get_workflow_handle(workflow_id(c))))[1] for c in customers]
        assert 0 < pinned.count("b") < len(customers), pinned
        assert await current_version(client, deployment) == "a", "a ramp leaves the current version"
    engine.dispose()
