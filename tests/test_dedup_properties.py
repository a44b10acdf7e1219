"""Nothing twice at any distance: random event streams with repeats, against a once-only model.

The stream is driven through `domain.intake.receive`, the `event` signal's rule from rules version
2, the way the workflow drives it (time moves, `advance` runs before each event, the account is
handed over through JSON as at continue-as-new). Facts are payments (the same invoice may come
again under another event id, as a re-sent webhook), surveys that say when they occurred, and
SendGrid events; each is delivered again at random distances, up to years later. A fact that
carries neither a business key nor `occurred_at` is only promised once within the horizon, so
the stream has none.

The model: each fact earns its points once, when first delivered; its lot lives 365 days. After
every step the journey's lifetime points and balance equal the model's, and its ledger entries
have distinct keys (so the SQL ledger would take every one) and earn once per fact.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.account import Account
from domain.effects import Effects
from domain.intake import adopt_memory, receive
from domain.journey import DEDUPLICATION_HORIZON_DAYS
from domain.messages import ActivityReported, PaymentSucceeded, PlanChanged
from domain.program import parse_program
from domain.rules import AccountRules

ROOT = Path(__file__).resolve().parent.parent
BASE = parse_program((ROOT / "program.toml").read_text())
# one multiplier for every tier, so a fact's points do not depend on the tier reached meanwhile
PROGRAM = BASE.model_copy(
    update={
        "tiers": BASE.tiers.model_copy(
            update={"levels": [t.model_copy(update={"multiplier": 1.0}) for t in BASE.tiers.levels]}
        )
    }
)
T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
VALIDITY = timedelta(days=PROGRAM.points.lot_validity_days)


@dataclass
class Fact:
    kind: str  # "payment", "survey" or "sendgrid"
    n: int
    occurred_at: datetime | None
    points: int
    first_at: datetime | None = None  # when the journey first had it (the model's lot)
    deliveries: int = 0

    def event(self, resent: bool):
        eid = f"evt_{self.kind}_{self.n}" + (f"_again_{self.deliveries}" if resent else "")
        if self.kind == "payment":
            return PaymentSucceeded(
                event_id=eid, invoice_id=f"in_{self.n}", amount_minor=4900, currency="USD", occurred_at=self.occurred_at
            )
        if self.kind == "sendgrid":
            return ActivityReported(event_id=f"sendgrid:{self.n}", kind="survey_answered")
        return ActivityReported(event_id=eid, kind="survey_answered", occurred_at=self.occurred_at)


class Stream:
    def __init__(self) -> None:
        self.now = T0
        self.account = Account.open("cus_prop", PROGRAM, T0)
        adopt_memory(self.account, T0)
        self.rules = AccountRules(self.account, version=2)
        self.fx = Effects()
        self.facts: list[Fact] = []

    def new(self, kind: str, dated: bool) -> None:
        points = {"payment": PROGRAM.earning.monthly_payment, "survey": 50, "sendgrid": 50}[kind]
        dated = dated or kind == "survey"  # a bare id is only remembered within the horizon
        self.facts.append(Fact(kind, len(self.facts), self.now if dated else None, points))
        self.deliver(self.facts[-1], resent=False)

    def deliver(self, fact: Fact, resent: bool) -> None:
        self.rules.advance(self.fx, self.now)
        outcome = receive(self.rules, self.fx, self.now, fact.event(resent and fact.kind == "payment"))
        fact.deliveries += 1
        if fact.first_at is None:
            assert outcome == "applied", (fact, outcome)
            fact.first_at = self.now
        else:
            assert outcome != "applied", f"{fact} applied a second time, {self.now - fact.first_at} later"

    def wait(self, days: float) -> None:
        self.now += timedelta(days=days)
        self.rules.advance(self.fx, self.now)

    def hand_over(self) -> None:
        """Continue-as-new: the account travels as JSON, and the new run rebuilds its indexes."""
        self.account = Account.model_validate_json(self.account.model_dump_json())
        self.rules = AccountRules(self.account, version=2)

    def check(self) -> None:
        applied = [f for f in self.facts if f.first_at is not None]
        assert self.account.lifetime_points == sum(f.points for f in applied)
        live = sum(f.points for f in applied if f.first_at + VALIDITY > self.now)
        assert self.account.balance == live
        keys = [e.key for e in self.fx.entries]
        assert len(keys) == len(set(keys)), "two entries with one key: the ledger would refuse the second"
        assert [e.seq for e in self.fx.entries] == list(range(1, len(keys) + 1))
        assert sum(e.points for e in self.fx.entries) == self.account.balance
        earned = sorted(e.lot_id or "" for e in self.fx.entries if e.kind == "earn")
        assert len(earned) == len(set(earned)) == len(applied)
        dedup = self.account.dedup
        assert dedup is not None and len(dedup.recent.days) <= DEDUPLICATION_HORIZON_DAYS + 2


STEP = st.one_of(
    st.tuples(st.just("new"), st.sampled_from(["payment", "survey", "sendgrid"]), st.booleans()),
    st.tuples(st.just("again"), st.integers(0, 200), st.booleans()),
    st.tuples(st.just("wait"), st.sampled_from([0, 0.2, 1, 30, 200, 370, 399, 401, 800])),
    st.tuples(st.just("hand_over")),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(STEP, min_size=1, max_size=60))
def test_every_fact_counts_once_at_any_distance(steps):
    s = Stream()
    for step in steps:
        match step:
            case ("new", kind, dated):
                s.new(kind, dated)
            case ("again", index, resent):
                if s.facts:
                    s.deliver(s.facts[index % len(s.facts)], resent)
            case ("wait", days):
                s.wait(days)
            case ("hand_over",):
                s.hand_over()
        s.check()


def test_a_long_busy_life_keeps_its_memory_bounded():
    """Three years of 20 facts a day, each delivered again a day later: applied once each, and the
    memory holds about the horizon's worth of ids, not the whole life's."""
    s = Stream()
    for day in range(3 * 365):
        events = [PlanChanged(event_id=f"evt_{day}_{n}", plan="pro", occurred_at=s.now) for n in range(20)]
        for ev in events:
            assert receive(s.rules, s.fx, s.now, ev) == "applied"
        s.wait(1)
        for ev in events:
            assert receive(s.rules, s.fx, s.now, ev) == "duplicate"
        if day % 100 == 0:
            s.hand_over()
    dedup = s.account.dedup
    assert dedup is not None
    assert 20 * DEDUPLICATION_HORIZON_DAYS <= len(dedup.recent) <= 20 * (DEDUPLICATION_HORIZON_DAYS + 2)
    assert len(dedup.recent.days) <= DEDUPLICATION_HORIZON_DAYS + 2
