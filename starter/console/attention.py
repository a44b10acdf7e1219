"""Journeys needing attention: stuck journeys and events or ledger entries set aside (starter/doctor.py).

Examining every running journey takes a while on a large installation, so the page loads at once
and htmx fetches the findings into it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from starter.api.dependencies import ServicesDep
from starter.client import JourneyError
from starter.doctor import diagnose

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
    return render(request, "attention_findings.html", staff, found=found, error=error)
