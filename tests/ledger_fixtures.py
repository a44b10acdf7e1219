"""Database fixtures for the activity tests: every test runs on SQLite and on PostgreSQL.

PostgreSQL comes from TENURE_TEST_POSTGRES_URL and is skipped when that is unset. The
PostgreSQL database is shared (between tests and runs), so tests use fresh customer ids and
keys (`uid`) rather than truncating tables.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine

from activities.db import create_engine_for, ensure_schema


@pytest.fixture(params=["sqlite", "postgres"])
def ledger_db_url(request: pytest.FixtureRequest, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'tenure.db'}"
    url = os.environ.get("TENURE_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("TENURE_TEST_POSTGRES_URL not set")
    return url


@pytest.fixture
def engine(ledger_db_url: str) -> Iterator[Engine]:
    eng = create_engine_for(ledger_db_url)
    ensure_schema(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def uid() -> str:
    """A prefix that makes this test's customer ids and keys unique in a shared database."""
    return uuid.uuid4().hex[:10]
