"""Insert-if-absent and upsert, the two writes Tenure makes, for SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine


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
