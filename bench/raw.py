"""The raw engine's ceiling: trivial entity workflows that only count the signals they get.

`python -m bench.raw` runs a worker for them, with Tenure's worker options (the same sandboxed
runner and passthrough modules, the same data converter, the same defaults), in its own process
like Tenure's worker.
Every signal a workflow applies (not on replay) bumps a process-wide counter, which the worker
writes to $BENCH_COUNTER_FILE every 20 ms: the benchmark's "done" for the raw engine, the
counterpart of Tenure's ledger row. Events reach it the way Tenure's do: signal-with-start.
"""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from bench import counter

WORKFLOW = "BenchCounter"
SIGNAL = "hit"


@workflow.defn(name=WORKFLOW)
class BenchCounter:
    def __init__(self) -> None:
        self.count = 0

    @workflow.run
    async def run(self, customer_id: str) -> None:
        # An entity: open until it must continue as new, like a journey.
        await workflow.wait_condition(lambda: workflow.info().is_continue_as_new_suggested())
        await workflow.wait_condition(workflow.all_handlers_finished)
        workflow.continue_as_new(customer_id)

    @workflow.signal(name=SIGNAL)
    def hit(self, payload: dict) -> None:
        self.count += 1
        if not workflow.unsafe.is_replaying():
            counter.bump()

    @workflow.query(name="count")
    def get_count(self) -> int:
        return self.count


async def main() -> None:
    from temporalio.worker import Worker
    from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

    import worker as tenure_worker
    from settings import get_settings
    from starter.connect import connect

    settings = get_settings()
    client = await connect(settings)
    path = Path(os.environ["BENCH_COUNTER_FILE"])
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    async def report() -> None:
        tmp = path.with_suffix(".tmp")
        last = -1
        while True:
            n = counter.value()
            if n != last:
                tmp.write_text(str(n))
                os.replace(tmp, path)
                last = n
            await asyncio.sleep(0.02)

    # Tenure's runner, with this module passed through as Tenure's workflows/ is
    runner = SandboxedWorkflowRunner(restrictions=tenure_worker.RUNNER.restrictions.with_passthrough_modules("bench"))
    w = Worker(
        client,
        task_queue=settings.task_queue,
        workflows=[BenchCounter],
        workflow_runner=runner,
    )
    print("raw worker polling", flush=True)
    reporter = asyncio.create_task(report())
    async with w:
        await stop.wait()
    reporter.cancel()


if __name__ == "__main__":
    asyncio.run(main())
