"""Segments for marketers: save a named filter, list and show them, preview who is in one.

Segments are read from the customers projection the journeys keep current (storage/segments.py);
nothing here reaches Temporal. A filter that is wrong is 422 with the field named in `detail`.
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field, model_validator

from domain.messages import line
from domain.segments import Segment, SegmentFilter, SegmentPreview, check_shape
from storage.segments import MAX_SAMPLE, SegmentNameTaken, get_segment, list_segments, preview, save_segment

from .dependencies import ServicesDep, require_role
from .errors import ApiError, answers
from .roles import ApiKey

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

    def id(self) -> str:
        if self.segment_id:
            return self.segment_id
        slug = re.sub(r"[^a-z0-9]+", "-", self.name.lower()).strip("-")[:64].strip("-")
        if not slug:
            raise ApiError(422, "give a segment_id: the name has no letters or digits to make one from")
        return slug


class FilterIn(BaseModel):
    """A filter to preview without saving it."""

    model_config = ConfigDict(extra="forbid")

    filter: SegmentFilter

    @model_validator(mode="after")
    def _bounded(self) -> FilterIn:
        check_shape(self.filter)
        return self


class SegmentOut(Segment):
    count: int = Field(description="Members in the segment now.")


@router.post("/segments", status_code=201, response_model=Segment, responses=answers(401, 403, 409, 422))
async def create_segment(body: SegmentIn, svc: ServicesDep, caller: SegmentWriter) -> Segment:
    """Save a named filter; 409 when its id or its name is taken."""
    segment = Segment(
        segment_id=body.id(), name=body.name, filter=body.filter, created_at=datetime.now(UTC), created_by=caller.actor
    )
    if await asyncio.to_thread(get_segment, svc.engine, segment.segment_id) is not None:
        raise ApiError(409, f"a segment with id {segment.segment_id!r} exists already", {"field": "segment_id"})
    try:
        await asyncio.to_thread(save_segment, svc.engine, segment)
    except SegmentNameTaken as e:
        raise ApiError(409, str(e), {"field": "name"}) from None
    return segment


@router.get("/segments", response_model=list[Segment], responses=answers(401, 403))
async def segments(svc: ServicesDep, _caller: SegmentReader) -> list[Segment]:
    """Every saved segment, by name."""
    return await asyncio.to_thread(list_segments, svc.engine)


async def _saved(svc: ServicesDep, segment_id: str) -> Segment:
    found = await asyncio.to_thread(get_segment, svc.engine, segment_id)
    if found is None:
        raise ApiError(404, f"no segment {segment_id!r}")
    return found


@router.get("/segments/{segment_id}", response_model=SegmentOut, responses=answers(401, 403, 404, 422))
async def segment(segment_id: SegmentId, svc: ServicesDep, _caller: SegmentReader) -> SegmentOut:
    """A saved segment and how many members it holds now."""
    found = await _saved(svc, segment_id)
    shown = await asyncio.to_thread(preview, svc.engine, found.filter, 0)
    return SegmentOut(**found.model_dump(), count=shown.count)


@router.post("/segments/{segment_id}/preview", response_model=SegmentPreview, responses=answers(401, 403, 404, 422))
async def preview_segment(
    segment_id: SegmentId, svc: ServicesDep, _caller: SegmentReader, sample: SampleSize = 10
) -> SegmentPreview:
    """How many members a saved segment holds now, and the first of them."""
    found = await _saved(svc, segment_id)
    return await asyncio.to_thread(preview, svc.engine, found.filter, sample)


@router.post("/segments/preview", response_model=SegmentPreview, responses=answers(401, 403, 422))
async def preview_filter(
    body: FilterIn, svc: ServicesDep, _caller: SegmentReader, sample: SampleSize = 10
) -> SegmentPreview:
    """Preview a filter before saving it."""
    return await asyncio.to_thread(preview, svc.engine, body.filter, sample)
