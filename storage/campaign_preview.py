"""A dry run of a whole campaign from the projection: whom it would reach, hold out or skip, and why.

Nothing is sent. Skips are predicted from what the projection shows (inactive members, unreachable
addresses, the budget); the journey has the last word on quiet hours and the weekly cap.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine

from domain.campaigns import BUDGET_SPENT, CampaignDefinition, Preview, grants_points, max_points_for, predicted_outcome
from domain.holdout import in_holdout
from domain.segments import SegmentFilter

from . import segments as segment_store

PAGE = 1000
SAMPLE = 10


def preview_campaign(engine: Engine, definition: CampaignDefinition, segment_filter: SegmentFilter) -> Preview:
    """Walk the whole segment as the campaign would, granting nothing."""
    reached = held_out = max_points = size = 0
    skipped: dict[str, int] = {}
    sample: list[str] = []
    left = definition.budget.total_points
    after: str | None = None
    while True:
        page = segment_store.member_page(engine, segment_filter, after, PAGE)
        for m in page:
            size += 1
            if in_holdout(definition.id, m.customer_id, definition.holdout_percent):
                held_out += 1
                continue
            cap = max_points_for(definition, left) if grants_points(definition) else None
            outcome, reason, points = predicted_outcome(definition, m, cap)
            if outcome == "applied":
                reached += 1
                max_points += points
                if left is not None:
                    left -= points
                if len(sample) < SAMPLE:
                    sample.append(m.customer_id)
            else:
                key = reason or BUDGET_SPENT
                skipped[key] = skipped.get(key, 0) + 1
        if len(page) < PAGE:
            break
        after = page[-1].customer_id
    return Preview(
        campaign_id=definition.id,
        segment_size=size,
        reached=reached,
        held_out=held_out,
        skipped=skipped,
        max_points=max_points,
        sample=sample,
    )
