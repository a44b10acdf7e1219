"""Every lifecycle journey end to end on the real dev server, under a program whose days are seconds.

The time-skipping tests prove the calendar (days, weeks, grace periods); this proves the same
journeys run on the server `make run` starts, with real timers, activities and cross-journey
signals, when fed the matching events.
"""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa

from domain.messages import (
    ActivityReported,
    PaymentFailed,
    SignedUp,
    SubscriptionCancelled,
)
from domain.program import Program
from domain.referrals import code_for
from tests.journey_kit import email_rows, eventually, payment, running_worker

SECOND = 1 / 86400  # program durations are in days


@pytest.fixture
def fast_program(program: Program) -> Program:
    """The default program with every journey compressed into seconds and no quiet hours."""
    raw = program.model_dump()
    raw["version"] = "fast-test"
    raw["comms"].update(quiet_hours_start=0, quiet_hours_end=0, frequency_cap_per_week=100)
    raw["onboarding"]["steps"] = [
        {"day": 0, "purpose": "welcome"},
        {"day": 1 * SECOND, "purpose": "onboarding_tips"},
        {"day": 2 * SECOND, "purpose": "onboarding_nudge", "only_if_missing": "feature_used"},
        {"day": 30 * SECOND, "purpose": "onboarding_summary"},
    ]
    raw["earning"]["referral_hold_days"] = 0
    raw["engagement"]["at_risk_after_days"] = 3 * SECOND
    raw["dunning"]["email_days"] = [0, 1 * SECOND, 4 * SECOND]
    raw["winback"]["grace_days"] = 30 * SECOND
    for book in raw["winback"]["playbooks"].values():
        book["steps"] = [
            {"after_days": 1 * SECOND, "purpose": "winback_offer"},
            {"after_days": 2 * SECOND, "purpose": "winback_followup"},
        ]
        for offer in (book["offer"], book["strong_offer"]):
            if offer:
                offer["valid_days"] = 20 * SECOND
    return Program.model_validate(raw)


def texts(timeline) -> str:
    return "\n".join(i.text for i in timeline.items)


async def test_lifecycle_journeys_on_the_dev_server(dev_env, fast_program, tmp_path):
    async with running_worker(dev_env.client, fast_program, tmp_path) as (tenure, engine):
        # onboarding that ends early, with its badge and the first-week challenge
        await tenure.send("dv_ann", SignedUp(event_id="su_ann", email="ann@example.com", timezone="UTC"))
        await eventually(lambda: tenure.timeline("dv_ann"), lambda t: "onboarding_tips email: outbox" in texts(t))
        for i in range(3):
            await tenure.send("dv_ann", ActivityReported(event_id=f"f{i}", kind="feature_used"))
        await tenure.send("dv_ann", ActivityReported(event_id="p", kind="profile_completed"))
        t = await eventually(lambda: tenure.timeline("dv_ann"), lambda t: "badge 'Onboarding completed'" in texts(t))
        assert "onboarding goals met" in texts(t)
        assert "challenge 'Use a key feature three times in your first week' completed" in texts(t)

        # a referral: Bob signs up with Ann's code and pays; the hold is 0 here
        await tenure.send(
            "dv_bob", SignedUp(event_id="su_bob", email="bob@example.com", referral_code=code_for("dv_ann"))
        )
        await tenure.send("dv_bob", payment(1))
        await eventually(lambda: tenure.timeline("dv_ann"), lambda t: "dv_bob signed up with your code" in texts(t))
        await eventually(lambda: tenure.summary("dv_ann"), lambda s: any(lot.source == "referral" for lot in s.lots))

        # dunning that a payment ends
        await tenure.send("dv_dan", SignedUp(event_id="su_dan", email="dan@example.com"))
        await tenure.send("dv_dan", payment(1))
        await tenure.send("dv_dan", PaymentFailed(event_id="fail_2", invoice_id="in_2"))
        await eventually(lambda: tenure.summary("dv_dan"), lambda s: s.status == "past_due")
        await eventually(lambda: tenure.timeline("dv_dan"), lambda t: texts(t).count("dunning email: outbox") == 2)
        await tenure.send("dv_dan", payment(2))
        await eventually(lambda: tenure.timeline("dv_dan"), lambda t: "dunning for in_2 ended" in texts(t))
        await asyncio.sleep(3)  # past the last dunning day: nothing more is sent
        assert sum(m["purpose"] == "dunning" for m in email_rows(engine, "dv_dan")) == 2

        # churn with a discount win-back, and a return while the offer is live
        await tenure.send("dv_cat", SignedUp(event_id="su_cat", email="cat@example.com"))
        await tenure.send("dv_cat", payment(1, cadence="annual", amount=49000))
        before = await eventually(lambda: tenure.summary("dv_cat"), lambda s: s.balance >= 1200)
        await tenure.send("dv_cat", SubscriptionCancelled(event_id="cancel", reason="too_expensive"))
        await eventually(lambda: tenure.timeline("dv_cat"), lambda t: "winback_offer email: outbox" in texts(t))
        with engine.connect() as conn:
            code = conn.execute(sa.text("select code from billing_discounts where customer_id='dv_cat'")).scalar()
        assert code and code.startswith("WB-")
        offer = [m for m in email_rows(engine, "dv_cat") if m["purpose"] == "winback_offer"][0]
        assert code in str(offer["payload"])
        await tenure.send("dv_cat", payment(2, cadence="annual", amount=49000))
        t = await eventually(lambda: tenure.timeline("dv_cat"), lambda t: "came back" in texts(t))
        assert "returned with offer" in texts(t), texts(t)
        assert f"{before.balance} points restored" in texts(t), texts(t)

        # the engagement watch: Ann's last activity was seconds ago
        await eventually(lambda: tenure.timeline("dv_ann"), lambda t: "at risk: no activity" in texts(t), timeout=30)
        with engine.connect() as conn:
            assert conn.execute(sa.text("select at_risk from customers where customer_id='dv_ann'")).scalar()
