"""What support staff see at the edges of the CLI and the console, without a server: nothing to report,
a value they typed that Tenure cannot take, and where the codec's sign-in sends them next."""

from __future__ import annotations

import re
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from domain.messages import MinimumTierRequest
from settings import Settings
from starter import cli
from starter.cli import doctor as doctor_module
from starter.cli import reconcile as reconcile_module
from starter.cli.context import Env
from starter.client import JourneyRefused, TenureClient
from starter.doctor import Diagnosis
from tests.api_kit import recording_app
from tests.console_kit import notice_after
from tests.support_kit import PROGRAM, T0, Journeys, paying_member

# ---- the CLI: nothing to report is one line, not an empty table -------------------------------------


class _Engine:
    def dispose(self) -> None:
        pass


@dataclass
class OfflineEnv(Env):
    """The CLI's environment with neither Temporal nor a database: the commands' work is patched."""

    def engine(self) -> Any:
        return _Engine()

    @asynccontextmanager
    async def tenure(self):  # type: ignore[override]
        yield object()


def invoke(*args: str):
    return CliRunner().invoke(cli.app, list(args), obj=OfflineEnv(Settings()), env={"COLUMNS": "120", "NO_COLOR": "1"})


def answers(value: Any):
    async def fake(*_: Any, **__: Any) -> Any:
        return value

    return fake


def test_doctor_prints_only_its_verdict_when_no_journey_needs_support(monkeypatch):
    monkeypatch.setattr(doctor_module, "quarantined", lambda *_: [])
    monkeypatch.setattr(doctor_module, "diagnose", answers([]))
    r = invoke("doctor")
    assert r.exit_code == 0, r.output
    assert r.stdout.strip() == "✔ no journey is stuck or has set anything aside", r.stdout

    monkeypatch.setattr(doctor_module, "diagnose", answers([Diagnosis("cus_fine")]))
    r = invoke("doctor", "cus_fine")
    assert r.exit_code == 0 and r.stdout.strip() == "✔ no journey is stuck or has set anything aside", r.stdout

    sick = Diagnosis("cus_sick", stuck=["activity billing retrying (3 attempts): 503"])
    monkeypatch.setattr(doctor_module, "diagnose", answers([Diagnosis("cus_fine"), sick]))
    r = invoke("doctor")
    assert r.exit_code == 1
    assert "journeys that need support" in r.stdout and "cus_sick" in r.stdout
    assert "cus_fine" not in r.stdout, "a journey that needs nothing is not listed under 'need support'"


def test_reconcile_with_nothing_in_the_ledger_says_so_without_an_empty_table(monkeypatch):
    monkeypatch.setattr(reconcile_module, "reconcile", answers([]))
    r = invoke("reconcile")
    assert r.exit_code == 0, r.output
    assert r.stdout.strip() == "✔ nothing to reconcile: the ledger has no entries yet", r.stdout


# ---- what to type, in the product's words (not pydantic's) -------------------------------------------


def test_the_cli_says_what_to_type_for_a_short_reason_or_an_empty_actor():
    r = invoke("member", "adjust", "cus_1", "-5", "--reason", "ab", "--actor", "support:maria")
    assert r.exit_code == 1
    assert "error: --reason: write at least 3 characters" in r.stderr, r.stderr
    r = invoke("member", "set-tier", "cus_1", "gold", "--reason", "ok", "--actor", "", "--until", "2027-01-31")
    assert r.exit_code == 1
    assert "--reason: write at least 3 characters; --actor: must not be empty" in r.stderr, r.stderr
    assert "String should" not in r.stderr


async def signed_in(http) -> str:
    """Sign the console in as support; answers the member page's CSRF token."""
    page = await http.get("/console/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    await http.post("/console/login", data={"csrf": token, "key": "support-secret-key"})
    page = await http.get("/console/members/cus_support")
    assert page.status_code == 200, page.text
    return re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)


@asynccontextmanager
async def console(tmp_path: Path):
    rules, _ = paying_member()
    async with recording_app(PROGRAM, tmp_path, api_keys="support-secret-key:support:maria") as http:
        http.app.state.services._tenure = Journeys(rules, T0)  # no update method: nothing may reach the journey
        http.csrf = await signed_in(http)
        yield http


async def notice(http, action: str, **form: str) -> str:
    answer = await http.post(f"/console/members/cus_support/{action}", data={"csrf": http.csrf, **form})
    return await notice_after(http, answer)


async def test_the_console_says_what_to_type_for_a_short_reason(tmp_path):
    async with console(tmp_path) as http:
        said = await notice(http, "adjust", request_id="r-1", points="250", reason="ab")
        assert said == "Not adjusted: reason: write at least 3 characters"
        said = await notice(http, "adjust", request_id="r-2", points="250", reason="x" * 501)
        assert said == "Not adjusted: reason: write at most 500 characters, not 501"
        said = await notice(http, "minimum-tier", request_id="t-1", tier="gold", until="2027-01-31", reason="ok")
        assert said == "Tier not set: reason: write at least 3 characters"


def test_validation_words_say_what_to_type():
    from pydantic import ValidationError

    from domain.messages import AdjustRequest
    from starter.validation_words import in_words

    def said(**fields: Any) -> str:
        with pytest.raises(ValidationError) as e:
            AdjustRequest(**{"request_id": "r", "points": 5, "reason": "goodwill", "actor": "a", **fields})
        return in_words(e.value)

    assert said(points="12") == "points: give a whole number"
    assert said(points=1.5) == "points: give a whole number"
    assert said(points=10**13) == "points: give a number at most 1,000,000,000,000"
    assert said(actor="a\nb") == "actor: write it on one line, without tabs or other control characters"
    assert said(request_id="") == "request id: must not be empty"


# ---- a console address with a value FastAPI refuses: a console page, never the API's JSON ---------


def a_console_page(answer) -> str:
    assert answer.headers["content-type"].startswith("text/html"), answer.text
    assert '<header class="top">' in answer.text and "Tenure console" in answer.text
    assert '{"error"' not in answer.text and "Input should" not in answer.text and "String should" not in answer.text
    return answer.text


async def test_a_search_too_long_answers_the_search_page_with_what_to_type(tmp_path):
    async with console(tmp_path) as http:
        answer = await http.get("/console/members", params={"q": "a" * 201})
        assert answer.status_code == 422
        html = a_console_page(answer)
        assert "Search: type at most 200 characters (a customer id, an email or the start of one), not 201." in html
        assert 'name="q"' in html, "the search form is there to try again"
        answer = await http.get("/console/members", params={"q": "a" * 201}, headers={"HX-Request": "true"})
        assert answer.status_code == 422 and "type at most 200 characters" in answer.text
        assert (await http.get("/console/members", params={"q": "a" * 200})).status_code == 200


async def test_every_console_address_refused_by_its_parameters_is_a_console_page(tmp_path):
    async with console(tmp_path) as http:
        for path in ("/console/members/bad%20id!", "/console/members/bad%20id!/ledger", "/console/members/-x"):
            answer = await http.get(path)
            assert answer.status_code == 404, (path, answer.status_code)
            html = a_console_page(answer)
            assert "No member can have the id" in html and "a customer id is 1 to 200 letters" in html
            assert 'href="/console/members"' in html
        for action in ("adjust", "minimum-tier"):
            answer = await http.post(f"/console/members/bad%20id!/{action}", data={"csrf": http.csrf})
            assert answer.status_code == 404 and "No member can have the id" in a_console_page(answer)

        answer = await http.get("/console/members/cus_support/ledger", params={"offset": "abc"})
        assert answer.status_code == 422
        assert "offset: give a whole number." in a_console_page(answer)
        answer = await http.get("/console/members/cus_support/ledger", params={"offset": "-1"})
        assert answer.status_code == 422 and "offset: give a number at least 0." in a_console_page(answer)
        answer = await http.get("/console/program/diff", params={"old": "x" * 201})
        assert answer.status_code == 422 and "old: write at most 200 characters, not 201." in a_console_page(answer)

        # the API keeps its documented JSON answer
        answer = await http.get("/members/bad%20id!", headers={"X-Api-Key": "support-secret-key"})
        assert answer.status_code == 422 and answer.json()["error"] == "invalid request: path.customer_id"
        assert http.rec.sent == []


async def test_a_console_address_that_is_no_page_is_a_console_page(tmp_path):
    async with console(tmp_path) as http:
        answer = await http.get("/console/memberz")
        assert answer.status_code == 404 and "The console has no such page." in a_console_page(answer)
        answer = await http.get("/console/members/cus_support/adjust")
        assert answer.status_code == 405 and "takes a form" in a_console_page(answer)
        assert answer.headers["Allow"] == "POST"
        assert (await http.get("/console/static/nothing.css")).status_code == 404
        assert (await http.get("/nothing")).json() == {"error": "Not Found"}


# ---- a minimum tier ends today at the earliest, five years ahead at the latest ----------------------


def test_the_minimum_tier_bound_is_today_to_five_years_ahead():
    from starter.client.tier_bounds import until_problem, until_range

    now = datetime(2026, 12, 7, 15, tzinfo=UTC)
    assert until_range(now) == (date(2026, 12, 7), date(2031, 12, 7))
    assert until_range(datetime(2028, 2, 29, tzinfo=UTC))[1] == date(2033, 2, 28)
    assert until_problem(datetime(2026, 12, 7, 23, 59, 59, tzinfo=UTC), now) is None
    assert until_problem(datetime(2031, 12, 7, 23, 59, 59, tzinfo=UTC), now) is None
    beyond = until_problem(datetime(2031, 12, 8, 23, 59, 59, tzinfo=UTC), now)
    assert (
        beyond == "until: give a last day from 2026-12-07 (today) to 2031-12-07 (at most 5 years ahead), not 2031-12-08"
    )
    past = until_problem(datetime(2026, 12, 7, 8, tzinfo=UTC), now, "--until")
    assert past == (
        "--until: give a last day from 2026-12-07 (today) to 2031-12-07 (at most 5 years ahead), "
        "not 2026-12-07 08:00 UTC"
    )


def _tier_request(until: datetime) -> MinimumTierRequest:
    return MinimumTierRequest(request_id="t-1", tier="gold", reason="key account", actor="support:maria", until=until)


async def test_the_client_refuses_a_minimum_tier_beyond_five_years_before_asking_temporal():
    tenure = TenureClient(object())  # type: ignore[arg-type] - nothing may reach Temporal
    for until in (datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC), datetime(2000, 1, 1, tzinfo=UTC)):
        with pytest.raises(JourneyRefused) as refused:
            await tenure.set_minimum_tier("cus_1", _tier_request(until))
        assert refused.value.invalid and "until: give a last day from" in refused.value.message
    assert refused.value.code == "until_not_future"


def test_the_cli_refuses_a_minimum_tier_until_9999():
    from starter.client.tier_bounds import until_range

    first, last = until_range(datetime.now(UTC))
    r = invoke("member", "set-tier", "cus_1", "gold", "--reason", "key account", "--actor", "support:maria",
               "--until", "9999-12-31")  # fmt: skip
    assert r.exit_code == 1
    assert f"--until: give a last day from {first} (today) to {last}" in r.stderr and "not 9999-12-31" in r.stderr


async def test_the_console_refuses_a_minimum_tier_until_9999_or_yesterday(tmp_path):
    from starter.client.tier_bounds import until_range

    today, last = until_range(datetime.now(UTC))
    async with console(tmp_path) as http:
        page = (await http.get("/console/members/cus_support")).text
        assert f'min="{today}" max="{last}"' in page
        for until in ("9999-12-31", (today - timedelta(days=1)).isoformat()):
            said = await notice(http, "minimum-tier", request_id="t-1", tier="gold", until=until, reason="key account")
            assert said.startswith(f"Tier not set: until: give a last day from {today} (today) to "), said
            assert said.endswith(f"(at most 5 years ahead), not {until}"), said


# ---- the codec's sign-in page says what to paste into the Temporal UI, and where -----------------------


async def test_the_codec_sign_in_page_shows_the_endpoint_to_paste_into_the_temporal_ui(tmp_path):
    async with recording_app(PROGRAM, tmp_path, api_keys="support-secret-key:support:maria") as http:
        endpoint = str(http.base_url).rstrip("/") + "/codec"
        for answer in (
            await http.get("/codec/login"),
            await http.post("/codec/login", headers={"X-Api-Key": "support-secret-key"}),
        ):
            assert answer.status_code == 200
            page = answer.text
            assert f"<code id=endpoint class=endpoint>{endpoint}</code>" in page, page
            assert "open <i>Codec Server</i> settings" in page and "<i>Include cross-origin credentials</i>" in page
            assert 'href="http://127.0.0.1:8233"' in page
            assert 'name="viewport"' in page
            assert f"Open the UI at the host of this page ({http.base_url.host})" in page, "not 127.0.0.1: said"
