"""The typed Python client: everything an in-house system or a tool asks of a journey.

Events go in with signal-with-start, so the first event for a customer opens their journey;
redemptions and adjustments are updates, answered once the ledger has them.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio.client import Client, WithStartWorkflowOperation, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy

from domain.journey import EVENT_SIGNAL, WORKFLOW_NAME, JourneyInput, workflow_id
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
from domain.summary import LedgerPage, ReconcileView, Summary, Timeline


class TenureClient:
    def __init__(
        self,
        client: Client,
        program: Program,
        task_queue: str = "tenure",
        history_budget: int | None = None,
        query_timeout: timedelta = timedelta(seconds=10),
    ):
        self.client = client
        self.query_timeout = query_timeout
        self.program = program
        self.task_queue = task_queue
        self.history_budget = history_budget

    def _start_input(self, customer_id: str) -> JourneyInput:
        extra = {"history_budget": self.history_budget} if self.history_budget else {}
        return JourneyInput.new(customer_id, self.program, **extra)

    def handle(self, customer_id: str) -> WorkflowHandle:
        return self.client.get_workflow_handle(workflow_id(customer_id))

    async def send(self, customer_id: str, event: CustomerEvent) -> None:
        """Deliver one fact; returns once Temporal has durably accepted it."""
        await self.client.start_workflow(
            WORKFLOW_NAME,
            self._start_input(customer_id),
            id=workflow_id(customer_id),
            task_queue=self.task_queue,
            start_signal=EVENT_SIGNAL,
            start_signal_args=[EventEnvelope(event=event)],
        )

    async def _update(self, customer_id: str, name: str, arg, result_type):
        """Run an update, opening the journey first if the customer has none yet."""
        start = WithStartWorkflowOperation(
            WORKFLOW_NAME,
            self._start_input(customer_id),
            id=workflow_id(customer_id),
            task_queue=self.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )
        return await self.client.execute_update_with_start_workflow(
            name, arg, start_workflow_operation=start, result_type=result_type
        )

    async def redeem(self, customer_id: str, request: RedeemRequest) -> RedeemResult:
        return await self._update(customer_id, "redeem", request, RedeemResult)

    async def adjust(self, customer_id: str, request: AdjustRequest) -> AdjustResult:
        return await self._update(customer_id, "adjust", request, AdjustResult)

    async def set_minimum_tier(self, customer_id: str, request: MinimumTierRequest) -> Summary:
        return await self.handle(customer_id).execute_update("set_minimum_tier", request, result_type=Summary)

    async def adopt_program(self, customer_id: str, program: Program) -> str:
        return await self.handle(customer_id).execute_update("adopt_program", program, result_type=str)

    async def summary(self, customer_id: str) -> Summary:
        return await self.handle(customer_id).query("summary", result_type=Summary, rpc_timeout=self.query_timeout)

    async def ledger(self, customer_id: str, offset: int = 0, limit: int = 20) -> LedgerPage:
        return await self.handle(customer_id).query(
            "ledger", args=[offset, limit], result_type=LedgerPage, rpc_timeout=self.query_timeout
        )

    async def timeline(self, customer_id: str, limit: int = 100) -> Timeline:
        return await self.handle(customer_id).query(
            "timeline", limit, result_type=Timeline, rpc_timeout=self.query_timeout
        )

    async def reconcile_view(self, customer_id: str) -> ReconcileView:
        return await self.handle(customer_id).query(
            "reconcile", result_type=ReconcileView, rpc_timeout=self.query_timeout
        )
