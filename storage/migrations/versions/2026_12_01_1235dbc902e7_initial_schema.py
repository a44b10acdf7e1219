"""The schema as `ensure_schema` made it: customers, ledger_entries, emails, billing_credits, billing_discounts.

Revision ID: 1235dbc902e7
Revises:
Create Date: 2026-12-01 07:06:36

The tables are written out here, not imported from storage/schema.py: a revision is history
and must not change when the models do. UTCDateTime is stored as DateTime(timezone=True).

A database made before migrations (by `ensure_schema`, so without an alembic_version table)
is adopted rather than created: tables and columns it lacks are added as `ensure_schema`
would have added them, then it must match this revision, and Alembic records the revision.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from alembic.autogenerate import compare_metadata

revision: str = "1235dbc902e7"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SNAPSHOT = sa.MetaData()
ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")
TIMESTAMP = sa.DateTime(timezone=True)

sa.Table(
    "customers",
    SNAPSHOT,
    sa.Column("customer_id", sa.String, primary_key=True),
    sa.Column("email", sa.String),
    sa.Column("name", sa.String),
    sa.Column("timezone", sa.String, nullable=False, server_default="UTC"),
    sa.Column("program_version", sa.String, nullable=False),
    sa.Column("created_at", TIMESTAMP, nullable=False),
    sa.Column("updated_at", TIMESTAMP, nullable=False),
    sa.Column("referral_code", sa.String, index=True),
    sa.Column("status", sa.String, nullable=False, server_default="active"),
    sa.Column("tier", sa.String, nullable=False, server_default=""),
    sa.Column("at_risk", sa.Boolean, nullable=False, server_default=sa.false()),
)
sa.Table(
    "ledger_entries",
    SNAPSHOT,
    sa.Column("id", ID, primary_key=True, autoincrement=True),
    sa.Column("customer_id", sa.String, nullable=False, index=True),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("key", sa.String, nullable=False, unique=True),
    sa.Column("kind", sa.String, nullable=False),
    sa.Column("points", sa.Integer, nullable=False),
    sa.Column("pending_points", sa.Integer, nullable=False),
    sa.Column("balance_after", sa.Integer, nullable=False),
    sa.Column("pending_after", sa.Integer, nullable=False),
    sa.Column("at", TIMESTAMP, nullable=False),
    sa.Column("lot_id", sa.String),
    sa.Column("ref", sa.String),
    sa.Column("reason", sa.String),
    sa.Column("actor", sa.String),
    sa.Column("program_version", sa.String, nullable=False),
    sa.Column("recorded_at", TIMESTAMP, nullable=False),
    sa.UniqueConstraint("customer_id", "seq", name="uq_ledger_customer_seq"),
)
sa.Table(
    "emails",
    SNAPSHOT,
    sa.Column("key", sa.String, primary_key=True),
    sa.Column("customer_id", sa.String, nullable=False, index=True),
    sa.Column("purpose", sa.String, nullable=False),
    sa.Column("template_id", sa.String, nullable=False),
    sa.Column("category", sa.String, nullable=False),
    sa.Column("to_email", sa.String),
    sa.Column("status", sa.String, nullable=False),
    sa.Column("detail", sa.Text),
    sa.Column("payload", sa.JSON),
    sa.Column("created_at", TIMESTAMP, nullable=False),
    sa.CheckConstraint("status IN ('sent', 'outbox', 'rejected')", name="ck_emails_status"),
)
sa.Table(
    "billing_credits",
    SNAPSHOT,
    sa.Column("id", ID, primary_key=True, autoincrement=True),
    sa.Column("key", sa.String, nullable=False, unique=True),
    sa.Column("customer_id", sa.String, nullable=False, index=True),
    sa.Column("amount_minor", sa.Integer, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("description", sa.String, nullable=False),
    sa.Column("gateway", sa.String, nullable=False),
    sa.Column("external_id", sa.String),
    sa.Column("created_at", TIMESTAMP, nullable=False),
)
sa.Table(
    "billing_discounts",
    SNAPSHOT,
    sa.Column("id", ID, primary_key=True, autoincrement=True),
    sa.Column("key", sa.String, nullable=False, unique=True),
    sa.Column("customer_id", sa.String, nullable=False, index=True),
    sa.Column("percent_off", sa.Integer, nullable=False),
    sa.Column("duration_months", sa.Integer, nullable=False),
    sa.Column("expires_at", TIMESTAMP, nullable=False),
    sa.Column("code", sa.String, nullable=False),
    sa.Column("gateway", sa.String, nullable=False),
    sa.Column("external_id", sa.String),
    sa.Column("created_at", TIMESTAMP, nullable=False),
)


def upgrade() -> None:
    bind = op.get_bind()
    present = set(sa.inspect(bind).get_table_names()) & set(SNAPSHOT.tables)
    if present:
        _adopt(bind, present)
    else:
        SNAPSHOT.create_all(bind, checkfirst=False)


def downgrade() -> None:
    SNAPSHOT.drop_all(op.get_bind())


def _adopt(bind: sa.Connection, present: set[str]) -> None:
    """Complete a database made before migrations as `ensure_schema` would, then insist it matches."""
    SNAPSHOT.create_all(bind, tables=[t for t in SNAPSHOT.sorted_tables if t.name not in present], checkfirst=False)
    inspector = sa.inspect(bind)
    for name in sorted(present):
        table = SNAPSHOT.tables[name]
        have = {c["name"] for c in inspector.get_columns(name)}
        for column in table.columns:
            if column.name not in have and _addable(column):
                ddl = sa.schema.CreateColumn(column).compile(dialect=bind.dialect)
                op.execute(f"ALTER TABLE {bind.dialect.identifier_preparer.format_table(table)} ADD COLUMN {ddl}")
        for index in table.indexes:
            index.create(bind, checkfirst=True)
    differences = _differences(bind)
    if differences:
        raise RuntimeError(
            "the ledger database has Tenure's tables, made before migrations, but they differ from "
            f"revision {revision}: {'; '.join(differences)}. Bring them in line by hand, then upgrade again."
        )


def _addable(column: sa.Column[Any]) -> bool:
    """What `ensure_schema` added in place: neither a key nor unique, nullable or with a server default."""
    return not (column.primary_key or column.unique) and (column.nullable or column.server_default is not None)


def _differences(bind: sa.Connection) -> list[str]:
    """What the tables lack or have otherwise than this revision; extras (columns, indexes, tables) are left be."""
    found = [
        repr(diff)
        for diff in _flatten(compare_metadata(op.get_context(), SNAPSHOT))
        if not str(diff[0]).startswith("remove_")
    ]
    inspector = sa.inspect(bind)
    for table in SNAPSHOT.sorted_tables:
        checks = {c["name"] for c in inspector.get_check_constraints(table.name)}
        found += [
            f"missing check constraint {c.name} on {table.name}"
            for c in table.constraints
            if isinstance(c, sa.CheckConstraint) and c.name not in checks
        ]
    return found


def _flatten(diffs: list[Any]) -> list[tuple[Any, ...]]:
    """compare_metadata nests a column's modifications in a list of their own."""
    return [d for item in diffs for d in (item if isinstance(item, list) else [item])]
