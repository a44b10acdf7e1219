"""Who the member is, as the `customers` table mirrors it: contact details, the program version,
and with the lifecycle the segments campaigns select on (status, tier, at risk)."""

from __future__ import annotations

from .effects import CustomerProfile
from .rules_port import RulesPort


def build(r: RulesPort) -> CustomerProfile:
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
        }
    )


def segment_moved(r: RulesPort, seen: CustomerProfile | None) -> bool:
    """Whether status, tier or at-risk moved since the profile last written (None: none written yet)."""
    a = r.a
    return seen is not None and (seen.status, seen.tier, seen.at_risk) != (a.status, a.tier.name, a.lifecycle.at_risk)
