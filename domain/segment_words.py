"""A segment filter in plain words, for the people who read it back: `tier is gold and (at risk or
balance at least 1,000)` where the console and the CLI showed `{"all":[{"field":"tier",…}]}`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .segments import TIME_FIELDS, AllOf, AnyOf, Condition, SegmentFilter

FIELD_WORDS: dict[str, str] = {
    "tier": "tier",
    "status": "status",
    "balance": "balance",
    "lifetime_points": "lifetime points",
    "lifetime_spend_minor": "lifetime spend (minor units)",
    "last_activity_at": "last active",
    "signed_up_at": "signed up",
    "plan_cadence": "plan",
    "churn_reason": "churn reason",
    "timezone": "time zone",
    "country": "country",
    "referral_count": "referrals",
    "engagement_level": "engagement",
    "churn_risk_score": "churn risk",
}
TRUE_WORDS: dict[str, tuple[str, str]] = {
    "at_risk": ("at risk", "not at risk"),
    "email_reachable": ("email reachable", "email not reachable"),
}
NUMBER_OPS = {"lt": "below", "le": "at most", "gt": "above", "ge": "at least"}
TIME_OPS = {"lt": "before", "le": "on or before", "gt": "after", "ge": "on or after"}


def in_words(f: SegmentFilter) -> str:
    """The filter as one line: conditions joined by "and" / "or", a group inside another in brackets."""
    if isinstance(f, AllOf):
        return " and ".join(_part(p) for p in f.all) if f.all else "every member"
    if isinstance(f, AnyOf):
        return " or ".join(_part(p) for p in f.any) if f.any else "nobody"
    return _condition(f)


def _part(f: SegmentFilter) -> str:
    words = in_words(f)
    grouped = (isinstance(f, AllOf) and len(f.all) > 1) or (isinstance(f, AnyOf) and len(f.any) > 1)
    return f"({words})" if grouped else words


def _value(v: Any) -> str:
    if isinstance(v, datetime):
        return v.strftime("%Y-%m-%d %H:%M %Z").strip() if v.hour or v.minute else v.strftime("%Y-%m-%d")
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}"
    return str(v)


def _condition(c: Condition) -> str:
    if c.field in TRUE_WORDS:
        yes, no = TRUE_WORDS[c.field]
        return yes if c.op == "is_true" else no
    name = FIELD_WORDS.get(c.field, c.field)
    value = c.value
    if c.op in ("eq", "ne"):
        if value is None:
            return f"no {name}" if c.op == "eq" else f"any {name}"
        return f"{name} is {'' if c.op == 'eq' else 'not '}{_value(value)}"
    if c.op == "in":
        values = [_value(v) for v in value] if isinstance(value, list) else [_value(value)]
        return f"{name} is {' or '.join(values)}"
    if c.op == "between" and isinstance(value, list):
        low, high = (_value(v) for v in value)
        return f"{name} between {low} and {high}" if c.field in TIME_FIELDS else f"{name} {low} to {high}"
    ops = TIME_OPS if c.field in TIME_FIELDS else NUMBER_OPS
    return f"{name} {ops.get(c.op, c.op)} {_value(value)}"
