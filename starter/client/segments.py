"""`SegmentClient`: segments from Python, with the same operations and errors as the API and the CLI.

Segments live in the SQL database (storage/segments.py), not in Temporal, so this client takes an
engine rather than a Temporal connection. Its calls are blocking (SQL): from async code, run them
in a thread (`asyncio.to_thread`), as the API does.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import Field, TypeAdapter

from domain.segments import (
    FilterFault,
    Segment,
    SegmentFilter,
    SegmentPreview,
    check_shape,
    segment_id_for,
    value_faults,
)
from starter.reference_lists import iana_zones, iso_countries
from storage.segments import SegmentNameTaken, get_segment, list_segments, preview, save_segment

FILTER: TypeAdapter[Any] = TypeAdapter(SegmentFilter)


class NoSegment(LookupError):
    def __init__(self, segment_id: str) -> None:
        super().__init__(f"no segment {segment_id!r}")
        self.segment_id = segment_id


class SegmentTaken(ValueError):
    """A segment with this id, or this name, exists already (`field` says which)."""

    def __init__(self, field: Literal["segment_id", "name"], value: str) -> None:
        what = "id" if field == "segment_id" else "name"
        super().__init__(f"a segment with {what} {value!r} exists already")
        self.field = field
        self.value = value


class NoSegmentId(ValueError):
    """No id was given and the name has no letters or digits to make one from."""


class UnknownFilterValue(ValueError):
    """The filter compares a field with a value it cannot have: a tier not among the program in force's
    tiers, a time zone the IANA database does not name, a country ISO 3166-1 does not (in capitals, as
    the projection keeps it); `faults` say where in the filter (pydantic's path) and what."""

    def __init__(self, faults: list[FilterFault]) -> None:
        super().__init__("; ".join(f.message for f in faults))
        self.faults = faults


def filter_value_faults(f: SegmentFilter, tiers: Sequence[str] | None) -> list[FilterFault]:
    """The filter's tiers not in `tiers` (None: not checked), its zones and countries that are none.

    The lists are read here, not in domain/: the zone names are the zone database's (`zoneinfo`), the
    country codes pycountry's, as the edge checks an event's country (starter/ingress/bounds.py)."""
    return value_faults(f, tiers=tiers, zones=iana_zones(), countries=iso_countries())


def check_filter_values(f: SegmentFilter, tiers: Sequence[str] | None) -> None:
    """`UnknownFilterValue` when `filter_value_faults` finds any."""
    faults = filter_value_faults(f, tiers)
    if faults:
        raise UnknownFilterValue(faults)


class SegmentWithCount(Segment):
    count: int = Field(description="Members in the segment now.")


class SegmentClient:
    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def create(
        self,
        name: str,
        filter: SegmentFilter | dict,
        actor: str,
        segment_id: str | None = None,
        tiers: Sequence[str] | None = None,
    ) -> Segment:
        """Save a new segment (its id made from the name when none is given); never replaces one.

        `tiers`: the names of the program in force's tiers; a filter naming another tier is
        `UnknownFilterValue` (None: tiers not checked, for a tool that has no program), and so is one
        naming a time zone or a country that is none."""
        f = FILTER.validate_python(filter) if isinstance(filter, dict) else filter
        check_shape(f)
        check_filter_values(f, tiers)
        try:
            new_id = segment_id or segment_id_for(name)
        except ValueError as e:
            raise NoSegmentId(str(e)) from None
        segment = Segment(
            segment_id=new_id,
            name=name,
            filter=f,
            created_at=datetime.now(UTC),
            created_by=actor,
        )
        if get_segment(self.engine, segment.segment_id) is not None:
            raise SegmentTaken("segment_id", segment.segment_id)
        try:
            save_segment(self.engine, segment)
        except SegmentNameTaken:
            raise SegmentTaken("name", segment.name) from None
        return segment

    def list(self) -> list[Segment]:
        return list_segments(self.engine)

    def get(self, segment_id: str) -> Segment:
        found = get_segment(self.engine, segment_id)
        if found is None:
            raise NoSegment(segment_id)
        return found

    def show(self, segment_id: str) -> SegmentWithCount:
        """A saved segment and how many members it holds now."""
        found = self.get(segment_id)
        return SegmentWithCount(**found.model_dump(), count=preview(self.engine, found.filter, 0).count)

    def preview(
        self, segment: str | SegmentFilter, sample: int = 10, tiers: Sequence[str] | None = None
    ) -> SegmentPreview:
        """The count and first members of a saved segment (by id: read as saved) or of a filter, which
        is refused as `create` refuses it (`UnknownFilterValue`), `tiers` as there."""
        if isinstance(segment, str):
            return preview(self.engine, self.get(segment).filter, sample)
        check_filter_values(segment, tiers)
        return preview(self.engine, segment, sample)
