"""Optional OpenTelemetry traces, from the webhook to the ledger write (TENURE_TRACING: off, console, otlp).

The API's request span (FastAPI instrumentation) is the parent of the Temporal client's
`SignalWithStartWorkflow` span; the Temporal SDK's TracingInterceptor carries the context in the
signal's headers to the worker (`RunWorkflow`, `HandleSignal`, `StartActivity`/`RunActivity` of
the ledger write), and `instrument_engine` adds the INSERT under the activity. One
process, one provider: explicit, never the global one, so tests and processes keep theirs apart.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode
from temporalio.client import Interceptor

from settings import Settings
from starter.log_masking import mask_personal_data


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
    """A span for every statement on `engine` (the ledger's INSERT among them), child of the span current in
    the calling thread (an activity's). Its own SQLAlchemy events: OpenTelemetry's SQLAlchemy instrumentation
    refuses SQLAlchemy 2.1 and needs greenlet. The statement is recorded with placeholders, never values."""
    if provider is None:
        return
    tracer = provider.get_tracer("tenure.sql")
    key = "tenure_span"

    def before(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        verb = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else "SQL"
        attributes = {"db.system": engine.dialect.name, "db.statement": statement}
        conn.info[key] = tracer.start_span(verb, kind=SpanKind.CLIENT, attributes=attributes)

    def after(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        span = conn.info.pop(key, None)
        if span is not None:
            span.end()

    def failed(exception_context: Any) -> None:
        span = exception_context.connection.info.pop(key, None) if exception_context.connection else None
        if span is not None:
            span.set_status(Status(StatusCode.ERROR, type(exception_context.original_exception).__name__))
            span.end()

    sa.event.listen(engine, "before_cursor_execute", before)
    sa.event.listen(engine, "after_cursor_execute", after)
    sa.event.listen(engine, "handle_error", failed)


# The request span's attributes that carry the URL as it came (the query string decoded): the old and the
# new HTTP semantic conventions' names, whichever the instrumentation writes.
URL_ATTRIBUTES = ("http.url", "http.target", "url.full", "url.query")


def mask_request_span(span: Any, scope: dict[str, Any]) -> None:
    """The request span's URL with personal data masked as logs mask it (starter/log_masking.py): the
    console's member search sends what support types (`?q=ada.lovelace@example.org`), and a span's
    attributes leave the process for the trace backend as they are."""
    attributes = getattr(span, "attributes", None)
    if attributes is None or not span.is_recording():
        return
    for key in URL_ATTRIBUTES:
        value = attributes.get(key)
        if isinstance(value, str):
            masked = mask_personal_data(value)
            if masked != value:
                span.set_attribute(key, masked)


def instrument_app(app: Any, provider: TracerProvider | None) -> None:
    """A server span for every request, with its route template as name (the customer id stays out) and its
    URL masked (`mask_request_span`)."""
    if provider is not None:
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

        FastAPIInstrumentor.instrument_app(
            app, tracer_provider=provider, excluded_urls="healthz,metrics", server_request_hook=mask_request_span
        )
