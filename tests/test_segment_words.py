"""Segment filters read back in words (console, CLI): what a marketer wrote, not its JSON."""

from __future__ import annotations

from pydantic import TypeAdapter

from domain.segment_words import in_words
from domain.segments import SegmentFilter

FILTER: TypeAdapter[SegmentFilter] = TypeAdapter(SegmentFilter)


def words(data: dict) -> str:
    return in_words(FILTER.validate_python(data))


def test_conditions_read_as_words() -> None:
    assert words({"field": "tier", "op": "eq", "value": "gold"}) == "tier is gold"
    assert words({"field": "status", "op": "ne", "value": "cancelled"}) == "status is not cancelled"
    assert words({"field": "tier", "op": "in", "value": ["gold", "platinum"]}) == "tier is gold or platinum"
    assert words({"field": "at_risk", "op": "is_true"}) == "at risk"
    assert words({"field": "email_reachable", "op": "is_false"}) == "email not reachable"
    assert words({"field": "balance", "op": "ge", "value": 1000}) == "balance at least 1,000"
    assert words({"field": "churn_risk_score", "op": "between", "value": [40, 80]}) == "churn risk 40 to 80"
    assert words({"field": "last_activity_at", "op": "lt", "value": "2026-11-01T00:00:00Z"}) == (
        "last active before 2026-11-01"
    )
    assert words({"field": "country", "op": "eq", "value": None}) == "no country"


def test_groups_nest_in_brackets() -> None:
    data = {
        "all": [
            {"field": "tier", "op": "eq", "value": "gold"},
            {"any": [{"field": "at_risk", "op": "is_true"}, {"field": "balance", "op": "lt", "value": 100}]},
        ]
    }
    assert words(data) == "tier is gold and (at risk or balance below 100)"
    assert words({"all": []}) == "every member"
    assert words({"any": []}) == "nobody"
    assert words({"any": [{"all": [{"field": "at_risk", "op": "is_true"}]}]}) == "at risk"
