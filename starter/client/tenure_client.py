"""`TenureClient`: the only door to a journey, for the API, the CLI, reconcile, tools and tests.

Events go in with signal-with-start (`send`), so a customer's first event opens their journey;
`signal` delivers one only to a journey that exists. Updates (redeem, adjust, set a minimum tier,
adopt a program, apply a campaign) and queries never open one: they answer `NoJourney` for a customer without a
journey. Every failure comes out as one of the typed errors
of `starter.client.errors`, never as Temporal's own exceptions.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy.engine import Engine
from temporalio.api.common.v1 import Payload, WorkflowExecution
from temporalio.api.workflowservice.v1 import (
    DeleteWorkflowExecutionRequest,
    DescribeNamespaceRequest,
    GetWorkflowExecutionHistoryRequest,
)
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.common import RawValue
from temporalio.service import RPCError, RPCStatusCode

from domain.account import Account
from domain.campaign_touch import CampaignTouch, TouchResult
from domain.erasure import ErasureRequest, ErasureResult
from domain.journey import (
    ACCOUNT_QUERY,
    ADJUST_UPDATE,
    ADOPT_PROGRAM_UPDATE,
    CAMPAIGN_UPDATE,
    ERASE_UPDATE,
    EVENT_SIGNAL,
    HISTORY_BUDGET,
    RECONCILE_QUERY,
    REDEEM_UPDATE,
    SET_MINIMUM_TIER_UPDATE,
    SUMMARY_QUERY,
    TIMELINE_QUERY,
    UPCOMING_QUERY,
    WORKFLOW_NAME,
    JourneyInput,
    customer_of,
    workflow_id,
)
from domain.messages import (
    AdjustRequest,
    AdjustResult,
    CustomerEvent,
    EventEnvelope,
    MinimumTierRequest,
    RedeemRequest,
    RedeemResult,
)
from domain.program import Program
from domain.program.content import content_hash
from domain.summary import ReconcileView, Summary, Timeline
from domain.upcoming import UpcomingView
from storage.programs import store_program

from .campaigns import CampaignClient
from .errors import JourneyRefused, JourneyUnavailable, NoJourney
from .health import JourneyHealth, describe_health
from .temporal_errors import journey_error
from .tier_bounds import until_problem

T = TypeVar("T")
log = logging.getLogger("tenure.client")

HEALTH_CHECK_TIMEOUT = timedelta(seconds=2)
STORE_RETRY_SECONDS = 30.0  # after the program store refused a write, journeys carry the program whole this long


@dataclass(frozen=True)
class JourneyRun:
    """One run of a customer's workflow id (each continue-as-new starts another)."""

    run_id: str
    status: str  # WorkflowExecutionStatus's name, or "UNKNOWN" when only the chain of runs named it

    @property
    def running(self) -> bool:
        return self.status == WorkflowExecutionStatus.RUNNING.name


def start_input(
    customer_id: str, program: Program, history_budget: int | None = None, by_hash: bool = False
) -> JourneyInput:
    """What a new journey starts with (also printed by `tenure member start-input`): the program whole,
    or `by_hash`, its content hash (the program must be in the worker's program store first)."""
    budget = history_budget or HISTORY_BUDGET
    if by_hash:
        return JourneyInput.new(customer_id, program_hash=content_hash(program), history_budget=budget)
    return JourneyInput.new(customer_id, program, history_budget=budget)


_PLACEHOLDER = "cus_\u2063start-input-placeholder\u2063"  # no customer id has it (invisible separators)
_PLAIN_ID = re.compile(r"[A-Za-z0-9_.:@+-]{1,200}")  # JSON writes these as they are, however serialized


class StartInputs:
    """Every signal-with-start carries a start input: the customer id and the program (its content
    hash, or ~6.5 KB of JSON without a store), serialized anew per event although only the id differs.
    This serializes the input once per program, around a placeholder id, and splices each id in: byte
    for byte the payload the data converter makes (tests/test_start_input_cache.py), at a fraction of
    the cost (bench/RESULTS.md)."""

    def __init__(self, client: Client, program: Program, history_budget: int | None, by_hash: bool = False) -> None:
        (template,) = client.data_converter.payload_converter.to_payloads(
            [start_input(_PLACEHOLDER, program, history_budget, by_hash)]
        )
        self.metadata = dict(template.metadata)
        self.parts = template.data.split(json.dumps(_PLACEHOLDER, ensure_ascii=False).encode())
        self.program = program
        self.history_budget = history_budget
        self.by_hash = by_hash
        self.client = client

    def for_customer(self, customer_id: str) -> Any:
        if len(self.parts) < 2 or not _PLAIN_ID.fullmatch(customer_id):
            return start_input(customer_id, self.program, self.history_budget, self.by_hash)  # the converter's way
        data = json.dumps(customer_id).encode().join(self.parts)
        return RawValue(Payload(metadata=self.metadata, data=data))


class TenureClient:
    """Ask journeys things, with bounded waits and typed errors.

    `program`: what a journey opened by `send` runs (None for a client that only reads and updates,
    like the CLI). `programs`: the database whose program store (storage/programs.py) the workers
    read; with it, `send` stores the program there once and new journeys name it by content hash,
    without it they carry it whole. `query_timeout`: how long Temporal may look for a worker to answer a query.
    `call_timeout` / `update_timeout`: optional deadlines on the whole call (signals, queries /
    updates); past them the call ends with `JourneyUnavailable(kind="timed_out")`.
    """

    def __init__(
        self,
        client: Client,
        program: Program | None = None,
        task_queue: str = "tenure",
        history_budget: int | None = None,
        query_timeout: timedelta = timedelta(seconds=10),
        call_timeout: timedelta | None = None,
        update_timeout: timedelta | None = None,
        programs: Engine | None = None,
    ):
        self.client = client
        self.programs = programs
        self._stored: Program | None = None  # the program last stored in `programs` by this client
        self._storing = asyncio.Lock()
        self._store_failed_at = -STORE_RETRY_SECONDS
        self.program = program
        self.task_queue = task_queue
        self.history_budget = history_budget
        self.query_timeout = query_timeout
        self.call_timeout = call_timeout
        self.update_timeout = update_timeout
        self._start_inputs: StartInputs | None = None

    def _start_input(self, customer_id: str, program: Program) -> Any:
        by_hash = self.programs is not None and self._stored is program
        cached = self._start_inputs
        if (
            cached is None
            or cached.program is not program
            or cached.history_budget != self.history_budget
            or cached.by_hash != by_hash
        ):
            cached = self._start_inputs = StartInputs(self.client, program, self.history_budget, by_hash)
        return cached.for_customer(customer_id)

    async def _store_program(self, program: Program) -> None:
        """Put the program in the store before the first start that names its hash (idempotent)."""
        if self.programs is None or self._stored is program:
            return
        if time.monotonic() - self._store_failed_at < STORE_RETRY_SECONDS:
            return
        async with self._storing:
            if self._stored is not program:
                try:
                    await asyncio.to_thread(store_program, self.programs, program)
                except Exception as e:  # the database is down: journeys get the program whole, as before
                    self._store_failed_at = time.monotonic()
                    log.warning("could not store program %s, journeys get it whole: %s", program.version, e)
                    return
                self._stored = program

    def campaigns(self, engine: Engine) -> CampaignClient:
        """Campaigns (definitions in `engine`'s database, runs on this client's Temporal)."""
        return CampaignClient(self.client, engine, self.task_queue)

    def handle(self, customer_id: str) -> WorkflowHandle:
        """The journey's workflow handle, for its history (tests, tools); its handlers go through the methods."""
        return self.client.get_workflow_handle(workflow_id(customer_id))

    # ---- events ---------------------------------------------------------------------------------

    async def send(self, customer_id: str, event: CustomerEvent) -> None:
        """Deliver one fact, opening the journey if needed; returns once Temporal has durably accepted it."""
        if self.program is None:
            raise ValueError("this TenureClient has no program: it cannot open a journey")
        await self._store_program(self.program)
        start = self.client.start_workflow(
            WORKFLOW_NAME,
            self._start_input(customer_id, self.program),
            id=workflow_id(customer_id),
            task_queue=self.task_queue,
            start_signal=EVENT_SIGNAL,
            start_signal_args=[EventEnvelope(event=event)],
        )
        await self._call(customer_id, start, self.call_timeout, must_exist=False)

    async def signal(self, customer_id: str, event: CustomerEvent) -> None:
        """Deliver one fact to a journey that exists, never opening one: `NoJourney` otherwise (facts
        about mail Tenure sent, e.g. SendGrid's, mean nothing to a customer Tenure does not know)."""
        work = self.handle(customer_id).signal(EVENT_SIGNAL, EventEnvelope(event=event))
        await self._call(customer_id, work, self.call_timeout)

    # ---- updates: answered by the journey, never opening one ------------------------------------

    async def redeem(self, customer_id: str, request: RedeemRequest) -> RedeemResult:
        return await self._update(customer_id, REDEEM_UPDATE, request, RedeemResult)

    async def adjust(self, customer_id: str, request: AdjustRequest) -> AdjustResult:
        return await self._update(customer_id, ADJUST_UPDATE, request, AdjustResult)

    async def set_minimum_tier(self, customer_id: str, request: MinimumTierRequest) -> Summary:
        """Refused here (JourneyRefused, invalid) when `until` is past or more than five years ahead
        (tier_bounds.py): the journey's own check stays as its histories recorded it."""
        now = datetime.now(UTC)
        problem = until_problem(request.until, now)
        if problem is not None:
            raise JourneyRefused("until_not_future" if request.until <= now else None, problem, invalid=True)
        return await self._update(customer_id, SET_MINIMUM_TIER_UPDATE, request, Summary)

    async def adopt_program(self, customer_id: str, program: Program) -> str:
        """Move a running journey to `program`; answers the version it ran before."""
        return await self._update(customer_id, ADOPT_PROGRAM_UPDATE, program, str)

    async def apply_campaign(self, customer_id: str, touch: CampaignTouch) -> TouchResult:
        """Let a campaign reach one member's journey; a repeated campaign id answers the first result."""
        return await self._update(customer_id, CAMPAIGN_UPDATE, touch, TouchResult)

    async def erase(self, customer_id: str, request: ErasureRequest) -> ErasureResult:
        """Scrub the member's personal data in their journey, which then continues as new (domain/erasure.py)."""
        return await self._update(customer_id, ERASE_UPDATE, request, ErasureResult)

    # ---- queries --------------------------------------------------------------------------------

    async def account(self, customer_id: str) -> Account:
        """Everything the journey holds about the member (its whole state), for an export."""
        return await self._query(customer_id, ACCOUNT_QUERY, Account)

    async def summary(self, customer_id: str) -> Summary:
        return await self._query(customer_id, SUMMARY_QUERY, Summary)

    async def timeline(self, customer_id: str, limit: int = 100) -> Timeline:
        return await self._query(customer_id, TIMELINE_QUERY, Timeline, limit)

    async def upcoming(self, customer_id: str) -> UpcomingView:
        """What will happen to the member next, and when (lots expiring, journey steps, the tier year's end)."""
        return await self._query(customer_id, UPCOMING_QUERY, UpcomingView)

    async def reconcile_view(self, customer_id: str) -> ReconcileView:
        return await self._query(customer_id, RECONCILE_QUERY, ReconcileView)

    # ---- Temporal itself --------------------------------------------------------------------------

    async def health(self, customer_id: str) -> JourneyHealth:
        """Whether the journey's workflow task or activities are being retried, and why (`tenure doctor`)."""

        async def work() -> JourneyHealth:
            description = await self.handle(customer_id).describe()
            return await describe_health(self.client, customer_id, description)

        return await self._call(customer_id, work(), self.call_timeout)

    async def running_customers(self) -> list[str]:
        """The customers whose journey runs on this client's task queue, from Temporal's visibility store."""

        async def work() -> list[str]:
            query = (
                f"WorkflowType = '{WORKFLOW_NAME}' AND ExecutionStatus = 'Running' AND TaskQueue = '{self.task_queue}'"
            )
            return [customer_of(w.id) async for w in self.client.list_workflows(query)]

        return await self._call(None, work(), self.call_timeout, must_exist=False)

    async def runs(self, customer_id: str) -> list[JourneyRun]:
        """Every run Temporal still keeps under the customer's workflow id, newest first: the chain of
        continue-as-new back from the current run, and any other its visibility store lists (a journey
        ended and opened again) whose history is still there (visibility lags behind a deletion)."""

        async def work() -> list[JourneyRun]:
            wid = workflow_id(customer_id)
            found: dict[str, JourneyRun] = {}
            query = "WorkflowId = '{}'".format(wid.replace("\\", "\\\\").replace("'", "\\'"))
            async for w in self.client.list_workflows(query):
                status = w.status.name if w.status is not None else "UNKNOWN"
                found[w.run_id] = JourneyRun(w.run_id, status)
            try:
                current = await self.handle(customer_id).describe()
            except RPCError as e:
                if e.status != RPCStatusCode.NOT_FOUND:
                    raise
                return [r for r in found.values() if await self._history_exists(wid, r.run_id)]
            status = current.status.name if current.status is not None else "UNKNOWN"
            chain = [JourneyRun(current.run_id, status)]
            previous = await self._previous_run(wid, current.run_id)
            while previous is not None and previous not in {r.run_id for r in chain}:
                before = await self._previous_run(wid, previous)
                if before is None and not await self._history_exists(wid, previous):
                    break  # deleted, or past the namespace's retention
                chain.append(found.get(previous, JourneyRun(previous, "UNKNOWN")))
                previous = before
            others = [r for r in found.values() if r.run_id not in {c.run_id for c in chain}]
            # the visibility store may still list a run deleted a moment ago: its history says
            return chain + [r for r in others if await self._history_exists(wid, r.run_id)]

        return await self._call(customer_id, work(), self.call_timeout, must_exist=False)

    async def _previous_run(self, wid: str, run_id: str) -> str | None:
        """The run this one continued (its first event says), None for a first run or one already gone."""
        request = GetWorkflowExecutionHistoryRequest(
            namespace=self.client.namespace,
            execution=WorkflowExecution(workflow_id=wid, run_id=run_id),
            maximum_page_size=1,
        )
        try:
            history = await self.client.workflow_service.get_workflow_execution_history(request)
        except RPCError as e:
            if e.status == RPCStatusCode.NOT_FOUND:
                return None
            raise
        if not history.history.events:
            return None
        started = history.history.events[0].workflow_execution_started_event_attributes
        return started.continued_execution_run_id or None

    async def wait_handed_over(self, customer_id: str, run_id: str, timeout: timedelta) -> str:
        """Wait until the run `run_id` has continued as new; returns the new run's id."""

        async def work() -> str:
            while True:
                described = await self.handle(customer_id).describe()
                if described.run_id != run_id:
                    return described.run_id
                await asyncio.sleep(0.2)

        try:
            return await self._call(customer_id, asyncio.wait_for(work(), timeout.total_seconds()), None)
        except TimeoutError:
            raise JourneyUnavailable(
                f"the journey did not continue as new within {timeout.total_seconds():g} s",
                kind="timed_out",
                customer_id=customer_id,
                timeout=timeout.total_seconds(),
            ) from None

    async def delete_runs(self, customer_id: str, run_ids: list[str]) -> None:
        """Delete these runs and their histories from Temporal (WorkflowService DeleteWorkflowExecution);
        a run already gone is no error. Temporal deletes in the background: `runs` stops listing them
        within seconds."""

        async def work() -> None:
            for run_id in run_ids:
                request = DeleteWorkflowExecutionRequest(
                    namespace=self.client.namespace,
                    workflow_execution=WorkflowExecution(workflow_id=workflow_id(customer_id), run_id=run_id),
                )
                try:
                    await self.client.workflow_service.delete_workflow_execution(request)
                except RPCError as e:
                    if e.status != RPCStatusCode.NOT_FOUND:
                        raise

        await self._call(customer_id, work(), self.call_timeout, must_exist=False)

    async def history_kept(self, customer_id: str, run_id: str) -> bool:
        """Whether Temporal still returns the history of this run."""
        return await self._call(
            customer_id,
            self._history_exists(workflow_id(customer_id), run_id),
            self.call_timeout,
            must_exist=False,
        )

    async def _history_exists(self, wid: str, run_id: str) -> bool:
        request = GetWorkflowExecutionHistoryRequest(
            namespace=self.client.namespace,
            execution=WorkflowExecution(workflow_id=wid, run_id=run_id),
            maximum_page_size=1,
        )
        try:
            await self.client.workflow_service.get_workflow_execution_history(request)
        except RPCError as e:
            if e.status == RPCStatusCode.NOT_FOUND:
                return False
            if e.status == RPCStatusCode.CANCELLED:  # a read that met the deletion under way: not gone yet
                return True
            raise
        return True

    async def exists(self, customer_id: str) -> bool:
        """Whether the customer has a journey (running or closed)."""
        try:
            await self._call(customer_id, self.handle(customer_id).describe(), self.call_timeout)
        except NoJourney:
            return False
        return True

    async def check_health(self) -> None:
        """Returns when Temporal's frontend answers for this client's namespace; `JourneyUnavailable` when
        it does not answer, `TemporalRejected` (NOT_FOUND) when the namespace does not exist: every journey
        call would fail then too, so a load balancer should not count this API as ready."""
        request = DescribeNamespaceRequest(namespace=self.client.namespace)
        check = self.client.workflow_service.describe_namespace(request, timeout=HEALTH_CHECK_TIMEOUT)
        await self._call(None, check, self.call_timeout, must_exist=False)

    # ---- the one way through --------------------------------------------------------------------

    async def _update(self, customer_id: str, name: str, argument: Any, result_type: type[T]) -> T:
        work = self.handle(customer_id).execute_update(name, argument, result_type=result_type)
        return await self._call(customer_id, work, self.update_timeout)

    async def _query(self, customer_id: str, name: str, result_type: type[T], *args: Any) -> T:
        work = self.handle(customer_id).query(
            name, args=list(args), result_type=result_type, rpc_timeout=self.query_timeout
        )
        return await self._call(customer_id, work, self.call_timeout, query_timeout=self.query_timeout)

    async def _call(
        self,
        customer_id: str | None,
        work: Awaitable[T],
        deadline: timedelta | None,
        *,
        must_exist: bool = True,
        query_timeout: timedelta | None = None,
    ) -> T:
        """Await one call to Temporal within `deadline`; its failure as a typed error."""
        seconds = deadline.total_seconds() if deadline is not None else None
        try:
            # a timeout scope, not asyncio.wait_for: wait_for (Python 3.11) runs `work` in a task of its
            # own, a task and its scheduling per call on the webhook path (bench/RESULTS.md, 14.7)
            async with asyncio.timeout(seconds):
                return await work
        except Exception as e:
            typed = journey_error(
                e,
                customer_id,
                must_exist=must_exist,
                deadline=seconds,
                query_timeout=query_timeout.total_seconds() if query_timeout is not None else None,
            )
            if typed is None:
                raise
            raise typed from e
