"""A member's journey without a server, for support's views: the domain's rules on one account, a
stand-in for TenureClient that answers the member page's queries (summary, timeline, upcoming) from it,
and the console that reads it in a real browser (`support_console`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from domain.account import Account
from domain.effects import Effects
from domain.intake import adopt_memory, receive
from domain.messages import PaymentSucceeded, SignedUp
from domain.program import parse_program
from domain.rules import AccountRules
from domain.summary import Summary, Timeline, recent_timeline, summarize
from domain.upcoming import UpcomingView, upcoming
from storage.engine import create_engine_for
from storage.migrate import upgrade
from tests.api_kit import api_settings
from tests.console_kit import browser_sign_in, chromium, chromium_or_skip, serving

PROGRAM = parse_program((Path(__file__).resolve().parent.parent / "program.toml").read_text())
T0 = datetime(2026, 3, 2, 12, tzinfo=UTC)
SUPPORT_KEY = "support-secret-key"


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


@asynccontextmanager
async def support_console(tmp_path: Path, rules: AccountRules, now: datetime) -> AsyncIterator[tuple[str, Any]]:
    """The app (API and console) on a free port, support's key its only one, a fresh SQLite database,
    the journey answered from `rules` at `now`; and Debian's chromium driven by Playwright. Yields the
    base URL and the browser; the test is skipped, saying why, without chromium or playwright."""
    chromium_or_skip()  # before anything is set up
    engine = create_engine_for(f"sqlite:///{tmp_path / 'console.db'}")
    upgrade(engine)
    settings = api_settings(data_dir=tmp_path, api_keys=f"{SUPPORT_KEY}:support:maria")
    try:
        async with serving(settings, object(), PROGRAM, engine, journeys=Journeys(rules, now)) as base:
            async with chromium() as browser:
                yield base, browser
    finally:
        engine.dispose()


async def sign_in_as_support(page: Any) -> None:
    """Sign the page's browser context in at the console's login page with support's key."""
    await browser_sign_in(page, SUPPORT_KEY)
