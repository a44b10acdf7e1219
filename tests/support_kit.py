"""A member's journey without a server, for support's views: the domain's rules on one account, and a
stand-in for TenureClient that answers the member page's queries (summary, timeline, upcoming) from it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from domain.account import Account
from domain.effects import Effects
from domain.intake import adopt_memory, receive
from domain.messages import PaymentSucceeded, SignedUp
from domain.program import parse_program
from domain.rules import AccountRules
from domain.summary import Summary, Timeline, recent_timeline, summarize
from domain.upcoming import UpcomingView, upcoming

PROGRAM = parse_program((Path(__file__).resolve().parent.parent / "program.toml").read_text())
T0 = datetime(2026, 3, 2, 12, tzinfo=UTC)


def paying_member(customer_id: str = "cus_support") -> tuple[AccountRules, Effects]:
    account = Account.open(customer_id, PROGRAM, T0)
    adopt_memory(account, T0)
    rules = AccountRules(account, lifecycle=True, version=4)
    outbox = Effects()
    receive(rules, outbox, T0, SignedUp(event_id="su", email="x@example.com", timezone="UTC"))
    receive(
        rules,
        outbox,
        T0,
        PaymentSucceeded(event_id="p1", invoice_id="in_1", amount_minor=49000, currency="USD", cadence="annual"),
    )
    return rules, outbox


class Journeys:
    """Stands in for TenureClient on the member page: the journey's queries answered from `rules`."""

    def __init__(self, rules: AccountRules, now: datetime):
        self.rules, self.now = rules, now

    async def summary(self, customer_id: str) -> Summary:
        return summarize(self.rules.a, self.now)

    async def timeline(self, customer_id: str, limit: int) -> Timeline:
        return recent_timeline(self.rules.a, limit)

    async def upcoming(self, customer_id: str) -> UpcomingView:
        return UpcomingView(items=upcoming(self.rules, self.now, as_sent=True))
