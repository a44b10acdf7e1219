"""`tenure`: support and operations from the command line.

    tenure member show CUSTOMER_ID
    tenure member ledger CUSTOMER_ID [--limit N]
    tenure member timeline CUSTOMER_ID [--limit N]
    tenure member adjust CUSTOMER_ID POINTS --reason TEXT --actor WHO [--request-id ID]
    tenure member set-tier CUSTOMER_ID TIER --reason TEXT --actor WHO --until DATE
    tenure member start-input CUSTOMER_ID   (JSON for `temporal workflow signal-with-start --input-file`)
    tenure reconcile [CUSTOMER_ID]
    tenure segment [--at-risk] [--status STATUS] [--tier TIER]
    tenure program check [PATH]

Connection and database come from the TENURE_ environment (settings.py), or `--address`,
`--namespace`, `--task-queue` and `--db` before the command. Each command is a thin wrapper
around an async function that takes a TenureClient (and an engine), so the same work is
callable from Python and from tests.

Exit status: 0 done, 1 refused or not found or a reconcile mismatch, 2 a bad program file or
a usage error.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import sqlalchemy as sa
import typer
from rich.console import Console, Group
from rich.panel import Panel
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text
from temporalio.client import WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from domain.effects import LedgerEntry
from domain.journey import JourneyInput
from domain.messages import AdjustRequest, AdjustResult, MinimumTierRequest
from domain.program import Program, ProgramError, parse_program
from domain.summary import Summary, Timeline
from settings import Settings
from starter import program_commands
from starter.client import TenureClient
from starter.connect import connect
from starter.reconcile import QUERY_TIMEOUT, JourneyUnreachable, NoJourney, ReconcileRow, reconcile
from storage.engine import create_engine_for
from storage.ledger_reads import ledger_page, ledger_totals
from storage.members import segment

T = TypeVar("T")


class CliError(Exception):
    """A failure the user can fix; the message says how. `code` is the exit status."""

    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code


# ---- wiring -------------------------------------------------------------------------------------


@dataclass
class Env:
    settings: Settings

    def program(self) -> Program:
        path = self.settings.program_path
        if not path.exists():
            raise CliError(f"program file {path} not found (set TENURE_PROGRAM_PATH)", code=2)
        try:
            return parse_program(path.read_text(), str(path))
        except ProgramError as e:
            raise CliError(str(e), code=2) from None

    def engine(self) -> sa.Engine:
        url = self.settings.db_url()
        engine = create_engine_for(url)
        if engine.dialect.name == "sqlite":
            db = engine.url.database or ""
            if db not in ("", ":memory:") and not Path(db).exists():
                raise CliError(f"no ledger database at {db}: is `make run` up, or is TENURE_DATABASE_URL set?")
        return engine

    @asynccontextmanager
    async def tenure(self) -> AsyncIterator[TenureClient]:
        s = self.settings
        try:
            client = await connect(s)
        except Exception as e:  # RuntimeError from the bridge: refused, DNS, TLS
            raise CliError(f"cannot reach Temporal at {s.temporal_address}: is `make run` up? ({_short(e)})") from None
        # The program only matters when a journey is opened, which support commands never do
        # (they check the journey exists first): a missing or broken file must not block reading.
        try:
            program = self.program()
        except CliError:
            program = Program(version="unknown")
        yield TenureClient(client, program, task_queue=s.task_queue)

    async def call(self, fn: Callable[[TenureClient], Awaitable[T]]) -> T:
        """Connect, and run one piece of work against the journeys."""
        async with self.tenure() as tenure:
            return await fn(tenure)


def _short(e: BaseException) -> str:
    """The gist of a connection error: the OS message when there is one ("Connection refused")."""
    text = str(e)
    found = re.findall(r'message: "([^"]+)"', text)
    if found:
        return found[-1]
    return text if len(text) < 160 else text[:160] + "…"


def _journey_error(e: Exception, customer_id: str, address: str) -> CliError:
    if isinstance(e, RPCError):
        msg = e.message.lower()
        if e.status == RPCStatusCode.NOT_FOUND:
            return CliError(f"no journey for customer {customer_id}")
        waited = e.status in (RPCStatusCode.CANCELLED, RPCStatusCode.DEADLINE_EXCEEDED) and (
            "timeout" in msg or "timed out" in msg
        )
        if waited or (e.status == RPCStatusCode.FAILED_PRECONDITION and "poller" in msg):
            return CliError(
                f"no worker answered for customer {customer_id} within {QUERY_TIMEOUT.seconds} s: "
                f"is the worker (`make run`) up?"
            )
        if e.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED):
            return CliError(f"cannot reach Temporal at {address}: is `make run` up? ({e.message})")
        return CliError(f"Temporal refused: {e.message}")
    if isinstance(e, WorkflowUpdateFailedError):
        cause = e.cause
        return CliError(f"refused: {getattr(cause, 'message', None) or cause or e}")
    raise e


async def _call(tenure: TenureClient, customer_id: str, fn: Callable[[], Awaitable[T]]) -> T:
    try:
        return await fn()
    except (RPCError, WorkflowUpdateFailedError) as e:
        raise _journey_error(e, customer_id, tenure.client.service_client.config.target_host) from None


async def _query(tenure: TenureClient, customer_id: str, name: str, result_type: type[T], *args: Any) -> T:
    """A query with a deadline: without a worker, Temporal would hold it for a long time."""
    return await _call(
        tenure,
        customer_id,
        lambda: tenure.handle(customer_id).query(
            name, args=list(args), result_type=result_type, rpc_timeout=QUERY_TIMEOUT
        ),
    )


async def require_journey(tenure: TenureClient, customer_id: str) -> Summary:
    """The journey exists and its worker answers. Support commands never open a journey by
    accident (a mistyped id would start one), nor wait on an update no worker will take."""
    return await _query(tenure, customer_id, "summary", Summary)


# ---- the work, callable without the CLI ---------------------------------------------------------


async def member_summary(tenure: TenureClient, customer_id: str) -> Summary:
    return await _query(tenure, customer_id, "summary", Summary)


async def member_timeline(tenure: TenureClient, customer_id: str, limit: int = 100) -> Timeline:
    return await _query(tenure, customer_id, "timeline", Timeline, limit)


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
        req = AdjustRequest(
            request_id=request_id or f"cli-{uuid.uuid4().hex[:12]}", points=points, reason=reason, actor=actor
        )
    except ValueError as e:
        raise CliError(_validation(e)) from None
    await require_journey(tenure, customer_id)
    return await _call(tenure, customer_id, lambda: tenure.adjust(customer_id, req))


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
            request_id=request_id or f"cli-{uuid.uuid4().hex[:12]}", tier=tier, reason=reason, actor=actor, until=until
        )
    except ValueError as e:
        raise CliError(_validation(e)) from None
    await require_journey(tenure, customer_id)
    return await _call(tenure, customer_id, lambda: tenure.set_minimum_tier(customer_id, req))


def _validation(e: ValueError) -> str:
    errors = getattr(e, "errors", None)
    if callable(errors):
        return "; ".join(f"{'.'.join(str(x) for x in err['loc'])}: {err['msg']}" for err in errors())
    return str(e)


def check_program(path: Path) -> Program:
    if not path.exists():
        raise CliError(f"program file {path} not found", code=2)
    try:
        return parse_program(path.read_text(), str(path))
    except ProgramError as e:
        raise CliError(str(e), code=2) from None


# ---- rendering ----------------------------------------------------------------------------------


def _when(dt: datetime | None) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if dt else "—"


def _days_left(dt: datetime, now: datetime) -> str:
    d = (dt - now).days
    return f"in {d} days" if d >= 0 else f"{-d} days ago"


def _pts(n: int) -> str:
    return f"{n:,}"


def summary_view(s: Summary, now: datetime | None = None) -> Group:
    now = now or datetime.now(UTC)
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column()
    head.add_row("balance", Text(_pts(s.balance) + " points", style="bold green"))
    head.add_row(
        "pending", _pts(s.pending) + " points" + (f" ({len(s.pending_lots)} on hold)" if s.pending_lots else "")
    )
    if s.shortfall:
        head.add_row("shortfall", Text(f"{_pts(s.shortfall)} points owed from refunds", style="yellow"))
    perks = (
        [f"×{s.multiplier:g} points"]
        + (["priority support"] if s.priority_support else [])
        + (["beta access"] if s.beta_access else [])
    )
    head.add_row("tier", Text(s.tier, style="bold magenta") + Text(f"  ({', '.join(perks)})"))
    head.add_row("why", s.tier_because or "—")
    head.add_row("tier year ends", f"{_when(s.tier_year_end)} ({_days_left(s.tier_year_end, now)})")
    if s.minimum_tier:
        m = s.minimum_tier
        head.add_row("minimum tier", f"{m.tier} until {_when(m.until)}, set by {m.actor}: {m.reason}")
    head.add_row("qualifying", f"{_pts(s.qualifying_points)} points in the last 12 months")
    head.add_row(
        "next tier", f"{s.next_tier}: {_pts(s.points_to_next_tier)} points to go" if s.next_tier else "— (top tier)"
    )
    head.add_row("status", s.status)
    head.add_row("lifetime", f"{_pts(s.lifetime_points)} points earned, {s.ledger_seq} ledger entries")
    head.add_row("program", s.program_version)

    lots = Table(title="lots (spent oldest first)", title_justify="left", expand=False)
    for col, just in (
        ("lot", "left"),
        ("source", "left"),
        ("earned", "left"),
        ("expires", "left"),
        ("left", "right"),
        ("of", "right"),
    ):
        lots.add_column(col, justify=just)  # type: ignore[arg-type]
    for lot in sorted(s.lots, key=lambda x: (x.earned_at, x.lot_id)):
        soon = (lot.expires_at - now).days < 30
        lots.add_row(
            lot.lot_id,
            lot.source,
            _when(lot.earned_at),
            Text(f"{_when(lot.expires_at)} ({_days_left(lot.expires_at, now)})", style="yellow" if soon else ""),
            _pts(lot.remaining),
            _pts(lot.points),
        )
    if not s.lots:
        lots.add_row("—", "no points", "", "", "0", "")
    parts: list[Any] = [Panel(head, title=f"member {s.customer_id}", title_align="left"), lots]
    if s.pending_lots:
        pending = Table(title="pending (on hold)", title_justify="left")
        pending.add_column("points", justify="right")
        pending.add_column("source")
        pending.add_column("released")
        for p in s.pending_lots:
            pending.add_row(_pts(p.points), p.source, _when(p.release_at))
        parts.append(pending)
    return Group(*parts)


def ledger_view(customer_id: str, entries: list[LedgerEntry], total: int) -> Table:
    t = Table(title=f"ledger of {customer_id}: {len(entries)} of {total} entries", title_justify="left")
    for col, just in (
        ("seq", "right"),
        ("at", "left"),
        ("kind", "left"),
        ("points", "right"),
        ("pending", "right"),
        ("balance", "right"),
        ("reason", "left"),
        ("ref", "left"),
        ("actor", "left"),
    ):
        t.add_column(col, justify=just)  # type: ignore[arg-type]
    for e in entries:
        style = "green" if e.points > 0 else "red" if e.points < 0 else ""
        t.add_row(
            str(e.seq),
            _when(e.at),
            e.kind,
            Text(f"{e.points:+d}" if e.points else "0", style=style),
            f"{e.pending_points:+d}" if e.pending_points else "",
            _pts(e.balance_after),
            e.reason or "",
            e.ref or "",
            e.actor or "",
        )
    return t


def timeline_view(customer_id: str, timeline: Timeline) -> Table:
    t = Table(title=f"timeline of {customer_id}", title_justify="left")
    t.add_column("at")
    t.add_column("kind")
    t.add_column("what happened")
    for item in timeline.items:
        t.add_row(_when(item.at), item.kind, item.text)
    if not timeline.items:
        t.add_row("—", "", "nothing yet")
    return t


def reconcile_view(rows: list[ReconcileRow]) -> Table:
    t = Table(title="ledger vs journeys", title_justify="left")
    for col, just in (
        ("", "center"),
        ("customer", "left"),
        ("ledger points", "right"),
        ("expected", "right"),
        ("balance", "right"),
        ("unwritten", "right"),
        ("ledger pending", "right"),
        ("pending", "right"),
        ("seq ledger/journey", "right"),
        ("problem", "left"),
    ):
        t.add_column(col, justify=just)  # type: ignore[arg-type]
    for r in rows:
        v = r.view
        t.add_row(
            Text("✔", style="green") if r.ok else Text("✘", style="bold red"),
            r.customer_id,
            _pts(r.ledger.points_sum),
            _pts(r.expected_points) if r.expected_points is not None else "—",
            _pts(v.balance) if v else "—",
            str(r.not_in_ledger) if v else "—",
            _pts(r.ledger.pending_sum),
            _pts(v.pending) if v else "—",
            f"{r.ledger.max_seq}/{v.seq}" if v else f"{r.ledger.max_seq}/—",
            Text("; ".join(r.problems), style="red") if r.problems else "",
        )
    return t


# ---- the Typer app ------------------------------------------------------------------------------

app = typer.Typer(
    name="tenure",
    help="Tenure: loyalty journeys on Temporal — support and operations.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
member_app = typer.Typer(
    help="One member's journey: balance, lots, tier, ledger, timeline; adjust points or tier.", no_args_is_help=True
)
program_app = typer.Typer(help="The program file.", no_args_is_help=True)
app.add_typer(member_app, name="member")
app.add_typer(program_commands.program_app, name="program")

NEGATIVE_OK = {"ignore_unknown_options": True}  # `adjust cus_1 -250 …`: a negative number is not an option


def _console(stderr: bool = False) -> Console:
    return Console(stderr=stderr, highlight=False)


def _say(message: str, stderr: bool = False) -> None:
    """One line of feedback, never wrapped (so it can be grepped and pasted)."""
    _console(stderr).print(message, soft_wrap=True)


def _env(ctx: typer.Context) -> Env:
    obj = ctx.obj
    if isinstance(obj, Env):
        return obj
    return Env(obj if isinstance(obj, Settings) else Settings())


def _run(work: Awaitable[T] | Callable[[], T]) -> T:
    """Run the work; a CliError becomes its message on stderr and its exit status."""
    try:
        if callable(work):
            return work()
        return asyncio.run(work)  # type: ignore[arg-type]
    except CliError as e:
        _say(f"[bold red]error:[/] {e}", stderr=True)
        raise typer.Exit(e.code) from None


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
    env = _env(ctx)
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


@member_app.command("show")
def show_cmd(ctx: typer.Context, customer_id: Annotated[str, typer.Argument(help="The billing system's customer id.")]):
    """Balance, pending, tier and why, next tier, and every lot with its expiry."""
    env = _env(ctx)

    work = env.call(lambda tenure: member_summary(tenure, customer_id))
    _console().print(summary_view(_run(work)))


@member_app.command("ledger")
def ledger_cmd(
    ctx: typer.Context,
    customer_id: str,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="Show the last N entries.")] = 50,
):
    """The customer's entries in the SQL ledger (the most recent ones)."""
    env = _env(ctx)
    entries, total = _run(lambda: member_ledger(env.engine(), customer_id, limit))
    _console().print(ledger_view(customer_id, entries, total))


@member_app.command("timeline")
def timeline_cmd(
    ctx: typer.Context,
    customer_id: str,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="Show the last N events.")] = 100,
):
    """What happened in the journey, in plain words."""
    env = _env(ctx)

    work = env.call(lambda tenure: member_timeline(tenure, customer_id, limit))
    _console().print(timeline_view(customer_id, _run(work)))


@member_app.command("adjust", context_settings=NEGATIVE_OK)
def adjust_cmd(
    ctx: typer.Context,
    customer_id: str,
    points: Annotated[int, typer.Argument(help="Points to add (positive) or remove (negative).")],
    reason: Annotated[str, typer.Option("--reason", help="Why; recorded in the ledger and the email.")],
    actor: Annotated[str, typer.Option("--actor", help="Who (e.g. support:maria).")],
    request_id: Annotated[
        str | None, typer.Option("--request-id", help="Idempotency id; repeat it to retry safely (default: a new one).")
    ] = None,
):
    """Add or remove points, with a reason and an actor (recorded in the ledger)."""
    env = _env(ctx)

    work = env.call(lambda tenure: member_adjust(tenure, customer_id, points, reason, actor, request_id))
    r = _run(work)
    _say(
        f"[green]✔[/] adjusted {r.points:+,d} points for {customer_id}: balance now "
        f"[bold]{r.balance_after:,}[/] (request {r.request_id})"
    )


def _parse_until(value: str) -> datetime:
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date (YYYY-MM-DD) or an ISO date-time") from None
    if isinstance(dt, datetime) and dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt


@member_app.command("set-tier")
def set_tier_cmd(
    ctx: typer.Context,
    customer_id: str,
    tier: Annotated[str, typer.Argument(help="The minimum tier (e.g. gold).")],
    reason: Annotated[str, typer.Option("--reason", help="Why; shown to support and in the tier email.")],
    actor: Annotated[str, typer.Option("--actor", help="Who (e.g. support:maria).")],
    until: Annotated[str, typer.Option("--until", help="Last day of the minimum: YYYY-MM-DD (UTC) or ISO time.")],
):
    """Set a minimum tier until a date: the member never drops below it while it lasts."""
    env = _env(ctx)
    when = _parse_until(until)

    work = env.call(lambda tenure: member_set_tier(tenure, customer_id, tier, reason, actor, when))
    s = _run(work)
    _say(
        f"[green]✔[/] minimum tier {tier} for {customer_id} until {_when(when)}; "
        f"tier now [bold]{s.tier}[/] ({s.tier_because})"
    )


@member_app.command("start-input")
def start_input_cmd(ctx: typer.Context, customer_id: str):
    """Print the JSON a new journey starts with, for `temporal workflow signal-with-start --input-file`."""
    env = _env(ctx)
    program = _run(env.program)
    typer.echo(JourneyInput(customer_id=customer_id, program=program).model_dump_json())


@app.command("reconcile")
def reconcile_cmd(
    ctx: typer.Context,
    customer_id: Annotated[str | None, typer.Argument(help="One customer; all when omitted.")] = None,
):
    """Check that the SQL ledger agrees with the journeys; exit 1 on any mismatch."""
    env = _env(ctx)
    out = _console()

    async def work() -> list[ReconcileRow]:
        engine = env.engine()
        async with env.tenure() as tenure:
            try:
                if customer_id is not None:
                    return await reconcile(tenure, engine, customer_id)
                with Progress(
                    TextColumn("reconciling"),
                    BarColumn(),
                    MofNCompleteColumn(),
                    TimeElapsedColumn(),
                    console=out,
                    transient=True,
                ) as progress:
                    task = progress.add_task("reconcile", total=None)
                    return await reconcile(
                        tenure,
                        engine,
                        on_total=lambda n: progress.update(task, total=n),
                        on_row=lambda _row: progress.advance(task),
                    )
            except NoJourney as e:
                raise CliError(f"no journey for customer {e}") from None
            except JourneyUnreachable as e:
                raise _journey_error(e.cause, e.customer_id, env.settings.temporal_address) from None
            finally:
                engine.dispose()

    rows = _run(work())
    out.print(reconcile_view(rows))
    bad = [r for r in rows if not r.ok]
    if bad:
        _say(f"[bold red]✘ {len(bad)} of {len(rows)} customers do not reconcile[/]")
        raise typer.Exit(1)
    _say(f"[green]✔ {len(rows)} customer{'s' if len(rows) != 1 else ''} reconcile[/]")


@app.command("segment")
def segment_cmd(
    ctx: typer.Context,
    at_risk: Annotated[bool, typer.Option("--at-risk", help="Only members marked at risk.")] = False,
    status: Annotated[str | None, typer.Option("--status", help="active, past_due or cancelled (churned).")] = None,
    tier: Annotated[str | None, typer.Option("--tier", help="A tier of the program.")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1)] = 1000,
):
    """Members in a segment (at risk, churned, by tier), as their journeys last reported them."""
    env = _env(ctx)

    def work() -> list[dict]:
        if status and status not in ("active", "past_due", "cancelled"):
            raise CliError(f"unknown status {status!r}: use active, past_due or cancelled", code=2)
        return segment(env.engine(), at_risk=True if at_risk else None, status=status, tier=tier, limit=limit)

    rows = _run(work)
    table = Table(title=f"{len(rows)} member(s)")
    for col in ("customer", "email", "status", "tier", "at risk", "updated"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            r["customer_id"],
            r["email"] or "",
            r["status"],
            r["tier"],
            "yes" if r["at_risk"] else "",
            _when(r["updated_at"]),
        )
    _console().print(table)


@program_app.command("check")
def program_check_cmd(
    ctx: typer.Context,
    path: Annotated[Path | None, typer.Argument(help="Program file (default: TENURE_PROGRAM_PATH).")] = None,
):
    """Validate a program file; every wrong field is named. Exit 2 when it is refused."""
    env = _env(ctx)
    target = path or env.settings.program_path
    p = _run(lambda: check_program(target))
    _say(
        f"[green]✔[/] {target}: program [bold]{p.version}[/] is valid — {p.currency}, "
        f"tiers {' → '.join(p.tiers.names())}, {len(p.redemption.catalog)} rewards, "
        f"lots valid {p.points.lot_validity_days} days"
    )


if __name__ == "__main__":
    app()
