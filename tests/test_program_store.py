"""Programs by content hash (domain/program/content.py, storage/programs.py, workflows/shared.py):
a journey's start input names its program by the sha256 of its canonical JSON, the worker resolves
it from the program store, and a journey always runs under exactly the program it recorded."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from temporalio.api.enums.v1 import EventType
from temporalio.worker import Replayer

from domain.account import Account
from domain.journey import WORKFLOW_NAME, JourneyInput, workflow_id
from domain.messages import EventEnvelope
from domain.program.content import canonical_json, content_hash, program_of_json
from starter.client import TenureClient
from storage.programs import store_program, stored_programs
from storage.schema import programs as programs_table
from tests.journey_kit import eventually, ledger_rows, payment, running_worker
from workflows.shared import ProgramRegistry, ProgramUnknown


class _Store:
    """A program store in memory (the registry holds its stores weakly, as the worker's engines)."""

    def __init__(self, rows: dict[str, str]) -> None:
        self.rows = rows


def _richer(program, points: int = 250):
    """The program with another monthly earn rate (and version): a journey shows which it runs."""
    earning = program.earning.model_copy(update={"monthly_payment": points})
    return program.model_copy(update={"version": f"{program.version}-{points}", "earning": earning})


async def _history(tenure: TenureClient, customer_id: str) -> list:
    return [e async for e in tenure.handle(customer_id).fetch_history_events()]


async def _start_input(tenure: TenureClient, customer_id: str, run_id: str | None = None) -> dict:
    """The decoded (and decrypted) start input of the journey's latest run, as JSON."""
    handle = tenure.client.get_workflow_handle(workflow_id(customer_id), run_id=run_id)
    first = [e async for e in handle.fetch_history_events()][0]
    (payload,) = first.workflow_execution_started_event_attributes.input.payloads
    (plain,) = await tenure.client.data_converter.payload_codec.decode([payload])  # type: ignore[union-attr]  # tests encrypt
    return json.loads(plain.data)


def test_a_program_round_trips_through_its_canonical_json(program):
    text = canonical_json(program)
    assert program_of_json(text) == program
    assert content_hash(program_of_json(text)) == content_hash(program)
    assert content_hash(_richer(program)) != content_hash(program)


def test_the_store_is_written_once_per_content(program, tmp_path):
    from storage.engine import create_engine_for
    from storage.migrate import upgrade

    engine = create_engine_for(f"sqlite:///{tmp_path / 'store.db'}")
    upgrade(engine)
    first = store_program(engine, program)
    assert store_program(engine, program) == first == content_hash(program)
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(programs_table)).scalar() == 1
    assert stored_programs(engine) == {first: canonical_json(program)}
    assert stored_programs(engine, known=[first]) == {}


def test_the_registry_refuses_content_that_is_not_its_hash(program):
    registry = ProgramRegistry()
    with pytest.raises(ValueError):
        registry.add(content_hash(program), canonical_json(_richer(program)))
    store = _Store({content_hash(program): canonical_json(_richer(program))})
    registry.add_store(store, lambda owner, _known: owner.rows)
    with pytest.raises(ProgramUnknown):  # a tampered row is never used: the hash stays unresolved
        registry.resolve(content_hash(program))
    assert registry.add(content_hash(program), canonical_json(program)) == program


def test_an_input_by_hash_carries_the_account_without_its_program(program):
    account = Account.open("cus_1", program, datetime(2026, 1, 1, tzinfo=UTC))
    by_hash = JourneyInput.new("cus_1", program_hash=content_hash(program), account=account)
    data = json.loads(by_hash.model_dump_json())
    assert "program" not in data and "program" not in data["account"]
    back = JourneyInput.model_validate_json(by_hash.model_dump_json())
    assert back.account is None and back.carried_account(program) == account
    whole = JourneyInput.new("cus_1", program, account=account)  # the shape of every older input
    data = json.loads(whole.model_dump_json())
    assert "program_hash" not in data and data["account"]["program"] == data["program"]
    with pytest.raises(ValueError):
        JourneyInput(customer_id="cus_1")


async def test_new_journeys_name_the_program_by_hash(time_env, program, tmp_path):
    async with running_worker(time_env.client, program, tmp_path, programs_by_hash=True) as (tenure, _engine):
        await tenure.send("cus_hash", payment(1))
        await eventually(lambda: tenure.summary("cus_hash"), lambda s: s.balance == program.earning.monthly_payment)
        start = await _start_input(tenure, "cus_hash")
        assert start["program_hash"] == content_hash(program) and "program" not in start


async def test_an_unknown_hash_fails_the_task_until_the_program_is_stored(time_env, program, tmp_path):
    unknown = _richer(program, 333)
    async with running_worker(time_env.client, program, tmp_path, programs_by_hash=True) as (tenure, engine):
        await time_env.client.start_workflow(
            WORKFLOW_NAME,
            JourneyInput.new("cus_waits", program_hash=content_hash(unknown)),
            id=workflow_id("cus_waits"),
            task_queue=tenure.task_queue,
            start_signal="event",
            start_signal_args=[EventEnvelope(event=payment(1))],
        )

        async def failed_tasks() -> list:
            events = await _history(tenure, "cus_waits")
            return [e for e in events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED]

        failures = await eventually(failed_tasks, bool, timeout=60)
        failure = failures[0].workflow_task_failed_event_attributes.failure  # its message is encrypted
        assert failure.application_failure_info.type == "ProgramUnknown"
        assert ledger_rows(engine, "cus_waits") == [], "no program, no rules: nothing ran"
        store_program(engine, unknown)  # published late: the next attempt resolves it
        await eventually(lambda: tenure.summary("cus_waits"), lambda s: s.balance == 333, timeout=60)
        assert (await tenure.account("cus_waits")).program == unknown


async def test_a_journey_keeps_the_program_it_recorded_when_the_file_changes(time_env, program, tmp_path):
    changed = _richer(program, 250)
    async with running_worker(time_env.client, program, tmp_path, programs_by_hash=True) as (tenure, engine):
        await tenure.send("cus_kept", payment(1))
        await eventually(lambda: tenure.summary("cus_kept"), lambda s: s.balance == program.earning.monthly_payment)
        # program.toml changed: the API (a new client) now opens journeys under the new program
        newer = TenureClient(tenure.client, changed, tenure.task_queue, programs=engine)
        await newer.send("cus_kept", payment(2))  # an open journey: its start input is not used
        await newer.send("cus_fresh", payment(1))
        await eventually(lambda: tenure.summary("cus_fresh"), lambda s: s.balance == 250)
        await eventually(lambda: tenure.summary("cus_kept"), lambda s: s.balance == 2 * program.earning.monthly_payment)
        assert (await tenure.account("cus_kept")).program == program
        assert (await _start_input(tenure, "cus_fresh"))["program_hash"] == content_hash(changed)


async def _until_continued(tenure: TenureClient, customer_id: str) -> dict:
    """Payments until the history budget makes the journey continue as new; the new run's start input."""
    await tenure.send(customer_id, payment(1))
    first = (await tenure.handle(customer_id).describe()).run_id
    for n in range(2, 200):
        await tenure.send(customer_id, payment(n))
        await eventually(lambda: tenure.summary(customer_id), lambda s, n=n: s.ledger_seq >= n)
        described = await tenure.handle(customer_id).describe()
        if described.run_id != first:
            return await _start_input(tenure, customer_id, described.run_id)
    raise AssertionError("the journey never continued as new")


async def test_continue_as_new_carries_the_hash(time_env, program, tmp_path):
    opened = running_worker(time_env.client, program, tmp_path, programs_by_hash=True, history_budget=60)
    async with opened as (tenure, _engine):
        start = await _until_continued(tenure, "cus_carried")
        assert start["generation"] >= 1, "the journey continued as new"
        assert start["program_hash"] == content_hash(program)
        assert "program" not in start and "program" not in start["account"]
        assert (await tenure.account("cus_carried")).program == program


async def test_a_journey_by_hash_replays_under_the_program_it_names(time_env, program, tmp_path):
    import worker
    from tests.payload_key_for_tests import data_converter_for_tests

    async with running_worker(time_env.client, program, tmp_path, programs_by_hash=True) as (tenure, _engine):
        await tenure.send("cus_replayed", payment(1))
        await eventually(lambda: tenure.summary("cus_replayed"), lambda s: s.balance == program.earning.monthly_payment)
        history = await tenure.handle("cus_replayed").fetch_history()
    replayer = Replayer(
        workflows=worker.WORKFLOWS, workflow_runner=worker.RUNNER, data_converter=data_converter_for_tests()
    )
    assert (await replayer.replay_workflow(history)).replay_failure is None  # the worker's registry holds it
    fresh = ProgramRegistry()  # a process that never read the store: the run cannot be replayed, not run otherwise
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("workflows.customer.programs", fresh)
        failed = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert failed.replay_failure is not None and "ProgramUnknown" in repr(failed.replay_failure)


async def test_after_adopting_a_program_continue_as_new_carries_that_program_whole(time_env, program, tmp_path):
    adopted = _richer(program, 150)  # never stored: the journey was handed it by the update
    opened = running_worker(time_env.client, program, tmp_path, programs_by_hash=True, history_budget=60)
    async with opened as (tenure, _engine):
        await tenure.send("cus_adopts", payment(1))
        await eventually(lambda: tenure.summary("cus_adopts"), lambda s: s.ledger_seq >= 1)
        assert await tenure.adopt_program("cus_adopts", adopted) == program.version
        start = await _until_continued(tenure, "cus_adopts")
        assert "program_hash" not in start and start["program"]["version"] == adopted.version
        assert start["account"]["program"] == start["program"]
        assert (await tenure.account("cus_adopts")).program == adopted


async def test_a_store_that_cannot_be_written_leaves_journeys_their_whole_program(time_env, program, tmp_path):
    """The program store down (here: a database without its tables) must not stop journeys from
    opening: they carry the program whole, as before the store, and run under it."""
    unwritable = sa.create_engine(f"sqlite:///{tmp_path / 'no-tables.db'}")
    async with running_worker(time_env.client, program, tmp_path) as (tenure, _engine):
        client = TenureClient(tenure.client, program, tenure.task_queue, programs=unwritable)
        await client.send("cus_whole", payment(1))
        await eventually(lambda: tenure.summary("cus_whole"), lambda s: s.balance == program.earning.monthly_payment)
        start = await _start_input(tenure, "cus_whole")
    unwritable.dispose()
    assert "program_hash" not in start and start["program"]["version"] == program.version
