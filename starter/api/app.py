"""The FastAPI app: routers per area, the body limit, one error shape, the published body schemas.

Nothing lost, nothing twice: an event is answered 2xx only once Temporal has accepted its
signal-with-start (`TenureClient.send`); when Temporal cannot be reached within a few seconds
the answer is 503 (with Retry-After) so the sender retries, and the journey ignores an event id
it has already applied, so a retry or a duplicate delivery lands exactly once.

Bad input never reaches a journey: bodies are size-limited before they are read, signatures
are checked before anything is parsed, and everything is validated before the first signal.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import sqlalchemy as sa
from fastapi import FastAPI
from opentelemetry.sdk.trace import TracerProvider
from pydantic import TypeAdapter
from starlette.types import Message, Receive, Scope, Send
from temporalio.client import Client

from domain.program import Program
from settings import Settings
from starter import tracing
from starter.client import JourneyError
from starter.connect import load_program
from starter.console import install_console
from starter.ingress import generic_billing, sendgrid_events
from starter.ingress.stripe_objects import StripeEvent
from starter.log_masking import install_log_masking
from starter.payload_codec import EncryptionCodec, PayloadKeyError, load_payload_keys
from starter.startup_checks import require_safe_start
from storage.engine import engine_for
from storage.migrate import LedgerUnreachable, SchemaNotCurrent, require_current

from . import activity, campaigns, codec, health, members, metrics, personal_data, program_metrics, segments, webhooks
from .errors import install_error_handlers
from .middleware import BodyLimit
from .openapi import DocumentedApp
from .roles import DEV_API_KEY
from .services import Services
from .settings import api_settings

log = logging.getLogger("tenure.api")

DESCRIPTION = (
    "Billing webhooks (Stripe, a generic signed format, SendGrid), the app's activity, and the member API. "
    'Errors are JSON: `{"error": ..., "detail": ...}`. A 503 means Temporal could not be reached: '
    "retry, it is safe (event ids and Idempotency-Keys make every retry land once)."
)


class TenureApp(DocumentedApp):
    """The app, whose start-up refusals read as the message alone: a refusal (SystemExit: production's
    secrets, settings, payload keys, a ledger behind or unreachable) is what uvicorn logs as the reason
    startup failed, instead of starlette's traceback of the lifespan with the message at its end."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await super().__call__(scope, receive, send)
            return

        async def said(message: Message) -> None:
            refusal = getattr(self.state, "refusal", None)
            if message["type"] == "lifespan.startup.failed" and refusal:
                message = {**message, "message": refusal}
            await send(message)

        await super().__call__(scope, receive, said)


def create_app(
    settings: Settings | None = None,
    client: Client | None = None,
    program: Program | None = None,
    engine: sa.Engine | None = None,
    tracer_provider: TracerProvider | None = None,
    freeze_heap: bool = False,
) -> FastAPI:
    """The HTTP service. Anything not given is built at start-up from the environment (the tracer provider
    from TENURE_TRACING: none when off). `freeze_heap`: the process serves only this app (`starter.api:app`),
    so what start-up made is moved out of the garbage collector's sight (`gc.freeze`): the ~175,000
    objects of the imports (FastAPI, pydantic's schemas, the program) were walked by every full
    collection, which the objects of 64 requests in flight set off (bench/RESULTS.md, 14.7)."""
    provider = tracer_provider or tracing.tracer_provider(api_settings(settings), "tenure-api")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            if not logging.getLogger().handlers:  # under uvicorn: make tenure.api's lines visible
                logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
            install_log_masking()
            s = api_settings(settings)
            require_safe_start(s, "API")
            try:  # the keys' content, and development's key (production has been checked for one)
                app.state.payload_codec = EncryptionCodec(load_payload_keys(s))
            except PayloadKeyError as e:
                raise SystemExit(str(e)) from None
            prog = program or load_program(s)
            eng = engine or engine_for(s)
            if engine is None:
                tracing.instrument_engine(eng, provider)
            try:  # a database behind this Tenure is refused, with the command that upgrades it
                await asyncio.to_thread(require_current, eng)
            except (SchemaNotCurrent, LedgerUnreachable) as e:
                raise SystemExit(str(e)) from None
            services = Services(s, prog, eng, client, interceptors=tracing.temporal_interceptors(provider))
            app.state.services = services
            if client is None:
                try:
                    await services.tenure()
                except JourneyError:
                    log.warning("starting without Temporal; requests that need it answer 503 until it is reachable")
            if s.api_keys.strip() == "":
                log.warning("TENURE_API_KEYS is not set: the API accepts the development key %r", DEV_API_KEY)
            if freeze_heap:
                gc.collect()
                gc.freeze()
        except SystemExit as refused:  # a refusal: uvicorn shows this message, not starlette's traceback
            app.state.refusal = str(refused.code)
            raise
        try:
            yield
        finally:
            if engine is None:
                eng.dispose()
            if provider is not None and tracer_provider is None:
                provider.shutdown()  # flushes the spans still batched

    app = TenureApp(
        # Request spans are Tenure's own (TENURE_TRACING: FastAPIInstrumentor on an explicit provider, never
        # the global one). FastAPI's native telemetry would add a second set under a global provider, and
        # without one it still looked the three global providers up on every request (bench/RESULTS.md 14.10).
        telemetry={"tracing": False, "metrics": False, "logs": False},
        title="Tenure",
        version="0.1.0",
        summary="Loyalty program and customer lifecycle on Temporal",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served by the console with local Swagger UI assets (no CDN)
        redoc_url=None,  # ReDoc loads from a CDN: not offered
        published={
            "StripeEvent": TypeAdapter(StripeEvent),
            "BillingEvent": generic_billing.billing_event_adapter,
            "SendGridEvents": sendgrid_events.SendGridBatch,
            "ActivityReport": TypeAdapter(activity.ActivityReport),
        },
    )

    def limit_for(path: str) -> int:
        services = getattr(app.state, "services", None)
        s = services.settings if services is not None else api_settings(settings)
        if path.startswith(codec.PREFIX + "/"):
            return codec.MAX_BODY_BYTES
        return s.api_sendgrid_max_body_bytes if path == "/webhooks/sendgrid" else s.api_max_body_bytes

    app.add_middleware(BodyLimit, limit_for=limit_for)
    app.add_middleware(metrics.Measured)  # outside the body limit: its 413s are answers too
    tracing.instrument_app(app, provider)  # before the first request builds the middleware stack
    install_error_handlers(app)
    webhooks.add_stripe_route(app)  # first, and on the app itself: the busiest route
    for router in (
        webhooks.router,
        activity.router,
        members.router,
        personal_data.router,
        segments.router,
        campaigns.router,
        program_metrics.router,
        health.router,
        metrics.router,
    ):
        app.include_router(router)
    codec.install_codec(app, settings)
    install_console(app)
    return app
