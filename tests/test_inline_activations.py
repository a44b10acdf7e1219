"""Activations run inline on the worker's loop, and a stuck one still fails its task after the deadline."""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time
import uuid

import pytest
from temporalio import workflow
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from settings import Settings
from starter.inline_activations import InlineActivationExecutor, WorkflowTaskStuck
from worker import tuning

MARK = contextvars.ContextVar("MARK", default="unset")


@pytest.mark.unit
async def test_runs_inline_in_a_context_of_its_own_and_restores_the_loop() -> None:
    executor = InlineActivationExecutor()
    loop = asyncio.get_running_loop()
    MARK.set("worker")

    def activation() -> tuple[int, str]:
        asyncio._set_running_loop(None)  # as the workflow instance's own loop leaves it
        return threading.get_ident(), MARK.get()

    try:
        assert await loop.run_in_executor(executor, activation) == (threading.get_ident(), "unset")
        assert asyncio.get_running_loop() is loop
        with pytest.raises(ZeroDivisionError):
            await loop.run_in_executor(executor, lambda: 1 / 0)
        assert asyncio.get_running_loop() is loop
    finally:
        executor.shutdown()


@pytest.mark.unit
async def test_a_stuck_activation_is_interrupted_after_the_deadline() -> None:
    executor = InlineActivationExecutor(deadlock_seconds=0.3)

    def spin() -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # Python that never returns in time
            pass

    try:
        started = time.monotonic()
        with pytest.raises(WorkflowTaskStuck):
            await asyncio.get_running_loop().run_in_executor(executor, spin)
        assert 0.3 <= time.monotonic() - started < 3
        assert await asyncio.get_running_loop().run_in_executor(executor, lambda: "next") == "next"  # goes on
    finally:
        executor.shutdown()


@pytest.mark.unit
def test_the_setting_chooses_the_executor() -> None:
    assert "workflow_task_executor" not in tuning(Settings()), "off by default: the SDK's own thread hop"
    inline = tuning(Settings(worker_inline_activations=True))
    assert isinstance(inline["workflow_task_executor"], InlineActivationExecutor)
    assert "workflow_task_executor" not in tuning(Settings(worker_inline_activations=False))


SPINS: list[int] = []


@workflow.defn(sandboxed=False)
class SpinsOnce:
    @workflow.run
    async def run(self) -> str:
        if SPINS:
            SPINS.pop()
            while True:  # stuck: only the watchdog gets this task out
                pass
        return "done"


@workflow.defn(sandboxed=False)
class SpinsOnceInsideATry:
    @workflow.run
    async def run(self) -> str:
        try:
            if SPINS:
                SPINS.pop()
                while True:  # stuck, inside a handler that would swallow an ordinary exception
                    pass
        except Exception:
            return "swallowed"
        return "done"


@pytest.mark.parametrize("spinner", [SpinsOnce, SpinsOnceInsideATry])
async def test_a_stuck_workflow_task_fails_and_the_retry_completes(time_env: WorkflowEnvironment, spinner) -> None:
    SPINS.append(1)
    queue = f"inline-{uuid.uuid4()}"
    executor = InlineActivationExecutor(deadlock_seconds=0.5)
    async with Worker(time_env.client, task_queue=queue, workflows=[spinner], workflow_task_executor=executor):
        result = await time_env.client.execute_workflow(
            spinner.run, id=f"spin-{uuid.uuid4()}", task_queue=queue, run_timeout=None
        )
    assert result == "done" and not SPINS


@pytest.mark.unit
def test_without_inline_support_the_setting_keeps_the_thread_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    import worker

    monkeypatch.setattr(worker, "INLINE_SUPPORTED", False)  # Python 3.14: a task step inside another's
    assert "workflow_task_executor" not in tuning(Settings(worker_inline_activations=True))


@pytest.mark.unit
def test_an_activation_stuck_where_it_cannot_be_interrupted_ends_the_worker() -> None:
    """Stuck in C (a sleep the interruption waits behind): after the grace time the process exits 70."""
    import subprocess
    import sys

    code = (
        "import time\n"
        "from starter.inline_activations import InlineActivationExecutor\n"
        "InlineActivationExecutor(deadlock_seconds=0.2, fatal_seconds=0.5).submit(time.sleep, 20)\n"
    )
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=15)
    assert done.returncode == 70, done.stderr.decode()[-500:]
    assert time.monotonic() - started < 10
