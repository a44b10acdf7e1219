"""`TenureClient`'s typed errors: how Temporal's exceptions become them, and how the API and the CLI
answer each one.

The refusal contract (domain/refusals.py: `ApplicationError(message, code, type="Refused")`) is
proven against a real dev server with a stand-in journey that refuses that way; the older shape
without a code (still raised by the journey until it sends codes) is covered by the legacy cases.
"""

from __future__ import annotations

import json
import uuid

import pytest
from temporalio import workflow
from temporalio.client import WorkflowQueryFailedError, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from domain.journey import REDEEM_UPDATE, workflow_id
from domain.messages import RedeemRequest, RedeemResult
from domain.refusals import REFUSED_ERROR_TYPE
from starter.api.errors import from_journey_error
from starter.cli.context import journey_message
from starter.client import (
    JourneyFailed,
    JourneyRefused,
    JourneyUnavailable,
    NoJourney,
    TemporalRejected,
    TenureClient,
)
from starter.client.temporal_errors import journey_error
from tests.api_kit import AUTH, api_settings, app_client

# ---- Temporal's exceptions -> typed errors ------------------------------------------------------


def refusal(message: str, *details: str, type_: str = REFUSED_ERROR_TYPE) -> JourneyRefused:
    e = journey_error(WorkflowUpdateFailedError(ApplicationError(message, *details, type=type_)), "cus_1")
    assert isinstance(e, JourneyRefused)
    return e


def test_refusals_with_a_code():
    e = refusal("not enough points: 500 asked, 0 available", "insufficient_points")
    assert (e.code, e.message, e.invalid) == ("insufficient_points", "not enough points: 500 asked, 0 available", False)
    e = refusal("at least 100 points per redemption", "below_minimum")
    assert (e.code, e.invalid) == ("below_minimum", True)
    e = refusal("billing said no", "credit_refused")
    assert (e.code, e.invalid) == ("credit_refused", False)


def test_refusals_without_a_code_are_conflicts():
    e = refusal("unknown reward 'yacht'")
    assert (e.code, e.invalid) == (None, False), "no code is guessed from the words"
    e = refusal("update failed", type_="SomethingElse")
    assert (e.code, e.invalid) == (None, False)
    e = refusal("no such code here", "not_a_code")
    assert (e.code, e.invalid) == (None, False), "an unknown first detail is not taken for a code"


def test_rpc_errors():
    def rpc(status: RPCStatusCode, message: str, **kw) -> object:
        return journey_error(RPCError(message, status, b""), "cus_1", query_timeout=10.0, **kw)

    missing = rpc(RPCStatusCode.NOT_FOUND, "workflow not found")
    assert isinstance(missing, NoJourney) and missing.customer_id == "cus_1"
    namespace = rpc(RPCStatusCode.NOT_FOUND, "namespace not found", must_exist=False)
    assert isinstance(namespace, TemporalRejected) and namespace.status == "NOT_FOUND"
    # a namespace that is none (TENURE_TEMPORAL_NAMESPACE, --namespace mistyped) is not "no journey"
    wrong = rpc(RPCStatusCode.NOT_FOUND, "Namespace nope is not found.")
    assert isinstance(wrong, TemporalRejected) and wrong.message == "Namespace nope is not found.", wrong
    for status, message in (
        (RPCStatusCode.DEADLINE_EXCEEDED, "Timeout expired"),
        (RPCStatusCode.CANCELLED, "operation timed out"),
        (RPCStatusCode.FAILED_PRECONDITION, "no poller seen for task queue recently"),
    ):
        e = rpc(status, message)
        assert isinstance(e, JourneyUnavailable) and (e.kind, e.timeout, e.customer_id) == ("no_worker", 10.0, "cus_1")
    down = rpc(RPCStatusCode.UNAVAILABLE, "connection refused")
    assert isinstance(down, JourneyUnavailable) and (down.kind, down.status) == ("unreachable", "UNAVAILABLE")
    # the HTTP/2 connection broke mid-call (seen in CI against the time-skipping server): try again, not "refused"
    dropped = rpc(RPCStatusCode.CANCELLED, "h2 protocol error: http2 error")
    assert isinstance(dropped, JourneyUnavailable) and (dropped.kind, dropped.status) == ("unreachable", "CANCELLED")
    cancelled = rpc(RPCStatusCode.CANCELLED, "the call was cancelled")
    assert isinstance(cancelled, TemporalRejected), "a CANCELLED, not a broken connection: Temporal's answer"
    stuck = rpc(RPCStatusCode.FAILED_PRECONDITION, "Unable to query workflow due to Workflow Task in failed state.")
    assert isinstance(stuck, JourneyUnavailable) and (stuck.kind, stuck.customer_id) == ("stuck", "cus_1")
    bad = rpc(RPCStatusCode.INVALID_ARGUMENT, "id too long")
    assert isinstance(bad, TemporalRejected) and (bad.status, bad.message) == ("INVALID_ARGUMENT", "id too long")


def test_other_failures():
    late = journey_error(TimeoutError(), "cus_1", deadline=5.0)
    assert isinstance(late, JourneyUnavailable) and (late.kind, late.timeout) == ("timed_out", 5.0)
    refused_network = journey_error(ConnectionRefusedError("refused"), "cus_1")
    assert isinstance(refused_network, JourneyUnavailable) and refused_network.kind == "unreachable"
    broken = journey_error(WorkflowQueryFailedError("query handler raised"), "cus_1")
    assert isinstance(broken, JourneyFailed) and broken.message == "query handler raised"
    assert journey_error(ValueError("a bug"), "cus_1") is None, "not Temporal's: let it through"


# ---- the contract, end to end -----------------------------------------------------------------


@workflow.defn(name="RefusingJourney")
class RefusingJourney:
    """Stands in for the journey: refuses every redemption the way domain/refusals.py says."""

    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: False)

    @workflow.update(name=REDEEM_UPDATE)
    async def redeem(self, request: RedeemRequest) -> RedeemResult:
        raise ApplicationError("billing refused: card expired", "credit_refused", type=REFUSED_ERROR_TYPE)

    @redeem.validator
    def check_redeem(self, request: RedeemRequest) -> None:
        if request.points and request.points > 100:
            raise ApplicationError(
                f"not enough points: {request.points} asked, 100 available",
                "insufficient_points",
                type=REFUSED_ERROR_TYPE,
            )


async def test_refusal_codes_travel_from_the_journey_to_the_client(dev_env, task_queue):
    tenure = TenureClient(dev_env.client, task_queue=task_queue)
    cid = f"refuse_{uuid.uuid4().hex[:8]}"
    with pytest.raises(NoJourney):
        await tenure.redeem(cid, RedeemRequest(request_id="r0", points=50))
    async with Worker(
        dev_env.client, task_queue=task_queue, workflows=[RefusingJourney], workflow_runner=UnsandboxedWorkflowRunner()
    ):
        handle = await dev_env.client.start_workflow(RefusingJourney.run, id=workflow_id(cid), task_queue=task_queue)
        try:
            with pytest.raises(JourneyRefused) as refused:
                await tenure.redeem(cid, RedeemRequest(request_id="r1", points=500))
            assert (refused.value.code, refused.value.invalid) == ("insufficient_points", False)
            assert refused.value.message == "not enough points: 500 asked, 100 available"
            with pytest.raises(JourneyRefused) as credit:
                await tenure.redeem(cid, RedeemRequest(request_id="r2", points=50))
            assert (credit.value.code, credit.value.message) == ("credit_refused", "billing refused: card expired")
        finally:
            await handle.terminate("test over")


# ---- the API's answers -------------------------------------------------------------------------


class Refusing:
    """Stands in for TenureClient: every journey call fails with `error`."""

    def __init__(self, error: Exception):
        self.error = error

    async def summary(self, customer_id):
        raise self.error

    async def redeem(self, customer_id, request):
        raise self.error

    async def exists(self, customer_id):
        if isinstance(self.error, NoJourney):  # as TenureClient.exists answers
            return False
        raise self.error


@pytest.fixture
async def http(program, tmp_path):
    async with app_client(api_settings(data_dir=tmp_path), client=object(), program=program) as client:
        yield client


@pytest.mark.parametrize(
    "error, status, body",
    [
        (
            NoJourney("cus_Z"),
            404,
            {
                "error": "no journey for customer 'cus_Z'",
                "detail": "a journey starts with the customer's first event (a webhook or POST /events)",
            },
        ),
        (
            JourneyRefused("insufficient_points", "not enough points: 500 asked, 0 available"),
            409,
            {
                "error": "not enough points: 500 asked, 0 available",
                "detail": {"refused_by": "journey", "type": "Refused", "code": "insufficient_points"},
            },
        ),
        (
            JourneyRefused("unknown_reward", "unknown reward 'yacht'"),
            422,
            {
                "error": "unknown reward 'yacht'",
                "detail": {"refused_by": "journey", "type": "Refused", "code": "unknown_reward"},
            },
        ),
        (
            JourneyRefused(None, "at least 100 points per redemption", invalid=True),
            422,
            {"error": "at least 100 points per redemption", "detail": {"refused_by": "journey", "type": "Refused"}},
        ),
        (
            JourneyRefused("credit_refused", "card expired"),
            409,
            {"error": "billing refused the credit; the points were returned", "detail": "card expired"},
        ),
        (
            JourneyUnavailable("no answer within 20 s", kind="timed_out", timeout=20.0),
            503,
            {
                "error": "Temporal did not answer within 20 s",
                "detail": "retry later, a retry is safe (is Temporal up, and for queries and redemptions, a worker?)",
            },
        ),
        (
            JourneyUnavailable("update timed out", kind="timed_out"),
            503,
            {"error": "the journey did not answer in time", "detail": "retry with the same Idempotency-Key"},
        ),
        (
            JourneyUnavailable("no poller", kind="no_worker", status="FAILED_PRECONDITION"),
            503,
            {"error": "Temporal is unavailable", "detail": "FAILED_PRECONDITION: no poller"},
        ),
        (
            JourneyUnavailable("Workflow Task in failed state.", kind="stuck", customer_id="cus_Z"),
            503,
            {
                "error": "the journey cannot answer: its workflow task keeps failing",
                "detail": "support: `tenure doctor cus_Z` says why (Temporal: Workflow Task in failed state.)",
            },
        ),
        (
            JourneyUnavailable("127.0.0.1:1: refused"),
            503,
            {"error": "Temporal is unreachable", "detail": "127.0.0.1:1: refused"},
        ),
        (
            TemporalRejected("INVALID_ARGUMENT", "id too long"),
            422,
            {"error": "Temporal refused the request", "detail": "id too long"},
        ),
        (
            TemporalRejected("PERMISSION_DENIED", "no"),
            503,
            {"error": "Temporal is unavailable", "detail": "PERMISSION_DENIED: no"},
        ),
        (
            JourneyFailed("cus_Z", "query raised"),
            500,
            {"error": "the journey could not answer", "detail": "query raised"},
        ),
    ],
)
async def test_the_api_answers_each_typed_error(http, error, status, body):
    http.app.state.services._tenure = Refusing(error)
    r = await http.post("/members/cus_Z/redemptions", json={"points": 500}, headers={**AUTH, "Idempotency-Key": "k-1"})
    assert (r.status_code, r.json()) == (status, body)
    assert ("retry-after" in r.headers) == (status == 503)
    assert from_journey_error(error).status == status
    if not isinstance(error, JourneyRefused):  # a query answers the same way
        r = await http.get("/members/cus_Z", headers=AUTH)
        assert (r.status_code, r.json()) == (status, body)


async def test_an_empty_ledger_is_404_only_without_a_journey(http):
    http.app.state.services._tenure = Refusing(NoJourney("cus_Y"))
    r = await http.get("/members/cus_Y/ledger", headers=AUTH)
    assert r.status_code == 404 and json.loads(r.text)["error"] == "no journey for customer 'cus_Y'"
    http.app.state.services._tenure = Refusing(JourneyUnavailable("down"))
    r = await http.get("/members/cus_Y/ledger", headers=AUTH)
    assert r.status_code == 503 and r.headers["retry-after"], "no entries and Temporal unreachable: cannot tell"
    assert r.json()["error"] == "cannot tell whether customer 'cus_Y' has a journey", r.text


# ---- the CLI's words --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "error, message",
    [
        (NoJourney("cus_1"), "no journey for customer cus_1"),
        (JourneyRefused("zero_adjustment", "points must not be zero"), "refused: points must not be zero"),
        (
            JourneyUnavailable("Timeout expired", kind="no_worker", customer_id="cus_1", timeout=10.0),
            "no worker answered for customer cus_1 within 10 s: is the worker (`make run`) up?",
        ),
        (
            JourneyUnavailable("connection refused", status="UNAVAILABLE"),
            "cannot reach Temporal at 127.0.0.1:7233: is `make run` up? (connection refused)",
        ),
        (
            JourneyUnavailable("late", kind="timed_out", customer_id="cus_1"),
            "the journey of customer cus_1 did not answer in time: is the worker (`make run`) up?",
        ),
        (
            JourneyUnavailable("Workflow Task in failed state.", kind="stuck", customer_id="cus_1"),
            "the journey of customer cus_1 cannot answer: its workflow task keeps failing "
            "(`tenure doctor cus_1` says why)",
        ),
        (TemporalRejected("INVALID_ARGUMENT", "id too long"), "Temporal refused: id too long"),
        (JourneyFailed("cus_1", "query raised"), "the journey of customer cus_1 could not answer: query raised"),
    ],
)
def test_the_cli_words_each_typed_error(error, message):
    assert journey_message(error, "127.0.0.1:7233") == message
