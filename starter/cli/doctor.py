"""`tenure doctor [CUSTOMER_ID]`: the journeys that are stuck or set events aside, as a table or `--json`.

Exit 1 when a journey needs support (stuck, or anything quarantined), 0 when none does.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Annotated, Any

import typer

from starter.doctor import ATTEMPTS, STALLED_AFTER, Diagnosis, diagnose
from storage.quarantine_reads import quarantined

from . import arguments
from .context import env_of, run
from .render import console, doctor_view, progress_bar, quarantine_view, say


def doctor_cmd(
    ctx: typer.Context,
    customer_id: Annotated[
        str | None,
        typer.Argument(help="One customer, with what it set aside; all when omitted.", callback=arguments.customer_id),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of tables.")] = False,
    attempts: Annotated[
        int, typer.Option("--attempts", min=2, help="A task retried this often is stuck (workflow task, activity).")
    ] = ATTEMPTS,
    stalled_after: Annotated[
        float, typer.Option("--stalled-after", min=0, help="Seconds a ledger write may be retried before it is stuck.")
    ] = STALLED_AFTER.total_seconds(),
):
    """Journeys that are stuck (failing workflow task, activity or ledger write retried) or set events aside."""
    env = env_of(ctx)
    out = console()

    async def work() -> tuple[list[Diagnosis], list[dict[str, Any]]]:
        engine = env.engine()
        try:
            async with env.tenure() as tenure:
                options: dict[str, Any] = {"attempts": attempts, "stalled_after": timedelta(seconds=stalled_after)}
                if customer_id is not None or as_json:
                    found = await diagnose(tenure, engine, customer_id, **options)
                else:
                    with progress_bar(out, "examining running journeys") as progress:
                        task = progress.add_task("doctor", total=None)
                        found = await diagnose(
                            tenure,
                            engine,
                            on_total=lambda n: progress.update(task, total=n),
                            on_done=lambda: progress.advance(task),
                            **options,
                        )
            rows = quarantined(engine, customer_id) if customer_id is not None else []
        finally:
            engine.dispose()
        return found, rows

    found, rows = run(work())
    troubled = [d for d in found if not d.ok]
    if as_json:
        typer.echo(json.dumps({"journeys": [d.as_json() for d in found], "quarantined": rows}, default=str, indent=2))
    else:
        if troubled:  # the journeys that are fine are counted in the line below, not listed
            out.print(doctor_view(troubled))
        if customer_id is not None and rows:
            out.print(quarantine_view(customer_id, rows))
        stuck = sum(1 for d in found if d.stuck)
        if troubled:
            aside = len(troubled) - stuck
            say(f"[bold red]✘ {len(troubled)} journey(s) need support: {stuck} stuck, {aside} with things set aside[/]")
        else:
            say("[green]✔ no journey is stuck or has set anything aside[/]")
    if troubled:
        raise typer.Exit(1)
