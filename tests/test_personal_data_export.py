"""The export and the register of requests as an auditor reads them, without a Temporal server: the ledger
on SQLite and PostgreSQL, and a journey's state made by the domain's rules and handed over by a stand-in.

- the export says what the member allowed (consent) in one place, and every time in it is UTC;
- the CLI writes the export private from the start, in the API's JSON (ISO 8601 times);
- a member Tenure holds nothing about is said so in the API's words, by the CLI too;
- the register of exports and erasures (`GET /personal-data-requests`, `tenure member requests`): admins
  only, filtered by member, action and time, with who asked, when, why and what was done.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import pathlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from domain.account import Account
from domain.effects import Effects
from domain.intake import adopt_memory, receive
from domain.messages import EmailSuppressed, SignedUp
from domain.program import parse_program
from domain.rules import AccountRules
from settings import Settings
from starter import cli
from starter.cli import members as cli_members
from starter.cli.context import Env
from starter.client import NoJourney
from starter.personal_data import ErasureReport, ReasonNamesTheMember, erase_member, export_member, reason_problem
from storage.engine import create_engine_for
from storage.personal_data import record_request, requests_of
from storage.schema import campaign_members, customers
from tests.api_kit import api_settings, app_client

PROGRAM = parse_program((Path(__file__).resolve().parent.parent / "program.toml").read_text())
EMAIL, NAME = "ines.okonkwo@example.com", "Ines Okonkwo"
T0 = datetime(2026, 3, 2, 12, tzinfo=UTC)


def unsubscribed_account(customer_id: str) -> Account:
    account = Account.open(customer_id, PROGRAM, T0)
    adopt_memory(account, T0)
    rules, outbox = AccountRules(account, lifecycle=True, version=4), Effects()
    receive(rules, outbox, T0, SignedUp(event_id="su", email=EMAIL, name=NAME))
    receive(rules, outbox, T0 + timedelta(days=2), EmailSuppressed(event_id="sg-1", reason="unsubscribe"))
    return account


class Journeys:
    """Stands in for TenureClient: the journeys it knows by customer id."""

    def __init__(self, accounts: dict[str, Account]):
        self.accounts = accounts

    async def account(self, customer_id: str) -> Account:
        if customer_id not in self.accounts:
            raise NoJourney(customer_id)
        return self.accounts[customer_id]

    async def erase(self, customer_id: str, request):
        raise NoJourney(customer_id)  # none of these tests erases a journey: the dev server's tests do

    async def runs(self, customer_id: str) -> list:
        return []


@pytest.fixture
def ledger(db_url: str) -> Iterator[tuple[str, sa.Engine]]:
    """The ledger database, SQLite and PostgreSQL (when TENURE_TEST_POSTGRES_URL is set)."""
    engine = create_engine_for(db_url)
    yield db_url, engine
    engine.dispose()


def add_member_rows(engine: sa.Engine, customer_id: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            sa.insert(customers).values(
                customer_id=customer_id, email=EMAIL, name=NAME, program_version="v1", created_at=T0, updated_at=T0
            )
        )
        conn.execute(
            sa.insert(campaign_members).values(
                campaign_id="spring", customer_id=customer_id, group="treated", outcome="applied", at=T0
            )
        )


async def test_the_export_says_what_the_member_allowed_and_every_time_is_utc(ledger):
    _, engine = ledger
    add_member_rows(engine, "cus_ines")
    doc = await export_member(Journeys({"cus_ines": unsubscribed_account("cus_ines")}), engine, "cus_ines", "a:b")

    consent = doc["consent"]
    assert (consent["marketing_email"], consent["unsubscribed"], consent["address_blocked"]) == (
        "unsubscribed",
        True,
        None,
    )
    assert [c["text"] for c in consent["changes"]] == ["unsubscribed (unsubscribe): no more marketing email"]
    assert "transactional" in consent["basis"]
    # campaign_members was read without the schema's UTC type: its times came back without a zone on SQLite
    [membership] = doc["campaign_memberships"]
    assert membership["at"] == T0 and membership["at"].tzinfo is not None, membership

    sql_only = await export_member(Journeys({}), engine, "cus_ines", "a:b")
    assert sql_only["consent"] is None and sql_only["journey"] is None  # no journey: nothing to say


def run_cli(url: str, tmp_path: Path, journeys: Journeys, *args: str):
    """`tenure ARGS` against the SQLite ledger, the journeys handed over by the stand-in."""

    async def call(self, fn):
        return await fn(journeys)

    settings = Settings(data_dir=tmp_path, database_url=url)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Env, "call", call)
        return CliRunner().invoke(cli.app, list(args), obj=settings, env={"COLUMNS": "250", "NO_COLOR": "1"})


def test_the_cli_writes_the_export_private_from_the_start_in_the_apis_json(ledger, tmp_path, monkeypatch):
    url, engine = ledger
    add_member_rows(engine, "cus_ines")
    journeys = Journeys({"cus_ines": unsubscribed_account("cus_ines")})
    out = tmp_path / "ines.json"
    # the file must be created 0600, not created with the umask's 0644 and narrowed afterwards: with
    # narrowing switched off, only a file created private stays private
    monkeypatch.setattr(os, "fchmod", lambda fd, mode: None)
    monkeypatch.setattr(pathlib.Path, "chmod", lambda self, mode: None)
    old_umask = os.umask(0o022)
    try:
        r = run_cli(url, tmp_path, journeys, "member", "export", "cus_ines", "--actor", "admin:olga", "-o", str(out))
    finally:
        os.umask(old_umask)
    assert r.exit_code == 0, r.output
    assert oct(out.stat().st_mode & 0o777) == "0o600"

    doc = json.loads(out.read_text())
    assert doc["exported_at"].endswith("Z") and "T" in doc["exported_at"], doc["exported_at"]  # as the API says it
    assert doc["campaign_memberships"][0]["at"] == "2026-03-02T12:00:00Z"
    assert doc["consent"]["marketing_email"] == "unsubscribed" and doc["journey"]["email"] == EMAIL


def test_the_cli_says_tenure_holds_nothing_about_an_unknown_member(ledger, tmp_path):
    url, _ = ledger
    for command in (["export", "cus_nobody", "--actor", "a:b"], ["erase", "cus_nobody", "--actor", "a:b", "--yes"]):
        r = run_cli(url, tmp_path, Journeys({}), "member", *command)
        assert r.exit_code == 1, r.output
        nothing_to = "export" if command[0] == "export" else "erase"
        said = " ".join(r.output.split())
        expected = "Tenure holds nothing about customer cus_nobody: no journey and no rows in the ledger database"
        assert f"{expected}, nothing to {nothing_to}" in said, r.output


def erasure_outcome(reason: str | None, deleted: list[str], going: list[str]) -> dict:
    rows = {"customers": 1, "emails": 2, "quarantine": 0, "ledger_entries": 3}
    return {"reason": reason, "journey": "scrubbed", "runs_deleted": deleted, "runs_not_yet_deleted": going,
            "rows_scrubbed": rows}  # fmt: skip


def fill_register(engine: sa.Engine) -> None:
    """Four records, a day apart from 2026-11-30 09:00 UTC: an export and an erasure of cus_a (repeated once
    Temporal had deleted its run), an erasure of cus_b."""
    at = datetime(2026, 11, 30, 9, tzinfo=UTC)
    for days, (cid, action, actor, request_id, outcome) in enumerate(
        [
            ("cus_a", "export", "api:erin", "export-1", {"ledger": 3, "emails": 2}),
            ("cus_a", "erasure", "api:erin", "gdpr-9", erasure_outcome("ticket 9", [], ["run-1"])),
            ("cus_a", "erasure", "api:erin", "gdpr-9", erasure_outcome(None, ["run-1"], [])),
            ("cus_b", "erasure", "admin:olga", "cli-1", erasure_outcome("ticket 10", ["run-2"], [])),
        ]
    ):
        record_request(engine, cid, action, actor, request_id, outcome, at + timedelta(days=days))


async def test_the_register_of_requests_is_for_admins_and_filters(program, tmp_path):
    keys = "k-adm:admin:erin,k-sup:support,k-view:viewer,k-mkt:marketer,k-app:app"
    settings = api_settings(data_dir=tmp_path, api_keys=keys)
    async with app_client(settings, client=object(), program=program) as http:
        engine = create_engine_for(settings.db_url())
        fill_register(engine)
        admin = {"X-Api-Key": "k-adm"}

        everything = await http.get("/personal-data-requests", headers=admin)
        assert everything.status_code == 200, everything.text
        body = everything.json()
        assert body["total"] == 4
        assert [r["request_id"] for r in body["requests"]] == ["export-1", "gdpr-9", "gdpr-9", "cli-1"]
        erasure = body["requests"][1]
        said = (erasure["outcome"]["reason"], erasure["at"], erasure["actor"])
        assert said == ("ticket 9", "2026-12-01T09:00:00Z", "api:erin"), erasure

        erasures_of_a = await http.get(
            "/personal-data-requests", params={"customer_id": "cus_a", "action": "erasure"}, headers=admin
        )
        assert [r["outcome"]["runs_deleted"] for r in erasures_of_a.json()["requests"]] == [[], ["run-1"]]
        between = {"since": "2026-12-02", "until": "2026-12-03T10:00:00+01:00"}  # a date, and a time with a zone
        window = await http.get("/personal-data-requests", params=between, headers=admin)
        assert [r["at"] for r in window.json()["requests"]] == ["2026-12-02T09:00:00Z"], window.text
        first = await http.get("/personal-data-requests", params={"limit": 1}, headers=admin)
        assert first.json()["total"] == 4 and len(first.json()["requests"]) == 1
        page = await http.get("/personal-data-requests", params={"limit": 2, "offset": 2}, headers=admin)
        assert [r["at"] for r in page.json()["requests"]] == ["2026-12-02T09:00:00Z", "2026-12-03T09:00:00Z"]
        assert page.json()["total"] == 4

        for key in ("k-sup", "k-view", "k-mkt", "k-app"):
            refused = await http.get("/personal-data-requests", headers={"X-Api-Key": key})
            assert refused.status_code == 403 and refused.json()["detail"]["allowed"] == ["admin"], (key, refused.text)
        assert (await http.get("/personal-data-requests")).status_code == 401
        for bad in ({"since": "last week"}, {"action": "delete"}, {"limit": 0}, {"offset": -1}, {"customer_id": "a b"}):
            answer = await http.get("/personal-data-requests", params=bad, headers=admin)
            assert answer.status_code == 422, (bad, answer.text)
        # a time whose UTC falls outside years 1 to 9999: 422 naming the field, not a 500 from the database
        for bad in ({"since": "0001-01-01T00:00:00+01:00"}, {"until": "9999-12-31T23:59:59-05:00"}):
            answer = await http.get("/personal-data-requests", params=bad, headers=admin)
            assert answer.status_code == 422, (bad, answer.text)
            assert next(iter(bad)) in answer.text and "UTC" in answer.text, answer.text
        engine.dispose()


def test_the_cli_lists_the_register(ledger, tmp_path):
    url, engine = ledger
    fill_register(engine)
    r = run_cli(url, tmp_path, Journeys({}), "member", "requests")
    assert r.exit_code == 0, r.output
    assert "personal data requests: 4 of 4" in r.output and "ticket 9" in r.output and "ticket 10" in r.output
    assert "1 still deleting (erase again to confirm)" in r.output, r.output
    r = run_cli(url, tmp_path, Journeys({}), "member", "requests", "cus_b", "--json")
    assert r.exit_code == 0, r.output
    listed = json.loads(r.stdout)
    assert listed["total"] == 1 and listed["requests"][0]["at"] == "2026-12-03T09:00:00Z", listed
    r = run_cli(url, tmp_path, Journeys({}), "member", "requests", "--action", "export", "--since", "2026-11-30")
    assert r.exit_code == 0 and "1 of 1" in r.output and "export-1" in r.output, r.output
    r = run_cli(url, tmp_path, Journeys({}), "member", "requests", "--since", "2026-12-01", "--until", "2026-12-03")
    assert r.exit_code == 0 and "2 of 2" in r.output and "gdpr-9" in r.output, r.output
    r = run_cli(url, tmp_path, Journeys({}), "member", "requests", "--since", "0001-01-01T00:00:00+01:00")
    assert r.exit_code == 2 and "out of range" in r.output and "Traceback" not in r.output, r.output
    r = run_cli(url, tmp_path, Journeys({}), "member", "requests", "--offset", "3", "--json")
    assert [x["request_id"] for x in json.loads(r.stdout)["requests"]] == ["cli-1"], r.output
    r = run_cli(url, tmp_path, Journeys({}), "member", "requests", "--since", "last week")
    assert r.exit_code == 2 and "is not a date" in r.output, r.output


@pytest.mark.parametrize(
    "reason, refused",
    [
        ("ticket 4711", False),
        ("DSR-2026-118, asked by mail", False),
        ("Ines Okonkwo asked by mail", True),  # the name
        ("asked on the phone, okonkwo", True),  # a part of it, any case
        ("case for ines", True),
        ("ticket 12 from INES.OKONKWO@example.com", True),  # the address
        ("forwarded by someone.else@example.org", True),  # any address: it names someone
        ("inessential data only", False),  # a name part inside another word is not the name
    ],
)
def test_an_erasure_reason_that_names_the_member_is_refused(reason, refused):
    assert (reason_problem(reason, EMAIL, NAME) is not None) is refused


class Refuses(Journeys):
    """A stand-in that fails the test if the erasure reaches the journey."""

    async def erase(self, customer_id: str, request):
        raise AssertionError("the erasure went ahead")


async def test_a_reason_naming_the_member_stops_the_erasure_before_anything(ledger):
    _, engine = ledger
    add_member_rows(engine, "cus_ines")
    journeys = Refuses({"cus_ines": unsubscribed_account("cus_ines")})
    with pytest.raises(ReasonNamesTheMember, match="must not name the member"):
        await erase_member(journeys, engine, "cus_ines", "admin:olga", reason=f"request of {NAME}")
    assert requests_of(engine, "cus_ines") == []  # nothing recorded: nothing was done


def test_the_api_and_the_cli_refuse_a_reason_naming_the_member(ledger, tmp_path, program):
    url, engine = ledger
    add_member_rows(engine, "cus_ines")
    journeys = Refuses({"cus_ines": unsubscribed_account("cus_ines")})
    r = run_cli(
        url, tmp_path, journeys, "member", "erase", "cus_ines", "--actor", "a:b", "--reason", "for Ines", "--yes"
    )
    assert r.exit_code == 2 and "--reason: the reason must not name the member" in " ".join(r.output.split()), r.output

    async def through_the_api():
        settings = api_settings(data_dir=tmp_path, api_keys="k-adm:admin", database_url=url)
        async with app_client(settings, client=object(), program=program, engine=engine) as http:
            answer = await http.post(
                "/members/cus_ines/erasure", json={"reason": f"mail from {EMAIL}"}, headers={"X-Api-Key": "k-adm"}
            )
            assert answer.status_code == 422, answer.text
            [fault] = answer.json()["detail"]
            assert fault["field"] == "reason" and "must not name the member" in fault["message"], answer.text

    asyncio.run(through_the_api())


async def test_the_api_documents_the_export_document(program, tmp_path):
    """/docs tells an auditor what each part of the export is (it said only 'object')."""
    async with app_client(api_settings(data_dir=tmp_path), client=object(), program=program) as http:
        spec = (await http.get("/openapi.json")).json()
    ok = spec["paths"]["/members/{customer_id}/export"]["get"]["responses"]["200"]["content"]["application/json"]
    assert ok["schema"] == {"$ref": "#/components/schemas/MemberExport"}, ok
    parts = spec["components"]["schemas"]["MemberExport"]["properties"]
    documented = {"profile", "journey", "ledger", "emails", "redemptions", "campaign_memberships", "consent"}
    assert documented <= set(parts) and all(parts[p].get("description") for p in documented), parts
    assert spec["components"]["schemas"]["Consent"]["properties"]["marketing_email"]["enum"] == [
        "allowed",
        "unsubscribed",
        "blocked",
    ]


async def test_the_api_exports_in_its_documented_shape_and_no_cache_keeps_it(program, tmp_path):
    keys = "k-adm:admin:erin"
    settings = api_settings(data_dir=tmp_path, api_keys=keys)
    async with app_client(settings, client=object(), program=program) as http:
        engine = create_engine_for(settings.db_url())
        add_member_rows(engine, "cus_ines")
        http.app.state.services._tenure = Journeys({"cus_ines": unsubscribed_account("cus_ines")})
        admin = {"X-Api-Key": "k-adm"}
        exported = await http.get("/members/cus_ines/export", headers=admin)
        assert exported.status_code == 200, exported.text
        assert exported.headers["cache-control"] == "no-store"
        doc = exported.json()
        assert doc["consent"]["marketing_email"] == "unsubscribed" and doc["journey"]["email"] == EMAIL
        assert doc["exported_at"].endswith("Z") and doc["campaign_memberships"][0]["at"] == "2026-03-02T12:00:00Z"
        register = await http.get("/personal-data-requests", headers=admin)
        assert register.headers["cache-control"] == "no-store"
        assert [(r["action"], r["actor"]) for r in register.json()["requests"]] == [("export", "api:erin")]
        engine.dispose()


async def test_a_refused_attempt_is_logged_with_who_and_what(program, tmp_path, caplog):
    """An access log line says only '403' and the path: the refusal names the key's actor and the route."""
    caplog.set_level(logging.WARNING, logger="tenure.api")
    settings = api_settings(data_dir=tmp_path, api_keys="k-adm:admin,k-sup:support:maria")
    async with app_client(settings, client=object(), program=program) as http:
        refused = await http.get("/members/cus_ines/export", headers={"X-Api-Key": "k-sup"})
        assert refused.status_code == 403
    [line] = [r.getMessage() for r in caplog.records if "refused (403)" in r.getMessage()]
    assert line == "refused (403): api:maria, role support, may not GET /members/{customer_id}/export", line


def test_an_export_to_a_file_that_cannot_be_written_is_refused_before_it_is_made(ledger, tmp_path):
    """Refused before the export is made and recorded: the register would say it was handed out."""
    url, engine = ledger
    add_member_rows(engine, "cus_ines")
    journeys = Journeys({"cus_ines": unsubscribed_account("cus_ines")})
    for target, fault in ((tmp_path / "missing" / "x.json", "no folder"), (tmp_path, "is a folder")):
        r = run_cli(url, tmp_path, journeys, "member", "export", "cus_ines", "--actor", "a:b", "-o", str(target))
        assert r.exit_code == 2 and fault in r.output, r.output
    assert requests_of(engine, "cus_ines") == []


def test_the_cli_says_how_to_record_the_deletions_temporal_has_not_finished(ledger, tmp_path, monkeypatch):
    url, _ = ledger

    async def erase_member(tenure, engine, customer_id, actor, request_id, reason):
        return ErasureReport(
            customer_id=customer_id, request_id=request_id, actor=actor, erased_at=T0, journey="scrubbed",
            reason=reason, runs_deleted=[], runs_not_yet_deleted=["run-1"], rows_scrubbed={"customers": 1},
        )  # fmt: skip

    monkeypatch.setattr(cli_members, "erase_member", erase_member)
    command = ["member", "erase", "cus_x", "--actor", "admin:olga", "--request-id", "g-1", "--yes"]
    r = run_cli(url, tmp_path, Journeys({}), *command)
    assert r.exit_code == 0, r.output
    said = " ".join(r.output.split())
    assert "Temporal still deletes 1 run(s) in the background" in said, said
    assert "tenure member erase cus_x --actor admin:olga --request-id g-1 --yes` again in a minute" in said, said
