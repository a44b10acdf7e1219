"""`tenure metrics`: the program's health, its weekly trend and its goals, read from the ledger database
(the same figures as `GET /metrics` and the console's Metrics page)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from domain.metrics import MetricsReport, shown
from storage.metrics import WEEKS, measure

from .context import env_of, run
from .render import console, figure_column


def metrics_cmd(
    ctx: typer.Context,
    weeks: Annotated[int, typer.Option("--weeks", min=1, max=104, help="Weeks of trend to show.")] = WEEKS,
    as_json: Annotated[bool, typer.Option("--json", help="The report as JSON (what GET /metrics answers).")] = False,
):
    """The program's health: its metrics, their weekly trend, and progress against its goals.

    Participation, active members, churn, win-back, referrals, redemption, liability, expiring points, satisfaction.

    Each with its definition, as GET /metrics and the console's Metrics page show them."""
    env = env_of(ctx)
    report: MetricsReport = run(lambda: measure(env.engine(), env.program(), None, weeks))
    if as_json:
        typer.echo(report.model_dump_json(indent=2))
        return
    out = console()
    figures = Table(title=f"Program metrics as of {report.as_of:%Y-%m-%d %H:%M} UTC", title_justify="left")
    figures.add_column("metric", overflow="fold")
    figures.add_column("value", justify="right")
    figures.add_column("what it is", overflow="fold")
    for m in report.metrics:
        figures.add_row(m.title, shown(m, report.currency) + (f"\n[dim]{m.note}[/]" if m.note else ""), m.definition)
    out.print(figures)
    out.print(trend_view(report))
    goals = Table(title=escape("Goals (the program file's [[goals]])"), title_justify="left")
    for name in ("goal", "target", "status", "how far"):
        goals.add_column(name, overflow="fold")
    for g in report.goals:
        status = {"met": "[green]met[/]", "on_the_way": "[yellow]on the way[/]", "behind": "[red]behind[/]"}.get(
            g.status, "[dim]no data[/]"
        )
        goals.add_row(g.title, g.target, status, g.explanation)
    out.print(goals)


def trend_view(report: MetricsReport) -> Table:
    """The weekly trend, its figures and the week's date whole at 80 columns: headers wrap between words,
    columns sit one space apart (eight columns of borders would not fit)."""
    rows = [
        (
            w.starts.isoformat(),
            f"{w.members:,}",
            _pct(w.participation_rate),
            f"{w.weekly_active:,}",
            _pct(w.churn_rate),
            f"{w.referrals:,}",
            _pct(w.redemption_rate),
            "—" if w.satisfaction is None else f"{w.satisfaction:.2f}",
        )
        for w in report.weeks
    ]
    names = ("week", "members", "taking part", "weekly active", "churn", "referrals", "redeemed", "satisfaction")
    trend = Table(
        title="By week (Monday to Monday, UTC; taking part = participation, redeemed = redemption rate)",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        padding=(0, 1, 0, 0),
        show_edge=False,
    )
    for i, name in enumerate(names):
        figure_column(trend, name, [r[i] for r in rows], "left" if i == 0 else "right", wrap_header=True)
    for r in rows:
        trend.add_row(*r)
    return trend


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"
