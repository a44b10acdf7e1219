"""One campaign run: workflow `campaign-{id}` pages through the segment and reaches its members.

Lean on purpose: each page is one heartbeating activity (activities/campaigns.py) that reaches the
page's members and records them; the workflow keeps the cursor, the counts and the budget, answers
the `progress` query, takes `pause` / `resume` / `cancel` between pages (so a pause takes effect
within one page), waits for members whose local time has not come, and continues as new long before
its history grows past a few thousand events, carrying its progress along.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain.campaigns import (
        FINAL_STATES,
        TRANSITIONS,
        CampaignInput,
        CampaignState,
        PageRequest,
        PageResult,
        Progress,
        StateChange,
        member_instant,
        month_run_id,
        page_size,
    )

WORKFLOW_NAME = "Campaign"
PROGRESS_QUERY = "progress"
PAUSE_UPDATE = "pause"
RESUME_UPDATE = "resume"
CANCEL_UPDATE = "cancel"

HISTORY_LIMIT = 1_000
"""Continue as new once a run's history reaches this many events (some 6 a page): far below 4,096."""

PAGE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=20,
    non_retryable_error_types=["UnknownSegment"],
)
STATE_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30))


@workflow.defn(name=WORKFLOW_NAME)
class CampaignWorkflow:
    def __init__(self) -> None:
        self.progress: Progress | None = None
        self.paused = False
        self.cancel_requested = False

    # ---- what the outside sees and asks ------------------------------------------------------------

    @workflow.query(name=PROGRESS_QUERY)
    def get_progress(self) -> Progress | None:
        return self.progress

    @workflow.update(name=PAUSE_UPDATE)
    def pause(self) -> Progress | None:
        self.paused = True
        return self.progress

    @pause.validator
    def _may_pause(self) -> None:
        self._refuse_unless_it_may("paused", "pause")

    @workflow.update(name=RESUME_UPDATE)
    def resume(self) -> Progress | None:
        self.paused = False
        return self.progress

    @resume.validator
    def _may_resume(self) -> None:
        if not self.paused:
            raise ApplicationError("the campaign is not paused", type="NotPaused")

    @workflow.update(name=CANCEL_UPDATE)
    def cancel(self) -> Progress | None:
        self.cancel_requested = True
        return self.progress

    @cancel.validator
    def _may_cancel(self) -> None:
        self._refuse_unless_it_may("cancelled", "cancel")

    def _refuse_unless_it_may(self, target: str, what: str) -> None:
        """The domain's transition table decides (domain/campaigns.py TRANSITIONS), not a copy of it."""
        state = self.progress.state if self.progress else "scheduled"
        if target not in TRANSITIONS[state] or self.cancel_requested:
            raise ApplicationError(f"a {state} campaign cannot {what}", type="WrongState")

    # ---- the run -------------------------------------------------------------------------------------

    @workflow.run
    async def run(self, start: CampaignInput) -> Progress:
        try:
            return await self._run(start)
        except asyncio.CancelledError:
            # Cancelled through Temporal itself (`temporal workflow cancel`): recorded as a cancel.
            if self.progress is None:
                raise
            return await self._finish("cancelled", "the workflow was cancelled")

    async def _run(self, start: CampaignInput) -> Progress:
        d = start.definition
        self.paused = start.paused
        run_id = start.run_id or (month_run_id(d.id, workflow.now()) if d.recurrence else d.id)
        # as the client answered `start`: running at once, unless it waits for one instant (then scheduled)
        first: CampaignState = "scheduled" if d.start.at is not None and not d.start.local_time else "running"
        p = start.progress or Progress(campaign_id=d.id, run_id=run_id, state=first)
        self.progress = p
        if start.progress is None:
            await self._wait_for_start(start)
            if self.cancel_requested:
                return await self._finish("cancelled", "cancelled before it started")
            if d.recurrence is None:  # a monthly run reaches only the month's anniversaries: no total known
                p.segment_size = await workflow.execute_activity(
                    "count_campaign_segment",
                    d,
                    result_type=int,
                    start_to_close_timeout=timedelta(minutes=5),
                    retry_policy=PAGE_RETRY,
                )
            p.started_at = workflow.now()
            p.passes = 1
            p.budget_left = d.budget.total_points
            p.state = "running"
            await self._record()
            p.pass_started_at = workflow.now()
        while True:
            if self.paused and not self.cancel_requested:
                await self._set_state("paused")
                await workflow.wait_condition(lambda: not self.paused or self.cancel_requested)
                if not self.cancel_requested:
                    await self._set_state("running")
            if self.cancel_requested:
                return await self._finish("cancelled", "cancelled")
            if self._history_is_long():
                await workflow.wait_condition(workflow.all_handlers_finished)
                p.runs += 1
                workflow.continue_as_new(
                    CampaignInput(definition=d, run_id=run_id, actor=start.actor, progress=p, paused=self.paused)
                )
            try:
                page: PageResult = await workflow.execute_activity(
                    "campaign_page",
                    PageRequest(
                        definition=d,
                        run_id=run_id,
                        actor=start.actor,
                        after=p.cursor,
                        limit=page_size(d),
                        budget_left=p.budget_left,
                        now=workflow.now(),
                        pass_started_at=p.pass_started_at or workflow.now(),
                        progress_before=p,
                    ),
                    result_type=PageResult,
                    start_to_close_timeout=timedelta(minutes=30),
                    heartbeat_timeout=timedelta(seconds=30),
                    retry_policy=PAGE_RETRY,
                )
            except ActivityError as e:
                cause = e.cause.message if isinstance(e.cause, ApplicationError) else str(e.cause or e)
                return await self._finish("failed", f"a page failed for good: {cause}")
            p.counts = p.counts.plus(page.counts)
            p.cursor = page.cursor
            p.next_touch_at = page.next_touch_at
            if p.budget_left is not None:
                p.budget_left = max(0, p.budget_left - page.counts.points_committed)
            if page.next_due_at is not None:  # the earliest member of this pass still waiting for their time
                due = p.next_due_at
                p.next_due_at = page.next_due_at if due is None else min(due, page.next_due_at)
            if page.budget_spent:
                return await self._finish(
                    "completed",
                    f"budget spent: {p.counts.points_committed} of {d.budget.total_points} points; "
                    "the members after it were not reached",
                )
            if not page.done:
                continue
            next_due = p.next_due_at
            if next_due is None:
                return await self._finish("completed", None)
            # Members whose local time has not come: wait for the next of them, then another pass.
            await self._record()
            await self._sleep(next_due - workflow.now())
            p.cursor, p.next_due_at = None, None
            p.passes += 1
            p.pass_started_at = workflow.now()

    async def _wait_for_start(self, start: CampaignInput) -> None:
        """A campaign to start at a time (not per member zone) sleeps until then, `scheduled`."""
        at = start.definition.start.at
        if at is None or start.definition.start.local_time:
            return
        instant = member_instant(at, "UTC", local=False)
        if instant <= workflow.now():
            return
        await self._record()
        while workflow.now() < instant and not self.cancel_requested:
            if self.paused:  # paused before it began: it waits for resume, then for its time
                await workflow.wait_condition(lambda: not self.paused or self.cancel_requested)
            else:
                await self._sleep(instant - workflow.now())

    async def _sleep(self, duration: timedelta) -> None:
        """Until `duration` has passed, or a cancel or a pause arrives."""
        if duration <= timedelta(0):
            return
        try:
            await workflow.wait_condition(lambda: self.cancel_requested or self.paused, timeout=duration)
        except TimeoutError:
            pass

    def _history_is_long(self) -> bool:
        info = workflow.info()
        return info.is_continue_as_new_suggested() or info.get_current_history_length() >= HISTORY_LIMIT

    async def _set_state(self, state: CampaignState) -> None:
        assert self.progress is not None
        if self.progress.state != state and state in TRANSITIONS[self.progress.state]:
            self.progress.state = state
            await self._record()

    async def _finish(self, state: CampaignState, why: str | None) -> Progress:
        assert self.progress is not None
        p = self.progress
        p.state = state
        p.stopped_because = why
        p.finished_at = workflow.now()
        p.next_due_at = None
        await self._record()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return p

    async def _record(self) -> None:
        assert self.progress is not None
        p = self.progress
        # A recurring campaign stays scheduled between its monthly runs.
        recurring = p.run_id != p.campaign_id
        state = "scheduled" if recurring and p.state in FINAL_STATES - {"failed"} else p.state
        await workflow.execute_activity(
            "record_campaign_state",
            StateChange(campaign_id=p.campaign_id, state=state, progress=p, stopped_because=p.stopped_because),
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=STATE_RETRY,
        )
