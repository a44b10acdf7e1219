"""campaigns and campaign_members

Revision ID: c4a7e0d2b913
Revises: 5e9a1c0d2b47
Create Date: 2026-12-07 01:05:00

The `campaigns` table (definitions, state, latest progress) and `campaign_members` (each member a
campaign run reached or held out, once) of storage/schema.py. New tables: nothing to migrate.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c4a7e0d2b913"
down_revision: str | Sequence[str] | None = "5e9a1c0d2b47"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("campaign_id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("progress", sa.JSON(), nullable=True),
        sa.Column("stopped_because", sa.String(), nullable=True),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "state IN ('draft', 'scheduled', 'running', 'paused', 'completed', 'cancelled', 'failed')",
            name="ck_campaigns_state",
        ),
        sa.PrimaryKeyConstraint("campaign_id"),
    )
    op.create_table(
        "campaign_members",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("campaign_id", sa.String(), nullable=False),
        sa.Column("customer_id", sa.String(), nullable=False),
        sa.Column("group", sa.String(), nullable=False),
        sa.Column("outcome", sa.String(), nullable=False),
        sa.Column("reason", sa.String(), nullable=True),
        sa.Column("points_granted", sa.Integer(), server_default="0", nullable=False),
        sa.Column("points_committed", sa.Integer(), server_default="0", nullable=False),
        sa.Column("email", sa.String(), nullable=True),
        sa.Column("status_at_start", sa.String(), nullable=True),
        sa.Column("spend_at_start_minor", sa.BigInteger(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("\"group\" IN ('treated', 'holdout')", name="ck_campaign_members_group"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("campaign_id", "customer_id", name="uq_campaign_members_campaign_customer"),
    )
    with op.batch_alter_table("campaign_members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_campaign_members_customer_id"), ["customer_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("campaign_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_campaign_members_customer_id"))
    op.drop_table("campaign_members")
    op.drop_table("campaigns")
