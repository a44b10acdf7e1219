"""The edge's own bounds, on top of the journey's (`domain/messages.py`): what depends on the clock or on
a list that changes, so it can be checked when a fact arrives but never when a journey replays it.

- Currencies: the codes ISO 4217 lists today, from `pycountry` (the ISO 4217 table of Debian's
  iso-codes, updated with each amendment: HRK left in 2023, XCG and ZWG came in), except XXX ("no
  currency") and XTS ("for testing"). Given in capitals or in lower case (Stripe's), passed on in
  capitals.
- Shapes: an address is local@domain, a zone name looks like one (Europe/Berlin, UTC, Etc/GMT+5).
  An event's zone is not held to the zone database (an unknown one counts as UTC), but a segment
  filter's is: `iana_zones()`, the names `zoneinfo` finds (the tzdata package, a dependency, when
  the system has none); and a filter's country to `iso_countries()` (starter/client/segments.py).
- Times: a fact happened after 2000, at most a day ahead of this clock (clocks drift, zones get
  confused; further ahead is a wrong field), and within `DEDUPLICATION_HORIZON_DAYS`: a journey
  cannot tell an older fact from one it already applied, so it is refused rather than risk
  applying it twice.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Annotated, Any

import pycountry
from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field, StringConstraints, WithJsonSchema

from domain.journey import DEDUPLICATION_HORIZON_DAYS
from domain.messages import EARLIEST_FACT, MAX_EMAIL_LENGTH, whole_number
from starter.reference_lists import iso_countries

MAX_AHEAD = timedelta(days=1)
NOT_MONEY = frozenset({"XXX", "XTS"})
LATEST_UNIX_TIME = 253_402_300_799
"""9999-12-31T23:59:59Z: the last second a datetime can hold."""


@lru_cache(maxsize=1)
def iso_currencies() -> frozenset[str]:
    return frozenset(c.alpha_3 for c in pycountry.currencies) - NOT_MONEY


def iso_currency(code: str) -> str:
    upper = code.upper()
    if upper not in iso_currencies() or not (code.isupper() or code.islower()):
        raise ValueError(
            f"{code!r} is not a currency code of ISO 4217 (e.g. USD, EUR, JPY; or usd as Stripe writes it)"
        )
    return upper


def iso_country(code: str) -> str:
    upper = code.upper()
    if upper not in iso_countries() or not (code.isupper() or code.islower()):
        raise ValueError(f"{code!r} is not a country code of ISO 3166-1 (two letters, e.g. US, DE, JP)")
    return upper


def _country_schema() -> dict[str, Any]:
    codes = sorted(iso_countries())
    return {
        "type": "string",
        "enum": codes + [code.lower() for code in codes],
        "description": "ISO 3166-1 alpha-2 country code, in capitals or in lower case (e.g. DE, jp)",
        "examples": ["DE"],
    }


def lenient_country(value: Any) -> str | None:
    """A country as Stripe sends it (an address's `country`): a sound code, else None (never a refusal)."""
    if isinstance(value, str) and value.upper() in iso_countries():
        return value.upper()
    return None


def _currency_schema() -> dict[str, Any]:
    codes = sorted(iso_currencies())
    return {
        "type": "string",
        "enum": codes + [code.lower() for code in codes],
        "description": "ISO 4217 code, in capitals or in lower case (e.g. EUR, usd)",
        "examples": ["EUR"],
    }


def check_recent(at: datetime, now: datetime | None = None) -> datetime:
    """`at` itself, or a ValueError that says which bound it crosses."""
    now = now or datetime.now(UTC)
    if at < EARLIEST_FACT:
        raise ValueError(f"must not be before {EARLIEST_FACT:%Y-%m-%d}")
    if at > now + MAX_AHEAD:
        raise ValueError(f"is more than a day ahead of this server's clock ({now:%Y-%m-%dT%H:%M:%SZ})")
    if at < now - timedelta(days=DEDUPLICATION_HORIZON_DAYS):
        raise ValueError(
            f"is older than {DEDUPLICATION_HORIZON_DAYS} days, the horizon within which a journey tells a repeated "
            "event from a new one: an older fact cannot be deduplicated, so it is refused"
        )
    return at


def check_recent_unix(seconds: int) -> int:
    check_recent(datetime.fromtimestamp(seconds, tz=UTC))
    return seconds


def _iso_text(value: Any) -> Any:
    """A date-time comes as ISO 8601 text (a number would be read as unix seconds: refused, not guessed)."""
    if isinstance(value, str | datetime):
        return value
    raise ValueError("must be an ISO 8601 date-time string with a time zone, e.g. 2026-01-31T12:00:00Z")


Currency = Annotated[
    str,
    StringConstraints(min_length=3, max_length=3, pattern=r"^[A-Za-z]{3}$"),
    AfterValidator(iso_currency),
    WithJsonSchema(_currency_schema()),
]
RecentTime = Annotated[
    AwareDatetime,
    BeforeValidator(_iso_text),
    AfterValidator(check_recent),
    Field(
        description=f"ISO 8601 with a time zone; after 2000, at most a day ahead, and within the last "
        f"{DEDUPLICATION_HORIZON_DAYS} days (the deduplication horizon)."
    ),
]
EmailAddress = Annotated[
    str,
    StringConstraints(max_length=MAX_EMAIL_LENGTH, pattern=r"^[^\s@\x00-\x1f\x7f-\x9f]+@[^\s@\x00-\x1f\x7f-\x9f]+$"),
    Field(description="local@domain, up to 320 characters", examples=["ada@example.com"]),
]
Country = Annotated[
    str,
    StringConstraints(min_length=2, max_length=2, pattern=r"^[A-Za-z]{2}$"),
    AfterValidator(iso_country),
    WithJsonSchema(_country_schema()),
]
ZoneName = Annotated[
    str,
    StringConstraints(max_length=64, pattern=r"^[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+)*$"),
    Field(description="An IANA time zone name (an unknown one counts as UTC)", examples=["Europe/Berlin"]),
]
UnixTime = Annotated[int, Field(ge=0, le=LATEST_UNIX_TIME, description="Unix seconds."), BeforeValidator(whole_number)]
RecentUnixTime = Annotated[
    int,
    Field(
        ge=0,
        le=LATEST_UNIX_TIME,
        description=f"Unix seconds; after 2000, at most a day ahead, within {DEDUPLICATION_HORIZON_DAYS} days.",
    ),
    BeforeValidator(whole_number),
    AfterValidator(check_recent_unix),
]
