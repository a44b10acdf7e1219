"""Segments: saved, named filters over the members, as their journeys last projected them.

A filter is a tree of `{"all": [...]}` (AND), `{"any": [...]}` (OR) and conditions on one field of
the projection (`SegmentProjection`, one row of the `customers` table). `matches` is the meaning
of a filter; storage/segments.py translates the same tree to SQL, and a property test holds the two
to each other. Null semantics, the same on both sides: a comparison with a field the member has
no value for (never active, not churned, not yet projected) is false, except `ne`, which is true.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StrictBool,
    StrictInt,
    Tag,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from .compact import Compact
from .messages import CancellationReason, line
from .utc_times import in_utc

Operator = Literal["eq", "ne", "in", "lt", "le", "gt", "ge", "between", "is_true", "is_false"]

EngagementLevel = Literal["new", "occasional", "loyal"]
ENGAGEMENT_LEVELS: tuple[str, ...] = ("new", "occasional", "loyal")

FieldName = Literal[
    "tier",
    "status",
    "at_risk",
    "balance",
    "lifetime_points",
    "lifetime_spend_minor",
    "last_activity_at",
    "signed_up_at",
    "plan_cadence",
    "churn_reason",
    "timezone",
    "country",
    "email_reachable",
    "referral_count",
    "engagement_level",
    "churn_risk_score",
]

# Each field's kind decides which operators and values it takes.
TEXT_FIELDS = frozenset({"tier", "status", "plan_cadence", "churn_reason", "timezone", "country", "engagement_level"})
BOOL_FIELDS = frozenset({"at_risk", "email_reachable"})
NUMBER_FIELDS = frozenset({"balance", "lifetime_points", "lifetime_spend_minor", "referral_count", "churn_risk_score"})
TIME_FIELDS = frozenset({"last_activity_at", "signed_up_at"})

OPERATORS_BY_KIND: dict[str, frozenset[str]] = {
    "text": frozenset({"eq", "ne", "in"}),
    "bool": frozenset({"eq", "ne", "is_true", "is_false"}),
    "number": frozenset({"eq", "ne", "in", "lt", "le", "gt", "ge", "between"}),
    "time": frozenset({"lt", "le", "gt", "ge", "between"}),
}

# Values a text field can take, where the product fixes them. Tiers are the program's, zones and
# countries those of lists that change: a pure filter cannot know them, so `value_faults` checks them
# against the lists its caller passes.
KNOWN_VALUES: dict[str, frozenset[str]] = {
    "status": frozenset({"active", "past_due", "cancelled"}),
    "plan_cadence": frozenset({"monthly", "annual"}),
    "engagement_level": frozenset(ENGAGEMENT_LEVELS),
    # a cancellation's reasons, and the one a failed payment gives (domain/churn.py)
    "churn_reason": frozenset((*get_args(CancellationReason), "involuntary")),
}

# The rules version (domain/journey.py) from which journeys keep the projection, wake when time
# alone moves a score, and run the two lifecycle triggers of segments (README "Segments").
PROJECTION_RULES_VERSION = 4

MAX_IN_VALUES = 1000
MAX_CONDITIONS = 200
MAX_DEPTH = 8

# Bounded so that every value fits a database column (BIGINT, text without NUL).
Scalar = StrictBool | Annotated[StrictInt, Field(ge=-(2**62), le=2**62)] | AwareDatetime | Annotated[str, line(200)]
_TIME = TypeAdapter(AwareDatetime)


def kind_of(field: str) -> str:
    if field in TEXT_FIELDS:
        return "text"
    if field in BOOL_FIELDS:
        return "bool"
    if field in NUMBER_FIELDS:
        return "number"
    return "time"


class Condition(BaseModel):
    """One test on one field, e.g. `{"field": "tier", "op": "in", "value": ["gold", "platinum"]}`.

    `between` takes `[low, high]`, both included; `is_true`/`is_false` take no value; `in` a list.
    Money is in the currency's minor unit (cents); times are ISO 8601 with an offset.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    field: FieldName
    op: Operator
    value: Scalar | list[Scalar] | None = None

    @model_validator(mode="before")
    @classmethod
    def _times_from_text(cls, data: Any) -> Any:
        """A time field's values arrive as ISO 8601 text (JSON, TOML strings): read them as times."""
        if isinstance(data, dict) and data.get("field") in TIME_FIELDS:
            value = data.get("value")
            try:
                if isinstance(value, str):
                    data = {**data, "value": _TIME.validate_python(value)}
                elif isinstance(value, list):
                    data = {**data, "value": [_TIME.validate_python(v) if isinstance(v, str) else v for v in value]}
            except ValidationError as e:
                raise ValueError(
                    f"{data['field']} compares with a date-time with an offset: {e.errors()[0]['msg']}"
                ) from None
        return data

    @model_validator(mode="after")
    def _fits_the_field(self) -> Condition:
        kind = kind_of(self.field)
        if self.op not in OPERATORS_BY_KIND[kind]:
            allowed = ", ".join(sorted(OPERATORS_BY_KIND[kind]))
            raise ValueError(f"{self.field} takes the operators {allowed}, not {self.op}")
        if self.op in ("is_true", "is_false"):
            if self.value is not None:
                raise ValueError(f"{self.op} takes no value")
            return self
        values: list[Any]
        if self.op == "in":
            if not isinstance(self.value, list) or not self.value:
                raise ValueError(f"{self.field} in takes a non-empty list of values")
            if len(self.value) > MAX_IN_VALUES:
                raise ValueError(f"{self.field} in takes at most {MAX_IN_VALUES} values")
            values = self.value
        elif self.op == "between":
            if not isinstance(self.value, list) or len(self.value) != 2:
                raise ValueError(f"{self.field} between takes [low, high]")
            values = self.value
        else:
            if isinstance(self.value, list):
                raise ValueError(f"{self.field} {self.op} takes one value, not a list")
            if self.value is None and not (kind == "text" and self.op in ("eq", "ne")):
                raise ValueError(f"{self.field} {self.op} needs a value")
            values = [] if self.value is None else [self.value]
        for v in values:
            _check_value(self.field, kind, v)
        if self.op == "between" and _above(values[0], values[1]):
            raise ValueError(f"{self.field} between: low is above high")
        return self


def _above(low: Any, high: Any) -> bool:
    return bool(low > high)


def _check_value(field: str, kind: str, v: Any) -> None:
    ok = {
        "text": isinstance(v, str),
        "bool": isinstance(v, bool),
        "number": isinstance(v, int) and not isinstance(v, bool),
        "time": isinstance(v, datetime),
    }[kind]
    if not ok:
        expected = {"text": "a string", "bool": "true or false", "number": "an integer", "time": "a date-time"}[kind]
        raise ValueError(f"{field} compares with {expected}, not {v!r}")
    known = KNOWN_VALUES.get(field)
    if known is not None and v not in known:
        raise ValueError(f"{field} has no value {v!r}: use one of {', '.join(sorted(known))}")


class AllOf(BaseModel):
    """Every part matches (AND); an empty list matches every member."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    all: list[SegmentFilter] = Field(max_length=MAX_CONDITIONS)


class AnyOf(BaseModel):
    """At least one part matches (OR); an empty list matches nobody."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    any: list[SegmentFilter] = Field(max_length=MAX_CONDITIONS)


def _filter_kind(value: Any) -> str | None:
    if isinstance(value, dict):
        if "all" in value:
            return "all"
        if "any" in value:
            return "any"
        return "condition"
    if isinstance(value, AllOf):
        return "all"
    if isinstance(value, AnyOf):
        return "any"
    if isinstance(value, Condition):
        return "condition"
    return None


SegmentFilter = Annotated[
    Annotated[AllOf, Tag("all")] | Annotated[AnyOf, Tag("any")] | Annotated[Condition, Tag("condition")],
    Discriminator(
        _filter_kind,
        custom_error_type="segment_filter",
        custom_error_message="a filter is an object with all, any or field",
    ),
]

AllOf.model_rebuild()
AnyOf.model_rebuild()


def error_path(loc: tuple[Any, ...] | list[Any]) -> list[str | int]:
    """A validation error's location without the union's tags: `all.all.0.condition.field` → `all.0.field`."""
    out: list[str | int] = []
    parts = list(loc)
    for i, part in enumerate(parts):
        if part == "condition" or (part in ("all", "any") and i + 1 < len(parts) and parts[i + 1] == part):
            continue
        out.append(part)
    return out


def check_shape(f: SegmentFilter) -> None:
    """Refuse a tree too deep or too large to be a sensible query (a 4xx, not a slow database), and a
    time the database cannot compare: one whose UTC falls outside the years 1 to 9999
    (`0001-01-01T00:00:00+01:00`), which both databases are handed in UTC."""
    count = 0

    def walk(node: SegmentFilter, depth: int) -> None:
        nonlocal count
        if depth > MAX_DEPTH:
            raise ValueError(f"a filter nests at most {MAX_DEPTH} levels")
        if isinstance(node, Condition):
            count += 1
            if count > MAX_CONDITIONS:
                raise ValueError(f"a filter has at most {MAX_CONDITIONS} conditions")
            for value in node.value if isinstance(node.value, list) else [node.value]:
                if not isinstance(value, datetime):
                    continue
                try:
                    in_utc(value)
                except ValueError:
                    raise ValueError(
                        f"{node.field}: {value.isoformat()} is out of range: in UTC it is outside the years 1 to 9999"
                    ) from None
            return
        for part in node.all if isinstance(node, AllOf) else node.any:
            walk(part, depth + 1)

    walk(f, 1)


# Fields whose values come from lists a pure filter cannot hold: the program's tiers (its caller's
# program), the IANA time zone names and the ISO 3166-1 alpha-2 codes (lists that change with each
# release of the zone database and of ISO 3166; the edge reads them, starter/ingress/bounds.py).
# `value_faults` checks a filter against the lists its caller passes. Each field compares as written:
# `matches` with ==, the SQL with = (both databases compare text case by case). A member's tier is the
# name of one of the program's tiers (domain/segment_projection.py), so "Gold" finds nobody when the
# tier is "gold"; a country is kept in capitals (messages.CountryCode), so "fr" finds nobody; a zone
# as the member's events gave it, and only a name the zone database has is a zone (else UTC).
LISTED_VALUE_FIELDS = frozenset({"tier", "timezone", "country"})
ZONE_EXAMPLE = "Europe/Paris"
COUNTRY_EXAMPLE = "US"
# The faults named at most: a filter may hold 200 lists of 1,000 values, and guessing the zone a typo
# means costs milliseconds a value (a 1 MB preview of mistyped zones would keep a worker thread busy
# for minutes); the first ten say what to fix.
MAX_VALUE_FAULTS = 10


@dataclass(frozen=True)
class FilterFault:
    """A value a filter compares with that its field does not have (a tier, a zone, a country).

    `loc` is where, as pydantic spells the filter's other faults (the union's tags included:
    `("all", "all", 1, "condition", "value")`), so each caller names it as it names those
    (`error_path` drops the tags); `message` says what is wrong, in the words of `KNOWN_VALUES`' check.
    """

    loc: tuple[str | int, ...]
    message: str


def _zone_like(value: str, zones: Collection[str]) -> str:
    """The zone a mistyped one most likely means (`europe/paris`, `Europe/Pariss`: Europe/Paris)."""
    folded = [z for z in zones if z.lower() == value.lower()]
    if folded:
        return min(folded)
    close = difflib.get_close_matches(value, zones, n=1, cutoff=0.8)
    return close[0] if close else ZONE_EXAMPLE


def _fault(
    field: str,
    value: str,
    tiers: Sequence[str] | None,
    zones: Collection[str] | None,
    countries: Collection[str] | None,
) -> str | None:
    """What is wrong with `value` for `field`, given the lists (None: that field is not checked)."""
    if field == "tier" and tiers is not None and value not in tiers:
        return f"tier has no value {value!r}: use one of {', '.join(tiers)}"
    if field == "timezone" and zones is not None and value not in zones:
        return f"timezone has no value {value!r}: an IANA time zone such as {_zone_like(value, zones)}"
    if field == "country" and countries is not None and value not in countries:
        like = value.upper() if value.upper() in countries else COUNTRY_EXAMPLE
        return f"country has no value {value!r}: an ISO 3166 two-letter code such as {like}"
    return None


def value_faults(
    f: SegmentFilter,
    tiers: Sequence[str] | None = None,
    zones: Collection[str] | None = None,
    countries: Collection[str] | None = None,
) -> list[FilterFault]:
    """Every value a filter compares `tier`, `timezone` or `country` with that is not in the list given
    for it: `tiers` the program in force's names (in its order), `zones` the IANA zone names, `countries`
    the ISO 3166-1 alpha-2 codes in capitals, as the projection keeps them. A list left None is not checked.
    The first `MAX_VALUE_FAULTS` in the filter's order are named.

    Checked where a segment or a campaign is created or a filter previewed, not where a saved one is
    read: one saved before (or under another program) still loads, lists, previews and runs.
    """
    known_tiers = None if tiers is None else list(tiers)
    faults: list[FilterFault] = []

    def walk(node: SegmentFilter, loc: tuple[str | int, ...]) -> None:
        if isinstance(node, (AllOf, AnyOf)):
            key = "all" if isinstance(node, AllOf) else "any"
            for i, part in enumerate(node.all if isinstance(node, AllOf) else node.any):
                walk(part, (*loc, key, key, i))
            return
        if node.field not in LISTED_VALUE_FIELDS or node.value is None or len(faults) >= MAX_VALUE_FAULTS:
            return
        here: tuple[str | int, ...] = (*loc, "condition", "value")
        if isinstance(node.value, list):
            values = [((*here, i), v) for i, v in enumerate(node.value)]
        else:
            values = [(here, node.value)]
        for where, v in values:
            if isinstance(v, str) and len(faults) < MAX_VALUE_FAULTS:
                message = _fault(node.field, v, known_tiers, zones, countries)
                if message is not None:
                    faults.append(FilterFault(where, message))

    walk(f, ())
    return faults


def program_value_faults(f: SegmentFilter, tiers: Sequence[str]) -> list[FilterFault]:
    """Every tier a filter names that is not one of `tiers` (the program in force's names, in its order)."""
    return value_faults(f, tiers=tiers)


class Segment(BaseModel):
    """A saved, named filter."""

    model_config = ConfigDict(extra="forbid")

    segment_id: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")]
    name: Annotated[str, line(200, 1)]
    filter: SegmentFilter
    created_at: datetime
    created_by: Annotated[str, Field(min_length=1, max_length=200)]

    @model_validator(mode="after")
    def _bounded(self) -> Segment:
        check_shape(self.filter)
        return self


class SegmentMember(BaseModel):
    """What a campaign needs of a member in the segment, read from the projection."""

    customer_id: str
    timezone: str
    email_reachable: bool
    tier: str
    status: str


class SegmentProjection(Compact):
    """The facts about a member that segments filter on, as the journey computes them (rules version 4).

    Mirrored into the `customers` table by the journey's `upsert_customer` activity.
    """

    model_config = ConfigDict(frozen=True)

    tier: str = ""
    status: str = "active"
    at_risk: bool = False
    balance: int = 0
    lifetime_points: int = 0
    lifetime_spend_minor: int = 0
    last_activity_at: datetime | None = None
    signed_up_at: datetime | None = None
    plan_cadence: str | None = None
    churn_reason: str | None = None
    timezone: str = "UTC"
    country: str | None = None
    email_reachable: bool = False
    referral_count: int = 0
    engagement_level: str = "new"
    churn_risk_score: int = Field(0, ge=0, le=100)


def _compare(op: str, have: Any, want: Any) -> bool:
    if op == "ne":
        return have is None or have != want
    if have is None:
        return False
    if op == "eq":
        return bool(have == want)
    if op == "in":
        return have in want
    if op == "lt":
        return bool(have < want)
    if op == "le":
        return bool(have <= want)
    if op == "gt":
        return bool(have > want)
    if op == "ge":
        return bool(have >= want)
    if op == "between":
        return bool(want[0] <= have <= want[1])
    if op == "is_true":
        return have is True
    if op == "is_false":
        return have is False
    raise ValueError(op)


def matches(f: SegmentFilter, member: SegmentProjection) -> bool:
    """Whether a member's projection is in the filter: the definition the SQL follows."""
    if isinstance(f, AllOf):
        return all(matches(part, member) for part in f.all)
    if isinstance(f, AnyOf):
        return any(matches(part, member) for part in f.any)
    have = getattr(member, f.field)
    if f.op in ("eq", "ne") and f.value is None:  # `eq null`: the member has no value
        return (have is None) == (f.op == "eq")
    return _compare(f.op, have, f.value)


class SampleMember(BaseModel):
    """One member of a preview: the projection as last written (None: not projected yet), no address or
    name; `timezone` and `country` are None for a role that does not see personal data."""

    customer_id: str
    tier: str
    status: str
    at_risk: bool
    timezone: str | None = None
    balance: int | None = None
    lifetime_points: int | None = None
    lifetime_spend_minor: int | None = None
    last_activity_at: datetime | None = None
    signed_up_at: datetime | None = None
    plan_cadence: str | None = None
    churn_reason: str | None = None
    country: str | None = None
    email_reachable: bool | None = None
    referral_count: int | None = None
    engagement_level: str | None = None
    churn_risk_score: int | None = None
    projected_at: datetime | None = None


class SegmentPreview(BaseModel):
    """What a segment holds now: how many members, and the first of them by customer id."""

    count: int
    sample: list[SampleMember]


def segment_id_for(name: str) -> str:
    """The id a segment gets from its name when none is given: `Gold at risk` → `gold-at-risk`; accents
    are dropped from their letters (`Fidèles à Paris` → `fideles-a-paris`, not `fid-les-paris`)."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))
    slug = re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-")[:64].strip("-")
    if not slug:
        raise ValueError("give a segment_id: the name has no letters a-z or digits to make one from")
    return slug
