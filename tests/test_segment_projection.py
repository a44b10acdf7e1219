"""The journey keeps the segment projection current (rules version 3), and the two lifecycle triggers:
the reward-reachable email (once per level, marketing) and the lifetime-spend badge with its bonus.

On the time-skipping server; domain units for engagement and churn risk at the end."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.account import Account
from domain.engagement_scores import churn_risk, engagement_level
from domain.messages import EmailSuppressed, PlanChanged, ProfileUpdated, RedeemRequest, SubscriptionCancelled
from domain.program import Program
from domain.segment_projection import project
from domain.segments import AllOf, Condition
from storage.segments import count_members, member_page
from tests.journey_kit import days, email_rows, eventually, payment, running_worker, start_at_version
from tests.lifecycle_kit import act, customer_row, daytime_zone, server_now, sign_up, timeline, wait_for

GOLDISH = AllOf(
    all=[
        Condition(field="plan_cadence", op="eq", value="annual"),
        Condition(field="balance", op="ge", value=1000),
        Condition(field="country", op="eq", value="US"),
        Condition(field="email_reachable", op="is_true"),
    ]
)


async def row_where(engine, cid, check, timeout: float = 20):
    async def read():
        return customer_row(engine, cid)

    return await eventually(read, lambda r: r is not None and check(r), timeout)


async def test_the_journey_keeps_the_projection_current(time_env, program, tmp_path):
    cid = "cus_proj"
    tz = daytime_zone(await server_now(time_env))
    async with running_worker(time_env.client, program, tmp_path) as (tenure, engine):
        await tenure.send(cid, sign_up(cid, tz))
        await tenure.send(cid, ProfileUpdated(event_id="evt_country", country="us"))
        await tenure.send(cid, payment(1, cadence="annual", amount=49000))
        row = await row_where(engine, cid, lambda r: r["balance"] == 1200)
        assert row["lifetime_spend_minor"] == 49000 and row["plan_cadence"] == "annual"
        assert row["country"] == "US" and row["email_reachable"] is True and row["tier"] == "silver"
        assert row["engagement_level"] == "new" and row["signed_up_at"] is not None
        assert row["last_activity_at"] is None and row["projected_at"] is not None
        assert count_members(engine, GOLDISH) == 1
        assert [m.customer_id for m in member_page(engine, GOLDISH, None, 10)] == [cid]

        await tenure.send(cid, act("login", 1))
        row = await row_where(engine, cid, lambda r: r["last_activity_at"] is not None)
        assert row["balance"] == 1202

        await tenure.send(cid, EmailSuppressed(event_id="evt_unsub", reason="unsubscribe"))
        await row_where(engine, cid, lambda r: r["email_reachable"] is False)
        assert count_members(engine, GOLDISH) == 0, "an unsubscribed member is out of a reachable segment"

        # Time alone: quiet days mark the member at risk (day 30) and end recent use (day 31); the
        # journey wakes at each and re-scores.
        before = row["churn_risk_score"]
        await time_env.sleep(days(45))
        row = await row_where(engine, cid, lambda r: r["at_risk"] is True and r["engagement_level"] == "occasional")
        assert row["churn_risk_score"] > before

        await tenure.send(cid, PlanChanged(event_id="evt_plan", plan="pro", cadence="monthly"))
        await tenure.send(cid, SubscriptionCancelled(event_id="evt_cancel", reason="too_expensive"))
        row = await row_where(engine, cid, lambda r: r["status"] == "cancelled")
        assert row["churn_reason"] == "too_expensive" and row["churn_risk_score"] == 100
        assert row["plan_cadence"] == "monthly"
        churned = AllOf(all=[Condition(field="churn_reason", op="in", value=["too_expensive", "unused"])])
        assert count_members(engine, churned) == 1

        summary = await tenure.summary(cid)
        assert summary.churn_risk is not None and summary.churn_risk.score == 100
        assert summary.engagement is not None and summary.engagement.reasons


async def test_a_new_member_stops_being_new_with_no_event(time_env, program, tmp_path):
    cid = "cus_aging"
    async with running_worker(time_env.client, program, tmp_path) as (tenure, engine):
        await tenure.send(cid, sign_up(cid, "UTC"))
        await time_env.sleep(days(10))
        await tenure.send(cid, act("login", 1))  # at risk only from day 40 on
        await row_where(engine, cid, lambda r: r["last_activity_at"] is not None and r["engagement_level"] == "new")
        await time_env.sleep(days(21))  # day 31: no longer new, nothing happened but time
        row = await row_where(engine, cid, lambda r: r["engagement_level"] == "occasional")
        assert row["at_risk"] is False


async def test_older_rules_versions_write_no_projection_and_no_trigger(time_env, program, tmp_path):
    cid = "cus_v3"
    async with running_worker(time_env.client, program, tmp_path) as (tenure, engine):
        await start_at_version(tenure, cid, 3, sign_up(cid, "UTC"))
        await tenure.send(cid, payment(1, cadence="annual", amount=150_000))
        await eventually(lambda: tenure.summary(cid), lambda s: s.balance == 1200)  # no spend badge
        row = await row_where(engine, cid, lambda r: r["tier"] == "silver")
        assert row["balance"] is None and row["projected_at"] is None
        items = await timeline(tenure, cid)
        assert not any("can be redeemed" in i.text or "1,000 spent" in i.text for i in items)


async def test_reward_reachable_once_per_level_and_the_spend_badge(time_env, program, tmp_path):
    cid = "cus_reach"
    tz = daytime_zone(await server_now(time_env))
    async with running_worker(time_env.client, program, tmp_path) as (tenure, engine):
        await tenure.send(cid, sign_up(cid, tz))
        for n in range(1, 5):
            await tenure.send(cid, payment(n))
        await eventually(lambda: tenure.summary(cid), lambda s: s.balance == 400)
        assert not any(r["purpose"] == "reward_reachable" for r in email_rows(engine, cid))

        await tenure.send(cid, payment(5))  # 500: the cheapest reward (beta-access) is within reach
        await wait_for(tenure, cid, "balance reached 500 points")
        await eventually(
            lambda: _async(email_rows(engine, cid)), lambda rows: any(r["purpose"] == "reward_reachable" for r in rows)
        )
        (mail,) = [r for r in email_rows(engine, cid) if r["purpose"] == "reward_reachable"]
        assert mail["category"] == "marketing" and mail["key"] == f"{cid}/reward-reachable:500/reward_reachable"

        # Spend it, earn it back: the member was told about this level already.
        await tenure.redeem(cid, RedeemRequest(request_id="r1", kind="reward", reward_id="beta-access"))
        await tenure.send(cid, payment(6, amount=100_000))  # and past 1,000.00 of lifetime spend
        await wait_for(tenure, cid, "badge '1,000 spent' awarded")
        await tenure.send(cid, payment(7))  # back at 500 points: 100 + 300 (the spend badge) + 100
        await eventually(lambda: tenure.summary(cid), lambda s: s.balance == 500)
        await tenure.send(cid, act("login", 1))  # one more wake, to be sure nothing is left to come
        await eventually(lambda: tenure.summary(cid), lambda s: s.balance == 502)
        items = await timeline(tenure, cid)
        assert sum("can be redeemed" in i.text for i in items) == 1
        ledger = [r for r in email_rows(engine, cid) if r["purpose"] == "reward_reachable"]
        assert len(ledger) == 1


async def _async(value):
    return value


# ---- engagement and churn risk, pure ---------------------------------------------------------------

T0 = datetime(2026, 6, 1, 12, tzinfo=UTC)


def account(**lifecycle) -> Account:
    a = Account.open("cus_u", Program(version="v"), T0 - timedelta(days=400))
    a.lifecycle = a.lifecycle.model_copy(update={"signed_up_at": T0 - timedelta(days=400), **lifecycle})
    return a


def test_engagement_levels_with_reasons():
    fresh = Account.open("cus_new", Program(version="v"), T0 - timedelta(days=3))
    assert engagement_level(fresh, T0).level == "new"

    busy_days = {(T0 - timedelta(days=d)).date().isoformat(): 2 for d in range(0, 20, 2)}
    loyal = account(activity_days=busy_days, last_activity_at=T0 - timedelta(days=1))
    loyal.lifecycle.counters.paid_months = 12
    view = engagement_level(loyal, T0)
    assert view.level == "loyal"
    assert "active on 10 of the last 30 days" in view.reasons and "12 months paid" in view.reasons

    idle = account(last_activity_at=T0 - timedelta(days=50))
    view = engagement_level(idle, T0)
    assert view.level == "occasional" and "last active 50 days ago" in view.reasons


def test_churn_risk_rises_with_inactivity_and_trouble():
    active = account(last_activity_at=T0 - timedelta(days=1))
    active.lifecycle.plan_cadence = "annual"
    assert churn_risk(active, T0).score == 0

    quiet = account(last_activity_at=T0 - timedelta(days=60), at_risk=True)
    quiet.status = "past_due"
    risk = churn_risk(quiet, T0)
    assert risk.score == 45 + 10 + 20
    assert any("no activity for 60 days" in r for r in risk.reasons) and "payment past due (+20)" in risk.reasons

    quiet.status = "cancelled"
    assert churn_risk(quiet, T0).score == 100


def test_projection_reads_the_account():
    a = account(last_activity_at=T0 - timedelta(days=2), plan_cadence="monthly")
    a.email, a.country = "x@example.com", "FR"
    p = project(a, T0)
    assert (p.country, p.plan_cadence, p.email_reachable, p.churn_reason) == ("FR", "monthly", True, None)
    a.lifecycle.comms.blocked = "bounce"
    assert project(a, T0).email_reachable is False


async def test_a_country_does_not_make_older_runs_drop_the_event(time_env, program, tmp_path):
    """Runs before rules version 2 decode with frozen models that refuse unknown fields: the country
    is taken out for them (workflows/legacy_payloads.py) so the sign-up still applies."""
    cid = "cus_v1_country"
    async with running_worker(time_env.client, program, tmp_path) as (tenure, engine):
        await start_at_version(tenure, cid, 1, payment(1))
        await tenure.send(cid, sign_up(cid, "Asia/Tokyo").model_copy(update={"country": "JP"}))
        await wait_for(tenure, cid, "signed up")
        row = await row_where(engine, cid, lambda r: r["timezone"] == "Asia/Tokyo")
        assert row["country"] is None, "older runs write no projection"
