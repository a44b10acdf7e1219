"""Billing: credits bought with points and win-back discounts, through a gateway (local database or Stripe).

Every credit is recorded in `billing_credits` under its key; a key already there is
answered "duplicate" with the first call's external id and never applied again. Discounts
work the same way in `billing_discounts`: a key already there is answered with the first
call's code and external id.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import uuid
from datetime import UTC, datetime
from typing import Protocol

import sqlalchemy as sa
import stripe
from sqlalchemy.engine import Engine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from domain.effects import BillingCredit, CreditOutcome, DiscountOutcome, DiscountRequest
from storage.schema import billing_credits, billing_discounts, utcnow
from storage.statements import insert_if_absent

BILLING_REJECTED = "BillingRejected"


class BillingGateway(Protocol):
    """Where credits and discounts are applied. Implementations are blocking.

    apply_credit must be idempotent by `credit.key`, create_discount by `req.key`. Raising
    an ordinary exception means "try again" (the activity is retried); raising a
    non-retryable ApplicationError means "this will never work" (the workflow gets it and
    must give the points back, or go without the discount).
    """

    name: str

    def apply_credit(self, credit: BillingCredit) -> CreditOutcome: ...

    def create_discount(self, req: DiscountRequest) -> DiscountOutcome: ...


def discount_code(key: str) -> str:
    """The customer-facing code for discount `key`: "WB-" and 8 upper-case characters, always the same."""
    digest = hashlib.sha256(key.encode()).digest()
    return "WB-" + base64.b32encode(digest).decode()[:8]


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


def _discount_recorded(engine: Engine, key: str) -> DiscountOutcome | None:
    t = billing_discounts
    with engine.connect() as conn:
        row = conn.execute(sa.select(t.c.code, t.c.external_id).where(t.c.key == key)).first()
    return None if row is None else DiscountOutcome(key=key, code=row.code, external_id=row.external_id)


def _record_discount(
    engine: Engine, req: DiscountRequest, code: str, gateway: str, external_id: str
) -> DiscountOutcome:
    """Insert-if-absent; if another attempt recorded first, answer with its row."""
    row = {
        "key": req.key,
        "customer_id": req.customer_id,
        "percent_off": req.percent_off,
        "duration_months": req.duration_months,
        "expires_at": req.expires_at,
        "code": code,
        "gateway": gateway,
        "external_id": external_id,
        "created_at": utcnow(),
    }
    with engine.begin() as conn:
        conn.execute(insert_if_absent(engine, billing_discounts, "key").values(**row))
    # Whoever recorded first (this attempt or a concurrent one) is the answer.
    return _discount_recorded(engine, req.key) or DiscountOutcome(key=req.key, code=code, external_id=external_id)


def _epoch(at: datetime) -> int:
    """Unix seconds; a naive datetime is taken as UTC, as the database does."""
    return int((at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp())


class LocalBillingGateway:
    """The embedded default: the credit is a row the company's own billing reads."""

    name = "local"

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def apply_credit(self, credit: BillingCredit) -> CreditOutcome:
        return _record(self.engine, credit, self.name, f"local_{uuid.uuid4().hex}")

    def create_discount(self, req: DiscountRequest) -> DiscountOutcome:
        if (done := _discount_recorded(self.engine, req.key)) is not None:
            return done
        return _record_discount(self.engine, req, discount_code(req.key), self.name, f"local_{uuid.uuid4().hex}")


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
        # Temporal owns retries (with backoff, visible in history): no hidden second layer.
        # The timeout stays below the activity's start-to-close (60 s) so an attempt ends on its own.
        self.client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base} if api_base else None,
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

    def create_discount(self, req: DiscountRequest) -> DiscountOutcome:
        """A single-use coupon, and a promotion code for it that only `req.customer_id` can redeem.

        Two calls, each with its own Idempotency-Key derived from `req.key`: a retry after a
        crash between them (within Stripe's 24 hours) gets the same coupon, and after the
        second the same promotion code. The code is derived from the key too, so it is the
        same on every attempt. Promotion codes take `promotion={type, coupon}` since API
        version 2025-09-30.clover (this client pins the package's version).
        """
        if (done := _discount_recorded(self.engine, req.key)) is not None:
            return done
        code = discount_code(req.key)
        expires_at = _epoch(req.expires_at)
        try:
            coupon = self.client.v1.coupons.create(
                params={
                    "percent_off": req.percent_off,
                    "duration": "repeating",
                    "duration_in_months": req.duration_months,
                    "redeem_by": expires_at,
                    "max_redemptions": 1,
                    "metadata": {"tenure_key": req.key},
                },
                options={"idempotency_key": f"{req.key}/coupon"},
            )
            promo = self.client.v1.promotion_codes.create(
                params={
                    "promotion": {"type": "coupon", "coupon": coupon.id},
                    "code": code,
                    "customer": req.customer_id,
                    "expires_at": expires_at,
                    "max_redemptions": 1,
                    "metadata": {"tenure_key": req.key},
                },
                options={"idempotency_key": f"{req.key}/promotion"},
            )
        except (stripe.InvalidRequestError, stripe.IdempotencyError, stripe.CardError) as e:
            # No such customer, expiry already past, code taken: a retry would get the same answer.
            raise ApplicationError(
                f"Stripe refused discount {req.key}: {e.user_message or e}",
                type=BILLING_REJECTED,
                non_retryable=True,
            ) from None
        return _record_discount(self.engine, req, code, self.name, promo.id)


class BillingActivities:
    def __init__(self, gateway: BillingGateway) -> None:
        self.gateway = gateway

    @activity.defn
    async def apply_credit(self, credit: BillingCredit) -> CreditOutcome:
        """Apply a points-bought credit once: "applied", or "duplicate" with the first external id."""
        return await asyncio.to_thread(self.gateway.apply_credit, credit)

    @activity.defn
    async def create_discount(self, req: DiscountRequest) -> DiscountOutcome:
        """Create a win-back discount once; a repeated key answers with the first code and external id."""
        return await asyncio.to_thread(self.gateway.create_discount, req)
