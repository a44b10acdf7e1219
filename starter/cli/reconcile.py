"""`tenure reconcile [CUSTOMER_ID]`: does the SQL ledger agree with the journeys? Exit 1 on any mismatch."""

from __future__ import annotations

from typing import Annotated

import typer

from starter.reconcile import ReconcileRow, reconcile

from . import arguments
from .context import env_of, run
from .render import console, progress_bar, reconcile_view, say


def reconcile_cmd(
    ctx: typer.Context,
    customer_id: Annotated[
        str | None, typer.Argument(help="One customer; all when omitted.", callback=arguments.customer_id)
    ] = None,
):
    """Check that the SQL ledger agrees with the journeys; exit 1 on any mismatch."""
    env = env_of(ctx)
    out = console()

    async def work() -> list[ReconcileRow]:
        engine = env.engine()
        try:
            async with env.tenure() as tenure:
                if customer_id is not None:
                    return await reconcile(tenure, engine, customer_id)
                with progress_bar(out, "reconciling") as progress:
                    task = progress.add_task("reconcile", total=None)
                    return await reconcile(
                        tenure,
                        engine,
                        on_total=lambda n: progress.update(task, total=n),
                        on_row=lambda _row: progress.advance(task),
                    )
        finally:
            engine.dispose()

    rows = run(work())
    if not rows:
        say("[green]✔ nothing to reconcile: the ledger has no entries yet[/]")
        return
    out.print(reconcile_view(rows, out.width))
    bad = [r for r in rows if not r.ok]
    if bad:
        say(f"[bold red]✘ {len(bad)} of {len(rows)} customers do not reconcile[/]")
        raise typer.Exit(1)
    say(f"[green]✔ {len(rows)} customer{'s' if len(rows) != 1 else ''} reconcile[/]")
