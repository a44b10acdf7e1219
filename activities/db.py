"""The SQL side of Tenure: schema, engine, and the insert-if-absent primitive.

SQLAlchemy Core, one schema for SQLite (the embedded default) and PostgreSQL. Every table
that records a side effect has a UNIQUE idempotency `key`: a retried activity inserts
"if absent" and so can never record the same effect twice.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.pool import StaticPool


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Stores UTC (a naive value is taken as UTC), returns aware UTC datetimes on every dialect.

    SQLite keeps no offset, so without this a value read back would be naive and no longer
    equal to the one the workflow wrote.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            # Read as UTC rather than refused: a refusal would fail the activity on every retry.
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


metadata = sa.MetaData()

customers = sa.Table(
    "customers",
    metadata,
    sa.Column("customer_id", sa.String, primary_key=True),
    sa.Column("email", sa.String),
    sa.Column("name", sa.String),
    sa.Column("timezone", sa.String, nullable=False, server_default="UTC"),
    sa.Column("program_version", sa.String, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    # Added for the lifecycle journeys; `ensure_schema` adds them to an older table.
    # Upper-case, NULL when the member has none. Not UNIQUE: a code is derived from the
    # customer id, and a clash must not make a profile upsert fail forever.
    sa.Column("referral_code", sa.String, index=True),
    sa.Column("status", sa.String, nullable=False, server_default="active"),
    sa.Column("tier", sa.String, nullable=False, server_default=""),
    sa.Column("at_risk", sa.Boolean, nullable=False, server_default=sa.false()),
)

ledger_entries = sa.Table(
    "ledger_entries",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("customer_id", sa.String, nullable=False, index=True),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("key", sa.String, nullable=False, unique=True),
    sa.Column("kind", sa.String, nullable=False),
    sa.Column("points", sa.Integer, nullable=False, default=0),
    sa.Column("pending_points", sa.Integer, nullable=False, default=0),
    sa.Column("balance_after", sa.Integer, nullable=False),
    sa.Column("pending_after", sa.Integer, nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("lot_id", sa.String),
    sa.Column("ref", sa.String),
    sa.Column("reason", sa.String),
    sa.Column("actor", sa.String),
    sa.Column("program_version", sa.String, nullable=False),
    sa.Column("recorded_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("customer_id", "seq", name="uq_ledger_customer_seq"),
)

EMAIL_STATUSES = ("sent", "outbox", "rejected")

emails = sa.Table(
    "emails",
    metadata,
    sa.Column("key", sa.String, primary_key=True),
    sa.Column("customer_id", sa.String, nullable=False, index=True),
    sa.Column("purpose", sa.String, nullable=False),
    sa.Column("template_id", sa.String, nullable=False),
    sa.Column("category", sa.String, nullable=False),
    sa.Column("to_email", sa.String),
    sa.Column("status", sa.String, nullable=False),
    sa.Column("detail", sa.Text),
    sa.Column("payload", sa.JSON),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.CheckConstraint(f"status IN {EMAIL_STATUSES!r}", name="ck_emails_status"),
)

billing_credits = sa.Table(
    "billing_credits",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("key", sa.String, nullable=False, unique=True),
    sa.Column("customer_id", sa.String, nullable=False, index=True),
    sa.Column("amount_minor", sa.Integer, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("description", sa.String, nullable=False),
    sa.Column("gateway", sa.String, nullable=False),
    sa.Column("external_id", sa.String),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

billing_discounts = sa.Table(
    "billing_discounts",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("key", sa.String, nullable=False, unique=True),
    sa.Column("customer_id", sa.String, nullable=False, index=True),
    sa.Column("percent_off", sa.Integer, nullable=False),
    sa.Column("duration_months", sa.Integer, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.Column("code", sa.String, nullable=False),
    sa.Column("gateway", sa.String, nullable=False),
    sa.Column("external_id", sa.String),
    sa.Column("created_at", UTCDateTime, nullable=False),
)


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


def insert_if_absent(engine: Engine, table: sa.Table, *conflict_cols: str) -> Any:
    """`INSERT ... ON CONFLICT [(cols)] DO NOTHING` for the engine's dialect.

    Without `conflict_cols` any unique constraint makes the row a no-op; callers that need to
    tell "already there" from "clashes with something else" check the skipped rows themselves.
    """
    dialect = engine.dialect.name
    index_elements = list(conflict_cols) or None
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=index_elements)
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing(index_elements=index_elements)
    raise NotImplementedError(f"Tenure supports SQLite and PostgreSQL, not {dialect}")


def upsert(engine: Engine, table: sa.Table, conflict_cols: list[str], update_cols: list[str]) -> Any:
    """`INSERT ... ON CONFLICT (cols) DO UPDATE SET col = excluded.col` for the engine's dialect."""
    dialect = engine.dialect.name
    if dialect == "postgresql":
        stmt: Any = postgresql.insert(table)
    elif dialect == "sqlite":
        stmt = sqlite.insert(table)
    else:
        raise NotImplementedError(f"Tenure supports SQLite and PostgreSQL, not {dialect}")
    return stmt.on_conflict_do_update(index_elements=conflict_cols, set_={c: stmt.excluded[c] for c in update_cols})
