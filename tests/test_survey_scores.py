"""A survey answer carries a satisfaction score (1-5) for the program's satisfaction goal: recorded in
the ledger entry's reason from rules version 4; journeys still at versions 0 and 1 (whose frozen event
models refuse new fields) take the survey as before, without the score; the API refuses a score on
anything but a survey."""

from __future__ import annotations

import asyncio
import json

import pytest
from pydantic import ValidationError

from domain.messages import ActivityReported, EventEnvelope
from tests.api_kit import AUTH, recording_app
from tests.journey_kit import eventually, ledger_rows, payment, running_worker, start_at_version


def survey(n: int, score: int | None) -> ActivityReported:
    return ActivityReported(event_id=f"evt_survey_{n}", kind="survey_answered", score=score)


def test_an_event_without_score_is_sent_as_before():
    sent = json.loads(EventEnvelope(event=ActivityReported(event_id="e1", kind="login")).model_dump_json())
    assert "score" not in sent["event"]
    assert json.loads(EventEnvelope(event=survey(1, 4)).model_dump_json())["event"]["score"] == 4
    with pytest.raises(ValidationError, match="only a survey_answered event carries a score"):
        ActivityReported(event_id="e2", kind="login", score=3)


async def test_the_score_reaches_the_ledger_and_old_runs_take_the_survey_without_it(time_env, program, tmp_path):
    async with running_worker(time_env.client, program, tmp_path) as (tenure, engine):
        await tenure.send("cus_scored", survey(1, 4))
        rows = await eventually(lambda: asyncio.to_thread(ledger_rows, engine, "cus_scored"), lambda r: len(r) == 1)
        assert (rows[0]["kind"], rows[0]["points"], rows[0]["reason"]) == ("earn", 50, "survey_answered, score 4 of 5")
        for version in (0, 1):
            cid = f"cus_v{version}"
            await start_at_version(tenure, cid, version, payment(1))
            await tenure.send(cid, survey(2, 5))
            rows = await eventually(lambda cid=cid: asyncio.to_thread(ledger_rows, engine, cid), lambda r: len(r) == 2)
            assert [(r["points"], r["reason"]) for r in rows] == [(100, "monthly payment"), (50, "survey_answered")]


async def test_the_api_takes_a_score_only_with_a_survey(program, tmp_path):
    async with recording_app(program, tmp_path) as http:
        event = {"event_id": "s1", "customer_id": "cus_api", "kind": "survey_answered", "score": 5}
        assert (await http.post("/events", json=event, headers=AUTH)).status_code == 202
        assert http.rec.sent[-1][1].score == 5
        bad = await http.post("/events", json=dict(event, event_id="s2", kind="login"), headers=AUTH)
        assert bad.status_code == 422 and "score" in bad.text
        out_of_range = await http.post("/events", json=dict(event, event_id="s3", score=6), headers=AUTH)
        assert out_of_range.status_code == 422 and "score" in out_of_range.text
