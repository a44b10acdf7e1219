"""A member's personal data for admins: the export (GDPR art. 15 and 20), the erasure (art. 17), and the
register of both (who asked, when, why, what was done), for an auditor.

Export and erasure work through `starter.personal_data` and are recorded with the caller's key as the
actor. Admin keys only: every other role is answered 403.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query, Response
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from domain.messages import MAX_ID_LENGTH, SINGLE_LINE, Text
from domain.utc_times import in_utc
from starter.client import NoJourney
from starter.ingress import CustomerId
from starter.personal_data import ErasureReport, MemberExport, ReasonNamesTheMember, erase_member, export_member
from storage.personal_data import list_requests

from .dependencies import ServicesDep, require_role
from .errors import ApiError, answers
from .members import MAX_OFFSET
from .roles import ApiKey

router = APIRouter(tags=["personal data"])

NO_STORE = "no-store"  # personal data and its register: no browser or proxy keeps a copy
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


@router.get("/members/{customer_id}/export", response_model=MemberExport, responses=answers(401, 403, 404, 422, 503))
async def export(customer_id: CustomerId, svc: ServicesDep, caller: Admin, response: Response) -> dict[str, Any]:
    """Everything Tenure holds about the member, as one JSON document: profile, ledger, emails,
    redemptions, campaign memberships, consent, timeline and the journey's state. Recorded with the caller.
    Answered `Cache-Control: no-store`: no browser or proxy keeps a copy."""
    response.headers["Cache-Control"] = NO_STORE
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
    response: Response,
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
    the same request again reports them until they are, then lists them in `runs_deleted`."""
    response.headers["Cache-Control"] = NO_STORE
    tenure = await svc.tenure()
    reason = body.reason if body else None
    try:
        return await erase_member(
            tenure, svc.engine, customer_id, caller.actor, idempotency_key, reason, deletion_wait=DELETION_WAIT
        )
    except NoJourney:
        raise unknown(customer_id, "erase") from None
    except ReasonNamesTheMember as e:
        raise ApiError(
            422,
            "invalid request: reason",
            [{"field": "reason", "message": str(e), "type": "names_the_member"}],
        ) from None


MAX_REGISTER_PAGE = 1000


class PersonalDataRequest(BaseModel):
    id: int
    customer_id: str
    action: Literal["export", "erasure"]
    actor: str = Field(description="Who asked: the API key's actor (`api:NAME`) or the CLI's --actor.")
    request_id: str
    at: datetime
    outcome: dict[str, Any] | None = Field(
        description="What came of it. An export: how many records of each kind it held. An erasure: its "
        "`reason`, `journey`, `runs_deleted`, `runs_not_yet_deleted` and `rows_scrubbed` (as its answer said)."
    )


class PersonalDataRegister(BaseModel):
    total: int = Field(description="How many records match, in all (`requests` holds `limit` of them after `offset`).")
    requests: list[PersonalDataRequest]


RegisterTime = Annotated[datetime, AfterValidator(in_utc)]
"""A register bound in UTC (a time without a zone is UTC); one with no UTC is the field's 422."""


@router.get("/personal-data-requests", response_model=PersonalDataRegister, responses=answers(401, 403, 422))
async def register(
    svc: ServicesDep,
    _caller: Admin,
    response: Response,
    customer_id: Annotated[CustomerId | None, Query(description="One member's records only.")] = None,
    action: Annotated[Literal["export", "erasure"] | None, Query()] = None,
    since: Annotated[
        RegisterTime | None,
        Query(description="From this time on (ISO 8601; a date is its midnight, UTC without a zone)."),
    ] = None,
    until: Annotated[RegisterTime | None, Query(description="Before this time (same form as `since`).")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_REGISTER_PAGE)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Skip this many records first.")] = 0,
) -> PersonalDataRegister:
    """Every export and erasure of personal data, oldest first: who asked (actor), when, the request id, and
    what came of it. Reading it records nothing and shows no personal data, so an auditor can be given it
    without exporting anyone."""
    response.headers["Cache-Control"] = NO_STORE
    rows, total = await asyncio.to_thread(list_requests, svc.engine, customer_id, action, since, until, limit, offset)
    return PersonalDataRegister(total=total, requests=[PersonalDataRequest.model_validate(r) for r in rows])
