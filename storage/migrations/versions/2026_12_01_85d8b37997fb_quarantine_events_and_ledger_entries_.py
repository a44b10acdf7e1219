"""quarantine: events and ledger entries journeys set aside

Revision ID: 85d8b37997fb
Revises: 1235dbc902e7
Create Date: 2026-12-01 08:06:51.529267

The `quarantine` table (storage/schema.py): events journeys could not apply and ledger entries
the ledger refused for good, one row each, for `tenure doctor`. A new table: nothing to migrate.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "85d8b37997fb"
down_revision: str | Sequence[str] | None = "1235dbc902e7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "quarantine",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("customer_id", sa.String(), nullable=False),
        sa.Column("what", sa.String(), nullable=False),
        sa.Column("ref", sa.String(), nullable=True),
        sa.Column("type", sa.String(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("payload", sa.Text(), server_default="", nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("what IN ('event', 'ledger_entry')", name="ck_quarantine_what"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    with op.batch_alter_table("quarantine", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_quarantine_customer_id"), ["customer_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("quarantine", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quarantine_customer_id"))

    op.drop_table("quarantine")
