"""Segments for marketers: save a named filter, list and show them, preview who is in one.

Segments are read from the customers projection the journeys keep current (storage/segments.py);
nothing here reaches Temporal. A filter that is wrong is 422 with the field named in `detail`; so is
a new or previewed filter naming a tier the program in force does not have, or a time zone or a
country that is none (a saved segment is read as is). A preview's sample members carry no time zone
or country for a role that does not see personal data (marketer, viewer: `roles.sees_personal_data`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field, model_validator

from domain.messages import line
from domain.segments import Segment, SegmentFilter, SegmentPreview, check_shape
from starter.client.segments import (
    NoSegment,
    NoSegmentId,
    SegmentClient,
    SegmentTaken,
    SegmentWithCount,
    UnknownFilterValue,
)
from starter.personal_view import PersonalView
from storage.segments import MAX_SAMPLE

from .dependencies import ServicesDep, require_role
from .errors import ApiError, answers, field_errors
from .roles import ApiKey

T = TypeVar("T")

router = APIRouter(tags=["segments"])

SegmentWriter = Annotated[ApiKey, Depends(require_role("marketer"))]
SegmentReader = Annotated[ApiKey, Depends(require_role("marketer", "viewer"))]
SegmentId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")]
SampleSize = Annotated[int, Query(ge=0, le=MAX_SAMPLE, description="Members to show (by customer id).")]


class SegmentIn(BaseModel):
    """A new segment. Without `segment_id`, one is made from the name (`Gold at risk` → `gold-at-risk`)."""

    model_config = ConfigDict(extra="forbid")

    segment_id: str | None = Field(None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
    name: Annotated[str, line(200, 1)]
    filter: SegmentFilter

    @model_validator(mode="after")
    def _bounded(self) -> SegmentIn:
        check_shape(self.filter)
        return self


class FilterIn(BaseModel):
    """A filter to preview without saving it."""

    model_config = ConfigDict(extra="forbid")

    filter: SegmentFilter

    @model_validator(mode="after")
    def _bounded(self) -> FilterIn:
        check_shape(self.filter)
        return self


def _client(svc: ServicesDep) -> SegmentClient:
    return SegmentClient(svc.engine)


Segments = Annotated[SegmentClient, Depends(_client)]


async def _call(fn: Callable[..., T], *args: Any) -> T:
    """A SQL call in a thread; the client's errors as answers."""
    try:
        return await asyncio.to_thread(fn, *args)
    except NoSegment as e:
        raise ApiError(404, str(e)) from None
    except SegmentTaken as e:
        raise ApiError(409, str(e), {"field": e.field}) from None
    except NoSegmentId as e:
        raise ApiError(422, str(e), {"field": "segment_id"}) from None
    except UnknownFilterValue as e:
        raise filter_value_error(e) from None


def filter_value_error(e: UnknownFilterValue, prefix: str = "filter") -> ApiError:
    """A value the filter's field cannot have (a tier the program lacks, a zone or a country that is
    none), as the 422 of any other filter fault: each named by its path."""
    errors = field_errors([{"loc": (prefix, *f.loc), "msg": f.message, "type": "value_error"} for f in e.faults])
    return ApiError(422, f"invalid request: {', '.join(dict.fromkeys(x['field'] for x in errors))}", errors)


@router.post("/segments", status_code=201, response_model=Segment, responses=answers(400, 401, 403, 409, 413, 422))
async def create_segment(body: SegmentIn, svc: ServicesDep, segments: Segments, caller: SegmentWriter) -> Segment:
    """Save a named filter; 409 when its id or its name is taken, 422 when it names a tier the program
    in force does not have, or a time zone or a country that is none."""
    tiers = svc.program.tiers.names()
    return await _call(segments.create, body.name, body.filter, caller.actor, body.segment_id, tiers)


@router.get("/segments", response_model=list[Segment], responses=answers(401, 403))
async def all_segments(segments: Segments, _caller: SegmentReader) -> list[Segment]:
    """Every saved segment, by name."""
    return await _call(segments.list)


@router.get("/segments/{segment_id}", response_model=SegmentWithCount, responses=answers(401, 403, 404, 422))
async def segment(segment_id: SegmentId, segments: Segments, _caller: SegmentReader) -> SegmentWithCount:
    """A saved segment and how many members it holds now."""
    return await _call(segments.show, segment_id)


@router.post(
    "/segments/{segment_id}/preview", response_model=SegmentPreview, responses=answers(400, 401, 403, 404, 413, 422)
)
async def preview_segment(
    segment_id: SegmentId, segments: Segments, caller: SegmentReader, sample: SampleSize = 10
) -> SegmentPreview:
    """How many members a saved segment holds now, and the first of them (zone and country for admin only)."""
    return PersonalView(caller.role).sample(await _call(segments.preview, segment_id, sample))


@router.post("/segments/preview", response_model=SegmentPreview, responses=answers(400, 401, 403, 413, 422))
async def preview_filter(
    body: FilterIn, svc: ServicesDep, segments: Segments, caller: SegmentReader, sample: SampleSize = 10
) -> SegmentPreview:
    """Preview a filter before saving it; 422 as `POST /segments` for a value it would refuse."""
    previewed = await _call(segments.preview, body.filter, sample, svc.program.tiers.names())
    return PersonalView(caller.role).sample(previewed)
