"""Export and erasure of a member's personal data, end to end on real servers: a dev server keeping its
state in a database file, a worker on a SQLite ledger, the API with admin and support keys.

After a full journey with emails (signed up, paid, redeemed, adjusted, a changed address, an event set
aside that quotes the address, a cancellation in the member's own words, a campaign membership):
- the dev server's database file and every history hold no email or name in plain text;
- the export (admin) returns every kind of record, and names the member;
- after the erasure, no SQL table, no log line, no history payload decrypted with the keys still
  configured, and no export holds the email addresses or the name; the deleted runs are gone from
  Temporal; the books still balance and the ledger's amounts and dates are those of before;
- a later billing event is refused and recorded; a new sign-up opens the account again;
- every export and erasure is recorded with its actor; support keys are answered 403.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer
from typer.testing import CliRunner

import worker
from domain.erasure import ErasureRequest
from domain.journey import JourneyInput, workflow_id
from domain.messages import (
    AdjustRequest,
    PaymentSucceeded,
    ProfileUpdated,
    RedeemRequest,
    SignedUp,
    SubscriptionCancelled,
)
from settings import Settings
from starter import cli
from starter.client import NoJourney
from starter.personal_data import erase_member, export_member
from starter.reconcile import reconcile_one
from storage.schema import customers, emails
from tests.api_kit import api_settings, app_client
from tests.codec_kit import found
from tests.journey_kit import email_rows, eventually, ledger_rows, payment, running_worker, start_at_version
from tests.lifecycle_kit import customer_row
from tests.payload_key_for_tests import data_converter_for_tests

EMAIL, NAME = "quintessa.marlowe@example.net", "Quintessa Marlowe"
EMAIL_2 = "q.marlowe@work.example.org"
SECRETS = (EMAIL, EMAIL_2, NAME, "Quintessa", "Marlowe", "q.marlowe")
ADMIN, SUPPORT = "k-admin", "k-support"
KEYS = f"{ADMIN}:admin:erin,{SUPPORT}:support:maria"


async def invoke_cli(settings: Settings, *args: str):
    """`tenure ARGS` as a user runs it (in a thread: the CLI has its own event loop)."""
    runner = CliRunner()
    return await asyncio.to_thread(
        runner.invoke, cli.app, list(args), obj=settings, env={"COLUMNS": "200", "NO_COLOR": "1"}
    )


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def payloads_of(message: Message) -> list[Payload]:
    """Every Payload inside a protobuf message (event attributes, failures, headers, memos...)."""
    if isinstance(message, Payload):
        return [message]
    out: list[Payload] = []
    for field, value in message.ListFields():
        if field.message_type is None:
            continue
        if isinstance(value, Message):
            out.extend(payloads_of(value))
            continue
        for item in value.values() if hasattr(value, "values") else value:  # a map, or a repeated field
            if isinstance(item, Message):
                out.extend(payloads_of(item))
    return out


async def histories(client: Client, workflow_id: str) -> dict[str, tuple[bytes, bytes]]:
    """Every run Temporal lists for the workflow id: run id -> (the history as stored, every payload
    decrypted with the keys the client holds)."""
    codec = client.data_converter.payload_codec
    assert codec is not None
    out: dict[str, tuple[bytes, bytes]] = {}
    async for w in client.list_workflows(f"WorkflowId = '{workflow_id}'"):
        try:
            history = await client.get_workflow_handle(workflow_id, run_id=w.run_id).fetch_history()
        except RPCError as e:  # deleted, and the visibility store has not caught up yet
            if e.status == RPCStatusCode.NOT_FOUND:
                continue
            raise
        stored = b"".join(e.SerializeToString() for e in history.events)
        payloads = [p for e in history.events for p in payloads_of(e)]
        decoded = await codec.decode(payloads) if payloads else []
        out[w.run_id] = (stored, b"".join(p.data for p in decoded))
    return out


def every_sql_row(engine: sa.Engine) -> bytes:
    """Every row of every table of the database, as text."""
    rows: list[str] = []
    with engine.connect() as conn:
        for table in sa.inspect(conn).get_table_names():
            rows.extend(repr(tuple(r)) for r in conn.execute(sa.text(f'select * from "{table}"')))
    return "\n".join(rows).encode()


def add_campaign_membership(engine: sa.Engine, customer_id: str) -> None:
    """A `campaign_members` row (issue 10's table; made here with the contract's columns when absent)."""
    with engine.begin() as conn:
        if not sa.inspect(conn).has_table("campaign_members"):
            conn.execute(
                sa.text(
                    "create table campaign_members (campaign_id varchar, customer_id varchar, "
                    '"group" varchar, outcome varchar, reason varchar, points_granted integer, at timestamp)'
                )
            )
        table = sa.Table("campaign_members", sa.MetaData(), autoload_with=conn)
        values: dict[str, Any] = {
            "campaign_id": "camp_spring",
            "customer_id": customer_id,
            "group": "treated",
            "outcome": "applied",
            "reason": None,
            "points_granted": 50,
            "at": datetime.now(UTC),
        }
        conn.execute(sa.insert(table).values({k: v for k, v in values.items() if k in table.c}))


def contains_personal_data(data: bytes) -> list[str]:
    return [s for s in SECRETS if found(s, data)]


@pytest.mark.devserver
@pytest.mark.timeout(300)
async def test_export_and_erasure_leave_no_personal_data(program, tmp_path, caplog, temporal_cli):
    caplog.set_level(logging.DEBUG)
    database_file = tmp_path / "temporal.db"
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_cli,
        data_converter=data_converter_for_tests(),
        ui=False,
        dev_server_log_level="error",
        dev_server_database_filename=str(database_file),
    )
    cid = f"cus_er_{uuid.uuid4().hex[:8]}"
    wid = f"customer-{cid}"
    try:
        async with running_worker(env.client, program, tmp_path, history_budget=60) as (tenure, engine):
            settings = api_settings(task_queue=tenure.task_queue, data_dir=tmp_path, api_keys=KEYS)
            async with app_client(settings, client=env.client, program=program, engine=engine) as http:
                # ---- a full journey with emails ----------------------------------------------------
                await tenure.send(cid, SignedUp(event_id="su", email=EMAIL, name=NAME, timezone="Europe/Paris"))
                for n in range(1, 4):
                    await tenure.send(cid, payment(n))
                await tenure.redeem(cid, RedeemRequest(request_id="r-1", points=100))
                redeemed = await http.post(
                    f"/members/{cid}/redemptions",
                    json={"points": 100},
                    headers={**auth(ADMIN), "Idempotency-Key": "r-2"},
                )
                assert redeemed.status_code == 200, redeemed.text
                await tenure.adjust(
                    cid, AdjustRequest(request_id="a-1", points=25, reason="goodwill", actor="support:maria")
                )
                await tenure.send(cid, ProfileUpdated(event_id="pu", email=EMAIL_2))
                # a signal that is not an event, quoting the address: set aside with its payload
                await tenure.handle(cid).signal(
                    "event", {"event": {"type": "signed_up", "event_id": "bad", "email": EMAIL, "nick": NAME}}
                )
                await tenure.send(
                    cid, SubscriptionCancelled(event_id="cx", reason="too_expensive", comment=f"{NAME} finds it dear")
                )
                add_campaign_membership(engine, cid)
                await eventually(
                    lambda: asyncio.to_thread(email_rows, engine, cid),
                    lambda rows: {EMAIL, EMAIL_2} <= {r["to_email"] for r in rows},
                    timeout=60,
                )
                settled = await eventually(
                    lambda: tenure.reconcile_view(cid), lambda v: v.seq > 0 and not v.unwritten, timeout=30
                )
                ledger_before = await eventually(
                    lambda: asyncio.to_thread(ledger_rows, engine, cid), lambda rows: len(rows) == settled.seq
                )
                assert contains_personal_data(every_sql_row(engine)), "SQL holds the member before the erasure"

                # ---- Temporal keeps no plain text; the keys read it --------------------------------
                before = await eventually(lambda: histories(env.client, wid), lambda h: len(h) >= 2, timeout=30)
                assert all(not contains_personal_data(stored) for stored, _ in before.values())
                decrypted = b"".join(d for _, d in before.values())
                assert found(EMAIL, decrypted) and found(NAME, decrypted), "the histories hold the data, encrypted"
                stored_file = b"".join(p.read_bytes() for p in sorted(tmp_path.glob("temporal.db*")))
                assert found(cid, stored_file), "the scan sees what the server keeps in plain text"
                assert not contains_personal_data(stored_file), "the dev server's database file"

                # ---- export: admins only, every kind of record -------------------------------------
                assert (await http.get(f"/members/{cid}/export", headers=auth(SUPPORT))).status_code == 403
                refused = await http.post(f"/members/{cid}/erasure", headers=auth(SUPPORT))
                assert refused.status_code == 403 and refused.json()["detail"]["allowed"] == ["admin"], refused.text
                exported = await http.get(f"/members/{cid}/export", headers=auth(ADMIN))
                assert exported.status_code == 200, exported.text
                doc = exported.json()
                assert doc["profile"]["email"] == EMAIL_2 and doc["journey"]["name"] == NAME
                assert len(doc["ledger"]) == len(ledger_before) and doc["emails"] and doc["timeline"]
                assert len(doc["redemptions"]["journey"]) == 2 and len(doc["redemptions"]["billing_credits"]) == 2
                assert [m["campaign_id"] for m in doc["campaign_memberships"]] == ["camp_spring"]
                assert [x["ref"] for x in doc["set_aside"]] == ["bad"]
                assert doc["journey"]["lifecycle"]["churn"]["comment"] == f"{NAME} finds it dear"
                assert found(EMAIL, exported.content) and found(NAME, exported.content)

                # ---- erasure ----------------------------------------------------------------------
                erased = await http.post(
                    f"/members/{cid}/erasure",
                    json={"reason": "ticket 7"},
                    headers={**auth(ADMIN), "Idempotency-Key": "gdpr-7"},
                )
                assert erased.status_code == 200, erased.text
                assert erased.headers["cache-control"] == "no-store"
                report = erased.json()
                assert report["journey"] == "scrubbed" and report["actor"] == "api:erin", report
                deleting = set(report["runs_deleted"]) | set(report["runs_not_yet_deleted"])
                assert set(before) <= deleting, report  # every run seen before was closed since
                assert report["rows_scrubbed"]["emails"] >= 2, report

                # SQL: no table holds the member, the books are those of before and balance
                assert contains_personal_data(every_sql_row(engine)) == []
                after_rows = await asyncio.to_thread(ledger_rows, engine, cid)
                books = ("seq", "key", "kind", "points", "pending_points", "balance_after", "at")
                assert [[r[k] for k in books] for r in after_rows] == [[r[k] for k in books] for r in ledger_before]
                assert (await reconcile_one(tenure, engine, cid)).ok

                # Temporal: the runs that held the data are gone; what is left decrypts to no personal data
                for run_id in before:  # Temporal deletes in the background (~30 s on the dev server)
                    kept = functools.partial(tenure.history_kept, cid, run_id)
                    await eventually(kept, lambda still: not still, timeout=120)
                after = await histories(env.client, wid)
                assert after and set(after).isdisjoint(before)
                for run_id, (stored, readable) in after.items():
                    assert contains_personal_data(stored + readable) == [], run_id
                runs = await tenure.runs(cid)  # the running one, and those it continued from since (no data)
                assert [r.running for r in runs].count(True) == 1 and set(before).isdisjoint(r.run_id for r in runs)

                # the journey still answers, with the same books, and says who erased it
                summary = await tenure.summary(cid)
                assert summary.balance == ledger_before[-1]["balance_after"]
                timeline = (await tenure.timeline(cid, 300)).items
                assert any(i.text == "personal data erased by api:erin: ticket 7" for i in timeline)

                # a retry of the same erasure erases nothing twice, and records the deletions now finished
                again = await http.post(f"/members/{cid}/erasure", headers={**auth(ADMIN), "Idempotency-Key": "gdpr-7"})
                assert again.status_code == 200, again.text
                assert again.json()["runs_not_yet_deleted"] == [], again.text
                assert sorted(again.json()["runs_deleted"]) == sorted(report["runs_not_yet_deleted"]), again.text

                # the export after: still every record of the books, no personal data
                exported = await http.get(f"/members/{cid}/export", headers=auth(ADMIN))
                assert exported.status_code == 200 and contains_personal_data(exported.content) == []
                doc = exported.json()
                assert len(doc["ledger"]) == len(ledger_before) and doc["journey"]["erasure"]["actor"] == "api:erin"
                assert [(r["action"], r["actor"]) for r in doc["personal_data_requests"]] == [
                    ("export", "api:erin"),
                    ("erasure", "api:erin"),
                    ("erasure", "api:erin"),
                ]

                # a later billing event is refused and recorded; a new sign-up opens the account again
                await tenure.send(cid, payment(9))
                await eventually(
                    lambda: tenure.timeline(cid, 300),
                    lambda t: any("evt_pay_9" in i.text and "erased" in i.text for i in t.items),
                )
                assert (await tenure.summary(cid)).balance == summary.balance
                await tenure.send(cid, SignedUp(event_id="su-again", email="fresh@example.com", name="Fresh Start"))
                account = await eventually(lambda: tenure.account(cid), lambda a: a.erasure is None)
                assert account.email == "fresh@example.com"
                await tenure.send(cid, payment(10))
                await eventually(lambda: tenure.summary(cid), lambda s: s.balance > summary.balance)
    finally:
        await env.shutdown()

    # no log line of the worker, the API or the client named the member (they name the customer id)
    assert "outbox (no SendGrid key): welcome" in caplog.text and cid in caplog.text, "the scan sees the logs"
    assert contains_personal_data(caplog.text.encode()) == [], "a log line names the member"


async def test_only_admins_export_and_erase(program, tmp_path):
    keys = "k-app:app,k-view:viewer,k-mkt:marketer,k-sup:support,k-adm:admin"
    async with app_client(api_settings(data_dir=tmp_path, api_keys=keys), client=object(), program=program) as http:
        for key in ("k-app", "k-view", "k-mkt", "k-sup"):
            exported = await http.get("/members/cus_1/export", headers={"X-Api-Key": key})
            erased = await http.post("/members/cus_1/erasure", headers={"X-Api-Key": key})
            for answer in (exported, erased):
                assert answer.status_code == 403, (key, answer.text)
                assert answer.json()["detail"]["allowed"] == ["admin"]
        assert (await http.post("/members/cus_1/erasure")).status_code == 401
        bad = await http.post("/members/cus_1/erasure", headers={"X-Api-Key": "k-adm"}, json={"reason": "x" * 501})
        assert bad.status_code == 422 and "reason" in bad.text, bad.text


@pytest.mark.timeout(180)
async def test_the_cli_exports_and_erases(dev_env, program, tmp_path, db_url):
    cid = f"cus_cli_er_{uuid.uuid4().hex[:8]}"
    async with running_worker(dev_env.client, program, tmp_path, db_url) as (tenure, engine):
        settings = Settings(
            temporal_address=dev_env.client.service_client.config.target_host,
            task_queue=tenure.task_queue,
            data_dir=tmp_path,
            database_url=db_url,
        )
        await tenure.send(cid, SignedUp(event_id="su", email=EMAIL, name=NAME))
        await tenure.send(cid, PaymentSucceeded(event_id="p", invoice_id="in_1", amount_minor=4900, currency="USD"))
        await eventually(lambda: asyncio.to_thread(email_rows, engine, cid), lambda rows: bool(rows), timeout=30)

        exported = tmp_path / "export.json"
        r = await invoke_cli(settings, "member", "export", cid, "--actor", "admin:olga", "-o", str(exported))
        assert r.exit_code == 0, r.output
        doc = json.loads(exported.read_text())
        assert doc["journey"]["email"] == EMAIL and doc["exported_by"] == "admin:olga"
        assert oct(exported.stat().st_mode & 0o777) == "0o600"

        r = await invoke_cli(settings, "member", "erase", cid, "--actor", "admin\nolga", "--yes")
        assert r.exit_code == 2 and "actor" in r.output, r.output
        r = await invoke_cli(settings, "member", "erase", cid, "--actor", "admin:olga", "--reason", "ticket 8", "--yes")
        assert r.exit_code == 0, r.output
        assert f"erased {cid}" in r.output and "1 closed run(s) deleted" in r.output, r.output

        r = await invoke_cli(settings, "member", "export", cid, "--actor", "admin:olga")
        assert r.exit_code == 0, r.output
        assert contains_personal_data(r.stdout.encode()) == []
        assert contains_personal_data(every_sql_row(engine)) == []
        doc = json.loads(r.stdout)
        assert [(x["action"], x["actor"]) for x in doc["personal_data_requests"]] == [
            ("export", "admin:olga"),
            ("erasure", "admin:olga"),
        ]
        assert any("personal data erased by admin:olga: ticket 8" == t["text"] for t in doc["timeline"])

        r = await invoke_cli(settings, "member", "erase", "cus_nobody_at_all", "--actor", "admin:olga", "--yes")
        assert r.exit_code == 1 and "Tenure holds nothing about customer cus_nobody_at_all" in r.output, r.output


async def test_a_run_of_any_version_is_erased_and_its_history_replays(time_env, program, tmp_path):
    """The update is new, so runs of every rules version have it; the erased run's history replays."""
    cid = f"cus_v1_er_{uuid.uuid4().hex[:8]}"
    async with running_worker(time_env.client, program, tmp_path) as (tenure, engine):
        await start_at_version(tenure, cid, 1, SignedUp(event_id="su", email=EMAIL, name=NAME))
        await tenure.send(cid, payment(1))
        await eventually(lambda: tenure.summary(cid), lambda s: s.balance > 0)
        result = await tenure.erase(cid, ErasureRequest(request_id="e-1", actor="admin:olga"))
        assert result.continues_as_new
        new_run = await tenure.wait_handed_over(cid, result.run_id, timedelta(seconds=30))
        account = await tenure.account(cid)
        assert (account.email, account.name, account.erasure.actor) == (None, None, "admin:olga")
        retried = await tenure.erase(cid, ErasureRequest(request_id="e-1", actor="admin:olga"))
        assert (retried.run_id, retried.continues_as_new, retried.erased_at) == (new_run, False, result.erased_at)

        erased_run = await time_env.client.get_workflow_handle(workflow_id(cid), run_id=result.run_id).fetch_history()
        replayer = Replayer(
            workflows=worker.WORKFLOWS, workflow_runner=worker.RUNNER, data_converter=data_converter_for_tests()
        )
        assert (await replayer.replay_workflow(erased_run)).replay_failure is None
        started = erased_run.events[0].workflow_execution_started_event_attributes
        [first] = await time_env.client.data_converter.decode(started.input.payloads, [JourneyInput])
        assert first.rules_version == 1
        customer = await asyncio.to_thread(customer_row, engine, cid)
        assert customer is not None and (customer["email"], customer["name"]) == (None, None)


async def test_a_member_known_to_sql_only_is_erased_and_an_unknown_one_is_404(dev_env, program, tmp_path):
    cid = f"cus_sql_er_{uuid.uuid4().hex[:8]}"
    async with running_worker(dev_env.client, program, tmp_path) as (tenure, engine):
        now = datetime.now(UTC)
        with engine.begin() as conn:  # what a journey terminated long ago left behind
            conn.execute(
                sa.insert(customers).values(
                    customer_id=cid, email=EMAIL, name=NAME, program_version="v1", created_at=now, updated_at=now
                )
            )
            conn.execute(
                sa.insert(emails).values(
                    key=f"{cid}/welcome", customer_id=cid, purpose="welcome", template_id="t", category="transactional",
                    to_email=EMAIL, status="outbox", payload={"to": EMAIL}, created_at=now,
                )
            )  # fmt: skip
        report = await erase_member(tenure, engine, cid, "admin:olga")
        assert (report.journey, report.runs_deleted, report.rows_scrubbed["customers"]) == ("none", [], 1)
        assert contains_personal_data(every_sql_row(engine)) == []
        document = await export_member(tenure, engine, cid, "admin:olga")
        assert document["journey"] is None and document["profile"]["email"] is None
        with pytest.raises(NoJourney):
            await erase_member(tenure, engine, "cus_unknown_to_all", "admin:olga")
        with pytest.raises(NoJourney):
            await export_member(tenure, engine, "cus_unknown_to_all", "admin:olga")
