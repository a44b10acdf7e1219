"""Record workflow histories for the replay test (tests/test_replay.py).

    .venv/bin/python -m tests.record_histories [--tag TAG] [--out DIR]

Runs a few representative customer journeys on the time-skipping test server with the code of
this checkout, its payloads encrypted under the TEST-ONLY key (tests/payload_key_for_tests.py: public,
so the replay test can read them), and writes every run's history to `DIR/{tag}__{workflow_id}__{run_id}.json`
(a journey that continued as new leaves one file per run of its chain). TAG names the code
that made them: by default the short git commit, with `-dirty` when workflows/ or domain/
have uncommitted changes. Run it after every release and commit the new files; never delete
old ones: they are the journeys that are still running somewhere and that new code must replay.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from temporalio.api.common.v1 import Payload
from temporalio.client import Client
from temporalio.common import RawValue
from temporalio.testing import WorkflowEnvironment

from domain.campaign_touch import CampaignTouch
from domain.journey import workflow_id
from domain.messages import (
    ActivityReported,
    AdjustRequest,
    PaymentFailed,
    PaymentSucceeded,
    ProfileUpdated,
    RedeemRequest,
    RefundIssued,
    SignedUp,
    SubscriptionCancelled,
)
from domain.program import parse_program
from domain.referrals import code_for
from domain.summary import ReconcileView, Summary, Timeline
from starter.client import TenureClient
from tests.journey_kit import days, eventually, foreign_ledger_row, ledger_rows, payment, running_worker
from tests.payload_key_for_tests import data_converter_for_tests

ROOT = Path(__file__).resolve().parent.parent
HISTORIES = ROOT / "tests" / "histories"


def default_tag() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()

    try:
        tag = git("rev-parse", "--short", "HEAD")
        if git("status", "--porcelain", "--", "workflows", "domain"):
            tag += "-dirty"
        return tag
    except (OSError, subprocess.CalledProcessError):
        return "untagged"


# ---- the journeys -------------------------------------------------------------------------------


def lot_ids(s) -> set[str]:
    return {lot.lot_id for lot in s.lots}


async def query(tenure: TenureClient, cid: str, name: str, result_type):
    # A short deadline, retried by `eventually`: the time-skipping test server drops a query that
    # arrives while a run continues as new (it would wait 30 s for it; the dev server does not).
    return await tenure.handle(cid).query(name, result_type=result_type, rpc_timeout=timedelta(seconds=2))


async def settled(tenure: TenureClient, engine, cid: str, check=lambda s: True, timeout: float = 30):
    """Wait until the journey satisfies `check` and every ledger entry it made is written."""
    s = await eventually(lambda: query(tenure, cid, "summary", Summary), check, timeout=timeout)

    async def written():
        view = await query(tenure, cid, "reconcile", ReconcileView)
        rows = await asyncio.to_thread(ledger_rows, engine, cid)
        return view, rows

    await eventually(written, lambda vr: not vr[0].unwritten and len(vr[1]) == vr[0].seq, timeout=timeout)
    return s


async def year_of_payments(env: WorkflowEnvironment, tenure: TenureClient, engine) -> str:
    """12 monthly payments (silver at the 10th), the first lot's warnings and its expiry at 12 months."""
    cid = "rec_year"
    await tenure.send(cid, ProfileUpdated(event_id="evt_profile", email="ada@example.com", name="Ada"))
    for n in range(12):
        await tenure.send(cid, payment(n))
        await settled(tenure, engine, cid, lambda s, n=n: f"pay:in_{n}" in lot_ids(s))
        await env.sleep(days(30))
    await env.sleep(days(6))
    await settled(tenure, engine, cid, lambda s: s.tier == "silver" and "pay:in_0" not in lot_ids(s))
    return cid


async def redemption_and_adjustment(env: WorkflowEnvironment, tenure: TenureClient, engine) -> str:
    cid = "rec_redeem"
    await tenure.send(cid, ProfileUpdated(event_id="evt_profile", email="bo@example.com", name="Bo"))
    await tenure.send(cid, payment(1, cadence="annual", amount=49000))
    await settled(tenure, engine, cid, lambda s: "pay:in_1" in lot_ids(s))
    await tenure.redeem(cid, RedeemRequest(request_id="credit-1", points=300))
    await tenure.redeem(cid, RedeemRequest(request_id="reward-1", kind="reward", reward_id="beta-access"))
    await tenure.adjust(
        cid, AdjustRequest(request_id="adj-1", points=150, reason="goodwill for an outage", actor="support:maria")
    )
    await tenure.adjust(cid, AdjustRequest(request_id="adj-2", points=-50, reason="correction", actor="support:maria"))
    await settled(tenure, engine, cid)
    return cid


async def refund_with_shortfall(env: WorkflowEnvironment, tenure: TenureClient, engine) -> str:
    cid = "rec_refund"
    await tenure.send(cid, payment(1, cadence="annual", amount=49000))
    s = await settled(tenure, engine, cid, lambda s: "pay:in_1" in lot_ids(s))
    # spend all but 200 points, so the refund of the 1200-point payment leaves a shortfall of 1000
    await tenure.redeem(cid, RedeemRequest(request_id="spend-most", points=s.balance - 200))
    await tenure.send(cid, RefundIssued(event_id="evt_refund_1", invoice_id="in_1", amount_minor=49000, currency="USD"))
    s = await settled(tenure, engine, cid, lambda s: s.shortfall > 0)
    await env.sleep(days(30))
    await tenure.send(cid, payment(2))
    await settled(tenure, engine, cid, lambda x: x.shortfall < s.shortfall)
    return cid


async def said(tenure: TenureClient, cid: str, fragment: str, timeout: float = 30) -> None:
    """Wait until the journey's timeline says `fragment`."""
    await eventually(
        lambda: query(tenure, cid, "timeline", Timeline),
        lambda t: any(fragment in i.text for i in t.items),
        timeout=timeout,
    )


async def onboarding_and_engagement(env: WorkflowEnvironment, tenure: TenureClient, engine) -> str:
    """Sign-up in Tokyo, tips deferred by quiet hours, the nudge skipped, goals met, at risk, back."""
    cid = "rec_onboard"
    await tenure.send(cid, SignedUp(event_id="su", email="kei@example.com", name="Kei", timezone="Asia/Tokyo"))
    await env.sleep(days(1.5))
    await tenure.send(cid, ActivityReported(event_id="feat_1", kind="feature_used"))
    await env.sleep(days(2))
    await tenure.send(cid, ActivityReported(event_id="profile_1", kind="profile_completed"))
    await said(tenure, cid, "onboarding goals met")
    await env.sleep(days(31))
    await said(tenure, cid, "at risk: no activity")
    await tenure.send(cid, ActivityReported(event_id="login_1", kind="login"))
    await said(tenure, cid, "no longer at risk")
    await settled(tenure, engine, cid)
    return cid


async def referral(env: WorkflowEnvironment, tenure: TenureClient, engine) -> list[str]:
    """Ann refers Bob; Bob pays; Ann's points are pending for the hold, then released."""
    await tenure.send("rec_ann", SignedUp(event_id="su_ann", email="ann@example.com"))

    def ann_recorded() -> bool:
        with engine.connect() as conn:
            return conn.execute(sa.text("select count(*) from customers where customer_id = 'rec_ann'")).scalar() == 1

    await eventually(lambda: asyncio.to_thread(ann_recorded), bool)
    await tenure.send(
        "rec_bob", SignedUp(event_id="su_bob", email="bob@example.com", referral_code=code_for("rec_ann"))
    )
    await tenure.send("rec_bob", payment(1))
    await settled(tenure, engine, "rec_ann", lambda s: s.pending == 200)
    await env.sleep(days(15))
    await settled(tenure, engine, "rec_ann", lambda s: s.pending == 0 and s.balance >= 200)
    await settled(tenure, engine, "rec_bob")
    return ["rec_ann", "rec_bob"]


async def churn_and_win_back(env: WorkflowEnvironment, tenure: TenureClient, engine) -> str:
    """Cancelled as too expensive: frozen balance, a discount offer, the customer back in time."""
    cid = "rec_churn"
    await tenure.send(cid, SignedUp(event_id="su", email="cat@example.com", timezone="Europe/Berlin"))
    await tenure.send(cid, payment(1, cadence="annual", amount=49000))
    await settled(tenure, engine, cid, lambda s: "pay:in_1" in lot_ids(s))
    await tenure.send(cid, SubscriptionCancelled(event_id="cancel_1", reason="too_expensive", comment="pricey"))
    await env.sleep(days(4))
    await said(tenure, cid, "winback_offer email")
    await tenure.send(cid, payment(2, cadence="annual", amount=49000))
    await said(tenure, cid, "customer came back")
    await settled(tenure, engine, cid)
    return cid


async def dunning_recovered(env: WorkflowEnvironment, tenure: TenureClient, engine) -> str:
    cid = "rec_dunning"
    await tenure.send(cid, SignedUp(event_id="su", email="dan@example.com"))
    await tenure.send(cid, payment(1))
    await tenure.send(cid, PaymentFailed(event_id="fail_2", invoice_id="in_2", reason="card_declined"))
    await env.sleep(days(4))
    await tenure.send(cid, payment(2))
    await said(tenure, cid, "dunning for in_2 ended")
    await settled(tenure, engine, cid)
    return cid


async def set_aside_and_retried(env: WorkflowEnvironment, tenure: TenureClient, engine) -> str:
    """Rules version 2's own paths: an event a rule fails on, a payload that does not decode, a ledger
    entry another writer's row stands in the way of, a redemption retried while the first is in flight."""
    cid = "rec_aside"
    await tenure.send(cid, payment(1, cadence="annual", amount=49000))
    await settled(tenure, engine, cid, lambda s: "pay:in_1" in lot_ids(s))
    # the next entry's seq, whatever the rules version wrote before it
    foreign_ledger_row(engine, cid, seq=len(await asyncio.to_thread(ledger_rows, engine, cid)) + 1)
    huge = {"type": "payment_succeeded", "event_id": "evt_huge", "invoice_id": "in_huge", "amount_minor": 10**400}
    for event in ({**huge, "currency": "USD"}, {"type": "activity", "event_id": "evt_garbled", "kind": "dancing"}):
        data = json.dumps({"event": event}).encode()
        await tenure.handle(cid).signal("event", RawValue(Payload(metadata={"encoding": b"json/plain"}, data=data)))
    await tenure.send(cid, payment(2))  # its entry, at the foreign row's seq, is set aside
    await said(tenure, cid, "could not be written")
    request = RedeemRequest(request_id="order-1", points=300)
    await asyncio.gather(tenure.redeem(cid, request), tenure.redeem(cid, request))
    again = PaymentSucceeded(event_id="evt_resent", invoice_id="in_1", amount_minor=49000, currency="USD")
    await tenure.send(cid, again)  # the same invoice under another event id: counted once
    await said(tenure, cid, "invoice in_1 already counted; ignored")
    return cid


async def campaigns(env: WorkflowEnvironment, tenure: TenureClient, engine) -> str:
    """Every kind of campaign touch (the `apply_campaign` update), one of them sent twice, a payment and
    shares inside a double-points window, a campaign challenge completed."""
    cid = "rec_campaign"
    await tenure.send(cid, SignedUp(event_id="su", email="eve@example.com", timezone="Asia/Tokyo"))
    await said(tenure, cid, "signed up")
    now = await env.get_current_time()

    def touch(kind: str, campaign_id: str, **terms) -> CampaignTouch:
        return CampaignTouch.model_validate(
            {"campaign_id": campaign_id, "kind": kind, "reason": "recorded", "actor": "marketer:rec", **terms}
        )

    window = {"factor": 2, "starts_at": now, "ends_at": now + days(3), "applies_to": ["payments", "activity"]}
    challenge = {"title": "Share twice", "activity": "content_shared", "count": 2, "ends_at": now + days(5)}
    assert tenure.program is not None, "the recorder's client opens journeys"
    newer = tenure.program.model_copy(update={"version": "recorded-campaign"})
    for t in (
        touch("bonus", "c-bonus", bonus_points=150, max_points=120, template_id="d-bonus"),
        touch("multiplier", "c-double", multiplier=window, max_points=500),
        touch("announcement", "c-news", template_id="d-news"),
        touch("offer", "c-offer", offer={"percent_off": 20, "valid_days": 14}),
        touch("challenge", "c-challenge", challenge=challenge | {"bonus_points": 40}),
        touch("publish_program", "c-program", program=newer.model_dump()),
    ):
        await tenure.apply_campaign(cid, t)
    await tenure.apply_campaign(cid, touch("bonus", "c-bonus", bonus_points=150))  # once per campaign
    await tenure.send(cid, payment(1))
    for n in range(2):
        await tenure.send(cid, ActivityReported(event_id=f"share_{n}", kind="content_shared"))
    await said(tenure, cid, "(campaign c-challenge) completed")
    await env.sleep(days(4))
    await settled(tenure, engine, cid)
    return cid


async def burst_with_continue_as_new(env: WorkflowEnvironment, client: Client, program, tmp: Path) -> str:
    cid = "rec_burst"
    async with running_worker(client, program, tmp / "burst", programs_by_hash=False, history_budget=60) as (
        tenure,
        engine,
    ):
        await tenure.send(cid, ActivityReported(event_id="evt_0", kind="survey_answered"))
        await asyncio.gather(
            *(tenure.send(cid, ActivityReported(event_id=f"evt_{i}", kind="survey_answered")) for i in range(1, 120))
        )
        await eventually(
            lambda: asyncio.to_thread(ledger_rows, engine, cid),
            lambda rows: sum(r["kind"] == "earn" and r["ref"] is not None for r in rows) >= 120,
            timeout=60,
        )
        await settled(tenure, engine, cid, lambda s: s.ledger_seq >= 120, timeout=60)
    return cid


# ---- recording ----------------------------------------------------------------------------------


async def run_chain(client: Client, wid: str) -> list[tuple[str, str]]:
    """(run_id, history JSON) of every run of a workflow id, newest first, following continue-as-new."""
    out = []
    run_id = (await client.get_workflow_handle(wid).describe()).run_id
    while run_id:
        history = await client.get_workflow_handle(wid, run_id=run_id).fetch_history()
        out.append((run_id, history.to_json()))
        first = history.events[0].workflow_execution_started_event_attributes
        run_id = first.continued_execution_run_id or None
    return out


async def record(tag: str, out: Path) -> list[Path]:
    program = parse_program((ROOT / "program.toml").read_text(), "program.toml")
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(Path(sys.executable).parent / "temporal-test-server"),
        data_converter=data_converter_for_tests(),
    )
    written: list[Path] = []
    try:
        with tempfile.TemporaryDirectory() as tmp_dir:
            tmp = Path(tmp_dir)
            customers = []
            # whole programs in the recorded inputs: tests/test_replay.py replays a history alone,
            # without the program store a hash would need
            async with running_worker(env.client, program, tmp / "main", programs_by_hash=False) as (
                tenure,
                engine,
            ):
                for journey in (
                    year_of_payments,
                    redemption_and_adjustment,
                    refund_with_shortfall,
                    onboarding_and_engagement,
                    referral,
                    churn_and_win_back,
                    dunning_recovered,
                    set_aside_and_retried,
                    campaigns,
                ):
                    began = time.monotonic()
                    ran = await journey(env, tenure, engine)
                    customers += ran if isinstance(ran, list) else [ran]
                    print(f"  ran journey {journey.__name__} ({time.monotonic() - began:.1f}s)")
                began = time.monotonic()
                customers.append(await burst_with_continue_as_new(env, env.client, program, tmp))
                print(f"  ran journey {customers[-1]} ({time.monotonic() - began:.1f}s)")
                out.mkdir(parents=True, exist_ok=True)
                for cid in customers:
                    wid = workflow_id(cid)
                    for run_id, text in await run_chain(env.client, wid):
                        path = out / f"{tag}__{wid}__{run_id}.json"
                        path.write_text(text)
                        written.append(path)
    finally:
        await env.shutdown()
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tag", default=None, help="names the code that made the histories (default: git commit)")
    parser.add_argument("--out", type=Path, default=HISTORIES, help=f"where to write them (default {HISTORIES})")
    args = parser.parse_args()
    tag = args.tag or default_tag()
    if "__" in tag or "/" in tag:
        raise SystemExit("--tag must not contain '__' or '/'")
    print(f"recording histories tagged {tag!r} into {args.out}")
    paths = asyncio.run(record(tag, args.out))
    for p in paths:
        print(f"  wrote {p.name} ({p.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()
