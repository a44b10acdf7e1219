"""POST /campaigns refuses a wrong definition in the API's one error shape (README "Answers and
errors"): `detail` is [{"field", "message"}], one entry per fault, as every other route's 422."""

from __future__ import annotations

from tests.api_kit import api_settings, app_client

MARKETER = {"X-Api-Key": "k-mkt"}


async def test_a_wrong_definition_names_each_field_as_the_other_routes_do(program, tmp_path):
    s = api_settings(data_dir=tmp_path, api_keys="k-mkt:marketer:maria")
    async with app_client(s, client=object(), program=program) as http:
        r = await http.post(
            "/campaigns", json={"kind": "bonus", "bonus_points": 5, "holdout_percent": 80}, headers=MARKETER
        )
        assert r.status_code == 422, r.text
        body = r.json()
        fields = [d["field"] for d in body["detail"]]
        assert {"id", "name", "holdout_percent"} <= set(fields)
        assert all(set(d) == {"field", "message"} and d["message"] for d in body["detail"])
        assert body["error"] == f"invalid campaign: {', '.join(dict.fromkeys(fields))}"
        window = {
            "id": "w",
            "name": "w",
            "kind": "multiplier",
            "filter": {"field": "at_risk", "op": "is_true"},
            "multiplier": {"factor": 2, "starts_at": "2026-12-12T00:00:00Z", "ends_at": "2026-12-11T00:00:00Z"},
        }
        r = await http.post("/campaigns", json=window, headers=MARKETER)
        assert r.status_code == 422
        assert r.json()["detail"] == [{"field": "multiplier", "message": "ends_at must be after starts_at"}]
        assert (await http.get("/campaigns", headers=MARKETER)).json() == []
