"""The signed webhook's hot path, made lean for issue 14 (bench/RESULTS.md 14.7), answers as before:
a paid invoice validated in one pass gives what the step-by-step path gives, a malformed field Tenure
reads is still a 422 naming it, junk Tenure never reads is no refusal, the depth check is the same
check, the route's hand-rendered answer is the documented one, and a Temporal call still times out."""

from __future__ import annotations

import asyncio
import copy
import json
import random
from datetime import timedelta
from typing import Any

import pytest
from fastapi import Request

from domain.messages import PaymentSucceeded
from starter.api.errors import ApiError
from starter.client import JourneyUnavailable, TenureClient
from starter.ingress import parsing, stripe_events
from starter.ingress.results import Delivery, Ignored
from starter.ingress.stripe_objects import InvoiceEvent
from tests.api_kit import invoice_paid_event, recording_app, stripe_body, stripe_headers


class _StepByStep:
    """Stands in for `InvoiceEvent`: never validates, so `translate` takes the step-by-step path."""

    @staticmethod
    def model_validate(data: Any) -> Any:
        return InvoiceEvent.model_validate({})  # raises ValidationError


def _variants() -> list[dict]:
    monthly = invoice_paid_event("cus_H1", 4900, "usd", "month")
    annual = invoice_paid_event("cus_H2", 49000, "eur", "year")
    emailed = invoice_paid_event("cus_H3")
    emailed["data"]["object"]["customer_email"] = "ada@example.com"
    odd_email = invoice_paid_event("cus_H4")
    odd_email["data"]["object"]["customer_email"] = "not an address"
    free = invoice_paid_event("cus_H5", 0)
    one_off = invoice_paid_event("cus_H6")
    one_off["data"]["object"]["parent"] = None
    one_off["data"]["object"]["lines"]["data"][0]["parent"] = {"type": "invoice_item_details"}
    expanded = invoice_paid_event("cus_H7")
    expanded["data"]["object"]["customer"] = {"id": "cus_H7", "object": "customer"}
    succeeded = invoice_paid_event("cus_H8")
    succeeded["type"] = "invoice.payment_succeeded"
    return [monthly, annual, emailed, odd_email, free, one_off, expanded, succeeded]


@pytest.mark.parametrize("event", _variants(), ids=lambda e: e["data"]["object"]["customer"].__str__()[:12])
def test_one_pass_gives_what_the_step_by_step_path_gives(event, monkeypatch):
    fast = stripe_events.translate(copy.deepcopy(event))
    monkeypatch.setattr(stripe_events, "InvoiceEvent", _StepByStep)
    slow = stripe_events.translate(copy.deepcopy(event))
    assert fast == slow
    assert isinstance(fast, Delivery | Ignored)


@pytest.mark.parametrize(
    "path, value, field, what",
    [
        (("data", "object", "amount_paid"), -5, "data.object.amount_paid", "invoice.paid event"),
        (("data", "object", "amount_paid"), "4900", "data.object.amount_paid", "invoice.paid event"),
        (("data", "object", "currency"), "zzz", "data.object.currency", "invoice.paid event"),
        (("data", "object", "lines", "data", 0, "amount"), True, "data.object.lines.data[0].amount", "invoice.paid"),
        (("data", "object", "lines", "data", 0, "period"), None, "data.object.lines.data[0].period", "invoice.paid"),
        (("data", "object", "id"), "in\n1", "data.object.id", "invoice.paid event"),
        (("created",), "yesterday", "created", "Stripe event"),
        (("data", "object"), ["not", "an", "invoice"], "data.object", "Stripe event"),
        (("data", "previous_attributes"), [], "data.previous_attributes", "Stripe event"),
    ],
)
def test_a_malformed_field_tenure_reads_is_named(path, value, field, what):
    event = invoice_paid_event("cus_H9")
    target = event
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(ApiError) as e:
        stripe_events.translate(event)
    assert e.value.status == 422 and what in e.value.error and field in e.value.error, e.value.error
    assert field in [x["field"] for x in e.value.detail]


def test_junk_tenure_never_reads_is_no_refusal():
    clean = invoice_paid_event("cus_J1", event_id="evt_J1", invoice_id="in_J1", created=None)
    junk = copy.deepcopy(clean)
    inv = junk["data"]["object"]
    inv["billing_reason"] = {"not": "a word"}
    inv["footer"] = ["anything", 1, None]
    inv["unknown_field_from_a_newer_api"] = {"deep": [[[1]]]}
    line = inv["lines"]["data"][0]
    del line["id"]
    line["pricing"] = 12345
    result = stripe_events.translate(junk)
    assert result == stripe_events.translate(clean)
    assert isinstance(result, Delivery) and isinstance(result.event, PaymentSucceeded)


@pytest.mark.parametrize("kind", [{"a": 1}, ["invoice.paid"], 7, None])
def test_an_event_type_that_is_no_string_is_a_422(kind):
    event = invoice_paid_event("cus_J2")
    event["type"] = kind
    with pytest.raises(ApiError) as e:
        stripe_events.translate(event)
    assert e.value.status == 422 and "type" in e.value.error


def _reference_depth_exceeds(data: Any, limit: int) -> bool:
    """The check as it was written first: a stack of (value, depth)."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else None
        if children is None:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def test_depth_check_is_the_same_check():
    rng = random.Random(14)

    def nest(depth: int) -> Any:
        value: Any = rng.choice([1, "x", None, [], {}])
        for _ in range(depth):
            value = [0, value, {}] if rng.random() < 0.5 else {"a": value, "b": [1]}
        return value

    for depth in range(0, 70):
        data = json.loads(json.dumps(nest(depth)))
        for limit in (1, 2, 5, 63, 64, 65):
            assert parsing.depth_exceeds(data, limit) == _reference_depth_exceeds(data, limit), (depth, limit)
    assert parsing.depth_exceeds([[1]], 0) and not parsing.depth_exceeds(1, 0)


async def test_the_route_answers_what_it_documents(program, tmp_path):
    async with recording_app(program, tmp_path) as http:
        paid = invoice_paid_event("cus_R1", event_id="evt_R1")
        body = stripe_body(paid)
        r = await http.post("/webhooks/stripe", content=body, headers=stripe_headers(body))
        assert r.status_code == 200 and r.headers["content-type"] == "application/json"
        assert r.json() == {
            "received": True,
            "event_id": "evt_R1",
            "customer_id": "cus_R1",
            "applied_as": "payment_succeeded",
        }
        assert [c for c, _ in http.rec.sent] == ["cus_R1"]
        unused = dict(paid, type="invoice.finalized", id="evt_R2")
        body = stripe_body(unused)
        r = await http.post("/webhooks/stripe", content=body, headers=stripe_headers(body))
        assert r.status_code == 200
        assert r.json() == {
            "received": True,
            "event_id": "evt_R2",
            "ignored": "invoice.finalized",
            "reason": "Stripe event type invoice.finalized is not used by Tenure",
        }
        assert len(http.rec.sent) == 1
        doc = (await http.get("/openapi.json")).json()["paths"]["/webhooks/stripe"]["post"]
        assert [p["name"] for p in doc["parameters"]] == ["Stripe-Signature"]
        assert doc["responses"]["200"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/WebhookOut"
        }


async def test_a_temporal_call_still_times_out(program):
    """`TenureClient` bounds a call with a timeout scope (no task of its own): the call is cancelled."""
    cancelled = asyncio.Event()

    class Hanging:
        data_converter = None

        async def start_workflow(self, *args: Any, **kwargs: Any) -> None:
            try:
                await asyncio.sleep(3600)
            finally:
                cancelled.set()

    tenure = TenureClient(Hanging(), program, "q", call_timeout=timedelta(seconds=0.05))  # type: ignore[arg-type] - a stand-in client
    tenure._start_input = lambda customer_id, program: customer_id  # type: ignore[method-assign] - no converter here
    event = PaymentSucceeded(event_id="evt_T", invoice_id="in_T", amount_minor=1, currency="USD")
    with pytest.raises(JourneyUnavailable) as e:
        await tenure.send("cus_T", event)
    assert (e.value.kind, e.value.timeout) == ("timed_out", 0.05) and cancelled.is_set()


async def test_the_served_app_freezes_its_start_up_heap(program, tmp_path):
    """`starter.api:app` (the process's only app) moves what start-up made out of the collector's sight;
    an app built by a test leaves the process's collector alone."""
    import gc

    from starter.api.app import create_app
    from storage.engine import create_engine_for
    from storage.migrate import upgrade
    from tests.api_kit import api_settings, app_client

    engine = create_engine_for(f"sqlite:///{tmp_path / 'api.db'}")
    upgrade(engine)
    gc.unfreeze()
    try:
        async with app_client(api_settings(data_dir=tmp_path), client=object(), program=program, engine=engine):
            assert gc.get_freeze_count() == 0, "a test's app does not freeze the test process"
        served = create_app(
            api_settings(data_dir=tmp_path),
            client=object(),  # type: ignore[arg-type] - never called here
            program=program,
            engine=engine,
            freeze_heap=True,
        )
        async with served.router.lifespan_context(served):
            assert gc.get_freeze_count() > 1000
    finally:
        gc.unfreeze()
        engine.dispose()


async def test_the_stripe_route_skips_fastapis_handler_and_keeps_its_answers(program, tmp_path, monkeypatch):
    """`/webhooks/stripe` is served by its endpoint as Starlette hands it over (`PlainHandlerRoute`):
    FastAPI's dependency solving never runs for it (it does for the billing route, so the probe works),
    while its refusals still go through the app's error handlers and its metrics keep the route's name."""
    import fastapi.routing

    from starter.api import metrics

    solved: list[str] = []
    real = fastapi.routing.solve_dependencies

    async def probe(*args: Any, **kwargs: Any) -> Any:
        solved.append(kwargs["request"].url.path)
        return await real(*args, **kwargs)

    monkeypatch.setattr(fastapi.routing, "solve_dependencies", probe)
    async with recording_app(program, tmp_path) as http:
        body = stripe_body(invoice_paid_event("cus_P1", event_id="evt_P1"))
        assert (await http.post("/webhooks/stripe", content=body, headers=stripe_headers(body))).status_code == 200
        bad = stripe_body(dict(invoice_paid_event("cus_P2"), created="yesterday"))
        r = await http.post("/webhooks/stripe", content=bad, headers=stripe_headers(bad))
        assert r.status_code == 422 and r.json()["error"].startswith("invalid Stripe event"), r.json()
        r = await http.post("/webhooks/stripe", content=body, headers=stripe_headers(body, secret="whsec_other"))
        assert r.status_code == 401 and "signature" in r.json()["error"]
        assert (await http.get("/webhooks/stripe")).status_code == 405
        assert solved == []
        await http.post("/webhooks/billing", content=b"{}")
        assert solved == ["/webhooks/billing"]
        seconds = metrics.ANSWER_SECONDS.labels("/webhooks/stripe", "POST")._sum.get()
        assert seconds > 0  # the route's template, not "unmatched"


def test_a_plain_handler_route_refuses_an_endpoint_fastapi_would_feed():
    from fastapi import Header

    from starter.api.webhooks import PlainHandlerRoute

    async def needs_a_header(request: Any, x_thing: str = Header()) -> None: ...

    with pytest.raises(TypeError, match="takes only the request"):
        PlainHandlerRoute("/x", needs_a_header, methods=["POST"])

    async def plain(request: Request) -> None: ...

    with pytest.raises(TypeError, match="no per-route body limit"):
        PlainHandlerRoute("/x", plain, methods=["POST"], max_body_size=10)
    assert PlainHandlerRoute("/x", plain, methods=["POST"]).path == "/x"


def test_a_body_with_few_brackets_skips_the_walk_and_parsing_refuses_the_same(monkeypatch):
    """`parse_json` walks the parse only when the body has more brackets than the depth limit (a body
    with fewer cannot nest deeper); what it refuses is what the walk alone refused."""
    rng = random.Random(1410)

    def nest(depth: int) -> Any:
        value: Any = rng.choice([1, "[{", None, [], {}])
        for _ in range(depth):
            value = [value, "]]"] if rng.random() < 0.5 else {"a{": value}
        return value

    for depth in list(range(0, 70)) + [rng.randrange(50, 80) for _ in range(40)]:
        doc = nest(depth)
        body = json.dumps(doc, indent=rng.choice([None, 2])).encode()
        expected = _reference_depth_exceeds(json.loads(body), parsing.MAX_JSON_DEPTH)
        try:
            parsing.parse_json(body)
            refused = False
        except ApiError as e:
            assert e.status == 400 and "nested deeper" in e.error
            refused = True
        assert refused == expected, depth
    walked: list[int] = []
    real = parsing.depth_exceeds
    monkeypatch.setattr(parsing, "depth_exceeds", lambda data, limit: walked.append(1) or real(data, limit))
    parsing.parse_json(stripe_body(invoice_paid_event("cus_D1")))
    assert walked == []
    parsing.parse_json(b"[" * 33 + b",".join([b"{}"] * 32) + b"]" * 33)  # 65 brackets: walked (34 levels)
    assert walked == [1]


async def test_the_stripe_answer_is_jsonresponses_bytes_and_fastapis_own_telemetry_stays_off(
    program, tmp_path, monkeypatch
):
    """The route renders its answer as JSONResponse did (compact, UTF-8), and no request looks up
    OpenTelemetry's global providers (Tenure's tracing has its own; FastAPI's native telemetry is off)."""
    from opentelemetry import trace

    looked_up: list[int] = []
    real = trace.get_tracer_provider
    monkeypatch.setattr(trace, "get_tracer_provider", lambda: looked_up.append(1) or real())
    async with recording_app(program, tmp_path) as http:
        body = stripe_body(invoice_paid_event("cus_B1", event_id="evt_é1"))
        r = await http.post("/webhooks/stripe", content=body, headers=stripe_headers(body))
        expected = {"received": True, "event_id": "evt_é1", "customer_id": "cus_B1", "applied_as": "payment_succeeded"}
        assert r.content == json.dumps(expected, ensure_ascii=False, separators=(",", ":")).encode()
        assert r.headers["content-type"] == "application/json"
        assert looked_up == []


def test_days_in_month_is_the_calendars():
    import calendar

    from starter.ingress.cadence import days_in_month

    for year in [*range(1896, 1905), *range(1995, 2105), 2400]:
        for month in range(1, 13):
            assert days_in_month(year, month) == calendar.monthrange(year, month)[1], (year, month)
