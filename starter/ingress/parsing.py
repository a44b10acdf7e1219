"""Reading a body: JSON once, then validated into models, every fault a clear 400 or 422.

JSON is read as RFC 8259 has it and no further: nesting up to `MAX_JSON_DEPTH` levels (the
deepest body a sender really posts, Stripe's, is about ten), numbers as JSON has them (no NaN
or Infinity), integers up to Python's 4,300 digits.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, TypeVar, overload

from pydantic import BaseModel, TypeAdapter, ValidationError

from starter.api.errors import ApiError, invalid

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")

MAX_JSON_DEPTH = 64


class _NotJson(ValueError):
    pass


def _no_constant(name: str) -> Any:
    raise _NotJson(f"{name} is not a JSON number")


_DECODER = json.JSONDecoder(parse_constant=_no_constant)
"""Built once: `json.loads` with an option builds a decoder per call."""


def parse_json(body: bytes) -> Any:
    """The request body as JSON, or a 400 that says where it broke."""
    if not body.strip():
        raise ApiError(400, "malformed JSON: the body is empty")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ApiError(400, "malformed JSON: the body is not UTF-8", f"invalid byte at position {e.start}") from None
    try:
        data = _DECODER.decode(text)
    except json.JSONDecodeError as e:
        raise ApiError(
            400, f"malformed JSON: {e.msg}", {"line": e.lineno, "column": e.colno, "position": e.pos}
        ) from None
    except RecursionError:
        raise too_deep() from None
    except _NotJson as e:
        raise ApiError(400, f"malformed JSON: {e}") from None
    except ValueError:  # Python refuses integers of more than 4,300 digits (CVE-2020-10735)
        raise ApiError(400, "malformed JSON: an integer has more than 4,300 digits") from None
    # Every array or object opens with a bracket, so a body with no more brackets than the limit (a
    # Stripe invoice.paid has ~30) cannot nest deeper: two byte counts instead of a walk of the parse.
    if body.count(b"{") + body.count(b"[") > MAX_JSON_DEPTH and depth_exceeds(data, MAX_JSON_DEPTH):
        raise too_deep()
    return data


def too_deep() -> ApiError:
    return ApiError(400, f"malformed JSON: nested deeper than {MAX_JSON_DEPTH} levels", {"limit": MAX_JSON_DEPTH})


def depth_exceeds(data: Any, limit: int) -> bool:
    """Whether arrays and objects nest deeper than `limit` in parsed JSON (the outermost is level 1).

    Recursion bounded by `limit` (it stops one level past it) over exact types: `json.loads` makes
    plain dicts and lists, and this runs on every body (the walk with a stack of tuples cost more
    than parsing the body, bench/RESULTS.md 14.7)."""
    if limit < 1:
        return type(data) in (dict, list)
    return type(data) in (dict, list) and _nests(data, limit)


def _nests(value: Any, levels: int) -> bool:
    """Whether `value` (a dict or a list) holds containers `levels` levels below it (levels >= 1)."""
    for child in value.values() if type(value) is dict else value:
        kind = type(child)
        if kind is dict or kind is list:
            if levels == 1 or _nests(child, levels - 1):
                return True
    return False


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


def from_unix(ts: int | None) -> datetime | None:
    """Unix seconds (bounded by the models: `bounds.UnixTime`) as an aware datetime."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, tz=UTC)
