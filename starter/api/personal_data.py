"""A member's personal data for admins: the export (GDPR art. 15 and 20) and the erasure (art. 17).

Both work through `starter.personal_data` and are recorded with the caller's key as the actor. Admin
keys only: every other role is answered 403.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header
from pydantic import BaseModel, ConfigDict

from domain.messages import MAX_ID_LENGTH, SINGLE_LINE, Text
from starter.client import NoJourney
from starter.ingress import CustomerId
from starter.personal_data import ErasureReport, erase_member, export_member

from .dependencies import ServicesDep, require_role
from .errors import ApiError, answers
from .roles import ApiKey

router = APIRouter(tags=["personal data"])

DELETION_WAIT = timedelta(seconds=5)  # an HTTP answer should not wait for Temporal's background deletion

Admin = Annotated[ApiKey, Depends(require_role())]


def unknown(customer_id: str, nothing_to: str) -> ApiError:
    """404 for a customer Tenure holds nothing about, said for a data-protection request (the members API's
    404 tells the app how a journey starts, which is no answer to 'export this person's data')."""
    return ApiError(
        404,
        f"Tenure holds nothing about customer {customer_id!r}",
        f"no journey and no rows in the ledger database: nothing to {nothing_to}",
    )


class ErasureIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Text | None = None


@router.get("/members/{customer_id}/export", responses=answers(401, 403, 404, 422, 503))
async def export(customer_id: CustomerId, svc: ServicesDep, caller: Admin) -> dict[str, Any]:
    """Everything Tenure holds about the member, as one JSON document: profile, ledger, emails,
    redemptions, campaign memberships, timeline and the journey's state. Recorded with the caller."""
    tenure = await svc.tenure()
    try:
        return await export_member(tenure, svc.engine, customer_id, caller.actor)
    except NoJourney:
        raise unknown(customer_id, "export") from None


@router.post(
    "/members/{customer_id}/erasure",
    response_model=ErasureReport,
    responses=answers(400, 401, 403, 404, 413, 422, 503),
)
async def erase(
    customer_id: CustomerId,
    svc: ServicesDep,
    caller: Admin,
    body: ErasureIn | None = None,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            min_length=1,
            max_length=MAX_ID_LENGTH,
            pattern=SINGLE_LINE,
            description="Your id for this erasure: a retry with the same key does not erase twice.",
        ),
    ] = None,
) -> ErasureReport:
    """Erase the member's personal data everywhere Tenure wrote it: the journey's state (which continues
    as new), every closed run's history in Temporal, the SQL rows. Amounts and dates stay in the ledger.
    Later events for the member are refused until a new sign-up. Recorded with the caller.
    Temporal deletes runs in the background: those not gone yet are listed in `runs_not_yet_deleted`;
    the same request again reports them until they are."""
    tenure = await svc.tenure()
    reason = body.reason if body else None
    try:
        return await erase_member(
            tenure, svc.engine, customer_id, caller.actor, idempotency_key, reason, deletion_wait=DELETION_WAIT
        )
    except NoJourney:
        raise unknown(customer_id, "erase") from None
