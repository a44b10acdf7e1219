"""`GET /healthz` for load balancers: 200 when Temporal answers, 503 otherwise."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from starter.client import JourneyError

from .dependencies import ServicesDep
from .errors import from_journey_error

router = APIRouter(tags=["ops"])


@router.get("/healthz", response_model=None)
async def health(svc: ServicesDep) -> JSONResponse | dict[str, str]:
    """200 when Temporal answers, 503 otherwise."""
    try:
        tenure = await svc.tenure()
        await tenure.check_health()
    except JourneyError as e:
        error = from_journey_error(e)
        return JSONResponse({"status": "degraded", "temporal": error.error, "detail": error.detail}, status_code=503)
    return {
        "status": "ok",
        "temporal": "reachable",
        "task_queue": svc.settings.task_queue,
        "program": svc.program.version,
    }
