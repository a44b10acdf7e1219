"""programs: every program a journey may name by content hash

Revision ID: 9b3f6d1e2a58
Revises: c4a7e0d2b913
Create Date: 2026-12-07 04:05:00

The `programs` table (storage/schema.py): content hash -> the program's canonical JSON, written by
whoever starts journeys before any journey names the hash, read by the worker. A new table: nothing
to migrate (journeys started before it carry their whole program).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "9b3f6d1e2a58"
down_revision: str | Sequence[str] | None = "c4a7e0d2b913"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "programs",
        sa.Column("content_hash", sa.String(length=71), nullable=False),
        sa.Column("version", sa.String(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("stored_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("content_hash"),
    )


def downgrade() -> None:
    op.drop_table("programs")
