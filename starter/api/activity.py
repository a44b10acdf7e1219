"""What members do in the app (`POST /events`): one event or a batch, validated whole before any is sent."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator

from domain.messages import ActivityKind, ActivityReported, Id, Text
from starter.ingress import CustomerId, Delivery, parse_json, validate
from starter.ingress.bounds import RecentTime

from .dependencies import AppCaller, ServicesDep
from .errors import ApiError, answers
from .openapi import json_body

router = APIRouter(tags=["activity"], responses=answers(400, 401, 403, 413, 422, 503))

MAX_BATCH = 500


class ActivityIn(BaseModel):
    """One thing a member did in the app."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={  # what the score validator below says, for the OpenAPI document
            "if": {"properties": {"kind": {"not": {"const": "survey_answered"}}}, "required": ["kind"]},
            "then": {"properties": {"score": {"type": "null"}}},
        },
    )

    event_id: Id = Field(description="The app's unique id for this event (deduplication).")
    customer_id: CustomerId
    kind: ActivityKind
    detail: Text | None = Field(None, examples=["exported a report"])
    score: int | None = Field(
        None, ge=1, le=5, description="survey_answered only: the answer's satisfaction score, 1-5."
    )
    occurred_at: RecentTime | None = Field(
        None, description="When it happened (ISO 8601 with a zone); default: when the journey got it."
    )

    @model_validator(mode="after")
    def _score_for_surveys(self) -> ActivityIn:
        if self.score is not None and self.kind != "survey_answered":
            raise ValueError("score: only a survey_answered event carries a score")
        return self


class ActivityBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    events: list[ActivityIn] = Field(min_length=1, max_length=MAX_BATCH)


ActivityReport = ActivityIn | ActivityBatch


class Accepted(BaseModel):
    accepted: int = Field(description="Events Temporal has accepted (duplicates included: the journey ignores them).")


@router.post("/events", response_model=Accepted, status_code=202, openapi_extra=json_body("ActivityReport"))
async def report_activity(request: Request, svc: ServicesDep, _caller: AppCaller) -> Accepted:
    """What members did in the app: one event, or `{"events": [...]}` (up to 500). All are validated
    before any is sent; the answer comes once Temporal has accepted every one."""
    data = parse_json(await request.body())
    if isinstance(data, dict) and "events" in data:
        events = validate(ActivityBatch, data, "activity batch").events
    elif isinstance(data, list):
        raise ApiError(422, 'invalid activity batch: a batch is {"events": [...]}, not a bare list')
    else:
        events = [validate(ActivityIn, data, "activity event")]
    deliveries = [
        Delivery(
            e.customer_id,
            ActivityReported(
                event_id=e.event_id, kind=e.kind, detail=e.detail, score=e.score, occurred_at=e.occurred_at
            ),
            "app",
        )
        for e in events
    ]
    await svc.deliver(deliveries)
    return Accepted(accepted=len(deliveries))
