"""What every ingress path shares: where an event goes, why one is ignored, and clear errors.

The translators (Stripe, the generic billing format, SendGrid, the app's activity) are pure:
they turn a verified payload into `Delivery`s (a domain event for one customer's journey) or
`Ignored`s (a reason), or raise `ApiError` with an HTTP status and a message that says what is
wrong. The HTTP layer (`starter.api`) only verifies, translates and sends.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from domain.messages import CustomerEvent

CUSTOMER_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:@+\-]{0,199}$"
CustomerId = Annotated[
    str,
    Field(
        pattern=CUSTOMER_ID_PATTERN,
        description="The billing system's customer id (Stripe: `cus_...`); 1-200 of A-Z a-z 0-9 _ . : @ + -.",
        examples=["cus_NffrFeUfNV2Hib"],
    ),
]
CUSTOMER_ID_RE = re.compile(CUSTOMER_ID_PATTERN)


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


@dataclass(frozen=True)
class Delivery:
    """One domain event for one customer's journey (signal-with-start)."""

    customer_id: str
    event: CustomerEvent
    source: str = ""


@dataclass(frozen=True)
class Ignored:
    """A well-formed, authentic payload that asks nothing of any journey (answered 2xx)."""

    reason: str
    ref: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


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
        if err.get("type") == "json_invalid":
            ctx = err.get("ctx") or {}
            msg = f"malformed JSON: {ctx.get('error', msg)}"
        out.append({"field": name, "message": msg, "type": err.get("type", "value_error")})
    return out


def invalid(e: ValidationError, what: str, prefix: str = "") -> ApiError:
    errors = field_errors(e, prefix)
    names = ", ".join(dict.fromkeys(x["field"] for x in errors))
    return ApiError(422, f"invalid {what}: {names}", errors)


def parse_json(body: bytes) -> Any:
    """The request body as JSON, or a 400 that says where it broke."""
    if not body.strip():
        raise ApiError(400, "malformed JSON: the body is empty")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ApiError(400, "malformed JSON: the body is not UTF-8", f"invalid byte at position {e.start}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise ApiError(
            400, f"malformed JSON: {e.msg}", {"line": e.lineno, "column": e.colno, "position": e.pos}
        ) from None


def validate(model: type[BaseModel] | TypeAdapter, data: Any, what: str, prefix: str = "") -> Any:
    try:
        if isinstance(model, TypeAdapter):
            return model.validate_python(data)
        return model.model_validate(data)
    except ValidationError as e:
        raise invalid(e, what, prefix) from None


def check_customer_id(customer_id: str, where: str = "customer_id") -> str:
    if not isinstance(customer_id, str) or not CUSTOMER_ID_RE.match(customer_id):
        raise ApiError(
            422,
            f"invalid {where}: {customer_id!r}",
            [{"field": where, "message": f"must match {CUSTOMER_ID_PATTERN}", "type": "string_pattern_mismatch"}],
        )
    return customer_id


def from_unix(ts: int | float | None) -> datetime | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, tz=UTC)
