"""The root of `tenure`: connection options, and the command groups.

    tenure member show|ledger|timeline|adjust|set-tier|start-input|export|erase CUSTOMER_ID ...  (members.py)
    tenure member requests [CUSTOMER_ID]   the register of exports and erasures                     (members.py)
    tenure reconcile [CUSTOMER_ID]                                                   (reconcile.py)
    tenure doctor [CUSTOMER_ID] [--json]                                             (doctor.py)
    tenure segment create|list|show|preview ... ; tenure segment [--at-risk] [--tier T] (segment.py)
    tenure campaign create FILE | list | preview|start|pause|resume|cancel|status|results ID  (campaign.py)
    tenure program check|show|diff ...                                               (program.py)
    tenure db current|upgrade                                                        (database.py)

Connection and database come from the TENURE_ environment (settings.py), or `--address`,
`--namespace`, `--task-queue` and `--db` before the command.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from settings import SettingsError, database_url_fault

from .campaign import campaign_app
from .context import Env, env_of
from .database import db_app
from .doctor import doctor_cmd
from .members import member_app
from .metrics import metrics_cmd
from .program import program_app
from .reconcile import reconcile_cmd
from .render import say
from .segment import segment_app

app = typer.Typer(
    name="tenure",
    help="Tenure: loyalty journeys on Temporal — support and operations.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(member_app, name="member")
app.add_typer(campaign_app, name="campaign")
app.command("reconcile")(reconcile_cmd)
app.command("doctor")(doctor_cmd)
app.add_typer(segment_app, name="segment")
app.command("metrics")(metrics_cmd)
app.add_typer(program_app, name="program")
app.add_typer(db_app, name="db")


@app.callback()
def main(
    ctx: typer.Context,
    address: Annotated[
        str | None, typer.Option("--address", help="Temporal host:port (TENURE_TEMPORAL_ADDRESS).")
    ] = None,
    namespace: Annotated[str | None, typer.Option("--namespace", help="Temporal namespace.")] = None,
    task_queue: Annotated[str | None, typer.Option("--task-queue", help="The workers' task queue.")] = None,
    db: Annotated[str | None, typer.Option("--db", help="Ledger database URL (TENURE_DATABASE_URL).")] = None,
) -> None:
    try:
        env = env_of(ctx)
    except SettingsError as e:
        say(f"[bold red]error:[/] {escape(str(e))}", stderr=True)
        raise typer.Exit(2) from None
    if db and (fault := database_url_fault(db)):
        say(f"[bold red]error:[/] --db: {escape(fault)}", stderr=True)
        raise typer.Exit(2)
    updates = {
        k: v
        for k, v in (
            ("temporal_address", address),
            ("temporal_namespace", namespace),
            ("task_queue", task_queue),
            ("database_url", db),
        )
        if v
    }
    ctx.obj = Env(env.settings.model_copy(update=updates)) if updates else env
