"""`tenure member ...`: one member's journey — balance, lots, tier, ledger, timeline; adjust points or tier;
export or erase their personal data, and the register of those requests.

Support commands never open a journey: an unknown id answers "no journey for customer X". The work
under each command (`member_adjust`, ...) takes a `TenureClient`, so it is callable from Python too.
"""

from __future__ import annotations

import json
import os
import shlex
import uuid
from collections.abc import Awaitable
from datetime import UTC, date, datetime, time
from enum import StrEnum
from pathlib import Path
from typing import Annotated, TypeVar

import sqlalchemy as sa
import typer
from pydantic import ValidationError
from pydantic_core import to_jsonable_python

from domain.effects import LedgerEntry
from domain.erasure import ErasureRequest
from domain.messages import AdjustRequest, AdjustResult, MinimumTierRequest
from domain.summary import Summary
from domain.utc_times import in_utc
from starter.client import NoJourney, TenureClient, start_input
from starter.client.tier_bounds import END_OF_DAY, until_problem
from starter.personal_data import ReasonNamesTheMember, erase_member, export_member
from starter.validation_words import in_words
from storage.ledger_reads import ledger_page, ledger_totals
from storage.personal_data import list_requests

from .arguments import CustomerArg
from .arguments import customer_id as customer_id_rule
from .context import CliError, env_of, run
from .render import console, ledger_view, requests_view, say, summary_view, timeline_view, when

member_app = typer.Typer(
    help="One member's journey: balance, lots, tier, ledger, timeline; adjust points or tier; export or erase "
    "their personal data, and list those requests.",
    no_args_is_help=True,
)

T = TypeVar("T")

NEGATIVE_OK = {"ignore_unknown_options": True}  # `adjust cus_1 -250 …`: a negative number is not an option


# ---- the work, callable without the CLI ---------------------------------------------------------


async def require_journey(tenure: TenureClient, customer_id: str) -> Summary:
    """The journey exists and its worker answers: an update would wait for a worker indefinitely."""
    return await tenure.summary(customer_id)


def member_ledger(engine: sa.Engine, customer_id: str, limit: int = 50) -> tuple[list[LedgerEntry], int]:
    """The last `limit` ledger entries of a customer (in seq order) and how many there are in all."""
    totals = ledger_totals(engine, customer_id).get(customer_id)
    if totals is None:
        raise CliError(f"no ledger entries for customer {customer_id}")
    offset = max(0, totals.count - limit)
    return ledger_page(engine, customer_id, offset, limit), totals.count


async def member_adjust(
    tenure: TenureClient, customer_id: str, points: int, reason: str, actor: str, request_id: str | None = None
) -> AdjustResult:
    try:
        req = AdjustRequest(request_id=request_id or _request_id(), points=points, reason=reason, actor=actor)
    except ValidationError as e:
        raise CliError(_validation(e)) from None
    await require_journey(tenure, customer_id)
    return await tenure.adjust(customer_id, req)


async def member_set_tier(
    tenure: TenureClient,
    customer_id: str,
    tier: str,
    reason: str,
    actor: str,
    until: datetime,
    request_id: str | None = None,
) -> Summary:
    try:
        req = MinimumTierRequest(
            request_id=request_id or _request_id(), tier=tier, reason=reason, actor=actor, until=until
        )
    except ValidationError as e:
        raise CliError(_validation(e)) from None
    problem = until_problem(until, datetime.now(UTC), "--until")
    if problem is not None:
        raise CliError(problem)
    await require_journey(tenure, customer_id)
    return await tenure.set_minimum_tier(customer_id, req)


def _erasure_request(request_id: str | None, actor: str, reason: str | None) -> ErasureRequest:
    try:
        return ErasureRequest(request_id=request_id or _request_id(), actor=actor, reason=reason)
    except ValidationError as e:
        raise CliError(_validation(e), code=2) from None


async def _known(customer_id: str, nothing_to: str, work: Awaitable[T]) -> T:
    """The work of a data-protection request; a member Tenure holds nothing about is said so, in the API's
    words ('no journey' alone would leave open whether the ledger database holds something)."""
    try:
        return await work
    except NoJourney:
        raise CliError(
            f"Tenure holds nothing about customer {customer_id}: no journey and no rows in the ledger database, "
            f"nothing to {nothing_to}"
        ) from None
    except ReasonNamesTheMember as e:
        raise CliError(f"--reason: {e}", code=2) from None


def json_text(document: object) -> str:
    """The JSON the API answers for the same document (ISO 8601 times, `Z` for UTC), indented."""
    return json.dumps(to_jsonable_python(document), indent=2, ensure_ascii=False)


def writable(path: Path) -> None:
    """Exit 2 naming the problem and what to do when `path` cannot be written: said before the export is
    made (and recorded), not after."""
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise CliError(f"--output: {path} is a folder: name a file in it, e.g. {path / 'member.json'}", code=2)
    if not folder.is_dir():
        raise CliError(f"--output: no folder {folder}: create it, or name a file in an existing folder", code=2)
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise CliError(f"--output: {path} cannot be written here (permission denied)", code=2)


def write_private(path: Path, text: str) -> None:
    """Write `text` to `path`, readable by its owner only from the moment it exists (an export is a person's
    data: created 0600, never first with the umask's 0644 and then narrowed); an existing file is narrowed
    to 0600 before it is overwritten."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    except OSError as e:
        raise CliError(f"cannot write {path}: {e.strerror}") from None
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        os.fchmod(fd, 0o600)
        f.write(text)


def _request_id() -> str:
    return f"cli-{uuid.uuid4().hex[:12]}"


# The request's fields as the commands name them, so an error says what to type where.
OPTION_NAMES = {
    "request_id": "--request-id",
    "reason": "--reason",
    "actor": "--actor",
    "until": "--until",
    "points": "POINTS",
    "tier": "TIER",
}


def _validation(e: ValidationError) -> str:
    return in_words(e, OPTION_NAMES)


def _parse_time(value: str, on_a_day: time) -> datetime:
    """A date is `on_a_day`'s moment of that day (UTC); an ISO time is taken as it is (UTC when it names
    no zone); anything else is a usage error."""
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        pass
    else:
        return datetime.combine(day, on_a_day, tzinfo=UTC)
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date (YYYY-MM-DD) or an ISO date-time") from None
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)


def _parse_until(value: str) -> datetime:
    """A date is the minimum's last day: it lasts to the end of that day (UTC), as in the console; an ISO
    time is taken as it is (UTC when it names no zone)."""
    return _parse_time(value, END_OF_DAY)


# ---- the commands -------------------------------------------------------------------------------


JsonOption = Annotated[bool, typer.Option("--json", help="JSON instead of tables (as the HTTP API answers).")]


@member_app.command("show")
def show_cmd(ctx: typer.Context, customer_id: CustomerArg, as_json: JsonOption = False):
    """Balance, pending, tier and why, next tier, and every lot with its expiry."""
    env = env_of(ctx)
    summary = run(env.call(lambda tenure: tenure.summary(customer_id)))
    if as_json:  # what GET /members/{id} answers
        typer.echo(summary.model_dump_json(indent=2))
        return
    console().print(summary_view(summary))


@member_app.command("ledger")
def ledger_cmd(
    ctx: typer.Context,
    customer_id: CustomerArg,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="Show the last N entries.")] = 50,
    as_json: JsonOption = False,
):
    """The customer's entries in the SQL ledger (the most recent ones)."""
    env = env_of(ctx)
    entries, total = run(lambda: member_ledger(env.engine(), customer_id, limit))
    if as_json:  # GET /members/{id}/ledger's shape, at the offset of the last N
        page = {"customer_id": customer_id, "total": total, "offset": max(0, total - limit), "limit": limit}
        typer.echo(json.dumps({**page, "entries": [e.model_dump(mode="json") for e in entries]}, indent=2))
        return
    console().print(ledger_view(customer_id, entries, total))


@member_app.command("timeline")
def timeline_cmd(
    ctx: typer.Context,
    customer_id: CustomerArg,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="Show the last N events.")] = 100,
    as_json: JsonOption = False,
):
    """What happened in the journey, in plain words."""
    env = env_of(ctx)
    timeline = run(env.call(lambda tenure: tenure.timeline(customer_id, limit)))
    if as_json:
        typer.echo(timeline.model_dump_json(indent=2))
        return
    console().print(timeline_view(customer_id, timeline))


@member_app.command("adjust", context_settings=NEGATIVE_OK)
def adjust_cmd(
    ctx: typer.Context,
    customer_id: CustomerArg,
    points: Annotated[int, typer.Argument(help="Points to add (positive) or remove (negative).")],
    reason: Annotated[str, typer.Option("--reason", help="Why; recorded in the ledger and the email.")],
    actor: Annotated[str, typer.Option("--actor", help="Who (e.g. support:maria).")],
    request_id: Annotated[
        str | None, typer.Option("--request-id", help="Idempotency id; repeat it to retry safely (default: a new one).")
    ] = None,
):
    """Add or remove points, with a reason and an actor (recorded in the ledger).

    Example: tenure member adjust cus_123 -250 --reason "duplicate survey" --actor support:maria --request-id adj-42

    Repeat the same --request-id to retry safely: the points move once."""
    env = env_of(ctx)
    r = run(env.call(lambda tenure: member_adjust(tenure, customer_id, points, reason, actor, request_id)))
    say(
        f"[green]✔[/] adjusted {r.points:+,d} points for {customer_id}: balance now "
        f"[bold]{r.balance_after:,}[/] (request {r.request_id})"
    )


@member_app.command("set-tier")
def set_tier_cmd(
    ctx: typer.Context,
    customer_id: CustomerArg,
    tier: Annotated[str, typer.Argument(help="The minimum tier (e.g. gold).")],
    reason: Annotated[str, typer.Option("--reason", help="Why; shown to support and in the tier email.")],
    actor: Annotated[str, typer.Option("--actor", help="Who (e.g. support:maria).")],
    until: Annotated[str, typer.Option("--until", help="Last day of the minimum: YYYY-MM-DD (UTC) or ISO time.")],
):
    """Set a minimum tier until a date: the member never drops below it while it lasts.

    Example: tenure member set-tier cus_123 gold --reason "key account" --actor support:maria --until 2027-06-30"""
    env = env_of(ctx)
    end = _parse_until(until)
    s = run(env.call(lambda tenure: member_set_tier(tenure, customer_id, tier, reason, actor, end)))
    say(
        f"[green]✔[/] minimum tier {tier} for {customer_id} until {when(end)}; "
        f"tier now [bold]{s.tier}[/] ({s.tier_because})"
    )


@member_app.command("start-input")
def start_input_cmd(ctx: typer.Context, customer_id: CustomerArg):
    """Print the JSON a new journey starts with, for `temporal workflow signal-with-start --input-file`."""
    env = env_of(ctx)
    program = run(env.program)
    typer.echo(start_input(customer_id, program).model_dump_json())


@member_app.command("export")
def export_cmd(
    ctx: typer.Context,
    customer_id: CustomerArg,
    actor: Annotated[str, typer.Option("--actor", help="Who asks (e.g. admin:maria); recorded.")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the document to this file (default: stdout).")
    ] = None,
):
    """Everything Tenure holds about the member, as one JSON document (GDPR art. 15 and 20).

    Example: tenure member export cus_123 --actor admin:maria -o cus_123.json"""
    env = env_of(ctx)
    if output is not None:
        run(lambda: writable(output))  # before the export is made and recorded: nobody would have it
    engine = run(env.engine)
    document = run(
        env.call(lambda tenure: _known(customer_id, "export", export_member(tenure, engine, customer_id, actor)))
    )
    text = json_text(document)
    if output is None:
        typer.echo(text)
        return
    run(lambda: write_private(output, text + "\n"))
    say(f"[green]✔[/] exported {customer_id} to {output}")


def _confirmed(question: str) -> bool:
    """Yes to `question`; no answer at all (no terminal, stdin closed, Ctrl-D) is a no, not click's bare
    'Aborted.'."""
    try:
        return typer.confirm(question)
    except typer.Abort:
        typer.echo("", err=True)
        return False


@member_app.command("erase")
def erase_cmd(
    ctx: typer.Context,
    customer_id: CustomerArg,
    actor: Annotated[str, typer.Option("--actor", help="Who asks (e.g. admin:maria); recorded.")],
    reason: Annotated[str | None, typer.Option("--reason", help="Why (a ticket number); no personal data.")] = None,
    request_id: Annotated[
        str | None, typer.Option("--request-id", help="Idempotency id; repeat it to retry safely.")
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
):
    """Erase the member's personal data everywhere Tenure wrote it (GDPR art. 17); the ledger keeps amounts."""
    env = env_of(ctx)
    if not yes and not _confirmed(f"Erase the personal data of {customer_id}? This cannot be undone"):
        say(f"not erased: nothing of {customer_id} changed (--yes erases without asking)", stderr=True)
        raise typer.Exit(1)
    request = run(lambda: _erasure_request(request_id, actor, reason))  # wrong fields named before anything
    engine = run(env.engine)
    report = run(
        env.call(
            lambda tenure: _known(
                customer_id,
                "erase",
                erase_member(tenure, engine, customer_id, actor, request.request_id, request.reason),
            )
        )
    )
    scrubbed = ", ".join(f"{table} {n}" for table, n in report.rows_scrubbed.items())
    say(
        f"[green]✔[/] erased {customer_id} (request {report.request_id}): journey {report.journey}, "
        f"{len(report.runs_deleted)} closed run(s) deleted from Temporal, SQL rows scrubbed: {scrubbed}"
    )
    if report.runs_not_yet_deleted:
        say(
            f"[yellow]![/] Temporal still deletes {len(report.runs_not_yet_deleted)} run(s) in the background: "
            f"run `tenure member erase {shlex.quote(customer_id)} --actor {shlex.quote(actor)} "
            f"--request-id {shlex.quote(report.request_id)} --yes` "
            "again in a minute to record their deletion in the register"
        )


class RequestAction(StrEnum):
    export = "export"
    erasure = "erasure"


def _parse_since(value: str) -> datetime:
    """A date is its first moment (UTC); an ISO time is taken as it is, in UTC (UTC when it names no zone)."""
    try:
        return in_utc(_parse_time(value, time(0, 0)))
    except ValueError as e:  # 0001-01-01T00:00:00+01:00: the database could not compare it
        raise typer.BadParameter(f"{value!r} {e}") from None


@member_app.command("requests")
def requests_cmd(
    ctx: typer.Context,
    customer_id: Annotated[
        str | None,
        typer.Argument(help="One member's records only (default: every member's).", callback=customer_id_rule),
    ] = None,
    action: Annotated[RequestAction | None, typer.Option("--action", help="Exports or erasures only.")] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="From this day (YYYY-MM-DD, UTC) or ISO time on.")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="Before this day (its midnight, UTC) or ISO time.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=1000, help="Show N records.")] = 100,
    offset: Annotated[int, typer.Option("--offset", min=0, help="Skip this many records first.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table.")] = False,
):
    """The register of exports and erasures: who asked, when, why and what was done (no personal data in it)."""
    env = env_of(ctx)
    start = _parse_since(since) if since is not None else None
    end = _parse_since(until) if until is not None else None
    engine = run(env.engine)
    kind = action.value if action is not None else None
    rows, total = run(lambda: list_requests(engine, customer_id, kind, start, end, limit, offset))
    if as_json:
        typer.echo(json_text({"total": total, "requests": rows}))
        return
    console().print(requests_view(rows, total))
