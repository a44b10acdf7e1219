"""The member API for the app and support: summary, SQL ledger, redemptions, the rewards catalog.

Journeys answer through `TenureClient`; its typed errors become 404 / 409 / 422 / 503 in
`starter.api.errors`. Nothing here opens a journey.

The ledger is read from the database; a member without entries is asked of Temporal: no journey
is 404, and when Temporal cannot be reached the truth is "cannot tell" (503, retry), never an
empty ledger that may be a member's or nobody's.

No member route carries the member's address or name; for a role that is not shown personal data
(`roles.sees_personal_data`: app, viewer) the free texts they carry (reasons, lots' sources) have the
member's address and name, and any email address, replaced by `[hidden]` (`starter.personal_view`).
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Header, Query
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from domain.effects import LedgerEntry
from domain.messages import MAX_ID_LENGTH, MAX_POINTS, SINGLE_LINE, Id, RedeemRequest, RedeemResult, whole_number
from domain.program import Reward
from domain.summary import Summary
from starter.client import JourneyError, JourneyRefused, JourneyUnavailable, NoJourney
from starter.ingress import CustomerId
from starter.personal_view import member_view
from storage.ledger_reads import ledger_page, ledger_totals

from .dependencies import AppCaller, MemberReader, ServicesDep
from .errors import RETRY_SOON, ApiError, answers
from .metrics import count_redemption

router = APIRouter(tags=["members"])

MAX_OFFSET = 2**63 - 1
"""The largest offset a database can skip to (a signed 64-bit integer, SQLite's and PostgreSQL's)."""
READ_ANSWERS = answers(401, 403, 404, 422, 503)


class RedemptionIn(BaseModel):
    """Exactly one of `points` (a billing credit) or `reward_id` (a catalog reward)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={  # what the validator below says, for the OpenAPI document
            "oneOf": [
                {"required": ["points"], "properties": {"points": {"type": "integer"}}},
                {"required": ["reward_id"], "properties": {"reward_id": {"type": "string"}}},
            ]
        },
    )

    points: Annotated[int, Field(gt=0, le=MAX_POINTS), BeforeValidator(whole_number)] | None = Field(
        None, description="Points to spend on a billing credit."
    )
    reward_id: Id | None = Field(None, description="A reward of GET /rewards.")

    @model_validator(mode="after")
    def _one(self) -> RedemptionIn:
        if (self.points is None) == (self.reward_id is None):
            raise ValueError("give exactly one of points (a billing credit) or reward_id (a catalog reward)")
        return self


class LedgerOut(BaseModel):
    customer_id: str
    total: int = Field(description="Entries in this member's ledger.")
    offset: int
    limit: int
    entries: list[LedgerEntry]


class RewardsOut(BaseModel):
    currency: str
    points_per_currency_unit: int = Field(description="Points that buy 1.00 of billing credit.")
    minimum_points: int
    rewards: list[Reward]


@router.get("/members/{customer_id}", response_model=Summary, responses=READ_ANSWERS)
async def member(customer_id: CustomerId, svc: ServicesDep, caller: MemberReader) -> Summary:
    """Balance, pending points, tier, next tier and the points still needed, lots with their expiry."""
    tenure = await svc.tenure()
    summary = await tenure.summary(customer_id)
    return (await member_view(svc.engine, caller.role, customer_id)).summary(summary)


@router.get("/members/{customer_id}/ledger", response_model=LedgerOut, responses=READ_ANSWERS)
async def member_ledger(
    customer_id: CustomerId,
    svc: ServicesDep,
    caller: MemberReader,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> LedgerOut:
    """The member's ledger from the database, oldest first: every accrual, spend, expiry and reversal.
    404 for a customer without a journey; 503 when the ledger has nothing for them and Temporal cannot
    be asked whether they have a journey."""
    totals = await asyncio.to_thread(ledger_totals, svc.engine, customer_id)
    total = totals[customer_id].count if customer_id in totals else 0
    if total == 0:
        try:
            exists = await svc.journey_exists(customer_id)
        except JourneyUnavailable as e:
            raise ApiError(
                503,
                f"cannot tell whether customer {customer_id!r} has a journey",
                f"the ledger has no entries for them and Temporal is unavailable ({e.reason}); retry later",
                RETRY_SOON,
            ) from None
        if not exists:
            raise NoJourney(customer_id)
    entries = await asyncio.to_thread(ledger_page, svc.engine, customer_id, offset, limit) if total > offset else []
    entries = (await member_view(svc.engine, caller.role, customer_id)).entries(entries)
    return LedgerOut(customer_id=customer_id, total=total, offset=offset, limit=limit, entries=entries)


@router.post(
    "/members/{customer_id}/redemptions",
    response_model=RedeemResult,
    responses=answers(400, 401, 403, 404, 409, 413, 422, 503),
)
async def redeem(
    customer_id: CustomerId,
    body: RedemptionIn,
    svc: ServicesDep,
    _caller: AppCaller,
    idempotency_key: Annotated[
        str,
        Header(
            alias="Idempotency-Key",
            min_length=1,
            max_length=MAX_ID_LENGTH,
            pattern=SINGLE_LINE,
            description="Your id for this redemption: a retry with the same key "
            "returns the first answer and spends nothing twice.",
        ),
    ],
) -> RedeemResult:
    """Spend points, answered synchronously by the journey (a workflow update)."""
    request = RedeemRequest(
        request_id=idempotency_key,
        kind="reward" if body.reward_id else "credit",
        points=body.points,
        reward_id=body.reward_id,
    )
    try:
        tenure = await svc.tenure()
        result = await tenure.redeem(customer_id, request)
    except JourneyRefused as refused:
        count_redemption(refused.code or "refused")
        raise
    except JourneyError as failed:
        count_redemption("no_journey" if isinstance(failed, NoJourney) else "unavailable")
        raise
    count_redemption("redeemed")
    return result


@router.get("/rewards", response_model=RewardsOut, responses=answers(401, 403))
async def rewards(svc: ServicesDep, _caller: MemberReader) -> RewardsOut:
    """The rewards catalog and the billing-credit rate of the program."""
    r = svc.program.redemption
    return RewardsOut(
        currency=svc.program.currency,
        points_per_currency_unit=r.points_per_currency_unit,
        minimum_points=r.minimum_points,
        rewards=r.catalog,
    )
