"""segments: the segment projection on customers, and saved segments

Revision ID: 5e9a1c0d2b47
Revises: 4e1a9c2d7b30
Create Date: 2026-12-07 01:10:00

Columns of the segment projection (domain/segments.py SegmentProjection) on `customers`, all
NULL until a journey of rules version 3 projects its member, and the `segments` table of saved
filters. Nothing to migrate: journeys fill the columns as they next write their profile.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5e9a1c0d2b47"
down_revision: str | Sequence[str] | None = "4e1a9c2d7b30"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PROJECTION = (
    ("balance", sa.Integer()),
    ("lifetime_points", sa.Integer()),
    ("lifetime_spend_minor", sa.BigInteger()),
    ("last_activity_at", sa.DateTime(timezone=True)),
    ("signed_up_at", sa.DateTime(timezone=True)),
    ("plan_cadence", sa.String()),
    ("churn_reason", sa.String()),
    ("country", sa.String(length=2)),
    ("email_reachable", sa.Boolean()),
    ("referral_count", sa.Integer()),
    ("engagement_level", sa.String()),
    ("churn_risk_score", sa.Integer()),
    ("projected_at", sa.DateTime(timezone=True)),
)


def upgrade() -> None:
    op.create_table(
        "segments",
        sa.Column("segment_id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("filter", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("segment_id"),
        sa.UniqueConstraint("name"),
    )
    with op.batch_alter_table("customers", schema=None) as batch_op:
        for name, type_ in PROJECTION:
            batch_op.add_column(sa.Column(name, type_, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        for name, _ in reversed(PROJECTION):
            batch_op.drop_column(name)
    op.drop_table("segments")
