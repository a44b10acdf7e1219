"""`expiry.deadlines` keeps only the earliest lot deadline (issue 14: a busy member's hundreds of lots):
the journey's next wake-up must be exactly what every lot's expiry and unsent warnings gave before."""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain import expiry
from domain.rules import AccountRules
from tests.lots_kit import rules_with_lots


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
    r = rules_with_lots(specs, lifecycle)
    before = every_deadline(r)
    assert expiry.deadlines(r) == ([min(before)] if before else [])
