"""`tenure segment`: members in a segment (at risk, churned, by tier), as their journeys last reported them."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from storage.members import segment

from .context import CliError, env_of, run
from .render import console, segment_view

STATUSES = ("active", "past_due", "cancelled")


def segment_cmd(
    ctx: typer.Context,
    at_risk: Annotated[bool, typer.Option("--at-risk", help="Only members marked at risk.")] = False,
    status: Annotated[str | None, typer.Option("--status", help="active, past_due or cancelled (churned).")] = None,
    tier: Annotated[str | None, typer.Option("--tier", help="A tier of the program.")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1)] = 1000,
):
    """Members in a segment (at risk, churned, by tier), as their journeys last reported them."""
    env = env_of(ctx)

    def work() -> list[dict[str, Any]]:
        if status and status not in STATUSES:
            raise CliError(f"unknown status {status!r}: use active, past_due or cancelled", code=2)
        return segment(env.engine(), at_risk=True if at_risk else None, status=status, tier=tier, limit=limit)

    console().print(segment_view(run(work)))
