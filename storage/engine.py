"""Engines for the ledger database: SQLite embedded, PostgreSQL in production."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.pool import StaticPool

from settings import Settings


def normalize_url(url: str) -> str:
    """`postgres://` and `postgresql://` mean psycopg 3 here (psycopg2 is not installed)."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def create_engine_for(url: str, *, pool_size: int = 10, max_overflow: int = 10, pool_timeout: float = 30.0) -> Engine:
    """An engine tuned for many short concurrent activity transactions.

    SQLite: WAL so readers (queries, the API) never block the writer, and a busy timeout so
    concurrent writers queue instead of failing with "database is locked". PostgreSQL: a
    pool sized for the worker's activity concurrency (settings `db_pool_size`, `db_max_overflow`,
    `db_pool_timeout`: every process holds up to size + overflow connections of the server's
    `max_connections`), pre-pinged so a restarted server costs one reconnect rather than a failed activity.
    """
    sa_url = make_url(normalize_url(url))
    if sa_url.get_backend_name() == "sqlite":
        database = sa_url.database or ""
        in_memory = database in ("", ":memory:") or database.startswith("file::memory:")
        if not in_memory:
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False, "timeout": 30}}
        if in_memory:
            kwargs["poolclass"] = StaticPool  # one shared connection, or each sees its own empty DB
        else:
            kwargs.update(pool_size=10, max_overflow=20, pool_timeout=60)
        engine = sa.create_engine(sa_url, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            if not in_memory:
                cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    return sa.create_engine(
        sa_url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=pool_timeout,
        pool_pre_ping=True,
        pool_recycle=1800,
    )


def engine_for(settings: Settings) -> Engine:
    """The configured ledger database, with the configured pool (the worker and the API)."""
    return create_engine_for(
        settings.db_url(),
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout,
    )
