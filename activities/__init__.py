"""Activities: the only code in Tenure that touches the outside world (database, SendGrid, Stripe).

`build_activities` wires them from the deployment settings; the worker registers the result.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import Engine

from settings import Settings

from .billing import BillingActivities, BillingGateway, LocalBillingGateway, StripeBillingGateway
from .campaigns import CampaignActivities
from .email import EmailActivities
from .ledger import LedgerActivities


class BillingMisconfigured(ValueError):
    """The billing settings cannot work; the worker stops with the message."""


def billing_gateway(settings: Settings, engine: Engine) -> BillingGateway:
    """The gateway TENURE_BILLING names: 'local' or 'stripe', the only two the settings let through."""
    if settings.billing == "local":
        return LocalBillingGateway(engine)
    if not settings.stripe_api_key:
        raise BillingMisconfigured("TENURE_BILLING=stripe needs TENURE_STRIPE_API_KEY")
    return StripeBillingGateway(engine, settings.stripe_api_key, settings.stripe_api_base)


def build_activities(
    settings: Settings, engine: Engine, *, from_email: str, from_name: str | None = None
) -> list[Callable[..., Any]]:
    """Every activity, bound to its dependencies. `from_*` come from the program's `email` section."""
    ledger = LedgerActivities(engine)
    email = EmailActivities(
        engine,
        api_key=settings.sendgrid_api_key,
        host=settings.sendgrid_host,
        from_email=from_email,
        from_name=from_name,
    )
    billing = BillingActivities(billing_gateway(settings, engine))
    campaigns = CampaignActivities(engine)
    return [
        ledger.record_entries,
        ledger.record_ledger_entries,
        ledger.record_rejections,
        ledger.upsert_customer,
        ledger.record_ledger_and_profile,
        ledger.lookup_referrer,
        email.send_email,
        billing.apply_credit,
        billing.create_discount,
        campaigns.campaign_page,
        campaigns.count_campaign_segment,
        campaigns.record_campaign_state,
    ]


__all__ = [
    "BillingActivities",
    "BillingGateway",
    "CampaignActivities",
    "EmailActivities",
    "LedgerActivities",
    "LocalBillingGateway",
    "StripeBillingGateway",
    "billing_gateway",
    "build_activities",
]
