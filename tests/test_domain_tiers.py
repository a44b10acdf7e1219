"""Tiers (domain/tiers.py and the tier rules of AccountRules).

Upgrade at once when a threshold is reached; downgrade only when the tier year ends, one level
at a time; never below a support-set minimum while it lasts.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain import tiers as T
from domain.account import Account
from domain.effects import Effects
from domain.messages import PaymentSucceeded, RefundIssued
from domain.program import parse_program
from domain.refusals import Refused
from domain.rules import AccountRules

ROOT = Path(__file__).resolve().parent.parent
PROGRAM = parse_program((ROOT / "program.toml").read_text())
RULES = PROGRAM.tiers  # member 0, silver 1000, gold 2500, platinum 5000
NAMES = RULES.names()
T0 = datetime(2026, 1, 1, tzinfo=UTC)
PROPS = settings(max_examples=200, deadline=None)


def days(n: float) -> timedelta:
    return timedelta(days=n)


def status(name: str, minimum: str | None = None, until: datetime | None = None) -> T.TierStatus:
    m = (
        T.MinimumTier(tier=minimum, reason="vip", actor="support:ann", until=until or T0 + days(100))
        if minimum
        else None
    )
    return T.TierStatus(name=name, year_start=T0, year_end=T0 + days(365), minimum=m)


# ---- the pure functions ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "total, tier",
    [
        (0, "member"),
        (999, "member"),
        (1000, "silver"),
        (2499, "silver"),
        (2500, "gold"),
        (4999, "gold"),
        (5000, "platinum"),
        (10**9, "platinum"),
    ],
)
def test_earned_tier_at_the_thresholds(total, tier):
    assert T.earned_tier(total, RULES) == tier


def test_upgrade_target_is_immediate_at_the_threshold():
    assert T.upgrade_target(status("member"), 999, RULES, T0) is None
    assert T.upgrade_target(status("member"), 1000, RULES, T0) == "silver"
    assert T.upgrade_target(status("member"), 5000, RULES, T0) == "platinum", "several levels at once upward"
    assert T.upgrade_target(status("gold"), 1000, RULES, T0) is None, "never a downgrade"


def test_minimum_tier_raises_the_upgrade_target_while_it_lasts():
    s = status("member", minimum="gold", until=T0 + days(30))
    assert T.upgrade_target(s, 0, RULES, T0) == "gold"
    assert T.upgrade_target(s, 0, RULES, T0 + days(30)) is None, "a minimum ends at `until`"


def test_year_end_one_level_down_at_most():
    assert T.year_end_target(status("platinum"), 0, RULES, T0) == "gold"
    assert T.year_end_target(status("gold"), 2500, RULES, T0) == "gold", "requalified: kept"
    assert T.year_end_target(status("gold"), 2499, RULES, T0) == "silver"
    assert T.year_end_target(status("member"), 0, RULES, T0) == "member"


def test_year_end_never_below_a_running_minimum():
    s = status("gold", minimum="gold", until=T0 + days(10))
    assert T.year_end_target(s, 0, RULES, T0) == "gold"
    assert T.year_end_target(s, 0, RULES, T0 + days(10)) == "silver", "the minimum has ended"
    assert T.year_end_target(status("platinum", minimum="silver"), 0, RULES, T0) == "gold"


def test_rolling_total_counts_365_days_and_spend_basis():
    items = [
        T.Qualifying(at=T0, points=100, spend_minor=4900),
        T.Qualifying(at=T0 + days(100), points=50, spend_minor=10000),
    ]
    assert T.rolling_total(items, RULES, T0 + days(364)) == 150
    assert T.rolling_total(items, RULES, T0 + days(365)) == 50, "a contribution leaves the window at 365 days"
    spend = RULES.model_copy(update={"basis": "spend"})
    assert T.rolling_total(items, spend, T0 + days(1)) == 149, "spend basis counts whole currency units"
    assert [q.points for q in T.trim(items, T0 + days(365))] == [50]


def test_next_tier_and_points_needed():
    assert T.next_tier(status("member"), 400, RULES) == ("silver", 600)
    assert T.next_tier(status("silver"), 1200, RULES) == ("gold", 1300)
    assert T.next_tier(status("platinum"), 0, RULES) == (None, 0)
    assert T.next_tier(status("gold"), 6000, RULES) == ("platinum", 0)


@PROPS
@given(st.sampled_from(NAMES), st.integers(0, 8000), st.one_of(st.none(), st.sampled_from(NAMES)), st.booleans())
def test_year_end_target_properties(current, total, minimum, minimum_running):
    until = T0 + (days(1) if minimum_running else -days(1))
    s = status(current, minimum=minimum, until=until)
    got = NAMES.index(T.year_end_target(s, total, RULES, T0))
    cur = NAMES.index(current)
    floor = NAMES.index(minimum) if minimum and minimum_running else 0
    earned = NAMES.index(T.earned_tier(total, RULES))
    assert got >= floor, "never below the minimum while it lasts"
    assert got >= cur - 1, "at most one level down"
    assert got <= max(cur, floor), "a year end never upgrades beyond the minimum"
    if earned >= cur:
        assert got >= cur, "a member who requalified keeps the tier"


@PROPS
@given(st.sampled_from(NAMES), st.integers(0, 8000), st.one_of(st.none(), st.sampled_from(NAMES)))
def test_upgrade_target_properties(current, total, minimum):
    s = status(current, minimum=minimum, until=T0 + days(1))
    target = T.upgrade_target(s, total, RULES, T0)
    want = max(NAMES.index(T.earned_tier(total, RULES)), NAMES.index(minimum) if minimum else 0)
    if want > NAMES.index(current):
        assert target == NAMES[want]
    else:
        assert target is None


# ---- through the account rules -----------------------------------------------------------------


def account(program=PROGRAM) -> tuple[Account, AccountRules, Effects]:
    a = Account.open("cus_t", program, T0)
    return a, AccountRules(a), Effects()


def pay(r: AccountRules, fx: Effects, now: datetime, n: int, cadence: str = "monthly") -> None:
    r.on_payment(
        fx,
        now,
        PaymentSucceeded(event_id=f"e{n}", invoice_id=f"in_{n}", amount_minor=4900, currency="USD", cadence=cadence),
    )


def tier_emails(fx: Effects) -> list[tuple[str, str, str]]:
    return [
        (m.data["old_tier"], m.data["new_tier"], m.data["direction"]) for m in fx.emails if m.purpose == "tier_changed"
    ]


def test_upgrade_happens_on_the_payment_that_reaches_the_threshold():
    a, r, fx = account()
    for n in range(9):
        pay(r, fx, T0 + days(30 * n), n)
    assert a.tier.name == "member" and r.qualifying_total(T0 + days(240)) == 900
    pay(r, fx, T0 + days(270), 9)
    assert a.tier.name == "silver"
    assert a.tier.year_start == T0 + days(270) and a.tier.year_end == T0 + days(270 + 365)
    assert "1000 qualifying points" in a.tier.because
    assert tier_emails(fx) == [("member", "silver", "upgrade")]


def test_the_new_tier_multiplier_applies_from_the_next_payment():
    a, r, fx = account()
    pay(r, fx, T0, 1, cadence="annual")  # 1200 -> silver
    pay(r, fx, T0 + days(1), 2)
    assert a.tier.name == "silver" and a.lots[-1].points == 110


def test_idle_member_goes_down_one_level_per_tier_year():
    a, r, fx = account()
    for n in range(5):
        pay(r, fx, T0, n, cadence="annual")  # 6000 points at once
    assert a.tier.name == "platinum"
    seen = []
    now = T0
    for _ in range(5):
        end = a.tier.year_end
        r.advance(fx, end - timedelta(seconds=1))
        assert a.tier.name == (seen[-1] if seen else "platinum"), "nothing changes before the year ends"
        r.advance(fx, end)
        now = end
        seen.append(a.tier.name)
    assert seen == ["gold", "silver", "member", "member", "member"]
    downs = [(old, new) for old, new, d in tier_emails(fx) if d == "downgrade"]
    assert downs == [("platinum", "gold"), ("gold", "silver"), ("silver", "member")]
    assert now == T0 + days(5 * 365)


def test_a_refund_never_downgrades_on_its_own():
    a, r, fx = account()
    pay(r, fx, T0, 1, cadence="annual")
    assert a.tier.name == "silver"
    r.on_refund(fx, T0 + days(2), RefundIssued(event_id="rf", invoice_id="in_1", amount_minor=4900, currency="USD"))
    assert a.balance == 0 and a.tier.name == "silver"
    r.advance(fx, a.tier.year_end)
    assert a.tier.name == "member", "…but the tier year ends without the refunded points"


def test_minimum_tier_holds_through_a_year_end_and_then_steps_down_one_level():
    a, r, fx = account()
    r.set_minimum_tier(fx, T0, "gold", "key account", "support:ann", T0 + days(500))
    assert a.tier.name == "gold" and a.tier.minimum is not None
    assert "minimum tier set by support (key account)" in a.tier.because
    r.advance(fx, a.tier.year_end)  # day 365: minimum still running
    assert a.tier.name == "gold"
    r.advance(fx, T0 + days(500))
    assert a.tier.minimum is None and a.tier.name == "gold", "the tier is kept until its year ends"
    r.advance(fx, a.tier.year_end)
    assert a.tier.name == "silver"


def test_minimum_tier_refuses_unknown_tier_and_past_dates():
    a, r, fx = account()
    with pytest.raises(Refused, match="unknown tier 'diamond'") as refused:
        r.set_minimum_tier(fx, T0, "diamond", "x", "s", T0 + days(1))
    assert refused.value.code == "unknown_tier"
    with pytest.raises(Refused, match="future") as refused:
        r.set_minimum_tier(fx, T0, "gold", "x", "s", T0)
    assert refused.value.code == "until_not_future"
    assert a.tier.name == "member" and a.tier.minimum is None


def test_a_lower_minimum_changes_nothing():
    a, r, fx = account()
    pay(r, fx, T0, 1, cadence="annual")
    r.set_minimum_tier(fx, T0, "member", "noop", "s", T0 + days(10))
    assert a.tier.name == "silver" and tier_emails(fx) == [("member", "silver", "upgrade")]


def test_spend_basis_program():
    prog = PROGRAM.model_copy(update={"tiers": RULES.model_copy(update={"basis": "spend"})})
    a, r, fx = account(prog)
    r.on_payment(fx, T0, PaymentSucceeded(event_id="e", invoice_id="i", amount_minor=99_900, currency="USD"))
    assert a.tier.name == "member"
    r.on_payment(fx, T0, PaymentSucceeded(event_id="f", invoice_id="j", amount_minor=100, currency="USD"))
    assert a.tier.name == "silver", "1000.00 spent in 12 months"


def test_every_tier_change_email_has_its_own_key():
    a, r, fx = account()
    r.set_minimum_tier(fx, T0, "gold", "trial of gold", "support:ann", T0 + days(30))
    r.advance(fx, a.tier.year_end)  # minimum over: gold -> silver
    r.set_minimum_tier(fx, a.tier.year_start, "gold", "again", "support:ann", a.tier.year_start + days(30))
    assert [e[1] for e in tier_emails(fx)] == ["gold", "silver", "gold"]
    keys = [m.key for m in fx.emails if m.purpose == "tier_changed"]
    assert len(set(keys)) == len(keys), keys
