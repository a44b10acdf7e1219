"""Reading a body: JSON once, then validated into models, every fault a clear 400 or 422."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, TypeVar, overload

from pydantic import BaseModel, TypeAdapter, ValidationError

from starter.api.errors import ApiError, invalid

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


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


@overload
def validate(model: type[M], data: Any, what: str, prefix: str = "") -> M: ...
@overload
def validate(model: TypeAdapter[T], data: Any, what: str, prefix: str = "") -> T: ...
def validate(model: type[BaseModel] | TypeAdapter[Any], data: Any, what: str, prefix: str = "") -> Any:
    """`data` as `model`, or a 422 naming every wrong field (under `prefix`, e.g. data.object)."""
    try:
        if isinstance(model, TypeAdapter):
            return model.validate_python(data)
        return model.model_validate(data)
    except ValidationError as e:
        raise invalid(e, what, prefix) from None


def from_unix(ts: int | float | None) -> datetime | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, tz=UTC)
