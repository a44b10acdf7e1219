"""The `tenure` CLI (starter/cli/) and the reconcile logic (starter/reconcile.py).

The CLI runs in a thread (it has its own event loop and its own Temporal client) against the
dev server, with a worker of this test on the same ledger database.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from temporalio.service import RPCError, RPCStatusCode
from typer.testing import CliRunner

from domain.effects import LedgerEntry
from domain.journey import WORKFLOW_NAME, JourneyInput, workflow_id
from domain.messages import ActivityReported
from domain.rejections import Rejection
from domain.summary import ReconcileView
from settings import Settings
from starter import cli
from starter.cli import context as cli_context
from starter.reconcile import compare, reconcile
from storage.ledger_reads import Totals
from tests.journey_kit import eventually, ledger_rows, payment, running_worker

ROOT = Path(__file__).resolve().parent.parent
T0 = datetime(2026, 1, 1, tzinfo=UTC)
NEXT_YEAR = (datetime.now(UTC) + timedelta(days=365)).date().isoformat()  # a minimum tier's last day


def invoke(settings: Settings, *args: str):
    """Run `tenure ARGS` as a user would, with the given settings in place of the environment."""
    runner = CliRunner()
    return runner.invoke(cli.app, list(args), obj=settings, env={"COLUMNS": "200", "NO_COLOR": "1"})


async def ainvoke(settings: Settings, *args: str):
    return await asyncio.to_thread(invoke, settings, *args)


def out(result) -> str:
    return result.stdout + result.stderr


# ---- reconcile logic, no server -----------------------------------------------------------------


def entry(seq: int, points: int = 0, pending: int = 0) -> LedgerEntry:
    return LedgerEntry(
        customer_id="c",
        seq=seq,
        key=f"c/{seq}",
        kind="earn",
        points=points,
        pending_points=pending,
        balance_after=0,
        pending_after=0,
        at=T0,
        program_version="v",
    )


def totals(points: int, seq: int, count: int | None = None, pending: int = 0, last: int | None = None) -> Totals:
    return Totals(
        points_sum=points,
        pending_sum=pending,
        max_seq=seq,
        count=seq if count is None else count,
        last_balance_after=points if last is None else last,
        last_pending_after=pending,
    )


def view(balance: int, seq: int, unwritten: list[LedgerEntry] = (), pending: int = 0) -> ReconcileView:
    return ReconcileView(customer_id="c", balance=balance, pending=pending, seq=seq, unwritten=list(unwritten))


def test_compare_healthy_and_with_entries_not_written_yet():
    assert compare("c", totals(300, 3), view(300, 3)).ok
    row = compare("c", totals(300, 3), view(450, 5, [entry(4, 100), entry(5, 50)]))
    assert row.ok and row.expected_points == 300 and row.not_in_ledger == 2
    # the batch is committed but the workflow has not heard yet: still unwritten for it
    row = compare("c", totals(450, 5), view(450, 5, [entry(4, 100), entry(5, 50)]))
    assert row.ok and row.not_in_ledger == 0
    row = compare("c", totals(0, 1, pending=200), view(0, 2, [entry(2, pending=-200)], pending=0))
    assert row.ok, row.problems


def test_compare_names_each_disagreement():
    row = compare("c", totals(301, 3), view(300, 3))
    assert not row.ok and "ledger points sum 301 ≠ 300 expected" in row.problems[0]
    row = compare("c", totals(200, 2), view(300, 3))
    assert any("ledger ends at seq 2, journey expects 3" in p for p in row.problems)
    row = compare("c", totals(300, 3, count=2), view(300, 3))
    assert any("gap" in p for p in row.problems)
    row = compare("c", totals(0, 0, pending=10), view(0, 0))
    assert any("pending sum 10" in p for p in row.problems)
    row = compare("c", totals(300, 3, last=250), view(300, 3))
    assert any("balance_after 250" in p for p in row.problems)


def test_compare_reports_entries_that_can_never_be_written_not_as_not_yet_written():
    # seq 4 clashes with another row of the ledger (an older run retries it for ever): not "not yet written"
    row = compare("c", totals(300, 3), view(350, 4, [entry(4, 50)]), clashing={4: "its key is recorded as seq 2"})
    assert not row.ok and row.not_in_ledger == 0 and row.cannot_write == 1
    assert row.problems == ["1 entry cannot be written: seq 4 (earn +50): its key is recorded as seq 2"]
    # set aside by the journey (rules version 2): reported, and not expected in the ledger
    aside = Rejection(at=T0, what="ledger_entry", ref="c/5", type="earn", reason="seq taken", entry=entry(5, 70))
    v = view(370, 6, [entry(6, 0)]).model_copy(update={"unwritable": [aside], "unwritable_total": 1})
    row = compare("c", totals(300, 4), v)
    assert row.problems[0] == "1 entry cannot be written: seq 5 (earn +70): seq taken", row.problems
    assert row.expected_points == 300 and row.not_in_ledger == 1, "its points are not expected in the ledger"


# ---- the CLI against the dev server -------------------------------------------------------------


@pytest.fixture
def cid() -> str:
    return f"cli_{uuid.uuid4().hex[:8]}"


async def settle(tenure, engine, cid: str) -> None:
    v = await eventually(lambda: tenure.reconcile_view(cid), lambda v: v.seq > 0 and not v.unwritten)
    await eventually(lambda: asyncio.to_thread(ledger_rows, engine, cid), lambda rows: len(rows) == v.seq)


async def test_member_commands(dev_env, program, tmp_path, cid):
    async with running_worker(dev_env.client, program, tmp_path) as (tenure, engine):
        settings = Settings(
            temporal_address=dev_env.client.service_client.config.target_host,
            task_queue=tenure.task_queue,
            data_dir=tmp_path,
        )
        await tenure.send(cid, payment(1))
        await tenure.send(cid, payment(2))
        await tenure.send(cid, ActivityReported(event_id="evt_survey", kind="survey_answered"))
        await settle(tenure, engine, cid)
        balance = (await tenure.summary(cid)).balance
        assert balance >= 250

        r = await ainvoke(settings, "member", "show", cid)
        assert r.exit_code == 0, out(r)
        text = r.stdout
        for part in (
            f"member {cid}",
            f"{balance:,} points",
            "tier",
            "member",
            "why",
            "new member",
            "next tier",
            "silver",
            "pay:in_1",
            "pay:in_2",
            "act:evt_survey",
            "expires",
            "in 364 days",
        ):
            assert part in text, f"{part!r} not in:\n{text}"

        r = await ainvoke(settings, "member", "ledger", cid, "--limit", "2")
        assert r.exit_code == 0, out(r)
        assert "2 of" in r.stdout and "evt_survey" in r.stdout and "in_1" not in r.stdout

        r = await ainvoke(settings, "member", "timeline", cid)
        assert r.exit_code == 0, out(r)
        assert "payment in_1" in r.stdout and "survey_answered" in r.stdout

        # --json, for scripts: what the HTTP API answers
        r = await ainvoke(settings, "member", "show", cid, "--json")
        assert r.exit_code == 0 and json.loads(r.stdout)["balance"] == balance, out(r)
        r = await ainvoke(settings, "member", "ledger", cid, "--limit", "2", "--json")
        page = json.loads(r.stdout)
        assert page["total"] == 3 and page["offset"] == 1 and [e["seq"] for e in page["entries"]] == [2, 3], page
        r = await ainvoke(settings, "member", "timeline", cid, "--json")
        assert any("survey_answered" in item["text"] for item in json.loads(r.stdout)["items"]), r.stdout

        r = await ainvoke(
            settings,
            "member",
            "adjust",
            cid,
            "-50",
            "--reason",
            "duplicate survey",
            "--actor",
            "support:maria",
            "--request-id",
            "adj-1",
        )
        assert r.exit_code == 0, out(r)
        assert f"adjusted -50 points for {cid}: balance now {balance - 50:,}" in r.stdout
        r = await ainvoke(
            settings,
            "member",
            "adjust",
            cid,
            "-50",
            "--reason",
            "duplicate survey",
            "--actor",
            "support:maria",
            "--request-id",
            "adj-1",
        )
        assert r.exit_code == 0 and f"balance now {balance - 50:,}" in r.stdout, "same request id: same answer"
        await settle(tenure, engine, cid)
        row = [x for x in ledger_rows(engine, cid) if x["kind"] == "adjust"]
        assert len(row) == 1 and row[0]["actor"] == "support:maria" and row[0]["reason"] == "duplicate survey"

        r = await ainvoke(settings, "member", "adjust", cid, "-100000", "--reason", "too much", "--actor", "s")
        assert r.exit_code == 1 and f"refused: cannot remove 100000 points: balance is {balance - 50}" in r.stderr

        r = await ainvoke(
            settings,
            "member",
            "set-tier",
            cid,
            "gold",
            "--reason",
            "key account",
            "--actor",
            "support:maria",
            "--until",
            NEXT_YEAR,
        )
        assert r.exit_code == 0, out(r)
        assert "tier now gold" in r.stdout
        r = await ainvoke(settings, "member", "show", cid)
        assert "gold" in r.stdout and "minimum tier" in r.stdout and "key account" in r.stdout

        r = await ainvoke(
            settings, "member", "set-tier", cid, "diamond", "--reason", "vip", "--actor", "s", "--until", NEXT_YEAR
        )
        assert r.exit_code == 1 and "unknown tier 'diamond'" in r.stderr
        r = await ainvoke(
            settings, "member", "set-tier", cid, "gold", "--reason", "vip", "--actor", "s", "--until", "someday"
        )
        assert r.exit_code == 2 and "not a date" in out(r)

        # segments follow the journey: the minimum tier shows up in the gold segment
        r = await eventually(lambda: ainvoke(settings, "segment", "--tier", "gold"), lambda r: cid in r.stdout)
        assert r.exit_code == 0 and "1 member(s)" in r.stdout
        r = await ainvoke(settings, "segment", "--at-risk")
        assert r.exit_code == 0 and cid not in r.stdout


async def test_unknown_customer_and_temporal_down(dev_env, program, tmp_path):
    async with running_worker(dev_env.client, program, tmp_path) as (tenure, engine):
        settings = Settings(
            temporal_address=dev_env.client.service_client.config.target_host,
            task_queue=tenure.task_queue,
            data_dir=tmp_path,
        )
        nobody = f"nobody_{uuid.uuid4().hex[:6]}"
        for args in (
            ("member", "show", nobody),
            ("member", "timeline", nobody),
            ("reconcile", nobody),
            ("member", "adjust", nobody, "10", "--reason", "hello", "--actor", "s"),
            ("member", "set-tier", nobody, "gold", "--reason", "hello", "--actor", "s", "--until", NEXT_YEAR),
        ):
            r = await ainvoke(settings, *args)
            assert r.exit_code == 1, (args, out(r))
            assert f"no journey for customer {nobody}" in r.stderr, (args, out(r))
        with pytest.raises(RPCError) as err:  # adjusting an unknown customer did not open a journey
            await tenure.handle(nobody).describe()
        assert err.value.status == RPCStatusCode.NOT_FOUND, err.value
        r = await ainvoke(settings, "member", "ledger", nobody)
        assert r.exit_code == 1 and f"no ledger entries for customer {nobody}" in r.stderr

    down = Settings(temporal_address="127.0.0.1:1", data_dir=tmp_path)
    r = await ainvoke(down, "member", "show", "cus_1")
    assert r.exit_code == 1
    assert "cannot reach Temporal at 127.0.0.1:1: is `make run` up?" in r.stderr
    r = await ainvoke(down, "--address", "127.0.0.1:2", "reconcile")
    assert r.exit_code == 1 and "cannot reach Temporal at 127.0.0.1:2" in r.stderr
    r = await ainvoke(down, "--address", "no-such-host.invalid:7233", "member", "show", "cus_1")
    assert r.exit_code == 1, out(r)  # the resolver's own words, not the bridge's error chain cut short
    assert "(failed to lookup address information" in " ".join(r.stderr.split()) and "…" not in r.stderr, out(r)
    r = await ainvoke(Settings(data_dir=tmp_path / "nowhere"), "member", "ledger", "cus_1")
    assert r.exit_code == 1 and "no ledger database at" in r.stderr


async def test_a_journey_without_a_worker_gets_a_clear_error(dev_env, program, tmp_path, monkeypatch):
    monkeypatch.setattr(cli_context, "QUERY_TIMEOUT", timedelta(seconds=1))
    orphan = f"orphan_{uuid.uuid4().hex[:6]}"
    handle = await dev_env.client.start_workflow(
        WORKFLOW_NAME,
        JourneyInput(customer_id=orphan, program=program),
        id=workflow_id(orphan),
        task_queue=f"no-worker-{uuid.uuid4().hex[:6]}",
    )
    try:
        settings = Settings(temporal_address=dev_env.client.service_client.config.target_host, data_dir=tmp_path)
        for args in (
            ("member", "show", orphan),
            ("member", "adjust", orphan, "5", "--reason", "hello", "--actor", "s"),
        ):
            r = await ainvoke(settings, *args)
            assert r.exit_code == 1, out(r)
            assert f"no worker answered for customer {orphan} within 1 s: is the worker (`make run`) up?" in r.stderr
    finally:
        await handle.terminate("test over")


async def test_reconcile_detects_a_tampered_ledger(dev_env, program, tmp_path):
    async with running_worker(dev_env.client, program, tmp_path) as (tenure, engine):
        settings = Settings(
            temporal_address=dev_env.client.service_client.config.target_host,
            task_queue=tenure.task_queue,
            data_dir=tmp_path,
        )
        ids = [f"rec{i}_{uuid.uuid4().hex[:6]}" for i in range(3)]
        for i, c in enumerate(ids):
            for n in range(i + 1):
                await tenure.send(c, payment(n))
        for c in ids:
            await settle(tenure, engine, c)

        rows = await reconcile(tenure, engine)
        assert [r.customer_id for r in rows] == sorted(ids) and all(r.ok for r in rows), rows

        r = await ainvoke(settings, "reconcile")
        assert r.exit_code == 0, out(r)
        assert "✔ 3 customers reconcile" in r.stdout and r.stdout.count("✔") >= 4
        r = await ainvoke(settings, "reconcile", ids[0])
        assert r.exit_code == 0 and "✔ 1 customer reconcile" in r.stdout

        victim = ids[1]
        with engine.begin() as conn:
            conn.execute(
                sa.text("update ledger_entries set points = points + 7 where customer_id = :c and seq = 1"),
                {"c": victim},
            )
        r = await ainvoke(settings, "reconcile")
        assert r.exit_code == 1, out(r)
        assert "✘ 1 of 3 customers do not reconcile" in r.stdout
        line = next(x for x in r.stdout.splitlines() if victim in x)
        assert "✘" in line, "its row is marked"
        assert f"✘ {victim}: ledger points sum" in r.stdout, "and its problem named under the table"
        r = await ainvoke(settings, "reconcile", victim)
        assert r.exit_code == 1 and "✘" in r.stdout
        r = await ainvoke(settings, "reconcile", ids[0])
        assert r.exit_code == 0, "the others still reconcile"

        with engine.begin() as conn:  # a lost row: a gap, and a sum that no longer matches
            conn.execute(sa.text("delete from ledger_entries where customer_id = :c and seq = 1"), {"c": ids[2]})
        (row,) = await reconcile(tenure, engine, ids[2])
        assert not row.ok and any("gap" in p for p in row.problems)


def test_program_check(tmp_path):
    settings = Settings(data_dir=tmp_path)
    r = invoke(settings, "program", "check", str(ROOT / "program.toml"))
    assert r.exit_code == 0 and "is valid" in r.stdout
    r = invoke(settings, "program", "check")  # the configured path
    assert r.exit_code == 0 and "program.toml" in r.stdout
    bad = tmp_path / "bad.toml"
    text = (ROOT / "program.toml").read_text()
    bad.write_text(text.replace("monthly_payment = 100", "monthly_payment = -5").replace("points = 1500", "points = 0"))
    r = invoke(settings, "program", "check", str(bad))
    assert r.exit_code == 2
    assert "earning.monthly_payment" in r.stderr and "redemption.catalog.0.points" in r.stderr
    r = invoke(settings, "program", "check", str(tmp_path / "missing.toml"))
    assert r.exit_code == 2 and "not found" in r.stderr
