"""personal_data_requests: every export and erasure of a member's personal data

Revision ID: 4e1a9c2d7b30
Revises: 85d8b37997fb
Create Date: 2026-12-07 01:10:00

The `personal_data_requests` table (storage/schema.py): who exported or erased a member's personal data,
when, and what came of it. A new table: nothing to migrate.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "4e1a9c2d7b30"
down_revision: str | Sequence[str] | None = "85d8b37997fb"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "personal_data_requests",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("customer_id", sa.String(), nullable=False),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("request_id", sa.String(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.JSON(), nullable=True),
        sa.CheckConstraint("action IN ('export', 'erasure')", name="ck_personal_data_requests_action"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("personal_data_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_personal_data_requests_customer_id"), ["customer_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("personal_data_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_personal_data_requests_customer_id"))

    op.drop_table("personal_data_requests")
