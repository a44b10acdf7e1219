"""Every answer other than success, in one shape: `{"error": "<what is wrong>", "detail": <specifics>}`.

`ApiError` (raised by the routes and the translators of `starter.ingress`), how the client's typed
errors become statuses, the handlers that render every failure (validation, unknown routes,
oversized bodies, bugs), and the error responses the OpenAPI document lists.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from domain.messages import FREE_TEXT, SINGLE_LINE
from domain.refusals import REFUSED_ERROR_TYPE
from starter.client.errors import (
    JourneyError,
    JourneyFailed,
    JourneyRefused,
    JourneyUnavailable,
    NoJourney,
    TemporalRejected,
)

from .middleware import BodyTooLarge, too_large

log = logging.getLogger("tenure.api")

RETRY_SOON = {"Retry-After": "5"}
RETRY_LATER = {"Retry-After": "300"}


class ApiError(Exception):
    """An answer other than success: rendered as `{"error": ..., "detail": ...}` with `status`."""

    def __init__(self, status: int, error: str, detail: Any = None, headers: Mapping[str, str] | None = None):
        super().__init__(error)
        self.status = status
        self.error = error
        self.detail = detail
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"error": self.error}
        if self.detail is not None:
            out["detail"] = self.detail
        return out


class ErrorOut(BaseModel):
    error: str
    detail: Any = None


Responses = dict[int | str, dict[str, Any]]

RETRY_AFTER_HEADER = {
    "Retry-After": {"description": "Seconds to wait before retrying (a retry is safe).", "schema": {"type": "integer"}}
}
ANSWERS: Responses = {
    400: {"model": ErrorOut, "description": "Malformed JSON (or nested too deep, a number too long) or header"},
    401: {"model": ErrorOut, "description": "Missing or wrong API key or signature, stale timestamp"},
    403: {
        "model": ErrorOut,
        "description": "The API key is valid, but its role may not do this (detail: the roles allowed)",
    },
    404: {"model": ErrorOut, "description": "No journey for that customer"},
    409: {"model": ErrorOut, "description": "Refused by the journey (the member's state stands in the way)"},
    413: {"model": ErrorOut, "description": "Body too large"},
    422: {"model": ErrorOut, "description": "Missing, wrongly typed or out-of-bounds fields (named in detail)"},
    503: {
        "model": ErrorOut,
        "description": "Temporal unreachable, or the webhook not configured: retry later (Retry-After)",
        "headers": RETRY_AFTER_HEADER,
    },
}


def answers(*statuses: int) -> Responses:
    """The error answers a route really gives, for its OpenAPI document."""
    return {status: ANSWERS[status] for status in statuses}


ERRORS = answers(400, 401, 403, 413, 422, 503)
NO_JOURNEY = answers(404)
REFUSED = answers(409)


# ---- validation errors, field by field ----------------------------------------------------------

_CONTROL_PATTERNS = {
    SINGLE_LINE: "must not contain control characters (NUL, line breaks, tabs...)",
    FREE_TEXT: "must not contain control characters other than tabs and line breaks (NUL included)",
}


def loc_name(loc: tuple[Any, ...] | list[Any]) -> str:
    """('body', 'events', 3, 'kind') -> 'events[3].kind'; ('query', 'limit') -> 'query.limit'."""
    parts = list(loc)
    if parts and parts[0] == "body":
        parts = parts[1:]
    out = ""
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        else:
            out += ("." if out else "") + str(p)
    return out or "(body)"


def field_errors(e: ValidationError | list[dict[str, Any]], prefix: str = "") -> list[dict[str, Any]]:
    """Pydantic errors as [{"field": "data.object.amount_paid", "message": ..., "type": ...}]."""
    errors = e.errors(include_url=False, include_input=False) if isinstance(e, ValidationError) else e
    out = []
    for err in errors:
        name = loc_name(err.get("loc", ()))
        if prefix:
            name = prefix if name == "(body)" else f"{prefix}.{name}" if not name.startswith("[") else prefix + name
        msg = err.get("msg", "invalid")
        ctx = err.get("ctx") or {}
        if err.get("type") == "json_invalid":
            msg = f"malformed JSON: {ctx.get('error', msg)}"
        elif err.get("type") == "string_pattern_mismatch" and ctx.get("pattern") in _CONTROL_PATTERNS:
            msg = _CONTROL_PATTERNS[ctx["pattern"]]
        out.append({"field": name, "message": msg, "type": err.get("type", "value_error")})
    return out


def invalid(e: ValidationError, what: str, prefix: str = "") -> ApiError:
    errors = field_errors(e, prefix)
    names = ", ".join(dict.fromkeys(x["field"] for x in errors))
    return ApiError(422, f"invalid {what}: {names}", errors)


# ---- the client's typed errors ------------------------------------------------------------------


def from_journey_error(e: JourneyError) -> ApiError:
    """NoJourney 404; JourneyRefused 422 or 409; JourneyUnavailable 503; the rest as Temporal meant it."""
    if isinstance(e, NoJourney):
        return ApiError(
            404,
            f"no journey for customer {e.customer_id!r}",
            "a journey starts with the customer's first event (a webhook or POST /events)",
        )
    if isinstance(e, JourneyRefused):
        return _refused(e)
    if isinstance(e, JourneyUnavailable):
        return _unavailable(e)
    if isinstance(e, TemporalRejected):
        if e.status == "INVALID_ARGUMENT":
            return ApiError(422, "Temporal refused the request", e.message)
        return ApiError(503, "Temporal is unavailable", f"{e.status}: {e.message}", RETRY_SOON)
    if isinstance(e, JourneyFailed):
        return ApiError(500, "the journey could not answer", e.message)
    return ApiError(500, "internal error", type(e).__name__)


def _refused(e: JourneyRefused) -> ApiError:
    """The journey's refusal with the journey's own message: 422 when the request can never succeed."""
    if e.code == "credit_refused":
        return ApiError(409, "billing refused the credit; the points were returned", e.message)
    detail: dict[str, Any] = {"refused_by": "journey", "type": REFUSED_ERROR_TYPE}
    if e.code is not None:
        detail["code"] = e.code
    return ApiError(422 if e.invalid else 409, e.message, detail)


def _unavailable(e: JourneyUnavailable) -> ApiError:
    if e.kind == "timed_out" and e.timeout is not None:
        return ApiError(
            503,
            f"Temporal did not answer within {e.timeout:g} s",
            "retry later, a retry is safe (is Temporal up, and for queries and redemptions, a worker?)",
            RETRY_SOON,
        )
    if e.kind == "timed_out":
        return ApiError(503, "the journey did not answer in time", "retry with the same Idempotency-Key", RETRY_SOON)
    if e.kind == "stuck":
        return ApiError(
            503,
            "the journey cannot answer: its workflow task keeps failing",
            f"support: `tenure doctor {e.customer_id}` says why (Temporal: {e.reason})",
            RETRY_LATER,
        )
    if e.status is not None:
        return ApiError(503, "Temporal is unavailable", f"{e.status}: {e.reason}", RETRY_SOON)
    return ApiError(503, "Temporal is unreachable", e.reason, RETRY_SOON)


# ---- rendering ----------------------------------------------------------------------------------


METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


@functools.lru_cache(maxsize=256)
def _template_regex(template: str) -> re.Pattern[str]:
    """`/segments/{segment_id}/preview` as a pattern of the paths it names."""
    return re.compile(re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)))


def allowed_methods(request: Request) -> list[str]:
    """The methods of the resource the request's path names, as the OpenAPI document lists them.

    The most specific documented path wins (`/segments/preview` over `/segments/{segment_id}`), as a
    client reads the document; a path the document does not list (the console's pages) is asked of
    the routes as routing asks them (`matches` with each method: routes of an included router sit
    inside it in FastAPI 0.165, not in `app.routes`)."""
    path = request.url.path
    documented = [
        (template.count("{"), template, operations)
        for template, operations in request.app.openapi().get("paths", {}).items()
        if _template_regex(template).fullmatch(path)
    ]
    if documented:
        _, _, operations = min(documented, key=lambda d: d[0])
        return sorted(m.upper() for m in operations if m.upper() in METHODS)
    allowed = set()
    for method in METHODS:
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] == Match.FULL for route in request.app.routes):
            allowed.add(method)
    return sorted(allowed)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, e: ApiError) -> JSONResponse:
        return JSONResponse(e.body(), status_code=e.status, headers=e.headers)

    @app.exception_handler(JourneyError)
    async def _journey_error(_: Request, e: JourneyError) -> JSONResponse:
        error = from_journey_error(e)
        return JSONResponse(error.body(), status_code=error.status, headers=error.headers)

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
    async def _http(request: Request, e: StarletteHTTPException) -> JSONResponse:
        if isinstance(e, BodyTooLarge):
            return JSONResponse(too_large(e.limit, None), status_code=413)
        headers = getattr(e, "headers", None)
        if e.status_code == 405:  # Starlette names the methods of the first route on the path only
            headers = {**(headers or {}), "Allow": ", ".join(allowed_methods(request))}
        return JSONResponse({"error": str(e.detail)}, status_code=e.status_code, headers=headers)

    @app.exception_handler(sa.exc.OperationalError)
    @app.exception_handler(sa.exc.TimeoutError)
    async def _ledger_unavailable(_: Request, e: Exception) -> JSONResponse:
        # the database down, refusing or out of connections: the request may be repeated, as for Temporal
        reason = str(getattr(e, "orig", None) or e).splitlines()[0]
        log.warning("the ledger database is unavailable: %s", reason)
        return JSONResponse(  # its reason is logged, not answered: it names the database's host
            {"error": "the ledger database is unavailable: retry later"}, status_code=503, headers=RETRY_SOON
        )

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, e: Exception) -> JSONResponse:
        log.exception("unexpected error")
        return JSONResponse({"error": "internal error", "detail": type(e).__name__}, status_code=500)
