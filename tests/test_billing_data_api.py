"""Real billing data earns the right points: Stripe invoices as Stripe sends them (signed, pretty-printed,
in the shapes of the pinned API version), through the API into journeys on the dev server and the ledger.

Prorations, service periods (daily to annual), `invoice.payment_succeeded` beside `invoice.paid`, and the
invoice's `customer_email` (issue 9, "Real billing data earns the right points").
"""

from __future__ import annotations

import asyncio
import calendar
import secrets
import time
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest_asyncio

from tests.api_kit import (
    api_settings,
    app_client,
    invoice_paid_event,
    invoice_payment_failed,
    stripe_body,
    stripe_headers,
)
from tests.journey_kit import eventually, ledger_rows, running_worker
from tests.lifecycle_kit import customer_row, timeline

DAY = 86400


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def stack(dev_env, program, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("billing_data")
    async with running_worker(dev_env.client, program, tmp) as (tenure, engine):
        settings = api_settings(task_queue=tenure.task_queue, data_dir=tmp)
        async with app_client(settings, client=dev_env.client, program=program, engine=engine) as http:
            yield SimpleNamespace(http=http, tenure=tenure, engine=engine)


def cid() -> str:
    return f"cus_{secrets.token_hex(6)}"


async def post(stack, event: dict) -> dict:
    body = stripe_body(event)
    r = await stack.http.post("/webhooks/stripe", content=body, headers=stripe_headers(body))
    assert r.status_code == 200, r.text
    return r.json()


async def earned(stack, customer_id: str, invoice_id: str) -> list[tuple[str, int]]:
    def rows() -> list[tuple[str, int]]:
        return [(r["kind"], r["points"]) for r in ledger_rows(stack.engine, customer_id) if r["ref"] == invoice_id]

    return await eventually(lambda: asyncio.to_thread(rows), lambda got: bool(got))


def invoice_id(event: dict) -> str:
    return event["data"]["object"]["id"]


def with_period(event: dict, start: int, end: int) -> dict:
    """The invoice's subscription line billing [start, end) (a daily, weekly or quarterly price)."""
    line = event["data"]["object"]["lines"]["data"][0]
    line["period"] = {"start": start, "end": end}
    return event


def plus_months(ts: int, months: int) -> int:
    at = datetime.fromtimestamp(ts, UTC)
    index = at.month - 1 + months
    year, month = at.year + index // 12, index % 12 + 1
    return int(at.replace(year=year, month=month, day=min(at.day, calendar.monthrange(year, month)[1])).timestamp())


def proration_invoice(customer: str, charged: int, credited: int, days_left: int = 15) -> dict:
    """A mid-cycle plan change invoiced at once (`proration_behavior: always_invoice`): Stripe bills the
    remaining time on the new plan and credits the unused time on the old one, both proration lines."""
    event = invoice_paid_event(customer, charged - credited)
    inv = event["data"]["object"]
    now = event["created"]
    template = inv["lines"]["data"][0]
    subscription = template["parent"]["subscription_item_details"]["subscription"]
    lines = []
    for amount, text in ((-credited, "Unused time on Pro"), (charged, "Remaining time on Business")):
        line = {**template, "id": f"il_{secrets.token_hex(8)}", "amount": amount}
        line["description"] = f"{text} after {time.strftime('%d %b %Y', time.gmtime(now))}"
        line["parent"] = {
            "invoice_item_details": None,
            "subscription_item_details": {
                "invoice_item": f"ii_{secrets.token_hex(8)}",
                "proration": True,
                # the credit names the invoice line it credits back, as Stripe does
                "proration_details": {
                    "credited_items": {"invoice": f"in_{secrets.token_hex(12)}", "invoice_line_items": [template["id"]]}
                    if amount < 0
                    else None
                },
                "subscription": subscription,
                "subscription_item": f"si_{secrets.token_hex(8)}",
            },
            "type": "subscription_item_details",
        }
        line["period"] = {"start": now, "end": now + days_left * DAY}
        line["pricing"] = {**line["pricing"], "unit_amount_decimal": str(abs(amount))}
        lines.append(line)
    inv["lines"]["data"] = lines
    inv["lines"]["total_count"] = 2
    inv["billing_reason"] = "subscription_update"
    total = charged - credited
    paid = max(total, 0)
    inv.update(subtotal=total, total=total, amount_due=paid, amount_paid=paid, subtotal_excluding_tax=total)
    inv.update(total_excluding_tax=total, ending_balance=min(total, 0))
    return event


async def test_a_proration_invoice_earns_no_new_period(stack):
    """An upgrade mid-cycle (remaining time on the new plan, unused time on the old credited) bills a
    proration: it buys no service period, so in table mode it earns nothing (before: a full month)."""
    c = cid()
    first = invoice_paid_event(c, 4900)
    await post(stack, first)
    assert await earned(stack, c, invoice_id(first)) == [("earn", 100)]

    upgrade = proration_invoice(c, charged=9900 // 2, credited=4900 // 2)
    assert (await post(stack, upgrade))["applied_as"] == "payment_succeeded"
    items = await eventually(
        lambda: timeline(stack.tenure, c), lambda items: any(invoice_id(upgrade) in i.text for i in items)
    )
    said = next(i.text for i in items if invoice_id(upgrade) in i.text)
    assert said.startswith("proration") and "earned 0 points" in said, said
    assert not [r for r in ledger_rows(stack.engine, c) if r["ref"] == invoice_id(upgrade)]
    summary = await stack.tenure.summary(c)
    assert summary.balance == 100 and summary.lifetime_points == 100

    downgrade = proration_invoice(c, charged=1900 // 2, credited=4900 // 2)  # a credit: amount_paid 0
    answer = await post(stack, downgrade)
    assert "ignored" in answer and "proration" in answer["reason"], answer


async def test_a_first_period_cut_short_earns_its_days(stack):
    """A proration that credits nothing (a first period up to a billing anchor) buys the days it covers."""
    c = cid()
    event = proration_invoice(c, charged=2450, credited=0, days_left=15)
    inv = event["data"]["object"]
    inv["lines"]["data"] = [line for line in inv["lines"]["data"] if line["amount"] > 0]
    inv["billing_reason"] = "subscription_create"
    await post(stack, event)
    assert await earned(stack, c, invoice_id(event)) == [("earn", round(100 * 12 / 365 * 15))]


async def test_points_follow_the_service_period_bought(stack):
    """100 points per month of service: a day ~3, a week ~23, a quarter 300, a year 1200 (before: a daily
    or weekly plan earned a whole month on every invoice)."""
    c = cid()
    now = int(time.time())
    cases = [
        (with_period(invoice_paid_event(c, 190), now, now + DAY), 3),
        (with_period(invoice_paid_event(c, 1200), now, now + 7 * DAY), 23),
        (with_period(invoice_paid_event(c, 2400), now, now + 14 * DAY), 46),
        (with_period(invoice_paid_event(c, 14000), now, plus_months(now, 3)), 300),
        (with_period(invoice_paid_event(c, 49000), now, plus_months(now, 12)), 1200),
    ]
    for event, _ in cases:
        await post(stack, event)
    for event, points in cases:
        assert await earned(stack, c, invoice_id(event)) == [("earn", points)], event["data"]["object"]["lines"]


async def test_invoice_payment_succeeded_counts_once_beside_invoice_paid(stack):
    """Stripe sends both events for a paid invoice: either earns, the invoice id keeps it to one payment."""
    c = cid()
    paid = invoice_paid_event(c, 4900)
    succeeded = {**paid, "id": f"evt_{secrets.token_hex(12)}", "type": "invoice.payment_succeeded"}
    answer = await post(stack, succeeded)
    assert answer["applied_as"] == "payment_succeeded", answer
    assert (await post(stack, paid))["applied_as"] == "payment_succeeded"
    assert await earned(stack, c, invoice_id(paid)) == [("earn", 100)]
    await eventually(lambda: timeline(stack.tenure, c), lambda items: any("already counted" in i.text for i in items))
    assert [(r["kind"], r["points"]) for r in ledger_rows(stack.engine, c)] == [("earn", 100)]

    alone = {**invoice_paid_event(c, 4900), "type": "invoice.payment_succeeded"}  # an endpoint on that event only
    await post(stack, alone)
    assert await earned(stack, c, invoice_id(alone)) == [("earn", 100)]


async def test_the_invoice_address_serves_while_the_journey_has_none(stack):
    """No customer event yet: the invoice's `customer_email` is used, so the first-payment badge email goes
    out (before: "no email address on file")."""
    c = cid()
    event = invoice_paid_event(c, 4900)
    event["data"]["object"]["customer_email"] = f"{c}@example.com"
    await post(stack, event)
    items = await eventually(
        lambda: timeline(stack.tenure, c), lambda items: any(i.text.startswith("badge_awarded email") for i in items)
    )
    said = [i.text for i in items]
    assert not any("no email address on file" in t for t in said), said
    assert "email address taken from the invoice: none on file" in said
    # sent, or deferred by quiet hours (the policy's own reason): either way addressed, not suppressed
    assert any(t.startswith(("badge_awarded email: ", "badge_awarded email deferred")) for t in said), said
    row = await eventually(lambda: asyncio.to_thread(customer_row, stack.engine, c), lambda row: row is not None)
    assert row["email"] == f"{c}@example.com", "the customers table (SendGrid's lookup) has the address too"


async def test_a_failed_payment_reaches_the_invoice_address(stack):
    """A first invoice that fails, before any customer event: the dunning email (transactional) goes to the
    invoice's address instead of being suppressed."""
    c = cid()
    event = invoice_payment_failed(c)
    event["data"]["object"]["customer_email"] = f"{c}@example.com"
    assert (await post(stack, event))["applied_as"] == "payment_failed"
    items = await eventually(
        lambda: timeline(stack.tenure, c), lambda items: any(i.text.startswith("dunning email") for i in items)
    )
    said = [i.text for i in items]
    assert not any("no email address on file" in t for t in said), said
    assert any(t.startswith("dunning email: ") for t in said), said
