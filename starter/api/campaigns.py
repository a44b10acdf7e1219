"""The campaign API for marketers: define, preview, start, pause, resume, cancel, status, results.

Behind an API key of the marketer role (or admin); viewers may read. The same operations as
`tenure campaign` and `CampaignClient`: definitions, previews and results are SQL; the rest asks the
campaign's workflow, so Temporal away is 503 (retry), an unknown campaign 404, an operation its state
forbids 409, a definition that is wrong 422 naming the field.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query

from domain.campaigns import Preview, Progress
from starter.campaign_file import CampaignFileError, definition_from_data
from starter.client.campaigns import (
    CampaignClient,
    CampaignError,
    CampaignStateError,
    InvalidCampaign,
    NoCampaign,
    UnknownSegment,
)
from storage.campaign_results import CampaignResults
from storage.campaigns import CampaignRecord

from .dependencies import ServicesDep, require_role
from .errors import ApiError, answers
from .roles import ApiKey

router = APIRouter(prefix="/campaigns", tags=["campaigns"])

Marketer = Annotated[ApiKey, Depends(require_role("marketer"))]
CampaignReader = Annotated[ApiKey, Depends(require_role("marketer", "viewer"))]
CampaignIdPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]


def invalid_campaign(faults: list[tuple[str, str]]) -> ApiError:
    """422 in the API's one shape (README "Answers and errors"): `invalid campaign: <fields>`, and
    `detail` as [{"field", "message"}], a fault of the whole definition under "(body)"."""
    detail = [{"field": path or "(body)", "message": message} for path, message in faults]
    return ApiError(422, f"invalid campaign: {', '.join(dict.fromkeys(d['field'] for d in detail))}", detail)


def _error(e: CampaignError) -> ApiError:
    if isinstance(e, NoCampaign):
        return ApiError(404, str(e))
    if isinstance(e, CampaignStateError):
        return ApiError(409, str(e), {"state": e.state} if e.state else None)
    if isinstance(e, InvalidCampaign):  # as a definition's other faults
        return invalid_campaign(e.faults)
    if isinstance(e, UnknownSegment):
        return ApiError(422, str(e), [{"field": "segment", "message": "no segment with this id"}])
    return ApiError(503, str(e))


async def _campaigns(svc: ServicesDep, temporal: bool) -> CampaignClient:
    if not temporal:
        return CampaignClient(None, svc.engine, svc.settings.task_queue)
    tenure = await svc.tenure()
    return tenure.campaigns(svc.engine)


async def _do(svc: ServicesDep, temporal: bool, op: str, *args: Any) -> Any:
    campaigns = await _campaigns(svc, temporal)
    try:
        return await getattr(campaigns, op)(*args)
    except CampaignError as e:
        raise _error(e) from None


@router.post("", response_model=CampaignRecord, status_code=201, responses=answers(400, 401, 403, 409, 413, 422))
async def create(
    svc: ServicesDep,
    caller: Marketer,
    body: Annotated[dict[str, Any], Body(description="A campaign definition (see README, Campaigns).")],
) -> CampaignRecord:
    """Record a campaign as a draft; 400 for a body that is not JSON, 422 names every wrong field (an
    inline filter's tier the program in force does not have among them), 409 when the id is taken."""
    try:
        definition = definition_from_data(body, "campaign")
    except CampaignFileError as e:
        raise invalid_campaign(e.faults) from None
    tiers = svc.program.tiers.names()  # an inline filter may name only the program in force's tiers
    record: CampaignRecord = await _do(svc, False, "create", definition, caller.actor, tiers)
    return record


@router.get("", response_model=list[CampaignRecord], responses=answers(401, 403))
async def list_campaigns(svc: ServicesDep, _caller: CampaignReader) -> list[CampaignRecord]:
    result: list[CampaignRecord] = await _do(svc, False, "list")
    return result


@router.get("/{campaign_id}", response_model=CampaignRecord, responses=answers(401, 403, 404))
async def show(campaign_id: CampaignIdPath, svc: ServicesDep, _caller: CampaignReader) -> CampaignRecord:
    result: CampaignRecord = await _do(svc, False, "get", campaign_id)
    return result


@router.get("/{campaign_id}/preview", response_model=Preview, responses=answers(401, 403, 404, 422))
async def preview(campaign_id: CampaignIdPath, svc: ServicesDep, _caller: CampaignReader) -> Preview:
    """A dry run of the whole campaign: reached, held out, skipped and why, the points it would grant at most."""
    result: Preview = await _do(svc, False, "preview", campaign_id)
    return result


@router.post("/{campaign_id}/start", response_model=Progress, responses=answers(401, 403, 404, 409, 503))
async def start(campaign_id: CampaignIdPath, svc: ServicesDep, caller: Marketer) -> Progress:
    result: Progress = await _do(svc, True, "start", campaign_id, caller.actor)
    return result


@router.post("/{campaign_id}/pause", response_model=Progress, responses=answers(401, 403, 404, 409, 503))
async def pause(campaign_id: CampaignIdPath, svc: ServicesDep, _caller: Marketer) -> Progress:
    """Pause a running campaign: it stops within one page."""
    result: Progress = await _do(svc, True, "pause", campaign_id)
    return result


@router.post("/{campaign_id}/resume", response_model=Progress, responses=answers(401, 403, 404, 409, 503))
async def resume(campaign_id: CampaignIdPath, svc: ServicesDep, _caller: Marketer) -> Progress:
    result: Progress = await _do(svc, True, "resume", campaign_id)
    return result


@router.post("/{campaign_id}/cancel", response_model=Progress, responses=answers(401, 403, 404, 409, 503))
async def cancel(campaign_id: CampaignIdPath, svc: ServicesDep, _caller: Marketer) -> Progress:
    result: Progress = await _do(svc, True, "cancel", campaign_id)
    return result


@router.get("/{campaign_id}/status", response_model=Progress, responses=answers(401, 403, 404, 503))
async def status(campaign_id: CampaignIdPath, svc: ServicesDep, _caller: CampaignReader) -> Progress:
    """Targeted, applied, held out, skipped by reason, failed, points granted, budget left."""
    result: Progress = await _do(svc, True, "status", campaign_id)
    return result


@router.get("/{campaign_id}/results", response_model=CampaignResults, responses=answers(401, 403, 404))
async def results(
    campaign_id: CampaignIdPath,
    svc: ServicesDep,
    _caller: CampaignReader,
    follow_up_days: Annotated[int, Query(ge=0, le=3650)] = 30,
) -> CampaignResults:
    """Treated vs holdout, with differences, 95 % confidence intervals and the counts behind them."""
    result: CampaignResults = await _do(svc, False, "results", campaign_id, follow_up_days)
    return result
