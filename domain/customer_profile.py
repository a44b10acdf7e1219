"""Who the member is, as the `customers` table mirrors it: contact details, the program version,
with the lifecycle the segments campaigns select on (status, tier, at risk), and from rules
version 4 the whole segment projection (domain/segment_projection.py)."""

from __future__ import annotations

from datetime import datetime

from .effects import CustomerProfile
from .rules_port import RulesPort
from .segment_projection import project
from .segments import PROJECTION_RULES_VERSION


def build(r: RulesPort, now: datetime) -> CustomerProfile:
    """The profile as of `now` (engagement and churn risk move with time; nothing else does)."""
    a = r.a
    contact = CustomerProfile(
        customer_id=a.customer_id,
        email=a.email,
        name=a.name,
        timezone=a.timezone,
        program_version=a.program.version,
    )
    if not r.lifecycle:
        return contact
    return contact.model_copy(
        update={
            "referral_code": a.lifecycle.referral_code,
            "status": a.status,
            "tier": a.tier.name,
            "at_risk": a.lifecycle.at_risk,
            "projection": project(a, now) if r.version >= PROJECTION_RULES_VERSION else None,
        }
    )


def segment_moved(r: RulesPort, seen: CustomerProfile | None, seen_at: datetime | None) -> bool:
    """Whether what segments select on moved since the profile last written (None: none written yet).

    Before rules version 4: status, tier or at-risk. From 4: anything in the profile, judged at the
    time it was written (`seen_at`), so the mere passing of time wakes nobody.
    """
    a = r.a
    if seen is None:
        return False
    if r.version >= PROJECTION_RULES_VERSION and seen_at is not None:
        return build(r, seen_at) != seen
    return (seen.status, seen.tier, seen.at_risk) != (a.status, a.tier.name, a.lifecycle.at_risk)
