"""Schema migrations (storage/migrate.py, storage/migrations/) on real SQLite and PostgreSQL.

`engine` (conftest) is already at head: the fixtures create every test database through the
migrations. `bare` empties it completely, as a new installation's database is.
"""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import cast

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from temporalio.client import Client
from temporalio.testing import ActivityEnvironment

from activities.ledger import LedgerActivities
from domain.effects import CustomerProfile
from settings import Settings
from storage import migrate
from storage.migrate import (
    COMPARE_OPTIONS,
    SchemaNotCurrent,
    alembic_config,
    current_revision,
    db_status,
    db_upgrade,
    downgrade,
    head_revision,
    masked_url,
    require_current,
    upgrade,
)
from storage.schema import UTCDateTime, customers, metadata
from worker import build_worker

T0 = datetime(2026, 1, 15, 9, 30, tzinfo=timezone(timedelta(hours=2)))
TENURE_TABLES = set(metadata.tables)

NEXT_REVISION = '''"""One revision after this Tenure's head, made up by the test: a newer Tenure's schema."""

import sqlalchemy as sa
from alembic import op

revision = "test_next"
down_revision = {head!r}
branch_labels = None
depends_on = None


def upgrade():
    op.create_table("probe_next", sa.Column("id", sa.Integer, primary_key=True))


def downgrade():
    op.drop_table("probe_next")
'''


def tables(engine: sa.Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names())


def differences(engine: sa.Engine, target: sa.MetaData = metadata) -> list:
    """What autogenerate would write to bring the database to `target`: nothing, when they agree."""
    with engine.connect() as connection:
        return compare_metadata(MigrationContext.configure(connection, opts=COMPARE_OPTIONS), target)


def made_before_migrations(engine: sa.Engine) -> None:
    """The tables `ensure_schema` (metadata.create_all) made before migrations: the first revision's snapshot of them.

    Not today's metadata: that grows with later revisions, while an old database stays as it was.
    """
    scripts = ScriptDirectory.from_config(alembic_config())
    base = scripts.get_base()
    assert base is not None, "one first revision"
    first = scripts.get_revision(base)
    assert first is not None
    first.module.SNAPSHOT.create_all(engine)


def check_constraints(engine: sa.Engine) -> set[tuple[str, str | None]]:
    inspector = sa.inspect(engine)
    return {(t, c["name"]) for t in TENURE_TABLES for c in inspector.get_check_constraints(t)}


@pytest.fixture
def bare(engine: sa.Engine) -> sa.Engine:
    """`engine` on a database without any table, not even alembic_version."""
    metadata.drop_all(engine)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE alembic_version"))
    assert tables(engine) == set()
    return engine


@pytest.fixture
def newer_tenure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """This Tenure's migrations plus one revision after its head; returns the new head."""
    scripts = tmp_path / "migrations"
    shutil.copytree(migrate.SCRIPT_LOCATION, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    (scripts / "versions" / "test_next.py").write_text(NEXT_REVISION.format(head=head_revision()))
    monkeypatch.setattr(migrate, "SCRIPT_LOCATION", scripts)
    assert head_revision() == "test_next"
    return "test_next"


def test_the_migrations_build_the_schema_on_an_empty_database(bare):
    upgrade(bare)
    assert tables(bare) == TENURE_TABLES | {"alembic_version"}
    assert current_revision(bare) == head_revision()
    require_current(bare)
    upgrade(bare)  # at head already: nothing to do
    assert current_revision(bare) == head_revision()


def test_downgrade_to_base_and_upgrade_again(engine):
    downgrade(engine, "base")
    assert tables(engine) & TENURE_TABLES == set()
    assert current_revision(engine) is None

    upgrade(engine)
    assert tables(engine) >= TENURE_TABLES
    assert current_revision(engine) == head_revision()
    assert differences(engine) == []
    with engine.begin() as conn:
        conn.execute(sa.insert(customers).values(customer_id="c1", program_version="v1", created_at=T0, updated_at=T0))
        row = conn.execute(sa.select(customers)).one()
    assert (row.status, row.tier, row.at_risk, row.timezone, row.created_at) == ("active", "", False, "UTC", T0)


def test_the_models_and_the_migrations_agree(engine):
    assert differences(engine) == []
    declared = {
        (t.name, c.name) for t in metadata.sorted_tables for c in t.constraints if isinstance(c, sa.CheckConstraint)
    }
    assert declared and check_constraints(engine) == declared


def test_the_comparison_sees_a_model_the_migrations_lack(engine):
    """The agreement test above can fail: a column, a table, a changed default or type are all noticed."""
    grown = sa.MetaData()
    for table in metadata.sorted_tables:
        table.to_metadata(grown)
    grown.tables["customers"].append_column(sa.Column("probe_column", sa.String))
    grown.tables["customers"].c.tier.server_default = sa.DefaultClause("bronze")
    grown.tables["ledger_entries"].c.at.type = sa.DateTime(timezone=False)  # SQLite stores both alike
    sa.Table("probe_table", grown, sa.Column("id", sa.Integer, primary_key=True))
    found = differences(engine, grown)
    kinds = {d[0] if isinstance(d, tuple) else d[0][0] for d in found}
    expected = {"add_column", "add_table", "modify_default"}
    assert kinds == (expected | {"modify_type"} if engine.dialect.name == "postgresql" else expected), found


def test_a_database_behind_is_refused_until_upgraded(engine, newer_tenure):
    old = current_revision(engine)
    assert old is not None and old != newer_tenure
    with pytest.raises(SchemaNotCurrent) as refused:
        require_current(engine)
    message = str(refused.value)
    assert f"is at revision {old}, this Tenure needs {newer_tenure}: run `tenure db upgrade`" in message
    assert masked_url(engine.url) in message
    if engine.url.password:
        assert f":{engine.url.password}@" not in message and ":***@" in message

    upgrade(engine)
    require_current(engine)
    assert "probe_next" in tables(engine)
    downgrade(engine, old)
    assert "probe_next" not in tables(engine) and current_revision(engine) == old


def test_an_empty_database_is_refused(bare):
    with pytest.raises(SchemaNotCurrent, match=r"has no schema revision .* run `tenure db upgrade`"):
        require_current(bare)


def test_a_database_from_a_newer_tenure_is_refused(engine, newer_tenure, monkeypatch):
    upgrade(engine)
    monkeypatch.undo()  # back to this Tenure's migrations
    assert head_revision() != newer_tenure
    with pytest.raises(SchemaNotCurrent, match=f"is at revision {newer_tenure}, which this Tenure does not know"):
        require_current(engine)


def test_the_worker_refuses_a_database_that_is_behind(bare, program):
    settings = Settings(database_url=bare.url.render_as_string(hide_password=False))
    with pytest.raises(SchemaNotCurrent):
        build_worker(cast(Client, None), settings, program, bare)  # refused before the client is used


def test_a_database_made_before_migrations_is_adopted(bare):
    made_before_migrations(bare)
    with bare.begin() as conn:
        conn.execute(
            sa.insert(customers).values(customer_id="kept", program_version="v1", created_at=T0, updated_at=T0)
        )

    upgrade(bare)
    assert current_revision(bare) == head_revision()
    assert differences(bare) == []
    with bare.connect() as conn:
        assert conn.execute(sa.select(customers.c.customer_id)).scalars().all() == ["kept"]


OLD_CUSTOMERS_DDL = """
CREATE TABLE customers (
    customer_id VARCHAR NOT NULL PRIMARY KEY,
    email VARCHAR,
    name VARCHAR,
    timezone VARCHAR DEFAULT 'UTC' NOT NULL,
    program_version VARCHAR NOT NULL,
    created_at {ts} NOT NULL,
    updated_at {ts} NOT NULL
)
"""


def customer_row(engine, cid: str):
    with engine.connect() as conn:
        return conn.execute(sa.select(customers).where(customers.c.customer_id == cid)).one()


async def test_an_older_database_gains_the_lifecycle_columns_when_adopted(bare):
    """An installation from before the lifecycle journeys: customers without their columns, no other table."""
    ts = "TIMESTAMP WITH TIME ZONE" if bare.dialect.name == "postgresql" else "DATETIME"
    with bare.begin() as conn:
        conn.exec_driver_sql(OLD_CUSTOMERS_DDL.format(ts=ts))
        old = sa.table(
            "customers",
            *(sa.column(c) for c in ("customer_id", "program_version")),
            sa.column("created_at", UTCDateTime),
            sa.column("updated_at", UTCDateTime),
        )
        conn.execute(sa.insert(old).values(customer_id="old", program_version="v1", created_at=T0, updated_at=T0))

    upgrade(bare)
    upgrade(bare)  # idempotent

    inspector = sa.inspect(bare)
    assert {"referral_code", "status", "tier", "at_risk"} <= {c["name"] for c in inspector.get_columns("customers")}
    assert "ix_customers_referral_code" in {i["name"] for i in inspector.get_indexes("customers")}
    assert {"ledger_entries", "emails", "billing_credits", "billing_discounts"} <= set(inspector.get_table_names())
    assert differences(bare) == []
    row = customer_row(bare, "old")
    assert (row.referral_code, row.status, row.tier, row.at_risk, row.created_at) == (None, "active", "", False, T0)

    acts = LedgerActivities(bare)
    env = ActivityEnvironment()
    await env.run(
        acts.upsert_customer,
        CustomerProfile(customer_id="old", program_version="v2", referral_code="TOLD0001", tier="silver", at_risk=True),
    )
    row = customer_row(bare, "old")
    assert (row.program_version, row.referral_code, row.tier, row.at_risk) == ("v2", "TOLD0001", "silver", True)
    assert await env.run(acts.lookup_referrer, "told0001") == "old"


def test_a_database_that_does_not_match_is_not_adopted(bare):
    """The ledger without `kind` cannot be completed in place (NOT NULL, no default): refused, nothing stamped."""
    made_before_migrations(bare)
    with bare.begin() as conn:
        conn.execute(sa.text("ALTER TABLE ledger_entries DROP COLUMN kind"))

    with pytest.raises(RuntimeError, match=r"differ from revision .*kind"):
        upgrade(bare)
    assert current_revision(bare) is None
    with pytest.raises(SchemaNotCurrent):
        require_current(bare)


def test_db_status_and_db_upgrade(bare):
    settings = Settings(database_url=bare.url.render_as_string(hide_password=False))
    status = db_status(settings)
    assert (status.current, status.head, status.is_current) == (None, head_revision(), False)
    assert status.url == masked_url(bare.url)

    assert db_upgrade(settings) == (None, head_revision())
    assert db_upgrade(settings) == (head_revision(), head_revision())
    assert db_status(settings).is_current


def test_passwords_are_masked():
    url = "postgresql+psycopg://tenure:s3cret@db.example:5432/tenure"
    assert masked_url(url) == "postgresql+psycopg://tenure:***@db.example:5432/tenure"
    refused = SchemaNotCurrent(masked_url(url), "abc", "def")
    assert "s3cret" not in str(refused) and "***" in str(refused)
