"""What support and marketers trip on in the console, without a browser (the app on a recorder, no
Temporal): times say their zone, signing in goes back to the page that was asked for (and never off
the console), counts are grouped in thousands, a draft campaign shows no table of dashes and its
Cancel asks first, empty pages say what to do, and a refused segment comes back as it was typed.
(The same pages in a browser at phone width: tests/test_console_phone_browser.py.)"""

from __future__ import annotations

import json
import re
import time
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import pytest
from itsdangerous import TimestampSigner
from itsdangerous.encoding import base64_encode
from markupsafe import escape

from starter.client.campaigns import CampaignClient
from starter.client.segments import SegmentClient
from starter.console.formatting import when
from starter.console.notices import MAX_AGE, notice_query
from starter.console.session import COOKIE
from starter.console.sign_in import return_to
from tests.api_kit import recording_app
from tests.campaign_kit import add_members, bonus_campaign, member_ids
from tests.console_kit import notice_after, notice_on
from tests.support_kit import PROGRAM, T0, Journeys, paying_member
from tests.test_console_session import sign_in

KEYS = "sup-secret-key:support:maria,mkt-secret-key:marketer:lee,view-secret-key:viewer:vic"


def test_times_say_they_are_utc():
    paris = timezone(timedelta(hours=1))
    assert when(datetime(2026, 12, 7, 18, 30, tzinfo=paris)) == "2026-12-07 17:30 UTC"
    assert when(None) == ""


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/console",
        "//evil.example/console",
        "/console/../..//evil.example",
        "/consolex",
        "/console//evil.example",
        "/console\\evil",
        "/console/login",
        "/console/logout",
        "/docs",
        "",
        None,
    ],
)
def test_signing_in_never_goes_back_off_the_console(target):
    assert return_to(target) is None


async def test_signing_in_goes_back_to_the_page_that_was_asked_for(program, tmp_path):
    async with recording_app(program, tmp_path, api_keys=KEYS) as http:
        asked = "/console/members?q=ada%40example.com"
        r = await http.get(asked)
        assert r.status_code == 303
        login = r.headers["location"]
        assert login == "/console/login?next=/console/members%3Fq%3Dada%2540example.com"
        page = await http.get(login)
        assert '<input type="hidden" name="next" value="/console/members?q=ada%40example.com">' in page.text
        token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)

        # a wrong key: the sign-in page again, still knowing where to go
        r = await http.post("/console/login", data={"csrf": token, "key": "nope", "next": asked})
        assert r.status_code == 303 and "next=/console/members%3Fq%3Dada%2540example.com" in r.headers["location"]

        r = await http.post("/console/login", data={"csrf": token, "key": "sup-secret-key", "next": asked})
        assert r.status_code == 303 and r.headers["location"] == asked

        # a return address off the console is ignored: the console's home
        http.cookies.clear()
        page = await http.get("/console/login?next=https://evil.example/")
        assert 'name="next"' not in page.text
        token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        r = await http.post("/console/login", data={"csrf": token, "key": "sup-secret-key", "next": "//evil.example"})
        assert r.status_code == 303 and r.headers["location"] == "/console"


async def marketer_page(http, path: str) -> str:
    await sign_in(http, "mkt-secret-key")
    page = await http.get(path)
    assert page.status_code == 200, page.text
    return page.text


async def test_counts_are_grouped_in_thousands(program, tmp_path):
    async with recording_app(program, tmp_path, api_keys=KEYS) as http:
        engine = http.app.state.services.engine
        add_members(engine, member_ids(1234))
        SegmentClient(engine).create("Everyone", {"all": []}, "test", "everyone")
        text = await marketer_page(http, "/console/campaigns")
        assert 'data-label="Members" class="num">1,234</td>' in text
        assert "Everyone (1,234)</option>" in text
        csrf = re.search(r'name="csrf" value="([^"]+)"', text).group(1)
        r = await http.post("/console/segments/count", data={"csrf": csrf, "filter": '{"all": []}'})
        assert '<b data-testid="live-count">1,234</b>' in r.text


async def test_a_draft_shows_no_table_of_dashes_and_its_cancel_asks_first(program, tmp_path):
    async with recording_app(program, tmp_path, api_keys=KEYS) as http:
        engine = http.app.state.services.engine
        await CampaignClient(None, engine, "tenure").create(bonus_campaign("draft-1", name="A draft"), "test")
        text = await marketer_page(http, "/console/campaigns/draft-1")
        assert 'data-testid="results"' not in text  # nothing reached, nothing to compare
        assert "Lift against the holdout" in text and "reached" in text  # the lift card says when results come
        cancel = re.search(r'<form [^>]*action="/console/campaigns/draft-1/cancel"[^>]*>', text).group(0)
        assert "confirm(" in cancel
        # the buttons keep their ids across the progress poll (htmx gives focus back to an element by id)
        assert 'id="campaign-start"' in text and 'id="campaign-cancel"' in text
        # times say their zone
        assert re.search(r"created \d{4}-\d\d-\d\d \d\d:\d\d UTC by test", text)


async def test_empty_pages_say_what_to_do(program, tmp_path):
    async with recording_app(program, tmp_path, api_keys=KEYS) as http:
        text = await marketer_page(http, "/console/campaigns")
        assert "No campaign yet. Write one under" in text
        assert "No saved segment yet. Write a filter under New segment" in text
        http.cookies.clear()
        await sign_in(http, "view-secret-key")  # a viewer cannot write one: told nothing it cannot do
        text = (await http.get("/console/campaigns")).text
        assert "No campaign yet.</p>" in text and "Write one" not in text
        text = (await http.get("/console/members")).text
        assert 'data-testid="search-hint"' in text and "Type a customer id, or its start" in text
        assert "Email addresses and names are hidden for your role (viewer)" in text  # not found by them


def test_a_ledger_page_and_a_campaign_progress_count_in_thousands():
    from types import SimpleNamespace

    from starter.console.web import templates

    page = templates.env.get_template("ledger_page.html").render(
        entries=[], ledger_total=12345, ledger_offset=20, page_size=20, customer_id="cus_1"
    )
    assert "12,345 entries, newest first; showing 21–40" in page
    one = templates.env.get_template("ledger_page.html").render(
        entries=[], ledger_total=1, ledger_offset=0, page_size=20, customer_id="cus_1"
    )
    assert "1 entry, newest first" in one
    progress = templates.env.get_template("campaign_progress.html").render(
        p=SimpleNamespace(
            state="running",
            segment_size=250000,
            counts=SimpleNamespace(
                applied=120000, held_out=25000, skipped={"unreachable": 1500}, failed=0, points_granted=0
            ),
            budget_left=None,
            stopped_because=None,
        ),
        c=SimpleNamespace(campaign_id="big", state="running"),
        may=lambda area: False,
    )
    for shown in ("250,000", "120,000", "25,000", "1,500"):
        assert shown in progress


async def test_a_refused_segment_comes_back_as_it_was_typed(program, tmp_path):
    """The segment form sent back to an empty page of defaults on a refusal: a filter written by hand
    was lost to one typo, or to a name already taken."""
    async with recording_app(program, tmp_path, api_keys=KEYS) as http:
        text = await marketer_page(http, "/console/campaigns")
        csrf = re.search(r'name="csrf" value="([^"]+)"', text).group(1)
        typed = (
            '{"all": [{"field": "tier", "op": "eq", "value": "gold"}, {"field": "balance", "op": "gt", "value": 5OO}]}'
        )
        r = await http.post("/console/segments", data={"csrf": csrf, "name": "Rich gold", "filter": typed})
        assert r.status_code == 422
        assert 'data-testid="segment-fault">Segment not saved: ' in r.text
        assert 'value="Rich gold"' in r.text and str(escape(typed)) in r.text
        assert re.search(r'<textarea name="filter"[^>]* aria-invalid="true">', r.text)

        fine = '{"field": "tier", "op": "eq", "value": "gold"}'
        r = await http.post("/console/segments", data={"csrf": csrf, "name": "Rich gold", "filter": fine})
        assert r.status_code == 303
        r = await http.post("/console/segments", data={"csrf": csrf, "name": "Rich gold", "filter": fine})
        assert r.status_code == 422 and "exists already" in r.text and str(escape(fine)) in r.text
        assert re.search(r'<input name="name"[^>]* aria-invalid="true">', r.text)


async def test_an_unknown_member_or_campaign_says_so_and_where_to_look(program, tmp_path):
    from starter.client import NoJourney

    class Nobody:
        async def summary(self, customer_id, *_):
            raise NoJourney(customer_id)

        timeline = upcoming = summary

    async with recording_app(program, tmp_path, api_keys=KEYS) as http:
        http.app.state.services._tenure = Nobody()
        await sign_in(http, "sup-secret-key")
        r = await http.get("/console/members/cus_nobody")
        assert r.status_code == 404
        assert "No member has the id “cus_nobody” (no journey by that id). Search by email" in r.text
        assert '<a href="/console/members">Find a member</a>' in r.text
        http.cookies.clear()
        text = await marketer_page(http, "/console/campaigns")  # signs the marketer in
        r = await http.get("/console/campaigns/nope")
        assert r.status_code == 404 and "No campaign has the id “nope”" in r.text
        assert '<a href="/console/campaigns">All campaigns</a>' in r.text and text


async def test_a_member_page_says_where_email_goes_and_in_which_zone(program, tmp_path):
    """'Why didn't they get that email?': the page showed the emails and the ones held back for 'quiet
    hours in Asia/Tokyo', but not the address mail goes to, whether marketing mail may reach it, nor the
    member's zone that the UTC times are read against."""
    from tests.support_kit import T0, Journeys, paying_member

    rules, _ = paying_member("cus_tokyo")
    async with recording_app(program, tmp_path, api_keys=KEYS) as http:
        engine = http.app.state.services.engine
        add_members(engine, ["cus_tokyo"], email="kenji@example.jp", timezone="Asia/Tokyo", country="JP")
        add_members(engine, ["cus_gone"], email="gone@example.com", email_reachable=False)
        http.app.state.services._tenure = Journeys(rules, T0)
        await sign_in(http, "sup-secret-key")
        text = (await http.get("/console/members/cus_tokyo")).text
        contact = re.search(r'data-testid="contact">(.*?)</p>', text, re.S).group(1)
        assert "kenji@example.jp" in contact and "time zone Asia/Tokyo · JP" in contact
        assert "marketing email reachable" in contact
        text = (await http.get("/console/members/cus_gone")).text
        assert "marketing email not reachable" in text


async def test_a_part_of_a_page_asks_to_sign_in_for_the_page_itself(program, tmp_path):
    """A campaign's progress poll after the session ended: the sign-in must lead back to the campaign's
    page, not to the bare progress fragment the poll asked for."""
    async with recording_app(program, tmp_path, api_keys=KEYS) as http:
        r = await http.get(
            "/console/campaigns/spring/progress?shown=running",
            headers={"HX-Request": "true", "HX-Current-URL": "http://tenure.test/console/campaigns/spring"},
        )
        assert r.status_code == 401 and r.headers["HX-Redirect"] == "/console/login?next=/console/campaigns/spring"
        r = await http.get("/console/members?q=ada", headers={"HX-Request": "true"})  # no page named: none
        assert r.headers["HX-Redirect"] == "/console/login"


async def test_a_search_with_more_matches_than_shown_says_so(program, tmp_path):
    """Twenty matches were listed and nothing said there were more: the member support looked for could
    be the twenty-first."""
    async with recording_app(program, tmp_path, api_keys=KEYS) as http:
        engine = http.app.state.services.engine
        add_members(engine, member_ids(25, "cus_many_"))
        await sign_in(http, "sup-secret-key")
        text = (await http.get("/console/members", params={"q": "cus_many"})).text
        assert text.count('<td data-label="Customer">') == 20
        assert "The first 20 matches, by id: more members match “cus_many”. Type more" in text
        text = (await http.get("/console/members", params={"q": "cus_many_0001"})).text
        assert text.count('<td data-label="Customer">') == 10 and "more members match" not in text


async def test_a_full_timeline_says_where_the_earlier_lines_are(program, tmp_path):
    from domain.intake import receive
    from domain.messages import ActivityReported
    from tests.support_kit import T0, Journeys, paying_member

    rules, outbox = paying_member("cus_busy")
    async with recording_app(program, tmp_path, api_keys=KEYS) as http:
        http.app.state.services._tenure = Journeys(rules, T0)
        await sign_in(http, "sup-secret-key")
        assert 'data-testid="timeline-cut"' not in (await http.get("/console/members/cus_busy")).text
        for n in range(250):  # a busy member: a line per login
            receive(rules, outbox, T0, ActivityReported(event_id=f"login-{n}", kind="login"))
        text = (await http.get("/console/members/cus_busy")).text
        assert "The latest 200 lines only: the ledger below has every entry" in text


async def test_revenue_per_member_is_in_the_programs_currency(program, tmp_path, monkeypatch):
    """The results table showed "Revenue per member 12.50" with no currency, where every other amount
    (the metrics page, a balance's worth) says it: 12.50 USD."""
    from storage.campaign_results import CampaignResults, Comparison, GroupFigures

    async def results(self, campaign_id):
        rate = GroupFigures(members=8, count=6, rate=0.75)
        return CampaignResults(
            campaign_id=campaign_id, run_id=campaign_id, window_start=None, window_end=None, follow_up_end=None,
            follow_up_days=30, treated=8, holdout=2, applied=8, points_granted=800,
            comparisons=[
                Comparison(metric="retained", period="since_reached", treated=rate, holdout=rate,
                           difference=0.0, ci_low=-0.1, ci_high=0.1),
                Comparison(metric="revenue_minor", period="since_reached",
                           treated=GroupFigures(members=8, total=10000.0, mean=1250.0),
                           holdout=GroupFigures(members=2, total=2000.0, mean=1000.0),
                           difference=250.0, ci_low=-75.0, ci_high=123456.0),
            ],
        )  # fmt: skip

    monkeypatch.setattr(CampaignClient, "results", results)
    async with recording_app(program, tmp_path, api_keys=KEYS) as http:
        engine = http.app.state.services.engine
        await CampaignClient(None, engine, "tenure").create(bonus_campaign("spring", name="Spring"), "test")
        text = await marketer_page(http, "/console/campaigns/spring")
        row = re.search(r"<tr><td data-label=\"Outcome\">revenue per member</td>.*?</tr>", text, re.S).group(0)
        cells = re.findall(r'class="num">(.*?)</td>', row)
        assert cells == ["12.50 USD", "10.00 USD", "+2.50 USD", "-0.75 … +1,234.56 USD"], cells
        assert program.currency == "USD"
        retained = re.search(r"<tr><td data-label=\"Outcome\">retained</td>.*?</tr>", text, re.S).group(0)
        assert "USD" not in retained and "+0.0 pts" in retained  # rates stay rates


async def test_the_sign_in_page_says_only_its_own_refusals(program, tmp_path):
    """`?error=` was shown whatever it held (escaped): a link could put a stranger's words — "call this
    number" — on Tenure's own sign-in page. It shows the refusals sign-in sends it back with, nothing else."""
    async with recording_app(program, tmp_path, api_keys=KEYS + ",app-secret-key:app:shop") as http:
        page = await http.get("/console/login", params={"error": "Session expired: call +1 555 0100 to unlock"})
        assert page.status_code == 200 and "555 0100" not in page.text
        for key, words in (("nope", "wrong key"), ("app-secret-key", "the app role cannot sign in here")):
            token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
            r = await http.post("/console/login", data={"csrf": token, "key": key})
            assert r.status_code == 303, r.text
            page = await http.get(r.headers["location"])
            assert words in page.text, page.text


class _JourneysAndCampaigns(Journeys):
    """A member's journey answered from its rules (support_kit), campaigns on the database alone: a
    draft's cancel needs no Temporal."""

    def campaigns(self, engine):
        return CampaignClient(None, engine, "tenure")


async def test_a_page_shows_only_the_notices_the_console_signed(tmp_path, monkeypatch):
    """`?notice=` was shown whatever it held: a link could put a stranger's words on the campaigns page,
    a campaign's or a member's, before signed-in staff. A page shows the notice the console signed when
    it sent the browser there after an action, for ten minutes; a crafted, altered or stale one is left
    out, and the page is the same page (200)."""
    crafted = "Your key expired: call +1 555 0100 to unlock it"
    async with recording_app(PROGRAM, tmp_path, api_keys="adm-secret-key:admin:root") as http:
        svc = http.app.state.services
        svc._tenure = _JourneysAndCampaigns(paying_member()[0], T0)
        await CampaignClient(None, svc.engine, "tenure").create(bonus_campaign("spring", name="Spring"), "test")
        await sign_in(http, "adm-secret-key")
        pages = ("/console/campaigns", "/console/campaigns/spring", "/console/members/cus_support")
        for path in pages:
            page = await http.get(path, params={"notice": crafted})
            assert page.status_code == 200 and "555 0100" not in page.text and notice_on(page.text) is None
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        actions = [
            ("/console/segments", {"name": "Everyone", "filter": '{"all": []}'}, "Segment Everyone saved."),
            ("/console/campaigns/spring/cancel", {}, "Cancel: the campaign is cancelled."),
            (
                "/console/members/cus_support/adjust",
                {"request_id": "r-1", "points": "many", "reason": "goodwill"},
                "Not adjusted: points: give a whole number, 250 to add or -250 to remove, not 'many'",
            ),
        ]
        for path, (action, form, said) in zip(pages, actions, strict=True):
            answer = await http.post(action, data={"csrf": csrf, **form})
            assert await notice_after(http, answer) == said
            signed = parse_qs(urlsplit(answer.headers["location"]).query)["notice"][0]
            stamp, signature = signed.rsplit(".", 2)[1:]
            words = base64_encode(json.dumps(crafted)).decode()
            for forged in (f"{words}.{stamp}.{signature}", http.cookies[COOKIE]):  # the session's token too
                page = await http.get(path, params={"notice": forged})
                assert page.status_code == 200 and notice_on(page.text) is None, path
        with monkeypatch.context() as past:
            past.setattr(TimestampSigner, "get_timestamp", lambda _: int(time.time()) - MAX_AGE - 1)
            stale = notice_query(svc.settings, "Adjusted by +25 points; balance now 177.")
        page = await http.get(f"/console/members/cus_support?{stale}")
        assert page.status_code == 200 and notice_on(page.text) is None
