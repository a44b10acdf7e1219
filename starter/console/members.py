"""Members: find one by customer id or email, and the page that answers "why this balance".

A member's personal data (address, name, zone, country, their own words) is shown to the roles the API
shows it to (support, admin) and hidden from the others, who find members by customer id only
(`personal.py`).

Everything a member page shows comes from the journey (balance, tier and why, lots, the timeline,
what happens next, rejected events: Temporal queries) and from the database (the ledger with
reason, reference and actor, the emails recorded). Changes (adjust points, set a minimum tier) are
workflow updates carrying the signed-in staff member as actor, so the ledger and the timeline
record who did it.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from datetime import UTC, date, datetime
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from domain.journey import workflow_id
from domain.messages import AdjustRequest, MinimumTierRequest
from starter.api.dependencies import ServicesDep
from starter.api.services import Services
from starter.client import JourneyError, JourneyRefused, NoJourney
from starter.client.tier_bounds import END_OF_DAY, until_problem, until_range
from starter.ingress import CustomerId
from starter.personal_view import PersonalView, known_by, member_view
from starter.validation_words import in_words
from storage.console_reads import contact_of, emails_of, find_members, ledger_newest
from storage.quarantine_reads import quarantined

from .notices import Notice, notice_redirect
from .personal import HIDDEN, contact_for, shows_personal_data
from .session import Staff
from .web import allowed, checked_form, render

router = APIRouter(prefix="/console/members", include_in_schema=False)
Reader = Annotated[Staff, allowed("members")]
Changer = Annotated[Staff, allowed("member_actions")]
LEDGER_PAGE = 20
MAX_SEARCH = 200  # the longest customer id; an email address is looked up by its start
SHOWN = 20  # matches listed; more: the page says to type more
TIMELINE = 200  # timeline lines shown (a journey keeps its latest 300); a full box says where the rest is


@router.get("", response_class=HTMLResponse)
async def search(request: Request, svc: ServicesDep, staff: Reader, q: str = "") -> Response:
    template = "members_results.html" if request.headers.get("HX-Request") else "members.html"
    personal = shows_personal_data(staff)
    if len(q) > MAX_SEARCH:  # no id or address is this long: said on the search page, nothing looked up
        problem = (
            f"Search: type at most {MAX_SEARCH} characters (a customer id, an email or the start of one), "
            f"not {len(q):,}."
        )
        return render(
            request, template, staff, 422, q=q[:MAX_SEARCH], found=[], problem=problem, personal=personal, hidden=HIDDEN
        )
    found = await asyncio.to_thread(find_members, svc.engine, q, SHOWN + 1, by_contact=personal) if q.strip() else []
    more = len(found) > SHOWN
    if len(found) == 1 and q.strip() and request.headers.get("HX-Request") is None:
        return RedirectResponse(f"/console/members/{quote(found[0]['customer_id'], safe='')}", status_code=303)
    return render(request, template, staff, q=q, found=found[:SHOWN], more=more, personal=personal, hidden=HIDDEN)


@router.get("/{customer_id}", response_class=HTMLResponse)
async def member(
    request: Request, customer_id: CustomerId, svc: ServicesDep, staff: Reader, notice: Notice
) -> Response:
    try:
        tenure = await svc.tenure()
        summary, timeline, upcoming = await asyncio.gather(
            tenure.summary(customer_id), tenure.timeline(customer_id, TIMELINE), tenure.upcoming(customer_id)
        )
    except NoJourney:
        by = "by email, or " if shows_personal_data(staff) else ""
        why = f"No member has the id “{customer_id}” (no journey by that id). Search {by}by the start of the id."
        return render(request, "refused.html", staff, 404, why=why, back=("/console/members", "Find a member"))
    except JourneyError as e:
        return render(request, "refused.html", staff, 503, why=f"The journey cannot answer now: {e}")
    total, entries = await asyncio.to_thread(ledger_newest, svc.engine, customer_id, 0, LEDGER_PAGE)
    mail = await asyncio.to_thread(emails_of, svc.engine, customer_id)
    contact = await asyncio.to_thread(contact_of, svc.engine, customer_id)
    set_aside = await asyncio.to_thread(quarantined, svc.engine, customer_id, 20)
    mask = PersonalView(staff.role, known_by(contact))
    lines = mask.items(timeline.items, "text")
    held = ("deferred", "suppressed", "dropped")  # the policy's decisions; sent mail is in the emails table
    decisions = [i for i in lines if i.kind == "email" and any(w in i.text for w in held)]
    program = svc.program
    ui = svc.settings.temporal_ui_url.rstrip("/")
    return render(
        request,
        "member.html",
        staff,
        s=mask.summary(summary),
        timeline=lines,
        timeline_limit=TIMELINE,
        upcoming=mask.items(upcoming.items, "what"),
        ledger_total=total,
        entries=mask.entries(entries),
        ledger_offset=0,
        page_size=LEDGER_PAGE,
        emails=mask.rows(mail, "detail"),
        contact=contact_for(staff, contact),
        hidden=HIDDEN,
        email_decisions=decisions,
        set_aside=set_aside,
        tiers=[t.name for t in program.tiers.levels],
        currency=program.currency,
        per_unit=program.redemption.points_per_currency_unit,
        temporal_link=f"{ui}/namespaces/{quote(svc.settings.temporal_namespace)}/workflows/"
        f"{quote(workflow_id(customer_id), safe='')}",
        request_id=f"console-{secrets.token_hex(8)}",
        notice=notice,
        until_range=until_range(datetime.now(UTC)),
    )


@router.get("/{customer_id}/ledger", response_class=HTMLResponse)
async def ledger(
    request: Request,
    customer_id: CustomerId,
    svc: ServicesDep,
    staff: Reader,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> Response:
    """One page of the ledger (htmx swaps it into the member page)."""
    total, entries = await asyncio.to_thread(ledger_newest, svc.engine, customer_id, offset, LEDGER_PAGE)
    mask = await member_view(svc.engine, staff.role, customer_id)
    return render(
        request,
        "ledger_page.html",
        staff,
        customer_id=customer_id,
        ledger_total=total,
        entries=mask.entries(entries),
        ledger_offset=offset,
        page_size=LEDGER_PAGE,
    )


@router.post("/{customer_id}/adjust")
async def adjust(request: Request, customer_id: CustomerId, svc: ServicesDep, staff: Changer) -> Response:
    form = await checked_form(request, staff)
    typed = str(form.get("points") or "").replace(",", "").strip()
    if not re.fullmatch(r"[-+−]?[0-9]+", typed):  # the form's number field lets "1e3" and "1.5" through
        given = f", not {typed!r}" if typed else ""
        return _back(
            svc, customer_id, f"Not adjusted: points: give a whole number, 250 to add or -250 to remove{given}"
        )
    try:
        req = AdjustRequest(
            request_id=str(form.get("request_id") or ""),
            points=int(typed.replace("−", "-")),
            reason=str(form.get("reason") or "").strip(),
            actor=staff.actor,
        )
    except (ValidationError, ValueError) as e:
        return _back(svc, customer_id, f"Not adjusted: {_why(e)}")
    try:
        result = await (await svc.tenure()).adjust(customer_id, req)
    except JourneyRefused as e:
        return _back(svc, customer_id, f"Not adjusted: {e.message}")
    except JourneyError as e:
        return _back(svc, customer_id, f"Not adjusted: {e}")
    return _back(svc, customer_id, f"Adjusted by {result.points:+,} points; balance now {result.balance_after:,}.")


@router.post("/{customer_id}/minimum-tier")
async def minimum_tier(request: Request, customer_id: CustomerId, svc: ServicesDep, staff: Changer) -> Response:
    form = await checked_form(request, staff)
    typed = str(form.get("until") or "").strip()
    try:
        until_day = date.fromisoformat(typed)
    except ValueError:
        given = f", not {typed!r}" if typed else ""
        return _back(svc, customer_id, f"Tier not set: until: give the last day as YYYY-MM-DD{given}")
    until = datetime.combine(until_day, END_OF_DAY, tzinfo=UTC)
    problem = until_problem(until, datetime.now(UTC))
    if problem is not None:
        return _back(svc, customer_id, f"Tier not set: {problem}")
    try:
        req = MinimumTierRequest(
            request_id=str(form.get("request_id") or ""),
            tier=str(form.get("tier") or ""),
            reason=str(form.get("reason") or "").strip(),
            actor=staff.actor,
            until=until,
        )
    except (ValidationError, ValueError) as e:
        return _back(svc, customer_id, f"Tier not set: {_why(e)}")
    try:
        await (await svc.tenure()).set_minimum_tier(customer_id, req)
    except JourneyRefused as e:
        return _back(svc, customer_id, f"Tier not set: {e.message}")
    except JourneyError as e:
        return _back(svc, customer_id, f"Tier not set: {e}")
    return _back(svc, customer_id, f"{req.tier} is the minimum tier until {until_day.isoformat()}.")


def _back(svc: Services, customer_id: str, notice: str) -> Response:
    return notice_redirect(svc.settings, f"/console/members/{quote(customer_id, safe='')}", notice, "#actions")


def _why(e: Exception) -> str:
    if isinstance(e, ValidationError):
        return in_words(e)
    if "isoformat" in str(e) or "Invalid isoformat" in str(e):
        return "give the date as YYYY-MM-DD"
    return str(e) or type(e).__name__
