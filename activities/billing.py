"""Billing: credits bought with points, through a gateway (local database or Stripe).

Every credit is recorded in `billing_credits` under its key; a key already there is
answered "duplicate" with the first call's external id and never applied again.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Protocol

import sqlalchemy as sa
import stripe
from sqlalchemy.engine import Engine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from domain.effects import BillingCredit, CreditOutcome

from .db import billing_credits, insert_if_absent, utcnow

BILLING_REJECTED = "BillingRejected"


class BillingGateway(Protocol):
    """Where credits (and later discounts) are applied. Implementations are blocking.

    apply_credit must be idempotent by `credit.key`. Raising an ordinary exception means
    "try again" (the activity is retried); raising a non-retryable ApplicationError
    means "this will never work" (the workflow gets it and must give the points back).

    Extension point for the win-back journeys: add
    `create_discount(self, discount: BillingDiscount) -> DiscountOutcome` here (a Stripe
    coupon + promotion code, or a locally recorded offer), with a `billing_discounts` table
    keyed the same way, and an activity beside `apply_credit`.
    """

    name: str

    def apply_credit(self, credit: BillingCredit) -> CreditOutcome: ...


def _recorded(engine: Engine, key: str) -> CreditOutcome | None:
    with engine.connect() as conn:
        row = conn.execute(sa.select(billing_credits.c.external_id).where(billing_credits.c.key == key)).first()
    return None if row is None else CreditOutcome(key=key, status="duplicate", external_id=row.external_id)


def _record(engine: Engine, credit: BillingCredit, gateway: str, external_id: str) -> CreditOutcome:
    """Insert-if-absent; if another attempt recorded first, answer with its row."""
    row = {
        "key": credit.key,
        "customer_id": credit.customer_id,
        "amount_minor": credit.amount_minor,
        "currency": credit.currency.upper(),
        "description": credit.description,
        "gateway": gateway,
        "external_id": external_id,
        "created_at": utcnow(),
    }
    with engine.begin() as conn:
        stmt = insert_if_absent(engine, billing_credits, "key").values(**row).returning(billing_credits.c.id)
        inserted = conn.execute(stmt).first() is not None
    if inserted:
        return CreditOutcome(key=credit.key, status="applied", external_id=external_id)
    return _recorded(engine, credit.key) or CreditOutcome(key=credit.key, status="duplicate")


class LocalBillingGateway:
    """The embedded default: the credit is a row the company's own billing reads."""

    name = "local"

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def apply_credit(self, credit: BillingCredit) -> CreditOutcome:
        return _record(self.engine, credit, self.name, f"local_{uuid.uuid4().hex}")


class StripeBillingGateway:
    """A negative customer balance transaction in Stripe (a credit on the next invoices).

    `credit.customer_id` is the Stripe customer id (journeys are keyed by the billing
    system's id). The local row is checked first, because Stripe forgets idempotency keys
    after 24 hours; Stripe's Idempotency-Key (= credit.key) covers the window between
    Stripe's answer and our insert, so a retry after a crash there gets the same transaction.
    """

    name = "stripe"

    def __init__(self, engine: Engine, api_key: str, api_base: str | None = None, timeout: float = 30.0) -> None:
        self.engine = engine
        base = {"api": api_base} if api_base else None
        # Temporal owns retries (with backoff, visible in history): no hidden second layer.
        # The timeout stays below the activity's start-to-close (60 s) so an attempt ends on its own.
        self.client = stripe.StripeClient(
            api_key,
            base_addresses=base,
            max_network_retries=0,
            http_client=stripe.RequestsClient(timeout=timeout),
        )

    def apply_credit(self, credit: BillingCredit) -> CreditOutcome:
        if (done := _recorded(self.engine, credit.key)) is not None:
            return done
        try:
            txn = self.client.v1.customers.balance_transactions.create(
                credit.customer_id,
                params={
                    "amount": -credit.amount_minor,
                    "currency": credit.currency.lower(),
                    "description": credit.description,
                    "metadata": {"tenure_key": credit.key},
                },
                options={"idempotency_key": credit.key},
            )
        except (stripe.InvalidRequestError, stripe.IdempotencyError, stripe.CardError) as e:
            # No such customer, currency mismatch, key reused with other params: a retry
            # would get the same answer.
            raise ApplicationError(
                f"Stripe refused credit {credit.key}: {e.user_message or e}",
                type=BILLING_REJECTED,
                non_retryable=True,
            ) from None
        # RateLimitError, APIError, APIConnectionError, AuthenticationError, PermissionError
        # propagate: retryable (the last two once the operator fixes the key).
        return _record(self.engine, credit, self.name, txn.id)


class BillingActivities:
    def __init__(self, gateway: BillingGateway) -> None:
        self.gateway = gateway

    @activity.defn
    async def apply_credit(self, credit: BillingCredit) -> CreditOutcome:
        """Apply a points-bought credit once: "applied", or "duplicate" with the first external id."""
        return await asyncio.to_thread(self.gateway.apply_credit, credit)
