"""The custom search attributes of a journey: what support filters journeys on in the Temporal UI and
with `temporal workflow list --query` ("TenureTier = 'gold' AND TenureStatus = 'past_due'").

Temporal does not encrypt search attributes, so they carry no personal data: only the tier, the
status, the at-risk flag, the engagement level and the program version, read from the profile the
journey already writes for segments (domain/customer_profile.py). Set from rules version 4 on.
"""

from __future__ import annotations

from typing import Literal

from .effects import CustomerProfile

AttributeType = Literal["Keyword", "Bool"]

SEARCH_ATTRIBUTES: dict[str, AttributeType] = {
    "TenureTier": "Keyword",
    "TenureStatus": "Keyword",
    "TenureAtRisk": "Bool",
    "TenureEngagement": "Keyword",
    "TenureProgramVersion": "Keyword",
}
"""Name -> Temporal type. Registered by `make run` (the dev server's --search-attribute) and by the
worker at start-up where it may (`temporal operator search-attribute create` otherwise)."""


def attributes_of(profile: CustomerProfile) -> dict[str, str | bool]:
    """The values to set, from the member's profile (the engagement level from rules version 3's projection)."""
    values: dict[str, str | bool] = {
        "TenureProgramVersion": profile.program_version,
        "TenureStatus": profile.status,
        "TenureAtRisk": profile.at_risk,
    }
    if profile.tier:
        values["TenureTier"] = profile.tier
    if profile.projection is not None:
        values["TenureEngagement"] = profile.projection.engagement_level
    return values
