"""Metrics: the program's health as numbers with their definitions, weekly trends as charts
(Chart.js, vendored), and progress against the program's goals. The same report as `GET /metrics`
and `tenure metrics` (storage/metrics.py)."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from domain.metrics import shown
from starter.api.dependencies import ServicesDep
from storage.metrics import measure

from .session import Staff
from .web import allowed, render

router = APIRouter(prefix="/console/metrics", include_in_schema=False)
Reader = Annotated[Staff, allowed("metrics")]


@router.get("", response_class=HTMLResponse)
async def page(request: Request, svc: ServicesDep, staff: Reader) -> Response:
    report = await asyncio.to_thread(measure, svc.engine, svc.program)
    trend = {
        "weeks": [f"{w.starts:%b %d}" for w in report.weeks],  # the week's Monday, e.g. "Nov 30"
        "participation": [_pct(w.participation_rate) for w in report.weeks],
        "churn": [_pct(w.churn_rate) for w in report.weeks],
        "active": [w.weekly_active for w in report.weeks],
        "referrals": [w.referrals for w in report.weeks],
        "redemption": [_pct(w.redemption_rate) for w in report.weeks],
        "satisfaction": [w.satisfaction for w in report.weeks],
    }
    figures = [(m, shown(m, report.currency)) for m in report.metrics]
    return render(request, "metrics.html", staff, report=report, figures=figures, trend=trend)


def _pct(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 2)
