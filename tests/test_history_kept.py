"""`TenureClient.history_kept` while Temporal deletes a run: a history read can meet the deletion under
way and be cancelled by the server. An erasure waiting for its runs to go (starter/personal_data.py)
failed on that with an error after it had done its work, and recorded nothing; it is "not gone yet"."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from temporalio.service import RPCError, RPCStatusCode

from starter.client.tenure_client import TenureClient


def client_answering(status: RPCStatusCode | None) -> TenureClient:
    async def get_workflow_execution_history(request):
        if status is not None:
            raise RPCError("as the server says", status, b"")
        return SimpleNamespace(history=None)

    service = SimpleNamespace(get_workflow_execution_history=get_workflow_execution_history)
    return TenureClient(SimpleNamespace(namespace="default", workflow_service=service))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("status", "kept"),
    [(None, True), (RPCStatusCode.NOT_FOUND, False), (RPCStatusCode.CANCELLED, True)],
)
async def test_a_history_read_cancelled_by_the_deletion_is_not_gone_yet(status, kept):
    assert await client_answering(status).history_kept("cus_1", "run-1") is kept
