"""The world's lists an input is checked against: ISO 3166 country codes (pycountry) and the IANA time
zones this machine resolves (zoneinfo, with the tzdata package where the system has none).

A module of its own, importing nothing of Tenure's: the ingress bounds and the segment client both
read them, and the ingress package imports the API's errors, which import the client.
"""

from __future__ import annotations

from functools import lru_cache
from zoneinfo import available_timezones

import pycountry


@lru_cache(maxsize=1)
def iso_countries() -> frozenset[str]:
    return frozenset(c.alpha_2 for c in pycountry.countries)


@lru_cache(maxsize=1)
def iana_zones() -> frozenset[str]:
    """The time zone names `zoneinfo.ZoneInfo` resolves here (Europe/Paris, UTC, Etc/GMT+5)."""
    return frozenset(available_timezones())
