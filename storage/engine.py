"""Engines for the ledger database: SQLite embedded, PostgreSQL in production."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.pool import StaticPool

from .schema import metadata


def normalize_url(url: str) -> str:
    """`postgres://` and `postgresql://` mean psycopg 3 here (psycopg2 is not installed)."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def create_engine_for(url: str) -> Engine:
    """An engine tuned for many short concurrent activity transactions.

    SQLite: WAL so readers (queries, the API) never block the writer, and a busy timeout so
    concurrent writers queue instead of failing with "database is locked". PostgreSQL: a
    pool sized for the worker's activity concurrency, pre-pinged so a restarted server costs
    one reconnect rather than a failed activity.
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
    return sa.create_engine(sa_url, pool_size=10, max_overflow=10, pool_pre_ping=True, pool_recycle=1800)


def ensure_schema(engine: Engine) -> None:
    """Create missing tables, then add missing columns and indexes to existing ones (idempotent).

    Enough while the schema only grows: new tables, and new columns that are nullable or have
    a server default. Anything else (a renamed or retyped column) needs a real migration.
    """
    metadata.create_all(engine)
    inspector = sa.inspect(engine)
    for table in metadata.sorted_tables:
        have = {c["name"] for c in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name not in have:
                _add_column(engine, table, column)
        indexes = {i["name"] for i in inspector.get_indexes(table.name)}
        for index in table.indexes:
            if index.name not in indexes:
                with engine.begin() as conn:
                    conn.execute(sa.schema.CreateIndex(index, if_not_exists=True))


def _add_column(engine: Engine, table: sa.Table, column: sa.Column[Any]) -> None:
    """`ALTER TABLE ... ADD COLUMN` for a column the table lacks."""
    if column.primary_key or column.unique or (not column.nullable and column.server_default is None):
        raise RuntimeError(
            f"{table.name}.{column.name} is missing and cannot be added in place "
            "(key, unique, or NOT NULL without a server default): migrate the database by hand"
        )
    name = engine.dialect.identifier_preparer.format_table(table)
    ddl = sa.schema.CreateColumn(column).compile(dialect=engine.dialect)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(f"ALTER TABLE {name} ADD COLUMN {ddl}")
    except sa.exc.DBAPIError:
        # Fine if another process starting at the same time added it first.
        if column.name not in {c["name"] for c in sa.inspect(engine).get_columns(table.name)}:
            raise
