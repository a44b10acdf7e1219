"""Referrals on the time-skipping server: pending for 14 days after the referee's first payment,
released into the referrer's balance, voided by a refund inside the hold; refusals with a reason;
five rewarded referrals are a badge.

The referrer is found through the `customers` table (written when a journey starts), so the
referrer's journey is started, and its row awaited, before a referee signs up with its code.
"""

from __future__ import annotations

import asyncio
from datetime import UTC

from domain.referrals import code_for
from tests.journey_kit import days, eventually, payment, refund, running_worker
from tests.lifecycle_kit import (
    customer_row,
    daytime_zone,
    has,
    ledger,
    server_now,
    sign_up,
    template_data,
    timeline,
    wait_for,
)


async def start_referrer(tenure, engine, cid: str, tz: str) -> str:
    await tenure.send(cid, sign_up(cid, tz))
    code = code_for(cid)
    await eventually(
        lambda: asyncio.to_thread(customer_row, engine, cid),
        lambda row: row is not None and row["referral_code"] == code,
    )
    return code


async def refer(tenure, referrer: str, referee: str, code: str, tz: str) -> None:
    """`referee` signs up with `code` and the referrer's journey learns of it."""
    await tenure.send(referee, sign_up(referee, tz, code=code))
    await wait_for(tenure, referrer, f"{referee} signed up with your code")


async def test_referral_points_pending_for_the_hold_then_released(time_env, program, tmp_path):
    tz = daytime_zone(await server_now(time_env))
    async with running_worker(time_env.client, program, tmp_path) as (tenure, engine):
        code = await start_referrer(tenure, engine, "cus_ann", tz)
        await refer(tenure, "cus_ann", "cus_bob", code, tz)
        assert has(await timeline(tenure, "cus_bob"), f"referred by cus_ann (code {code})")

        await tenure.send("cus_bob", payment(1))
        s = await eventually(lambda: tenure.summary("cus_ann"), lambda s: s.pending == 200)
        assert s.balance == 0
        (held,) = s.pending_lots
        paid_at = next(i.at for i in await timeline(tenure, "cus_bob") if i.kind == "payment")
        assert held.source == "referral" and held.release_at - paid_at < days(14) + days(1 / 24)
        assert held.release_at - paid_at >= days(14) - days(1 / 24)
        assert [r["kind"] for r in await ledger(tenure, engine, "cus_ann")] == ["pending"]
        mails = await eventually(
            lambda: asyncio.to_thread(template_data, engine, "cus_ann", "referral_pending"), lambda m: len(m) == 1
        )
        assert mails[0]["points"] == 200 and mails[0]["referee"] == "cus_bob"

        await time_env.sleep(days(13))
        await asyncio.sleep(0.3)
        s = await tenure.summary("cus_ann")
        assert (s.pending, s.balance) == (200, 0), "still on hold at day 13"

        await time_env.sleep(days(1.1))
        s = await eventually(lambda: tenure.summary("cus_ann"), lambda s: s.balance == 200)
        assert s.pending == 0
        rows = await ledger(tenure, engine, "cus_ann")
        assert [r["kind"] for r in rows] == ["pending", "pending_released", "earn"]
        assert rows[2]["points"] == 200 and rows[2]["reason"] == "referral"
        assert sum(r["points"] for r in rows) == 200 and sum(r["pending_points"] for r in rows) == 0
        assert (await tenure.summary("cus_bob")).balance == 100, "the referee earns its own payment only"


async def test_refund_inside_the_hold_voids_the_pending_points(time_env, program, tmp_path):
    tz = daytime_zone(await server_now(time_env))
    async with running_worker(time_env.client, program, tmp_path) as (tenure, engine):
        code = await start_referrer(tenure, engine, "cus_ann", tz)
        await refer(tenure, "cus_ann", "cus_bob", code, tz)
        await tenure.send("cus_bob", payment(1))
        await eventually(lambda: tenure.summary("cus_ann"), lambda s: s.pending == 200)

        await time_env.sleep(days(5))
        await tenure.send("cus_bob", refund(1))
        s = await eventually(lambda: tenure.summary("cus_ann"), lambda s: s.pending == 0)
        assert s.balance == 0
        items = await wait_for(tenure, "cus_ann", "200 pending points voided: referee cus_bob's payment refunded")
        assert has(items, "200 pending points voided")

        await time_env.sleep(days(10))  # past the end of the hold: nothing is released
        await tenure.send("cus_ann", payment(7))  # a marker processed after the hold's end
        s = await eventually(lambda: tenure.summary("cus_ann"), lambda s: s.lifetime_points > 0)
        assert s.balance == 100 and s.pending == 0
        kinds = [r["kind"] for r in await ledger(tenure, engine, "cus_ann")]
        assert kinds == ["pending", "pending_voided", "earn"], kinds
        assert "pending_released" not in kinds


async def test_referee_paying_at_once_after_sign_up_still_credits_the_referrer(time_env, program, tmp_path):
    """The checkout often pays in the same second as the sign-up: the referral lookup must not lose it."""
    tz = daytime_zone(await server_now(time_env))
    async with running_worker(time_env.client, program, tmp_path) as (tenure, engine):
        code = await start_referrer(tenure, engine, "cus_ann", tz)
        await tenure.send("cus_bob", sign_up("cus_bob", tz, code=code))
        await tenure.send("cus_bob", payment(1))
        s = await eventually(lambda: tenure.summary("cus_ann"), lambda s: s.pending == 200)
        assert s.balance == 0


async def test_self_referral_second_referral_and_unknown_code_are_refused(time_env, program, tmp_path):
    tz = daytime_zone(await server_now(time_env))
    async with running_worker(time_env.client, program, tmp_path) as (tenure, engine):
        code_ann = await start_referrer(tenure, engine, "cus_ann", tz)
        code_dan = await start_referrer(tenure, engine, "cus_dan", tz)

        # self-referral: Ann signs up (again) with her own code
        await tenure.send("cus_ann", sign_up("cus_ann", tz, code=code_ann.lower(), n=1))
        await wait_for(tenure, "cus_ann", f"referral code {code_ann.lower()} refused: self-referral")

        # a second referral of the same customer: Cat was referred by Ann, then signs up with Dan's code
        await refer(tenure, "cus_ann", "cus_cat", code_ann, tz)
        await tenure.send("cus_cat", sign_up("cus_cat", tz, code=code_dan, n=1))
        await wait_for(tenure, "cus_cat", f"referral code {code_dan} refused: this customer was already referred")

        # a code nobody has
        await tenure.send("cus_eve", sign_up("cus_eve", tz, code="TNOSUCHCODE"))
        await wait_for(tenure, "cus_eve", "referral code TNOSUCHCODE refused: no member has this code")

        # all three pay: only Cat's payment credits anybody, and only Ann
        for n, cid in enumerate(("cus_ann", "cus_cat", "cus_eve")):
            await tenure.send(cid, payment(n))
        await eventually(lambda: tenure.summary("cus_ann"), lambda s: s.pending == 200)
        await asyncio.sleep(0.5)
        assert (await tenure.summary("cus_dan")).pending == 0
        assert "pending" not in [r["kind"] for r in await ledger(tenure, engine, "cus_dan")]
        assert [p.source for p in (await tenure.summary("cus_ann")).pending_lots] == ["referral"]
        assert (await tenure.summary("cus_eve")).pending == 0


async def test_five_rewarded_referrals_earn_the_badge(time_env, program, tmp_path):
    tz = daytime_zone(await server_now(time_env))
    async with running_worker(time_env.client, program, tmp_path) as (tenure, engine):
        code = await start_referrer(tenure, engine, "cus_ann", tz)
        friends = [f"cus_friend{i}" for i in range(5)]
        for f in friends:
            await refer(tenure, "cus_ann", f, code, tz)
        for i, f in enumerate(friends[:4]):
            await tenure.send(f, payment(i))
        await eventually(lambda: tenure.summary("cus_ann"), lambda s: s.pending == 800)
        await time_env.sleep(days(1))
        await tenure.send(friends[4], payment(4))
        await eventually(lambda: tenure.summary("cus_ann"), lambda s: s.pending == 1000)

        await time_env.sleep(days(13.05))  # day 14: four released, no badge yet
        await eventually(lambda: tenure.summary("cus_ann"), lambda s: s.balance == 800)
        assert "badge five-referrals" not in [r["reason"] for r in await ledger(tenure, engine, "cus_ann")]

        await time_env.sleep(days(1.1))
        s = await eventually(lambda: tenure.summary("cus_ann"), lambda s: s.pending == 0 and s.balance >= 1000)
        items = await wait_for(tenure, "cus_ann", "badge '5 referrals' awarded")
        assert s.balance == 5 * 200 + 500
        bonus = [r for r in await ledger(tenure, engine, "cus_ann") if r["reason"] == "badge five-referrals"]
        assert len(bonus) == 1 and bonus[0]["points"] == 500
        assert sum(1 for i in items if "badge '5 referrals' awarded" in i.text) == 1


def test_payment_handled_before_the_referral_lookup_returns_still_tells_the_referrer(program):
    """In the workflow, signals delivered in one activation all run before the outbox is delivered:
    a sign-up with a code and the first payment can both be applied before the referrer lookup
    answers. The referrer must still hear of the payment."""
    from datetime import datetime

    from domain.account import Account
    from domain.effects import Effects
    from domain.messages import ReferralLinked, ReferralPaid
    from domain.rules import AccountRules

    now = datetime(2026, 6, 1, 12, tzinfo=UTC)
    rules = AccountRules(Account.open("cus_bob", program, now), lifecycle=True)
    fx = Effects()
    rules.on_signed_up(fx, now, sign_up("cus_bob", "UTC", code=code_for("cus_ann")))
    rules.on_payment(fx, now, payment(1))
    assert fx.lookups == [code_for("cus_ann")] and not fx.signals

    later = Effects()
    rules.on_referrer_found(later, now, code_for("cus_ann"), "cus_ann")
    events = [s.event for s in later.signals]
    assert [s.to_customer_id for s in later.signals] == ["cus_ann", "cus_ann"]
    assert ReferralLinked.model_validate(events[0]).referee_id == "cus_bob"
    paid = ReferralPaid.model_validate(events[1])
    assert (paid.referee_id, paid.invoice_id) == ("cus_bob", "in_1")


def test_first_payment_refunded_before_the_lookup_returns_earns_the_referrer_nothing(program):
    from datetime import datetime

    from domain.account import Account
    from domain.effects import Effects
    from domain.rules import AccountRules

    now = datetime(2026, 6, 1, 12, tzinfo=UTC)
    rules = AccountRules(Account.open("cus_bob", program, now), lifecycle=True)
    fx = Effects()
    rules.on_signed_up(fx, now, sign_up("cus_bob", "UTC", code=code_for("cus_ann")))
    rules.on_payment(fx, now, payment(1))
    rules.on_refund(fx, now, refund(1))
    later = Effects()
    rules.on_referrer_found(later, now, code_for("cus_ann"), "cus_ann")
    assert [s.event["type"] for s in later.signals] == ["referral_linked"]
    assert has(rules.a.timeline, "first payment in_1 already refunded: no referral reward")


def test_a_mistyped_code_does_not_use_up_the_referral(program):
    from datetime import datetime

    from domain.account import Account
    from domain.effects import Effects
    from domain.rules import AccountRules

    now = datetime(2026, 6, 1, 12, tzinfo=UTC)
    rules = AccountRules(Account.open("cus_bob", program, now), lifecycle=True)
    fx = Effects()
    rules.on_signed_up(fx, now, sign_up("cus_bob", "UTC", code="TYPO1234"))
    rules.on_referrer_found(Effects(), now, "TYPO1234", None)
    assert has(rules.a.timeline, "referral code TYPO1234 refused: no member has this code")
    retry = Effects()
    rules.on_signed_up(
        retry, now, sign_up("cus_bob", "UTC", code=code_for("cus_ann")).model_copy(update={"event_id": "su_again"})
    )
    assert retry.lookups == [code_for("cus_ann")], "the right code is looked up after a typo"
