"""`/segments`: marketers save, list, show and preview segments; bad filters are 4xx naming the field."""

from __future__ import annotations

from datetime import UTC, datetime

import pydantic
import pytest

from domain.segments import Segment, SegmentProjection
from starter.ingress import generic_billing, stripe_events
from storage.segments import save_segment
from tests.api_kit import api_settings, app_client, customer_created
from tests.test_segments import PLACE_FAULTS, insert_members

MKT = {"X-Api-Key": "k-mkt"}
GOLD_AT_RISK = {
    "all": [
        {"field": "tier", "op": "in", "value": ["gold", "platinum"]},
        {"any": [{"field": "at_risk", "op": "is_true"}, {"field": "churn_risk_score", "op": "ge", "value": 60}]},
    ]
}


def members() -> dict[str, SegmentProjection]:
    return {
        "cus_a": SegmentProjection(tier="gold", at_risk=True, balance=900, engagement_level="occasional"),
        "cus_b": SegmentProjection(tier="platinum", churn_risk_score=75, timezone="Asia/Tokyo"),
        "cus_c": SegmentProjection(tier="gold", churn_risk_score=10, engagement_level="loyal"),
        "cus_d": SegmentProjection(tier="silver", at_risk=True),
    }


def settings(tmp_path):
    return api_settings(data_dir=tmp_path, api_keys="k-mkt:marketer:maria,k-view:viewer,k-app:app,k-adm:admin")


async def test_create_list_show_preview(program, tmp_path):
    async with app_client(settings(tmp_path), client=object(), program=program) as http:
        insert_members(http.app.state.services.engine, members())
        made = await http.post("/segments", json={"name": "Gold at risk", "filter": GOLD_AT_RISK}, headers=MKT)
        assert made.status_code == 201, made.text
        body = made.json()
        assert body["segment_id"] == "gold-at-risk" and body["created_by"] == "api:maria"

        listed = await http.get("/segments", headers={"X-Api-Key": "k-view"})
        assert [s["segment_id"] for s in listed.json()] == ["gold-at-risk"]
        shown = await http.get("/segments/gold-at-risk", headers=MKT)
        assert shown.status_code == 200 and shown.json()["count"] == 2
        assert shown.json()["filter"] == {
            "all": [
                {"field": "tier", "op": "in", "value": ["gold", "platinum"]},
                {
                    "any": [
                        {"field": "at_risk", "op": "is_true", "value": None},
                        {"field": "churn_risk_score", "op": "ge", "value": 60},
                    ]
                },
            ]
        }

        previewed = await http.post("/segments/gold-at-risk/preview?sample=1", headers=MKT)
        assert previewed.status_code == 200, previewed.text
        p = previewed.json()
        assert p["count"] == 2 and [m["customer_id"] for m in p["sample"]] == ["cus_a"]
        assert p["sample"][0]["balance"] == 900 and "email" not in p["sample"][0]

        adhoc = await http.post(
            "/segments/preview", json={"filter": {"field": "timezone", "op": "eq", "value": "Asia/Tokyo"}}, headers=MKT
        )
        assert [m["customer_id"] for m in adhoc.json()["sample"]] == ["cus_b"]

        again = await http.post("/segments", json={"name": "Gold at risk", "filter": GOLD_AT_RISK}, headers=MKT)
        assert again.status_code == 409 and again.json()["detail"] == {"field": "segment_id"}
        same_name = await http.post(
            "/segments", json={"segment_id": "other", "name": "Gold at risk", "filter": GOLD_AT_RISK}, headers=MKT
        )
        assert same_name.status_code == 409 and same_name.json()["detail"] == {"field": "name"}
        missing = await http.get("/segments/nope", headers=MKT)
        assert missing.status_code == 404


async def test_bad_filters_are_422_naming_the_field(program, tmp_path):
    async with app_client(settings(tmp_path), client=object(), program=program) as http:
        bad = {"all": [{"field": "tier", "op": "eq", "value": "gold"}, {"field": "balanse", "op": "gt", "value": 1}]}
        r = await http.post("/segments", json={"name": "x", "filter": bad}, headers=MKT)
        assert r.status_code == 422
        (error,) = r.json()["detail"]
        assert error["field"] == "filter.all.all[1].condition.field"  # the union's tags are in the path
        assert "'balance'" in error["message"] and "'churn_risk_score'" in error["message"]
        r = await http.post(
            "/segments", json={"name": "x", "filter": {"field": "balance", "op": "is_true"}}, headers=MKT
        )
        assert r.status_code == 422 and "balance takes the operators" in r.text
        r = await http.post(
            "/segments/preview",
            json={"filter": {"field": "last_activity_at", "op": "lt", "value": "yesterday"}},
            headers=MKT,
        )
        assert r.status_code == 422 and "last_activity_at compares with a date-time" in r.text
        r = await http.post(
            "/segments/preview", json={"filter": {"field": "balance", "op": "gt", "value": 2**70}}, headers=MKT
        )
        assert r.status_code == 422
        r = await http.post(
            "/segments/preview", json={"filter": {"field": "tier", "op": "eq", "value": "go\u0000ld"}}, headers=MKT
        )
        assert r.status_code == 422
        r = await http.post("/segments/preview?sample=1000", json={"filter": {"all": []}}, headers=MKT)
        assert r.status_code == 422 and "sample" in r.text
        # a time whose UTC the database cannot hold: 422 saying so, not a 500 from the driver's OverflowError
        for edge in ("0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-05:00"):
            early = {"filter": {"field": "last_activity_at", "op": "lt", "value": edge}}
            r = await http.post("/segments/preview", json=early, headers=MKT)
            assert r.status_code == 422 and "out of range" in r.text, r.text
            r = await http.post("/segments", json={"name": "edge", **early}, headers=MKT)
            assert r.status_code == 422 and "out of range" in r.text, r.text
            between = {
                "filter": {"field": "signed_up_at", "op": "between", "value": sorted([edge, "2026-01-01T00:00:00Z"])}
            }
            r = await http.post("/segments/preview", json=between, headers=MKT)
            assert r.status_code == 422 and "out of range" in r.text, r.text


async def test_only_marketers_and_admins_write_viewers_read(program, tmp_path):
    async with app_client(settings(tmp_path), client=object(), program=program) as http:
        new = {"name": "all", "filter": {"all": []}}
        assert (await http.post("/segments", json=new, headers={"X-Api-Key": "k-app"})).status_code == 403
        assert (await http.post("/segments", json=new, headers={"X-Api-Key": "k-view"})).status_code == 403
        assert (await http.get("/segments", headers={"X-Api-Key": "k-app"})).status_code == 403
        made = await http.post("/segments", json=new, headers={"X-Api-Key": "k-adm"})
        assert made.status_code == 201 and made.json()["created_by"] == "api:admin"
        assert datetime.fromisoformat(made.json()["created_at"]) <= datetime.now(UTC)


def test_the_country_arrives_from_stripe_and_the_generic_format():
    ev = customer_created("cus_c", "c@example.com", "C")
    ev["data"]["object"]["address"] = {"country": "de", "city": "Berlin", "line1": None}
    assert stripe_events.translate(ev).event.country == "DE"
    ev["data"]["object"]["address"] = {"country": "Germany"}  # not a code: ignored, the sign-up still counts
    assert stripe_events.translate(ev).event.country is None

    base = {"id": "u1", "type": "customer.updated", "customer_id": "acme-1"}
    event = generic_billing.billing_event_adapter.validate_python({**base, "country": "jp"})
    assert event.to_domain().country == "JP"
    with pytest.raises(pydantic.ValidationError, match="not a country code of ISO 3166-1"):
        generic_billing.billing_event_adapter.validate_python({**base, "country": "XX"})


async def test_a_tier_the_program_lacks_is_422_naming_the_field(program, tmp_path):
    """The program's tiers are member, silver, gold, platinum: a filter on `bronze` would match nobody."""
    tiers = "use one of member, silver, gold, platinum"
    async with app_client(settings(tmp_path), client=object(), program=program) as http:
        r = await http.post(
            "/segments", json={"name": "typo", "filter": {"field": "tier", "op": "eq", "value": "bronze"}}, headers=MKT
        )
        assert r.status_code == 422, r.text
        assert r.json()["detail"] == [
            {
                "field": "filter.condition.value",
                "message": f"tier has no value 'bronze': {tiers}",
                "type": "value_error",
            }
        ]
        nested = {
            "all": [{"field": "at_risk", "op": "is_true"}, {"field": "tier", "op": "in", "value": ["gold", "Gold"]}]
        }
        r = await http.post("/segments", json={"name": "typo", "filter": nested}, headers=MKT)
        assert r.status_code == 422, r.text
        assert r.json()["error"] == "invalid request: filter.all.all[1].condition.value[1]"
        assert r.json()["detail"][0]["message"] == f"tier has no value 'Gold': {tiers}"
        assert (await http.get("/segments", headers=MKT)).json() == []
        r = await http.post("/segments", json={"name": "Gold", "filter": GOLD_AT_RISK}, headers=MKT)
        assert r.status_code == 201, r.text


async def test_the_tiers_are_those_of_the_program_in_force(program, tmp_path):
    levels = [{"name": "bronze", "threshold": 0}, {"name": "gold", "threshold": 1000}]
    other = program.model_copy(update={"tiers": program.tiers.model_validate({"levels": levels})})
    async with app_client(settings(tmp_path), client=object(), program=other) as http:
        bronze = {"field": "tier", "op": "eq", "value": "bronze"}
        r = await http.post("/segments", json={"name": "Bronze", "filter": bronze}, headers=MKT)
        assert r.status_code == 201, r.text
        platinum = {"field": "tier", "op": "eq", "value": "platinum"}
        r = await http.post("/segments", json={"name": "Platinum", "filter": platinum}, headers=MKT)
        assert r.status_code == 422 and "tier has no value 'platinum': use one of bronze, gold" in r.text, r.text


async def test_a_preview_refuses_what_creating_refuses_in_the_same_shape(program, tmp_path):
    """`POST /segments/preview` answered 200 with a count of 0 for a tier the program lacks, a zone or
    a country that is none: it is now the 422 of `POST /segments`, field for field."""
    tiers = "use one of member, silver, gold, platinum"
    async with app_client(settings(tmp_path), client=object(), program=program) as http:
        insert_members(http.app.state.services.engine, members())
        for condition, message in [
            ({"field": "tier", "op": "eq", "value": "bronze"}, f"tier has no value 'bronze': {tiers}"),
            *PLACE_FAULTS,
        ]:
            nested = {"all": [{"field": "at_risk", "op": "is_true"}, condition]}
            preview = await http.post("/segments/preview", json={"filter": nested}, headers=MKT)
            created = await http.post("/segments", json={"name": "typo", "filter": nested}, headers=MKT)
            assert preview.status_code == created.status_code == 422, (preview.text, created.text)
            assert (
                preview.json()
                == created.json()
                == {
                    "error": "invalid request: filter.all.all[1].condition.value",
                    "detail": [
                        {"field": "filter.all.all[1].condition.value", "message": message, "type": "value_error"}
                    ],
                }
            )
        r = await http.post(
            "/segments/preview",
            json={"filter": {"field": "country", "op": "in", "value": ["US", "de"]}},
            headers={"X-Api-Key": "k-view"},
        )
        assert r.status_code == 422 and r.json()["detail"][0]["field"] == "filter.condition.value[1]", r.text
        assert "such as DE" in r.json()["detail"][0]["message"]
        assert (await http.get("/segments", headers=MKT)).json() == []
        tokyo = {"field": "timezone", "op": "in", "value": ["Asia/Tokyo", "Europe/Paris"]}
        r = await http.post("/segments/preview", json={"filter": tokyo}, headers=MKT)
        assert r.status_code == 200 and r.json()["count"] == 1, r.text


async def test_a_saved_segment_with_such_values_previews_as_saved(program, tmp_path):
    async with app_client(settings(tmp_path), client=object(), program=program) as http:
        engine = http.app.state.services.engine
        insert_members(engine, {"cus_typo": SegmentProjection(tier="gold", timezone="Europe/Pariss")})
        raw = {
            "any": [
                {"field": "tier", "op": "eq", "value": "bronze"},
                {"field": "timezone", "op": "eq", "value": "Europe/Pariss"},
                {"field": "country", "op": "eq", "value": "XX"},
            ]
        }
        made = datetime(2026, 1, 1, tzinfo=UTC)
        save_segment(engine, Segment(segment_id="typos", name="Typos", filter=raw, created_at=made, created_by="x"))
        shown = await http.get("/segments/typos", headers=MKT)
        assert shown.status_code == 200 and shown.json()["count"] == 1, shown.text
        r = await http.post("/segments/typos/preview", headers=MKT)
        assert r.status_code == 200 and [m["customer_id"] for m in r.json()["sample"]] == ["cus_typo"], r.text
        assert [s["segment_id"] for s in (await http.get("/segments", headers=MKT)).json()] == ["typos"]


async def test_a_preview_sample_shows_zone_and_country_only_to_roles_that_see_personal_data(program, tmp_path):
    """The time zone and the country are personal data (`roles.sees_personal_data`: the erasure clears
    them, the console hides them from a viewer); a marketer's or a viewer's preview leaves them out,
    an admin's keeps them, and a filter on them still counts and samples by customer id."""
    on_time = {"cus_b": SegmentProjection(tier="gold", timezone="Asia/Tokyo", country="JP")}
    tokyo = {"filter": {"field": "timezone", "op": "eq", "value": "Asia/Tokyo"}}
    async with app_client(settings(tmp_path), client=object(), program=program) as http:
        insert_members(http.app.state.services.engine, on_time)
        await http.post("/segments", json={"segment_id": "tokyo", "name": "Tokyo", **tokyo}, headers=MKT)
        for key in ("k-mkt", "k-view"):
            for path, body in (("/segments/preview", tokyo), ("/segments/tokyo/preview", None)):
                r = await http.post(path, json=body, headers={"X-Api-Key": key})
                assert r.status_code == 200, r.text
                (m,) = r.json()["sample"]
                assert m["customer_id"] == "cus_b" and m["tier"] == "gold"
                assert m["timezone"] is None and m["country"] is None, (key, path, m)
                assert "Asia/Tokyo" not in r.text and "JP" not in r.text
        r = await http.post("/segments/tokyo/preview", headers={"X-Api-Key": "k-adm"})
        (m,) = r.json()["sample"]
        assert m["timezone"] == "Asia/Tokyo" and m["country"] == "JP"
