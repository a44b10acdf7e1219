"""The API's Prometheus metrics, served on `GET /metrics` (no key: labels are closed vocabularies, a route's
template and never its customer id, so nothing personal is exposed; keep the port off the internet).

- `tenure_webhooks_total{source, outcome}`: every delivery to /webhooks/* and /events, by how it was answered;
- `tenure_events_signalled_total{source, type}`: events Temporal accepted for a journey;
- `tenure_api_answer_seconds{route, method}`: how long each answer took (a redemption waits on its journey);
- `tenure_redemptions_total{outcome}`: redeemed, a refusal's code, or unavailable;
plus the process collector's `process_*` (CPU, memory, open files) and `python_gc_*`.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Histogram, generate_latest
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

WEBHOOKS = Counter(
    "tenure_webhooks", "Deliveries to the webhooks and /events, by source and outcome.", ["source", "outcome"]
)
EVENTS_SIGNALLED = Counter(
    "tenure_events_signalled", "Events Temporal accepted for a journey, by source and event type.", ["source", "type"]
)
ANSWER_SECONDS = Histogram(
    "tenure_api_answer_seconds",
    "Seconds to answer, by route template and method.",
    ["route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
REDEMPTIONS = Counter(
    "tenure_redemptions", "Redemptions by outcome: redeemed, a refusal's code, unavailable.", ["outcome"]
)
# Prometheus names (counters get `_total`), for deploy/ and the test that checks what the dashboards refer to.
NAMES = (
    "tenure_webhooks_total",
    "tenure_events_signalled_total",
    "tenure_api_answer_seconds",
    "tenure_redemptions_total",
)

WEBHOOK_SOURCES = {"/webhooks/stripe": "stripe", "/webhooks/billing": "billing", "/webhooks/sendgrid": "sendgrid"}
APP_EVENTS = "/events"

router = APIRouter(include_in_schema=False)


@router.get("/metrics")
def metrics() -> Response:
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


_CHILDREN: dict[tuple[object, tuple[str, ...]], Any] = {}


def child(metric: Counter | Histogram, *labels: str) -> Any:
    """`metric.labels(*labels)`, looked up once per label set: `labels()` checks and copies its
    arguments on every call, per request (the label values are closed vocabularies: few sets)."""
    key = (metric, labels)
    found = _CHILDREN.get(key)
    if found is None:
        found = _CHILDREN[key] = metric.labels(*labels)
    return found


def outcome_of(status: int) -> str:
    if status < 300:
        return "accepted"
    return {
        400: "invalid",
        422: "invalid",
        401: "unauthorized",
        403: "unauthorized",
        413: "too_large",
        503: "unavailable",
    }.get(status, "refused" if status < 500 else "error")


def count_signalled(source: str, event_type: str) -> None:
    child(EVENTS_SIGNALLED, source.split(":", 1)[0] or "unknown", event_type).inc()


def count_redemption(outcome: str) -> None:
    child(REDEMPTIONS, outcome).inc()


class Measured:
    """ASGI middleware: each answer's time by route template, and the webhooks' outcomes."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = scope.get("route")  # FastAPI's matched route: its template, never the customer id in the path
            template = getattr(route, "path", None) or "unmatched"
            if template != "/metrics":
                child(ANSWER_SECONDS, template, scope["method"]).observe(time.perf_counter() - started)
            path = scope["path"]
            source = WEBHOOK_SOURCES.get(path) or ("app" if path == APP_EVENTS else None)
            if source is not None and scope["method"] == "POST":
                child(WEBHOOKS, source, outcome_of(status)).inc()
