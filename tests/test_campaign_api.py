"""`/campaigns` over HTTP: marketers define, preview, run and measure; other roles are refused; a wrong
definition is a 422 naming the field, never a 500. The campaign runs on the time-skipping server
against stand-in journeys (tests/campaign_kit.py)."""

from __future__ import annotations

import asyncio

import pytest

from tests.api_kit import api_settings, app_client
from tests.campaign_kit import FakeJourneys, add_members, campaign_worker, database, member_ids

pytestmark = pytest.mark.asyncio(loop_scope="session")

MARKETER = {"X-Api-Key": "k-mkt"}
VIEWER = {"X-Api-Key": "k-view"}
APP = {"X-Api-Key": "k-app"}
DEFINITION = {
    "id": "gold-double",
    "name": "Double points this weekend for gold members",
    "kind": "bonus",
    "bonus_points": 25,
    "filter": {"all": [{"field": "tier", "op": "eq", "value": "gold"}]},
    "holdout_percent": 10,
    "page_size": 10,
    "rate": 1000,
}


async def test_marketers_run_a_campaign_over_http(time_env, program, tmp_path):
    engine = database(tmp_path)
    add_members(engine, member_ids(40, "gold_"), tier="gold")
    add_members(engine, member_ids(10, "silver_"), tier="silver")
    s = api_settings(data_dir=tmp_path, api_keys="k-app:app,k-view:viewer,k-mkt:marketer:maria")
    journeys = FakeJourneys()
    async with (
        campaign_worker(time_env.client, engine, journeys, task_queue=s.task_queue),
        app_client(s, client=time_env.client, program=program, engine=engine) as http,
    ):
        refused = await http.post("/campaigns", json=DEFINITION, headers=APP)
        assert refused.status_code == 403
        bad = await http.post("/campaigns", json={**DEFINITION, "budget": {"total_points": -5}}, headers=MARKETER)
        assert bad.status_code == 422 and "budget.total_points" in str(bad.json()["detail"]), bad.text
        missing = await http.post("/campaigns", json={**DEFINITION, "bonus_points": None}, headers=MARKETER)
        assert missing.status_code == 422 and "bonus_points" in str(missing.json()), missing.text
        no_segment = {k: v for k, v in DEFINITION.items() if k != "filter"} | {"segment": "nope"}
        unknown = await http.post("/campaigns", json=no_segment, headers=MARKETER)
        assert unknown.status_code == 422 and "segment" in unknown.text, unknown.text
        created = await http.post("/campaigns", json=DEFINITION, headers=MARKETER)
        assert created.status_code == 201, created.text
        assert created.json()["state"] == "draft" and created.json()["created_by"] == "api:maria"
        again = await http.post("/campaigns", json=DEFINITION, headers=MARKETER)
        assert again.status_code == 409

        preview = (await http.get("/campaigns/gold-double/preview", headers=VIEWER)).json()
        assert preview["segment_size"] == 40 and preview["reached"] + preview["held_out"] == 40
        assert (await http.post("/campaigns/gold-double/start", headers=VIEWER)).status_code == 403
        started = await http.post("/campaigns/gold-double/start", headers=MARKETER)
        assert started.status_code == 200 and started.json()["state"] == "running", started.text
        for _ in range(200):
            status = (await http.get("/campaigns/gold-double/status", headers=VIEWER)).json()
            if status["state"] == "completed":
                break
            await asyncio.sleep(0.05)
        assert status["state"] == "completed", status
        assert status["counts"]["applied"] == preview["reached"] and status["counts"]["held_out"] == preview["held_out"]
        assert not any(c.startswith("silver_") for c in journeys.applied)
        assert (await http.post("/campaigns/gold-double/start", headers=MARKETER)).status_code == 409
        assert (await http.post("/campaigns/gold-double/pause", headers=MARKETER)).status_code == 409
        results = await http.get("/campaigns/gold-double/results", headers=VIEWER)
        assert results.status_code == 200, results.text
        body = results.json()
        assert body["treated"] == preview["reached"] and body["holdout"] == preview["held_out"]
        assert {c["metric"] for c in body["comparisons"]} >= {"active", "paid", "redeemed", "retained"}
        assert (await http.get("/campaigns/nope/status", headers=VIEWER)).status_code == 404
        listed = (await http.get("/campaigns", headers=VIEWER)).json()
        assert [c["campaign_id"] for c in listed] == ["gold-double"]
