"""What a data-protection auditor is shown of exports and erasures (`personal_data_requests`), on a real
dev server: who asked, when, why, and what was done — down to the deletion of every run an erasure asked
Temporal to delete, which Temporal finishes in the background after the erasure has answered.
"""

from __future__ import annotations

import asyncio
import functools
import uuid
from datetime import timedelta

import pytest

from domain.messages import SignedUp
from starter import personal_data
from starter.personal_data import erase_member
from storage.personal_data import requests_of
from tests.journey_kit import eventually, running_worker

EMAIL, NAME = "odile.vantongeren@example.net", "Odile Vantongeren"


def outcomes(engine, customer_id: str) -> list[tuple[str | None, list[str], list[str]]]:
    rows = requests_of(engine, customer_id)
    return [(r["outcome"]["reason"], r["outcome"]["runs_deleted"], r["outcome"]["runs_not_yet_deleted"]) for r in rows]


@pytest.mark.timeout(180)
async def test_an_erasure_repeated_once_temporal_is_done_records_the_runs_deleted(
    dev_env, program, tmp_path, monkeypatch
):
    """The first answer lists the run still being deleted; the same erasure again, once Temporal is done,
    records it deleted (it used to record nothing, so no record ever said the run was gone); each record
    keeps the reason it was given."""

    async def still_deleting(tenure, customer_id, run_ids, wait):
        return list(run_ids)  # Temporal not done yet (a quiet dev server can be done at once: not the case here)

    cid = f"cus_audit_{uuid.uuid4().hex[:8]}"
    async with running_worker(dev_env.client, program, tmp_path) as (tenure, engine):
        await tenure.send(cid, SignedUp(event_id="su", email=EMAIL, name=NAME))
        await eventually(lambda: tenure.summary(cid), lambda s: s.status == "active")

        with monkeypatch.context() as patched:
            patched.setattr(personal_data, "_wait_deleted", still_deleting)
            first = await erase_member(
                tenure, engine, cid, "admin:olga", "gdpr-1", "ticket 1", deletion_wait=timedelta(0)
            )
        assert first.reason == "ticket 1" and first.runs_deleted == [], first
        [going] = first.runs_not_yet_deleted  # the run that held the data, continued as new by the erasure
        await eventually(functools.partial(tenure.history_kept, cid, going), lambda kept: not kept, timeout=120)

        again = await erase_member(tenure, engine, cid, "admin:olga", "gdpr-1", deletion_wait=timedelta(0))
        assert (again.runs_deleted, again.runs_not_yet_deleted) == ([going], []), again
        # a later erasure has nothing left to report of it
        later = await erase_member(tenure, engine, cid, "admin:olga", "gdpr-2", "ticket 2", deletion_wait=timedelta(0))
        assert going not in later.runs_deleted + later.runs_not_yet_deleted, later

        recorded = await asyncio.to_thread(outcomes, engine, cid)
        assert recorded[:2] == [("ticket 1", [], [going]), (None, [going], [])], recorded
        assert recorded[2][0] == "ticket 2", recorded
