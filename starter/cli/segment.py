"""`tenure segment`: saved segments for marketers, read from the projection journeys keep current.

    tenure segment create FILE | --name NAME (--where "FIELD OP VALUE"... [--any] | --filter JSON)
    tenure segment list [--json]
    tenure segment show ID [--json]
    tenure segment preview ID | --where ... | --filter JSON  [--sample N] [--json]
    tenure segment [--at-risk] [--status STATUS] [--tier TIER]   (the quick listing of before)

FILE is TOML or JSON: `segment_id` (optional: made from the name), `name`, `filter`; a new or
previewed filter (and `--tier`) may name only the tiers of the program in force (TENURE_PROGRAM_PATH),
IANA time zones and ISO 3166 two-letter countries in capitals, exit 2 otherwise. A `--where`
is `FIELD OP VALUE`: `tier in gold,platinum`, `balance between 100,500`, `at_risk is_true`,
`last_activity_at lt 2026-11-01T00:00:00Z`; several are combined with AND (`--any`: OR).
"""

from __future__ import annotations

import getpass
import json
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import TypeAdapter, ValidationError

from domain.segments import (
    BOOL_FIELDS,
    NUMBER_FIELDS,
    Condition,
    Segment,
    SegmentFilter,
    SegmentPreview,
    check_shape,
    error_path,
    value_faults,
)
from starter.client.segments import NoSegment, NoSegmentId, SegmentClient, SegmentTaken, UnknownFilterValue
from starter.program_file import UnreadableFile, text_of
from storage.members import segment
from storage.segments import MAX_SAMPLE

from .context import CliError, env_of, run
from .render import console, say, segment_preview_view, segment_view, segments_view

STATUSES = ("active", "past_due", "cancelled")
LIST_HINT = "`tenure segment list` shows the saved segments"
FILTER = TypeAdapter(SegmentFilter)

segment_app = typer.Typer(
    help="Saved segments (create, list, show, preview); without a command, a quick listing by status, tier, at risk.",
    invoke_without_command=True,
    no_args_is_help=False,
)

WhereOption = Annotated[
    list[str] | None,
    typer.Option("--where", "-w", help='A condition "FIELD OP VALUE" (repeat: all must hold; --any: one).'),
]
AnyOption = Annotated[bool, typer.Option("--any", help="Combine the --where conditions with OR.")]
FilterOption = Annotated[str | None, typer.Option("--filter", help="The whole filter as JSON.")]
JsonOption = Annotated[bool, typer.Option("--json", help="JSON instead of tables.")]


@segment_app.callback()
def segment_cmd(
    ctx: typer.Context,
    at_risk: Annotated[bool, typer.Option("--at-risk", help="Only members marked at risk.")] = False,
    status: Annotated[str | None, typer.Option("--status", help="active, past_due or cancelled (churned).")] = None,
    tier: Annotated[str | None, typer.Option("--tier", help="A tier of the program.")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="Show at most N members.")] = 1000,
):
    """Members in a segment (at risk, churned, by tier), as their journeys last reported them."""
    if ctx.invoked_subcommand is not None:
        return
    env = env_of(ctx)

    def work() -> list[dict[str, Any]]:
        if status and status not in STATUSES:
            raise CliError(f"unknown status {status!r}: use active, past_due or cancelled", code=2)
        if tier is not None:  # as a filter's tier: one of the program in force's, or it lists nobody
            faults = value_faults(
                Condition.model_construct(field="tier", op="eq", value=tier), env.program().tiers.names()
            )
            if faults:
                raise CliError(f"--tier: {faults[0].message}", code=2)
        return segment(env.engine(), at_risk=True if at_risk else None, status=status, tier=tier, limit=limit)

    rows = run(work)
    console().print(segment_view(rows))
    if len(rows) >= limit:
        say(f"the first {limit:,} by customer id; there may be more: --limit N shows N", stderr=True)


# ---- building a filter from the command line ---------------------------------------------------


def _value(field: str, text: str) -> Any:
    if field in NUMBER_FIELDS:
        try:
            return int(text.replace("_", ""))
        except ValueError:
            raise CliError(f"--where {field}: {text!r} is not a whole number", code=2) from None
    if field in BOOL_FIELDS:
        if text.lower() not in ("true", "false"):
            raise CliError(f"--where {field}: use true or false, not {text!r}", code=2)
        return text.lower() == "true"
    return text


def condition_of(where: str) -> dict[str, Any]:
    """`"tier in gold,platinum"` → `{"field": "tier", "op": "in", "value": ["gold", "platinum"]}`."""
    parts = where.split(None, 2)
    if len(parts) < 2:
        raise CliError(f'--where {where!r}: write "FIELD OP VALUE", e.g. "tier eq gold"', code=2)
    field, op = parts[0], parts[1]
    out: dict[str, Any] = {"field": field, "op": op}
    if len(parts) == 3:
        text = parts[2].strip()
        if op in ("in", "between"):
            out["value"] = [_value(field, v.strip()) for v in re.split(r"\s*,\s*", text) if v.strip()]
        else:
            out["value"] = None if text.lower() == "null" else _value(field, text)
    return out


def filter_of(
    where: list[str] | None, any_of: bool, filter_json: str | None, what: str = "the filter"
) -> SegmentFilter:
    if bool(where) == bool(filter_json):
        raise CliError(
            f'give {what} as --where conditions or as --filter JSON (one of them), e.g. -w "tier eq gold"', code=2
        )
    raw: Any
    if filter_json:
        try:
            raw = json.loads(filter_json)
        except json.JSONDecodeError as e:
            raise CliError(f"--filter is not JSON: {e}", code=2) from None
    else:
        conditions = [condition_of(w) for w in where or []]
        raw = {"any" if any_of else "all": conditions}
    return _validated(raw, "filter")


def _problems(e: ValidationError, prefix: str) -> str:
    lines = []
    for err in e.errors(include_url=False):
        where = ".".join(str(p) for p in (prefix, *error_path(err["loc"])) if p != "")
        lines.append(f"  {where}: {err['msg'].removeprefix('Value error, ')}")  # pydantic's wrapping of our words
    return "\n".join(lines)


def _value_problems(e: UnknownFilterValue, prefix: str) -> str:
    """A value a field cannot have (a tier the program lacks, a zone or a country that is none), named by
    its path as `_problems` names the filter's other faults."""
    return "\n".join(
        f"  {'.'.join(str(p) for p in (prefix, *error_path(f.loc)) if p != '')}: {f.message}" for f in e.faults
    )


def _validated(raw: Any, prefix: str) -> SegmentFilter:
    try:
        f = FILTER.validate_python(raw)
        check_shape(f)
        return f
    except ValidationError as e:
        raise CliError(f"not a valid segment filter:\n{_problems(e, prefix)}", code=2) from None
    except ValueError as e:
        raise CliError(f"not a valid segment filter: {e}", code=2) from None


def read_definition(path: Path) -> dict[str, Any]:
    """A segment file: TOML, or JSON (by its suffix, else whichever parses)."""
    try:
        text = text_of(path, "segment file")
    except UnreadableFile as e:
        raise CliError(str(e), code=2) from None
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as e:
        raise CliError(
            f"{path} is not valid {'JSON' if path.suffix.lower() == '.json' else 'TOML'}: {e}", code=2
        ) from None
    if not isinstance(data, dict):
        raise CliError(f"{path}: a segment file is a table with name and filter", code=2)
    return data


def _definition(data: dict[str, Any]) -> tuple[str, SegmentFilter, str | None]:
    """Name, filter and id (None: made from the name) of a segment file or the options."""
    unknown = sorted(set(data) - {"segment_id", "name", "filter"})
    if unknown:
        raise CliError(f"unknown key(s) {', '.join(unknown)}: a segment has segment_id, name, filter", code=2)
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise CliError("name: a segment needs a name", code=2)
    if "filter" not in data:
        raise CliError("filter: a segment needs a filter", code=2)
    segment_id = data.get("segment_id")
    if segment_id is not None and not isinstance(segment_id, str):
        raise CliError("segment_id: a string", code=2)
    return name, _validated(data["filter"], "filter"), segment_id


# ---- the commands ------------------------------------------------------------------------------


@segment_app.command("create")
def create_cmd(
    ctx: typer.Context,
    file: Annotated[Path | None, typer.Argument(help="A TOML or JSON segment file.", show_default=False)] = None,
    name: Annotated[str | None, typer.Option("--name", help="The segment's name (without FILE).")] = None,
    segment_id: Annotated[str | None, typer.Option("--id", help="Its id (default: made from the name).")] = None,
    where: WhereOption = None,
    any_of: AnyOption = False,
    filter_json: FilterOption = None,
    actor: Annotated[str | None, typer.Option("--actor", help="Who creates it (default: cli:<user>).")] = None,
):
    """Save a named segment, from a file or from options.

    Example: tenure segment create --name "Gold at risk" -w "tier in gold,platinum" -w "at_risk is_true"

    A --where is "FIELD OP VALUE" (ops: eq ne in lt le gt ge between is_true is_false).

    A FILE is TOML or JSON with name, filter and, optionally, segment_id (README "Segments")."""
    env = env_of(ctx)
    who = actor or f"cli:{getpass.getuser()}"

    def work() -> Segment:
        if file is not None:
            if name or where or filter_json:
                raise CliError("give FILE or --name with --where/--filter, not both", code=2)
            new_name, f, new_id = _definition(read_definition(file))
        else:
            if not name:
                raise CliError("give a segment FILE, or --name with --where or --filter", code=2)
            new_name, f, new_id = name, filter_of(where, any_of, filter_json), segment_id
        tiers = env.program().tiers.names()  # the program in force: a filter may name only its tiers
        try:
            return SegmentClient(env.engine()).create(new_name, f, who, new_id, tiers)
        except UnknownFilterValue as e:
            raise CliError(f"not a valid segment filter:\n{_value_problems(e, 'filter')}", code=2) from None
        except SegmentTaken as e:
            other = "--id" if e.field == "segment_id" else "--name"
            raise CliError(f"{e}: give another {other} (`tenure segment list` shows the saved segments)") from None
        except NoSegmentId as e:
            raise CliError(f"--id: {e}", code=2) from None
        except ValidationError as e:
            raise CliError(f"not a valid segment:\n{_problems(e, '')}", code=2) from None

    seg = run(work)
    console().print(f"created segment [bold]{seg.segment_id}[/] ({seg.name})")


@segment_app.command("list")
def list_cmd(ctx: typer.Context, as_json: JsonOption = False):
    """Every saved segment."""
    env = env_of(ctx)
    found = run(lambda: SegmentClient(env.engine()).list())
    if as_json:
        typer.echo(json.dumps([s.model_dump(mode="json") for s in found], indent=2))
    elif not found:
        say('no segment saved yet: tenure segment create --name NAME -w "FIELD OP VALUE" (see --help)')
    else:
        console().print(segments_view(found))


def _saved(ctx: typer.Context, segment_id: str) -> Segment:
    env = env_of(ctx)

    def work() -> Segment:
        try:
            return SegmentClient(env.engine()).get(segment_id)
        except NoSegment as e:
            raise CliError(f"{e}: {LIST_HINT}") from None

    return run(work)


@segment_app.command("show")
def show_cmd(
    ctx: typer.Context,
    segment_id: Annotated[str, typer.Argument(help="The segment's id.")],
    as_json: JsonOption = False,
):
    """A saved segment, its filter and how many members it holds now."""
    env = env_of(ctx)
    seg = _saved(ctx, segment_id)
    shown = run(lambda: SegmentClient(env.engine()).preview(seg.segment_id, 0))  # as saved, not checked again
    if as_json:
        typer.echo(json.dumps({**seg.model_dump(mode="json"), "count": shown.count}, indent=2))
        return
    console().print(segments_view([seg], counts={seg.segment_id: shown.count}))
    typer.echo(json.dumps(FILTER.dump_python(seg.filter, mode="json", exclude_none=True), indent=2))


@segment_app.command("preview")
def preview_cmd(
    ctx: typer.Context,
    segment_id: Annotated[str | None, typer.Argument(help="A saved segment (or give --where/--filter).")] = None,
    where: WhereOption = None,
    any_of: AnyOption = False,
    filter_json: FilterOption = None,
    sample: Annotated[int, typer.Option("--sample", "-n", min=0, max=MAX_SAMPLE, help="Members to show.")] = 10,
    as_json: JsonOption = False,
):
    """How many members a segment (or a filter) holds now, and the first of them.

    Examples: tenure segment preview gold; tenure segment preview -w "status eq cancelled" -w "balance ge 500"
    """
    env = env_of(ctx)
    if segment_id is not None and (where or filter_json):
        say("[bold red]error:[/] give a segment id or a filter, not both", stderr=True)
        raise typer.Exit(2)

    def work() -> SegmentPreview:
        if segment_id is not None:  # a saved segment, read as saved
            try:
                return SegmentClient(env.engine()).preview(segment_id, sample)
            except NoSegment as e:
                raise CliError(f"{e}: {LIST_HINT}") from None
        f = filter_of(where, any_of, filter_json, "a saved segment's id, or a filter")
        try:  # a filter as `create` would take it: the program in force's tiers, real zones and countries
            return SegmentClient(env.engine()).preview(f, sample, env.program().tiers.names())
        except UnknownFilterValue as e:
            raise CliError(f"not a valid segment filter:\n{_value_problems(e, 'filter')}", code=2) from None

    shown = run(work)
    if as_json:
        typer.echo(shown.model_dump_json(indent=2))
    else:
        console().print(segment_preview_view(shown))
