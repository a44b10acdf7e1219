"""The Tenure worker: customer journeys and their activities on task queue `tenure`."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy.engine import Engine
from temporalio.client import Client
from temporalio.runtime import Runtime
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxRestrictions

from activities import BillingMisconfigured, build_activities
from activities.metrics import use_meter
from domain.program import Program, ProgramError
from settings import Settings, get_settings
from starter.connect import connect, load_program, unreachable
from starter.deployment import become_current, deployment_config, deployment_version
from starter.gc_tuning import tune_collector, watch_full_collections
from starter.heartbeat import beating
from starter.inline_activations import SUPPORTED as INLINE_SUPPORTED
from starter.inline_activations import InlineActivationExecutor
from starter.log_masking import install_log_masking
from starter.payload_codec import PayloadKeyError, load_payload_keys
from starter.sandbox_runner import CompiledSandboxRunner, runner_for
from starter.search_attributes import SearchAttributesMissing
from starter.search_attributes import ensure as ensure_search_attributes
from starter.startup_checks import require_safe_start
from starter.telemetry import worker_runtime
from starter.tracing import instrument_engine, temporal_interceptors, tracer_provider
from storage.engine import engine_for
from storage.migrate import LedgerUnreachable, SchemaNotCurrent, require_current
from storage.programs import store_program, stored_programs
from workflows.campaign import CampaignWorkflow
from workflows.customer import CustomerJourney
from workflows.shared import programs

WORKFLOWS = [CustomerJourney, CampaignWorkflow]

# domain/ is pure and deterministic: importing it once, outside the sandbox, saves re-importing
# pydantic models for every workflow run. workflows/ too (bench/RESULTS.md): the sandbox would
# otherwise execute workflows/customer.py, class and decorators, for every journey it opens,
# some 60 KB of RSS per cached journey and a tenth of the worker's CPU at full load. The price:
# the sandbox no longer checks that file's own calls (as it never checked domain/'s);
# tests/test_replay.py and review guard its determinism.
RUNNER = CompiledSandboxRunner(
    restrictions=SandboxRestrictions.default.with_passthrough_modules(
        "domain", "workflows", "pydantic", "pydantic_core"
    )
)


def tuning(settings: Settings) -> dict[str, Any]:
    """The worker options the settings set (README "Operating Tenure"); the SDK's defaults for the rest."""
    options: dict[str, Any] = {"max_cached_workflows": settings.worker_max_cached_workflows}
    if settings.worker_inline_activations and INLINE_SUPPORTED:  # no thread hop per activation (step 14.9)
        options["workflow_task_executor"] = InlineActivationExecutor()
    for name in ("max_concurrent_workflow_tasks", "max_concurrent_activities", "max_concurrent_local_activities"):
        value = getattr(settings, f"worker_{name}")
        if value is not None:
            options[name] = value
    return options


def cache_line(settings: Settings) -> str:
    """The start-up log's word on the sticky cache: unset, its size follows the host's memory
    (starter/worker_cache.py), so the log says what this host gave and where it came from."""
    size = settings.worker_max_cached_workflows
    if "worker_max_cached_workflows" in settings.model_fields_set:
        return f"sticky cache: {size:,} journeys (TENURE_WORKER_MAX_CACHED_WORKFLOWS)"
    return f"sticky cache: {size:,} journeys (unset: a quarter of this worker's memory, starter/worker_cache.py)"


def build_worker(
    client: Client, settings: Settings, program: Program, engine: Engine | None = None, **options: Any
) -> Worker:
    """The worker on `engine` (else the configured database), which must be at this Tenure's schema revision.

    Raises SchemaNotCurrent rather than run activities against tables it does not know. Every
    activity is `async def` (blocking work goes to threads inside them): no activity executor.
    `options` override the settings' tuning.
    """
    engine = engine or engine_for(settings)
    require_current(engine)
    use_meter((client.service_client.config.runtime or Runtime.default()).metric_meter)  # activities/metrics.py
    # Journeys started by program hash resolve it from this database's program store (workflows/shared.py);
    # the worker's own program goes in first, so journeys opened with it never wait for a publisher.
    store_program(engine, program)
    programs.add_store(engine, stored_programs)
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=WORKFLOWS,
        activities=build_activities(
            settings, engine, from_email=program.email.from_email, from_name=program.email.from_name
        ),
        workflow_runner=runner_for(RUNNER.restrictions, client.data_converter),
        deployment_config=deployment_config(settings),
        **(tuning(settings) | options),
    )


async def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    install_log_masking()
    settings = get_settings()
    require_safe_start(settings, "worker")
    try:
        program = load_program(settings)
    except ProgramError as e:
        raise SystemExit(str(e)) from None
    try:  # the keys' content, or development's key (production was checked for one above)
        keys = load_payload_keys(settings)
    except PayloadKeyError as e:
        raise SystemExit(str(e)) from None
    try:
        runtime = worker_runtime(settings)
    except ValueError as e:  # the address is taken or malformed
        raise SystemExit(f"TENURE_WORKER_METRICS_ADDRESS={settings.worker_metrics_address}: {e}") from None
    provider = tracer_provider(settings, "tenure-worker")
    try:
        client = await connect(settings, keys, runtime=runtime, interceptors=temporal_interceptors(provider))
    except RuntimeError as e:  # the SDK's bridge: refused, no such host, TLS
        raise SystemExit(unreachable(settings, e)) from None
    try:  # journeys set them from rules version 3 on: a namespace without them would fail their tasks
        added = await ensure_search_attributes(client, settings.temporal_namespace)
    except SearchAttributesMissing as e:
        raise SystemExit(str(e)) from None
    if added:
        logging.getLogger("tenure.worker").info("registered search attributes %s", ", ".join(added))
    engine = engine_for(settings)
    instrument_engine(engine, provider)
    try:
        worker = build_worker(client, settings, program, engine)
    except (SchemaNotCurrent, LedgerUnreachable, BillingMisconfigured) as e:  # stripe without its key, say
        raise SystemExit(str(e)) from None
    tune_collector()  # everything imported and built: freeze it, collect less often (starter/gc_tuning.py)
    watch_full_collections(settings.worker_max_cached_workflows)  # their pauses on the metrics, warned past 1 s
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    if settings.worker_blocking_threads is not None:  # the threads activities hand SQL and HTTP calls to
        loop.set_default_executor(ThreadPoolExecutor(settings.worker_blocking_threads))
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    log = logging.getLogger("tenure.worker")
    log.info(
        "worker on %s, task queue %r, program %s, payloads encrypted (%s)",
        settings.temporal_address,
        settings.task_queue,
        program.version,
        keys.describe(),
    )
    log.info(cache_line(settings))
    if settings.worker_metrics_address:
        log.info("Prometheus metrics on http://%s/metrics", settings.worker_metrics_address)
    if settings.worker_versioning:
        log.info("worker deployment version %s (pinned journeys)", deployment_version(settings).to_canonical_string())
    setting_current = settings.worker_versioning and settings.worker_set_current_version
    async with worker, beating(settings.worker_health_file, lambda: worker.is_running):
        made_current = asyncio.create_task(become_current(client, settings)) if setting_current else None
        await stop.wait()
        if made_current is not None:
            made_current.cancel()
    if provider is not None:
        provider.shutdown()  # flushes the spans still batched


def exit_status(stop: SystemExit) -> int:
    """What the interpreter would make of `stop`: its message on stderr and status 1, or its number."""
    if stop.code is None or isinstance(stop.code, int):
        return stop.code or 0
    print(stop.code, file=sys.stderr)
    return 1


if __name__ == "__main__":
    status = 0
    try:
        asyncio.run(main())
    except SystemExit as stop:  # a refusal: leave with its message, the same way as a clean stop
        status = exit_status(stop)
    # The SDK's Rust runtime can abort the interpreter's own shutdown (temporalio/sdk-python#300), a
    # refusal after connecting too ("Fatal Python error: PyGILState_Release", status 134); everything is
    # already stopped and flushed here, so leave without it.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
