"""Journeys needing attention: stuck journeys and events or ledger entries set aside (starter/doctor.py).

Examining every running journey takes a while on a large installation, so the page loads at once
and htmx fetches the findings into it. A role not shown personal data reads the reasons with the
member's address and name masked (`personal.py`)."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from starter.api.dependencies import ServicesDep
from starter.client import JourneyError
from starter.doctor import Diagnosis, diagnose
from starter.personal_view import PersonalView
from storage.console_reads import contacts_of

from .personal import shows_personal_data
from .session import Staff
from .web import allowed, render

router = APIRouter(prefix="/console/attention", include_in_schema=False)
Reader = Annotated[Staff, allowed("attention")]


@router.get("", response_class=HTMLResponse)
async def page(request: Request, staff: Reader) -> Response:
    return render(request, "attention.html", staff)


@router.get("/findings", response_class=HTMLResponse)
async def findings(request: Request, svc: ServicesDep, staff: Reader) -> Response:
    try:
        found = await diagnose(await svc.tenure(), svc.engine)
        error = None
    except JourneyError as e:
        found, error = [], f"Temporal cannot be asked now: {e}"
    if found and not shows_personal_data(staff):
        known = await asyncio.to_thread(contacts_of, svc.engine, [d.customer_id for d in found])
        found = [_masked(d, PersonalView(staff.role, known.get(d.customer_id, []))) for d in found]
    return render(request, "attention_findings.html", staff, found=found, error=error)


def _masked(d: Diagnosis, mask: PersonalView) -> Diagnosis:
    return dataclasses.replace(d, stuck=[mask(r) or "" for r in d.stuck], latest_reason=mask(d.latest_reason) or "")
