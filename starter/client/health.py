"""Is a journey making progress? What Temporal itself says of its tasks, for `tenure doctor`.

A journey is stuck when its workflow task fails again and again (the journey's own code raises on
every retry: it answers no query, takes no event) or when one of its activities keeps failing
(billing, email). Both show in the workflow's description: the pending workflow task's attempt
number, each pending activity's attempt and last failure. Why a workflow task fails is in the
history: the latest `WorkflowTaskFailed` event, read from the end. Local activities (the ledger
writes) are not in the description: the journey's `reconcile` view says how long it has been
writing (`writing_since`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType
from temporalio.api.failure.v1 import Failure
from temporalio.api.workflowservice.v1 import GetWorkflowExecutionHistoryReverseRequest
from temporalio.client import Client, WorkflowExecutionDescription
from temporalio.exceptions import FailureError

HISTORY_LOOKBACK = 200  # events read back from the end for the latest workflow task failure


@dataclass(frozen=True)
class Retrying:
    """A task Temporal keeps retrying: `what` is "workflow task" or an activity type; `since`: when its
    latest attempt was scheduled (workflow task) or started (activity)."""

    what: str
    attempt: int
    since: datetime | None = None
    last_failure: str = ""


@dataclass(frozen=True)
class JourneyHealth:
    customer_id: str
    workflow_task: Retrying | None = None  # None: no workflow task is being retried
    activities: list[Retrying] = field(default_factory=list)


def _time(ts: Timestamp) -> datetime | None:
    return ts.ToDatetime(tzinfo=UTC) if ts.seconds or ts.nanos else None


async def describe_health(client: Client, customer_id: str, description: WorkflowExecutionDescription) -> JourneyHealth:
    raw = description.raw_description
    activities = [
        Retrying(
            what=a.activity_type.name,
            attempt=a.attempt,
            since=_time(a.last_started_time),
            last_failure=await failure_text(client, a.last_failure, with_type=False)
            if a.HasField("last_failure")
            else "",
        )
        for a in raw.pending_activities
        if a.attempt > 1
    ]
    task = raw.pending_workflow_task if raw.HasField("pending_workflow_task") else None
    workflow_task = None
    if task is not None and task.attempt > 1:
        workflow_task = Retrying(
            what="workflow task",
            attempt=task.attempt,
            since=_time(task.original_scheduled_time),
            last_failure=await _last_task_failure(client, description.id, description.run_id),
        )
    return JourneyHealth(customer_id, workflow_task, activities)


async def _last_task_failure(client: Client, workflow_id: str, run_id: str | None) -> str:
    response = await client.workflow_service.get_workflow_execution_history_reverse(
        GetWorkflowExecutionHistoryReverseRequest(
            namespace=client.namespace,
            execution=WorkflowExecution(workflow_id=workflow_id, run_id=run_id or ""),
            maximum_page_size=HISTORY_LOOKBACK,
        )
    )
    for event in response.history.events:
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
            return await failure_text(client, event.workflow_task_failed_event_attributes.failure)
    return ""


async def failure_text(client: Client, failure: Failure, with_type: bool = True) -> str:
    """`type: message` of a failure, its message decoded: the payload codec encrypts failure messages
    (`DefaultFailureConverterWithEncodedAttributes`), so as Temporal holds it every one reads "Encoded
    failure". Decoded with this client's keys, the message says what happened (for a payload under a
    key the worker lacks: which key to add); with none of them it stays as stored."""
    message = failure.message
    if failure.HasField("encoded_attributes"):
        copy = Failure()
        copy.CopyFrom(failure)
        try:
            decoded = await client.data_converter.decode_failure(copy)
        except Exception:  # noqa: BLE001 - a key this process lacks too: what Temporal holds is all there is
            pass
        else:
            message = decoded.message if isinstance(decoded, FailureError) else str(decoded)
    kind = failure.application_failure_info.type if with_type else ""
    return f"{kind}: {message}".lstrip(": ")
