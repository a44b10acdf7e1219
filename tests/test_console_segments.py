"""The console's new-segment form without a browser (the app on a recorder, no Temporal): a filter
naming a tier the program in force does not have is the form's message, never a 500, and nothing is
saved; a known tier is saved, through the segments' client. (The campaign form's refusal of such a
filter: tests/test_console_campaign_form.py.)"""

from __future__ import annotations

import re
from urllib.parse import unquote_plus

from tests.api_kit import recording_app
from tests.test_console_session import sign_in

KEYS = "mkt-secret-key:marketer:maria"
TIERS = "use one of member, silver, gold, platinum"


async def marketer(http) -> str:
    """Sign in as a marketer; the session's form token."""
    await sign_in(http, "mkt-secret-key")
    page = await http.get("/console/campaigns")
    assert page.status_code == 200, page.text
    return re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)


def notice(r) -> str:
    assert r.status_code == 303, r.text
    return unquote_plus(r.headers["location"].split("notice=", 1)[1])


async def test_the_segment_form_refuses_a_tier_the_program_lacks(program, tmp_path):
    async with recording_app(program, tmp_path, api_keys=KEYS) as http:
        csrf = await marketer(http)
        form = {"csrf": csrf, "name": "Typo", "filter": '{"field": "tier", "op": "eq", "value": "bronze"}'}
        r = await http.post("/console/segments", data=form)
        assert notice(r) == f"Segment not saved: tier has no value 'bronze': {TIERS}"
        page = await http.get(r.headers["location"])
        assert page.status_code == 200 and "tier has no value &#39;bronze&#39;" in page.text
        assert (await http.get("/segments", headers={"X-Api-Key": "mkt-secret-key"})).json() == []
        form["filter"] = '{"field": "tier", "op": "in", "value": ["Gold"]}'
        assert notice(await http.post("/console/segments", data=form)).startswith(
            "Segment not saved: tier has no value 'Gold'"
        )
        form["filter"] = '{"field": "tier", "op": "in", "value": ["gold", "platinum"]}'
        assert notice(await http.post("/console/segments", data=form)) == "Segment Typo saved."
        # through the segments' client: the same id from the name, the same refusal of a taken one
        r = await http.get("/segments/typo", headers={"X-Api-Key": "mkt-secret-key"})
        assert r.status_code == 200 and r.json()["created_by"] == "console:maria", r.text
        assert notice(await http.post("/console/segments", data=form)) == (
            "Segment not saved: a segment with id 'typo' exists already"
        )
        assert http.rec.sent == []
