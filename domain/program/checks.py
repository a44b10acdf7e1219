"""The program's cross-field rules, over plain data, each problem named by its dotted path.

They run twice: inside the models' validators (a program arriving as JSON is checked too), and
on a file's merged values before validation, so that a file with a wrong type in one section
still has every broken rule of every other section reported in the same run — pydantic runs a
model's after-validator only when all its fields are valid, and stops at the first raise.
Values are read leniently: one that pydantic would refuse (the structural error says so) is
left out of the rule rather than reported twice.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping
from typing import Any, NamedTuple, get_args

from pydantic import TypeAdapter, ValidationError

from ..messages import CancellationReason

WINBACK_REASONS: tuple[str, ...] = (*get_args(CancellationReason), "involuntary")

_INT = TypeAdapter(int)
_NUMBER = TypeAdapter(float)
_TEXT = TypeAdapter(str)


class Problem(NamedTuple):
    """One thing wrong with a program: where (a dotted path, as pydantic's) and what."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path or '(top level)'}: {self.message}"

    def under(self, prefix: str) -> Problem:
        return Problem(join(prefix, self.path), self.message)


class RuleProblems(ValueError):
    """Raised by a model validator; carries the problems so a parser can list them one by one."""

    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


def join(*parts: object) -> str:
    return ".".join(str(p) for p in parts if p != "")


def refuse(problems: Iterable[Problem]) -> None:
    found = list(problems)
    if found:
        raise RuleProblems(found)


def _read(adapter: TypeAdapter[Any], value: Any) -> Any:
    try:
        return adapter.validate_python(value)
    except ValidationError:
        return None


def _table(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _items(value: Any) -> list[tuple[int, Mapping[str, Any]]]:
    """The tables of an array of tables, with their index; anything else in it is not ours to judge."""
    if not isinstance(value, list):
        return []
    return [(i, item) for i, item in enumerate(value) if isinstance(item, Mapping)]


def _unique(items: Any, key: str, what: str) -> Iterator[Problem]:
    seen: set[str] = set()
    for _, item in _items(items):
        value = _read(_TEXT, item.get(key))
        if value is None:
            continue
        if value in seen:
            yield Problem("", f"{what} must be unique: {value!r} is used more than once")
        seen.add(value)


# ---- one section each (paths relative to the section) -------------------------------------------


def earning_problems(earning: Any) -> Iterator[Problem]:
    e = _table(earning)
    daily, weekly = _read(_INT, e.get("activity_daily_cap")), _read(_INT, e.get("activity_weekly_cap"))
    if daily is not None and weekly is not None and daily > weekly:
        yield Problem(
            "activity_daily_cap", f"activity_daily_cap must not exceed activity_weekly_cap ({daily} > {weekly})"
        )


def points_problems(points: Any) -> Iterator[Problem]:
    p = _table(points)
    validity = _read(_INT, p.get("lot_validity_days"))
    days = p.get("expiry_warning_days")
    if validity is None or not isinstance(days, list):
        return
    for day in (_read(_INT, d) for d in days):
        if day is not None and not 0 < day < validity:
            yield Problem("expiry_warning_days", f"{day} must be between 1 and lot_validity_days - 1 ({validity - 1})")


def tier_problems(tiers: Any) -> Iterator[Problem]:
    levels = _table(tiers).get("levels")
    if isinstance(levels, list) and not levels:
        yield Problem("levels", "there must be at least one tier, the first with threshold 0")
    previous: tuple[str, int] | None = None
    for i, tier in _items(levels):
        name, threshold = _read(_TEXT, tier.get("name")), _read(_INT, tier.get("threshold"))
        if threshold is None:
            continue
        if i == 0 and threshold != 0:
            yield Problem("levels.0.threshold", f"the first tier must have threshold 0, not {threshold}")
        if previous is not None and threshold <= previous[1]:
            yield Problem(
                f"levels.{i}.threshold",
                f"threshold of {name!r} ({threshold}) must be above {previous[0]!r} ({previous[1]})",
            )
        previous = (name or "?", threshold)
    yield from (p.under("levels") for p in _unique(levels, "name", "tier names"))


def redemption_problems(redemption: Any) -> Iterator[Problem]:
    yield from (p.under("catalog") for p in _unique(_table(redemption).get("catalog"), "id", "reward ids"))


def onboarding_problems(onboarding: Any) -> Iterator[Problem]:
    latest: float | None = None
    for i, step in _items(_table(onboarding).get("steps")):
        day = _read(_NUMBER, step.get("day"))
        if day is None:
            continue
        if latest is not None and day < latest:
            yield Problem(f"steps.{i}.day", f"steps must be in order of day: day {day:g} comes after day {latest:g}")
        latest = day if latest is None else max(latest, day)


def offer_problems(offer: Any) -> Iterator[Problem]:
    o = _table(offer)
    if o.get("kind") == "discount" and not o.get("percent_off"):
        yield Problem("percent_off", "a discount offer needs percent_off")


def winback_problems(winback: Any) -> Iterator[Problem]:
    playbooks = _table(winback).get("playbooks")
    if not isinstance(playbooks, Mapping):
        return
    missing = [r for r in WINBACK_REASONS if r not in playbooks]
    if missing:
        yield Problem("playbooks", f"no playbook for {', '.join(missing)}")
    for reason, book in playbooks.items():
        if reason not in WINBACK_REASONS:
            yield Problem(f"playbooks.{reason}", f"unknown reason; the reasons are {', '.join(WINBACK_REASONS)}")
        for key in ("offer", "strong_offer"):
            yield from (p.under(f"playbooks.{reason}.{key}") for p in offer_problems(_table(book).get(key)))


def cross_section_problems(program: Any, templates: Collection[str]) -> Iterator[Problem]:
    """Rules that span sections: every email purpose named has a template; badge and challenge ids unique."""
    p = _table(program)
    for i, step in _items(_table(p.get("onboarding")).get("steps")):
        purpose = step.get("purpose")
        if isinstance(purpose, str) and purpose not in templates:
            yield Problem(f"onboarding.steps.{i}.purpose", f"no email template for purpose {purpose!r}")
    marketing = _table(p.get("comms")).get("marketing")
    for i, purpose in enumerate(marketing if isinstance(marketing, list) else []):
        if isinstance(purpose, str) and purpose not in templates:
            yield Problem(f"comms.marketing.{i}", f"no email template for purpose {purpose!r}")
    for group in ("badges", "challenges"):
        yield from (problem.under(group) for problem in _unique(p.get(group), "id", "ids"))


SECTION_CHECKS = {
    "earning": earning_problems,
    "points": points_problems,
    "tiers": tier_problems,
    "redemption": redemption_problems,
    "onboarding": onboarding_problems,
    "winback": winback_problems,
}


def program_problems(program: Any, templates: Collection[str]) -> list[Problem]:
    """Every broken rule of a whole program given as plain data, in section order."""
    p = _table(program)
    found = [problem.under(section) for section, check in SECTION_CHECKS.items() for problem in check(p.get(section))]
    return found + list(cross_section_problems(p, templates))
