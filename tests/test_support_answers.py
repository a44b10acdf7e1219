"""What support reads to answer a customer, without a server: the member summary (CLI `member show`,
the console's member page, `GET /members/{id}`) built from a journey's state by the domain's rules.

A support person asked "why can't I spend my 1,200 points?" must see from the summary alone that a
cancelled member's balance is frozen, until when, and what ends it."""

from __future__ import annotations

import re
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console

from domain.effects import Effects
from domain.intake import receive
from domain.messages import ActivityReported, PaymentSucceeded, SubscriptionCancelled
from domain.rules import AccountRules
from domain.summary import summarize
from domain.upcoming import upcoming
from starter.cli.render import summary_view
from starter.client import NoJourney
from tests.api_kit import recording_app
from tests.console_kit import notice_after
from tests.support_kit import PROGRAM, T0, Journeys, paying_member


def shown(summary) -> str:
    out = Console(width=200, record=True, color_system=None)
    out.print(summary_view(summary, T0 + timedelta(days=3)))
    return out.export_text()


def test_a_cancelled_members_balance_is_shown_frozen_until_the_grace_period_ends():
    rules, outbox = paying_member()
    assert summarize(rules.a, T0).frozen_until is None
    cancelled_at = T0 + timedelta(days=2)
    receive(rules, outbox, cancelled_at, SubscriptionCancelled(event_id="c1", reason="too_expensive"))

    s = summarize(rules.a, cancelled_at + timedelta(days=1))
    assert s.balance == 1200 and s.status == "cancelled"
    assert s.frozen_since == cancelled_at
    assert s.frozen_until == cancelled_at + timedelta(days=PROGRAM.winback.grace_days)
    text = shown(s)
    assert "frozen" in text and "not redeemable" in text
    assert f"restored if they pay by {s.frozen_until:%Y-%m-%d %H:%M}" in text


def test_the_balance_is_no_longer_frozen_once_forfeited_or_once_the_member_pays_again():
    rules, outbox = paying_member()
    receive(rules, outbox, T0, SubscriptionCancelled(event_id="c1", reason="unused"))
    back = T0 + timedelta(days=5)
    receive(
        rules,
        outbox,
        back,
        PaymentSucceeded(event_id="p2", invoice_id="in_2", amount_minor=4900, currency="USD", cadence="monthly"),
    )
    s = summarize(rules.a, back)
    assert (s.frozen_since, s.frozen_until, s.status) == (None, None, "active")
    assert "frozen" not in shown(s)

    rules, outbox = paying_member()
    receive(rules, outbox, T0, SubscriptionCancelled(event_id="c1", reason="unused"))
    after_grace = T0 + timedelta(days=PROGRAM.winback.grace_days, seconds=1)
    rules.advance(outbox, after_grace)
    s = summarize(rules.a, after_grace)
    assert s.balance == 0 and s.frozen_until is None


# ---- the console's member page, its journey answered from the same state (no Temporal) -------------


@asynccontextmanager
async def member_page(rules: AccountRules, now: datetime, tmp_path: Path):
    """The console signed in as support, its journey `rules` at `now`; yields the member page's HTML."""
    async with recording_app(PROGRAM, tmp_path, api_keys="support-secret-key:support:maria") as http:
        http.app.state.services._tenure = Journeys(rules, now)
        page = await http.get("/console/login")
        token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        await http.post("/console/login", data={"csrf": token, "key": "support-secret-key"})
        answer = await http.get(f"/console/members/{rules.a.customer_id}")
        assert answer.status_code == 200, answer.text
        yield answer.text


async def test_the_member_page_says_the_balance_is_frozen_and_until_when(tmp_path):
    rules, outbox = paying_member()
    receive(rules, outbox, T0, SubscriptionCancelled(event_id="c1", reason="too_expensive"))
    until = T0 + timedelta(days=PROGRAM.winback.grace_days)
    async with member_page(rules, T0 + timedelta(days=1), tmp_path) as html:
        assert 'data-testid="frozen"' in html and f"frozen until {until:%Y-%m-%d}" in html
        assert "worth 12.00" not in html, "a frozen balance is not offered as billing credit"
        assert f"a payment by {until:%Y-%m-%d} restores them" in re.sub(r"<[^>]+>", "", html)  # the day in a span

    rules, _ = paying_member()
    async with member_page(rules, T0, tmp_path) as html:
        assert "frozen" not in html and "worth 12.00 USD" in html


# ---- what happens next: the expiry warnings as the journey will send them ---------------------------


def warned_as_the_journey_does(rules: AccountRules, outbox: Effects, until: datetime) -> list[tuple[datetime, str]]:
    """Play the journey's clock forward (each wake-up at its next deadline) and return its warnings."""
    seen = len(rules.a.timeline)
    for _ in range(200):
        at = rules.next_deadline()
        if at is None or at > until:
            break
        rules.advance(outbox, at)
    return [(i.at, i.text) for i in rules.a.timeline[seen:] if i.text.startswith("warned:")]


def test_what_happens_next_lists_the_expiry_warnings_the_member_will_get():
    """Lots earned close together are warned in one email: for two lots earned a second apart the member
    page listed 'expiry warning: 1200 points expire soon' and 'expiry warning: 55 points expire soon' at
    the same minute, for each warning, where the member gets one email covering both."""
    rules, outbox = paying_member()  # 1,200 points at T0
    receive(rules, outbox, T0 + timedelta(seconds=1), ActivityReported(event_id="s1", kind="survey_answered"))
    for n, day in enumerate((3, 20), start=2):  # within the grouping span of the first lots, and beyond it
        at = T0 + timedelta(days=day)
        receive(
            rules,
            outbox,
            at,
            PaymentSucceeded(event_id=f"p{n}", invoice_id=f"in_{n}", amount_minor=4900, currency="USD"),
        )
    now = T0 + timedelta(days=21)
    listed = [u for u in upcoming(rules, now, limit=50, as_sent=True) if "warning" in u.what]
    # the journey's timer label (recorded in histories) keeps its per-moment wording
    assert "expiry warning: 1200 points expire soon" in [u.what for u in upcoming(rules, now, limit=50)]

    sent = warned_as_the_journey_does(rules, outbox, T0 + timedelta(days=400))
    assert [u.at for u in listed] == [at for at, _ in sent]
    for u, (_, note) in zip(listed, sent, strict=True):  # "warned: 1350 points expire between A and B (30 days)"
        points, days = re.match(r"warned: (\d+) points .*\((\d+) days\)", note).groups()
        assert f"({days} days): {points} points expire" in u.what, (u.what, note)
    assert [u.what.split(":")[0] for u in listed] == [
        "expiry warning email (30 days)",
        "expiry warning email (30 days)",
        "last-chance warning email (7 days)",
        "last-chance warning email (7 days)",
    ]
    assert "1365 points expire between 2027-03-02 and 2027-03-05" in listed[0].what  # silver earns ×1.1


# ---- the actions: what a support person types, and what they are told ------------------------------


async def test_the_console_says_what_to_type_when_points_or_a_date_are_not_what_it_takes(tmp_path):
    rules, _ = paying_member()
    async with recording_app(PROGRAM, tmp_path, api_keys="support-secret-key:support:maria") as http:
        http.app.state.services._tenure = Journeys(rules, T0)  # it has no `adjust`: nothing may reach it
        page = await http.get("/console/login")
        token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        await http.post("/console/login", data={"csrf": token, "key": "support-secret-key"})
        page = await http.get("/console/members/cus_support")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)

        async def notice(action: str, **form: str) -> str:
            answer = await http.post(f"/console/members/cus_support/{action}", data={"csrf": csrf, **form})
            return await notice_after(http, answer)

        for typed in ("abc", "1e3", "1.5", "12 points"):  # a browser's number field lets the first three through
            said = await notice("adjust", request_id=f"r-{typed}", points=typed, reason="goodwill")
            assert said == f"Not adjusted: points: give a whole number, 250 to add or -250 to remove, not {typed!r}"
            assert "int()" not in said
        said = await notice("minimum-tier", request_id="t-1", tier="gold", until="2027-02-30", reason="key account")
        assert said == "Tier not set: until: give the last day as YYYY-MM-DD, not '2027-02-30'"


def test_the_cli_keeps_a_minimum_tier_through_the_day_it_names_as_the_console_does():
    """`--until 2027-06-30` is the minimum's last day ("Last day of the minimum", says --help): it ended at
    00:00 that day, a day before the console's form with the same date."""
    from starter.cli.members import _parse_until

    assert _parse_until("2027-06-30") == datetime(2027, 6, 30, 23, 59, 59, tzinfo=UTC)
    assert _parse_until("2027-06-30T08:00:00+02:00") == datetime(2027, 6, 30, 6, tzinfo=UTC)
    assert _parse_until("2027-06-30T08:00") == datetime(2027, 6, 30, 8, tzinfo=UTC)


# ---- "why did I drop to silver?": the tier year's end, said before it comes ------------------------


async def test_support_sees_what_the_tier_year_end_will_do_to_the_tier(tmp_path):
    """A member upgraded to gold on their second annual payment keeps gold only with 2,500 qualifying points
    when the tier year ends; by then both payments are 12 months old and count no more, so with nothing more
    earned (a renewal) they go down to silver, one level. Support read only 'tier year ends 2027-03-12'."""
    rules, outbox = paying_member()  # 1,200 points: silver
    second = T0 + timedelta(days=10)
    receive(
        rules,
        outbox,
        second,
        PaymentSucceeded(event_id="p2", invoice_id="in_2", amount_minor=49000, currency="USD", cadence="annual"),
    )
    s = summarize(rules.a, second)
    assert (s.tier, s.tier_threshold, s.qualifying_points) == ("gold", 2500, 2520)  # 1,200 + 1,320 (silver ×1.1)
    assert s.tier_year_end == second + timedelta(days=365)
    assert (s.qualifying_at_year_end, s.tier_at_year_end) == (0, "silver")
    text = shown(s)
    assert "gold is kept with 2,500 qualifying; with nothing more earned: 0, so down to silver" in text

    async with member_page(rules, second, tmp_path) as html:
        said = re.search(r'data-testid="year-end">([^<]*)<', html).group(1)
        assert "gold is kept with 2,500 qualifying points" in said
        assert "the member will have 0 then, so down to silver (one level at most" in said

    monthly, outbox = paying_member("cus_monthly")  # silver on an annual payment, then pays monthly all year
    for month in range(1, 11):
        at = T0 + timedelta(days=30 * month)
        receive(
            monthly,
            outbox,
            at,
            PaymentSucceeded(event_id=f"m{month}", invoice_id=f"in_m{month}", amount_minor=4900, currency="USD"),
        )
    s = summarize(monthly.a, at)
    assert (s.tier, s.qualifying_at_year_end, s.tier_at_year_end) == ("silver", 1100, "silver")
    assert "with nothing more earned: 1,100, so silver is kept" in shown(s)

    keep, _ = paying_member()
    s = summarize(keep.a, T0)
    assert (s.tier, s.qualifying_at_year_end, s.tier_at_year_end) == ("silver", 0, "member")
    assert "with nothing more earned: 0, so down to member" in shown(s)

    held, outbox = paying_member("cus_held")  # silver, with a minimum of silver past the year's end
    held.set_minimum_tier(outbox, T0, "silver", "key account", "support:maria", T0 + timedelta(days=400))
    assert "with nothing more earned: 0, so silver is kept by the minimum tier" in shown(summarize(held.a, T0))
    async with member_page(held, T0, tmp_path) as html:
        assert "will have 0 then, so silver is kept by the minimum tier." in html

    member, _ = paying_member("cus_small")
    member.a.tier = member.a.tier.model_copy(update={"name": "member"})
    assert not re.search(r"│ then ", shown(summarize(member.a, T0))), "the lowest tier is never lost"


def test_an_erasure_declined_at_the_prompt_says_nothing_was_erased(tmp_path):
    from typer.testing import CliRunner

    from settings import Settings
    from starter import cli

    settings = Settings(environment="development", data_dir=tmp_path, temporal_address="127.0.0.1:1")
    result = CliRunner().invoke(
        cli.app,
        ["member", "erase", "cus_x", "--actor", "admin:olga"],
        obj=settings,
        input="n\n",
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 1
    assert "not erased: nothing of cus_x changed" in result.stdout + result.stderr


async def test_an_erased_member_is_shown_as_erased_and_a_resent_event_is_not_promised(tmp_path):
    """After an erasure the member page looked like any member's, and its set-aside box said 'an event sent
    again once fixed is applied', where a resent payment is refused again until a new sign-up."""
    from domain.erasure import ErasureRequest, erase, refuse, refused

    rules, outbox = paying_member("cus_gone")
    at = T0 + timedelta(days=1)
    erase(rules, outbox, at, ErasureRequest(request_id="er-1", actor="api:olga", reason="ticket 4711"))
    payment = PaymentSucceeded(event_id="p9", invoice_id="in_9", amount_minor=4900, currency="USD", cadence="monthly")
    assert refused(rules.a, payment)
    refuse(rules, outbox, at, payment)  # as the journey does with every event after an erasure
    s = summarize(rules.a, at)
    assert (s.erased_at, s.erased_by, s.rejected_events) == (at, "api:olga", 1)
    assert "personal data erased 2026-03-03 12:00 by api:olga" in shown(s)
    async with member_page(rules, at, tmp_path) as html:
        assert "Personal data erased on 2026-03-03 by api:olga." in html
        assert "once fixed is applied" not in html
        assert "sending one again changes nothing until a new sign-up opens the account" in html

    rules, _ = paying_member()
    assert summarize(rules.a, T0).erased_at is None
    async with member_page(rules, T0, tmp_path) as html:
        assert "erased" not in html.lower()


async def test_the_ledger_says_the_member_redeemed_not_that_the_journey_took_points(tmp_path):
    """A redemption's row read 'By: journey' as every automatic entry does, so a -100 looked like points the
    system had taken; the member spent them, through the app."""
    import sqlalchemy as sa

    from domain.messages import RedeemRequest
    from storage.schema import ledger_entries

    rules, outbox = paying_member("cus_spender")
    rules.redeem(outbox, T0, RedeemRequest(request_id="order-1", points=100))
    async with recording_app(PROGRAM, tmp_path, api_keys="support-secret-key:support:maria") as http:
        with http.app.state.services.engine.begin() as conn:
            conn.execute(sa.insert(ledger_entries), [{**e.model_dump(), "recorded_at": T0} for e in outbox.entries])
        http.app.state.services._tenure = Journeys(rules, T0)
        page = await http.get("/console/login")
        token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        await http.post("/console/login", data={"csrf": token, "key": "support-secret-key"})
        html = (await http.get("/console/members/cus_spender")).text
    rows = re.findall(r"<tr>\s*<td data-label=\"#\".*?</tr>", html, re.S)
    by = {
        re.search(r'data-label="What">([^<]*)<', r).group(1): re.search(r'data-label="By">([^<]*)<', r).group(1)
        for r in rows
    }
    assert by == {"spend": "the member (redemption)", "earn": "journey"}


class Nobody:
    """A Temporal that has no journey and no runs for anyone."""

    async def account(self, customer_id):
        raise NoJourney(customer_id)

    async def erase(self, customer_id, request):
        raise NoJourney(customer_id)

    async def runs(self, customer_id):
        return []


async def test_a_data_protection_request_for_an_unknown_customer_says_there_is_nothing_to_export_or_erase(tmp_path):
    """The 404 told the data-protection officer 'a journey starts with the customer's first event (a webhook or
    POST /events)', the members API's hint to the app."""
    async with recording_app(PROGRAM, tmp_path, api_keys="admin-secret-key:admin:olga") as http:
        http.app.state.services._tenure = Nobody()
        headers = {"X-Api-Key": "admin-secret-key"}
        answer = await http.get("/members/cus_unknown/export", headers=headers)
        assert answer.status_code == 404
        assert answer.json() == {
            "error": "Tenure holds nothing about customer 'cus_unknown'",
            "detail": "no journey and no rows in the ledger database: nothing to export",
        }
        answer = await http.post("/members/cus_unknown/erasure", headers=headers, json={"reason": "ticket 9"})
        assert answer.status_code == 404
        assert answer.json()["detail"] == "no journey and no rows in the ledger database: nothing to erase"
