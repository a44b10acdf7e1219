"""`CampaignClient`: campaigns for the API, the CLI and tools — define, preview, start, pause, resume,
cancel, status, results. `TenureClient.campaigns(engine)` hands one out.

Definitions, previews and results are SQL; a started campaign is its workflow `campaign-{id}`
(a recurring one, a Temporal Schedule that starts one run a month). Failures are typed: an
unknown campaign is `NoCampaign`, an operation its state forbids `CampaignStateError`, Temporal
away `JourneyUnavailable`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy.engine import Engine
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleCalendarSpec,
    ScheduleHandle,
    ScheduleRange,
    ScheduleSpec,
    ScheduleState,
    WorkflowHandle,
)
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from domain.campaigns import (
    FINAL_STATES,
    CampaignDefinition,
    CampaignInput,
    CampaignState,
    Preview,
    Progress,
    schedule_id,
    workflow_id,
)
from domain.segments import FilterFault, SegmentFilter
from starter.client.segments import filter_value_faults
from storage import campaigns as records
from storage import segments as segment_store
from storage.campaign_preview import preview_campaign
from storage.campaign_results import CampaignResults, campaign_results
from workflows.campaign import CANCEL_UPDATE, PAUSE_UPDATE, PROGRESS_QUERY, RESUME_UPDATE, WORKFLOW_NAME

from .errors import JourneyError, JourneyUnavailable
from .temporal_errors import journey_error

QUERY_TIMEOUT = timedelta(seconds=5)


class CampaignError(JourneyError):
    """Base of the campaign errors."""


class NoCampaign(CampaignError):
    def __init__(self, campaign_id: str):
        super().__init__(f"no campaign {campaign_id!r}")
        self.campaign_id = campaign_id


class CampaignStateError(CampaignError):
    """The campaign's state forbids the operation (start a completed one, resume one not paused)."""

    def __init__(self, campaign_id: str, state: str, message: str):
        super().__init__(message)
        self.campaign_id = campaign_id
        self.state = state


class UnknownSegment(CampaignError):
    def __init__(self, segment_id: str):
        super().__init__(f"segment {segment_id!r} does not exist")
        self.segment_id = segment_id


class InvalidCampaign(CampaignError):
    """The definition is well formed but its inline filter names what cannot be: a tier the program in
    force does not have, a time zone or a country that is none. `faults` are (dotted path, message);
    `problems` the `path: message` lines a definition's other faults are (starter/campaign_file.py)."""

    def __init__(self, faults: list[tuple[str, str]]):
        self.faults = faults
        self.problems = [f"{path}: {message}" for path, message in faults]
        super().__init__("; ".join(self.problems))


def check_filter(f: SegmentFilter, tiers: Sequence[str] | None) -> None:
    """`InvalidCampaign` naming each value of an inline filter that cannot be (starter/client/segments.py's
    `filter_value_faults`), each at its path under `filter` as a definition's other faults."""
    faults = filter_value_faults(f, tiers)
    if faults:
        raise InvalidCampaign(under_filter(faults))


def under_filter(faults: Sequence[FilterFault]) -> list[tuple[str, str]]:
    """Each fault as (its dotted path under `filter`, its message): how a definition names its filter's
    faults, and how the console's segment form names a segment's (its field is `filter` too)."""
    return [(".".join(str(p) for p in ("filter", *x.loc)), x.message) for x in faults]


class CampaignClient:
    def __init__(self, client: Client | None, engine: Engine, task_queue: str = "tenure", call_timeout: float = 10.0):
        """`client` None: only the SQL operations (create, get, list, preview, results)."""
        self._client = client
        self.engine = engine
        self.task_queue = task_queue
        self.call_timeout = call_timeout
        self.unanswered = False  # the last `status` of a live campaign is the recorded one: no worker answered

    @property
    def client(self) -> Client:
        if self._client is None:
            raise CampaignError("this operation needs Temporal: the campaign client has no connection")
        return self._client

    def handle(self, campaign_id: str) -> WorkflowHandle:
        return self.client.get_workflow_handle(workflow_id(campaign_id))

    def schedule(self, campaign_id: str) -> ScheduleHandle:
        return self.client.get_schedule_handle(schedule_id(campaign_id))

    # ---- SQL ----------------------------------------------------------------------------------------

    async def create(
        self, definition: CampaignDefinition, actor: str, tiers: Sequence[str] | None = None
    ) -> records.CampaignRecord:
        """Record a draft; `CampaignStateError` when the id is taken, `UnknownSegment` for a missing segment,
        `InvalidCampaign` when an inline filter names a tier not in `tiers` (the program in force's tier
        names; None: tiers not checked, for a tool that has no program), a time zone or a country that is
        none (`check_filter`). A saved segment is taken as saved."""
        if definition.filter is not None:
            check_filter(definition.filter, tiers)
        if definition.segment is not None:
            found = await asyncio.to_thread(segment_store.get_segment, self.engine, definition.segment)
            if found is None:
                raise UnknownSegment(definition.segment)
        try:
            return await asyncio.to_thread(records.save_campaign, self.engine, definition, actor)
        except records.CampaignExists as e:
            raise CampaignStateError(definition.id, "exists", str(e)) from None

    async def get(self, campaign_id: str) -> records.CampaignRecord:
        found = await asyncio.to_thread(records.get_campaign, self.engine, campaign_id)
        if found is None:
            raise NoCampaign(campaign_id)
        return found

    async def list(self) -> list[records.CampaignRecord]:
        return await asyncio.to_thread(records.list_campaigns, self.engine)

    async def preview(self, campaign_id: str) -> Preview:
        record = await self.get(campaign_id)
        d = record.definition
        if d.filter is not None:
            f = d.filter
        else:
            assert d.segment is not None
            segment = await asyncio.to_thread(segment_store.get_segment, self.engine, d.segment)
            if segment is None:
                raise UnknownSegment(d.segment)
            f = segment.filter
        return await asyncio.to_thread(preview_campaign, self.engine, d, f)

    async def results(self, campaign_id: str, follow_up_days: int = 30) -> CampaignResults:
        record = await self.get(campaign_id)
        p = record.progress
        run_id = p.run_id if p is not None else campaign_id
        return await asyncio.to_thread(
            campaign_results,
            self.engine,
            campaign_id,
            run_id,
            p.started_at if p else None,
            p.finished_at if p else None,
            follow_up_days,
            holdout_percent=record.definition.holdout_percent,
        )

    # ---- Temporal -------------------------------------------------------------------------------------

    async def start(self, campaign_id: str, actor: str) -> Progress:
        """Start a draft: its workflow (state running, or scheduled until its time), or its monthly schedule."""
        record = await self.get(campaign_id)
        if record.state != "draft":
            raise CampaignStateError(
                campaign_id, record.state, f"campaign {campaign_id!r} is {record.state}, not a draft"
            )
        d = record.definition
        start = CampaignInput(definition=d, run_id="" if d.recurrence else d.id, actor=actor)
        if d.recurrence is not None:
            r = d.recurrence
            schedule = Schedule(
                action=ScheduleActionStartWorkflow(
                    WORKFLOW_NAME, start, id=workflow_id(campaign_id), task_queue=self.task_queue
                ),
                spec=ScheduleSpec(
                    calendars=[
                        ScheduleCalendarSpec(
                            day_of_month=[ScheduleRange(r.day_of_month)],
                            hour=[ScheduleRange(r.hour_utc)],
                        )
                    ]
                ),
                state=ScheduleState(note=f"campaign {campaign_id}: {d.name}"),
            )
            await self._call(self.client.create_schedule(schedule_id(campaign_id), schedule))
            await asyncio.to_thread(records.set_state, self.engine, campaign_id, "scheduled")
            return Progress(campaign_id=campaign_id, run_id=campaign_id, state="scheduled")
        try:
            await self._call(
                self.client.start_workflow(
                    WORKFLOW_NAME,
                    start,
                    id=workflow_id(campaign_id),
                    task_queue=self.task_queue,
                    id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                )
            )
        except CampaignStateError:
            raise
        state: CampaignState = "scheduled" if d.start.at is not None and not d.start.local_time else "running"
        await asyncio.to_thread(records.set_state, self.engine, campaign_id, state, None, None, ("draft",))
        return Progress(campaign_id=campaign_id, run_id=campaign_id, state=state)

    async def status(self, campaign_id: str) -> Progress:
        """The running workflow's progress, else the last one recorded (`unanswered` says so when the
        workflow was asked and no worker answered)."""
        record = await self.get(campaign_id)
        self.unanswered = False
        if record.state not in FINAL_STATES and record.state != "draft" and record.definition.recurrence is None:
            try:
                query = self.handle(campaign_id).query(PROGRESS_QUERY, result_type=Progress, rpc_timeout=QUERY_TIMEOUT)
                live = await self._call(query)
            except (CampaignError, JourneyUnavailable):
                live = None  # no worker answers now: the progress its last page recorded
                self.unanswered = True
            if live is not None:
                return live
        if record.progress is not None:
            return record.progress.model_copy(update={"state": record.state})
        return Progress(campaign_id=campaign_id, run_id=campaign_id, state=record.state)

    async def pause(self, campaign_id: str) -> Progress:
        return await self._control(campaign_id, PAUSE_UPDATE, "paused")

    async def resume(self, campaign_id: str) -> Progress:
        return await self._control(campaign_id, RESUME_UPDATE, "running")

    async def cancel(self, campaign_id: str) -> Progress:
        record = await self.get(campaign_id)
        if record.state == "draft":
            await asyncio.to_thread(records.set_state, self.engine, campaign_id, "cancelled")
            return Progress(campaign_id=campaign_id, run_id=campaign_id, state="cancelled")
        return await self._control(campaign_id, CANCEL_UPDATE, "cancelled")

    async def _control(self, campaign_id: str, update: str, becomes: CampaignState) -> Progress:
        record = await self.get(campaign_id)
        if record.state in FINAL_STATES or record.state == "draft":
            raise CampaignStateError(campaign_id, record.state, f"campaign {campaign_id!r} is {record.state}")
        if record.definition.recurrence is not None:
            handle = self.schedule(campaign_id)
            state: CampaignState
            if update == PAUSE_UPDATE:
                await self._call(handle.pause(note="paused"))
                state = "paused"
            elif update == RESUME_UPDATE:
                await self._call(handle.unpause(note="resumed"))
                state = "scheduled"
            else:
                await self._call(handle.delete())
                state = "cancelled"
            await asyncio.to_thread(records.set_state, self.engine, campaign_id, state)
            return Progress(campaign_id=campaign_id, run_id=campaign_id, state=state)
        answer = await self._call(self.handle(campaign_id).execute_update(update, result_type=Progress))
        progress = answer or Progress(campaign_id=campaign_id, run_id=campaign_id, state=record.state)
        # The workflow records its new state once the page in flight ends: answer what it will be.
        return progress.model_copy(update={"state": becomes})

    async def _call(self, work: Any) -> Any:
        try:
            return await asyncio.wait_for(work, self.call_timeout)
        except WorkflowAlreadyStartedError as e:
            raise CampaignStateError(e.workflow_id, "started", "the campaign has already been started") from None
        except RPCError as e:
            if "already" in str(e).lower():
                raise CampaignStateError("", "started", f"the campaign has already been started: {e}") from None
            raise self._typed(e) from e
        except Exception as e:
            message = str(getattr(e, "cause", None) or e)
            if type(e).__name__ == "WorkflowUpdateFailedError" or "WrongState" in message or "NotPaused" in message:
                raise CampaignStateError("", "", message) from None
            raise self._typed(e) from e

    def _typed(self, e: Exception) -> Exception:
        typed = journey_error(e, None, must_exist=True, deadline=self.call_timeout, query_timeout=None)
        if isinstance(typed, JourneyError):
            return typed
        if isinstance(e, TimeoutError):
            return JourneyUnavailable("timed out", kind="timed_out", timeout=self.call_timeout)
        return e
