"""Optional OpenTelemetry traces, from the webhook to the ledger write (TENURE_TRACING: off, console, otlp).

The API's request span (FastAPI instrumentation) is the parent of the Temporal client's
`SignalWithStartWorkflow` span; the Temporal SDK's TracingInterceptor carries the context in the
signal's headers to the worker (`RunWorkflow`, `HandleSignal`, `StartActivity`/`RunActivity` of
the ledger write), and the SQLAlchemy instrumentation adds the INSERT under the activity. One
process, one provider: explicit, never the global one, so tests and processes keep theirs apart.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from temporalio.client import Interceptor

from settings import Settings


def tracer_provider(settings: Settings, service: str) -> TracerProvider | None:
    """The provider exporting this process's spans as configured, or None when tracing is off."""
    if settings.tracing == "off":
        return None
    exporter: SpanExporter
    if settings.tracing == "console":
        exporter = ConsoleSpanExporter()
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter(endpoint=settings.otlp_endpoint) if settings.otlp_endpoint else OTLPSpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def temporal_interceptors(provider: TracerProvider | None) -> list[Interceptor]:
    """The SDK's TracingInterceptor on `provider` (client and worker alike), or none."""
    if provider is None:
        return []
    from temporalio.contrib.opentelemetry import TracingInterceptor

    return [TracingInterceptor(tracer=provider.get_tracer("tenure"))]


def instrument_engine(engine: sa.Engine, provider: TracerProvider | None) -> None:
    """A span for every statement on `engine` (the ledger's INSERT among them)."""
    if provider is not None:
        from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

        SQLAlchemyInstrumentor().instrument(engine=engine, tracer_provider=provider)


def instrument_app(app: Any, provider: TracerProvider | None) -> None:
    """A server span for every request, with its route template as name (the customer id stays out)."""
    if provider is not None:
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

        FastAPIInstrumentor.instrument_app(app, tracer_provider=provider, excluded_urls="healthz,metrics")
