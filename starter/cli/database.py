"""`tenure db current|upgrade`: where the ledger database stands, and bringing it to this Tenure's schema.

The worker and the API refuse a database that is behind and name `tenure db upgrade`; `make run`
upgrades its own embedded database itself. An upgrade at every deploy is safe (a no-op when current).
"""

from __future__ import annotations

import sqlalchemy as sa
import typer

from storage.migrate import SchemaNotCurrent, db_status, db_upgrade

from .context import CliError, env_of, run
from .render import say

db_app = typer.Typer(help="The ledger database: its schema revision, and upgrading it.", no_args_is_help=True)


@db_app.command("current")
def current_cmd(ctx: typer.Context) -> None:
    """The database's schema revision and the one this Tenure needs; exit 1 when they differ."""
    settings = env_of(ctx).settings

    def work() -> bool:
        try:
            status = db_status(settings)
        except sa.exc.OperationalError as e:
            raise CliError(f"cannot open the ledger database: {e.orig}") from None
        if status.is_current:
            state = "[green]current[/]"
        elif status.known:
            state = "[yellow]behind: run `tenure db upgrade`[/]"
        else:
            state = "[red]from a newer Tenure: run that one (this one cannot use its schema, and has no downgrade)[/]"
        say(f"{status.url}: revision {status.current or '(none)'}; this Tenure needs {status.head} — {state}")
        return status.is_current

    if not run(work):
        raise typer.Exit(1)


@db_app.command("upgrade")
def upgrade_cmd(ctx: typer.Context) -> None:
    """Migrate the ledger database to this Tenure's schema (nothing to do when it is current)."""
    settings = env_of(ctx).settings

    def work() -> None:
        try:
            before, after = db_upgrade(settings)
        except sa.exc.OperationalError as e:
            raise CliError(f"cannot open the ledger database: {e.orig}") from None
        except SchemaNotCurrent as e:  # a newer Tenure's revision: nothing this one can upgrade
            raise CliError(str(e)) from None
        if before == after:
            say(f"[green]✔[/] already at revision {after}")
        else:
            say(f"[green]✔[/] upgraded {before or '(empty)'} → {after}")

    run(work)
