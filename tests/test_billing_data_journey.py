"""Real billing data earns the right points, in the journey (rules version 3) on the time-skipping server:
months actually subscribed, bonuses undone by a full refund, points per period as the program sets them,
payments in another currency, causes before their effects in the timeline; and older runs unchanged."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from rich.console import Console

from domain.account import TimelineItem
from domain.messages import PaymentSucceeded, RefundIssued
from domain.program import Program
from domain.summary import Timeline
from starter.cli.render import timeline_view
from tests.journey_kit import days, eventually, payment, running_worker, start_at_version
from tests.lifecycle_kit import daytime_zone, has, ledger, server_now, sign_up, timeline, wait_for


def variant(program: Program, **sections: Any) -> Program:
    """The program with some values changed, validated (`earning={"mode": "cashback"}`, `badges=[...]`)."""
    data = program.model_dump()
    for name, value in sections.items():
        data[name] = {**data[name], **value} if isinstance(value, dict) else value
    return Program.model_validate({**data, "version": f"{program.version}-variant"})


def paid(n: int, interval: str | None = None, count: int = 1, amount: int = 4900, **extra: Any) -> PaymentSucceeded:
    """A payment; the fields of version 3 only when set (so the same test runs against older code)."""
    if interval in ("day", "week") or count != 1:
        extra |= {"interval": interval, "interval_count": count}
    return PaymentSucceeded(
        event_id=f"evt_pay_{n}",
        invoice_id=f"in_{n}",
        amount_minor=amount,
        currency=extra.pop("currency", "USD"),
        cadence="annual" if interval == "year" else "monthly",
        **extra,
    )


def badge_rows(rows: list[dict], badge: str) -> list[tuple[str, int]]:
    return [(r["kind"], r["points"]) for r in rows if r["lot_id"] and r["lot_id"].startswith(f"badge:{badge}")]


async def test_the_loyal_year_badge_counts_months_actually_subscribed(time_env, program, tmp_path):
    """An annual plan pays 12 months on its first day; the "12 months subscribed" badge (+250) comes when
    they have passed (before: on the first day), by the journey's own timer."""
    cid = "cus_loyal"
    async with running_worker(time_env.client, program, tmp_path) as (tenure, engine):
        await tenure.send(cid, paid(1, "year", amount=49000))
        items = await wait_for(tenure, cid, "badge 'First payment' awarded")
        assert not has(items, "12 months subscribed"), [i.text for i in items]
        await time_env.sleep(days(360))
        assert not has(await timeline(tenure, cid), "12 months subscribed")
        await time_env.sleep(days(6))
        items = await wait_for(tenure, cid, "badge '12 months subscribed' awarded")
        rows = await ledger(tenure, engine, cid)
        assert badge_rows(rows, "loyal-year") == [("earn", 250)]
        awarded = next(i for i in items if "12 months subscribed" in i.text)
        first = next(i for i in items if "First payment" in i.text)
        assert days(364.9) <= awarded.at - first.at <= days(365.1), "a year of service: 12 months of 365/12 days"


async def test_a_monthly_member_earns_the_badge_after_twelve_months_not_at_the_twelfth_payment(
    time_env, program, tmp_path
):
    cid = "cus_monthly_year"
    async with running_worker(time_env.client, program, tmp_path) as (tenure, engine):
        for n in range(12):
            await tenure.send(cid, paid(n, "month"))
            await eventually(lambda: tenure.summary(cid), lambda s, n=n: s.lifetime_points >= 100 * (n + 1))
            if n < 11:
                await time_env.sleep(days(365 / 12))
        assert not has(await timeline(tenure, cid), "12 months subscribed"), "11 months have passed, not 12"
        await time_env.sleep(days(365 / 12 + 0.1))
        await wait_for(tenure, cid, "badge '12 months subscribed' awarded")


async def test_a_full_refund_takes_back_the_bonus_of_the_badge_it_brought(time_env, program, tmp_path):
    """The first payment's badge carries a bonus here; refunding that payment in full undoes its reason:
    badge and bonus are taken back with the payment's own points, and a later payment brings them again."""
    badges = [b.model_dump() for b in program.badges]
    badges[0] = {**badges[0], "bonus_points": 50}
    generous = variant(program, badges=badges)
    cid = "cus_refunded_badge"
    tz = daytime_zone(await server_now(time_env))
    async with running_worker(time_env.client, generous, tmp_path) as (tenure, engine):
        await tenure.send(cid, sign_up(cid, tz))
        await tenure.send(cid, paid(1, "month"))
        await eventually(lambda: tenure.summary(cid), lambda s: s.balance == 150)
        await time_env.sleep(days(3))
        await tenure.send(
            cid, RefundIssued(event_id="evt_refund_1", invoice_id="in_1", amount_minor=4900, currency="USD")
        )
        items = await wait_for(tenure, cid, "badge 'First payment' revoked")
        summary = await tenure.summary(cid)
        assert summary.balance == 0 and summary.shortfall == 0, summary
        rows = await ledger(tenure, engine, cid)
        assert badge_rows(rows, "first-payment") == [("earn", 50), ("refund_reversal", -50)]
        refund_at = next(i for i in items if i.text.startswith("refund on in_1"))
        revoked = next(i for i in items if "revoked" in i.text)
        assert items.index(refund_at) < items.index(revoked), "the refund, then what it undoes"

        await tenure.send(cid, paid(2, "month"))
        await eventually(lambda: tenure.summary(cid), lambda s: s.balance == 150)
        rows = await ledger(tenure, engine, cid)
        assert badge_rows(rows, "first-payment") == [("earn", 50), ("refund_reversal", -50), ("earn", 50)]


async def test_a_partial_refund_keeps_the_badge(time_env, program, tmp_path):
    badges = [b.model_dump() for b in program.badges]
    badges[0] = {**badges[0], "bonus_points": 50}
    cid = "cus_partial_refund"
    async with running_worker(time_env.client, variant(program, badges=badges), tmp_path) as (tenure, engine):
        await tenure.send(cid, paid(1, "month"))
        await eventually(lambda: tenure.summary(cid), lambda s: s.balance == 150)
        await tenure.send(
            cid, RefundIssued(event_id="evt_refund_1", invoice_id="in_1", amount_minor=2450, currency="USD")
        )
        await wait_for(tenure, cid, "refund on in_1 reversed 50 points")
        summary = await tenure.summary(cid)
        assert summary.balance == 100 and not has(await timeline(tenure, cid), "revoked")


async def test_points_per_period_as_the_program_sets_them(time_env, program, tmp_path):
    """`daily_payment`, `weekly_payment`, `quarterly_payment` override the proportion to the month;
    `monthly_payment` and `annual_payment` still rule months and years."""
    custom = variant(
        program, earning={"daily_payment": 5, "weekly_payment": 30, "quarterly_payment": 250, "monthly_payment": 90}
    )
    cid = "cus_periods"
    async with running_worker(time_env.client, custom, tmp_path) as (tenure, engine):
        cases = [
            (paid(1, "day"), 5),
            (paid(2, "day", 3), 15),
            (paid(3, "week"), 30),
            (paid(4, "month"), 90),
            (paid(5, "month", 3), 250),
            (paid(6, "month", 6), 500),
            (paid(7, "year"), 1200),
            (paid(8, "month", 12), 1200),
        ]
        for event, _ in cases:  # a member each, so that no tier multiplier joins in
            await tenure.send(f"{cid}_{event.invoice_id}", event)
        for event, points in cases:
            rows = await eventually(
                lambda event=event: ledger(tenure, engine, f"{cid}_{event.invoice_id}"), lambda rows: bool(rows)
            )
            assert [(r["kind"], r["points"]) for r in rows] == [("earn", points)], event


async def test_another_currency_is_refused_in_cashback_mode_and_counts_no_spend_in_table_mode(
    time_env, program, tmp_path
):
    cashback = variant(program, earning={"mode": "cashback"})
    async with running_worker(time_env.client, cashback, tmp_path) as (tenure, engine):
        await tenure.send("cus_euro", paid(1, "month", currency="EUR"))
        await tenure.send("cus_euro", paid(2, "month"))  # the journey goes on with the next event
        await eventually(lambda: tenure.summary("cus_euro"), lambda s: s.lifetime_points > 0)
        summary = await tenure.summary("cus_euro")
        assert summary.rejected_events == 1 and summary.lifetime_points == 245, summary
        reason = summary.rejections[0].reason
        assert "paid in EUR" in reason and "counts in USD" in reason, reason
        assert has(await timeline(tenure, "cus_euro"), "paid in EUR")

    async with running_worker(time_env.client, program, tmp_path / "table") as (tenure, engine):
        await tenure.send("cus_euro_table", paid(1, "month", currency="EUR"))
        items = await wait_for(tenure, "cus_euro_table", "earned 100 points")
        assert has(items, "(not USD, no rate: counts as no spend)")


async def test_a_configured_rate_converts_another_currency(time_env, program, tmp_path):
    """`[earning.exchange_rates]`: cashback on the converted amount, minor units of either size."""
    rates = variant(program, earning={"mode": "cashback", "exchange_rates": {"EUR": 1.08, "JPY": 0.0067}})
    async with running_worker(time_env.client, rates, tmp_path) as (tenure, engine):
        await tenure.send("cus_rates", paid(1, "month", amount=4900, currency="EUR"))  # 52.92 USD
        await tenure.send("cus_rates", paid(2, "month", amount=10000, currency="JPY"))  # 67.00 USD (yen: no cents)
        rows = await eventually(lambda: ledger(tenure, engine, "cus_rates"), lambda rows: len(rows) == 2)
        assert [(r["ref"], r["points"]) for r in rows] == [("in_1", 264), ("in_2", 335)]
        items = await timeline(tenure, "cus_rates")
        assert has(items, "(at 1.08 USD per EUR: 52.92 USD)") and has(items, "(at 0.0067 USD per JPY: 67.00 USD)")


async def test_the_timeline_says_the_cause_before_its_effects(time_env, program, tmp_path):
    """An annual payment lifts a member without an address to silver: the payment, then the upgrade, then
    the upgrade's email suppressed (before: the other way round, at the same instant)."""
    cid = "cus_order"
    async with running_worker(time_env.client, program, tmp_path) as (tenure, engine):
        await tenure.send(cid, paid(1, "year", amount=49000))
        items = await wait_for(tenure, cid, "tier_changed email suppressed")
        said = [i.text for i in items]
        pay = next(n for n, t in enumerate(said) if t.startswith("annual payment in_1"))
        up = next(n for n, t in enumerate(said) if t.startswith("upgrade member → silver"))
        mail = next(n for n, t in enumerate(said) if t.startswith("tier_changed email suppressed"))
        assert pay < up < mail, said


async def test_a_version_2_run_earns_as_before(time_env, program, tmp_path):
    """Rules version 3 changes what a payment earns; a run at version 2 keeps its rules (a proration
    earns a month there), and a version 1 run takes a payment with the new fields instead of dropping it."""
    async with running_worker(time_env.client, program, tmp_path) as (tenure, engine):
        await start_at_version(tenure, "cus_v2", 2, paid(1, "month", proration=True))
        await eventually(lambda: tenure.summary("cus_v2"), lambda s: s.lifetime_points == 100)
        await start_at_version(tenure, "cus_v1", 1, payment(0))
        await tenure.send("cus_v1", paid(1, "day", customer_email="v1@example.com"))
        await eventually(lambda: tenure.summary("cus_v1"), lambda s: s.lifetime_points == 200)
        rows = await ledger(tenure, engine, "cus_v1")
        assert [(r["ref"], r["points"]) for r in rows if r["kind"] == "earn"] == [("in_0", 100), ("in_1", 100)]


def test_the_cli_timeline_shows_seconds_in_the_journeys_order():
    """Lines of one instant keep the journey's order (the cause first), and the CLI shows the second."""
    at = datetime(2026, 12, 7, 1, 2, 3, tzinfo=UTC)
    items = [
        TimelineItem(at=at, kind="payment", text="annual payment in_1 earned 1200 points"),
        TimelineItem(at=at, kind="tier", text="upgrade member → silver"),
        TimelineItem(at=at.replace(second=4), kind="email", text="tier_changed email suppressed"),
    ]
    console = Console(width=200, record=True)
    console.print(timeline_view("cus_1", Timeline(items=items)))
    out = console.export_text()
    assert "2026-12-07 01:02:03" in out and "2026-12-07 01:02:04" in out, out
    assert out.index("annual payment") < out.index("upgrade") < out.index("tier_changed"), out
