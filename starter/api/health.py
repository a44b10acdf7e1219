"""`GET /healthz` for load balancers: 200 when Temporal answers for Tenure's namespace, 503 (with Retry-After)
otherwise (Temporal unreachable, or the namespace missing: every webhook would answer 503 then too)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from starter.client import JourneyError

from .dependencies import ServicesDep
from .errors import RETRY_AFTER_HEADER, RETRY_SOON, from_journey_error

router = APIRouter(tags=["ops"])


class Healthy(BaseModel):
    status: Literal["ok"] = "ok"
    temporal: Literal["reachable"] = "reachable"
    task_queue: str
    program: str


class Degraded(BaseModel):
    status: Literal["degraded"] = "degraded"
    temporal: str
    detail: Any = None


@router.get(
    "/healthz",
    response_model=Healthy,
    responses={
        503: {
            "model": Degraded,
            "description": "Temporal does not answer, or not for Tenure's namespace: retry later",
            "headers": RETRY_AFTER_HEADER,
        }
    },
)
async def health(svc: ServicesDep) -> Healthy | JSONResponse:
    """200 when Temporal answers for Tenure's namespace (TENURE_TEMPORAL_NAMESPACE), 503 otherwise."""
    try:
        tenure = await svc.tenure()
        await tenure.check_health()
    except JourneyError as e:
        error = from_journey_error(e)
        return JSONResponse(
            Degraded(temporal=error.error, detail=error.detail).model_dump(),
            status_code=503,
            headers={**RETRY_SOON, **error.headers},
        )
    return Healthy(task_queue=svc.settings.task_queue, program=svc.program.version)
