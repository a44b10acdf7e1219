"""A PostgreSQL schema of one's own: created with every connection's search_path pinned to it, dropped after.

The tests (a fresh schema per test) and the benchmark (a fresh schema per run) share the CI database
this way; one place knows how.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import make_url


def create_schema(base_url: str, schema: str) -> str:
    """Create `schema` and return `base_url` with every connection's search_path pinned to it."""
    url = make_url(base_url)
    admin = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    finally:
        admin.dispose()
    return url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)


def drop_schema(base_url: str, schema: str) -> None:
    """Drop `schema` and everything in it (waiting at most 10 s for its locks)."""
    admin = sa.create_engine(base_url, poolclass=sa.pool.NullPool)
    try:
        with admin.begin() as conn:
            conn.execute(sa.text("SET LOCAL lock_timeout = '10s'"))
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        admin.dispose()
