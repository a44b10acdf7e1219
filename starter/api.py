"""Tenure's HTTP service: billing webhooks, the app's activity, and the member API.

`make run` serves it with uvicorn (`starter.api:app`, http://127.0.0.1:8000, OpenAPI at /docs).

Nothing lost, nothing twice: an event is answered 2xx only once Temporal has accepted its
signal-with-start (`TenureClient.send`); when Temporal cannot be reached within a few seconds
the answer is 503 (with Retry-After) so the sender retries, and the journey ignores an event id
it has already applied, so a retry or a duplicate delivery lands exactly once.

Bad input never reaches a journey: bodies are size-limited before they are read, signatures
are checked before anything is parsed, and everything is validated before the first signal.
Every refusal is JSON: `{"error": "<what is wrong>", "detail": <specifics, e.g. the fields>}`.

Tests build their own app with `create_app(settings, client, program, engine)`.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any, TypeVar

import sqlalchemy as sa
import stripe
from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, TypeAdapter, model_validator
from pydantic_settings import SettingsConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from temporalio.client import (
    Client,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from domain.effects import LedgerEntry
from domain.messages import ActivityKind, ActivityReported, RedeemRequest, RedeemResult
from domain.program import Program, Reward
from domain.summary import Summary
from settings import Settings
from storage.engine import create_engine_for, ensure_schema
from storage.ledger_reads import ledger_page, ledger_totals
from storage.members import customers_with_email

from . import generic_billing, sendgrid_events, stripe_events
from .client import TenureClient
from .connect import connect, load_program
from .ingress import ApiError, CustomerId, Delivery, Ignored, field_errors, parse_json, validate

log = logging.getLogger("tenure.api")
T = TypeVar("T")

DEV_API_KEY = "dev-key"
STRIPE_TOLERANCE = 300


class ApiSettings(Settings):
    """Settings of the HTTP service, on top of the shared ones (same TENURE_ prefix)."""

    model_config = SettingsConfigDict(env_prefix="TENURE_", extra="ignore", populate_by_name=True)

    api_keys: str = Field(
        "", description="Comma-separated API keys for /events, /members and /rewards; empty: the dev key 'dev-key'."
    )
    stripe_webhook_secret: str | None = Field(
        None,
        validation_alias=AliasChoices("stripe_webhook_secret", "TENURE_STRIPE_WEBHOOK_SECRET", "STRIPE_WEBHOOK_SECRET"),
        description="Signing secret(s) of the Stripe webhook endpoint (whsec_...), comma-separated while rolling.",
    )
    billing_webhook_secret: str | None = Field(None, description="HMAC secret(s) of the generic billing webhook.")
    sendgrid_webhook_public_key: str | None = Field(
        None, description="Verification key of SendGrid's signed event webhook."
    )
    api_max_body_bytes: int = Field(256 * 1024, gt=0)
    api_sendgrid_max_body_bytes: int = Field(4 * 1024 * 1024, gt=0, description="SendGrid posts large batches.")
    api_temporal_timeout: float = Field(5.0, gt=0, description="Seconds a signal, query or connect may take.")
    api_update_timeout: float = Field(20.0, gt=0, description="Seconds a redemption (workflow update) may take.")

    def keys(self) -> list[str]:
        keys = [k.strip() for k in self.api_keys.split(",") if k.strip()]
        return keys or [DEV_API_KEY]

    @staticmethod
    def _split(value: str | None) -> list[str]:
        return [v.strip() for v in (value or "").split(",") if v.strip()]


def api_settings(settings: Settings | None) -> ApiSettings:
    if settings is None:
        return ApiSettings()
    if isinstance(settings, ApiSettings):
        return settings
    return ApiSettings(**settings.model_dump())


# --- request and response bodies -------------------------------------------------------------


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ActivityIn(_In):
    """One thing a member did in the app."""

    event_id: str = Field(
        min_length=1, max_length=200, description="The app's unique id for this event (deduplication)."
    )
    customer_id: CustomerId
    kind: ActivityKind
    detail: str | None = Field(None, max_length=500, examples=["exported a report"])
    occurred_at: datetime | None = Field(
        None, description="When it happened (ISO 8601); default: when the journey got it."
    )


class ActivityBatch(_In):
    events: list[ActivityIn] = Field(min_length=1, max_length=500)


ActivityReport = ActivityIn | ActivityBatch


class Accepted(BaseModel):
    accepted: int = Field(description="Events Temporal has accepted (duplicates included: the journey ignores them).")


class RedemptionIn(_In):
    """Exactly one of `points` (a billing credit) or `reward_id` (a catalog reward)."""

    points: int | None = Field(None, gt=0, description="Points to spend on a billing credit.")
    reward_id: str | None = Field(None, min_length=1, max_length=200, description="A reward of GET /rewards.")

    @model_validator(mode="after")
    def _one(self) -> RedemptionIn:
        if (self.points is None) == (self.reward_id is None):
            raise ValueError("give exactly one of points (a billing credit) or reward_id (a catalog reward)")
        return self


class LedgerOut(BaseModel):
    customer_id: str
    total: int = Field(description="Entries in this member's ledger.")
    offset: int
    limit: int
    entries: list[LedgerEntry]


class RewardsOut(BaseModel):
    currency: str
    points_per_currency_unit: int = Field(description="Points that buy 1.00 of billing credit.")
    minimum_points: int
    rewards: list[Reward]


class WebhookOut(BaseModel):
    received: bool = True
    event_id: str | None = None
    customer_id: str | None = None
    applied_as: str | None = Field(None, description="The journey event it became.")
    ignored: str | None = Field(None, description="Set when the event asks nothing of any journey.")
    reason: str | None = None


class SendGridOut(BaseModel):
    received: int
    delivered: int
    ignored: int


class ErrorOut(BaseModel):
    error: str
    detail: Any = None


ERRORS = {
    400: {"model": ErrorOut, "description": "Malformed JSON or header"},
    401: {"model": ErrorOut, "description": "Missing or wrong API key or signature, stale timestamp"},
    413: {"model": ErrorOut, "description": "Body too large"},
    422: {"model": ErrorOut, "description": "Missing or wrongly typed fields (named in detail)"},
    503: {"model": ErrorOut, "description": "Temporal unreachable: retry later (Retry-After)"},
}


# --- Temporal, lazily and with bounded waits -------------------------------------------------


def _unavailable(what: str, detail: Any = None) -> ApiError:
    return ApiError(503, what, detail, {"Retry-After": "5"})


class Services:
    """What a request needs: settings, program, SQL engine, and Temporal (connected on demand)."""

    RECONNECT_PAUSE = 1.0

    def __init__(self, settings: ApiSettings, program: Program, engine: sa.Engine, client: Client | None):
        self.settings = settings
        self.program = program
        self.engine = engine
        self._tenure = TenureClient(client, program, settings.task_queue) if client is not None else None
        self._lock = asyncio.Lock()
        self._failed_at = 0.0
        self._last_error = ""
        lookup = None
        if settings.stripe_api_key:
            lookup = stripe_events.stripe_invoice_lookup(settings.stripe_api_key, settings.stripe_api_base)
        self.invoice_lookup = lookup

    async def tenure(self) -> TenureClient:
        if self._tenure is not None:
            return self._tenure
        async with self._lock:
            if self._tenure is not None:
                return self._tenure
            if time.monotonic() - self._failed_at < self.RECONNECT_PAUSE:
                raise _unavailable("Temporal is unreachable", self._last_error)
            s = self.settings
            try:
                client = await asyncio.wait_for(connect(s), s.api_temporal_timeout)
            except Exception as e:  # noqa: BLE001 - any failure to connect means "retry later"
                self._failed_at = time.monotonic()
                self._last_error = f"{s.temporal_address}: {e or type(e).__name__}"
                log.warning("Temporal unreachable: %s", self._last_error)
                raise _unavailable("Temporal is unreachable", self._last_error) from None
            log.info("connected to Temporal at %s", s.temporal_address)
            self._tenure = TenureClient(client, self.program, s.task_queue)
            return self._tenure

    async def call(self, fn: Callable[[TenureClient], Awaitable[T]], timeout: float | None = None) -> T:
        """Run one Temporal call, bounded; unreachable or slow -> 503. NOT_FOUND propagates."""
        tenure = await self.tenure()
        timeout = timeout or self.settings.api_temporal_timeout
        try:
            return await asyncio.wait_for(fn(tenure), timeout)
        except TimeoutError:
            raise _unavailable(
                f"Temporal did not answer within {timeout:g} s",
                "retry later, a retry is safe (is Temporal up, and for queries and redemptions, a worker?)",
            ) from None
        except RPCError as e:
            if e.status == RPCStatusCode.NOT_FOUND:
                raise
            if e.status == RPCStatusCode.INVALID_ARGUMENT:
                raise ApiError(422, "Temporal refused the request", e.message) from None
            raise _unavailable(
                "Temporal is unavailable", f"{e.status.name if e.status else 'error'}: {e.message}"
            ) from None
        except WorkflowUpdateRPCTimeoutOrCancelledError:
            raise _unavailable("the journey did not answer in time", "retry with the same Idempotency-Key") from None
        except (ConnectionError, OSError) as e:
            raise _unavailable("Temporal is unreachable", str(e)) from None

    async def deliver(self, deliveries: list[Delivery]) -> None:
        """Signal-with-start every delivery; returns once Temporal accepted all of them."""
        sem = asyncio.Semaphore(32)

        async def one(d: Delivery) -> None:
            async with sem:
                await self.call(lambda t: t.send(d.customer_id, d.event))
            log.info("accepted %s %s for %s (%s)", d.event.type, d.event.event_id, d.customer_id, d.source)

        try:
            async with asyncio.TaskGroup() as tg:
                for d in deliveries:
                    tg.create_task(one(d))
        except* ApiError as eg:
            raise eg.exceptions[0] from None
        except* RPCError as eg:
            e = eg.exceptions[0]
            raise _unavailable(
                "Temporal is unavailable", f"{e.status.name if e.status else 'error'}: {e.message}"
            ) from None

    async def journey_exists(self, customer_id: str) -> bool:
        try:
            await self.call(lambda t: t.handle(customer_id).describe())
        except RPCError:  # NOT_FOUND
            return False
        return True

    def customers_with_email(self, email: str) -> list[str]:
        return customers_with_email(self.engine, email)


def no_journey(customer_id: str) -> ApiError:
    return ApiError(
        404,
        f"no journey for customer {customer_id!r}",
        "a journey starts with the customer's first event (a webhook or POST /events)",
    )


# --- body size ----------------------------------------------------------------------------------


class BodyTooLarge(StarletteHTTPException):
    def __init__(self, limit: int):
        super().__init__(413, f"the body exceeds {limit} bytes")
        self.limit = limit


class BodyLimit:
    """Refuse bodies over the limit before anything parses them: by Content-Length at once, and
    by counting the streamed bytes (chunked uploads, lying Content-Length)."""

    def __init__(self, app: ASGIApp, limit_for: Callable[[str], int]):
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope.get("path", ""))
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None:
            if not length.isdigit():
                await _send_json(send, 400, {"error": "malformed Content-Length header"})
                return
            if int(length) > limit:
                await _send_json(send, 413, _too_large(limit, int(length)))
                return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if started:
                raise
            await _send_json(send, 413, _too_large(limit, None))


def _too_large(limit: int, length: int | None) -> dict[str, Any]:
    return {
        "error": f"the body exceeds the limit of {limit} bytes",
        "detail": {"limit": limit, **({"content_length": length} if length is not None else {})},
    }


async def _send_json(send: Send, status: int, body: dict[str, Any]) -> None:
    raw = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(raw)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": raw})


# --- the app ------------------------------------------------------------------------------------

_bearer = HTTPBearer(auto_error=False, description="An API key of TENURE_API_KEYS (default: dev-key).")
_api_key_header = APIKeyHeader(name="X-Api-Key", auto_error=False, description="An API key of TENURE_API_KEYS.")


def _json_body(schema_name: str) -> dict[str, Any]:
    """openapi_extra for endpoints that read their body themselves (signatures need the raw bytes)."""
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema_name}"}}},
        }
    }


def create_app(
    settings: Settings | None = None,
    client: Client | None = None,
    program: Program | None = None,
    engine: sa.Engine | None = None,
) -> FastAPI:
    """The HTTP service. Anything not given is built at start-up from the environment."""

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if not logging.getLogger().handlers:  # under uvicorn: make tenure.api's lines visible
            logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
        s = api_settings(settings)
        prog = program or load_program(s)
        eng = engine or create_engine_for(s.db_url())
        await asyncio.to_thread(ensure_schema, eng)
        services = Services(s, prog, eng, client)
        app.state.services = services
        if client is None:
            try:
                await services.tenure()
            except ApiError:
                log.warning("starting without Temporal; requests that need it answer 503 until it is reachable")
        if s.api_keys.strip() == "":
            log.warning("TENURE_API_KEYS is not set: the API accepts the development key %r", DEV_API_KEY)
        try:
            yield
        finally:
            if engine is None:
                eng.dispose()

    app = FastAPI(
        title="Tenure",
        version="0.1.0",
        summary="Loyalty program and customer lifecycle on Temporal",
        description=(
            "Billing webhooks (Stripe, a generic signed format, SendGrid), the app's activity, and the member API. "
            'Errors are JSON: `{"error": ..., "detail": ...}`. A 503 means Temporal could not be reached: '
            "retry, it is safe (event ids and Idempotency-Keys make every retry land once)."
        ),
        lifespan=lifespan,
    )

    def limit_for(path: str) -> int:
        s = getattr(app.state, "services", None)
        cfg = s.settings if s is not None else api_settings(settings)
        return cfg.api_sendgrid_max_body_bytes if path == "/webhooks/sendgrid" else cfg.api_max_body_bytes

    app.add_middleware(BodyLimit, limit_for=limit_for)

    # ---- errors -------------------------------------------------------------------------------

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, e: ApiError) -> JSONResponse:
        return JSONResponse(e.body(), status_code=e.status, headers=e.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, e: RequestValidationError) -> JSONResponse:
        raw = list(e.errors())
        bad_json = [x for x in raw if x.get("type") == "json_invalid"]
        if bad_json:
            x = bad_json[0]
            where = x["loc"][-1] if len(x.get("loc", ())) > 1 else None
            return JSONResponse(
                {
                    "error": f"malformed JSON: {(x.get('ctx') or {}).get('error', x['msg'])}",
                    "detail": {"position": where},
                },
                status_code=400,
            )
        errors = field_errors(raw)
        names = ", ".join(dict.fromkeys(x["field"] for x in errors))
        return JSONResponse({"error": f"invalid request: {names}", "detail": errors}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, e: StarletteHTTPException) -> JSONResponse:
        if isinstance(e, BodyTooLarge):
            return JSONResponse(_too_large(e.limit, None), status_code=413)
        return JSONResponse({"error": str(e.detail)}, status_code=e.status_code, headers=getattr(e, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, e: Exception) -> JSONResponse:
        log.exception("unexpected error")
        return JSONResponse({"error": "internal error", "detail": type(e).__name__}, status_code=500)

    # ---- dependencies -------------------------------------------------------------------------

    def services(request: Request) -> Services:
        return request.app.state.services

    def api_key(
        request: Request,
        bearer: HTTPAuthorizationCredentials | None = Depends(_bearer),
        header_key: str | None = Depends(_api_key_header),
    ) -> str:
        given = header_key or (bearer.credentials if bearer else None)
        if not given:
            raise ApiError(
                401,
                "missing API key",
                "send Authorization: Bearer <key> or X-Api-Key: <key>",
                {"WWW-Authenticate": "Bearer"},
            )
        keys = request.app.state.services.settings.keys()
        if not any(hmac.compare_digest(given.encode(), k.encode()) for k in keys):
            raise ApiError(401, "wrong API key", None, {"WWW-Authenticate": "Bearer"})
        return given

    # ---- webhooks -----------------------------------------------------------------------------

    def webhook_answer(result: Delivery | Ignored, event_type: str, event_id: str | None) -> WebhookOut:
        if isinstance(result, Ignored):
            log.info("ignored %s %s: %s", event_type, event_id, result.reason)
            return WebhookOut(event_id=event_id, ignored=event_type, reason=result.reason)
        return WebhookOut(event_id=result.event.event_id, customer_id=result.customer_id, applied_as=result.event.type)

    @app.post(
        "/webhooks/stripe",
        response_model=WebhookOut,
        response_model_exclude_none=True,
        tags=["webhooks"],
        responses=ERRORS,
        openapi_extra=_json_body("StripeEvent"),
    )
    async def stripe_webhook(
        request: Request,
        svc: Services = Depends(services),
        stripe_signature: str | None = Header(
            None, alias="Stripe-Signature", description="t=...,v1=... as Stripe sends it"
        ),
    ):
        """A Stripe event as Stripe sends it (API version of the installed `stripe` package), verified with
        the endpoint's signing secret (TENURE_STRIPE_WEBHOOK_SECRET or STRIPE_WEBHOOK_SECRET), 5-minute tolerance."""
        secrets = ApiSettings._split(svc.settings.stripe_webhook_secret)
        if not secrets:
            raise ApiError(
                503,
                "the Stripe webhook is not configured",
                "set TENURE_STRIPE_WEBHOOK_SECRET (or STRIPE_WEBHOOK_SECRET) to the endpoint's signing secret",
                {"Retry-After": "300"},
            )
        body = await request.body()
        verify_stripe(body, stripe_signature, secrets)
        data = parse_json(body)
        result = await asyncio.to_thread(stripe_events.translate, data, svc.invoice_lookup)
        if isinstance(result, Delivery):
            await svc.deliver([result])
        return webhook_answer(result, str(data.get("type")), data.get("id"))

    @app.post(
        "/webhooks/billing",
        response_model=WebhookOut,
        response_model_exclude_none=True,
        tags=["webhooks"],
        responses=ERRORS,
        openapi_extra=_json_body("BillingEvent"),
    )
    async def billing_webhook(
        request: Request,
        svc: Services = Depends(services),
        tenure_signature: str | None = Header(
            None,
            alias=generic_billing.SIGNATURE_HEADER,
            description="t=<unix time>,v1=<hex HMAC-SHA256(secret, t + '.' + body)>",
        ),
    ):
        """The generic billing format (schema `BillingEvent`), signed with TENURE_BILLING_WEBHOOK_SECRET."""
        secrets = ApiSettings._split(svc.settings.billing_webhook_secret)
        if not secrets:
            raise ApiError(
                503,
                "the billing webhook is not configured",
                "set TENURE_BILLING_WEBHOOK_SECRET",
                {"Retry-After": "300"},
            )
        body = await request.body()
        generic_billing.verify(body, tenure_signature, secrets)
        result = generic_billing.translate(parse_json(body))
        await svc.deliver([result])
        return webhook_answer(result, result.event.type, result.event.event_id)

    @app.post(
        "/webhooks/sendgrid",
        response_model=SendGridOut,
        tags=["webhooks"],
        responses=ERRORS,
        openapi_extra=_json_body("SendGridEvents"),
    )
    async def sendgrid_webhook(request: Request, svc: Services = Depends(services)):
        """SendGrid's signed event webhook: bounces, drops, spam reports and unsubscribes stop sends to that
        member; opens and clicks count as activity."""
        body = await request.body()
        sendgrid_events.verify(
            svc.settings.sendgrid_webhook_public_key,
            body,
            request.headers.get(sendgrid_events.SIGNATURE_HEADER),
            request.headers.get(sendgrid_events.TIMESTAMP_HEADER),
        )
        data = parse_json(body)
        results = await asyncio.to_thread(sendgrid_events.translate, data, svc.customers_with_email)
        deliveries = [r for r in results if isinstance(r, Delivery)]
        await svc.deliver(deliveries)
        ignored = [r for r in results if isinstance(r, Ignored)]
        for r in ignored:
            log.info("ignored SendGrid event %s: %s", r.ref, r.reason)
        return SendGridOut(
            received=len(data) if isinstance(data, list) else 1, delivered=len(deliveries), ignored=len(ignored)
        )

    # ---- the app's activity -------------------------------------------------------------------

    @app.post(
        "/events",
        response_model=Accepted,
        status_code=202,
        tags=["activity"],
        responses=ERRORS,
        openapi_extra=_json_body("ActivityReport"),
        dependencies=[Depends(api_key)],
    )
    async def report_activity(request: Request, svc: Services = Depends(services)):
        """What members did in the app: one event, or `{"events": [...]}` (up to 500). All are validated
        before any is sent; the answer comes once Temporal has accepted every one."""
        data = parse_json(await request.body())
        if isinstance(data, dict) and "events" in data:
            events = validate(ActivityBatch, data, "activity batch").events
        elif isinstance(data, list):
            raise ApiError(422, 'invalid activity batch: a batch is {"events": [...]}, not a bare list')
        else:
            events = [validate(ActivityIn, data, "activity event")]
        deliveries = [
            Delivery(
                e.customer_id,
                ActivityReported(event_id=e.event_id, kind=e.kind, detail=e.detail, occurred_at=e.occurred_at),
                "app",
            )
            for e in events
        ]
        await svc.deliver(deliveries)
        return Accepted(accepted=len(deliveries))

    # ---- members ------------------------------------------------------------------------------

    @app.get(
        "/members/{customer_id}",
        response_model=Summary,
        tags=["members"],
        responses=ERRORS,
        dependencies=[Depends(api_key)],
    )
    async def member(customer_id: CustomerId, svc: Services = Depends(services)):
        """Balance, pending points, tier, next tier and the points still needed, lots with their expiry."""
        try:
            return await svc.call(lambda t: t.summary(customer_id))
        except RPCError:
            raise no_journey(customer_id) from None
        except WorkflowQueryFailedError as e:
            raise ApiError(500, "the journey could not answer", str(e)) from None

    @app.get(
        "/members/{customer_id}/ledger",
        response_model=LedgerOut,
        tags=["members"],
        responses=ERRORS,
        dependencies=[Depends(api_key)],
    )
    async def member_ledger(
        customer_id: CustomerId,
        svc: Services = Depends(services),
        offset: int = Query(0, ge=0),
        limit: int = Query(50, ge=1, le=500),
    ):
        """The member's ledger from the database, oldest first: every accrual, spend, expiry and reversal."""
        entries = await asyncio.to_thread(ledger_page, svc.engine, customer_id, offset, limit)
        totals = await asyncio.to_thread(ledger_totals, svc.engine, customer_id)
        total = totals[customer_id].count if customer_id in totals else 0
        if total == 0:
            try:
                exists = await svc.journey_exists(customer_id)
            except ApiError:
                exists = True  # Temporal unreachable: the database has spoken (no entries yet)
            if not exists:
                raise no_journey(customer_id)
        return LedgerOut(customer_id=customer_id, total=total, offset=offset, limit=limit, entries=entries)

    @app.post(
        "/members/{customer_id}/redemptions",
        response_model=RedeemResult,
        tags=["members"],
        responses={
            **ERRORS,
            404: {"model": ErrorOut},
            409: {"model": ErrorOut, "description": "Refused by the journey"},
        },
        dependencies=[Depends(api_key)],
    )
    async def redeem(
        customer_id: CustomerId,
        body: RedemptionIn,
        svc: Services = Depends(services),
        idempotency_key: str = Header(
            alias="Idempotency-Key",
            min_length=1,
            max_length=200,
            description="Your id for this redemption: a retry with the same key "
            "returns the first answer and spends nothing twice.",
        ),
    ):
        """Spend points, answered synchronously by the journey (a workflow update)."""
        req = RedeemRequest(
            request_id=idempotency_key,
            kind="reward" if body.reward_id else "credit",
            points=body.points,
            reward_id=body.reward_id,
        )
        try:
            return await svc.call(
                lambda t: t.handle(customer_id).execute_update("redeem", req, result_type=RedeemResult),
                timeout=svc.settings.api_update_timeout,
            )
        except RPCError:
            raise no_journey(customer_id) from None
        except WorkflowUpdateFailedError as e:
            raise refused(e) from None

    @app.get("/rewards", response_model=RewardsOut, tags=["members"], responses=ERRORS, dependencies=[Depends(api_key)])
    async def rewards(svc: Services = Depends(services)):
        """The rewards catalog and the billing-credit rate of the program."""
        r = svc.program.redemption
        return RewardsOut(
            currency=svc.program.currency,
            points_per_currency_unit=r.points_per_currency_unit,
            minimum_points=r.minimum_points,
            rewards=r.catalog,
        )

    @app.get("/healthz", tags=["ops"])
    async def health(svc: Services = Depends(services)):
        """200 when Temporal answers, 503 otherwise."""
        try:
            await svc.call(lambda t: t.client.service_client.check_health(timeout=_seconds(2)))
        except ApiError as e:
            return JSONResponse({"status": "degraded", "temporal": e.error, "detail": e.detail}, status_code=503)
        return {
            "status": "ok",
            "temporal": "reachable",
            "task_queue": svc.settings.task_queue,
            "program": svc.program.version,
        }

    # ---- OpenAPI: publish the schemas of the bodies read by hand ------------------------------

    published: dict[str, TypeAdapter] = {
        "StripeEvent": TypeAdapter(stripe_events.StripeEvent),
        "BillingEvent": generic_billing.billing_event_adapter,
        "SendGridEvents": sendgrid_events.SendGridBatch,
        "ActivityReport": TypeAdapter(ActivityReport),
    }

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, summary=app.summary, description=app.description, routes=app.routes
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for name, adapter in published.items():
            js = adapter.json_schema(ref_template="#/components/schemas/{model}")
            for def_name, d in js.pop("$defs", {}).items():
                components.setdefault(def_name, d)
            components[name] = js
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def _seconds(n: float) -> timedelta:
    return timedelta(seconds=n)


def verify_stripe(body: bytes, header: str | None, secrets: list[str]) -> None:
    """Stripe's signature check with each secret, and what stripe.Webhook.construct_event checks of
    the body; its refusals as 400/401 with a clear message.

    Not construct_event itself: it also builds a StripeObject tree of the whole event, which is
    thrown away here and cost nearly half of the API's CPU per webhook (bench/RESULTS.md).
    """
    last: stripe.SignatureVerificationError | None = None
    for secret in secrets:
        try:
            stripe.WebhookSignature.verify_header(body, header, secret, STRIPE_TOLERANCE)
            _check_stripe_event(body)
            return
        except stripe.SignatureVerificationError as e:
            last = e
        except UnicodeDecodeError:
            raise ApiError(400, "malformed JSON: the body is not UTF-8") from None
        except ValueError:  # signature fine, body is not a Stripe event's JSON
            parse_json(body)  # raises 400 with the position when it is not JSON at all
            raise ApiError(400, "not a Stripe webhook event", 'expected an object with "object": "event"') from None
    msg = str(last.user_message if last and last.user_message else last)
    if not header:
        raise ApiError(
            401,
            "missing Stripe-Signature header",
            "Stripe signs every delivery; sign test events with scripts/sign_stripe_event.py",
        )
    if "Timestamp outside the tolerance zone" in msg:
        raise ApiError(401, f"stale timestamp: the Stripe-Signature is older than {STRIPE_TOLERANCE} s", msg)
    if "Unable to extract" in msg or "expected scheme" in msg:
        raise ApiError(401, "malformed Stripe-Signature header", msg)
    raise ApiError(401, "Stripe signature does not match the body", msg)


def _check_stripe_event(body: bytes) -> None:
    """What construct_event refuses once the signature is good (ValueError): a body that is not
    JSON, or a thin (v2) event notification. A JSON value that is not an object is refused too."""
    data = json.loads(body)
    if not isinstance(data, dict) or data.get("object") == "v2.core.event":
        raise ValueError("not a snapshot event")


def refused(e: WorkflowUpdateFailedError) -> ApiError:
    """The journey's refusal (its validator or the update), with the journey's own message."""
    cause = e.cause
    while cause is not None and not isinstance(cause, ApplicationError) and cause.__cause__ is not None:
        cause = cause.__cause__
    message = getattr(cause, "message", None) or str(cause or e)
    kind = getattr(cause, "type", None)
    if kind == "CreditRefused":
        return ApiError(409, "billing refused the credit; the points were returned", message)
    invalid = ("unknown reward", "reward_id is required", "points must", "at least ")
    status = 422 if any(message.startswith(p) for p in invalid) else 409
    return ApiError(status, message, {"refused_by": "journey", "type": kind})


app = create_app()
