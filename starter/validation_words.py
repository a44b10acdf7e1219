"""Validation errors in the product's words, for people at the console and the CLI.

Pydantic says "String should have at least 3 characters" or "Value error, must be an integer (…)";
support staff are told what to type instead: "reason: write at least 3 characters". The API keeps
pydantic's messages in its JSON errors (a documented contract: `starter/api/errors.py`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import ValidationError

from domain.messages import FREE_TEXT, SINGLE_LINE
from starter.ingress.customer_ids import CUSTOMER_ID_PATTERN

CUSTOMER_ID_WORDS = "a customer id is 1 to 200 letters, digits or _ . : @ + - (starting with a letter or digit)"
_PATTERNS = {
    SINGLE_LINE: "write it on one line, without tabs or other control characters",
    FREE_TEXT: "remove the control characters (tabs and line breaks are fine)",
    CUSTOMER_ID_PATTERN: CUSTOMER_ID_WORDS,
}
_WHOLE = {"int_parsing", "int_from_float", "int_type", "float_parsing", "float_type"}
_NUMBER_BOUNDS = {
    "less_than_equal": ("le", "at most"),
    "less_than": ("lt", "less than"),
    "greater_than_equal": ("ge", "at least"),
    "greater_than": ("gt", "more than"),
}


def field_name(loc: Iterable[Any], names: Mapping[str, str]) -> str:
    """('body', 'reason') or ('query', 'q') -> 'reason' / 'q', then the caller's name for it (`--reason`)."""
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "form")]
    key = ".".join(parts)
    return names.get(key, key.replace("_", " ") or "the value")


def one_error(err: Mapping[str, Any], names: Mapping[str, str]) -> str:
    """One pydantic error as 'name: what to type'."""
    return f"{field_name(err.get('loc', ()), names)}: {what_to_type(err)}"


def what_to_type(err: Mapping[str, Any]) -> str:
    """What one pydantic error asks the person to type instead ('write at least 3 characters')."""
    kind = err.get("type", "")
    ctx = err.get("ctx") or {}
    given = err.get("input")
    if kind == "missing":
        return "required"
    if kind == "string_too_short":
        n = ctx.get("min_length", 1)
        return "must not be empty" if n == 1 else f"write at least {n} characters"
    if kind == "string_too_long":
        n = ctx.get("max_length")
        now = f", not {len(given):,}" if isinstance(given, str) else ""
        return f"write at most {n:,} characters{now}"
    if kind == "string_pattern_mismatch":
        return _PATTERNS.get(str(ctx.get("pattern")), "not in the expected form")
    if kind in _NUMBER_BOUNDS:
        key, words = _NUMBER_BOUNDS[kind]
        bound = ctx.get(key)
        if isinstance(bound, int | float) and not isinstance(bound, bool):
            return f"give a number {words} {bound:,}" if isinstance(bound, int) else f"give a number {words} {bound:g}"
        return f"{words} {bound}"
    if kind in _WHOLE or (kind == "value_error" and "must be an integer" in str(err.get("msg", ""))):
        return "give a whole number"
    if kind.startswith("datetime"):
        return "give a date and time, YYYY-MM-DD HH:MM"
    if kind.startswith("date"):
        return "give a date as YYYY-MM-DD"
    if kind in ("literal_error", "enum") and ctx.get("expected"):
        return f"choose {ctx['expected']}"
    return str(err.get("msg", "not valid")).removeprefix("Value error, ")


def in_words(errors: ValidationError | Iterable[Mapping[str, Any]], names: Mapping[str, str] | None = None) -> str:
    """Every error, '; '-joined: 'reason: write at least 3 characters; points: give a whole number, …'."""
    found = errors.errors() if isinstance(errors, ValidationError) else errors
    return "; ".join(dict.fromkeys(one_error(e, names or {}) for e in found))
