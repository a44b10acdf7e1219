"""AccountRules (domain/rules.py, the modules behind it): examples of each rule, then random journeys with invariants.

The random journeys are driven the way the workflow drives the rules: every signal and update
first calls `advance(now)`, updates run their check (the validator) before they act, duplicate
event ids are dropped, and time moves from one `next_deadline()` to the next, as the durable
timer does.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain import churn
from domain import tiers as T
from domain.account import Account
from domain.effects import BillingCredit, Effects
from domain.messages import (
    ActivityReported,
    AdjustRequest,
    PaymentSucceeded,
    RedeemRequest,
    RefundIssued,
    SubscriptionCancelled,
)
from domain.program import parse_program
from domain.refusals import Refused
from domain.rules import AccountRules

ROOT = Path(__file__).resolve().parent.parent
PROGRAM = parse_program((ROOT / "program.toml").read_text())
T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)  # a Monday
PROPS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def days(n: float) -> timedelta:
    return timedelta(days=n)


def fresh(program=PROGRAM, lifecycle: bool = False) -> tuple[Account, AccountRules, Effects]:
    a = Account.open("cus_1", program, T0)
    return a, AccountRules(a, lifecycle=lifecycle), Effects()


def pay(n: int | str, amount: int = 4900, cadence: str = "monthly") -> PaymentSucceeded:
    return PaymentSucceeded(
        event_id=f"evt_pay_{n}", invoice_id=f"in_{n}", amount_minor=amount, currency="USD", cadence=cadence
    )


def refund(n: int | str, amount: int = 4900, eid: str | None = None) -> RefundIssued:
    return RefundIssued(event_id=eid or f"evt_rf_{n}", invoice_id=f"in_{n}", amount_minor=amount, currency="USD")


def act(kind: str, n: int | str) -> ActivityReported:
    return ActivityReported(event_id=f"evt_{kind}_{n}", kind=kind)


def kinds(fx: Effects) -> list[str]:
    return [e.kind for e in fx.entries]


# ---- earning -----------------------------------------------------------------------------------


def test_payment_earns_a_lot_valid_for_the_program_validity():
    a, r, fx = fresh()
    r.on_payment(fx, T0, pay(1))
    (lot,) = a.lots
    assert (lot.points, lot.remaining, lot.earned_at, lot.expires_at) == (100, 100, T0, T0 + days(365))
    (e,) = fx.entries
    assert (e.kind, e.points, e.seq, e.balance_after, e.lot_id, e.ref) == ("earn", 100, 1, 100, lot.lot_id, "in_1")
    assert e.key == "cus_1/pay:in_1/earn" and e.program_version == PROGRAM.version


def test_annual_payment_and_cashback_mode():
    a, r, fx = fresh()
    r.on_payment(fx, T0, pay(1, amount=49000, cadence="annual"))
    assert a.balance == 1200
    cash = PROGRAM.model_copy(update={"earning": PROGRAM.earning.model_copy(update={"mode": "cashback"})})
    a, r, fx = fresh(cash)
    r.on_payment(fx, T0, pay(1, amount=4900))  # 5% of 49.00 = 2.45 = 245 points at 100 points per 1.00
    assert a.balance == 245


def test_the_same_invoice_earns_once_even_under_another_event_id():
    a, r, fx = fresh()
    r.on_payment(fx, T0, pay(1))
    r.on_payment(fx, T0, pay(1).model_copy(update={"event_id": "another"}))
    assert a.balance == 100 and kinds(fx) == ["earn"]


def test_activity_caps_per_day_and_per_week():
    a, r, fx = fresh()
    for i in range(5):
        r.on_activity(fx, T0, act("content_shared", i))  # 10 each, daily cap 20
    assert a.balance == 20
    for d in range(1, 7):  # same ISO week (Monday..Sunday), weekly cap 60
        for i in range(3):
            r.on_activity(fx, T0 + days(d), act("content_shared", f"{d}-{i}"))
    assert a.balance == 60
    r.on_activity(fx, T0 + days(7), act("login", "next-week"))
    assert a.balance == 62, "a new ISO week starts a new weekly allowance"


def test_survey_is_uncapped_and_profile_completed_earns_once():
    a, r, fx = fresh()
    for i in range(3):
        r.on_activity(fx, T0, act("survey_answered", i))
    r.on_activity(fx, T0, act("profile_completed", 1))
    r.on_activity(fx, T0, act("profile_completed", 2))
    assert a.balance == 3 * 50 + 25


# ---- refunds -----------------------------------------------------------------------------------


def test_refund_reverses_what_its_payment_earned_partially_then_fully():
    a, r, fx = fresh()
    r.on_payment(fx, T0, pay(1, amount=10000, cadence="annual"))  # 1200 points
    r.on_refund(fx, T0 + days(1), refund(1, amount=2500, eid="rf_a"))
    assert a.balance == 900
    r.on_refund(fx, T0 + days(2), refund(1, amount=100000, eid="rf_b"))  # more than is left: capped
    assert a.balance == 0 and a.shortfall == 0
    r.on_refund(fx, T0 + days(3), refund(1, amount=100, eid="rf_c"))
    assert kinds(fx) == ["earn", "refund_reversal", "refund_reversal"], "a fully refunded invoice reverses nothing"


def test_refund_with_shortfall_is_recorded_and_settled_from_future_earnings():
    a, r, fx = fresh()
    r.on_payment(fx, T0, pay(1, amount=49000, cadence="annual"))  # 1200, silver
    r.redeem(fx, T0, RedeemRequest(request_id="r1", points=1000))
    r.on_refund(fx, T0 + days(1), refund(1, amount=49000))
    assert a.balance == 0 and a.shortfall == 1000
    rev, short = fx.entries[-2:]
    assert (rev.kind, rev.points) == ("refund_reversal", -200)
    assert (short.kind, short.points) == ("shortfall", 0) and "1000 points could not be reversed" in short.reason
    r.on_payment(fx, T0 + days(30), pay(2))  # 110 under silver: all of it settles the shortfall
    assert a.balance == 0 and a.shortfall == 890
    assert kinds(fx)[-2:] == ["earn", "refund_reversal"] and fx.entries[-1].points == -110
    assert sum(e.points for e in fx.entries) == a.balance


def test_refund_of_an_unknown_invoice_changes_nothing():
    a, r, fx = fresh()
    r.on_payment(fx, T0, pay(1))
    r.on_refund(fx, T0, refund(99))
    assert a.balance == 100 and kinds(fx) == ["earn"]
    assert "unknown invoice in_99" in a.timeline[-1].text


def test_refund_lowers_only_its_own_payments_qualifying_points():
    a, r, fx = fresh()
    r.on_payment(fx, T0, pay(1))
    r.on_payment(fx, T0, pay(2))  # same workflow task, same instant
    r.on_activity(fx, T0, act("survey_answered", 1))
    assert r.qualifying_total(T0) == 250
    r.on_refund(fx, T0, refund(1))
    assert r.qualifying_total(T0) == 150


# ---- redemptions and adjustments ---------------------------------------------------------------


def test_redeem_refusals_say_what_is_wrong():
    a, r, fx = fresh()
    r.on_payment(fx, T0, pay(1, amount=49000, cadence="annual"))  # 1200
    cases = [
        (RedeemRequest(request_id="a", points=0), "points_not_positive", "positive"),
        (RedeemRequest(request_id="b", points=50), "below_minimum", "at least 100"),
        (
            RedeemRequest(request_id="c", points=5000),
            "insufficient_points",
            "not enough points: 5000 asked, 1200 available",
        ),
        (RedeemRequest(request_id="d", kind="reward"), "reward_required", "reward_id is required"),
        (RedeemRequest(request_id="e", kind="reward", reward_id="yacht"), "unknown_reward", "unknown reward 'yacht'"),
        (
            RedeemRequest(request_id="f", kind="reward", reward_id="premium-month"),
            "insufficient_points",
            "not enough points",
        ),
    ]
    for req, code, msg in cases:
        with pytest.raises(Refused, match=msg) as refused:
            r.check_redeem(req)
        assert refused.value.code == code and refused.value.message == str(refused.value)
    r.on_cancelled(fx, T0, SubscriptionCancelled(event_id="c", reason="too_expensive"))
    with pytest.raises(Refused, match="not active") as refused:
        r.check_redeem(RedeemRequest(request_id="g", points=100))
    assert refused.value.code == "member_inactive"
    assert a.balance == 1200 and kinds(fx) == ["earn"]


def test_redeem_spends_oldest_first_is_idempotent_and_buys_a_credit():
    a, r, fx = fresh()
    r.on_payment(fx, T0, pay(1))
    r.on_payment(fx, T0 + days(1), pay(2))
    first = r.redeem(fx, T0 + days(2), RedeemRequest(request_id="r1", points=150))
    assert [(x.lot_id, x.remaining) for x in a.lots] == [("pay:in_2", 50)]
    again = r.redeem(fx, T0 + days(3), RedeemRequest(request_id="r1", points=150))
    assert again == first and a.balance == 50
    r.check_redeem(RedeemRequest(request_id="r1", points=150))  # a repeated id always passes the check
    (credit,) = fx.credits
    assert (credit.amount_minor, credit.currency, credit.key) == (150, "USD", "cus_1/redeem:r1/credit")
    assert [m.purpose for m in fx.emails] == ["redemption_receipt"]


def test_a_refused_credit_returns_the_points():
    a, r, fx = fresh()
    r.on_payment(fx, T0, pay(1, amount=49000, cadence="annual"))
    r.redeem(fx, T0, RedeemRequest(request_id="r1", points=1000))
    r.credit_failed(fx, T0 + days(1), fx.credits[0], "card declined")
    assert a.balance == 1200
    assert a.redemptions["r1"].error == "billing refused the credit: card declined"
    r.credit_failed(fx, T0 + days(1), fx.credits[0], "card declined")
    assert a.balance == 1200, "returned once"
    assert sum(e.points for e in fx.entries) == a.balance


def test_adjustments():
    a, r, fx = fresh()
    res = r.adjust(fx, T0, AdjustRequest(request_id="a1", points=300, reason="goodwill", actor="support:ann"))
    assert res.balance_after == 300 and a.lots[0].expires_at == T0 + days(365)
    with pytest.raises(Refused, match="cannot remove 400 points: balance is 300") as refused:
        r.check_adjust(AdjustRequest(request_id="a2", points=-400, reason="oops", actor="support:ann"))
    assert refused.value.code == "balance_too_low"
    with pytest.raises(Refused, match="zero") as refused:
        r.check_adjust(AdjustRequest(request_id="a3", points=0, reason="nothing", actor="support:ann"))
    assert refused.value.code == "zero_adjustment"
    r.adjust(fx, T0, AdjustRequest(request_id="a4", points=-100, reason="correction", actor="support:bob"))
    assert r.adjust(fx, T0, AdjustRequest(request_id="a4", points=-100, reason="correction", actor="x")).points == -100
    assert a.balance == 200
    e = fx.entries[-1]
    assert (e.kind, e.points, e.actor, e.reason) == ("adjust", -100, "support:bob", "correction")


# ---- time --------------------------------------------------------------------------------------


def test_expiry_warnings_then_expiry_at_exactly_the_validity():
    a, r, fx = fresh()
    r.on_payment(fx, T0, pay(1))
    assert r.next_deadline() == T0 + days(335)
    r.advance(fx, T0 + days(335))
    assert [m.purpose for m in fx.emails] == ["expiry_warning"]
    assert r.next_deadline() == T0 + days(358)
    r.advance(fx, T0 + days(358))
    assert [m.purpose for m in fx.emails] == ["expiry_warning", "expiry_last_chance"]
    assert r.next_deadline() == T0 + days(365)
    r.advance(fx, T0 + days(365) - timedelta(microseconds=1))
    assert a.balance == 100
    r.advance(fx, T0 + days(365))
    assert a.balance == 0 and kinds(fx) == ["earn", "expire"] and fx.entries[-1].points == -100


def test_pending_points_are_held_then_released_or_voided():
    a, r, fx = fresh()
    r.add_pending(fx, T0, "p1", 200, "referral", "ref_a", days(14))
    r.add_pending(fx, T0, "p1", 200, "referral", "ref_a", days(14))  # same id: once
    r.add_pending(fx, T0, "p2", 200, "referral", "ref_b", days(14))
    assert (a.balance, a.pending_points) == (0, 400)
    assert r.void_pending(fx, T0 + days(3), "ref_b", "refunded") == 200
    assert r.next_deadline() == T0 + days(14)
    r.advance(fx, T0 + days(14))
    assert (a.balance, a.pending_points) == (200, 0)
    assert kinds(fx) == ["pending", "pending", "pending_voided", "pending_released", "earn"]
    assert sum(e.pending_points for e in fx.entries) == 0


def test_balance_after_is_the_running_balance_when_two_lots_expire_together():
    a, r, fx = fresh()
    r.on_payment(fx, T0, pay(1))
    r.on_activity(fx, T0, act("login", 1))  # same instant: both lots expire together
    r.advance(fx, T0 + days(365))
    running = 0
    for e in fx.entries:
        running += e.points
        assert e.balance_after == running, f"seq {e.seq} {e.kind}: balance_after {e.balance_after}, running {running}"


def test_two_churns_in_one_instant_have_distinct_ledger_keys():
    a, r, fx = fresh(lifecycle=True)
    r.on_payment(fx, T0, pay(1))
    r.on_cancelled(fx, T0, SubscriptionCancelled(event_id="evt_cancel_1", reason="too_expensive"))
    r.on_payment(fx, T0, pay(2))  # back at once: the balance is restored
    r.on_cancelled(fx, T0, SubscriptionCancelled(event_id="evt_cancel_2", reason="unused"))
    keys = [e.key for e in fx.entries]
    assert len(set(keys)) == len(keys), [k for k, c in Counter(keys).items() if c > 1]


# ---- random journeys ---------------------------------------------------------------------------

AMOUNTS = st.sampled_from([0, 100, 999, 4900, 4900, 10000, 49000])
PAY = st.tuples(st.just("pay"), st.sampled_from(["monthly", "monthly", "annual"]), AMOUNTS)
OPS = st.one_of(
    PAY,
    PAY,
    PAY,
    st.tuples(st.just("refund"), st.integers(0, 20), st.sampled_from([1, 1000, 2450, 4900, 10**6])),
    st.tuples(st.just("refund"), st.integers(0, 20), st.sampled_from([4900, 10**6])),
    st.tuples(
        st.just("activity"),
        st.sampled_from(
            ["login", "feature_used", "content_shared", "profile_completed", "survey_answered", "review_written"]
        ),
    ),
    st.tuples(st.just("redeem"), st.integers(-1, 40).map(lambda n: n * 50)),
    st.tuples(st.just("redeem"), st.integers(2, 12).map(lambda n: n * 100)),
    st.tuples(st.just("reward"), st.sampled_from([r.id for r in PROGRAM.redemption.catalog] + ["nope"])),
    st.tuples(st.just("credit_failed"), st.integers(0, 10)),
    st.tuples(st.just("adjust"), st.integers(-1500, 1500)),
    st.tuples(st.just("min_tier"), st.sampled_from(PROGRAM.tiers.names()), st.integers(-5, 500)),
    st.tuples(st.just("pending"), st.integers(0, 400), st.integers(0, 30)),
    st.tuples(st.just("void"), st.integers(0, 10)),
    st.tuples(st.just("cancel")),
    st.tuples(st.just("dup"), st.integers(0, 30)),
    st.tuples(
        st.just("wait"),
        st.sampled_from([0, 0, 60, 3600, 86400, 7 * 86400, 30 * 86400, 90 * 86400, 200 * 86400, 400 * 86400]),
    ),
)


class Journey:
    """Drives AccountRules as the workflow does and checks the invariants after every step."""

    def __init__(self, program=PROGRAM, lifecycle: bool = False):
        self.now = T0
        self.a, self.r, self.fx = fresh(program, lifecycle)
        self.names = program.tiers.names()
        self.n = 0
        self.events: list = []
        self.invoices: list[str] = []
        self.pending_refs: list[str] = []
        self.reversed: Counter[str] = Counter()  # invoice -> points reversed (taken now + recorded shortfall)
        self.short_total = 0

    # -- inputs, as the workflow receives them

    def signal(self, ev) -> None:
        if self.r.seen(ev.event_id):
            return
        self.r.remember(ev.event_id)
        self.step(lambda: self._handle(ev))

    def _handle(self, ev) -> None:
        handler = {
            "payment_succeeded": self.r.on_payment,
            "refund_issued": self.r.on_refund,
            "activity": self.r.on_activity,
            "subscription_cancelled": self.r.on_cancelled,
        }[ev.type]
        if ev.type == "refund_issued":
            self._refund(ev)
        else:
            handler(self.fx, self.now, ev)
        self.events.append(ev)

    def _refund(self, ev: RefundIssued) -> None:
        short_before = self.a.shortfall
        start = len(self.fx.entries)
        self.r.on_refund(self.fx, self.now, ev)
        new = self.fx.entries[start:]
        taken = -sum(e.points for e in new if e.kind == "refund_reversal")
        short = self.a.shortfall - short_before
        assert taken >= 0 and short >= 0
        assert (short > 0) == any(e.kind == "shortfall" for e in new), "a shortfall is always recorded"
        self.reversed[ev.invoice_id] += taken + short
        self.short_total += short

    def update(self, check, act) -> None:
        def go():
            try:
                check()
            except Refused:
                return  # the validator refuses it before it enters history
            act()

        self.step(go)

    def step(self, fn) -> None:
        self.r.advance(self.fx, self.now)
        self.check()
        fn()
        self.check()

    def wait(self, seconds: int) -> None:
        target = self.now + timedelta(seconds=seconds)
        for _ in range(10_000):
            deadline = self.r.next_deadline()
            if deadline is None or deadline > target:
                break
            self.now = max(self.now, deadline)
            before = (self.a.tier.name, self.a.tier.year_end)
            self.r.advance(self.fx, self.now)
            assert (d := self.r.next_deadline()) is None or d > self.now, "the timer would fire again at once"
            if not (self.r.lifecycle and churn.frozen(self.r)):  # a churned member's lots are frozen
                assert all(lot.expires_at > self.now for lot in self.a.lots), "a lot outlived its expiry"
            self.check(tier_before=before)
        else:
            raise AssertionError("deadlines never end")
        self.now = target

    def apply(self, op) -> None:
        kind, *args = op
        self.n += 1
        n, now = self.n, self.now
        if kind == "pay":
            cadence, amount = args
            self.invoices.append(f"in_{n}")
            self.signal(pay(n, amount=amount, cadence=cadence))
        elif kind == "refund":
            if self.invoices:
                inv = self.invoices[args[0] % len(self.invoices)]
                self.signal(RefundIssued(event_id=f"evt_rf_{n}", invoice_id=inv, amount_minor=args[1], currency="USD"))
        elif kind == "activity":
            self.signal(act(args[0], n))
        elif kind == "cancel":
            self.signal(SubscriptionCancelled(event_id=f"evt_cancel_{n}"))
        elif kind == "dup":
            if self.events:
                self.signal(self.events[args[0] % len(self.events)])
        elif kind == "redeem":
            req = RedeemRequest(request_id=f"r{n}", points=args[0])
            self.update(lambda: self.r.check_redeem(req), lambda: self.r.redeem(self.fx, self.now, req))
        elif kind == "reward":
            req = RedeemRequest(request_id=f"r{n}", kind="reward", reward_id=args[0])
            self.update(lambda: self.r.check_redeem(req), lambda: self.r.redeem(self.fx, self.now, req))
        elif kind == "credit_failed":
            if self.fx.credits:
                credit: BillingCredit = self.fx.credits[args[0] % len(self.fx.credits)]
                self.step(lambda: self.r.credit_failed(self.fx, self.now, credit, "declined"))
        elif kind == "adjust":
            req = AdjustRequest(request_id=f"a{n}", points=args[0], reason="support", actor="support:ann")
            self.update(lambda: self.r.check_adjust(req), lambda: self.r.adjust(self.fx, self.now, req))
        elif kind == "min_tier":
            tier, d = args
            until = now + days(d)
            self.update(
                lambda: None if until > self.now else (_ for _ in ()).throw(Refused("until_not_future", "past")),
                lambda: self.r.set_minimum_tier(self.fx, self.now, tier, "vip", "support:ann", until),
            )
        elif kind == "pending":
            points, hold = args
            ref = f"ref_{n}"
            self.pending_refs.append(ref)
            self.step(lambda: self.r.add_pending(self.fx, self.now, f"p{n}", points, "referral", ref, days(hold)))
        elif kind == "void":
            if self.pending_refs:
                ref = self.pending_refs[args[0] % len(self.pending_refs)]
                self.step(lambda: self.r.void_pending(self.fx, self.now, ref, "refunded"))
        elif kind == "wait":
            self.wait(args[0])

    # -- invariants

    def check(self, tier_before: tuple[str, datetime] | None = None) -> None:
        a, entries = self.a, self.fx.entries
        assert a.balance == sum(e.points for e in entries), "balance == sum of ledger points"
        assert a.pending_points == sum(e.pending_points for e in entries), "pending == sum of ledger pending"
        assert [e.seq for e in entries] == list(range(1, len(entries) + 1)) and a.seq == len(entries)
        keys = [e.key for e in entries]
        assert len(set(keys)) == len(keys), f"duplicate ledger keys: {[k for k, c in Counter(keys).items() if c > 1]}"
        assert a.balance >= 0 and a.pending_points >= 0 and a.shortfall >= 0
        assert all(0 <= lot.remaining <= lot.points for lot in a.lots)
        assert a.balance == sum(lot.remaining for lot in a.lots)
        assert all(p.points > 0 for p in a.pending)
        # refunds never reverse more than their payment earned; the shortfall is what is still owed
        earned = {p.invoice_id: p.points for p in a.payments}
        for inv, rev in self.reversed.items():
            if inv in earned:
                assert rev <= earned[inv], f"refunds of {inv} reversed {rev} > {earned[inv]} earned"
        settled = -sum(e.points for e in entries if e.kind == "refund_reversal" and "/refund:" not in e.key)
        assert a.shortfall == self.short_total - settled
        # tiers
        names = self.names
        cur = names.index(a.tier.name)
        floor = T.floor_of(a.tier, a.program.tiers, self.now)
        assert cur >= floor, "never below a minimum tier while it lasts"
        total = self.r.qualifying_total(self.now)
        assert cur >= names.index(T.earned_tier(total, a.program.tiers)), "upgrade at once when a threshold is met"
        if tier_before is not None:
            old, old_end = tier_before
            drop = names.index(old) - cur
            if drop > 0:
                assert drop == 1, f"{old} -> {a.tier.name}: more than one level down"
                assert self.now >= old_end, f"downgrade {old} -> {a.tier.name} before the tier year ended"

    def step_tier_guard(self, fn) -> None:
        before = (self.a.tier.name, self.a.tier.year_end)
        fn()
        # outside a timer only upgrades can happen (a year end is only reached through `wait`)
        if self.now < before[1]:
            assert self.names.index(self.a.tier.name) >= self.names.index(before[0]), "downgrade outside a year end"


@pytest.mark.parametrize("lifecycle", [False, True], ids=["core", "lifecycle"])
@PROPS
@given(ops=st.lists(OPS, min_size=8, max_size=50))
def test_random_journeys_keep_every_invariant(lifecycle, ops):
    j = Journey(lifecycle=lifecycle)
    for op in ops:
        j.step_tier_guard(lambda op=op: j.apply(op))
    j.step_tier_guard(lambda: j.wait(5 * 366 * 86400))  # idle years: everything expires, tiers come down
    assert j.a.balance == 0 and j.a.lots == [] and j.a.pending == []
    assert j.a.tier.name == j.names[0] and j.a.tier.minimum is None


@PROPS
@given(
    st.lists(
        st.sampled_from(
            [
                ("pay", "monthly", 4900),
                ("pay", "annual", 49000),
                ("wait", 30 * 86400),
                ("redeem", 500),
                ("refund", 0, 4900),
                ("activity", "login"),
            ]
        ),
        max_size=30,
    )
)
def test_random_payment_years(ops):
    j = Journey()
    for op in ops:
        j.step_tier_guard(lambda op=op: j.apply(op))


def test_journey_driver_sees_a_whole_year():
    j = Journey()
    for _ in range(12):
        j.apply(("pay", "monthly", 4900))
        j.apply(("wait", 30 * 86400))
    assert j.a.tier.name == "silver"
    j.apply(("wait", 10 * 86400))
    assert len([e for e in j.fx.entries if e.kind == "expire"]) >= 1
    purposes = defaultdict(int)
    for m in j.fx.emails:
        purposes[m.purpose] += 1
    assert purposes["expiry_warning"] >= 1 and purposes["expiry_last_chance"] >= 1 and purposes["tier_changed"] == 1


def test_daily_lots_share_their_expiry_warnings_and_still_expire_exactly(program):
    """A member who earns every day gets about one warning of each kind a week, not one per lot."""
    from datetime import datetime, timedelta

    from domain.account import Account
    from domain.effects import Effects
    from domain.messages import ActivityReported
    from domain.rules import AccountRules

    start = datetime(2026, 1, 1, 9, tzinfo=UTC)
    rules = AccountRules(Account.open("cus_daily", program, start))
    rules.a.email = "daily@example.com"
    fx = Effects()
    for day in range(28):
        rules.on_activity(fx, start + timedelta(days=day), ActivityReported(event_id=f"login_{day}", kind="login"))
    assert len(rules.a.lots) == 28
    while rules.a.lots:
        rules.advance(fx, rules.next_deadline())
    warnings = [e for e in fx.emails if e.purpose == "expiry_warning"]
    last_chance = [e for e in fx.emails if e.purpose == "expiry_last_chance"]
    assert 1 <= len(warnings) <= 4 and 1 <= len(last_chance) <= 4, (len(warnings), len(last_chance))
    assert sum(e.data["lots"] for e in warnings) == 28, "every lot is warned once"
    expired = [e for e in fx.entries if e.kind == "expire"]
    assert len(expired) == 28
    for e, day in zip(expired, range(28), strict=True):
        assert e.at == start + timedelta(days=day) + program.lot_validity, "each lot expires exactly"
    per_lot = AccountRules(Account.open("cus_old", program, start), grouped_warnings=False)
    per_lot.a.email = "old@example.com"
    fx_old = Effects()
    for day in range(28):
        per_lot.on_activity(fx_old, start + timedelta(days=day), ActivityReported(event_id=f"l{day}", kind="login"))
    while per_lot.a.lots:
        per_lot.advance(fx_old, per_lot.next_deadline())
    assert len([e for e in fx_old.emails if e.purpose == "expiry_warning"]) == 28, "the old rule, for old journeys"


def test_adopting_a_new_program_keeps_earned_lots_and_refuses_a_missing_tier(program):
    """Publishing a new version never breaks a running journey: lots keep the expiry they were given."""
    from datetime import datetime, timedelta

    from domain.account import Account
    from domain.effects import Effects
    from domain.messages import PaymentSucceeded
    from domain.program import Program
    from domain.refusals import Refused
    from domain.rules import AccountRules

    now = datetime(2026, 3, 1, tzinfo=UTC)
    rules = AccountRules(Account.open("cus_adopt", program, now))
    fx = Effects()
    rules.on_payment(
        fx,
        now,
        PaymentSucceeded(event_id="e1", invoice_id="in_1", amount_minor=49000, currency="USD", cadence="annual"),
    )
    assert rules.a.tier.name == "silver"
    expiry = rules.a.lots[0].expires_at

    raw = program.model_dump()
    with pytest.raises(Refused, match="already runs") as refused:
        rules.check_adopt(program)
    assert refused.value.code == "same_program"
    no_silver = {
        **raw,
        "version": "no-silver",
        "tiers": {**raw["tiers"], "levels": [t for t in raw["tiers"]["levels"] if t["name"] != "silver"]},
    }
    with pytest.raises(Refused, match="no tier 'silver'") as refused:
        rules.check_adopt(Program.model_validate(no_silver))
    assert refused.value.code == "program_lacks_tier"

    cheaper_gold = {
        **raw,
        "version": "v2",
        "points": {**raw["points"], "lot_validity_days": 90},
        "tiers": {
            **raw["tiers"],
            "levels": [{**t, "threshold": 1100} if t["name"] == "gold" else t for t in raw["tiers"]["levels"]],
        },
    }
    later = now + timedelta(days=1)
    rules.adopt(fx, later, Program.model_validate(cheaper_gold))
    assert rules.a.program.version == "v2"
    assert rules.a.lots[0].expires_at == expiry, "a shorter validity never expires earned points early"
    assert rules.a.tier.name == "gold", "the new thresholds apply at once"
