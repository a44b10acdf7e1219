"""The console's "new campaign" form without a browser (the app on a recorder, no Temporal): every kind a
definition supports becomes the draft the CLI or the API would record, and a bad form comes back filled
in as it was sent, with a 4xx and each fault named by its field — never a 500, nothing recorded."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import TypeAdapter

from domain.campaigns import CampaignDefinition
from domain.segments import Segment, SegmentFilter
from starter.console.campaign_form import KINDS, defaults, definition_from, problems
from storage import campaigns as records
from storage.segments import save_segment
from tests.api_kit import recording_app

KEYS = "mark-secret-key:marketer:lee,view-secret-key:viewer:vic"
AT_RISK: SegmentFilter = TypeAdapter(SegmentFilter).validate_python({"field": "at_risk", "op": "is_true"})


async def signed_in(http, key: str = "mark-secret-key") -> str:
    page = await http.get("/console/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    await http.post("/console/login", data={"csrf": token, "key": key})
    page = await http.get("/console/campaigns")
    return re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)


def common(campaign_id: str, kind: str, **extra) -> dict[str, str | list[str]]:
    return {
        "id": campaign_id,
        "name": f"The {campaign_id} campaign",
        "kind": kind,
        "when": "now",
        "holdout_percent": "10",
        "rate": "100",
        "segment": "",
        "filter": '{"all": [{"field": "status", "op": "eq", "value": "active"}]}',
        **extra,
    }


GOLD_WEEKEND = {
    "multiplier.factor": "2",
    "multiplier.starts_at": "2026-12-12T00:00",
    "multiplier.ends_at": "2026-12-14T00:00",
    "multiplier.applies_to": ["payments", "activity"],
    "multiplier.combine": "multiply",
    "local_time": "1",
    "budget.total_points": "500000",
    "budget.per_member_points": "400",
}


def save_at_risk(engine) -> None:
    """The saved segment `at-risk` (members at risk) the offers and the words tests reach."""
    save_segment(
        engine,
        Segment(segment_id="at-risk", name="At risk", filter=AT_RISK, created_at=datetime.now(UTC), created_by="t"),
    )


def saved(http, campaign_id: str):
    return records.get_campaign(http.app.state.services.engine, campaign_id)


async def test_an_offer_to_members_at_risk_is_created_as_a_draft(program, tmp_path):
    async with recording_app(program, tmp_path, api_keys=KEYS) as http:
        csrf = await signed_in(http)
        engine = http.app.state.services.engine
        save_at_risk(engine)
        form = common(
            "win-back-20",
            "offer",
            csrf=csrf,
            segment="at-risk",
            **{
                "offer.gives": "discount",
                "offer.percent_off": "20",
                "offer.duration_months": "1",
                "offer.valid_days": "14",
                "offer.bonus_points": "999",  # another choice's field, still in a post without script: ignored
                "multiplier.factor": "3",  # another kind's terms: ignored
                "bonus_points": "50",
            },
        )
        r = await http.post("/console/campaigns", data=form)
        assert r.status_code == 303 and r.headers["location"] == "/console/campaigns/win-back-20", r.text
        record = saved(http, "win-back-20")
        assert record is not None and record.state == "draft" and record.created_by == "console:lee"
        d = record.definition
        assert (d.kind, d.segment, d.filter, d.holdout_percent) == ("offer", "at-risk", None, 10)
        assert d.offer is not None and d.offer.model_dump() == {
            "percent_off": 20,
            "duration_months": 1,
            "valid_days": 14,
            "bonus_points": None,
        }
        assert (d.bonus_points, d.multiplier, d.challenge, d.program, d.start.at) == (None, None, None, None, None)
        page = await http.get("/console/campaigns/win-back-20")
        assert "20% off for 1 month, valid 14 days" in page.text and "at once" in page.text

        points = common("win-back-points", "offer", csrf=csrf, segment="at-risk")
        points |= {"offer.gives": "points", "offer.bonus_points": "300", "offer.valid_days": "30"}
        assert (await http.post("/console/campaigns", data=points)).status_code == 303
        offer = saved(http, "win-back-points").definition.offer
        assert (offer.percent_off, offer.bonus_points, offer.valid_days) == (None, 300, 30)


async def test_the_gold_weekend_multiplier_at_local_time_and_a_challenge(program, tmp_path):
    async with recording_app(program, tmp_path, api_keys=KEYS) as http:
        csrf = await signed_in(http)
        form = common("gold-weekend", "multiplier", csrf=csrf, holdout_percent="10", **GOLD_WEEKEND)
        form |= {"when": "at", "start.at": "2026-12-12T00:00", "start.local_time": "1"}
        r = await http.post("/console/campaigns", data=form)
        assert r.status_code == 303, r.text
        d = saved(http, "gold-weekend").definition
        assert d.kind == "multiplier" and d.local_time and d.holdout_percent == 10
        assert d.multiplier is not None and d.multiplier.factor == 2
        assert d.multiplier.starts_at == datetime(2026, 12, 12) and d.multiplier.ends_at == datetime(2026, 12, 14)
        assert d.multiplier.applies_to == {"payments", "activity"} and d.multiplier.combine == "multiply"
        assert (d.budget.total_points, d.budget.per_member_points) == (500000, 400)
        assert d.start.at == datetime(2026, 12, 12) and d.start.local_time
        page = (await http.get("/console/campaigns/gold-weekend")).text
        for words in ("×2 on activity and payments", "Sat 2026-12-12 00:00 → Mon 2026-12-14 00:00", "local time"):
            assert words in page, words

        only_payments = common("payments-larger", "multiplier", csrf=csrf, **GOLD_WEEKEND)
        only_payments |= {"multiplier.applies_to": "payments", "multiplier.combine": "larger", "local_time": ""}
        assert (await http.post("/console/campaigns", data=only_payments)).status_code == 303
        m = saved(http, "payments-larger").definition
        assert m.multiplier.applies_to == {"payments"} and m.multiplier.combine == "larger" and not m.local_time

        challenge = common("share-three", "challenge", csrf=csrf)
        challenge |= {
            "challenge.title": "Share three reports",
            "challenge.activity": "content_shared",
            "challenge.count": "3",
            "challenge.ends_at": "2026-12-20T00:00",
            "challenge.bonus_points": "150",
        }
        assert (await http.post("/console/campaigns", data=challenge)).status_code == 303
        c = saved(http, "share-three").definition.challenge
        assert (c.title, c.activity, c.count, c.bonus_points) == ("Share three reports", "content_shared", 3, 150)
        assert c.starts_at is None and c.ends_at == datetime(2026, 12, 20, tzinfo=UTC)
        page = (await http.get("/console/campaigns/share-three")).text
        assert "Share three reports: content shared 3 times until Sun 2026-12-20 00:00 UTC" in page

        news = common("news", "announcement", csrf=csrf, template_id="d-news")
        assert (await http.post("/console/campaigns", data=news)).status_code == 303
        assert saved(http, "news").definition.template_id == "d-news"


@pytest.mark.parametrize(
    "change, status, named",
    [
        ({"multiplier.factor": ""}, 422, "Factor (multiplier.factor): required"),
        ({"multiplier.factor": "lots"}, 422, "Factor (multiplier.factor): &#39;lots&#39; is not a number"),
        ({"multiplier.factor": "1"}, 422, "Factor (multiplier.factor): give a number more than 1"),
        ({"multiplier.ends_at": "2026-12-11T00:00"}, 422, "Multiplier (multiplier): ends_at must be after starts_at"),
        (
            {"multiplier.starts_at": "someday"},
            422,
            "Starts at (multiplier.starts_at): give a date and time, YYYY-MM-DD HH:MM",
        ),
        ({"multiplier.applies_to": []}, 422, "Applies to (multiplier.applies_to): "),
        ({"budget.per_member_points": ""}, 422, "needs budget.per_member_points"),
        ({"kind": "raffle"}, 422, "Kind (kind): choose &#39;bonus&#39;, &#39;multiplier&#39;"),
        ({"when": "at", "start.at": ""}, 422, "Start at (start.at): give the time to start, or choose at once"),
        ({"holdout_percent": "60"}, 422, "Holdout % (holdout_percent): give a number at most 50"),
        ({"filter": "{not json"}, 422, "Filter (filter): not JSON"),
        ({"segment": "nobody"}, 422, "Segment (segment): segment &#39;nobody&#39; does not exist"),
    ],
)
async def test_a_bad_multiplier_is_refused_naming_the_field(program, tmp_path, change, status, named):
    async with recording_app(program, tmp_path, api_keys=KEYS) as http:
        csrf = await signed_in(http)
        form = common("bad-weekend", "multiplier", csrf=csrf, **GOLD_WEEKEND) | change
        r = await http.post("/console/campaigns", data=form)
        assert r.status_code == status, r.text[:500]
        assert "Campaign not created" in r.text and named in r.text, re.findall(r"<li data-field.*?</li>", r.text)
        assert saved(http, "bad-weekend") is None
        # the form comes back as it was sent, the multiplier's terms shown (an unknown kind's: none)
        assert 'value="The bad-weekend campaign"' in r.text
        if "multiplier.factor" in named:  # the input at fault is marked
            assert re.search(r'name="multiplier.factor"[^>]*aria-invalid="true"', r.text)
        shown = re.findall(r'data-show="kind=([a-z_|]+)">', r.text)
        assert shown[:1] == ([] if "kind" in change else ["multiplier"]), shown
        preview = await http.post("/console/campaigns/preview", data=form)
        assert preview.status_code == 200 and "Cannot preview yet" in preview.text
        assert http.rec.sent == []


async def test_an_inline_filter_on_a_tier_the_program_lacks_is_refused_naming_the_filter(program, tmp_path):
    """The program's tiers are member, silver, gold, platinum: `bronze` (or `Gold`) would reach nobody."""
    async with recording_app(program, tmp_path, api_keys=KEYS) as http:
        csrf = await signed_in(http)
        tiers = "use one of member, silver, gold, platinum"
        form = common("bronze-bonus", "bonus", csrf=csrf, bonus_points="20")
        form["filter"] = (
            '{"all": [{"field": "at_risk", "op": "is_true"}, {"field": "tier", "op": "eq", "value": "bronze"}]}'
        )
        r = await http.post("/console/campaigns", data=form)
        assert r.status_code == 422, r.text[:500]
        named = f"Filter (filter.all.all.1.condition.value): tier has no value &#39;bronze&#39;: {tiers}"
        assert "Campaign not created" in r.text and named in r.text, re.findall(r"<li data-field.*?</li>", r.text)
        assert re.search(r'name="filter"[^>]*aria-invalid="true"', r.text)  # the input at fault is marked
        assert 'value="The bronze-bonus campaign"' in r.text and saved(http, "bronze-bonus") is None
        form["filter"] = '{"field": "tier", "op": "in", "value": ["Gold"]}'
        r = await http.post("/console/campaigns", data=form)
        assert r.status_code == 422 and "tier has no value &#39;Gold&#39;" in r.text
        form["filter"] = '{"field": "tier", "op": "in", "value": ["gold", "platinum"]}'
        assert (await http.post("/console/campaigns", data=form)).status_code == 303
        assert saved(http, "bronze-bonus").definition.filter is not None
        assert http.rec.sent == []


async def test_an_id_taken_is_a_409_naming_the_id_and_a_viewer_cannot_create(program, tmp_path):
    async with recording_app(program, tmp_path, api_keys=KEYS) as http:
        csrf = await signed_in(http)
        form = common("twice", "bonus", csrf=csrf, bonus_points="20")
        assert (await http.post("/console/campaigns", data=form)).status_code == 303
        again = await http.post("/console/campaigns", data=form)
        assert again.status_code == 409 and "Id (id): " in again.text
        http.cookies.clear()
        csrf = await signed_in(http, "view-secret-key")
        refused = await http.post("/console/campaigns", data=common("viewed", "bonus", csrf=csrf, bonus_points="5"))
        assert refused.status_code == 403 and saved(http, "viewed") is None


async def test_the_form_shows_only_the_chosen_kinds_terms(program, tmp_path):
    async with recording_app(program, tmp_path, api_keys=KEYS) as http:
        await signed_in(http)
        page = (await http.get("/console/campaigns?kind=offer")).text
        shown = re.findall(r'data-show="kind=([a-z_|]+)">', page)  # no `hidden disabled` after it
        assert shown == ["offer", "bonus|multiplier|offer|challenge|publish_program"], shown
        assert re.search(r'data-show="when=at" hidden disabled', page)  # at once by default
        for kind, _ in KINDS:
            assert f'<option value="{kind}"' in page
        assert 'pattern="[A-Za-z0-9][A-Za-z0-9_.\\-]*"' in page  # the id's rule, as the definition's
        page = (await http.get("/console/campaigns?kind=raffle")).text  # unknown: the bonus form
        assert re.findall(r'data-show="kind=([a-z_|]+)">', page)[0] == "bonus"


async def test_the_preview_shows_each_kinds_terms(program, tmp_path):
    async with recording_app(program, tmp_path, api_keys=KEYS) as http:
        csrf = await signed_in(http)
        weekend = common("w", "multiplier", csrf=csrf, **GOLD_WEEKEND)
        text = (await http.post("/console/campaigns/preview", data=weekend)).text
        assert 'data-testid="campaign-preview"' in text and "×2 on activity and payments" in text
        assert "at most 0 extra points" in text  # no member in this database
        uncapped = weekend | {"budget.total_points": "", "budget.per_member_points": ""}
        assert "no cap a member" in (await http.post("/console/campaigns/preview", data=uncapped)).text
        offer = common("o", "offer", csrf=csrf, **{"offer.gives": "points", "offer.bonus_points": "25"})
        assert (
            "25 bonus points with the next payment, valid 14 days"
            in (await http.post("/console/campaigns/preview", data=offer)).text
        )


def test_every_kind_becomes_the_definition_the_api_would_take():
    """The form's definition is the definition model's own: the same JSON posted to /campaigns."""
    form = common("api-same", "multiplier", **GOLD_WEEKEND)
    d = definition_from(form, dict)
    assert d == CampaignDefinition.model_validate(
        {
            "id": "api-same",
            "name": "The api-same campaign",
            "kind": "multiplier",
            "holdout_percent": 10,
            "rate": 100,
            "filter": {"all": [{"field": "status", "op": "eq", "value": "active"}]},
            "local_time": True,
            "multiplier": {
                "factor": 2,
                "starts_at": "2026-12-12T00:00:00",
                "ends_at": "2026-12-14T00:00:00",
                "applies_to": ["payments", "activity"],
                "combine": "multiply",
            },
            "budget": {"total_points": 500000, "per_member_points": 400},
        }
    )
    with pytest.raises(ValueError) as refused:
        definition_from(common("p", "publish_program", program="nowhere"), dict)
    assert problems(refused.value)[0].text == "Program to publish (program): choose the program to publish"


@pytest.mark.parametrize(
    "today, saturday",
    [
        (datetime(2026, 12, 7, 15, 30, tzinfo=UTC), "2026-12-12T00:00"),  # a Monday: this week's
        (datetime(2026, 12, 11, 23, 59, tzinfo=UTC), "2026-12-12T00:00"),  # a Friday night: tomorrow
        (datetime(2026, 12, 12, 9, 0, tzinfo=UTC), "2026-12-19T00:00"),  # a Saturday under way: the next
    ],
)
def test_the_first_form_offers_the_coming_weekend(today, saturday):
    first = defaults("multiplier", now=today)
    assert first["kind"] == ["multiplier"] and first["when"] == ["now"]
    assert first["multiplier.starts_at"] == [saturday]
    end = datetime.fromisoformat(saturday) + timedelta(days=2)
    assert first["multiplier.ends_at"] == [end.strftime("%Y-%m-%dT%H:%M")]
    assert definition_from(common("w", "multiplier") | {k: v for k, v in first.items() if k != "kind"}, dict).multiplier


async def test_the_live_count_shows_a_refused_filter_as_text_not_markup(program, tmp_path):
    """A filter's fault repeats what was typed (`status has no value '…'`): it is escaped, not run."""
    async with recording_app(program, tmp_path, api_keys=KEYS) as http:
        csrf = await signed_in(http)
        typed = '{"field": "status", "op": "eq", "value": "<img src=x onerror=alert(1)>"}'
        r = await http.post("/console/segments/count", data={"csrf": csrf, "filter": typed})
        assert r.status_code == 200
        assert "Not a filter yet" in r.text
        assert "<img" not in r.text
        assert "&lt;img src=x onerror=alert(1)&gt;" in r.text


async def test_segments_and_a_campaigns_filter_read_in_words(program, tmp_path):
    async with recording_app(program, tmp_path, api_keys=KEYS) as http:
        csrf = await signed_in(http)
        engine = http.app.state.services.engine
        save_at_risk(engine)
        page = await http.get("/console/campaigns")
        assert re.search(r'data-testid="filter-words">at risk<', page.text)
        form = common("gold-bonus", "bonus", csrf=csrf, bonus_points="20")
        form["filter"] = (
            '{"all": [{"field": "tier", "op": "eq", "value": "gold"}, {"field": "at_risk", "op": "is_false"}]}'
        )
        assert (await http.post("/console/campaigns", data=form)).status_code == 303
        page = await http.get("/console/campaigns/gold-bonus")
        assert re.search(r'data-testid="filter-words">tier is gold and not at risk<', page.text)
