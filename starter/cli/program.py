"""`tenure program …`: check a program file, show the program it stands for, compare two files.

    tenure program check [FILE]       valid? and what differs from the defaults
    tenure program show [FILE] [--json]   the effective program in full (TOML, or JSON)
    tenure program diff OLD NEW       what changed between two files

FILE defaults to TENURE_PROGRAM_PATH. Exit status: 0 valid (diff: the same program), 1 diff:
the programs differ, 2 a file missing or not a valid program (every fault is named on stderr).
The logic lives in domain/program (parse, diff, render); this module only reads files and prints.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from domain.program import Program, ProgramError, default_program
from domain.program.diff import Difference, differences
from domain.program.render import program_json, program_toml
from settings import Settings, settings_from_environment
from starter.program_file import read_program

INVALID = 2
DIFFERENT = 1

program_app = typer.Typer(
    help="The program file: check it, show the program it stands for, compare two.", no_args_is_help=True
)

FileArgument = Annotated[Path | None, typer.Argument(help="Program file (default: TENURE_PROGRAM_PATH).")]


def _settings(ctx: typer.Context) -> Settings:
    """The settings the app carries (as `obj`, or in an object's `settings`), else the environment's."""
    obj = ctx.obj
    found = getattr(obj, "settings", obj)
    return found if isinstance(found, Settings) else settings_from_environment(Settings)


def _fail(message: str) -> NoReturn:
    Console(stderr=True, highlight=False).print(f"[bold red]error:[/] [red]{escape(message)}[/]", soft_wrap=True)
    raise typer.Exit(INVALID)


def load(*paths: Path) -> list[Program]:
    """The programs of the files; when any is missing or invalid, every fault of each, and exit 2."""
    programs: list[Program] = []
    faults: list[str] = []
    for path in paths:
        try:
            programs.append(read_program(path))
        except ProgramError as e:
            faults.append(str(e))
    if faults:
        _fail("\n".join(faults))
    return programs


def _list(changes: list[Difference]) -> None:
    for change in changes:
        typer.echo(f"  {change}")


@program_app.command("check")
def check_cmd(ctx: typer.Context, path: FileArgument = None) -> None:
    """Validate a program file (every wrong field is named) and list what differs from the defaults."""
    target = path or _settings(ctx).program_path
    (p,) = load(target)
    Console(highlight=False).print(
        f"[green]✔[/] {escape(str(target))}: program [bold]{escape(p.version)}[/] is valid — {p.currency}, "
        f"tiers {' → '.join(p.tiers.names())}, {len(p.redemption.catalog)} rewards, "
        f"lots valid {p.points.lot_validity_days} days",
        soft_wrap=True,
    )
    changes = differences(default_program(p.version), p)
    if not changes:
        typer.echo("Every rule is the default.")
        return
    typer.echo(f"{len(changes)} {'rule differs' if len(changes) == 1 else 'rules differ'} from the defaults:")
    _list(changes)


@program_app.command("show")
def show_cmd(
    ctx: typer.Context,
    path: FileArgument = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON (as journeys carry it) instead of TOML.")] = False,
) -> None:
    """Print the effective program: the file over the defaults, every rule spelled out."""
    (p,) = load(path or _settings(ctx).program_path)
    typer.echo(program_json(p) if as_json else program_toml(p), nl=False)


@program_app.command("diff")
def diff_cmd(
    old: Annotated[Path, typer.Argument(help="The program file before.")],
    new: Annotated[Path, typer.Argument(help="The program file after.")],
) -> None:
    """What changed between two program files, rule by rule. Exit 0 when the same program, 1 when not."""
    changes = differences(*load(old, new))
    if not changes:
        typer.echo(f"{old} and {new} are the same program.")
        return
    typer.echo(f"{len(changes)} {'rule differs' if len(changes) == 1 else 'rules differ'} from {old} to {new}:")
    _list(changes)
    raise typer.Exit(DIFFERENT)
