"""What Temporal never encrypts (workflow ids, search attributes, the memo) carries no email and no name:
only the customer id."""

from __future__ import annotations

import asyncio
import uuid

from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload

from domain.journey import workflow_id
from domain.messages import ProfileUpdated, SignedUp
from starter.payload_codec.codec import ENCODING
from tests.codec_kit import found
from tests.journey_kit import email_rows, eventually, running_worker

EMAIL, NAME = "quentin.ashdown@example.net", "Quentin Ashdown"


async def test_workflow_ids_and_search_attributes_carry_no_email_or_name(dev_env, program, tmp_path):
    cid = f"ids_{uuid.uuid4().hex[:8]}"
    async with running_worker(dev_env.client, program, tmp_path) as (tenure, engine):
        await tenure.send(cid, SignedUp(event_id="su", email=EMAIL, name=NAME, timezone="UTC"))
        await tenure.send(cid, ProfileUpdated(event_id="pu", email=f"new.{EMAIL}", name=f"{NAME} Jr"))
        await eventually(
            lambda: asyncio.to_thread(email_rows, engine, cid),
            lambda rows: any(r["to_email"] for r in rows),
            timeout=30,
        )

        handle = dev_env.client.get_workflow_handle(workflow_id(cid))
        described = await handle.describe()
        listed = [w async for w in dev_env.client.list_workflows(f'WorkflowId = "{workflow_id(cid)}"')]
        assert [w.id for w in listed] == [described.id] == [workflow_id(cid)]
        raw = described.raw_description.workflow_execution_info
        unencrypted = b"".join(
            [
                described.id.encode(),
                raw.search_attributes.SerializeToString(),
                raw.memo.SerializeToString(),
                *(w.raw_info.search_attributes.SerializeToString() for w in listed),
                repr(described.typed_search_attributes).encode(),
                repr(described.search_attributes).encode(),
            ]
        )
        assert found(cid, unencrypted), "the customer id is what identifies a journey"
        for secret in (EMAIL, NAME, "quentin", "Quentin", "Ashdown"):
            assert not found(secret, unencrypted), secret


def plain_payloads(message: Message, path: str = "") -> list[str]:
    """The paths of the payloads inside a protobuf message that are not encrypted by Tenure's codec."""
    if isinstance(message, Payload):
        return [] if message.metadata.get("encoding") == ENCODING else [path]
    out: list[str] = []
    for field, value in message.ListFields():
        if field.message_type is None:
            continue
        here = f"{path}.{field.name}"
        if isinstance(value, Message):
            out += plain_payloads(value, here)
        elif hasattr(value, "items"):  # a map
            for key, item in value.items():
                if isinstance(item, Message):
                    out += plain_payloads(item, f"{here}[{key}]")
        else:
            for i, item in enumerate(value):
                out += plain_payloads(item, f"{here}[{i}]")
    return out


async def test_every_payload_of_a_history_is_encrypted_but_search_attributes_and_marker_data(
    dev_env, program, tmp_path
):
    """What README 'Encrypted payloads' tells an auditor scanning a raw history: the only payloads not
    encrypted are the search attributes and the SDK's local-activity marker data (no input, no result)."""
    cid = f"plain_{uuid.uuid4().hex[:8]}"
    async with running_worker(dev_env.client, program, tmp_path) as (tenure, engine):
        await tenure.send(cid, SignedUp(event_id="su", email=EMAIL, name=NAME, timezone="UTC"))
        await tenure.send(cid, ProfileUpdated(event_id="pu", email=f"new.{EMAIL}"))
        await eventually(
            lambda: asyncio.to_thread(email_rows, engine, cid),
            lambda rows: any(r["to_email"] for r in rows),
            timeout=30,
        )
        history = await tenure.handle(cid).fetch_history()
    plain = [p for e in history.events for p in plain_payloads(e)]
    marker_data = ".marker_recorded_event_attributes.details[data]."
    assert any(".search_attributes." in p for p in plain), "the walk sees plain payloads"
    assert any(p.startswith(marker_data) for p in plain), plain
    others = [p for p in plain if ".search_attributes." not in p and not p.startswith(marker_data)]
    assert others == [], others
