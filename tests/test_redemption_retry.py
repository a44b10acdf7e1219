"""A redemption is answered only once its billing credit is applied, the retry of one in flight too.

Before rules version 2 a client that retried with the same request id while the first attempt was
still waiting for billing got its answer at once (the already-known path returned), before the
credit existed. Here billing is held until the test lets it go, on the time-skipping server.
"""

from __future__ import annotations

import asyncio
import uuid

import sqlalchemy as sa
from temporalio import activity
from temporalio.worker import Worker

from activities import build_activities
from domain.effects import BillingCredit, CreditOutcome
from domain.messages import RedeemRequest
from settings import Settings
from starter.client import TenureClient
from storage.engine import create_engine_for
from storage.migrate import upgrade
from storage.schema import billing_credits
from tests.journey_kit import eventually, payment
from worker import RUNNER, WORKFLOWS


def credits(engine, customer_id: str) -> int:
    with engine.connect() as conn:
        query = sa.select(sa.func.count()).where(billing_credits.c.customer_id == customer_id)
        return conn.execute(query).scalar_one()


async def test_a_retried_redemption_is_answered_only_once_its_credit_is_applied(time_env, program, tmp_path):
    settings = Settings(data_dir=tmp_path, task_queue=f"tenure-{uuid.uuid4().hex[:8]}")
    engine = create_engine_for(settings.db_url())
    upgrade(engine)
    activities = build_activities(settings, engine, from_email="loyalty@example.com")
    apply_credit = next(a for a in activities if a.__name__ == "apply_credit")
    billing_open = asyncio.Event()

    @activity.defn(name="apply_credit")
    async def slow_billing(credit: BillingCredit) -> CreditOutcome:
        await billing_open.wait()
        return await apply_credit(credit)

    held = [slow_billing if a is apply_credit else a for a in activities]
    cid = "cus_retry"
    request = RedeemRequest(request_id="order-1", points=500)
    async with Worker(
        time_env.client, task_queue=settings.task_queue, workflows=WORKFLOWS, activities=held, workflow_runner=RUNNER
    ):
        tenure = TenureClient(time_env.client, program, settings.task_queue)
        await tenure.send(cid, payment(1, cadence="annual", amount=49000))
        before = await eventually(lambda: tenure.summary(cid), lambda s: "pay:in_1" in {x.lot_id for x in s.lots})
        first = asyncio.create_task(tenure.redeem(cid, request))
        await eventually(lambda: tenure.summary(cid), lambda s: s.balance == before.balance - 500)
        retry = asyncio.create_task(tenure.redeem(cid, request))  # the client gave up waiting and retries
        await asyncio.sleep(1.5)
        assert not retry.done(), "the retry must wait for the credit, as the first attempt does"
        assert not first.done() and credits(engine, cid) == 0
        billing_open.set()
        answers = await asyncio.gather(first, retry)
        assert credits(engine, cid) == 1
        assert answers[0] == answers[1] and answers[0].credit_minor == 500
    engine.dispose()
