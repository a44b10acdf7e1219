"""Setting a deployment's current version asks again when the server cancels its own operation (a busy
server answers CANCELLED; seen in a full CI run), as it does until a worker of the version has polled."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from temporalio.common import WorkerDeploymentVersion
from temporalio.service import RPCError, RPCStatusCode

from starter.deployment import set_current_version


async def test_a_cancelled_call_is_asked_again():
    answers = [RPCStatusCode.CANCELLED, RPCStatusCode.NOT_FOUND, None]
    calls = []

    async def set_worker_deployment_current_version(request):
        calls.append(request.build_id)
        status = answers.pop(0)
        if status is not None:
            raise RPCError("as the server says", status, b"")

    client = SimpleNamespace(
        namespace="default",
        workflow_service=SimpleNamespace(set_worker_deployment_current_version=set_worker_deployment_current_version),
    )
    await set_current_version(client, WorkerDeploymentVersion("tenure", "b.1"), timeout=10)  # type: ignore[arg-type]
    assert calls == ["b.1", "b.1", "b.1"]


async def test_a_refusal_is_not_asked_again():
    async def set_worker_deployment_current_version(request):
        raise RPCError("no", RPCStatusCode.PERMISSION_DENIED, b"")

    client = SimpleNamespace(
        namespace="default",
        workflow_service=SimpleNamespace(set_worker_deployment_current_version=set_worker_deployment_current_version),
    )
    with pytest.raises(RPCError):
        await set_current_version(client, WorkerDeploymentVersion("tenure", "b.1"), timeout=10)  # type: ignore[arg-type]
