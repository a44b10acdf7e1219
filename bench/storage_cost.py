"""What Tenure's own tables cost on disk (SQLite and PostgreSQL), and a PostgreSQL schema of the bench's own.

The PostgreSQL database is the CI one: BENCH_POSTGRES_URL, else TENURE_TEST_POSTGRES_URL; the
bench works in a fresh schema (every connection's search_path pinned to it, as the tests do) and
drops it afterwards.
"""

from __future__ import annotations

import os
import uuid

import sqlalchemy as sa

from storage.postgres_schemas import create_schema

TABLES = ("customers", "ledger_entries", "emails")  # what a member's journey writes, indexes included


def postgres_base_url() -> str | None:
    return os.environ.get("BENCH_POSTGRES_URL") or os.environ.get("TENURE_TEST_POSTGRES_URL") or None


def fresh_schema(base_url: str) -> tuple[str, str]:
    """(url with search_path pinned to a new schema, the schema's name), Tenure's tables created."""
    from storage.engine import create_engine_for
    from storage.migrate import upgrade

    schema = f"bench_{uuid.uuid4().hex[:12]}"
    rendered = create_schema(base_url, schema)
    engine = create_engine_for(rendered)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    return rendered, schema


def table_bytes(engine: sa.Engine) -> dict[str, int]:
    """Bytes on disk of each of TABLES with its indexes: SQLite's dbstat pages, PostgreSQL's
    pg_total_relation_size (after VACUUM, so dead tuples of updates are not counted)."""
    out: dict[str, int] = {}
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            for table in TABLES:
                out[table] = int(
                    conn.execute(
                        sa.text(
                            "select coalesce(sum(pgsize), 0) from dbstat where name = :t or name in "
                            "(select name from sqlite_master where type = 'index' and tbl_name = :t)"
                        ),
                        {"t": table},
                    ).scalar_one()
                )
        return out
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in TABLES:
            conn.execute(sa.text(f"VACUUM ANALYZE {table}"))
            out[table] = int(conn.execute(sa.text("select pg_total_relation_size(:t)"), {"t": table}).scalar_one())
    return out


def growth(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {t: after[t] - before.get(t, 0) for t in after}


def empty_sqlite_bytes(path: str) -> dict[str, int]:
    """TABLES' bytes in a fresh SQLite database at the current schema revision."""
    from storage.engine import create_engine_for
    from storage.migrate import upgrade

    engine = create_engine_for(f"sqlite:///{path}")
    try:
        upgrade(engine)
        return table_bytes(engine)
    finally:
        engine.dispose()


def row_counts(engine: sa.Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {t: int(conn.execute(sa.text(f"select count(*) from {t}")).scalar_one()) for t in TABLES}


def copy_rows(source: sa.Engine, target: sa.Engine) -> None:
    """TABLES' rows from one database into the other (same schema revision)."""
    from storage.schema import metadata

    with source.connect() as src, target.begin() as dst:
        for table in metadata.sorted_tables:
            if table.name not in TABLES:
                continue
            rows = [dict(r._mapping) for r in src.execute(table.select())]
            if rows:
                dst.execute(table.insert(), rows)
