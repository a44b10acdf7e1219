"""What Temporal never encrypts (workflow ids, search attributes, the memo) carries no email and no name:
only the customer id."""

from __future__ import annotations

import asyncio
import uuid

from domain.journey import workflow_id
from domain.messages import ProfileUpdated, SignedUp
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
