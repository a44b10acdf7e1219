"""The test harness itself: `eventually` retries only what may still come true, a workflow that
leaves a handler running fails its test, and tests carry the markers `make test-fast` selects by."""

from __future__ import annotations

import time
import uuid

import pytest
from temporalio import workflow
from temporalio.client import WorkflowUpdateStage
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker

from starter.client import JourneyError
from starter.client.temporal_errors import journey_error
from tests.journey_kit import eventually


class Probe:
    """Answers from a script, one item per call: an exception is raised, anything else returned."""

    def __init__(self, *script):
        self.script, self.calls = list(script), 0

    async def __call__(self):
        self.calls += 1
        step = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if isinstance(step, BaseException):
            raise step
        return step


def rpc_error(status: RPCStatusCode, message: str = "boom") -> RPCError:
    return RPCError(message, status, b"")


def typed(cause: RPCError) -> JourneyError:
    """What TenureClient raises for `cause`: its typed error, `from` the RPCError."""
    error = journey_error(cause, "cus_1")
    assert error is not None, cause
    error.__cause__ = cause
    return error


async def test_a_broken_probe_fails_at_once_with_its_own_error(request):
    probe = Probe(TypeError("probe() takes 0 positional arguments but 1 was given"))
    started = time.monotonic()
    with pytest.raises(TypeError, match="takes 0 positional arguments"):
        await eventually(probe, bool, timeout=20)
    assert probe.calls == 1 and time.monotonic() - started < 1
    assert request.node.get_closest_marker("unit"), "no server, no PostgreSQL: a unit test"


async def test_a_broken_check_fails_at_once_with_its_own_error():
    with pytest.raises(KeyError, match="missing"):
        await eventually(Probe({}), lambda rows: rows["missing"] == 2, timeout=20)


NOT_READY = [
    rpc_error(RPCStatusCode.UNAVAILABLE, "connection refused"),
    rpc_error(RPCStatusCode.DEADLINE_EXCEEDED, "query deadline exceeded"),
    rpc_error(RPCStatusCode.CANCELLED, "Timeout expired"),
    rpc_error(RPCStatusCode.CANCELLED, "h2 protocol error: http2 error"),
]
ANSWERS = [
    rpc_error(RPCStatusCode.NOT_FOUND, "workflow not found"),
    rpc_error(RPCStatusCode.CANCELLED, "cancelled by the caller"),
    rpc_error(RPCStatusCode.FAILED_PRECONDITION, "no poller seen for task queue recently"),
]


@pytest.mark.parametrize(
    "error",
    [AssertionError("not yet"), *NOT_READY, *(typed(e) for e in NOT_READY)],
    ids=[
        "assertion",
        "unavailable",
        "deadline",
        "rpc-timeout",
        "connection-dropped",
        "client-unavailable",
        "client-deadline",
        "client-rpc-timeout",
        "client-connection-dropped",
    ],
)
async def test_not_yet_and_not_ready_are_retried(error):
    probe = Probe(error, False, 42)
    assert await eventually(probe, lambda value: value == 42, timeout=5) == 42
    assert probe.calls == 3


@pytest.mark.parametrize("error", [*ANSWERS, *(typed(e) for e in ANSWERS)])
async def test_other_temporal_errors_are_answers(error):
    probe = Probe(error, 42)
    with pytest.raises(type(error)) as err:
        await eventually(probe, lambda value: value == 42, timeout=5)
    assert err.value is error and probe.calls == 1


async def test_a_condition_never_met_names_the_last_value_and_error():
    with pytest.raises(AssertionError, match=r"within 0.3 s; last value: 7") as err:
        await eventually(Probe(7), lambda value: value == 8, timeout=0.3)
    assert err.value.__cause__ is None
    with pytest.raises(AssertionError, match=r"last value: RPCError: gone") as err:
        await eventually(Probe(rpc_error(RPCStatusCode.UNAVAILABLE, "gone")), bool, timeout=0.3)
    assert isinstance(err.value.__cause__, RPCError)


# --- unfinished handlers --------------------------------------------------------------------------


@workflow.defn(sandboxed=False)
class LeavesItsUpdateRunning:
    """Returns when told to, even while its update still waits."""

    def __init__(self) -> None:
        self.told = False

    @workflow.run
    async def run(self) -> str:
        await workflow.wait_condition(lambda: self.told)
        return "done"

    @workflow.signal
    def finish(self) -> None:
        self.told = True

    @workflow.update
    async def wait_forever(self) -> None:
        await workflow.wait_condition(lambda: False)


async def test_a_workflow_finishing_with_a_handler_running_is_an_error(
    time_env, task_queue, unfinished_handlers, request
):
    """pyproject turns the SDK's warning into an error (the workflow task fails instead of the
    workflow completing), and the `unfinished_handlers` fixture reports it: this test empties its
    list, any other test fails."""
    async with Worker(time_env.client, task_queue=task_queue, workflows=[LeavesItsUpdateRunning]):
        handle = await time_env.client.start_workflow(
            LeavesItsUpdateRunning.run, id=f"harness-{uuid.uuid4()}", task_queue=task_queue
        )
        await handle.start_update(LeavesItsUpdateRunning.wait_forever, wait_for_stage=WorkflowUpdateStage.ACCEPTED)
        await handle.signal(LeavesItsUpdateRunning.finish)  # a later workflow task: it returns, the update waits

        async def reported() -> list[str]:
            return list(unfinished_handlers)

        seen = await eventually(reported, bool)
        await handle.terminate("test over")
    assert seen[0].startswith("UnfinishedUpdateHandlersWarning: ") and '"name": "wait_forever"' in seen[0], seen
    unfinished_handlers.clear()
    assert request.node.get_closest_marker("timeskip") and not request.node.get_closest_marker("unit")
