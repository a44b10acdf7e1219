"""`upcoming` makes a model only for the moments it returns, and the journey's Temporal UI line (asked at
every wake-up) finds the nearest moment without listing them all (issue 14, step 14.11). The list and
the line must be exactly what they were when every lot, warning and date became an `Upcoming` first and
the models were sorted — `upcoming` with `_Item` replaced by the model, the oracle below."""

from __future__ import annotations

from datetime import datetime, timedelta
from unittest import mock

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from domain import upcoming as U
from domain.rules import AccountRules
from tests.lots_kit import T0, rules_with_lots


def as_before(r: AccountRules, now: datetime, limit: int) -> list[U.Upcoming]:
    """Every moment a model, then sorted and cut: what `upcoming` did before."""
    with mock.patch.object(U, "_Item", U.Upcoming):
        return U.upcoming(r, now, limit)


def line_before(r: AccountRules, now: datetime) -> str:
    """`current_details` as it was: its next moment from `upcoming(limit=1)`, every moment a model."""
    first = as_before(r, now, 1)
    with mock.patch.object(U, "nearest", lambda r, now: first[0] if first else None):
        return U.current_details(r, now)


lot_specs = st.lists(
    st.tuples(
        st.integers(0, 400),  # earned, days after T0 (whole days: several lots share an expiry day)
        st.integers(0, 3),  # remaining (0: spent or expired)
        st.sets(st.sampled_from([30, 7])),  # warnings already sent
    ),
    max_size=40,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lot_specs, st.booleans(), st.integers(0, 800), st.sampled_from([1, 3, U.SHOWN]))
@example([(0, 3, {30, 7}), (7, 2, {30})], False, 300, 1)  # a lot's expiry and another's warning, same moment
def test_the_nearest_moments_are_those_every_model_gave(specs, lifecycle, today, limit):
    r = rules_with_lots(specs, lifecycle)
    now = T0 + timedelta(days=today)
    items = as_before(r, now, limit)
    assert U.upcoming(r, now, limit) == items
    assert all(isinstance(i, U.Upcoming) for i in U.upcoming(r, now, limit))
    first = U.nearest(r, now)
    assert (first and U.Upcoming(**first._asdict())) == (items[0] if items else None)
    assert U.current_details(r, now) == line_before(r, now)
    assert ("next: " in U.current_details(r, now)) == bool(items)


def test_the_oracle_builds_models_for_every_moment():
    """The oracle is the old path: with it, a model is made for every lot's expiry and warnings."""
    r = rules_with_lots([(i, 3, set()) for i in range(5)], lifecycle=True)
    made: list[U.Upcoming] = []
    real_init = U.Upcoming.__init__

    def counting(self, **data):
        real_init(self, **data)
        made.append(self)

    with mock.patch.object(U.Upcoming, "__init__", counting):
        U.upcoming(r, T0, 1)
        now_made = len(made)
        as_before(r, T0, 1)
    assert now_made == 1
    assert len(made) - now_made > 5  # every expiry, its warnings, the tier year end, the lifecycle's dates
