"""A campaign reaching real journeys (the `apply_campaign` update) on the time-skipping server: each
kind, a double-points weekend in New York and Tokyo, once per campaign, the communication policy,
publishing a program version, max_points, runs of older rules versions, malformed touches."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from temporalio.client import WorkflowUpdateFailedError

from domain.campaign_touch import CampaignTouch, TouchResult
from domain.journey import CAMPAIGN_UPDATE
from starter.client import JourneyRefused
from tests.journey_kit import days, eventually, payment, running_worker, start_at_version
from tests.lifecycle_kit import (
    act,
    close_to,
    customer_row,
    daytime_zone,
    discount_rows,
    ledger,
    next_local,
    purposes,
    sends,
    server_now,
    sign_up,
    template_data,
    wait_for,
    wait_sent,
)


def touch(kind: str, campaign_id: str = "c-1", **fields) -> CampaignTouch:
    return CampaignTouch.model_validate(
        {"campaign_id": campaign_id, "kind": kind, "reason": "spring promo", "actor": "marketer:ann", **fields}
    )


def campaign_rows(rows: list[dict]) -> list[dict]:
    return [r for r in rows if "/campaign:" in r["key"]]


async def join(tenure, cid: str, tz: str) -> None:
    """Sign up and wait until the journey has the address (a campaign reaches members who have one)."""
    await tenure.send(cid, sign_up(cid, tz))
    await wait_for(tenure, cid, "signed up")


async def test_bonus_announcement_offer_challenge_and_program(time_env, program, tmp_path):
    tz = daytime_zone(await server_now(time_env))
    async with running_worker(time_env.client, program, tmp_path) as (tenure, engine):
        for cid in ("cus_bonus", "cus_news", "cus_offer", "cus_challenge", "cus_program"):
            await join(tenure, cid, tz)

        # bonus: a lot with the reason and the actor, at most max_points, its email as marketing
        result = await tenure.apply_campaign(
            "cus_bonus", touch("bonus", bonus_points=300, max_points=250, template_id="d-bonus")
        )
        assert result == TouchResult(campaign_id="c-1", outcome="applied", points_granted=250, email="sent")
        (row,) = campaign_rows(await ledger(tenure, engine, "cus_bonus"))
        assert (row["key"], row["kind"], row["points"]) == ("cus_bonus/campaign:c-1/earn", "earn", 250)
        assert (row["reason"], row["actor"]) == ("campaign c-1: spring promo", "marketer:ann")
        summary = await tenure.summary("cus_bonus")
        assert summary.balance == 250
        lot = next(lot for lot in summary.lots if lot.points == 250)
        assert lot.expires_at - lot.earned_at == program.lot_validity
        await wait_sent(tenure, "cus_bonus", "campaign_bonus")
        assert template_data(engine, "cus_bonus", "campaign_bonus")[0]["points"] == 250

        # announcement: the touch's template, category marketing, key from campaign and customer
        result = await tenure.apply_campaign("cus_news", touch("announcement", template_id="d-spring-news"))
        assert (result.outcome, result.email) == ("applied", "sent")
        await wait_sent(tenure, "cus_news", "campaign_announcement")
        email = next(e for e in _emails(engine, "cus_news") if e["purpose"] == "campaign_announcement")
        assert (email["template_id"], email["category"]) == ("d-spring-news", "marketing")
        assert email["key"] == "cus_news/campaign:c-1/campaign_announcement"

        # offer: a discount through the billing gateway, then the email with its code
        result = await tenure.apply_campaign("cus_offer", touch("offer", offer={"percent_off": 20, "valid_days": 14}))
        assert result.outcome == "applied"
        await wait_sent(tenure, "cus_offer", "campaign_offer")
        (discount,) = discount_rows(engine, "cus_offer")
        assert (discount["key"], discount["percent_off"]) == ("cus_offer/campaign:c-1/discount", 20)
        (data,) = template_data(engine, "cus_offer", "campaign_offer")
        assert data["code"] == discount["code"] and data["percent_off"] == 20

        # challenge: joined, three shares within the box earn its bonus
        ends = (await server_now(time_env)) + days(3)
        terms = {
            "title": "Share 3 times",
            "activity": "content_shared",
            "count": 3,
            "ends_at": ends,
            "bonus_points": 75,
        }
        result = await tenure.apply_campaign("cus_challenge", touch("challenge", challenge=terms))
        assert result.outcome == "applied"
        for n in range(3):
            await tenure.send("cus_challenge", act("content_shared", n))
        await wait_for(tenure, "cus_challenge", "(campaign c-1) completed")
        rows = campaign_rows(await ledger(tenure, engine, "cus_challenge"))
        assert [(r["key"], r["points"]) for r in rows] == [("cus_challenge/campaign:c-1/earn", 75)]

        # publish a program version: the journey runs it, the customers table says so
        newer = program.model_copy(update={"version": "2027-01-campaign"})
        result = await tenure.apply_campaign("cus_program", touch("publish_program", program=newer.model_dump()))
        assert result.outcome == "applied"
        assert (await tenure.summary("cus_program")).program_version == "2027-01-campaign"
        await eventually(
            lambda: asyncio.to_thread(customer_row, engine, "cus_program"),
            lambda row: row is not None and row["program_version"] == "2027-01-campaign",
        )
        again = await tenure.apply_campaign(
            "cus_program", touch("publish_program", campaign_id="c-2", program=newer.model_dump())
        )
        assert (again.outcome, again.reason) == ("skipped", "not_eligible"), "already on that version"


def _emails(engine, cid: str) -> list[dict]:
    from tests.journey_kit import email_rows

    return email_rows(engine, cid)


async def test_the_same_campaign_twice_reaches_the_member_once(time_env, program, tmp_path):
    """Concurrently, sequentially, and after the journey continued as new: one grant, one ledger row."""
    tz = daytime_zone(await server_now(time_env))
    cid = "cus_twice"
    async with running_worker(time_env.client, program, tmp_path, history_budget=50) as (tenure, engine):
        await join(tenure, cid, tz)
        bonus = touch("bonus", bonus_points=100, template_id="d-bonus")
        first, second = await asyncio.gather(tenure.apply_campaign(cid, bonus), tenure.apply_campaign(cid, bonus))
        assert first == second and first.points_granted == 100
        first_run = (await tenure.handle(cid).describe()).run_id
        for n in range(200):  # past the history budget: the journey continues as new
            await tenure.send(cid, act("login", n))
            await eventually(lambda: tenure.summary(cid), lambda _: True)  # one workflow task per login
            if (await tenure.handle(cid).describe()).run_id != first_run:
                break
        assert (await tenure.handle(cid).describe()).run_id != first_run, "continued as new"
        third = await tenure.apply_campaign(cid, bonus.model_copy(update={"bonus_points": 999}))
        assert third == first
        rows = campaign_rows(await ledger(tenure, engine, cid))
        assert [(r["key"], r["points"]) for r in rows] == [(f"{cid}/campaign:c-1/earn", 100)]
        logins = 2 * min(n + 1, 10)  # 2 points each, 20 a day at most
        await eventually(lambda: tenure.summary(cid), lambda s: s.balance == 100 + logins)
        await wait_sent(tenure, cid, "campaign_bonus")
        assert purposes(engine, cid).count("campaign_bonus") == 1


def _saturday(after: datetime) -> datetime:
    """The first Saturday (a date) at least a day after `after`, in Tokyo."""
    local = (after + days(1)).astimezone(ZoneInfo("Asia/Tokyo"))
    return local + timedelta(days=(5 - local.weekday()) % 7)


def _weekend(saturday: datetime, tz: str) -> tuple[datetime, datetime]:
    """Saturday 00:00 to Monday 00:00 on the member's wall clock, as instants (the runner's job)."""
    zone = ZoneInfo(tz)
    start = datetime(saturday.year, saturday.month, saturday.day, tzinfo=zone)
    return start.astimezone(ZoneInfo("UTC")), (start + timedelta(days=2)).astimezone(ZoneInfo("UTC"))


async def test_double_points_weekend_in_new_york_and_tokyo(time_env, program, tmp_path):
    """Each member's window is their own local weekend; the same payment instant is doubled for one
    member and not the other, as the instants say."""
    now = await server_now(time_env)
    saturday = _saturday(now)
    zones = {"cus_nyc": "America/New_York", "cus_tokyo": "Asia/Tokyo"}
    windows = {cid: _weekend(saturday, tz) for cid, tz in zones.items()}
    async with running_worker(time_env.client, program, tmp_path) as (tenure, engine):
        for cid, tz in zones.items():
            await join(tenure, cid, tz)
            start, end = windows[cid]
            window = {"factor": 2, "starts_at": start, "ends_at": end, "applies_to": ["payments"]}
            result = await tenure.apply_campaign(
                cid, touch("multiplier", campaign_id="double-weekend", multiplier=window)
            )
            assert (result.outcome, result.points_granted) == ("applied", 0)

        tokyo_start, tokyo_end = windows["cus_tokyo"]
        nyc_start, nyc_end = windows["cus_nyc"]
        moments = [  # (instant, Tokyo doubled?, New York doubled?)
            (tokyo_start - timedelta(hours=1), False, False),  # Friday 23:00 in Tokyo
            (tokyo_start + timedelta(hours=1), True, False),  # Saturday 01:00 in Tokyo, Friday noon in New York
            (nyc_start + timedelta(hours=1), True, True),  # Saturday 01:00 in New York, 15:00 in Tokyo
            (tokyo_end + timedelta(hours=1), False, True),  # Monday 01:00 in Tokyo, Sunday 11:00 in New York
            (nyc_end + timedelta(hours=1), False, False),  # Monday 01:00 in New York
        ]
        for n, (at, _, _) in enumerate(moments):
            await time_env.sleep(at - await server_now(time_env))
            for cid in zones:
                await tenure.send(cid, payment(n))
            for cid, column in (("cus_tokyo", 1), ("cus_nyc", 2)):
                doubled = sum(bool(moment[column]) for moment in moments[: n + 1])
                balance = 100 * (n + 1) + 100 * doubled
                await eventually(lambda cid=cid: tenure.summary(cid), lambda s, b=balance: s.balance == b)

        for cid, column in (("cus_tokyo", 1), ("cus_nyc", 2)):
            rows = await ledger(tenure, engine, cid)
            doubled = {r["ref"] for r in campaign_rows(rows)}
            expected = {f"in_{n}" for n, moment in enumerate(moments) if moment[column]}
            assert doubled == expected, cid
            extra = campaign_rows(rows)
            assert all(r["points"] == 100 for r in extra)
            assert all(r["key"].startswith(f"{cid}/campaign:double-weekend:pay:") for r in extra)
            for r in extra:  # granted inside the member's local weekend, by the instant
                local = r["at"].astimezone(ZoneInfo(zones[cid]))
                assert local.weekday() in (5, 6), (cid, local)


async def test_campaign_email_deferred_by_quiet_hours_then_sent_in_the_morning(time_env, program, tmp_path):
    cid = "cus_night"
    tz = "Asia/Tokyo"
    now = await server_now(time_env)
    await time_env.sleep(next_local(now + timedelta(minutes=1), tz, 23, 0) - now)
    async with running_worker(time_env.client, program, tmp_path) as (tenure, engine):
        await join(tenure, cid, tz)
        result = await tenure.apply_campaign(cid, touch("announcement", template_id="d-news"))
        assert (result.outcome, result.email, result.reason) == ("applied", "deferred", "quiet_hours")
        items = await wait_for(tenure, cid, "campaign_announcement email deferred until")
        deferral = next(i for i in items if i.text.startswith("campaign_announcement email deferred"))
        morning = next_local(deferral.at, tz, 8)
        assert f"until {morning:%Y-%m-%d %H:%M} UTC" in deferral.text
        assert "campaign_announcement" not in purposes(engine, cid)

        await time_env.sleep(days(0.5))
        items = await wait_sent(tenure, cid, "campaign_announcement")
        (sent,) = sends(items, "campaign_announcement")
        assert close_to(sent.at, morning)
        local = sent.at.astimezone(ZoneInfo(tz))
        assert (local.hour, local.minute) == (8, 0)
        again = await tenure.apply_campaign(cid, touch("announcement", template_id="d-news"))
        assert again == result, "answered as the first time"
        assert purposes(engine, cid).count("campaign_announcement") == 1


async def test_campaign_email_over_the_weekly_cap_is_dropped(time_env, program, tmp_path):
    cid = "cus_capped"
    tz = daytime_zone(await server_now(time_env))
    async with running_worker(time_env.client, program, tmp_path) as (tenure, engine):
        await join(tenure, cid, tz)
        for n in range(program.comms.frequency_cap_per_week):
            result = await tenure.apply_campaign(cid, touch("announcement", campaign_id=f"news-{n}", template_id="d-n"))
            assert result.email == "sent", result
        capped = await tenure.apply_campaign(cid, touch("announcement", campaign_id="news-late", template_id="d-n"))
        assert (capped.outcome, capped.reason, capped.email) == ("skipped", "capped", "suppressed")
        await wait_sent(tenure, cid, "campaign_announcement", program.comms.frequency_cap_per_week)
        await wait_for(tenure, cid, "campaign_announcement email dropped: frequency cap")
        await time_env.sleep(days(8))  # the cap's week is over: nothing was waiting for it
        await tenure.send(cid, act("login", 1))
        await eventually(lambda: tenure.summary(cid), lambda s: s.balance >= 2)
        keys = [e["key"] for e in _emails(engine, cid) if e["purpose"] == "campaign_announcement"]
        assert f"{cid}/campaign:news-late/campaign_announcement" not in keys
        assert len(keys) == program.comms.frequency_cap_per_week


async def test_multiplier_cap_and_max_points(time_env, program, tmp_path):
    cid = "cus_max"
    now = await server_now(time_env)
    tz = daytime_zone(now)
    async with running_worker(time_env.client, program, tmp_path) as (tenure, engine):
        await join(tenure, cid, tz)
        window = {
            "factor": 3,
            "starts_at": now,
            "ends_at": now + days(60),
            "applies_to": ["payments"],
            "cap_extra_points": 500,
        }
        result = await tenure.apply_campaign(cid, touch("multiplier", multiplier=window, max_points=300))
        assert result.points_granted == 0
        for n in range(3):  # each payment would add 200 extra: 200, then the 100 left of 300, then none
            await tenure.send(cid, payment(n))
            await time_env.sleep(days(1))
        await eventually(lambda: tenure.summary(cid), lambda s: len(s.lots) >= 5)
        extra = [r["points"] for r in campaign_rows(await ledger(tenure, engine, cid))]
        assert extra == [200, 100]


@pytest.mark.parametrize("version", [0, 1])
async def test_runs_of_older_rules_versions_take_campaigns(time_env, program, tmp_path, version):
    cid = f"cus_v{version}"
    now = await server_now(time_env)
    async with running_worker(time_env.client, program, tmp_path) as (tenure, engine):
        await start_at_version(tenure, cid, version, payment(0))
        await eventually(lambda: tenure.summary(cid), lambda s: s.balance == 100)
        window = {"factor": 2, "starts_at": now, "ends_at": now + days(7), "applies_to": ["payments"]}
        await tenure.apply_campaign(cid, touch("multiplier", multiplier=window))
        bonus = await tenure.apply_campaign(cid, touch("bonus", campaign_id="c-2", bonus_points=40))
        assert bonus.points_granted == 40
        await tenure.send(cid, payment(1))
        await eventually(lambda: tenure.summary(cid), lambda s: s.balance == 100 + 40 + 200)
        assert [r["points"] for r in campaign_rows(await ledger(tenure, engine, cid))] == [40, 100]


async def test_a_malformed_touch_is_refused_before_history(time_env, program, tmp_path):
    cid = "cus_malformed"
    async with running_worker(time_env.client, program, tmp_path) as (tenure, engine):
        await tenure.send(cid, payment(0))
        await eventually(lambda: tenure.summary(cid), lambda s: s.balance == 100)
        handle = tenure.handle(cid)
        for bad in (
            {"campaign_id": "c-1", "kind": "bonus", "reason": "r", "actor": "a"},  # no bonus_points
            {
                "campaign_id": "c-1",
                "kind": "announcement",
                "reason": "r",
                "actor": "a",
                "template_id": "d",
                "bonus_points": 5,
            },
            {"campaign_id": "", "kind": "bonus", "reason": "r", "actor": "a", "bonus_points": 5},
            {"campaign_id": "c-1", "kind": "raffle", "reason": "r", "actor": "a"},
        ):
            with pytest.raises(WorkflowUpdateFailedError):
                await handle.execute_update(CAMPAIGN_UPDATE, bad, result_type=TouchResult)
        history = (await handle.fetch_history()).events
        # a workflow task may run the validator; no update is accepted, so none reaches the history
        assert not [e for e in history if e.HasField("workflow_execution_update_accepted_event_attributes")]
        assert (await tenure.summary(cid)).balance == 100
        with pytest.raises(JourneyRefused):  # the client's typed error
            await tenure.apply_campaign(cid, CampaignTouch.model_construct(campaign_id="c-1", kind="bonus"))
        fine = await tenure.apply_campaign(cid, touch("bonus", bonus_points=5))
        assert fine.points_granted == 5, "a refused touch is not remembered: the campaign id applies later"
        history = (await handle.fetch_history()).events
        assert len([e for e in history if e.HasField("workflow_execution_update_accepted_event_attributes")]) == 1


async def test_a_touch_right_behind_the_first_signal_sees_it(time_env, program, tmp_path):
    """The sign-up that opens a journey and a campaign sent at once can reach the workflow in one
    activation, the update handed over first: the touch lets the signal apply before it reads the address."""
    tz = daytime_zone(await server_now(time_env))
    async with running_worker(time_env.client, program, tmp_path) as (tenure, engine):

        async def opened_and_touched(n: int) -> TouchResult:
            cid = f"cus_fresh_{n}"
            await tenure.send(cid, sign_up(cid, tz))
            return await tenure.apply_campaign(cid, touch("announcement", template_id="d-news"))

        results = await asyncio.gather(*(opened_and_touched(n) for n in range(30)))
        assert [r.email for r in results] == ["sent"] * 30
        for n in range(30):  # delivered before the worker stops
            await wait_sent(tenure, f"cus_fresh_{n}", "campaign_announcement")
