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
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine

from domain.summary import ReconcileView
from starter.client import NoJourney, TenureClient
from storage.ledger_reads import Totals, ledger_totals

ATTEMPTS = 3
EMPTY = Totals(points_sum=0, pending_sum=0, max_seq=0, count=0, last_balance_after=0, last_pending_after=0)


@dataclass
class ReconcileRow:
    customer_id: str
    ledger: Totals
    view: ReconcileView | None = None  # None: no journey answered
    not_in_ledger: int = 0  # unwritten entries the ledger does not have yet
    expected_points: int | None = None
    expected_pending: int | None = None
    expected_seq: int | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def compare(customer_id: str, ledger: Totals, view: ReconcileView) -> ReconcileRow:
    """The pure comparison of one customer's ledger totals with the journey's reconcile view."""
    missing = [e for e in view.unwritten if e.seq > ledger.max_seq]
    row = ReconcileRow(
        customer_id=customer_id,
        ledger=ledger,
        view=view,
        not_in_ledger=len(missing),
        expected_points=view.balance - sum(e.points for e in missing),
        expected_pending=view.pending - sum(e.pending_points for e in missing),
        expected_seq=view.seq - len(missing),
    )
    p = row.problems
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
            return compare(customer_id, ledger, view)
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
            row = await reconcile_one(tenure, engine, cid)
        if on_row:
            on_row(row)
        return row

    rows = await asyncio.gather(*(one(cid) for cid in ids))
    return sorted(rows, key=lambda r: r.customer_id)
