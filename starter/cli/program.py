"""`tenure program check [PATH]`: validate a program file without starting anything.

The `program` command group of the CLI until `starter/program_commands.py` (check, show, diff)
takes its place in `starter/cli/app.py`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .context import env_of, read_program, run
from .render import say

program_app = typer.Typer(help="The program file.", no_args_is_help=True)


@program_app.command("check")
def program_check_cmd(
    ctx: typer.Context,
    path: Annotated[Path | None, typer.Argument(help="Program file (default: TENURE_PROGRAM_PATH).")] = None,
):
    """Validate a program file; every wrong field is named. Exit 2 when it is refused."""
    env = env_of(ctx)
    target = path or env.settings.program_path
    p = run(lambda: read_program(target))
    say(
        f"[green]✔[/] {target}: program [bold]{p.version}[/] is valid — {p.currency}, "
        f"tiers {' → '.join(p.tiers.names())}, {len(p.redemption.catalog)} rewards, "
        f"lots valid {p.points.lot_validity_days} days"
    )
