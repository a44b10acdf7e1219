"""`GET /program/metrics`: the program's health as numbers, trends and progress against its goals, the same
figures the console's Metrics page and `tenure metrics` show (storage/metrics.py)."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from domain.metrics import MetricsReport
from storage.metrics import WEEKS, measure

from .dependencies import ServicesDep, require_role
from .errors import answers
from .roles import ApiKey

router = APIRouter(tags=["metrics"])
MetricsReader = Annotated[ApiKey, Depends(require_role("marketer", "viewer"))]


@router.get("/program/metrics", response_model=MetricsReport, responses=answers(401, 403, 422))
async def metrics(
    svc: ServicesDep, _caller: MetricsReader, weeks: Annotated[int, Query(ge=1, le=104)] = WEEKS
) -> MetricsReport:
    """Participation, active members, churn and retention, win-back, referrals, redemption, the points
    liability and what expires soon, satisfaction, each with its definition; weekly trends; the goals."""
    return await asyncio.to_thread(measure, svc.engine, svc.program, None, weeks)
