"""`expiry.deadlines` keeps only the earliest lot deadline (issue 14: a busy member's hundreds of lots):
the journey's next wake-up must be exactly what every lot's expiry and unsent warnings gave before."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain import expiry
from domain import lots as L
from domain.account import Account
from domain.program import parse_program
from domain.rules import AccountRules

ROOT = Path(__file__).resolve().parent.parent
PROGRAM = parse_program((ROOT / "program.toml").read_text())
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def every_deadline(r: AccountRules) -> list[datetime]:
    """What `expiry.deadlines` returned before: each live lot's expiry and each of its unsent warnings."""
    from domain import churn

    times = []
    for lot in r.a.lots:
        if lot.remaining <= 0 or (r.lifecycle and churn.frozen(r)):
            continue
        times.append(lot.expires_at)
        times += [lot.expires_at - timedelta(days=d) for d in r.p.points.expiry_warning_days if d not in lot.warned]
    return times


lot_specs = st.lists(
    st.tuples(
        st.floats(0, 400, allow_nan=False),  # earned, days after T0
        st.integers(0, 3),  # remaining (0: spent or expired)
        st.sets(st.sampled_from([30, 7])),  # warnings already sent
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lot_specs, st.booleans())
def test_the_earliest_lot_deadline_is_the_earliest_of_all(specs, lifecycle):
    a = Account.open("cus_1", PROGRAM, T0)
    a.lots = [
        L.Lot(
            lot_id=f"lot{i:03d}",
            source="test",
            earned_at=T0 + timedelta(days=day),
            expires_at=T0 + timedelta(days=day + 365),
            points=3,
            remaining=remaining,
            warned=sorted(warned),
        )
        for i, (day, remaining, warned) in enumerate(specs)
    ]
    r = AccountRules(a, lifecycle=lifecycle)
    before = every_deadline(r)
    assert expiry.deadlines(r) == ([min(before)] if before else [])
