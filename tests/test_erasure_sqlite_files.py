"""An erasure on SQLite (`make run`'s ledger) leaves no copy of the member's address or name in the
files: not in the database, and not in its write-ahead log, which holds the pages as they were before
the scrub until SQLite checkpoints on its own (after a thousand more pages: on a quiet installation,
for days). Found by a data-protection officer's walk: after `tenure member erase`, `tenure.db-wal`
still held the address and the name in plain text."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from storage.engine import create_engine_for
from storage.migrate import upgrade
from storage.personal_data import scrub_member
from storage.schema import customers, emails

EMAIL, NAME = "wilhelmina.quist@example.org", "Wilhelmina Quist"


def stored(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file())


def test_the_scrub_leaves_the_address_and_the_name_in_no_file_of_the_database(tmp_path):
    engine = create_engine_for(f"sqlite:///{tmp_path / 'tenure.db'}")
    try:
        upgrade(engine)
        now = datetime.now(UTC)
        with engine.begin() as conn:
            for n in range(30):  # other members share the pages
                conn.execute(
                    sa.insert(customers).values(
                        customer_id=f"cus_other_{n}",
                        email=f"other{n}@example.org",
                        program_version="v1",
                        created_at=now,
                        updated_at=now,
                    )
                )
            conn.execute(
                sa.insert(customers).values(
                    customer_id="cus_wq",
                    email=EMAIL,
                    name=NAME,
                    timezone="Europe/Amsterdam",
                    country="NL",
                    program_version="v1",
                    created_at=now,
                    updated_at=now,
                )
            )
        with engine.connect() as conn:  # the profile is in the database file itself ...
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        with engine.begin() as conn:  # ... and an email recorded since is in the write-ahead log
            conn.execute(
                sa.insert(emails).values(
                    key="cus_wq/onboarding/welcome",
                    customer_id="cus_wq",
                    purpose="welcome",
                    template_id="d-welcome",
                    category="transactional",
                    to_email=EMAIL,
                    status="outbox",
                    payload={"personalizations": [{"to": [{"email": EMAIL, "name": NAME}]}]},
                    created_at=now,
                )
            )
        files = stored(tmp_path)
        assert EMAIL.encode() in files and NAME.encode() in files, "the scan sees what SQLite keeps"

        assert scrub_member(engine, "cus_wq") == {"customers": 1, "emails": 1, "quarantine": 0, "ledger_entries": 0}

        files = stored(tmp_path)
        for secret in (EMAIL, NAME, "Wilhelmina"):
            assert secret.encode() not in files, f"{secret} is still in {[p.name for p in tmp_path.iterdir()]}"
        assert b"other7@example.org" in files, "the other members are untouched"
        with engine.connect() as conn:
            c = customers.c
            row = conn.execute(sa.select(c.email, c.name, c.timezone, c.country).where(c.customer_id == "cus_wq")).one()
            assert tuple(row) == (None, None, "UTC", None), row  # the zone and the country are contact data too
    finally:
        engine.dispose()
