"""How the CLI shows things: member summaries, ledgers, timelines, reconcile rows and segments as rich
tables, and one-line messages that never wrap (so they can be grepped and pasted)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from rich.console import Console, Group, JustifyMethod
from rich.measure import Measurement
from rich.panel import Panel
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from domain.effects import LedgerEntry
from domain.segment_words import in_words
from domain.segments import Segment, SegmentPreview
from domain.summary import Summary, Timeline
from starter.doctor import Diagnosis
from starter.reconcile import ReconcileRow


def console(stderr: bool = False) -> Console:
    return Console(stderr=stderr, highlight=False)


def say(message: str, stderr: bool = False) -> None:
    """One line of feedback, never wrapped."""
    console(stderr).print(message, soft_wrap=True)


def progress_bar(out: Console, label: str) -> Progress:
    """A bar for a command that works through many journeys; gone once it is done."""
    return Progress(
        TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=out, transient=True
    )


def add_columns(table: Table, *columns: tuple[str, JustifyMethod]) -> None:
    """Text columns: on a narrow terminal a word too long for its column (an event id, a type) folds onto
    the next line whole instead of being cut to `evt_1NZq…`."""
    for name, justify in columns:
        table.add_column(name, justify=justify, overflow="fold")


def whole_column(table: Table, name: str, values: Iterable[str], justify: JustifyMethod = "left") -> None:
    """A column whose cells are never cut or wrapped (customer ids, metric names): on a narrow terminal
    the other columns wrap instead, so what a person copies into the next command stays whole."""
    width = max([len(name), *(len(v) for v in values)])
    table.add_column(name, justify=justify, no_wrap=True, min_width=width)


def figure_column(
    table: Table, name: str, values: Iterable[str], justify: JustifyMethod = "right", wrap_header: bool = False
) -> None:
    """A column of figures (points, counts) that are never cut nor wrapped: as wide as the longest of them
    and the header (`wrap_header`: its longest word, the header wrapping between words). A table too wide
    for the terminal is cropped, so keep them few or check `table_width`."""
    width = max([*((len(w) for w in name.split()) if wrap_header else [len(name)]), *(len(v) for v in values)])
    table.add_column(name, justify=justify, width=width)  # a fixed width: rich never squeezes it


def when(dt: datetime | None) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if dt else "—"


def days_left(dt: datetime, now: datetime) -> str:
    d = (dt - now).days
    return f"in {d} days" if d >= 0 else f"{-d} days ago"


def points(n: int) -> str:
    return f"{n:,}"


def year_end_text(s: Summary) -> str:
    """What the tier year's end does to the tier, if nothing more is earned (the console says the same)."""
    kept = f"{s.tier} is kept with {points(s.tier_threshold)} qualifying"
    then = f"with nothing more earned: {points(s.qualifying_at_year_end)}"
    if s.tier_at_year_end == s.tier:
        held = " by the minimum tier" if s.qualifying_at_year_end < s.tier_threshold else ""
        return f"{kept}; {then}, so {s.tier} is kept{held}"
    return f"{kept}; {then}, so down to {s.tier_at_year_end} (one level at most)"


def frozen_text(s: Summary) -> str:
    """Why a cancelled member's balance cannot be redeemed, and what ends it (the console says the same)."""
    return (
        f"since the cancellation on {when(s.frozen_since)}: not redeemable, lots do not expire; "
        f"restored if they pay by {when(s.frozen_until)}, forfeited then"
    )


def summary_view(s: Summary, now: datetime | None = None) -> Group:
    now = now or datetime.now(UTC)
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column()
    head.add_row("balance", Text(points(s.balance) + " points", style="bold green"))
    if s.frozen_until:
        head.add_row("frozen", Text(frozen_text(s), style="yellow"))
    head.add_row(
        "pending", points(s.pending) + " points" + (f" ({len(s.pending_lots)} on hold)" if s.pending_lots else "")
    )
    if s.shortfall:
        head.add_row("shortfall", Text(f"{points(s.shortfall)} points owed from refunds", style="yellow"))
    perks = (
        [f"×{s.multiplier:g} points"]
        + (["priority support"] if s.priority_support else [])
        + (["beta access"] if s.beta_access else [])
    )
    head.add_row("tier", Text(s.tier, style="bold magenta") + Text(f"  ({', '.join(perks)})"))
    head.add_row("why", s.tier_because or "—")
    head.add_row("tier year ends", f"{when(s.tier_year_end)} ({days_left(s.tier_year_end, now)})")
    if s.tier_at_year_end and s.tier_threshold:  # the lowest tier is never lost
        head.add_row("then", year_end_text(s))
    if s.minimum_tier:
        m = s.minimum_tier
        head.add_row("minimum tier", f"{m.tier} until {when(m.until)}, set by {m.actor}: {m.reason}")
    head.add_row("qualifying", f"{points(s.qualifying_points)} points in the last 12 months")
    head.add_row(
        "next tier", f"{s.next_tier}: {points(s.points_to_next_tier)} points to go" if s.next_tier else "— (top tier)"
    )
    head.add_row("status", s.status)
    if s.erased_at:
        head.add_row(
            "erased",
            Text(f"personal data erased {when(s.erased_at)} by {s.erased_by}: events refused until a new sign-up"),
        )
    head.add_row("lifetime", f"{points(s.lifetime_points)} points earned, {s.ledger_seq} ledger entries")
    head.add_row("program", s.program_version)
    if s.engagement:
        head.add_row(
            "engagement", Text(s.engagement.level, style="bold") + Text(f"  ({'; '.join(s.engagement.reasons)})")
        )
    if s.churn_risk:
        risk = s.churn_risk.score
        style = "red" if risk >= 60 else "yellow" if risk >= 30 else "green"
        head.add_row("churn risk", Text(f"{risk}/100", style=style) + Text(f"  ({'; '.join(s.churn_risk.reasons)})"))

    lots = Table(title="lots (spent oldest first)", title_justify="left", expand=False)
    add_columns(
        lots,
        ("lot", "left"),
        ("source", "left"),
        ("earned", "left"),
        ("expires", "left"),
        ("left", "right"),
        ("of", "right"),
    )
    for lot in sorted(s.lots, key=lambda x: (x.earned_at, x.lot_id)):
        soon = (lot.expires_at - now).days < 30
        lots.add_row(
            lot.lot_id,
            lot.source,
            when(lot.earned_at),
            Text(f"{when(lot.expires_at)} ({days_left(lot.expires_at, now)})", style="yellow" if soon else ""),
            points(lot.remaining),
            points(lot.points),
        )
    if not s.lots:
        lots.add_row("—", "no points", "", "", "0", "")
    parts: list[Any] = [Panel(head, title=f"member {s.customer_id}", title_align="left"), lots]
    if s.pending_lots:
        pending = Table(title="pending (on hold)", title_justify="left")
        pending.add_column("points", justify="right")
        pending.add_column("source", overflow="fold")
        pending.add_column("released", overflow="fold")
        for p in s.pending_lots:
            pending.add_row(points(p.points), p.source, when(p.release_at))
        parts.append(pending)
    return Group(*parts)


def ledger_view(customer_id: str, entries: list[LedgerEntry], total: int) -> Table:
    """Numbers and dates are never cut on an 80-column terminal (a date wraps its time to the next line);
    a ref folds whole (an invoice id to copy), the reason wraps; `pending` shows only when an entry has some."""
    t = Table(title=f"ledger of {customer_id}: {len(entries)} of {total} entries", title_justify="left")
    pending = any(e.pending_points for e in entries)
    amounts = [f"{e.points:+d}" if e.points else "0" for e in entries]
    figure_column(t, "seq", [str(e.seq) for e in entries])
    t.add_column("at", width=10)  # the date whole, its time under it
    t.add_column("kind", overflow="fold")
    figure_column(t, "points", amounts)
    if pending:
        figure_column(t, "pending", [f"{e.pending_points:+d}" if e.pending_points else "" for e in entries])
    figure_column(t, "balance", [points(e.balance_after) for e in entries])
    t.add_column("reason", overflow="fold")
    t.add_column("ref", overflow="fold")
    t.add_column("actor", overflow="fold")
    for e, amount in zip(entries, amounts, strict=True):
        style = "green" if e.points > 0 else "red" if e.points < 0 else ""
        t.add_row(
            str(e.seq),
            when(e.at),
            e.kind,
            Text(amount, style=style),
            *([f"{e.pending_points:+d}" if e.pending_points else ""] if pending else []),
            points(e.balance_after),
            e.reason or "",
            e.ref or "",
            e.actor or "",
        )
    return t


def timeline_view(customer_id: str, timeline: Timeline) -> Table:
    """In the journey's order (a cause before its effects), to the second: many lines share a minute."""
    t = Table(title=f"timeline of {customer_id}", title_justify="left")
    t.add_column("at (UTC)", overflow="fold")
    t.add_column("kind", overflow="fold")
    t.add_column("what happened", overflow="fold")
    for item in timeline.items:
        t.add_row(item.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"), item.kind, item.text)
    if not timeline.items:
        t.add_row("—", "", "nothing yet")
    return t


def request_outcome(action: str, outcome: dict[str, Any] | None) -> str:
    """What an export or an erasure did, in one line (the `outcome` of its `personal_data_requests` row)."""
    o = outcome or {}
    if action == "export":
        return "exported: " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in o.items())
    rows = ", ".join(f"{table} {n}" for table, n in (o.get("rows_scrubbed") or {}).items())
    deleted, going = o.get("runs_deleted") or [], o.get("runs_not_yet_deleted") or []
    line = f"journey {o.get('journey', '?')}; runs deleted {len(deleted)}"
    if going:
        line += f", {len(going)} still deleting (erase again to confirm)"
    return f"{line}; SQL rows scrubbed: {rows or 'none'}"


def requests_view(rows: list[dict[str, Any]], total: int) -> Table:
    """The register of exports and erasures, oldest first."""
    t = Table(title=f"personal data requests: {len(rows)} of {total}", title_justify="left")
    for name in ("at (UTC)", "customer", "action", "actor", "request id", "reason", "what was done"):
        t.add_column(name)
    for r in rows:
        outcome = r.get("outcome") or {}
        t.add_row(
            r["at"].astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
            r["customer_id"],
            r["action"],
            r["actor"],
            r["request_id"],
            outcome.get("reason") or "",
            request_outcome(r["action"], outcome),
        )
    if not rows:
        t.add_row("—", "", "", "", "", "", "no export or erasure recorded")
    return t


def reconcile_figures(r: ReconcileRow) -> dict[str, str]:
    """A member's figures, by the column that shows them."""
    v = r.view
    return {
        "ledger points": points(r.ledger.points_sum),
        "expected": points(r.expected_points) if r.expected_points is not None else "—",
        "balance": points(v.balance) if v else "—",
        "not yet written": str(r.not_in_ledger) if v else "—",
        "cannot write": str(r.cannot_write) if v else "—",
        "ledger pending": points(r.ledger.pending_sum),
        "pending": points(v.pending) if v else "—",
        "seq ledger/journey": f"{r.ledger.max_seq}/{v.seq}" if v else f"{r.ledger.max_seq}/—",
    }


def reconcile_view(rows: list[ReconcileRow], width: int | None = None) -> Group:
    """One row per member, its figures never cut; the columns of entries not yet written, entries that
    cannot be and pending points only when some member has any. Each member that does not reconcile is
    named below with its problems, on a line of its own. When the table is wider than `width` (an
    80-column terminal, pending points), each member is one line instead."""
    shown = {
        "not yet written": any(r.not_in_ledger for r in rows if r.view),
        "cannot write": any(r.cannot_write for r in rows if r.view),
        "ledger pending": any(r.ledger.pending_sum or (r.view and r.view.pending) for r in rows),
    }
    shown["pending"] = shown["ledger pending"]
    figures = [reconcile_figures(r) for r in rows]
    names = [n for n in figures[0] if shown.get(n, True)] if figures else []
    t = Table(title="ledger vs journeys", title_justify="left")
    add_columns(t, ("", "center"))
    whole_column(t, "customer", (r.customer_id for r in rows))
    for name in names:
        figure_column(t, name, [f[name] for f in figures])
    for r, f in zip(rows, figures, strict=True):
        t.add_row(mark(r.ok), r.customer_id, *(f[n] for n in names))
    problems = [
        Text.assemble(mark(False), f" {r.customer_id}: ", ("; ".join(r.problems), "red")) for r in rows if r.problems
    ]
    if width is not None and table_width(t) > width:
        lines = [
            Text.assemble(mark(r.ok), f" {r.customer_id}  ", " · ".join(f"{n} {f[n]}" for n in names))
            for r, f in zip(rows, figures, strict=True)
        ]
        return Group(Text("ledger vs journeys"), *lines, *problems)
    return Group(t, *problems)


def table_width(table: Table) -> int:
    """The fewest columns `table` needs without cutting anything."""
    out = console()
    return Measurement.get(out, out.options.update_width(10_000), table).minimum


def mark(ok: bool) -> Text:
    return Text("✔", style="green") if ok else Text("✘", style="bold red")


def doctor_view(found: list[Diagnosis]) -> Table:
    t = Table(title="journeys that need support", title_justify="left", expand=True)
    add_columns(t, ("", "center"))
    whole_column(t, "customer", (d.customer_id for d in found))
    # on a narrow terminal the counts wrap their headers and the reasons get the room (a column nobody has
    # anything in is left out): why a journey is stuck names what to mend (a key id, a setting), which an
    # ellipsis used to cut in half; a word longer than its column folds, nothing is cut
    t.add_column("rejected events", justify="right", max_width=10)
    t.add_column("unwritable entries", justify="right", max_width=10)
    any_latest = any(d.latest_at for d in found)
    if any_latest:
        t.add_column("latest set aside", ratio=1, overflow="fold")
    t.add_column("stuck", ratio=2, overflow="fold")
    for d in found:
        latest = [f"{when(d.latest_at)}: {d.latest_reason}" if d.latest_at else ""] if any_latest else []
        t.add_row(
            Text("✔", style="green") if d.ok else Text("✘" if d.stuck else "!", style="bold red"),
            d.customer_id,
            str(d.rejected_events),
            str(d.unwritable_entries),
            *latest,
            Text("; ".join(d.stuck), style="red") if d.stuck else "",
        )
    return t


def quarantine_view(customer_id: str, rows: list[dict[str, Any]]) -> Table:
    t = Table(title=f"set aside by the journey of {customer_id} (newest first)", title_justify="left")
    add_columns(t, ("at", "left"), ("what", "left"), ("id or key", "left"), ("type", "left"), ("reason", "left"))
    for r in rows:
        t.add_row(when(r["at"]), r["what"], r["ref"] or "—", r["type"] or "", r["reason"])
    return t


def segments_view(segments: list[Segment], counts: dict[str, int] | None = None) -> Table:
    table = Table(title=f"{len(segments)} segment(s)")
    whole_column(table, "id", (s.segment_id for s in segments))
    for col in ("name", "filter", "created", "by", *(["members"] if counts is not None else [])):
        table.add_column(col, justify="right" if col == "members" else "left", overflow="fold")
    for s in segments:
        extra = [points(counts.get(s.segment_id, 0))] if counts is not None else []
        table.add_row(s.segment_id, s.name, in_words(s.filter), when(s.created_at), s.created_by, *extra)
    return table


def segment_preview_view(p: SegmentPreview) -> Group:
    table = Table(title=f"the first {len(p.sample)} by customer id", title_justify="left")
    whole_column(table, "customer", (m.customer_id for m in p.sample))
    columns = ("tier", "status", "balance", "engagement", "churn risk", "last active", "zone", "email")
    for col in columns:
        table.add_column(col, justify="right" if col in ("balance", "churn risk") else "left", overflow="fold")
    for m in p.sample:
        table.add_row(
            m.customer_id,
            m.tier,
            m.status + (" (at risk)" if m.at_risk else ""),
            "" if m.balance is None else points(m.balance),
            m.engagement_level or "",
            "" if m.churn_risk_score is None else str(m.churn_risk_score),
            when(m.last_activity_at) if m.last_activity_at else "",
            m.timezone or "",
            "reachable" if m.email_reachable else "no",
        )
    return Group(Text(f"{points(p.count)} member(s) in the segment", style="bold"), table)


def segment_view(rows: list[dict[str, Any]]) -> Table:
    table = Table(title=f"{len(rows)} member(s)")
    whole_column(table, "customer", (r["customer_id"] for r in rows))
    for col in ("email", "status", "tier", "at risk", "updated"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(
            r["customer_id"],
            r["email"] or "",
            r["status"],
            r["tier"],
            "yes" if r["at_risk"] else "",
            when(r["updated_at"]),
        )
    return table
