"""What the SQL database holds about one member, for an export, and the scrub of an erasure.

Plain blocking functions (call them through `asyncio.to_thread`); starter/personal_data.py puts
them together with the journey's side.

Personal data in SQL, by table (an erasure's scrub, `scrub_member`):
- `customers`: email, name, time zone, country → NULL, NULL, UTC, NULL (the row stays: segments count it);
- `emails`: the address, the message as built (it names the member in its template data) and the
  delivery detail (a provider's error may quote the address) → NULL; purpose, template, status and
  time stay (they are what was sent when, to nobody anymore);
- `quarantine`: the payload of an event set aside, and its reason (a validation error quotes the
  input) → "" and a fixed text;
- `ledger_entries`: the free-text reason → NULL; amounts, points, dates, keys, kinds and the staff
  actor stay, so the books still balance;
- `billing_credits`, `billing_discounts`, `campaign_members`, `personal_data_requests`: no personal
  data (amounts, codes, ids): kept.

An UPDATE leaves the old values behind the new ones until the space is reused. On SQLite (`make run`'s
ledger) the scrub zeroes the space it frees (`PRAGMA secure_delete`, whatever the build's default) and
then checkpoints the write-ahead log, which otherwise holds the pages as they were (the address and the
name in plain text) until SQLite checkpoints on its own, after a thousand more pages. PostgreSQL keeps
old row versions until vacuum reclaims them (README, Export and erasure).
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from .schema import (
    billing_credits,
    billing_discounts,
    campaign_members,
    customers,
    emails,
    ledger_entries,
    personal_data_requests,
    quarantine,
    utcnow,
)

log = logging.getLogger("tenure.personal_data")

SCRUBBED_REASON = "[erased]"


def member_records(engine: Engine, customer_id: str) -> dict[str, Any]:
    """Every row about the member, by table, as JSON-ready dicts (oldest first)."""
    with engine.connect() as conn:
        profile = conn.execute(sa.select(customers).where(customers.c.customer_id == customer_id)).first()
        return {
            "profile": _plain(profile._mapping) if profile is not None else None,
            "ledger": _rows(conn, ledger_entries, customer_id, ledger_entries.c.seq),
            "emails": _rows(conn, emails, customer_id, emails.c.created_at),
            "billing_credits": _rows(conn, billing_credits, customer_id, billing_credits.c.id),
            "billing_discounts": _rows(conn, billing_discounts, customer_id, billing_discounts.c.id),
            "campaign_memberships": campaign_memberships(conn, customer_id),
            "set_aside": _rows(conn, quarantine, customer_id, quarantine.c.id),
            "personal_data_requests": _rows(conn, personal_data_requests, customer_id, personal_data_requests.c.id),
        }


def customer_profile(engine: Engine, customer_id: str) -> dict[str, Any]:
    """The member's `customers` row (email, name, ...), or {} when there is none."""
    with engine.connect() as conn:
        row = conn.execute(sa.select(customers).where(customers.c.customer_id == customer_id)).first()
    return _plain(row._mapping) if row is not None else {}


def campaign_memberships(conn: Connection, customer_id: str) -> list[dict[str, Any]]:
    """The member's rows of `campaign_members`: every campaign that reached them (or held them out), oldest
    first, read through the schema's table so that times come back in UTC as every other table's."""
    return _rows(conn, campaign_members, customer_id, campaign_members.c.id)


def has_records(records: dict[str, Any]) -> bool:
    """Whether SQL knows the member at all (audit rows alone do not count)."""
    return any(v for k, v in records.items() if k != "personal_data_requests")


def scrub_member(engine: Engine, customer_id: str) -> dict[str, int]:
    """Remove the member's personal data from every table (see the module docstring), in one
    transaction; returns how many rows each table had scrubbed. Running it again changes nothing."""
    sqlite = engine.dialect.name == "sqlite"
    with engine.begin() as conn:
        if sqlite:  # the old values' space is zeroed, not only freed (Debian builds it on; others do not)
            conn.exec_driver_sql("PRAGMA secure_delete=ON")
        counts = {
            "customers": conn.execute(
                sa.update(customers)
                .where(customers.c.customer_id == customer_id)
                .values(email=None, name=None, timezone="UTC", country=None, updated_at=utcnow())
            ).rowcount,
            "emails": conn.execute(
                sa.update(emails)
                .where(emails.c.customer_id == customer_id)
                .values(to_email=None, payload=None, detail=None)
            ).rowcount,
            "quarantine": conn.execute(
                sa.update(quarantine)
                .where(quarantine.c.customer_id == customer_id)
                .values(
                    payload="",
                    # an event's reason may quote its input; an entry's (a clash) names keys only
                    reason=sa.case((quarantine.c.what == "event", SCRUBBED_REASON), else_=quarantine.c.reason),
                )
            ).rowcount,
            "ledger_entries": conn.execute(
                sa.update(ledger_entries)
                .where(ledger_entries.c.customer_id == customer_id, ledger_entries.c.reason.is_not(None))
                .values(reason=None)
            ).rowcount,
        }
    if sqlite:
        checkpoint_wal(engine)
    return counts


def checkpoint_wal(engine: Engine, attempts: int = 20) -> bool:
    """Copy SQLite's write-ahead log into the database file and empty it: the log holds every page as it was
    before the scrub until then. A reader in the middle of a transaction holds the checkpoint up; it is
    retried for about two seconds, then left to SQLite (said in the log). True when the log is empty."""
    for attempt in range(attempts):
        with engine.connect() as conn:
            busy, _frames, _copied = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()
        if not busy:
            return True
        if attempt < attempts - 1:
            time.sleep(0.1)
    log.warning("the write-ahead log was busy: pages from before the erasure stay in it until SQLite checkpoints")
    return False


def record_request(
    engine: Engine, customer_id: str, action: str, actor: str, request_id: str, outcome: dict[str, Any], at: datetime
) -> None:
    """One row of `personal_data_requests` (an export or an erasure)."""
    with engine.begin() as conn:
        conn.execute(
            sa.insert(personal_data_requests).values(
                customer_id=customer_id, action=action, actor=actor, request_id=request_id, at=at, outcome=outcome
            )
        )


def pending_deletions(engine: Engine, customer_id: str) -> list[str]:
    """The runs earlier erasures of the member left Temporal deleting (`runs_not_yet_deleted` of their record)
    and no later record reported deleted, oldest first."""
    pending: list[str] = []
    for row in requests_of(engine, customer_id):
        outcome = row["outcome"] or {}
        if row["action"] != "erasure":
            continue
        done = set(outcome.get("runs_deleted") or [])
        pending = [r for r in pending if r not in done]
        pending += [r for r in outcome.get("runs_not_yet_deleted") or [] if r not in pending]
    return pending


def requests_of(engine: Engine, customer_id: str) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return _rows(conn, personal_data_requests, customer_id, personal_data_requests.c.id)


def list_requests(
    engine: Engine,
    customer_id: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """The register of exports and erasures, oldest first: `limit` rows that match after skipping `offset`,
    and how many match in all. `since` is inclusive, `until` exclusive."""
    t = personal_data_requests
    where: list[sa.ColumnElement[bool]] = []
    if customer_id is not None:
        where.append(t.c.customer_id == customer_id)
    if action is not None:
        where.append(t.c.action == action)
    if since is not None:
        where.append(t.c.at >= since)
    if until is not None:
        where.append(t.c.at < until)
    with engine.connect() as conn:
        total = conn.execute(sa.select(sa.func.count()).select_from(t).where(*where)).scalar_one()
        rows = conn.execute(sa.select(t).where(*where).order_by(t.c.at, t.c.id).limit(limit).offset(offset))
        return [_plain(r._mapping) for r in rows], total


def _rows(conn: Connection, table: sa.Table, customer_id: str, order: sa.ColumnElement[Any]) -> list[dict[str, Any]]:
    stmt = sa.select(table).where(table.c.customer_id == customer_id).order_by(order)
    return [_plain(r._mapping) for r in conn.execute(stmt)]


def _plain(row: Any) -> dict[str, Any]:
    return dict(row)
