"""A journey lives through the codec's arrival and a key rotation: started before payloads were
encrypted, continued under a first key, then under a new key with the old one second in the list.
Each history still replays, old payloads stay readable, new ones are written under the newest key.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter
from temporalio.worker import Replayer

import worker as tenure_worker
from domain.journey import workflow_id
from domain.messages import ProfileUpdated, SignedUp
from settings import Settings
from starter.client import TenureClient
from starter.payload_codec import (
    KEY_ID_METADATA,
    PayloadDecryptionError,
    PayloadKeys,
    generate_key,
    parse_payload_keys,
    payload_data_converter,
)
from storage.engine import create_engine_for
from storage.migrate import upgrade
from tests.journey_kit import eventually, payment

OLD, NEW = generate_key("2026-06"), generate_key("2027-01")


def converter(*lines: str) -> DataConverter:
    return payload_data_converter(PayloadKeys(parse_payload_keys(",".join(lines), "test"), "test"))


def key_id(payload: Payload) -> str:
    """The key a payload is encrypted under; 'plain' for one recorded before the codec."""
    return payload.metadata[KEY_ID_METADATA].decode() if KEY_ID_METADATA in payload.metadata else "plain"


@pytest.fixture
def settings(tmp_path) -> Settings:
    s = Settings(data_dir=tmp_path, task_queue=f"rotation-{uuid.uuid4().hex[:8]}")
    upgrade(create_engine_for(s.db_url()))
    return s


@asynccontextmanager
async def deployed(dev_env, settings: Settings, program, data_converter: DataConverter) -> AsyncIterator[TenureClient]:
    """A worker and a client with this converter: one deployment of Tenure (the task queue and ledger stay)."""
    client = Client(dev_env.client.service_client, namespace="default", data_converter=data_converter)
    engine = create_engine_for(settings.db_url())
    try:
        async with tenure_worker.build_worker(client, settings, program, engine):
            yield TenureClient(client, program, settings.task_queue)
    finally:
        engine.dispose()


async def test_a_journey_from_before_the_codec_through_a_key_rotation(dev_env, program, settings):
    cid = f"rot_{uuid.uuid4().hex[:8]}"
    deployments = [
        ("plain", pydantic_data_converter),  # before the codec
        ("2026-06", converter(OLD)),
        ("2027-01", converter(NEW, OLD)),  # rotated: the new key first, the old one second
    ]
    for n, (_, data_converter) in enumerate(deployments, start=1):
        async with deployed(dev_env, settings, program, data_converter) as tenure:
            if n == 1:
                await tenure.send(cid, SignedUp(event_id="su", email="ada@example.com", name="Ada"))
            await tenure.send(cid, ProfileUpdated(event_id=f"profile_{n}", email=f"ada{n}@example.com"))
            await tenure.send(cid, payment(n))
            await eventually(
                lambda: tenure.summary(cid), lambda s, n=n: f"pay:in_{n}" in {lot.lot_id for lot in s.lots}, timeout=30
            )

    client = Client(dev_env.client.service_client, namespace="default", data_converter=converter(NEW, OLD))
    history = await client.get_workflow_handle(workflow_id(cid)).fetch_history()
    signals = [
        e.workflow_execution_signaled_event_attributes.input.payloads[0]
        for e in history.events
        if e.HasField("workflow_execution_signaled_event_attributes")
    ]
    assert [key_id(p) for p in signals] == ["plain"] * 3 + ["2026-06"] * 2 + ["2027-01"] * 2
    assert b"ada" not in b"".join(p.SerializeToString() for p in signals[3:]), "encrypted payloads hide the address"

    # the whole history replays with the rotated keys; without the old key it cannot be read
    replayed = await Replayer(
        workflows=tenure_worker.WORKFLOWS, workflow_runner=tenure_worker.RUNNER, data_converter=converter(NEW, OLD)
    ).replay_workflow(history)
    assert replayed.replay_failure is None
    without_old = await Replayer(
        workflows=tenure_worker.WORKFLOWS, workflow_runner=tenure_worker.RUNNER, data_converter=converter(NEW)
    ).replay_workflow(history, raise_on_replay_failure=False)
    # the workflow task fails (its message encoded like every failure's; the type stays readable)
    assert PayloadDecryptionError.__name__ in str(without_old.replay_failure)
