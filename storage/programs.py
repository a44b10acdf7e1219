"""The content-addressed program store: `programs`, hash -> canonical JSON (storage/schema.py).

`store_program` is called by whoever starts journeys that name a program by hash (TenureClient.send,
so the API and tools), before the first start that names it; the worker reads the store into
workflows/shared.py's registry. A row is never changed: the same content always has the same hash,
so storing it again is a no-op, whoever does it, however often.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from domain.program import Program
from domain.program.content import canonical_json, hash_of_json

from .schema import programs
from .statements import insert_if_absent


def store_program(engine: Engine, program: Program) -> str:
    """Store the program under its content hash (if absent) and return the hash."""
    text = canonical_json(program)
    content_hash = hash_of_json(text)
    row = {"content_hash": content_hash, "version": program.version, "content": text, "stored_at": datetime.now(UTC)}
    with engine.begin() as conn:
        conn.execute(insert_if_absent(engine, programs, "content_hash").values(row))
    return content_hash


def stored_programs(engine: Engine, known: Iterable[str] = ()) -> dict[str, str]:
    """hash -> canonical JSON of every stored program whose hash is not in `known`."""
    query = sa.select(programs.c.content_hash, programs.c.content).where(programs.c.content_hash.not_in(set(known)))
    with engine.connect() as conn:
        return {h: text for h, text in conn.execute(query)}
