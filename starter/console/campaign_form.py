"""The console's "new campaign" form: every kind a definition supports, turned into a `CampaignDefinition`
by the definition's own validation (the one the CLI and the API apply), and its faults named by the
form's fields.

Each input is named by its path in the definition (`multiplier.factor`, `offer.valid_days`), so a
fault pydantic reports at `multiplier.factor` is shown against the input of that name. Only the
chosen kind's terms are read: the fields of the other kinds may still be in the post (no script), and
are ignored.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, get_args

from pydantic import ValidationError
from starlette.datastructures import FormData

from domain.campaign_touch import TouchKind
from domain.campaigns import CampaignDefinition
from domain.messages import ActivityKind
from domain.program import Program
from starter.client.campaigns import InvalidCampaign, under_filter
from starter.client.segments import UnknownFilterValue
from starter.validation_words import what_to_type

EXAMPLE_FILTER = '{"all": [{"field": "status", "op": "eq", "value": "active"}]}'

KINDS: tuple[tuple[str, str], ...] = (
    ("bonus", "bonus points"),
    ("multiplier", "points multiplier (a time window)"),
    ("announcement", "announcement (email)"),
    ("offer", "offer (a discount or points)"),
    ("challenge", "challenge"),
    ("publish_program", "publish a program version"),
)
assert {k for k, _ in KINDS} == set(get_args(TouchKind)), "the form offers every kind a definition supports"
ACTIVITIES: tuple[str, ...] = get_args(ActivityKind)

# The form's label of each path a fault may name (the input's name is the path).
LABELS: dict[str, str] = {
    "id": "Id",
    "name": "Name",
    "kind": "Kind",
    "reason": "Reason",
    "segment": "Segment",
    "filter": "Filter",
    "holdout_percent": "Holdout %",
    "rate": "Members a second",
    "page_size": "Members a page",
    "budget": "Budget",
    "budget.total_points": "Budget, points in all",
    "budget.per_member_points": "Per member, at most",
    "start": "When",
    "start.at": "Start at",
    "start.local_time": "Start at each member's local time",
    "local_time": "Times are each member's local time",
    "bonus_points": "Bonus points",
    "template_id": "Email template",
    "program": "Program to publish",
    "multiplier": "Multiplier",
    "multiplier.factor": "Factor",
    "multiplier.starts_at": "Starts at",
    "multiplier.ends_at": "Ends at",
    "multiplier.applies_to": "Applies to",
    "multiplier.combine": "Combine with the tier multiplier",
    "offer": "Offer",
    "offer.gives": "The offer gives",
    "offer.percent_off": "Percent off",
    "offer.duration_months": "Discount for months",
    "offer.bonus_points": "Bonus points with the next payment",
    "offer.valid_days": "Valid for days",
    "challenge": "Challenge",
    "challenge.title": "Challenge title",
    "challenge.activity": "Activity",
    "challenge.count": "Times",
    "challenge.starts_at": "Challenge starts at",
    "challenge.ends_at": "Challenge ends at",
    "challenge.bonus_points": "Challenge bonus points",
}


class FormProblem(ValueError):
    """A field the form cannot turn into a definition value (not a number, a time left out)."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Problem:
    field: str  # the input's name ("" for the definition as a whole)
    text: str  # readable, naming the field by its label and its path


def _label(path: str) -> str:
    parts = path.split(".")
    for n in range(len(parts), 0, -1):  # a filter's deep path is named by "Filter"
        found = LABELS.get(".".join(parts[:n]))
        if found:
            return found
    return path


def problems(error: Exception) -> list[Problem]:
    """The faults of a refused form, each naming its field: `Factor (multiplier.factor): required`."""
    if isinstance(error, FormProblem):
        return [Problem(error.field, f"{_label(error.field)} ({error.field}): {error.message}")]
    if isinstance(error, InvalidCampaign | UnknownFilterValue):  # a filter's value that cannot be: tier, zone…
        # an inline filter's, or a segment's (the segment form's `filter`)
        faults = error.faults if isinstance(error, InvalidCampaign) else under_filter(error.faults)
        return [Problem(path, f"{_label(path)} ({path}): {message}") for path, message in faults]
    if isinstance(error, ValidationError):
        found = []
        for err in error.errors()[:6]:
            path = ".".join(str(x) for x in err["loc"])
            message = what_to_type(err)  # the product's words, not pydantic's ("give a number more than 1")
            found.append(Problem(path, f"{_label(path)} ({path}): {message}" if path else message))
        return found
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    return [Problem("", text)]


class Fields:
    """The posted form's values, read as the definition wants them."""

    def __init__(self, form: Mapping[str, Any] | FormData):
        self.form = form

    def all(self, name: str) -> list[str]:
        if isinstance(self.form, FormData):
            return [str(v) for v in self.form.getlist(name)]
        value = self.form.get(name)
        return [] if value is None else [str(v) for v in value] if isinstance(value, list) else [str(value)]

    def text(self, name: str) -> str:
        return next((v.strip() for v in self.all(name) if v.strip()), "")

    def flag(self, name: str) -> bool:
        return self.text(name) not in ("", "0", "false", "off")

    def whole(self, name: str) -> int | None:
        value = self.text(name)
        if not value:
            return None
        try:
            return int(value)
        except ValueError:
            raise FormProblem(name, f"{value!r} is not a whole number") from None

    def decimal(self, name: str) -> float | None:
        value = self.text(name)
        if not value:
            return None
        try:
            return float(value)
        except ValueError:
            raise FormProblem(name, f"{value!r} is not a number") from None


def _present(data: dict[str, Any]) -> dict[str, Any]:
    """Left out, not None: an empty input takes the definition's default or is reported missing."""
    return {k: v for k, v in data.items() if v is not None}


def definition_from(
    form: Mapping[str, Any] | FormData, programs: Callable[[], dict[str, tuple[str, Program]]], draft: bool = False
) -> CampaignDefinition:
    """A definition from the form; `draft`: fill in what a preview does not need yet (id, name).
    Raises `FormProblem` or pydantic's `ValidationError` (read both with `problems`)."""
    f = Fields(form)
    kind = f.text("kind") or "bonus"
    data: dict[str, Any] = _present(
        {
            "id": f.text("id") or ("preview" if draft else ""),
            "name": f.text("name") or ("preview" if draft else ""),
            "kind": kind,
            "reason": f.text("reason") or None,
            "holdout_percent": f.decimal("holdout_percent"),
            "rate": f.decimal("rate"),
            "page_size": f.whole("page_size"),  # progress and pauses take effect between pages
            "budget": _present(
                {
                    "total_points": f.whole("budget.total_points"),
                    "per_member_points": f.whole("budget.per_member_points"),
                }
            ),
        }
    )
    if f.text("segment"):
        data["segment"] = f.text("segment")
    else:
        try:
            data["filter"] = json.loads(f.text("filter") or EXAMPLE_FILTER)
        except ValueError as e:
            raise FormProblem("filter", f"not JSON ({e})") from None
    if f.text("when") == "at":
        if not f.text("start.at"):
            raise FormProblem("start.at", "give the time to start, or choose at once")
        data["start"] = {"at": f.text("start.at"), "local_time": f.flag("start.local_time")}
    if f.text("template_id"):  # an announcement's whole point; an email along with any other kind
        data["template_id"] = f.text("template_id")
    if kind == "bonus":
        data["bonus_points"] = f.whole("bonus_points")
    elif kind == "multiplier":
        data["local_time"] = f.flag("local_time")
        data["multiplier"] = _present(
            {
                "factor": f.decimal("multiplier.factor"),
                "starts_at": f.text("multiplier.starts_at") or None,
                "ends_at": f.text("multiplier.ends_at") or None,
                "applies_to": f.all("multiplier.applies_to"),
                "combine": f.text("multiplier.combine") or None,
            }
        )
    elif kind == "offer":
        gives = f.text("offer.gives") or "discount"
        if gives not in ("discount", "points"):
            raise FormProblem("offer.gives", "a discount or points")
        terms: dict[str, Any] = {"valid_days": f.decimal("offer.valid_days")}
        if gives == "discount":
            terms |= {"percent_off": f.whole("offer.percent_off"), "duration_months": f.whole("offer.duration_months")}
        else:
            terms["bonus_points"] = f.whole("offer.bonus_points")
        data["offer"] = _present(terms)
    elif kind == "challenge":
        data["challenge"] = _present(
            {
                "title": f.text("challenge.title") or None,
                "activity": f.text("challenge.activity") or None,
                "count": f.whole("challenge.count"),
                "starts_at": f.text("challenge.starts_at") or None,
                "ends_at": f.text("challenge.ends_at") or None,
                "bonus_points": f.whole("challenge.bonus_points"),
            }
        )
    elif kind == "publish_program":  # moves the members' journeys to a known program version
        known = programs()
        if f.text("program") not in known:
            raise FormProblem("program", "choose the program to publish")
        data["program"] = known[f.text("program")][1]
    return CampaignDefinition.model_validate(data)


# ---- what the form shows first, and what it shows again -----------------------------------------------


def _next_saturday(today: datetime) -> datetime:
    days = (5 - today.weekday()) % 7 or 7
    return (today + timedelta(days=days)).replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None)


def defaults(kind: str, now: datetime | None = None) -> dict[str, list[str]]:
    """The first form: a bonus (or the kind asked for) at once, and a multiplier the coming weekend."""
    saturday = _next_saturday(now or datetime.now(UTC))
    return {
        "kind": [kind],
        "when": ["now"],
        "bonus_points": ["50"],
        "holdout_percent": ["10"],
        "rate": ["100"],
        "filter": [EXAMPLE_FILTER],
        "multiplier.factor": ["2"],
        "multiplier.starts_at": [saturday.strftime("%Y-%m-%dT%H:%M")],
        "multiplier.ends_at": [(saturday + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")],
        "multiplier.applies_to": ["payments", "activity"],
        "multiplier.combine": ["multiply"],
        "offer.gives": ["discount"],
        "offer.duration_months": ["1"],
        "offer.valid_days": ["14"],
        "challenge.activity": ["login"],
        "challenge.count": ["3"],
        "challenge.bonus_points": ["100"],
    }


class Values:
    """What the template fills the form with: the defaults, or what was posted (a refused form keeps it)."""

    def __init__(self, data: Mapping[str, Any] | FormData, bad: Iterable[str] = ()):
        self.fields = Fields(data)
        self.bad = set(bad)

    def __call__(self, name: str) -> str:
        values = self.fields.all(name)
        return values[0] if values else ""

    def on(self, name: str, value: str) -> bool:
        return value in self.fields.all(name)

    def shown(self, name: str, *choices: str) -> bool:
        return (self(name) or "") in choices

    def invalid(self, name: str) -> bool:
        return name in self.bad or any(b.startswith(name + ".") for b in self.bad)


# ---- a definition's terms in words (the preview and the campaign's page) ------------------------------


def _at(value: datetime) -> str:
    offset = value.utcoffset()
    zone = "" if offset is None else " UTC" if not offset else value.strftime(" %z")
    return value.strftime("%a %Y-%m-%d %H:%M") + zone


def terms(d: CampaignDefinition) -> list[tuple[str, str]]:
    """What the campaign gives and when, row by row."""
    rows: list[tuple[str, str]] = []
    if d.bonus_points:
        rows.append(("Gives", f"{d.bonus_points:,} bonus points"))
    if d.multiplier is not None:
        m = d.multiplier
        zone = "each member's local time" if d.local_time else ("UTC" if m.starts_at.tzinfo is None else "")
        rows.append(("Multiplier", f"×{m.factor:g} on {' and '.join(sorted(m.applies_to))}"))
        rows.append(("Window", f"{_at(m.starts_at)} → {_at(m.ends_at)}" + (f" ({zone})" if zone else "")))
        rows.append(
            ("Combine", "tier multiplier × factor" if m.combine == "multiply" else "the larger of tier and factor")
        )
        if m.cap_extra_points is not None:
            rows.append(("Extra points", f"at most {m.cap_extra_points:,} a member"))
    if d.offer is not None:
        o = d.offer
        gives = (
            f"{o.percent_off}% off for {o.duration_months} month{'s' if o.duration_months != 1 else ''}"
            if o.percent_off is not None
            else f"{o.bonus_points:,} bonus points with the next payment"
        )
        rows.append(("Offer", f"{gives}, valid {o.valid_days:g} days"))
    if d.challenge is not None:
        c = d.challenge
        window = f"until {_at(c.ends_at)}" + (f", from {_at(c.starts_at)}" if c.starts_at else "")
        rows.append(("Challenge", f"{c.title}: {c.activity.replace('_', ' ')} {c.count} times {window}"))
        rows.append(("Earns", f"{c.bonus_points:,} bonus points"))
    if d.program is not None:
        rows.append(("Publishes", f"program version {d.program.version}"))
    if d.template_id:
        rows.append(("Email", f"template {d.template_id}"))
    if d.recurrence is not None:
        r = d.recurrence
        rows.append(("When", f"every month on day {r.day_of_month} at {r.hour_utc:02d}:00 UTC (signup anniversaries)"))
    elif d.start.at is None:
        rows.append(("When", "at once"))
    else:
        where = " in each member's local time" if d.start.local_time else ("" if d.start.at.tzinfo else " UTC")
        rows.append(("When", f"{_at(d.start.at)}{where}"))
    return rows
