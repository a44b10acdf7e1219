"""A campaign's inline filter may name only the tiers of the program in force (member, silver, gold,
platinum in program.toml): `tenure campaign create FILE` exits 2 and `POST /campaigns` is 422, each
naming the field as for a definition's other faults; a known tier, and a saved segment (read as
saved), are still recorded. SQL only: no Temporal."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from domain.segments import Segment
from settings import Settings
from storage.engine import create_engine_for
from storage.migrate import db_upgrade
from storage.segments import save_segment
from tests.api_kit import api_settings, app_client
from tests.test_cli import invoke, out

TIERS = "use one of member, silver, gold, platinum"
MARKETER = {"X-Api-Key": "k-mkt"}


def bonus(tier: str, campaign_id: str = "tier-bonus") -> dict:
    return {
        "id": campaign_id,
        "name": f"A bonus for {tier}",
        "kind": "bonus",
        "bonus_points": 25,
        "filter": {
            "all": [{"field": "status", "op": "eq", "value": "active"}, {"field": "tier", "op": "eq", "value": tier}]
        },
    }


def migrated(tmp_path) -> Settings:
    s = Settings(data_dir=tmp_path)
    db_upgrade(s)
    return s


def test_the_cli_refuses_a_campaign_file_whose_filter_names_a_tier_the_program_lacks(tmp_path):
    s = migrated(tmp_path)
    toml = tmp_path / "bronze.toml"
    toml.write_text(
        'id = "bronze-bonus"\nname = "Bronze bonus"\nkind = "bonus"\nbonus_points = 25\n'
        '[filter]\nall = [{ field = "tier", op = "eq", value = "bronze" }]\n'
    )
    r = invoke(s, "campaign", "create", str(toml))
    assert r.exit_code == 2, out(r)
    assert f"{toml} is not a valid campaign:" in out(r)
    assert f"filter.all.all.0.condition.value: tier has no value 'bronze': {TIERS}" in out(r)
    upper = tmp_path / "upper.json"
    upper.write_text(json.dumps(bonus("Gold")))
    r = invoke(s, "campaign", "create", str(upper))
    assert r.exit_code == 2 and f"filter.all.all.1.condition.value: tier has no value 'Gold': {TIERS}" in out(r)
    r = invoke(s, "campaign", "list", "--json")
    assert r.exit_code == 0 and json.loads(r.stdout) == [], out(r)

    good = tmp_path / "gold.json"
    good.write_text(json.dumps(bonus("gold")))
    r = invoke(s, "campaign", "create", str(good))
    assert r.exit_code == 0 and "tier-bonus (bonus) recorded as a draft" in out(r), out(r)


def test_a_campaign_on_a_segment_saved_before_the_check_is_still_recorded(tmp_path):
    s = migrated(tmp_path)
    engine = create_engine_for(s.db_url())
    made = datetime(2026, 1, 1, tzinfo=UTC)
    old = {"field": "tier", "op": "eq", "value": "bronze"}
    save_segment(engine, Segment(segment_id="bronze", name="Bronze", filter=old, created_at=made, created_by="x"))
    engine.dispose()
    file = tmp_path / "on-segment.json"
    file.write_text(json.dumps({k: v for k, v in bonus("gold").items() if k != "filter"} | {"segment": "bronze"}))
    r = invoke(s, "campaign", "create", str(file))
    assert r.exit_code == 0, out(r)
    r = invoke(s, "campaign", "preview", "tier-bonus", "--json")
    assert r.exit_code == 0, out(r)


async def test_post_campaigns_refuses_an_inline_filter_on_a_tier_the_program_lacks(program, tmp_path):
    s = api_settings(data_dir=tmp_path, api_keys="k-mkt:marketer:maria")
    async with app_client(s, client=object(), program=program) as http:
        r = await http.post("/campaigns", json=bonus("bronze"), headers=MARKETER)
        assert r.status_code == 422, r.text
        assert r.json() == {
            "error": "invalid campaign: filter.all.all.1.condition.value",
            "detail": [
                {"field": "filter.all.all.1.condition.value", "message": f"tier has no value 'bronze': {TIERS}"}
            ],
        }
        r = await http.post("/campaigns", json=bonus("Gold"), headers=MARKETER)
        assert r.status_code == 422 and "tier has no value 'Gold'" in r.text, r.text
        assert (await http.get("/campaigns", headers=MARKETER)).json() == []
        r = await http.post("/campaigns", json=bonus("gold"), headers=MARKETER)
        assert r.status_code == 201 and r.json()["campaign_id"] == "tier-bonus", r.text


def placed(condition: dict, campaign_id: str = "place-bonus") -> dict:
    return bonus("gold", campaign_id) | {
        "filter": {"all": [{"field": "status", "op": "eq", "value": "active"}, condition]}
    }


async def test_post_campaigns_refuses_an_inline_filter_on_a_zone_or_a_country_that_is_none(program, tmp_path):
    s = api_settings(data_dir=tmp_path, api_keys="k-mkt:marketer:maria")
    async with app_client(s, client=object(), program=program) as http:
        for condition, message in [
            (
                {"field": "timezone", "op": "in", "value": ["Europe/Pariss"]},
                "timezone has no value 'Europe/Pariss': an IANA time zone such as Europe/Paris",
            ),
            (
                {"field": "country", "op": "in", "value": ["usa"]},
                "country has no value 'usa': an ISO 3166 two-letter code such as US",
            ),
        ]:
            r = await http.post("/campaigns", json=placed(condition), headers=MARKETER)
            assert r.status_code == 422, r.text
            assert r.json()["detail"] == [{"field": "filter.all.all.1.condition.value.0", "message": message}]
        assert (await http.get("/campaigns", headers=MARKETER)).json() == []
        r = await http.post(
            "/campaigns", json=placed({"field": "country", "op": "eq", "value": "US"}), headers=MARKETER
        )
        assert r.status_code == 201, r.text


def test_the_cli_refuses_a_campaign_file_on_a_country_that_is_none_and_takes_a_saved_segment_as_saved(tmp_path):
    s = migrated(tmp_path)
    file = tmp_path / "xx.json"
    file.write_text(json.dumps(placed({"field": "country", "op": "eq", "value": "XX"})))
    r = invoke(s, "campaign", "create", str(file))
    assert r.exit_code == 2, out(r)
    assert "filter.all.all.1.condition.value: country has no value 'XX': an ISO 3166 two-letter code" in out(r)
    engine = create_engine_for(s.db_url())
    made = datetime(2026, 1, 1, tzinfo=UTC)
    old = {"field": "timezone", "op": "eq", "value": "Europe/Pariss"}
    save_segment(engine, Segment(segment_id="pariss", name="Pariss", filter=old, created_at=made, created_by="x"))
    engine.dispose()
    file.write_text(json.dumps({k: v for k, v in bonus("gold").items() if k != "filter"} | {"segment": "pariss"}))
    r = invoke(s, "campaign", "create", str(file))
    assert r.exit_code == 0, out(r)
    r = invoke(s, "campaign", "preview", "tier-bonus", "--json")
    assert r.exit_code == 0, out(r)
