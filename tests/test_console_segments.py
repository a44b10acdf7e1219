"""The console's new-segment form without a browser (the app on a recorder, no Temporal): a filter
naming a tier the program in force does not have is the form's message, never a 500, and nothing is
saved; a known tier is saved, through the segments' client. (The campaign form's refusal of such a
filter: tests/test_console_campaign_form.py.)"""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime

from markupsafe import escape

from domain.segments import Segment, SegmentProjection
from storage.segments import save_segment
from tests.api_kit import recording_app
from tests.console_kit import notice_after, notice_on
from tests.test_console_session import sign_in
from tests.test_segments import insert_members

KEYS = "mkt-secret-key:marketer:maria"
TIERS = "use one of member, silver, gold, platinum"


async def marketer(http) -> str:
    """Sign in as a marketer; the session's form token."""
    await sign_in(http, "mkt-secret-key")
    page = await http.get("/console/campaigns")
    assert page.status_code == 200, page.text
    return re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)


def campaign_form(csrf: str) -> dict[str, str]:
    """A bonus campaign's form, as the page sends it for the live preview."""
    return {
        "csrf": csrf,
        "id": "typo-bonus",
        "name": "Typo bonus",
        "kind": "bonus",
        "when": "now",
        "holdout_percent": "0",
        "rate": "100",
        "segment": "",
        "bonus_points": "20",
    }


async def notice(http, r) -> str:
    """What the console answered a form with: the notice on the page its redirect leads to, or on the
    page again (a refused segment, its form as typed)."""
    if r.status_code == 422:
        shown = notice_on(r.text)
        assert shown is not None, r.text
        return shown
    return await notice_after(http, r)


async def test_the_segment_form_refuses_a_tier_the_program_lacks(program, tmp_path):
    async with recording_app(program, tmp_path, api_keys=KEYS) as http:
        csrf = await marketer(http)
        form = {"csrf": csrf, "name": "Typo", "filter": '{"field": "tier", "op": "eq", "value": "bronze"}'}
        r = await http.post("/console/segments", data=form)
        said = f"Segment not saved: Filter (filter.condition.value): tier has no value 'bronze': {TIERS}"
        assert await notice(http, r) == said
        assert r.status_code == 422 and "tier has no value &#39;bronze&#39;" in r.text
        assert (await http.get("/segments", headers={"X-Api-Key": "mkt-secret-key"})).json() == []
        form["filter"] = '{"field": "tier", "op": "in", "value": ["Gold"]}'
        assert (await notice(http, await http.post("/console/segments", data=form))).startswith(
            "Segment not saved: Filter (filter.condition.value.0): tier has no value 'Gold'"
        )
        form["filter"] = '{"field": "tier", "op": "in", "value": ["gold", "platinum"]}'
        assert await notice(http, await http.post("/console/segments", data=form)) == "Segment Typo saved."
        # through the segments' client: the same id from the name, the same refusal of a taken one
        r = await http.get("/segments/typo", headers={"X-Api-Key": "mkt-secret-key"})
        assert r.status_code == 200 and r.json()["created_by"] == "console:maria", r.text
        assert await notice(http, await http.post("/console/segments", data=form)) == (
            "Segment not saved: a segment with id 'typo' exists already"
        )
        assert http.rec.sent == []


async def test_the_live_count_and_the_campaign_preview_refuse_what_saving_refuses(program, tmp_path):
    """The count under the segment form and the campaign form's live preview showed 0 members for a
    tier the program lacks, a zone or a country that is none: they show the form's refusal instead,
    escaped (it repeats what was typed), never a 500."""
    async with recording_app(program, tmp_path, api_keys=KEYS) as http:
        csrf = await marketer(http)
        engine = http.app.state.services.engine
        insert_members(engine, {"cus_paris": SegmentProjection(tier="gold", timezone="Europe/Paris", country="FR")})
        zone = "an IANA time zone such as"
        for condition, at, shown in [
            (
                '{"field": "tier", "op": "eq", "value": "bronze"}',
                "value",
                f"tier has no value &#39;bronze&#39;: {TIERS}",
            ),
            (
                '{"field": "timezone", "op": "eq", "value": "Europe/Pariss"}',
                "value",
                f"timezone has no value &#39;Europe/Pariss&#39;: {zone} Europe/Paris",
            ),
            (
                '{"field": "timezone", "op": "eq", "value": "<b>Paris</b>"}',
                "value",
                f"timezone has no value &#39;&lt;b&gt;Paris&lt;/b&gt;&#39;: {zone} Europe/Paris",
            ),
            (
                '{"field": "country", "op": "in", "value": ["FR", "usa"]}',
                "value.1",
                "country has no value &#39;usa&#39;: an ISO 3166 two-letter code such as US",
            ),
        ]:
            named = f"Filter (filter.condition.{at}): {shown}"  # as the campaign form names it, nested below
            r = await http.post("/console/segments/count", data={"csrf": csrf, "filter": condition})
            assert r.status_code == 200 and "Not a filter yet: " + named in r.text, r.text
            assert 'data-testid="live-count"' not in r.text and "<b>Paris" not in r.text
            form = {
                **campaign_form(csrf),
                "filter": f'{{"all": [{{"field": "at_risk", "op": "is_false"}}, {condition}]}}',
            }
            r = await http.post("/console/campaigns/preview", data=form)
            assert r.status_code == 200 and "Cannot preview yet: " in r.text, r.text
            assert f"Filter (filter.all.all.1.condition.{at}): {shown}" in r.text, r.text
            assert 'data-testid="campaign-preview"' not in r.text and "<b>Paris" not in r.text
            r = await http.post("/console/segments", data={"csrf": csrf, "name": "Typo", "filter": condition})
            assert await notice(http, r) == "Segment not saved: " + html.unescape(named)
        paris = json.dumps(
            {
                "all": [
                    {"field": "timezone", "op": "eq", "value": "Europe/Paris"},
                    {"field": "country", "op": "eq", "value": "FR"},
                ]
            }
        )
        r = await http.post("/console/segments/count", data={"csrf": csrf, "filter": paris})
        assert r.status_code == 200 and re.search(r'data-testid="live-count">1<', r.text), r.text
        r = await http.post("/console/campaigns/preview", data={**campaign_form(csrf), "filter": paris})
        assert r.status_code == 200 and 'data-testid="campaign-preview"><b>1</b> in the segment' in r.text, r.text
        assert (await http.get("/segments", headers={"X-Api-Key": "mkt-secret-key"})).json() == []
        assert http.rec.sent == []


async def test_a_campaign_previews_a_segment_saved_with_such_values_as_saved(program, tmp_path):
    async with recording_app(program, tmp_path, api_keys=KEYS) as http:
        csrf = await marketer(http)
        engine = http.app.state.services.engine
        insert_members(engine, {"cus_typo": SegmentProjection(tier="gold", timezone="Europe/Pariss")})
        made = datetime(2026, 1, 1, tzinfo=UTC)
        old = {
            "any": [
                {"field": "timezone", "op": "eq", "value": "Europe/Pariss"},
                {"field": "tier", "op": "eq", "value": "bronze"},
            ]
        }
        save_segment(engine, Segment(segment_id="typos", name="Typos", filter=old, created_at=made, created_by="x"))
        page = await http.get("/console/campaigns")
        assert page.status_code == 200 and "Typos" in page.text
        r = await http.post(
            "/console/campaigns/preview", data={**campaign_form(csrf), "segment": "typos", "filter": ""}
        )
        assert r.status_code == 200 and 'data-testid="campaign-preview"><b>1</b> in the segment' in r.text, r.text


async def test_a_refused_segment_reads_in_the_campaign_forms_words(program, tmp_path):
    """The segment form and its live count named a fault as pydantic does (`condition.op: Input should
    be …`, `name: String should have at least 1 character`); they name it as the campaign form does, by
    its label and path, then what to type, the same words for the same filter, escaped where shown."""
    ops = "'eq', 'ne', 'in', 'lt', 'le', 'gt', 'ge', 'between', 'is_true' or 'is_false'"
    async with recording_app(program, tmp_path, api_keys=KEYS) as http:
        csrf = await marketer(http)
        for typed, words in [
            ('{"field": "tier", "op": "eqq", "value": "gold"}', f"Filter (filter.condition.op): choose {ops}"),
            (
                '{"field": "balance", "op": "gt", "value": "<b>lots</b>"}',
                "Filter (filter.condition): balance compares with an integer, not '<b>lots</b>'",
            ),
            ("at risk", "Filter (filter): not JSON (Expecting value: line 1 column 1 (char 0))"),
        ]:
            shown = str(escape(words))  # as the pages escape it (markupsafe's, as Jinja's)
            r = await http.post("/console/segments", data={"csrf": csrf, "name": "Typo", "filter": typed})
            assert await notice(http, r) == "Segment not saved: " + words
            assert r.status_code == 422 and shown in r.text and "<b>lots" not in r.text  # the form again, as typed
            r = await http.post("/console/segments/count", data={"csrf": csrf, "filter": typed})
            assert r.status_code == 200 and f"Not a filter yet: {shown}</span>" in r.text, r.text
            r = await http.post("/console/campaigns/preview", data={**campaign_form(csrf), "filter": typed})
            assert r.status_code == 200 and f"Cannot preview yet: {shown}</span>" in r.text, r.text
        form = {"csrf": csrf, "name": "At\trisk", "filter": '{"field": "at_risk", "op": "is_true"}'}
        assert await notice(http, await http.post("/console/segments", data=form)) == (
            "Segment not saved: Name (name): write it on one line, without tabs or other control characters"
        )
        assert (await http.get("/segments", headers={"X-Api-Key": "mkt-secret-key"})).json() == []
