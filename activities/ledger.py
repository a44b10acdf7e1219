"""Ledger activities: the workflow's entries and profile, mirrored into SQL.

The workflow is the source of truth; the ledger is its append-only, queryable record.
Every entry carries a key derived from workflow data, so a retried activity (or a replay
that re-runs it after a worker crash) inserts nothing twice.
"""

from __future__ import annotations

import asyncio
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.metrics import count_ledger_write, count_rejected_events
from domain.effects import (
    CustomerProfile,
    LedgerAndProfile,
    LedgerEntry,
    LedgerWrite,
    QuarantineRecord,
    UnwritableEntry,
)
from storage.schema import customers, ledger_entries, quarantine, utcnow
from storage.statements import insert_if_absent, upsert

# 15 bound parameters a row: well under SQLite's 32766-variable limit per statement.
_CHUNK = 500

LEDGER_CONFLICT = "LedgerConflict"

# What the database refuses in a row whatever the retry: a value out of range (PostgreSQL), an
# integer beyond 64 bits (SQLite's driver raises OverflowError before sending it), a constraint.
REFUSED_FOR_GOOD = (sa.exc.DataError, sa.exc.IntegrityError, OverflowError)


class LedgerActivities:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._upserts: dict[tuple[str, ...], Any] = {}  # the customers upsert, built once per column set
        # the ledger insert, built once (as the upsert: SQLAlchemy then only looks its compiled form up)
        self._insert_entries = insert_if_absent(engine, ledger_entries).returning(ledger_entries.c.key)

    @activity.defn
    async def record_entries(self, entries: list[LedgerEntry]) -> int:
        """Append `entries` in one transaction; return how many were new (0 on a retry).

        An entry whose key is already recorded is skipped. An entry that clashes with a
        *different* recorded entry (same customer and seq under another key, or the same key
        for another customer/seq) means the ledger and the workflow disagree (a reset journey,
        two deployments on one database): the whole batch is refused with an ApplicationError
        of type `LedgerConflict`. It is left retryable on purpose, so by default the journey
        waits, visibly, until an operator repairs the ledger, instead of failing; a caller that
        prefers to handle it lists "LedgerConflict" in its RetryPolicy.non_retryable_error_types.
        """
        if not entries:
            return 0
        inserted = await asyncio.to_thread(self._record_entries, entries)
        count_ledger_write(inserted, 0, [e.at for e in entries] if inserted else [])
        return inserted

    def _record_entries(self, entries: list[LedgerEntry]) -> int:
        by_key: dict[str, LedgerEntry] = {}
        for e in entries:
            if by_key.setdefault(e.key, e) != e:
                raise ApplicationError(f"two different entries with key {e.key!r} in one batch", type=LEDGER_CONFLICT)
        with self.engine.begin() as conn:
            inserted, conflicts = self._insert(conn, list(by_key.values()))
            if conflicts:
                raise ApplicationError(conflicts[0][1], type=LEDGER_CONFLICT)
        return inserted

    @activity.defn
    async def record_ledger_entries(self, entries: list[LedgerEntry]) -> LedgerWrite:
        """Append `entries` (rules version 2 on): every entry is written, or set aside for good.

        Like `record_entries`, but an entry the ledger can never take — one that clashes with a
        different recorded entry (same key, or same customer and seq), or that the database refuses
        (a value out of range) — does not hold up the others nor the journey: it goes to the
        `quarantine` table and comes back in the result's `unwritable`, for the journey to record.
        Only a failure that may pass (the database unreachable, a lock) raises, and is retried.
        """
        if not entries:
            return LedgerWrite(inserted=0)
        written = await asyncio.to_thread(self._record_ledger_entries, entries)
        lagging = [e.at for e in entries] if written.inserted else []
        count_ledger_write(written.inserted, len(written.unwritable), lagging)
        return written

    def _record_ledger_entries(self, entries: list[LedgerEntry]) -> LedgerWrite:
        by_key: dict[str, LedgerEntry] = {}
        refused: list[tuple[LedgerEntry, str]] = []
        for e in entries:
            if by_key.setdefault(e.key, e) != e:
                refused.append((e, f"another entry with key {e.key!r} is in the same batch"))
        batch = list(by_key.values())
        try:
            with self.engine.begin() as conn:
                inserted, conflicts = self._insert(conn, batch)
                self._quarantine(conn, refused + conflicts)
        except REFUSED_FOR_GOOD:
            # One row the database will never take spoils the batch: find it, one transaction a row.
            inserted, conflicts = 0, []
            for e in batch:
                try:
                    with self.engine.begin() as conn:
                        n, clash = self._insert(conn, [e])
                except REFUSED_FOR_GOOD as error:
                    n, clash = 0, [(e, f"the ledger refused the row: {_short(error)}")]
                inserted += n
                conflicts += clash
            with self.engine.begin() as conn:
                self._quarantine(conn, refused + conflicts)
        unwritable = [UnwritableEntry(seq=e.seq, key=e.key, reason=why) for e, why in refused + conflicts]
        return LedgerWrite(inserted=inserted, unwritable=unwritable)

    def _insert(self, conn: sa.Connection, entries: list[LedgerEntry]) -> tuple[int, list[tuple[LedgerEntry, str]]]:
        """Insert the entries not there yet; (how many were new, the entries that clash and why)."""
        now = utcnow()
        rows = [{**e.model_dump(), "recorded_at": now} for e in entries]
        inserted: set[str] = set()
        # No conflict target: a row clashing on (customer_id, seq) must not raise midway
        # through a concurrent duplicate batch on PostgreSQL; skipped rows are checked below.
        # Parameters passed to execute (not baked into the statement with .values()): the
        # compiled INSERT comes from SQLAlchemy's statement cache instead of being compiled
        # again for every batch; several rows go out as one multi-row INSERT ... RETURNING.
        stmt = self._insert_entries
        for i in range(0, len(rows), _CHUNK):
            inserted.update(conn.execute(stmt, rows[i : i + _CHUNK]).scalars())
        skipped = [e for e in entries if e.key not in inserted]
        return len(inserted), self._conflicts(conn, skipped) if skipped else []

    @staticmethod
    def _conflicts(conn: sa.Connection, skipped: list[LedgerEntry]) -> list[tuple[LedgerEntry, str]]:
        """A skipped entry is fine only if the very same entry (key, customer, seq) is there."""
        t = ledger_entries
        found: dict[str, tuple[Any, Any]] = {}
        for i in range(0, len(skipped), _CHUNK):
            keys = [e.key for e in skipped[i : i + _CHUNK]]
            for key, cid, seq in conn.execute(sa.select(t.c.key, t.c.customer_id, t.c.seq).where(t.c.key.in_(keys))):
                found[key] = (cid, seq)
        conflicts = []
        for e in skipped:
            if found.get(e.key) != (e.customer_id, e.seq):
                where = found.get(e.key)
                conflicts.append(
                    (
                        e,
                        f"ledger conflict for customer {e.customer_id!r} seq {e.seq} key {e.key!r}: "
                        + (
                            f"that key is recorded as customer {where[0]!r} seq {where[1]}"
                            if where
                            else "that seq is already recorded under another key"
                        ),
                    )
                )
        return conflicts

    def _quarantine(self, conn: sa.Connection, refused: list[tuple[LedgerEntry, str]]) -> None:
        if not refused:
            return
        now = utcnow()
        rows = [
            {
                "key": f"{e.customer_id}/entry:{e.seq}/unwritable",
                "customer_id": e.customer_id,
                "what": "ledger_entry",
                "ref": e.key,
                "type": e.kind,
                "reason": why,
                "payload": e.model_dump_json(),
                "at": e.at,
                "recorded_at": now,
            }
            for e, why in refused
        ]
        conn.execute(insert_if_absent(self.engine, quarantine, "key"), rows)

    @activity.defn
    async def record_rejections(self, records: list[QuarantineRecord]) -> int:
        """Put what a journey rejected into the `quarantine` table; return how many rows were new."""
        if not records:
            return 0
        recorded = await asyncio.to_thread(self._record_rejections, records)
        count_rejected_events(sum(1 for r in records if r.what == "event") if recorded else 0)
        return recorded

    def _record_rejections(self, records: list[QuarantineRecord]) -> int:
        now = utcnow()
        rows = [{**r.model_dump(), "recorded_at": now} for r in records]
        stmt = insert_if_absent(self.engine, quarantine, "key").returning(quarantine.c.key)
        with self.engine.begin() as conn:
            return len(conn.execute(stmt, rows).scalars().all())

    @activity.defn
    async def upsert_customer(self, profile: CustomerProfile) -> None:
        """Mirror the workflow's profile into `customers` (insert, or overwrite every field)."""
        await asyncio.to_thread(self._upsert_customer, profile)

    def _upsert_customer(self, profile: CustomerProfile) -> None:
        now = utcnow()
        fields = ["email", "name", "timezone", "program_version", "referral_code", "status", "tier", "at_risk"]
        row = {**profile.model_dump(exclude={"projection"}), "referral_code": _normal_code(profile.referral_code)}
        if profile.projection is not None:  # rules version 3 on: the segment projection, whole
            projected = profile.projection.model_dump()
            fields += [*projected, "projected_at"]
            row |= projected | {"projected_at": now}
        # Built once and given the row at execute (not baked in with .values()): SQLAlchemy then
        # takes the compiled statement from its cache instead of building, keying and compiling an
        # upsert for every journey wake-up (a tenth of the worker's CPU in the campaign fan-out).
        key = tuple(fields)
        stmt = self._upserts.get(key)
        if stmt is None:
            stmt = self._upserts[key] = upsert(self.engine, customers, ["customer_id"], [*fields, "updated_at"])
        with self.engine.begin() as conn:
            conn.execute(stmt, {**row, "created_at": now, "updated_at": now})

    @activity.defn
    async def record_ledger_and_profile(self, batch: LedgerAndProfile) -> LedgerWrite:
        """`upsert_customer` then `record_ledger_entries`, in one local activity (rules version 4 on):
        the same writes in the same order; a retry repeats both (the upsert overwrites, entries are
        keyed)."""
        if not batch.entries:
            await asyncio.to_thread(self._upsert_customer, batch.profile)
            return LedgerWrite(inserted=0)
        written = await asyncio.to_thread(self._record_ledger_and_profile, batch)  # one thread hop for both
        lagging = [e.at for e in batch.entries] if written.inserted else []
        count_ledger_write(written.inserted, len(written.unwritable), lagging)
        return written

    def _record_ledger_and_profile(self, batch: LedgerAndProfile) -> LedgerWrite:
        self._upsert_customer(batch.profile)
        return self._record_ledger_entries(batch.entries)

    @activity.defn
    async def lookup_referrer(self, code: str) -> str | None:
        """The customer whose referral code is `code` (any case, surrounding blanks ignored), or None.

        Codes are stored upper-case, so the lookup uses the index. Should two members share a
        code, the earliest recorded one wins, the same on every call.
        """
        if not (normal := _normal_code(code)):
            return None
        return await asyncio.to_thread(self._lookup_referrer, normal)

    def _lookup_referrer(self, code: str) -> str | None:
        c = customers.c
        stmt = sa.select(c.customer_id).where(c.referral_code == code).order_by(c.created_at, c.customer_id).limit(1)
        with self.engine.connect() as conn:
            return conn.execute(stmt).scalar_one_or_none()


def _short(error: BaseException) -> str:
    """The first line of a database error (SQLAlchemy appends the statement and a link)."""
    text = str(getattr(error, "orig", None) or error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}"[:300]


def _normal_code(code: str | None) -> str | None:
    """Referral codes as stored: stripped, upper-case; None for no code."""
    return (code or "").strip().upper() or None
