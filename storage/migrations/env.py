"""Alembic's environment for Tenure: migrates the connection that storage.migrate hands over.

There is no alembic.ini and no URL here: `storage.migrate` builds the configuration in code
and passes an open connection (PostgreSQL, or SQLite through batch mode for ALTERs that SQLite
cannot do in place). Offline mode (SQL scripts) is not supported: the first revision inspects
the database to adopt one made before migrations.
"""

from __future__ import annotations

from alembic import context

from storage.migrate import CONTEXT_OPTIONS
from storage.schema import metadata

connection = context.config.attributes.get("connection")
if context.is_offline_mode() or connection is None:
    raise RuntimeError(
        "Tenure's migrations run on a connection given by storage.migrate (`tenure db upgrade`), "
        "not from the alembic command line nor offline"
    )

context.configure(connection=connection, target_metadata=metadata, **CONTEXT_OPTIONS)
with context.begin_transaction():
    context.run_migrations()
