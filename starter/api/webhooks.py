"""The senders' webhooks: Stripe, the generic billing format, SendGrid. Each route reads the raw body,
checks the signature, parses it once, translates (`starter.ingress`) and delivers."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Header, Request
from fastapi.responses import Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field
from pydantic_core import to_json
from starlette.routing import request_response

from starter.ingress import generic_billing, sendgrid_events, stripe_events
from starter.ingress.results import Delivery, Ignored

from .dependencies import ServicesDep
from .errors import answers
from .openapi import json_body
from .services import Services

log = logging.getLogger("tenure.api")

WEBHOOK_ANSWERS = answers(400, 401, 413, 422, 503)
router = APIRouter(tags=["webhooks"], responses=WEBHOOK_ANSWERS)


class WebhookOut(BaseModel):
    received: bool = True
    event_id: str | None = None
    customer_id: str | None = None
    applied_as: str | None = Field(None, description="The journey event it became.")
    ignored: str | None = Field(None, description="Set when the event asks nothing of any journey.")
    reason: str | None = None


class SendGridOut(BaseModel):
    received: int = Field(description="Events in the batch.")
    delivered: int = Field(description="Facts Temporal accepted for a member's journey.")
    ignored: int = Field(description="Facts that asked nothing of any journey (no_journey included).")
    no_journey: int = Field(0, description="Of those, facts about customers without a journey (none is opened).")


def _answer(result: Delivery | Ignored, event_type: str, event_id: str | None) -> dict[str, Any]:
    """The body of `WebhookOut` without its empty fields: the Stripe route renders it as it is (no
    response-model pass on the busiest route), the billing route has FastAPI check it as `WebhookOut`."""
    if isinstance(result, Ignored):
        log.info("ignored %s %s: %s", event_type, event_id, result.reason)
        return {"received": True, "event_id": event_id, "ignored": event_type, "reason": result.reason}
    return {
        "received": True,
        "event_id": result.event.event_id,
        "customer_id": result.customer_id,
        "applied_as": result.event.type,
    }


STRIPE_SIGNATURE_DOC = "t=...,v1=... as Stripe sends it"


async def stripe_webhook(request: Request) -> Response:
    """A Stripe event as Stripe sends it (API version of the installed `stripe` package), verified with
    the endpoint's signing secret (TENURE_STRIPE_WEBHOOK_SECRET or STRIPE_WEBHOOK_SECRET), 5-minute tolerance."""
    # The busiest route, kept lean (bench/RESULTS.md, issue 14): no dependencies to solve and the
    # answer rendered here, so FastAPI neither validates nor re-serializes it (`WebhookOut` documents it).
    svc: Services = request.app.state.services
    secrets = stripe_events.signing_secrets(svc.settings.stripe_webhook_secret)
    data = stripe_events.verified_event(
        await request.body(), request.headers.get(stripe_events.SIGNATURE_HEADER), secrets
    )
    kind = data.get("type")  # any JSON value here: translate() refuses what is not an event type
    if isinstance(kind, str) and kind in stripe_events.MAY_LOOK_UP:  # may ask Stripe (I/O): off the loop
        result = await asyncio.to_thread(stripe_events.translate, data, svc.invoice_lookup)
    else:  # pure and quick: a thread hop would cost more than the translation
        result = stripe_events.translate(data, svc.invoice_lookup)
    if isinstance(result, Delivery):
        await svc.deliver_one(result)
    answer = {k: v for k, v in _answer(result, str(kind), data.get("id")).items() if v is not None}
    return Response(to_json(answer), media_type="application/json")  # JSONResponse's bytes, without json.dumps


class PlainHandlerRoute(APIRoute):
    """An `APIRoute` (matched, named and documented as FastAPI's) whose requests go to its endpoint as
    Starlette hands them over: `endpoint(request) -> Response`, exceptions to the app's handlers.

    For an endpoint that takes only the request and renders its own answer, FastAPI's handler does
    nothing but cost: it solves an empty set of dependencies (building the query parameters, headers
    and cookies to do so), opens two exit stacks and checks the returned response
    (bench/RESULTS.md, 14.10)."""

    def __init__(self, path: str, endpoint: Any, **options: Any) -> None:
        super().__init__(path, endpoint, **options)
        d = self.dependant
        if d.dependencies or d.path_params or d.query_params or d.header_params or d.cookie_params or d.body_params:
            raise TypeError(f"{path}: a plain handler takes only the request (FastAPI would solve the rest)")
        if getattr(self, "max_body_size", None) is not None:  # FastAPI's per-route limit wraps its handler
            raise TypeError(f"{path}: a plain handler has no per-route body limit (the app's BodyLimit applies)")
        self.app = request_response(endpoint)


def add_stripe_route(app: FastAPI) -> None:
    """`POST /webhooks/stripe`, on the app itself rather than through `router`: FastAPI reaches an included
    router's routes through two more layers of matching per request, and this route takes most requests."""
    app.router.add_api_route(
        "/webhooks/stripe",
        stripe_webhook,
        methods=["POST"],
        tags=["webhooks"],
        responses=WEBHOOK_ANSWERS,
        response_model=WebhookOut,
        response_model_exclude_none=True,
        openapi_extra={
            **json_body("StripeEvent"),
            # documented here, read from the request: a `Header` parameter is a dependency FastAPI solves per request
            "parameters": [
                {
                    "name": stripe_events.SIGNATURE_HEADER,
                    "in": "header",
                    "required": False,
                    "schema": {
                        "anyOf": [{"type": "string"}, {"type": "null"}],
                        "description": STRIPE_SIGNATURE_DOC,
                        "title": stripe_events.SIGNATURE_HEADER,
                    },
                    "description": STRIPE_SIGNATURE_DOC,
                }
            ],
        },
        route_class_override=PlainHandlerRoute,
    )


@router.post(
    "/webhooks/billing",
    response_model=WebhookOut,
    response_model_exclude_none=True,
    openapi_extra=json_body("BillingEvent"),
)
async def billing_webhook(
    request: Request,
    svc: ServicesDep,
    tenure_signature: Annotated[
        str | None,
        Header(
            alias=generic_billing.SIGNATURE_HEADER,
            description="t=<unix time>,v1=<hex HMAC-SHA256(secret, t + '.' + body)>",
        ),
    ] = None,
) -> WebhookOut:
    """The generic billing format (schema `BillingEvent`), signed with TENURE_BILLING_WEBHOOK_SECRET."""
    secrets = generic_billing.signing_secrets(svc.settings.billing_webhook_secret)
    data = generic_billing.verified_event(await request.body(), tenure_signature, secrets)
    result = generic_billing.translate(data)
    await svc.deliver_one(result)
    return WebhookOut(**_answer(result, result.event.type, result.event.event_id))


@router.post("/webhooks/sendgrid", response_model=SendGridOut, openapi_extra=json_body("SendGridEvents"))
async def sendgrid_webhook(request: Request, svc: ServicesDep) -> SendGridOut:
    """SendGrid's signed event webhook: bounces, drops, spam reports and unsubscribes stop sends to that
    member; opens and clicks count as activity. Never opens a journey: an event about a customer without
    one is ignored (counted in `no_journey`)."""
    data = sendgrid_events.verified_events(
        svc.settings.sendgrid_webhook_public_key,
        await request.body(),
        request.headers.get(sendgrid_events.SIGNATURE_HEADER),
        request.headers.get(sendgrid_events.TIMESTAMP_HEADER),
        svc.settings.sendgrid_webhook_max_age,
    )
    results = await asyncio.to_thread(sendgrid_events.translate, data, svc.customers_with_email)
    deliveries = [r for r in results if isinstance(r, Delivery)]
    without_journey = await svc.deliver_to_journeys(deliveries)
    ignored = [r for r in results if isinstance(r, Ignored)]
    for r in ignored:
        log.info("ignored SendGrid event %s: %s", r.ref, r.reason)
    for d in without_journey:
        log.info("ignored SendGrid %s %s: customer %s has no journey", d.source, d.event.event_id, d.customer_id)
    return SendGridOut(
        received=len(data) if isinstance(data, list) else 1,
        delivered=len(deliveries) - len(without_journey),
        ignored=len(ignored) + len(without_journey),
        no_journey=len(without_journey),
    )
