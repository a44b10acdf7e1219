"""Worker Versioning: which deployment version this code is, and making a version current.

A journey runs for years; with Worker Versioning each one is pinned to the worker version it started on
(workflows/customer.py) and moves to the current version at its next continue-as-new. The build id
names the code a journey's tasks run (domain/, workflows/, activities/): a change to the API or the CLI
alone is not a new worker version. README "Operating Tenure" has the release procedure.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable
from functools import lru_cache
from pathlib import Path

from temporalio.api.workflowservice.v1 import (
    DescribeWorkerDeploymentRequest,
    SetWorkerDeploymentCurrentVersionRequest,
    SetWorkerDeploymentRampingVersionRequest,
)
from temporalio.client import Client
from temporalio.common import VersioningBehavior, WorkerDeploymentVersion
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import WorkerDeploymentConfig

from domain.journey import RULES_VERSION
from settings import Settings

log = logging.getLogger("tenure.deployment")

ROOT = Path(__file__).resolve().parents[1]
VERSIONED_PACKAGES = ("domain", "workflows", "activities")


@lru_cache
def source_build_id() -> str:
    """`r<rules version>-<12 hex>`: a hash of the journey's code, the same on every machine with that code."""
    digest = hashlib.sha256()
    for package in VERSIONED_PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            digest.update(str(path.relative_to(ROOT)).encode())
            digest.update(path.read_bytes())
    return f"r{RULES_VERSION}-{digest.hexdigest()[:12]}"


def deployment_version(settings: Settings) -> WorkerDeploymentVersion:
    return WorkerDeploymentVersion(settings.deployment_name, settings.build_id or source_build_id())


def deployment_config(settings: Settings) -> WorkerDeploymentConfig | None:
    """The worker's deployment options, or None (unversioned) when TENURE_WORKER_VERSIONING is off."""
    if not settings.worker_versioning:
        return None
    return WorkerDeploymentConfig(
        version=deployment_version(settings),
        use_worker_versioning=True,
        # journeys stay on the version they started on (workflows/customer.py moves them at continue-as-new)
        default_versioning_behavior=VersioningBehavior.PINNED,
    )


async def current_version(client: Client, deployment_name: str) -> str | None:
    """The deployment's current build id, or None (no current version, or no such deployment yet)."""
    try:
        described = await client.workflow_service.describe_worker_deployment(
            DescribeWorkerDeploymentRequest(namespace=client.namespace, deployment_name=deployment_name)
        )
    except RPCError as e:
        if e.status == RPCStatusCode.NOT_FOUND:
            return None
        raise
    routing = described.worker_deployment_info.routing_config
    # the server fills the structured field or only the older "<name>.<build id>" string
    if routing.current_deployment_version.build_id:
        return routing.current_deployment_version.build_id
    if routing.current_version and routing.current_version != "__unversioned__":
        return WorkerDeploymentVersion.from_canonical_string(routing.current_version).build_id
    return None


async def become_current(client: Client, settings: Settings) -> None:
    """TENURE_WORKER_SET_CURRENT_VERSION: make this worker's version current (logged; a failure is logged,
    not fatal: the worker still serves the journeys pinned to it)."""
    version = deployment_version(settings)
    try:
        await set_current_version(client, version)
    except (RPCError, TimeoutError) as e:
        log.error("could not make %s current: %s", version.to_canonical_string(), e)
    else:
        log.info("worker deployment version %s is current", version.to_canonical_string())


async def set_current_version(client: Client, version: WorkerDeploymentVersion, timeout: float = 60.0) -> None:
    """Make `version` the deployment's current version: new journeys start on it, pinned ones move to it at
    their next workflow task (workflows/customer.py). The server knows a version only once one of its workers
    polls, so this waits (up to `timeout` seconds) for that."""
    request = SetWorkerDeploymentCurrentVersionRequest(
        namespace=client.namespace,
        deployment_name=version.deployment_name,
        build_id=version.build_id,
        identity="tenure",
    )
    await _once_polled(lambda: client.workflow_service.set_worker_deployment_current_version(request), version, timeout)


async def set_ramping_version(
    client: Client, version: WorkerDeploymentVersion, percentage: float, timeout: float = 60.0
) -> None:
    """Route `percentage` of the deployment's journeys (chosen by workflow id) to `version`: new ones start on
    it, pinned ones it selects move to it at their next workflow task. Waits for a worker of it, as above."""
    request = SetWorkerDeploymentRampingVersionRequest(
        namespace=client.namespace,
        deployment_name=version.deployment_name,
        build_id=version.build_id,
        percentage=percentage,
        identity="tenure",
    )
    await _once_polled(lambda: client.workflow_service.set_worker_deployment_ramping_version(request), version, timeout)


async def _once_polled(call: Callable[[], Awaitable[object]], version: WorkerDeploymentVersion, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            await call()
            return
        except RPCError as e:
            # NOT_FOUND / FAILED_PRECONDITION: no worker of this version has polled yet; CANCELLED: the
            # server gave up its own deployment operation when busy (the call is idempotent: ask again)
            if e.status not in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION, RPCStatusCode.CANCELLED):
                raise
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"no worker of {version.to_canonical_string()} polled within {timeout:.0f}s: {e.message}"
                ) from e
        await asyncio.sleep(0.5)
