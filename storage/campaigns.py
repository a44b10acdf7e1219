"""Campaign records: definitions and their state (`campaigns`), and whom each run reached (`campaign_members`).

The campaign workflow's activities write both; the API and the CLI read them. A member is recorded
once per run (UNIQUE (campaign_id, customer_id)): a retried page inserts nothing twice, and its
counts are read back from the rows, so they count once too.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.engine import Engine

from domain.campaigns import CampaignDefinition, CampaignState, Counts, Progress

from .schema import campaign_members, campaigns, customers, utcnow
from .statements import insert_if_absent


class CampaignExists(ValueError):
    """A campaign with this id is already defined (ids are never reused: journeys are keyed by them)."""


class CampaignRecord(BaseModel):
    campaign_id: str
    name: str
    kind: str
    state: CampaignState
    definition: CampaignDefinition
    progress: Progress | None = None
    stopped_because: str | None = None
    created_by: str
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None


class MemberRow(BaseModel):
    """One member of one run, as recorded."""

    campaign_id: str
    customer_id: str
    group: str
    outcome: str
    reason: str | None = None
    points_granted: int = 0
    points_committed: int = 0
    email: str | None = None
    status_at_start: str | None = None
    spend_at_start_minor: int | None = None
    at: datetime


def save_campaign(engine: Engine, definition: CampaignDefinition, actor: str) -> CampaignRecord:
    """Record a new campaign as a draft; `CampaignExists` when the id is taken."""
    now = utcnow()
    row = {
        "campaign_id": definition.id,
        "name": definition.name,
        "kind": definition.kind,
        "definition": definition.model_dump(mode="json", exclude_none=True),
        "state": "draft",
        "created_by": actor,
        "created_at": now,
        "updated_at": now,
    }
    with engine.begin() as conn:
        inserted = conn.execute(insert_if_absent(engine, campaigns).values(row).returning(campaigns.c.campaign_id))
        if inserted.first() is None:
            raise CampaignExists(f"campaign {definition.id!r} already exists")
    found = get_campaign(engine, definition.id)
    assert found is not None
    return found


def _record(row: Any) -> CampaignRecord:
    m = dict(row._mapping)
    return CampaignRecord(
        campaign_id=m["campaign_id"],
        name=m["name"],
        kind=m["kind"],
        state=m["state"],
        definition=CampaignDefinition.model_validate(m["definition"]),
        progress=Progress.model_validate(m["progress"]) if m["progress"] else None,
        stopped_because=m["stopped_because"],
        created_by=m["created_by"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        started_at=m["started_at"],
        finished_at=m["finished_at"],
    )


def get_campaign(engine: Engine, campaign_id: str) -> CampaignRecord | None:
    with engine.connect() as conn:
        row = conn.execute(sa.select(campaigns).where(campaigns.c.campaign_id == campaign_id)).first()
    return _record(row) if row is not None else None


def list_campaigns(engine: Engine, limit: int = 200) -> list[CampaignRecord]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(campaigns).order_by(campaigns.c.created_at.desc()).limit(limit)).all()
    return [_record(r) for r in rows]


def set_state(
    engine: Engine,
    campaign_id: str,
    state: CampaignState,
    progress: Progress | None = None,
    stopped_because: str | None = None,
    only_from: tuple[str, ...] | None = None,
) -> None:
    """Record where a campaign stands (and its progress). Idempotent: a retry writes the same values.
    `only_from`: change nothing unless the campaign is in one of these states (the workflow may be ahead)."""
    now = utcnow()
    values: dict[str, Any] = {"state": state, "updated_at": now}
    if progress is not None:
        values["progress"] = progress.model_dump(mode="json")
        if progress.started_at is not None:
            values["started_at"] = progress.started_at
        if progress.finished_at is not None:
            values["finished_at"] = progress.finished_at
    if stopped_because is not None:
        values["stopped_because"] = stopped_because
    with engine.begin() as conn:
        stmt = sa.update(campaigns).where(campaigns.c.campaign_id == campaign_id)
        if only_from is not None:
            stmt = stmt.where(campaigns.c.state.in_(only_from))
        conn.execute(stmt.values(values))


def recorded_members(engine: Engine, run_id: str, customer_ids: Iterable[str]) -> set[str]:
    """Which of these members the run has already recorded (reached or held out)."""
    ids = list(customer_ids)
    if not ids:
        return set()
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(campaign_members.c.customer_id).where(
                campaign_members.c.campaign_id == run_id, campaign_members.c.customer_id.in_(ids)
            )
        )
        return {r[0] for r in rows}


def member_facts(engine: Engine, customer_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """What results need of a member at the moment it is reached: status, lifetime spend, signup time."""
    ids = list(customer_ids)
    if not ids:
        return {}
    columns = [customers.c.customer_id, customers.c.status]
    for name in ("lifetime_spend_minor", "signed_up_at"):
        if name in customers.c:
            columns.append(customers.c[name])
    with engine.connect() as conn:
        rows = conn.execute(sa.select(*columns).where(customers.c.customer_id.in_(ids)))
        return {r.customer_id: dict(r._mapping) for r in rows}


def record_members(engine: Engine, rows: list[MemberRow]) -> int:
    """Insert the rows not recorded yet; how many were new."""
    if not rows:
        return 0
    stmt = insert_if_absent(engine, campaign_members, "campaign_id", "customer_id")
    with engine.begin() as conn:
        result = conn.execute(stmt, [r.model_dump() for r in rows])
        return result.rowcount or 0


def counts_between(
    engine: Engine, run_id: str, after: str | None, last: str | None, since: datetime | None = None
) -> Counts:
    """The counts of the run's members with after < customer_id <= last (a page), or all of them;
    only those recorded at or after `since` when given (this pass of a local-time campaign)."""
    cm = campaign_members
    q = (
        sa.select(
            cm.c.group,
            cm.c.outcome,
            cm.c.reason,
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(cm.c.points_granted), 0),
            sa.func.coalesce(sa.func.sum(cm.c.points_committed), 0),
        )
        .where(cm.c.campaign_id == run_id)
        .group_by(cm.c.group, cm.c.outcome, cm.c.reason)
    )
    if after is not None:
        q = q.where(cm.c.customer_id > after)
    if last is not None:
        q = q.where(cm.c.customer_id <= last)
    if since is not None:
        q = q.where(cm.c.at >= since)
    counts = Counts()
    skipped: dict[str, int] = {}
    with engine.connect() as conn:
        for group, outcome, reason, n, granted, committed in conn.execute(q):
            counts.targeted += n
            counts.points_granted += int(granted)
            counts.points_committed += int(committed)
            if group == "holdout":
                counts.held_out += n
            elif outcome == "applied":
                counts.applied += n
            elif outcome == "failed":
                counts.failed += n
            else:
                skipped[reason or "unknown"] = skipped.get(reason or "unknown", 0) + n
    counts.skipped = skipped
    return counts


def member_rows(engine: Engine, run_id: str, limit: int = 100_000) -> list[MemberRow]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(campaign_members)
            .where(campaign_members.c.campaign_id == run_id)
            .order_by(campaign_members.c.customer_id)
            .limit(limit)
        )
        return [MemberRow.model_validate({k: v for k, v in r._mapping.items() if k != "id"}) for r in rows]


def campaigns_of_member(engine: Engine, customer_id: str) -> list[MemberRow]:
    """Every campaign run that reached or held out this member (personal-data export)."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(campaign_members)
            .where(campaign_members.c.customer_id == customer_id)
            .order_by(campaign_members.c.at)
        )
        return [MemberRow.model_validate({k: v for k, v in r._mapping.items() if k != "id"}) for r in rows]
