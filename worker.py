"""The Tenure worker: customer journeys and their activities on task queue `tenure`."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from typing import Any

from sqlalchemy.engine import Engine
from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities import build_activities
from domain.program import Program, ProgramError
from settings import Settings, get_settings
from starter.connect import connect, load_program
from starter.log_masking import install_log_masking
from starter.payload_codec import PayloadKeyError, load_payload_keys
from storage.engine import create_engine_for
from storage.migrate import SchemaNotCurrent, require_current
from workflows.customer import CustomerJourney

WORKFLOWS = [CustomerJourney]

# domain/ is pure and deterministic: importing it once, outside the sandbox, saves re-importing
# pydantic models for every workflow run. workflows/ too (bench/RESULTS.md): the sandbox would
# otherwise execute workflows/customer.py, class and decorators, for every journey it opens,
# some 60 KB of RSS per cached journey and a tenth of the worker's CPU at full load. The price:
# the sandbox no longer checks that file's own calls (as it never checked domain/'s);
# tests/test_replay.py and review guard its determinism.
RUNNER = SandboxedWorkflowRunner(
    restrictions=SandboxRestrictions.default.with_passthrough_modules(
        "domain", "workflows", "pydantic", "pydantic_core"
    )
)


def build_worker(
    client: Client, settings: Settings, program: Program, engine: Engine | None = None, **options: Any
) -> Worker:
    """The worker on `engine` (else the configured database), which must be at this Tenure's schema revision.

    Raises SchemaNotCurrent rather than run activities against tables it does not know. Every
    activity is `async def` (blocking work goes to threads inside them): no activity executor.
    """
    engine = engine or create_engine_for(settings.db_url())
    require_current(engine)
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=WORKFLOWS,
        activities=build_activities(
            settings, engine, from_email=program.email.from_email, from_name=program.email.from_name
        ),
        workflow_runner=RUNNER,
        **options,
    )


async def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    install_log_masking()
    settings = get_settings()
    try:
        program = load_program(settings)
    except ProgramError as e:
        raise SystemExit(str(e)) from None
    try:  # production refuses to start without a key of its own
        keys = load_payload_keys(settings)
    except PayloadKeyError as e:
        raise SystemExit(str(e)) from None
    client = await connect(settings, keys)
    try:
        worker = build_worker(client, settings, program)
    except SchemaNotCurrent as e:
        raise SystemExit(str(e)) from None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    logging.getLogger("tenure.worker").info(
        "worker on %s, task queue %r, program %s, payloads encrypted (%s)",
        settings.temporal_address,
        settings.task_queue,
        program.version,
        keys.describe(),
    )
    async with worker:
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(main())
    # The SDK's Rust runtime can abort the interpreter's own shutdown (temporalio/sdk-python#300);
    # everything is already stopped and flushed here, so leave without it.
    logging.shutdown()
    os._exit(0)
