"""Tracing on: one trace from the webhook's request to the INSERT of its ledger row, through Temporal
(the SDK's TracingInterceptor on the API's and the worker's client), spans kept in memory."""

from __future__ import annotations

import json

import httpx
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from temporalio.client import Client

from settings import Settings
from starter.api import create_app
from starter.ingress.generic_billing import sign
from starter.tracing import instrument_engine, temporal_interceptors, tracer_provider
from storage.engine import create_engine_for
from storage.migrate import db_upgrade, upgrade
from tests.api_kit import BILLING_SECRET, api_settings
from tests.journey_kit import eventually, ledger_rows
from worker import build_worker


def _chain(span: ReadableSpan, by_id: dict[int, ReadableSpan]) -> list[str]:
    """The span's name and its ancestors' names, nearest first."""
    names = [span.name]
    while span.parent is not None and span.parent.span_id in by_id:
        span = by_id[span.parent.span_id]
        names.append(span.name)
    return names


def test_tracing_is_off_unless_configured():
    assert tracer_provider(Settings(), "tenure-api") is None
    assert temporal_interceptors(None) == []
    assert isinstance(tracer_provider(Settings(tracing="console"), "tenure-api"), TracerProvider)


async def test_a_request_span_carries_no_address_typed_into_the_console_search(program, tmp_path):
    """The URL attributes leave for the trace backend as they are: masked as logs are (`?q=` and addresses)."""
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    settings = api_settings(data_dir=tmp_path)
    db_upgrade(settings)
    app = create_app(settings, client=object(), program=program, tracer_provider=provider)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://tenure.test") as http:
            await http.get("/console/members", params={"q": "ada.lovelace@example.org"})
            await http.get("/console/members", params={"q": "ada.love"})  # as support types it
            await http.get("/members/cus_1/ledger", params={"limit": 2})
    requests = [s for s in spans.get_finished_spans() if s.kind == SpanKind.SERVER]
    assert len(requests) == 3, [s.name for s in requests]
    shown = json.dumps([dict(s.attributes or {}) for s in requests])
    assert "http://tenure.test/console/members?q=[masked]" in shown, shown  # the search is still there
    assert "ada" not in shown and "lovelace" not in shown, shown
    assert "/members/cus_1/ledger?limit=2" in shown, shown  # nothing else changes


async def test_one_trace_from_webhook_to_ledger_write(dev_env, program, task_queue, tmp_path):
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    client = Client(**(dev_env.client.config() | {"interceptors": temporal_interceptors(provider)}))

    settings = api_settings(task_queue, data_dir=tmp_path)
    engine = create_engine_for(settings.db_url())
    upgrade(engine)
    instrument_engine(engine, provider)
    app = create_app(settings, client=client, program=program, engine=engine, tracer_provider=provider)
    body = json.dumps(
        {
            "id": "evt_traced_1",
            "type": "payment.succeeded",
            "customer_id": "cus_traced",
            "invoice_id": "in_traced_1",
            "amount_minor": 4900,
            "currency": "USD",
            "cadence": "monthly",
        }
    ).encode()
    async with build_worker(client, settings, program, engine), app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://tenure.test") as http:
            answer = await http.post(
                "/webhooks/billing",
                content=body,
                headers={"Tenure-Signature": sign(body, BILLING_SECRET), "Content-Type": "application/json"},
            )
            assert answer.status_code == 200, answer.text
        await eventually(lambda: _rows(engine), lambda rows: len(rows) == 1)

        def ledger_insert() -> list[ReadableSpan]:
            return [
                s
                for s in spans.get_finished_spans()
                if "INSERT" in str(s.attributes.get("db.statement", ""))
                and "ledger_entries" in s.name + str(s.attributes)
            ]

        await eventually(_async(ledger_insert), bool)
    engine.dispose()

    finished = spans.get_finished_spans()
    [request] = [s for s in finished if s.kind == SpanKind.SERVER and "/webhooks/billing" in s.name]
    [insert] = ledger_insert()
    by_id = {s.context.span_id: s for s in finished}
    chain = _chain(insert, by_id)
    assert insert.context.trace_id == request.context.trace_id, chain
    assert chain[-1] == request.name, f"the INSERT descends from the webhook's request: {chain}"
    assert chain == [
        "INSERT",
        "RunActivity:record_ledger_and_profile",  # in the worker (rules version 4: the ledger with the profile)
        "StartActivity:record_ledger_and_profile",  # in the journey
        "SignalWithStartWorkflow:CustomerJourney",  # the API's Temporal client
        "POST /webhooks/billing",
    ]
    assert "ledger_entries" in str(insert.attributes["db.statement"])
    in_trace = {s.name for s in finished if s.context.trace_id == request.context.trace_id}
    assert {"RunWorkflow:CustomerJourney", "HandleSignal:event"} <= in_trace


async def _rows(engine):
    return ledger_rows(engine, "cus_traced")


def _async(fn):
    async def probe():
        return fn()

    return probe
