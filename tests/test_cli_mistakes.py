"""`tenure` under the mistakes real people make (a walk-through as support and as a marketer): each
answer is one line that says what went wrong and what to do, with a non-zero exit status — never a
Python traceback."""

from __future__ import annotations

import base64
import json
import os
import sqlite3
import uuid

import pytest
import typer
from rich.console import Console
from typer.testing import CliRunner

from domain.campaigns import Counts, Progress
from settings import Settings
from starter import cli
from starter.cli import campaign as cli_campaign
from starter.cli import segment as cli_segment
from starter.cli.campaign import Watch, campaign_message
from starter.client.campaigns import CampaignStateError
from storage.migrate import db_upgrade
from tests.journey_kit import payment, running_worker
from tests.test_cli import ainvoke, invoke, out

NOWHERE = "127.0.0.1:1"  # no Temporal here: a command that reached for it would say so instead
DB_DOWN = "postgresql+psycopg://tenure:tenure@127.0.0.1:1/tenure"  # nothing listens on port 1


def no_traceback(result) -> None:
    assert "Traceback" not in out(result), out(result)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)


def test_export_to_a_folder_that_does_not_exist_is_refused_before_anything_is_exported(tmp_path):
    settings = Settings(data_dir=tmp_path, temporal_address=NOWHERE)
    r = invoke(settings, "member", "export", "cus_1", "--actor", "admin:maria", "-o", str(tmp_path / "no" / "x.json"))
    no_traceback(r)
    assert r.exit_code == 2, out(r)
    assert f"--output: no folder {tmp_path / 'no'}: create it" in r.stderr
    r = invoke(settings, "member", "export", "cus_1", "--actor", "admin:maria", "-o", str(tmp_path))
    assert r.exit_code == 2 and f"--output: {tmp_path} is a folder: name a file in it" in r.stderr, out(r)
    assert "cannot reach Temporal" not in out(r), "refused before the export is asked for"


@pytest.mark.parametrize(
    "args",
    [
        ("segment", "list"),
        ("segment", "--at-risk"),
        ("campaign", "list"),
        ("campaign", "preview", "gold-weekend"),
        ("member", "ledger", "cus_1"),
        ("metrics",),
    ],
)
def test_a_ledger_database_that_does_not_answer_is_one_line(tmp_path, args):
    r = invoke(Settings(data_dir=tmp_path, database_url=DB_DOWN), *args)
    no_traceback(r)
    assert r.exit_code == 1, out(r)
    assert "cannot open the ledger database: " in r.stderr and "Connection refused" in r.stderr, out(r)
    assert "is TENURE_DATABASE_URL (or --db) right?" in r.stderr


def test_a_database_url_that_is_none_is_a_usage_error(tmp_path):
    for args in (
        ("--db", "nonsense", "segment", "list"),
        ("--db", "tenure.db", "campaign", "list"),
        ("--db", "postgresql://u:pw@h:abc/db", "segment", "list"),  # a port that is not a number
    ):
        r = invoke(Settings(data_dir=tmp_path), *args)
        no_traceback(r)
        assert r.exit_code == 2, out(r)
        assert "--db: not a database URL" in r.stderr and "postgresql+psycopg://" in r.stderr, out(r)


def test_ctrl_c_is_one_line_and_the_shells_status(tmp_path, monkeypatch):
    def interrupted(*_args, **_kwargs):
        raise KeyboardInterrupt

    settings = Settings(data_dir=tmp_path)
    db_upgrade(settings)
    monkeypatch.setattr(cli_segment.SegmentClient, "list", interrupted)
    r = invoke(settings, "segment", "list")
    no_traceback(r)
    assert r.exit_code == 130 and "interrupted (Ctrl-C)" in r.stderr, out(r)


def test_ctrl_c_stops_watching_a_campaign_not_the_campaign(tmp_path, monkeypatch):
    async def interrupted(*_args, **_kwargs):
        raise KeyboardInterrupt  # as asyncio.run raises it on SIGINT while the bar is shown

    monkeypatch.setattr(cli_campaign, "with_campaigns", interrupted)
    r = invoke(Settings(data_dir=tmp_path), "campaign", "status", "gold-weekend")
    no_traceback(r)
    assert r.exit_code == 0, out(r)
    assert "stopped watching: campaign gold-weekend goes on (`tenure campaign status gold-weekend`" in r.stdout


def test_the_live_status_keeps_counts_and_time_whole_at_80_columns():
    watching = Watch("gold-members-double-weekend-2026")
    watching.show(
        Progress(
            campaign_id="gold-members-double-weekend-2026",
            run_id="gold-members-double-weekend-2026",
            state="running",
            segment_size=120_000,
            counts=Counts(targeted=61_234, applied=55_000, held_out=6_100, skipped={"inactive": 134}),
        )
    )
    screen = Console(width=80, record=True, color_system=None)
    screen.print(watching.view)
    text = screen.export_text()
    assert "gold-members-double-weekend-2026 running" in text
    assert "61234/120000" in text and "0:00:0" in text, text
    assert "applied 55000 · held out 6100 · skipped 134 · failed 0" in text, text
    assert "…" not in text, text


async def test_payloads_under_another_key_name_the_keys_make_run_uses(dev_env, program, tmp_path):
    async with running_worker(dev_env.client, program, tmp_path) as (tenure, _engine):
        cid = f"keys_{uuid.uuid4().hex[:6]}"
        await tenure.send(cid, payment(1))
        other = base64.b64encode(os.urandom(32)).decode()
        settings = Settings(
            temporal_address=dev_env.client.service_client.config.target_host,
            task_queue=tenure.task_queue,
            data_dir=tmp_path,
            payload_keys=f"another-shell:{other}",
        )
        r = await ainvoke(settings, "member", "show", cid)
        no_traceback(r)
        assert r.exit_code == 1, out(r)
        assert "which is not configured (configured: another-shell)" in r.stderr, out(r)
        assert "run `tenure` with the keys `make run` uses" in r.stderr


def test_the_goals_table_names_the_program_files_goals_table(tmp_path):
    settings = Settings(data_dir=tmp_path)
    db_upgrade(settings)
    r = invoke(settings, "metrics", "--weeks", "2")
    assert r.exit_code == 0, out(r)
    assert "Goals (the program file's [[goals]])" in r.stdout, "rich markup ate [[goals]]: it read `[]`"


# ---- not found, or not now: what to type instead -----------------------------------------------------


def test_an_unknown_campaign_or_segment_says_where_to_look(tmp_path):
    settings = Settings(data_dir=tmp_path)
    db_upgrade(settings)
    r = invoke(settings, "campaign", "preview", "gold-weeknd")
    assert r.exit_code == 1 and "no campaign 'gold-weeknd': `tenure campaign list` shows the campaigns" in r.stderr
    definition = tmp_path / "c.toml"
    definition.write_text('id = "c1"\nname = "C"\nkind = "bonus"\nsegment = "goldd"\nbonus_points = 10\n')
    r = invoke(settings, "campaign", "create", str(definition))
    assert r.exit_code == 1, out(r)
    assert "segment 'goldd' does not exist: `tenure segment list` shows the saved segments" in r.stderr
    for args in (("segment", "show", "goldd"), ("segment", "preview", "goldd")):
        r = invoke(settings, *args)
        assert r.exit_code == 1 and "no segment 'goldd': `tenure segment list` shows" in r.stderr, out(r)
    r = invoke(settings, "segment", "preview")
    assert r.exit_code == 2 and "give a saved segment's id, or a filter as --where" in r.stderr, out(r)
    assert invoke(settings, "segment", "create", "--name", "Gold", "-w", "tier eq gold").exit_code == 0
    r = invoke(settings, "segment", "create", "--name", "Gold", "-w", "tier eq gold")
    assert r.exit_code == 1 and "a segment with id 'gold' exists already: give another --id" in r.stderr, out(r)


@pytest.mark.parametrize(
    "error, doing, hint",
    [
        (CampaignStateError("c1", "draft", "campaign 'c1' is draft"), "pause", "`tenure campaign start c1`"),
        (CampaignStateError("c1", "completed", "campaign 'c1' is completed"), "cancel", "`tenure campaign results c1`"),
        (
            CampaignStateError("c1", "completed", "campaign 'c1' is completed, not a draft"),
            "start",
            "a campaign runs once: give its file a new id",
        ),
        (
            CampaignStateError("", "", "WrongState: a paused campaign cannot pause"),
            "pause",
            "`tenure campaign resume c1`",
        ),
        (CampaignStateError("", "", "NotPaused: the campaign is not paused"), "resume", "`tenure campaign status c1`"),
    ],
)
def test_a_campaign_in_the_wrong_state_says_what_to_type(error, doing, hint):
    message = campaign_message(error, doing, "c1")
    assert hint in message and not message.startswith(("WrongState", "NotPaused")), message


class PausedCampaign:
    """A campaign client whose campaign runs, then is paused (as `tenure campaign pause` does)."""

    task_queue = "tenure"
    unanswered = False

    def __init__(self, states: list[str]):
        self.states = states

    async def status(self, campaign_id: str) -> Progress:
        state = self.states.pop(0) if len(self.states) > 1 else self.states[0]
        return Progress(campaign_id=campaign_id, run_id=campaign_id, state=state, segment_size=4)


@pytest.mark.parametrize("states", [["paused"], ["running", "running", "paused"]])
def test_watching_a_paused_campaign_ends_and_says_how_it_goes_on(tmp_path, monkeypatch, states):
    async def with_campaigns(_env, fn, temporal=True, doing=("", "")):
        return await fn(PausedCampaign(list(states)))

    monkeypatch.setattr(cli_campaign, "with_campaigns", with_campaigns)
    monkeypatch.setattr(cli_campaign, "REFRESH", 0.01)
    r = invoke(Settings(data_dir=tmp_path), "campaign", "status", "c1")  # before: followed a paused one for ever
    assert r.exit_code == 0, out(r)
    assert "c1: paused — targeted 0 of 4" in r.stdout and "(`tenure campaign resume c1` resumes it)" in r.stdout


# ---- the help: each command says what it does, each argument and option what it takes -----------------


def commands(group, path=("tenure",)):
    for name, command in sorted(group.commands.items()):
        yield (*path, name), command
        if hasattr(command, "commands"):
            yield from commands(command, (*path, name))


def test_every_command_argument_and_option_has_help():
    root = typer.main.get_command(cli.app)
    bare = []
    for path, command in commands(root):
        if not (command.help or "").strip():
            bare.append(" ".join(path))
        for param in command.params:
            if param.name != "help" and not (getattr(param, "help", None) or "").strip():
                bare.append(f"{' '.join(path)} {param.name}")
    assert not bare, f"no help text: {bare}"


@pytest.mark.parametrize(
    "command",
    [
        ("member", "adjust"),
        ("member", "set-tier"),
        ("member", "export"),
        ("segment", "create"),
        ("segment", "preview"),
        ("campaign", "create"),
        ("campaign", "results"),
    ],
)
def test_the_commands_people_get_wrong_show_an_example(tmp_path, command):
    r = invoke(Settings(data_dir=tmp_path), *command, "--help")
    assert r.exit_code == 0, out(r)
    assert "Example" in r.stdout or "E.g." in r.stdout, r.stdout


# ---- files as people have them: a folder, UTF-16 from Notepad, UTF-8 with a byte-order mark -------------

CAMPAIGN = 'id = "bom-campaign"\nname = "Bonus"\nkind = "bonus"\nsegment = "gold"\nbonus_points = 10\n'
SEGMENT = 'name = "Gold"\n[filter]\nall = [{field = "tier", op = "eq", value = "gold"}]\n'


@pytest.mark.parametrize(
    "command, what",
    [
        (("campaign", "create"), "campaign file"),
        (("segment", "create"), "segment file"),
        (("program", "check"), "program file"),
    ],
)
def test_a_file_that_is_a_folder_or_not_utf8_is_named(tmp_path, command, what):
    settings = Settings(data_dir=tmp_path)
    db_upgrade(settings)
    utf16 = tmp_path / "saved-by-notepad.toml"
    utf16.write_text(CAMPAIGN, encoding="utf-16")
    r = invoke(settings, *command, str(utf16))
    no_traceback(r)
    assert r.exit_code == 2 and f"{what} {utf16} is not UTF-8 text: save it as UTF-8" in r.stderr, out(r)
    r = invoke(settings, *command, str(tmp_path))
    no_traceback(r)
    assert r.exit_code == 2 and f"{what} {tmp_path} is a folder: name the file in it" in r.stderr, out(r)


def test_a_byte_order_mark_is_no_fault(tmp_path):
    settings = Settings(data_dir=tmp_path)
    db_upgrade(settings)
    segment_file, campaign_file = tmp_path / "gold.toml", tmp_path / "bonus.toml"
    segment_file.write_text(SEGMENT, encoding="utf-8-sig")
    campaign_file.write_text(CAMPAIGN, encoding="utf-8-sig")
    r = invoke(settings, "segment", "create", str(segment_file))
    assert r.exit_code == 0, out(r)
    r = invoke(settings, "campaign", "create", str(campaign_file))
    assert r.exit_code == 0 and "campaign bom-campaign (bonus) recorded as a draft" in r.stdout, out(r)


@pytest.mark.parametrize(
    "args",
    [
        ("member", "show", "{id}"),
        ("member", "ledger", "{id}"),
        ("member", "timeline", "{id}"),
        ("member", "adjust", "{id}", "-5", "--reason", "duplicate", "--actor", "support:maria"),
        ("member", "set-tier", "{id}", "gold", "--reason", "key account", "--actor", "s", "--until", "2027-01-31"),
        ("member", "start-input", "{id}"),
        ("member", "export", "{id}", "--actor", "admin:maria"),
        ("member", "erase", "{id}", "--actor", "admin:maria", "--yes"),
        ("member", "requests", "{id}"),
        ("reconcile", "{id}"),
        ("doctor", "{id}"),
    ],
)
@pytest.mark.parametrize("bad", ["cus_émile", "cus 123", "x" * 300])
def test_an_id_no_customer_can_have_is_a_usage_error(tmp_path, args, bad):
    r = invoke(Settings(data_dir=tmp_path, temporal_address=NOWHERE), *(a.replace("{id}", bad) for a in args))
    no_traceback(r)
    assert r.exit_code == 2, out(r)
    assert "is not a customer id: the billing system's id, e.g. cus_123" in " ".join(out(r).split()), out(r)
    assert "cannot reach Temporal" not in out(r) and "{" not in r.stdout, "refused before anything is asked"


@pytest.mark.parametrize(
    "args",
    [
        ("segment", "show", "nope", "--json"),
        ("segment", "preview", "nope", "--json"),
        ("campaign", "preview", "nope", "--json"),
        ("campaign", "results", "nope", "--json"),
        ("campaign", "list", "--json"),
        ("metrics", "--json"),
        ("doctor", "--json"),
    ],
)
def test_with_json_a_failure_leaves_stdout_empty_for_the_next_program(tmp_path, args):
    """`tenure … --json | jq` sees no half document: the reason is one line on stderr, the status non-zero."""
    settings = Settings(data_dir=tmp_path, temporal_address=NOWHERE)
    db_upgrade(settings)
    down = settings.model_copy(update={"database_url": DB_DOWN})
    for s in (settings, down):
        r = invoke(s, *args)
        no_traceback(r)
        if r.exit_code == 0 and s is settings:
            continue  # found nothing wrong (campaign list, metrics on an empty database): its JSON is below
        # with the database down every one of them fails: a status of 0 there would hand `jq` nothing
        assert r.exit_code != 0 and r.stdout == "" and r.stderr.startswith("error: "), out(r)
    r = invoke(settings, "campaign", "list", "--json")
    assert r.exit_code == 0 and json.loads(r.stdout) == []


def test_a_segment_named_with_accents_gets_an_id_from_its_letters(tmp_path):
    settings = Settings(data_dir=tmp_path)
    db_upgrade(settings)
    r = invoke(settings, "segment", "create", "--name", "Fidèles à Paris", "-w", "timezone eq Europe/Paris")
    assert r.exit_code == 0 and "created segment fideles-a-paris (Fidèles à Paris)" in r.stdout, out(r)
    r = invoke(settings, "segment", "create", "--name", "顧客", "-w", "tier eq gold")
    assert r.exit_code == 2 and "--id: give a segment_id: the name has no letters a-z or digits" in r.stderr, out(r)
    r = invoke(settings, "segment", "create", "--name", "ä" * 5000, "-w", "tier eq gold")
    no_traceback(r)
    assert r.exit_code == 2 and "name:" in r.stderr and "200" in r.stderr, out(r)


def test_a_filter_fault_reads_without_pydantics_wrapping(tmp_path):
    settings = Settings(data_dir=tmp_path)
    db_upgrade(settings)
    r = invoke(settings, "segment", "preview", "-w", "balance between 500")
    assert r.exit_code == 2 and "filter.all.0: balance between takes [low, high]" in r.stderr, out(r)
    assert "Value error" not in r.stderr


def empty_databases(tmp_path) -> list[str]:
    """A ledger database that answers but was never upgraded: an empty SQLite file, and (with
    TENURE_TEST_POSTGRES_URL) PostgreSQL searching a schema with no tables."""
    sqlite_file = tmp_path / "empty.db"
    sqlite3.connect(sqlite_file).close()
    urls = [f"sqlite:///{sqlite_file}"]
    postgres = os.environ.get("TENURE_TEST_POSTGRES_URL")
    if postgres:
        urls.append(postgres + ("&" if "?" in postgres else "?") + "options=-csearch_path%3Dno_tenure_here")
    return urls


@pytest.mark.parametrize(
    "args", [("segment", "list"), ("campaign", "list"), ("member", "ledger", "cus_1"), ("metrics",)]
)
def test_a_database_never_upgraded_says_tenure_db_upgrade(tmp_path, args):
    for url in empty_databases(tmp_path):
        r = invoke(Settings(data_dir=tmp_path, database_url=url), *args)
        no_traceback(r)
        assert r.exit_code == 1, out(r)
        assert "the ledger database has no Tenure tables, or an older schema" in r.stderr, out(r)
        assert "`tenure db upgrade` brings it to this Tenure's" in r.stderr


def test_erase_without_an_answer_is_not_erased_and_says_how_to_skip_the_question(tmp_path):
    runner = CliRunner()
    for answer in ("", "n\n"):  # stdin closed (a script), or no
        r = runner.invoke(
            cli.app,
            ["member", "erase", "cus_1", "--actor", "admin:maria"],
            obj=Settings(data_dir=tmp_path, temporal_address=NOWHERE),
            input=answer,
        )
        no_traceback(r)
        assert r.exit_code == 1, out(r)
        assert "not erased: nothing of cus_1 changed (--yes erases without asking)" in r.stderr, out(r)
        assert "Aborted" not in out(r)


def test_a_campaign_no_worker_answers_for_says_its_progress_is_the_recorded_one(tmp_path, monkeypatch):
    class Unanswered(PausedCampaign):
        unanswered = True

    async def with_campaigns(_env, fn, temporal=True, doing=("", "")):
        return await fn(Unanswered(["running"]))

    monkeypatch.setattr(cli_campaign, "with_campaigns", with_campaigns)
    r = invoke(Settings(data_dir=tmp_path), "campaign", "status", "c1", "--once")
    assert r.exit_code == 0, out(r)
    assert "c1: running — targeted 0 of 4" in r.stdout and "(no worker answered: the progress last recorded" in r.stdout
    watching = Watch("c1", "tenure")
    watching.show(Progress(campaign_id="c1", run_id="c1", state="running", segment_size=4), unanswered=True)
    screen = Console(width=80, record=True, color_system=None)
    screen.print(watching.view)
    text = " ".join(screen.export_text().split())
    assert "no worker answered: the progress last recorded, and nothing moves until one does" in text, text
    assert "is the worker (`make run`) up on task queue 'tenure'?" in text, text


def test_the_quick_listing_says_when_it_stopped_at_its_limit(tmp_path):
    from tests.test_segments_cli import settings_with_members

    settings = settings_with_members(tmp_path)  # three members
    r = invoke(settings, "segment", "-n", "2")
    assert r.exit_code == 0 and "2 member(s)" in r.stdout, out(r)
    assert "the first 2 by customer id; there may be more: --limit N shows N" in r.stderr, out(r)
    r = invoke(settings, "segment")
    assert r.exit_code == 0 and "3 member(s)" in r.stdout and "there may be more" not in out(r)


def test_empty_lists_say_how_to_make_the_first(tmp_path):
    settings = Settings(data_dir=tmp_path)
    db_upgrade(settings)
    r = invoke(settings, "segment", "list")
    assert r.exit_code == 0 and "no segment saved yet: tenure segment create --name NAME" in r.stdout, out(r)
    r = invoke(settings, "campaign", "list")
    assert r.exit_code == 0 and "no campaign yet: tenure campaign create FILE" in r.stdout, out(r)
    assert invoke(settings, "segment", "list", "--json").stdout.strip() == "[]"


async def test_a_namespace_that_is_none_is_not_taken_for_a_missing_customer(dev_env, tmp_path):
    settings = Settings(temporal_address=dev_env.client.service_client.config.target_host, data_dir=tmp_path)
    r = await ainvoke(settings, "--namespace", "no-such-namespace", "member", "show", "cus_1")
    no_traceback(r)
    assert r.exit_code == 1, out(r)
    assert "Namespace no-such-namespace is not found" in r.stderr and "no journey" not in r.stderr, out(r)
