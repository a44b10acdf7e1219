"""Does the SQL ledger agree with the journeys? One customer, or every customer in the ledger.

The journey is the truth; the ledger is its append-only record, written a little later. The
workflow's `reconcile` query returns its balance, pending points, last seq and the entries it
has made but not yet seen written. So for a healthy customer:

    ledger sum(points)         == balance - sum(points of entries not yet in the ledger)
    ledger sum(pending_points) == pending - sum(pending_points of entries not yet in the ledger)
    ledger max(seq)            == seq     - (number of entries not yet in the ledger)
    ledger count               == ledger max(seq)             (no gap)

"Not yet in the ledger" are the unwritten entries with a seq above the ledger's last one: a
batch the workflow still calls unwritten may already be committed (the activity finished, the
workflow has not heard yet). A ledger that runs *ahead* of the query (entries written between
the query and the read) is read again.

Entries the ledger can never take are not "not yet written": those the journey set aside
(rules version 2 quarantines them) and, for older runs still retrying, those whose key or seq
another row of the ledger already holds. They are reported as a problem of their own and left
out of what the ledger is expected to hold. A journey that does not answer (its workflow task
fails, no worker) makes its own row fail with the reason; the other customers are still compared.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine

from domain.effects import LedgerEntry
from domain.summary import ReconcileView
from starter.client import JourneyError, NoJourney, TenureClient
from storage.ledger_reads import Totals, clashes, ledger_totals

ATTEMPTS = 3
EMPTY = Totals(points_sum=0, pending_sum=0, max_seq=0, count=0, last_balance_after=0, last_pending_after=0)


@dataclass
class ReconcileRow:
    customer_id: str
    ledger: Totals
    view: ReconcileView | None = None  # None: no journey answered
    not_in_ledger: int = 0  # unwritten entries the ledger does not have yet
    cannot_write: int = 0  # entries the ledger can never take
    expected_points: int | None = None
    expected_pending: int | None = None
    expected_seq: int | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _why(e: JourneyError) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0] if text else ''}"


def compare(
    customer_id: str, ledger: Totals, view: ReconcileView, clashing: dict[int, str] | None = None
) -> ReconcileRow:
    """The pure comparison of one customer's ledger totals with the journey's reconcile view.

    `clashing`: unwritten entries (by seq) that another ledger row stands in the way of, and why.
    """
    clashing = clashing or {}
    set_aside = [(x.entry, x.reason) for x in view.unwritable if x.entry is not None]
    never = set_aside + [(e, clashing[e.seq]) for e in view.unwritten if e.seq in clashing]
    missing = [e for e in view.unwritten if e.seq > ledger.max_seq and e.seq not in clashing]
    absent = missing + [e for e, _ in never]
    row = ReconcileRow(
        customer_id=customer_id,
        ledger=ledger,
        view=view,
        not_in_ledger=len(missing),
        cannot_write=max(len(never), view.unwritable_total + len(clashing)),
        expected_points=view.balance - sum(e.points for e in absent),
        expected_pending=view.pending - sum(e.pending_points for e in absent),
        expected_seq=view.seq - len([e for e in view.unwritten if e.seq > ledger.max_seq]),
    )
    p = row.problems
    if never:
        n = row.cannot_write
        p.append(
            f"{n} entr{'y' if n == 1 else 'ies'} cannot be written: "
            + "; ".join(_entry(e, why) for e, why in never[:3])
        )
    if ledger.points_sum != row.expected_points:
        p.append(
            f"ledger points sum {ledger.points_sum} ≠ {row.expected_points} expected "
            f"(balance {view.balance}" + (f", {len(missing)} entries not written yet)" if missing else ")")
        )
    if ledger.pending_sum != row.expected_pending:
        p.append(f"ledger pending sum {ledger.pending_sum} ≠ {row.expected_pending} expected (pending {view.pending})")
    if ledger.max_seq != row.expected_seq:
        p.append(f"ledger ends at seq {ledger.max_seq}, journey expects {row.expected_seq}")
    if ledger.count != ledger.max_seq:
        p.append(f"ledger has {ledger.count} entries for seqs 1..{ledger.max_seq}: a gap or a duplicate")
    if ledger.count and ledger.max_seq == row.expected_seq and ledger.last_balance_after != row.expected_points:
        p.append(f"last entry's balance_after {ledger.last_balance_after} ≠ {row.expected_points}")
    return row


def _entry(e: LedgerEntry, why: str) -> str:
    return f"seq {e.seq} ({e.kind} {e.points:+d}): {why}"


async def _view(tenure: TenureClient, customer_id: str) -> ReconcileView | None:
    try:
        return await tenure.reconcile_view(customer_id)
    except NoJourney:
        return None


async def reconcile_one(tenure: TenureClient, engine: Engine, customer_id: str) -> ReconcileRow:
    """Compare one customer; raises NoJourney when there is neither a journey nor a ledger, and the
    client's other typed errors (JourneyUnavailable, ...) when Temporal does not answer for it."""
    for attempt in range(1, ATTEMPTS + 1):
        view = await _view(tenure, customer_id)
        ledger = (await asyncio.to_thread(ledger_totals, engine, customer_id)).get(customer_id, EMPTY)
        if view is None:
            if ledger.count == 0:
                raise NoJourney(customer_id)
            return ReconcileRow(
                customer_id,
                ledger,
                problems=[f"no journey answers for this customer, but the ledger has {ledger.count} entries"],
            )
        if ledger.max_seq <= view.seq or attempt == ATTEMPTS:
            clashing = await asyncio.to_thread(clashes, engine, view.unwritten)
            return compare(customer_id, ledger, view, clashing)
        await asyncio.sleep(0.2)  # entries were written after the query: look again
    raise AssertionError("unreachable: the last attempt returns")


async def reconcile(
    tenure: TenureClient,
    engine: Engine,
    customer_id: str | None = None,
    on_row: Callable[[ReconcileRow], None] | None = None,
    on_total: Callable[[int], None] | None = None,
    concurrency: int = 8,
) -> list[ReconcileRow]:
    """Rows for one customer, or for every customer with ledger entries, sorted by customer id."""
    if customer_id is not None:
        ids = [customer_id]
    else:
        ids = sorted(await asyncio.to_thread(ledger_totals, engine))
    if on_total:
        on_total(len(ids))
    gate = asyncio.Semaphore(concurrency)

    async def one(cid: str) -> ReconcileRow:
        async with gate:
            try:
                row = await reconcile_one(tenure, engine, cid)
            except NoJourney:
                raise
            except JourneyError as e:  # this journey does not answer: its row says why, the others go on
                ledger = (await asyncio.to_thread(ledger_totals, engine, cid)).get(cid, EMPTY)
                row = ReconcileRow(cid, ledger, problems=[f"the journey did not answer: {_why(e)}"])
        if on_row:
            on_row(row)
        return row

    rows = await asyncio.gather(*(one(cid) for cid in ids))
    return sorted(rows, key=lambda r: r.customer_id)
