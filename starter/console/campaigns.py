"""Segments and campaigns: list, create with a live preview count, start / pause / resume / cancel,
live progress while a campaign runs, results with the lift against the holdout as a chart.

Everything goes through the campaigns' own client (starter/client/campaigns.py) and the segments'
(starter/client/segments.py), as `/campaigns` and `/segments` do; the console only turns forms into
definitions (it reads segments and counts from the store directly).
"""

from __future__ import annotations

import asyncio
import json
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import escape
from pydantic import ValidationError
from starlette.datastructures import FormData

from domain.campaigns import FINAL_STATES, CampaignDefinition
from domain.segments import SegmentFilter
from starter.api.dependencies import ServicesDep
from starter.api.segments import FilterIn
from starter.api.services import Services
from starter.client import JourneyError
from starter.client.campaigns import (
    CampaignClient,
    CampaignError,
    CampaignStateError,
    InvalidCampaign,
    NoCampaign,
    UnknownSegment,
    check_filter,
)
from starter.client.segments import SegmentClient, SegmentTaken, check_filter_values
from storage.campaign_preview import preview_campaign
from storage.segments import count_members, get_segment, list_segments

from .campaign_form import (
    ACTIVITIES,
    EXAMPLE_FILTER,
    KINDS,
    LABELS,
    FormProblem,
    Problem,
    Values,
    defaults,
    definition_from,
    problems,
    terms,
)
from .notices import Notice, notice_redirect
from .program import known_programs
from .session import Staff
from .web import allowed, checked_form, render

router = APIRouter(prefix="/console", include_in_schema=False)
Reader = Annotated[Staff, allowed("campaigns")]
Marketer = Annotated[Staff, allowed("campaign_actions")]
CONTROLS = ("start", "pause", "resume", "cancel")


def _offline(svc: Services) -> CampaignClient:
    """Definitions and results need only the database."""
    return CampaignClient(None, svc.engine, svc.settings.task_queue)


async def _online(svc: Services) -> CampaignClient:
    """Starting and steering runs needs Temporal."""
    return (await svc.tenure()).campaigns(svc.engine)


@router.get("/campaigns", response_class=HTMLResponse)
async def page(request: Request, svc: ServicesDep, staff: Reader, notice: Notice) -> Response:
    kind = request.query_params.get("kind", "bonus")
    return await _page(request, svc, staff, Values(defaults(kind if kind in dict(KINDS) else "bonus")), notice=notice)


async def _page(
    request: Request,
    svc: Services,
    staff: Staff,
    values: Values,
    notice: str | None = None,
    faults: list[Problem] | None = None,
    status_code: int = 200,
    segment_typed: dict[str, str] | None = None,
) -> Response:
    """The page with its forms: filled with the defaults, or with a refused campaign's values and why
    (`segment_typed`: a refused segment's name and filter, as typed, with `fault`: why)."""
    campaigns = await _offline(svc).list()
    segments = await asyncio.to_thread(list_segments, svc.engine)
    counts = await asyncio.gather(*(asyncio.to_thread(count_members, svc.engine, s.filter) for s in segments))
    return render(
        request,
        "campaigns.html",
        staff,
        status_code,
        campaigns=campaigns,
        segments=list(zip(segments, counts, strict=True)),
        programs=await asyncio.to_thread(known_programs, svc),
        kinds=KINDS,
        activities=ACTIVITIES,
        v=values,
        example_filter=EXAMPLE_FILTER,
        notice=notice,
        faults=faults or [],
        segment_typed=segment_typed,
    )


# ---- segments ------------------------------------------------------------------------------------


def _filter_of(text: str) -> SegmentFilter:
    """The segment form's filter, validated as `POST /segments/preview` validates one: its faults are
    located under `filter`, for `_in_words` to name as the campaign form names them."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as e:
        raise FormProblem("filter", f"not JSON ({e})") from None
    return FilterIn.model_validate({"filter": raw}).filter


def _in_words(e: Exception) -> str:
    """A refused filter or segment in the campaign form's words: each fault naming its field by its
    label and path, then what to type (`Filter (filter.condition.op): choose 'eq', …`)."""
    return "; ".join(p.text for p in problems(e))


def _checked_count(svc: Services, f: SegmentFilter) -> int:
    """The members of a filter the segment form would save (the segments' client's check), else its fault."""
    check_filter_values(f, svc.program.tiers.names())
    return count_members(svc.engine, f)


@router.post("/segments/count", response_class=HTMLResponse)
async def segment_count(request: Request, svc: ServicesDep, staff: Reader) -> Response:
    """The live count of the filter being written (htmx, as the marketer types); a filter the form would
    refuse (a tier the program lacks, a zone or a country that is none) shows why instead of a count."""
    form = await checked_form(request, staff)
    try:
        n = await asyncio.to_thread(_checked_count, svc, _filter_of(str(form.get("filter") or "")))
    except (ValueError, ValidationError) as e:  # UnknownFilterValue among them
        return HTMLResponse(f'<span class="neg">Not a filter yet: {escape(_in_words(e))}</span>')
    return render(request, "count.html", staff, n=n)


@router.post("/segments")
async def create_segment(request: Request, svc: ServicesDep, staff: Marketer) -> Response:
    """A new segment through the segments' one client (as `POST /segments` and `tenure segment create`):
    the same id from the name, the same refusals: a tier only of the program in force, real zones and
    countries."""
    form = await checked_form(request, staff)
    name = str(form.get("name") or "").strip()
    segment_id = str(form.get("segment_id") or "").strip() or None
    text = str(form.get("filter") or "")
    tiers = svc.program.tiers.names()
    try:
        f = _filter_of(text)
        segment = await asyncio.to_thread(SegmentClient(svc.engine).create, name, f, staff.actor, segment_id, tiers)
    except SegmentTaken as e:
        return await _segment_refused(request, svc, staff, name, text, f"Segment not saved: {e}", "name")
    except (ValueError, ValidationError) as e:  # UnknownFilterValue, NoSegmentId, JSON and filter faults
        return await _segment_refused(request, svc, staff, name, text, f"Segment not saved: {_in_words(e)}", "filter")
    return _back(svc, f"Segment {segment.name} saved.")


async def _segment_refused(
    request: Request, svc: Services, staff: Staff, name: str, text: str, why: str, field: str
) -> Response:
    """The page again (422) with the segment form as it was typed and why it was refused (`field`: the
    one at fault): a filter written by hand is not lost to one typo or a name already taken."""
    typed = {"name": name, "filter": text, "fault": why, "field": field}
    return await _page(request, svc, staff, Values(defaults("bonus")), notice=why, status_code=422, segment_typed=typed)


# ---- campaigns -----------------------------------------------------------------------------------


def _definition(form: FormData, svc: Services, draft: bool = False) -> CampaignDefinition:
    """A definition from the form (starter/console/campaign_form.py); `draft`: what a preview needs only."""
    return definition_from(form, lambda: known_programs(svc), draft=draft)


async def _filter_for(svc: Services, definition: CampaignDefinition) -> SegmentFilter:
    if definition.filter is not None:
        return definition.filter
    assert definition.segment is not None
    segment = await asyncio.to_thread(get_segment, svc.engine, definition.segment)
    if segment is None:
        raise ValueError(f"no segment {definition.segment!r}")
    return segment.filter


@router.post("/campaigns/preview", response_class=HTMLResponse)
async def campaign_preview(request: Request, svc: ServicesDep, staff: Reader) -> Response:
    """The live preview of the campaign being written: who it reaches, who is held out, what it may
    cost, and its terms in words."""
    form = await checked_form(request, staff)
    try:
        definition = _definition(form, svc, draft=True)
        if definition.filter is not None:  # as creating it would: a saved segment is taken as saved
            check_filter(definition.filter, svc.program.tiers.names())
        found = await asyncio.to_thread(preview_campaign, svc.engine, definition, await _filter_for(svc, definition))
    except (ValueError, ValidationError, InvalidCampaign) as e:
        return render(request, "campaign_preview.html", staff, p=None, faults=problems(e))
    return render(request, "campaign_preview.html", staff, p=found, d=definition, terms=terms(definition), faults=[])


@router.post("/campaigns")
async def create_campaign(request: Request, svc: ServicesDep, staff: Marketer) -> Response:
    """A draft from the form; a refused form comes back filled in as it was sent, its faults named by
    field (422; 409 for an id already taken)."""
    form = await checked_form(request, staff)
    try:
        definition = _definition(form, svc)
        record = await _offline(svc).create(definition, staff.actor, svc.program.tiers.names())
    except (ValueError, ValidationError) as e:
        return await _refused(request, svc, staff, form, problems(e), 422)
    except InvalidCampaign as e:
        return await _refused(request, svc, staff, form, problems(e), 422)
    except CampaignStateError as e:
        return await _refused(request, svc, staff, form, [Problem("id", f"{LABELS['id']} (id): {e}")], 409)
    except UnknownSegment as e:
        return await _refused(
            request, svc, staff, form, [Problem("segment", f"{LABELS['segment']} (segment): {e}")], 422
        )
    except CampaignError as e:
        return await _refused(request, svc, staff, form, [Problem("", str(e))], 422)
    return RedirectResponse(f"/console/campaigns/{quote(record.campaign_id, safe='')}", status_code=303)


async def _refused(
    request: Request, svc: Services, staff: Staff, form: FormData, faults: list[Problem], status_code: int
) -> Response:
    values = Values(form, bad=[f.field for f in faults])
    return await _page(request, svc, staff, values, faults=faults, status_code=status_code)


@router.get("/campaigns/{campaign_id}", response_class=HTMLResponse)
async def campaign(request: Request, campaign_id: str, svc: ServicesDep, staff: Reader, notice: Notice) -> Response:
    campaigns = _offline(svc)
    try:
        record = await campaigns.get(campaign_id)
        results = await campaigns.results(campaign_id)
    except NoCampaign:  # the only refusal of get and results: both read the campaigns table alone
        why = f"No campaign has the id “{campaign_id}”: it was never created (the campaigns page lists them all)."
        return render(request, "refused.html", staff, 404, why=why, back=("/console/campaigns", "All campaigns"))
    lift = {
        "labels": [
            f"{c.metric} ({c.period.replace('_', ' ')})" for c in results.comparisons if c.treated.rate is not None
        ],
        "treated": [_pct(c.treated.rate) for c in results.comparisons if c.treated.rate is not None],
        "holdout": [_pct(c.holdout.rate) for c in results.comparisons if c.treated.rate is not None],
    }
    return render(
        request,
        "campaign.html",
        staff,
        c=record,
        p=record.progress,
        terms=terms(record.definition),
        results=results,
        lift=lift,
        notice=notice,
        currency=svc.program.currency,  # amounts (revenue per member) in the program's currency, as elsewhere
    )


@router.get("/campaigns/{campaign_id}/progress", response_class=HTMLResponse)
async def progress(
    request: Request, campaign_id: str, svc: ServicesDep, staff: Reader, shown: str | None = None
) -> Response:
    """The run's progress and the actions its state allows, live from the campaign workflow (htmx polls
    it every second). Once the run is over the page reloads (results) and polling stops."""
    try:
        record = await _offline(svc).get(campaign_id)
        current = record.progress
        if record.state not in FINAL_STATES and (record.progress is not None or record.state != "draft"):
            current = await (await _online(svc)).status(campaign_id)
    except (CampaignError, JourneyError) as e:
        return HTMLResponse(f'<p class="neg">Progress unavailable: {escape(str(e))}</p>')
    response = render(request, "campaign_progress.html", staff, c=record, p=current)
    state = current.state if current is not None else record.state
    if state in FINAL_STATES:
        if shown not in FINAL_STATES:
            # the run is over: the page shows its results (without the notice of the last action)
            response.headers["HX-Redirect"] = f"/console/campaigns/{quote(campaign_id, safe='')}"
        else:
            response.status_code = 286  # htmx: stop polling
    return response


@router.post("/campaigns/{campaign_id}/{action}")
async def control(request: Request, campaign_id: str, action: str, svc: ServicesDep, staff: Marketer) -> Response:
    await checked_form(request, staff)
    if action not in CONTROLS:
        return render(request, "refused.html", staff, 404, why=f"No action {action!r}.")
    try:
        campaigns = await _online(svc)
        if action == "start":
            result = await campaigns.start(campaign_id, staff.actor)
        else:
            result = await getattr(campaigns, action)(campaign_id)
        notice = f"{action.capitalize()}: the campaign is {result.state}."
    except (CampaignError, JourneyError) as e:
        notice = f"Not done ({action}): {e}"
    return notice_redirect(svc.settings, f"/console/campaigns/{quote(campaign_id, safe='')}", notice)


def _back(svc: Services, notice: str) -> Response:
    return notice_redirect(svc.settings, "/console/campaigns", notice)


def _pct(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 2)
