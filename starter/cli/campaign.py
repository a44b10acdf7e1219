"""`tenure campaign ...`: define a campaign from a file, preview it, run it, watch it, measure it.

tenure campaign create FILE            a TOML or JSON definition, validated (a wrong file names the field)
tenure campaign list
tenure campaign preview ID             a dry run: reached, held out, skipped and why, points at most
tenure campaign start|pause|resume|cancel ID
tenure campaign status ID [--json] [--once]   a live progress bar while it runs
tenure campaign results ID [--json] [--follow-up-days N]
"""

from __future__ import annotations

import asyncio
import getpass
import json
import re
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Group
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from domain.campaigns import CampaignDefinition, Preview
from domain.campaigns import Progress as CampaignProgress
from starter.campaign_file import CampaignFileError, read_campaign
from starter.client.campaigns import (
    CampaignClient,
    CampaignError,
    CampaignStateError,
    InvalidCampaign,
    NoCampaign,
    UnknownSegment,
)
from storage.campaign_results import CampaignResults

from .context import CliError, Env, env_of, run
from .render import console, say, whole_column

T = TypeVar("T")

campaign_app = typer.Typer(
    help="Campaigns for marketers: bonus points, multipliers, announcements, offers, challenges.",
    no_args_is_help=True,
)

IdArg = Annotated[str, typer.Argument(help="The campaign's id.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="JSON instead of a table.")]
REFRESH = 0.5  # seconds between two looks at a running campaign
LIVE_STATES = ("running",)  # the bar follows a running campaign; a paused one does not move, so it is said once


def default_actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no user name (a container): still an actor
        return "cli"


async def with_campaigns(
    env: Env, fn: Callable[[CampaignClient], Awaitable[T]], temporal: bool = True, doing: tuple[str, str] = ("", "")
) -> T:
    """Run one piece of work against the campaigns (connected to Temporal unless `temporal` is False:
    definitions, previews and results are SQL only); their errors become the CLI's, with what to type next
    (`doing`: start, pause, resume or cancel, and the campaign's id)."""
    engine = env.engine()
    try:
        if not temporal:
            try:
                return await fn(CampaignClient(None, engine, env.settings.task_queue))
            except CampaignError as e:
                raise CliError(campaign_message(e, *doing)) from None
        async with env.tenure() as tenure:
            try:
                return await fn(tenure.campaigns(engine))
            except CampaignError as e:
                raise CliError(campaign_message(e, *doing)) from None
    finally:
        engine.dispose()


ENDED = ("completed", "cancelled", "failed")


def campaign_message(e: CampaignError, doing: str = "", campaign_id: str = "") -> str:
    """The client's words for a campaign error, and what to type instead."""
    text = re.sub(r"^(WrongState|NotPaused): ", "", str(e))  # the workflow's refusals carry their type
    if isinstance(e, NoCampaign):
        return f"{text}: `tenure campaign list` shows the campaigns"
    if isinstance(e, UnknownSegment):
        return f"{text}: `tenure segment list` shows the saved segments (or give the campaign an inline filter)"
    if not isinstance(e, CampaignStateError) or not doing:
        return text
    cid = e.campaign_id or campaign_id
    found = re.match(r"a (\w+) campaign cannot", text)
    state = e.state or (found.group(1) if found else "running" if "not paused" in text else "")
    if doing == "start":
        step = "a campaign runs once: give its file a new id, then `tenure campaign create FILE`"
    elif state == "draft":
        step = f"it has not started: `tenure campaign start {cid}`"
    elif state in ENDED:
        step = f"it has ended, nothing to {doing}: `tenure campaign results {cid}`"
    elif state == "paused" and doing == "pause":
        step = f"it is paused already: `tenure campaign resume {cid}` resumes it"
    elif doing == "resume":
        step = f"only a paused campaign resumes: `tenure campaign status {cid}` says where it stands"
    else:
        return text
    return f"{text}: {step}"


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, default=str) + "\n")


def progress_line(p: CampaignProgress) -> str:
    c = p.counts
    skipped = ", ".join(f"{reason} {n}" for reason, n in sorted(c.skipped.items())) or "none"
    size = f" of {p.segment_size}" if p.segment_size is not None else ""
    text = (
        f"{p.campaign_id}: {p.state} — targeted {c.targeted}{size}, applied {c.applied}, held out {c.held_out}, "
        f"skipped {sum(c.skipped.values())} ({skipped}), failed {c.failed}, points granted {c.points_granted}"
    )
    if p.budget_left is not None:
        text += f", budget left {p.budget_left}"
    if p.next_due_at is not None:
        text += f", next members due {p.next_due_at:%Y-%m-%d %H:%M} UTC"
    if p.stopped_because:
        text += f" — {p.stopped_because}"
    return text


def preview_table(p: Preview) -> Table:
    title = f"Campaign {p.campaign_id}: dry run (nothing sent)"
    table = Table(title=title, min_width=len(title))  # the title on one line, not broken over a narrow table
    table.add_column("", justify="left")
    table.add_column("members", justify="right")
    table.add_row("segment", str(p.segment_size))
    table.add_row("reached", str(p.reached))
    table.add_row("held out", str(p.held_out))
    for reason, n in sorted(p.skipped.items()):
        table.add_row(f"skipped: {reason}", str(n))
    table.add_row("points at most", str(p.max_points))
    return table


def results_table(r: CampaignResults) -> Table:
    table = Table(
        title=f"Campaign {r.campaign_id}: treated {r.treated} vs holdout {r.holdout} "
        f"({int(r.confidence * 100)} % intervals, follow-up {r.follow_up_days} days)"
    )
    whole_column(table, "metric", (c.metric for c in r.comparisons))
    whole_column(table, "period", (c.period for c in r.comparisons))
    for name in ("treated", "holdout", "difference", "interval", "p"):
        table.add_column(name, justify="right")

    def figure(g: Any) -> str:
        if g.rate is not None:
            return f"{g.count}/{g.members} ({g.rate:.1%})"
        if g.mean is not None:
            return f"{g.total:,.0f} (mean {g.mean:,.1f})"
        return f"—/{g.members}"

    for c in r.comparisons:
        is_rate = c.treated.count is not None
        fmt = (lambda v: f"{v:+.1%}") if is_rate else (lambda v: f"{v:+,.1f}")
        table.add_row(
            c.metric,
            c.period,
            figure(c.treated),
            figure(c.holdout),
            fmt(c.difference) if c.difference is not None else "—",
            f"[{fmt(c.ci_low)}, {fmt(c.ci_high)}]" if c.ci_low is not None and c.ci_high is not None else "—",
            f"{c.p_value:.3f}" if c.p_value is not None else "—",
        )
    return table


def status_line(p: CampaignProgress, unanswered: bool = False) -> str:
    """The progress in one line; a paused campaign says how it goes on, one no worker answered for says so."""
    resume = f" (`tenure campaign resume {p.campaign_id}` resumes it)" if p.state == "paused" else ""
    stale = " (no worker answered: the progress last recorded — is the worker up?)" if unanswered else ""
    return progress_line(p) + resume + stale


class Watch:
    """The live view of a running campaign: a bar (state, reached of the segment, time) over a line of counts,
    so that neither is cut on an 80-column terminal."""

    def __init__(self, campaign_id: str, task_queue: str = "tenure"):
        self.campaign_id = campaign_id
        self.task_queue = task_queue
        self.bar = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), auto_refresh=False
        )
        self.task = self.bar.add_task(campaign_id, total=None)
        self.counts = Text()
        self.view = Group(self.bar, self.counts)

    def show(self, p: CampaignProgress, unanswered: bool = False) -> None:
        """`unanswered`: no worker answered the workflow, so `p` is the progress last recorded."""
        c = p.counts
        self.bar.update(
            self.task, completed=c.targeted, total=p.segment_size, description=f"{self.campaign_id} {p.state}"
        )
        self.counts.plain = (
            f"applied {c.applied} · held out {c.held_out} · skipped {sum(c.skipped.values())} · failed {c.failed}"
        )
        if unanswered:
            self.counts.append(
                f"\nno worker answered: the progress last recorded, and nothing moves until one does — is the "
                f"worker (`make run`) up on task queue {self.task_queue!r}?",
                style="yellow",
            )


@campaign_app.command("create")
def create_cmd(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A campaign definition, .toml or .json.")],
    actor: Annotated[str | None, typer.Option("--actor", help="Who defines it (default: cli:<user>).")] = None,
) -> None:
    """Validate a definition file and record it as a draft.

    A definition is TOML (or JSON): id, name, kind, a saved segment or an inline filter, the kind's terms.

    README "Campaigns" has every kind and option. E.g. gold-weekend.toml:

      id = "gold-weekend"
      name = "200 points for gold members"
      kind = "bonus"
      segment = "gold"
      bonus_points = 200

    Then: tenure campaign preview gold-weekend, and tenure campaign start gold-weekend."""
    env = env_of(ctx)

    def load() -> CampaignDefinition:
        try:
            return read_campaign(file)
        except CampaignFileError as e:
            raise CliError(str(e), code=2) from None

    definition = run(load)
    # an inline filter may name only the tiers of the program in force (a saved segment was checked when saved)
    tiers = run(lambda: env.program().tiers.names()) if definition.filter is not None else None

    async def work(campaigns: CampaignClient) -> None:
        try:
            record = await campaigns.create(definition, actor or default_actor(), tiers)
        except InvalidCampaign as e:
            problems = "\n".join(f"  {p}" for p in e.problems)
            raise CliError(f"{file} is not a valid campaign:\n{problems}", code=2) from None
        cid = record.campaign_id
        say(f"campaign {cid} ({record.kind}) recorded as a draft: `tenure campaign preview {cid}`")

    run(with_campaigns(env, work, temporal=False))


@campaign_app.command("list")
def list_cmd(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Every campaign, newest first."""
    env = env_of(ctx)

    async def work(campaigns: CampaignClient) -> None:
        found = await campaigns.list()
        if as_json:
            print_json([r.model_dump(mode="json", exclude={"definition"}) for r in found])
            return
        if not found:
            say("no campaign yet: tenure campaign create FILE (`tenure campaign create --help` shows a file)")
            return
        table = Table(title="Campaigns")
        whole_column(table, "id", (r.campaign_id for r in found))
        for name in ("name", "kind", "state", "created by", "created"):
            table.add_column(name, overflow="fold")
        for r in found:
            table.add_row(r.campaign_id, r.name, r.kind, r.state, r.created_by, f"{r.created_at:%Y-%m-%d %H:%M}")
        console().print(table)

    run(with_campaigns(env, work, temporal=False))


@campaign_app.command("preview")
def preview_cmd(ctx: typer.Context, campaign_id: IdArg, as_json: JsonOpt = False) -> None:
    """A dry run of the whole campaign: how many it would reach, hold out, skip and why, points at most."""
    env = env_of(ctx)

    async def work(campaigns: CampaignClient) -> None:
        p = await campaigns.preview(campaign_id)
        if as_json:
            print_json(p.model_dump(mode="json"))
        else:
            console().print(preview_table(p))

    run(with_campaigns(env, work, temporal=False))


def _control(ctx: typer.Context, campaign_id: str, what: str, actor: str | None = None) -> None:
    env = env_of(ctx)

    async def work(campaigns: CampaignClient) -> None:
        if what == "start":
            p = await campaigns.start(campaign_id, actor or default_actor())
        else:
            p = await getattr(campaigns, what)(campaign_id)
        say(f"campaign {campaign_id}: {p.state} (`tenure campaign status {campaign_id}` to watch it)")

    run(with_campaigns(env, work, doing=(what, campaign_id)))


@campaign_app.command("start")
def start_cmd(
    ctx: typer.Context,
    campaign_id: IdArg,
    actor: Annotated[str | None, typer.Option("--actor", help="Who starts it (default: cli:<user>).")] = None,
) -> None:
    """Start a draft: now, at its time, or on its monthly schedule."""
    _control(ctx, campaign_id, "start", actor)


@campaign_app.command("pause")
def pause_cmd(ctx: typer.Context, campaign_id: IdArg) -> None:
    """Pause a running campaign (within one page)."""
    _control(ctx, campaign_id, "pause")


@campaign_app.command("resume")
def resume_cmd(ctx: typer.Context, campaign_id: IdArg) -> None:
    """Resume a paused campaign from where it stopped."""
    _control(ctx, campaign_id, "resume")


@campaign_app.command("cancel")
def cancel_cmd(ctx: typer.Context, campaign_id: IdArg) -> None:
    """Cancel a campaign: nobody more is reached."""
    _control(ctx, campaign_id, "cancel")


@campaign_app.command("status")
def status_cmd(
    ctx: typer.Context,
    campaign_id: IdArg,
    as_json: JsonOpt = False,
    once: Annotated[bool, typer.Option("--once", help="Print once, even while it runs.")] = False,
) -> None:
    """Where the campaign stands; a live progress bar while it runs (until it ends or is paused, or Ctrl-C)."""
    env = env_of(ctx)

    async def work(campaigns: CampaignClient) -> None:
        p = await campaigns.status(campaign_id)
        if as_json:
            print_json(p.model_dump(mode="json"))
            return
        if once or p.state not in LIVE_STATES:
            say(status_line(p, campaigns.unanswered))
            return
        watching = Watch(campaign_id, campaigns.task_queue)
        out = console()
        with Live(watching.view, console=out, refresh_per_second=4):
            while True:
                watching.show(p, campaigns.unanswered)
                if p.state not in LIVE_STATES:
                    break
                await asyncio.sleep(REFRESH)
                p = await campaigns.status(campaign_id)
        if not out.is_terminal:
            out.line()  # piped: the last frame ends without one
        say(status_line(p, campaigns.unanswered))

    def watch() -> bool:
        try:
            asyncio.run(with_campaigns(env, work))
        except KeyboardInterrupt:  # how one stops watching (the help says so): the campaign is not touched
            return False
        return True

    if not run(watch):
        say(f"stopped watching: campaign {campaign_id} goes on (`tenure campaign status {campaign_id}` to look again)")


@campaign_app.command("results")
def results_cmd(
    ctx: typer.Context,
    campaign_id: IdArg,
    as_json: JsonOpt = False,
    follow_up_days: Annotated[
        int, typer.Option("--follow-up-days", min=0, max=3650, help="Days after the campaign's window to measure.")
    ] = 30,
) -> None:
    """Treated vs holdout, with 95 % confidence intervals and the counts behind them.

    Activity, payments, redemptions, retention, reactivation and revenue, in the window and the follow-up.

    Example: tenure campaign results gold-weekend --follow-up-days 60"""
    env = env_of(ctx)

    async def work(campaigns: CampaignClient) -> None:
        r = await campaigns.results(campaign_id, follow_up_days)
        if as_json:
            print_json(r.model_dump(mode="json"))
            return
        console().print(results_table(r))
        if r.note:
            say(r.note)

    run(with_campaigns(env, work, temporal=False))
