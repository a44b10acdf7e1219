"""One customer's journey: the single writer of that customer's points, tier and ledger.

Signals and updates change the account at once (synchronously, in domain rules) and leave
effects in an outbox; the main loop delivers the outbox in batches — one ledger write for
everything that arrived in a workflow task — and sleeps on one timer for the next deadline.
The outbox travels through continue-as-new, so nothing accepted is ever dropped.

Rules version 2 (domain/journey.py) on, nothing wedges the journey and nothing counts twice: an
event is taken in by domain/intake.py (deduplicated at any distance, applied whole or rejected
and recorded), the ledger is written by `record_ledger_entries`, which sets aside for good what
the ledger can never take, and a redemption retried while the first attempt is in flight is
answered only once its billing credit is applied. Older runs keep their paths exactly.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import cast

from temporalio import workflow
from temporalio.api.common.v1 import Payload
from temporalio.common import RawValue, RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain.account import Account
    from domain.campaign_touch import CampaignTouch, TouchResult
    from domain.effects import (
        BillingCredit,
        CreditOutcome,
        CrossSignal,
        CustomerProfile,
        DiscountOutcome,
        DiscountRequest,
        Effects,
        EmailIntent,
        EmailOutcome,
        LedgerAndProfile,
        LedgerEntry,
        LedgerWrite,
    )
    from domain.erasure import ErasureRequest, ErasureResult, erase, refuse, refused, reopen
    from domain.event_handlers import CONTACT_EVENTS, apply_event
    from domain.intake import adopt_memory, receive, reject_undecodable
    from domain.journey import (
        ACCOUNT_QUERY,
        ADJUST_UPDATE,
        ADOPT_PROGRAM_UPDATE,
        CAMPAIGN_UPDATE,
        ERASE_UPDATE,
        EVENT_SIGNAL,
        LEDGER_QUERY,
        RECONCILE_QUERY,
        REDEEM_UPDATE,
        RULES_VERSION,
        SET_MINIMUM_TIER_UPDATE,
        SUMMARY_QUERY,
        TIMELINE_QUERY,
        UPCOMING_QUERY,
        WORKFLOW_NAME,
        JourneyInput,
        workflow_id,
    )
    from domain.journey_attributes import attributes_of
    from domain.messages import (
        AdjustRequest,
        AdjustResult,
        CustomerEvent,
        EventEnvelope,
        MinimumTierRequest,
        RedeemRequest,
        RedeemResult,
    )
    from domain.messages_legacy import EventEnvelope as LegacyEventEnvelope
    from domain.program import Program
    from domain.quarantine import quarantine_entries
    from domain.refusals import Refused
    from domain.rules import AccountRules
    from domain.segments import PROJECTION_RULES_VERSION
    from domain.summary import (
        LedgerPage,
        ReconcileView,
        Summary,
        Timeline,
        ledger_page,
        recent_timeline,
        reconcile_view_of,
        summarize,
    )
    from domain.upcoming import UpcomingView, current_details, upcoming
    from workflows.labels import label
    from workflows.legacy_payloads import as_legacy
    from workflows.refusals import refusal_error, refusals_as_errors
    from workflows.search_attributes import upsert_changes
    from workflows.shared import programs
    from workflows.timer import DeadlineTimer

# The ledger must be written eventually, whatever the outage: retry for ever, backing off.
LEDGER_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1))
# Email and billing retry with backoff; a permanent refusal (non-retryable error) comes back to us.
OUTSIDE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2), maximum_interval=timedelta(minutes=10), maximum_attempts=50
)


LIFECYCLE_PATCH = "lifecycle-v1"
SEGMENT_WAKE_PATCH = "segment-wake-v1"
# The one timer is no longer cancelled and restarted each time its deadline moves later
# (workflows/timer.py); a timer that fires before its deadline simply wakes the loop.
LAZY_TIMER_PATCH = "lazy-timer-v1"
# Expiry warnings cover every lot expiring close together in one email (domain/expiry.py).
GROUPED_WARNINGS_PATCH = "grouped-warnings-v1"

# The `event` signal takes its payload raw and decodes it itself, so that a payload that is not an
# event is seen (rejected, from rules version 2) instead of dropped by the SDK. A signal sent
# without an argument gets this one, which does not decode either.
NO_PAYLOAD = RawValue(Payload())


# Worker Versioning (starter/deployment.py): a versioned worker runs journeys PINNED (its deployment's default
# behavior; not declared here, since an unversioned worker may not send one): a run stays on the worker version
# it started on, so a new version's code never replays an older version's history. At continue-as-new it moves
# to the target version (AUTO_UPGRADE for the new run's first task), and a run continues as new as soon as the
# target changed. An unversioned worker (tests, TENURE_WORKER_VERSIONING off) sees neither.
@workflow.defn(name=WORKFLOW_NAME)
class CustomerJourney:
    @workflow.init
    def __init__(self, inp: JourneyInput) -> None:
        # The program is shared between journeys: a program decoded from a payload is one instance
        # per content (domain/program/model.py). A run started by content hash resolves it here,
        # outside any rules: exactly that program, or the task fails (ProgramUnknown, retried) until
        # the worker's store holds it.
        self.program_hash = inp.program_hash
        if inp.program_hash is not None:
            program = programs.resolve(inp.program_hash)
            carried = inp.carried_account(program)  # once: the SDK keeps `inp` for the run's lifetime
        else:
            assert inp.program is not None  # the input's validator: one of the two
            program = inp.program
            carried = inp.account
        self.history_budget = inp.history_budget
        self.generation = inp.generation
        self.account: Account = carried or Account.open(inp.customer_id, program, workflow.now())
        # the program the hash names, while the account is under it (adopting another one ends that)
        self.hashed_program: Program | None = program if inp.program_hash is not None else None
        self.rules_version = inp.rules_version
        legacy = self.rules_version == 0
        if self.rules_version >= 2:
            adopt_memory(self.account, workflow.now())  # a run carried over from version 1 brings seen_events
        # Runs recorded before the lifecycle release replay without it (and so without its timers
        # and emails); runs from before versions ask the patches, newer runs have every change.
        self.rules = AccountRules(
            self.account,
            lifecycle=workflow.patched(LIFECYCLE_PATCH) if legacy else True,
            grouped_warnings=workflow.patched(GROUPED_WARNINGS_PATCH) if legacy else True,
            version=self.rules_version,
        )
        self.outbox: Effects = inp.outbox.model_copy(deep=True)
        self.in_flight = Effects()
        pending = [e.seq for e in self.outbox.entries]
        self.flushed_seq = (min(pending) - 1) if pending else self.account.seq
        self.profile_dirty = inp.account is None
        self.profile_seen: CustomerProfile | None = None
        self.profiled_at: datetime | None = None  # the time profile_seen was computed at
        self.attributes_set: dict[str, str | bool] = {}  # search attributes set by this run (rules version 4 on)
        # A segment change (status, tier, at-risk) wakes the loop even when no effect came with it.
        self.wake_on_segment = self.rules.lifecycle and (workflow.patched(SEGMENT_WAKE_PATCH) if legacy else True)
        self.credit_outcomes: dict[str, str | None] = {}  # credit key -> None when applied, else the error
        self.writing_since: datetime | None = None  # when the ledger write under way began (for the reconcile view)
        self.timer = DeadlineTimer(lazy=workflow.patched(LAZY_TIMER_PATCH) if legacy else True)
        # Set by an erasure (a new update, so no recorded history sets it): this run holds the data
        # erased, so it hands the scrubbed account to a new run at once and can then be deleted.
        self.hand_over_now = False

    # ---- the loop ------------------------------------------------------------------------------

    @workflow.run
    async def run(self, inp: JourneyInput) -> None:
        while True:
            self.rules.advance(self.outbox, workflow.now())
            await self._deliver()
            if self._time_to_continue():
                await self._hand_over()
            self.timer.arm(self.rules.next_deadline(), self._deadline_summary)
            self._show_details()
            await workflow.wait_condition(
                lambda: (
                    bool(self.outbox)
                    or self.profile_dirty
                    or self.timer.fired
                    or self._time_to_continue()
                    or (self.wake_on_segment and self.rules.segment_moved(self.profile_seen, self.profiled_at))
                )
            )
            self.timer.woke()

    def _deadline_summary(self) -> str:
        """What the journey's timer waits for, for the Temporal UI ("100 points expire")."""
        try:
            nxt = upcoming(self.rules, workflow.now(), limit=1)
        except Exception:  # a label must never fail the workflow task
            nxt = []
        return nxt[0].what if nxt and nxt[0].at == self.rules.next_deadline() else "next deadline"

    def _show_details(self) -> None:
        """The plain-words line the Temporal UI shows for this journey (not a command: replay is unaffected)."""
        try:
            details = current_details(self.rules, workflow.now())
        except Exception as e:  # a line for the UI must never fail the workflow task
            details = (
                f"{self.account.balance} points · {self.account.tier.name} ({type(e).__name__} describing what is next)"
            )
        workflow.set_current_details(details)

    def _time_to_continue(self) -> bool:
        info = workflow.info()
        return (
            self.hand_over_now
            or info.is_continue_as_new_suggested()
            or info.get_current_history_length() >= self.history_budget
            # recorded in the history (WorkflowTaskStarted), so a replay sees what the run saw; false when
            # unversioned, so runs recorded before this never saw it
            or info.is_target_worker_deployment_version_changed()
        )

    async def _hand_over(self) -> None:
        """Continue as new once every handler is done; whatever is still undelivered goes along."""
        while not workflow.all_handlers_finished():
            await workflow.wait_condition(lambda: workflow.all_handlers_finished() or bool(self.outbox))
            await self._deliver()
        self.timer.cancel()
        workflow.continue_as_new(
            JourneyInput(
                customer_id=self.account.customer_id,
                # by hash while the account is still under the program its run resolved from one (known
                # to be stored); the whole program after an adoption or for runs that carried it whole
                **(
                    {"program_hash": self.program_hash}
                    if self.hashed_program is not None and self.account.program is self.hashed_program
                    else {"program": self.account.program}
                ),
                account=self.account,
                outbox=self.outbox,
                history_budget=self.history_budget,
                generation=self.generation + 1,
                rules_version=RULES_VERSION,  # a new run has no history to replay: the newest rules
            ),
            # ... and the newest workers: the deployment's target version, then pinned to it
            initial_versioning_behavior=workflow.ContinueAsNewVersioningBehavior.AUTO_UPGRADE,
        )

    # ---- delivering effects --------------------------------------------------------------------

    async def _deliver(self) -> None:
        now = workflow.now()
        # the profile as of now, built once: the first pass below writes this very one (nothing can
        # change the account before its first await); later passes, after awaits, build their own
        current = self.rules.profile(now) if self.rules.lifecycle else None
        if current is not None and current != self.profile_seen:
            self.profile_dirty = True  # what segments select on moved: the projection must follow
        while self.outbox or self.profile_dirty:
            fx, self.outbox = self.outbox, Effects()
            self.in_flight = fx
            # From rules version 4 (the projection moves with nearly every event) the profile and the
            # entries of one wake-up go in one local activity: one marker and one activation fewer
            together = self.rules_version >= PROJECTION_RULES_VERSION and self.profile_dirty and bool(fx.entries)
            if self.profile_dirty:
                self.profile_dirty = False
                self.profiled_at = workflow.now()
                self.profile_seen = current if current is not None else self.rules.profile(self.profiled_at)
                if self.rules_version >= 4:  # filterable in the Temporal UI; no personal data (an upsert is a command)
                    self.attributes_set = upsert_changes(self.attributes_set, attributes_of(self.profile_seen))
                if not together:
                    await workflow.execute_local_activity(
                        "upsert_customer",
                        self.profile_seen,
                        summary=label("profile for segments"),
                        start_to_close_timeout=timedelta(seconds=30),
                        retry_policy=LEDGER_RETRY,
                    )
            if fx.entries:
                self.writing_since = workflow.now()
                await self._write_ledger(fx.entries, self.profile_seen if together else None)
                self.writing_since = None
                self.flushed_seq = fx.entries[-1].seq
            if fx.quarantine:
                await workflow.execute_local_activity(
                    "record_rejections",
                    fx.quarantine,
                    summary=label(f"{len(fx.quarantine)} set aside"),  # rare: made even when replaying
                    start_to_close_timeout=timedelta(seconds=30),
                    retry_policy=LEDGER_RETRY,
                    result_type=int,
                )
            if fx.credits:
                await asyncio.gather(*(self._credit(c) for c in fx.credits))
            if fx.emails:
                await asyncio.gather(*(self._email(e) for e in fx.emails))
            for code in fx.lookups:
                await self._lookup(code)
            for sig in fx.signals:
                await self._signal(sig)
            if fx.discounts:
                await asyncio.gather(*(self._discount(d) for d in fx.discounts))
            self.in_flight = Effects()
            current = None  # awaited above: the account or the time may have moved

    async def _write_ledger(self, entries: list[LedgerEntry], profile: CustomerProfile | None = None) -> None:
        if profile is not None:  # rules version 4 on, with the profile: one local activity for both
            written: LedgerWrite = await workflow.execute_local_activity(
                "record_ledger_and_profile",
                LedgerAndProfile(profile=profile, entries=entries),
                summary=label(lambda: _ledger_summary(entries) + " and the profile for segments"),
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=LEDGER_RETRY,
                result_type=LedgerWrite,
            )
            if written.unwritable:
                quarantine_entries(self.rules, workflow.now(), entries, written.unwritable)
            return
        if self.rules_version < 2:
            await workflow.execute_local_activity(
                "record_entries",
                entries,
                summary=label(lambda: _ledger_summary(entries)),
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=LEDGER_RETRY,
                result_type=int,
            )
            return
        written = await workflow.execute_local_activity(
            "record_ledger_entries",
            entries,
            summary=label(lambda: _ledger_summary(entries)),
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=LEDGER_RETRY,
            result_type=LedgerWrite,
        )
        if written.unwritable:  # set aside for good: recorded, and the journey goes on
            quarantine_entries(self.rules, workflow.now(), entries, written.unwritable)

    async def _lookup(self, code: str) -> None:
        referrer: str | None = await workflow.execute_local_activity(
            "lookup_referrer",
            code,
            summary=label("referral code lookup"),
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=LEDGER_RETRY,
        )
        self.rules.on_referrer_found(self.outbox, workflow.now(), code, referrer)

    async def _signal(self, sig: CrossSignal) -> None:
        """Tell another customer's journey (referrals); it deduplicates by the event id."""
        try:
            handle = workflow.get_external_workflow_handle(workflow_id(sig.to_customer_id))
            await handle.signal(EVENT_SIGNAL, EventEnvelope.model_validate({"event": sig.event}))
        except Exception as e:  # the other journey is gone: nothing to tell
            self.rules.note(workflow.now(), "referral", f"could not reach {sig.to_customer_id}'s journey: {e}")

    async def _discount(self, req: DiscountRequest) -> None:
        try:
            outcome = await workflow.execute_activity(
                "create_discount",
                req,
                summary=label("win-back discount"),
                start_to_close_timeout=timedelta(seconds=60),
                retry_policy=OUTSIDE_RETRY,
                result_type=DiscountOutcome,
            )
        except ActivityError as e:
            self.rules.discount_failed(workflow.now(), str(e.cause or e))
            return
        self.rules.discount_created(self.outbox, workflow.now(), req, outcome)

    async def _credit(self, credit: BillingCredit) -> None:
        try:
            await workflow.execute_activity(
                "apply_credit",
                credit,
                summary=label(lambda: f"billing credit of {credit.amount_minor / 100:.2f} {credit.currency}"),
                start_to_close_timeout=timedelta(seconds=60),
                retry_policy=OUTSIDE_RETRY,
                result_type=CreditOutcome,
            )
            self.credit_outcomes[credit.key] = None
        except ActivityError as e:
            why = str(e.cause or e)
            self.credit_outcomes[credit.key] = why
            self.rules.credit_failed(self.outbox, workflow.now(), credit, why)

    async def _email(self, email: EmailIntent) -> None:
        try:
            outcome = await workflow.execute_activity(
                "send_email",
                email,
                summary=label(lambda: f"{email.purpose} email"),
                start_to_close_timeout=timedelta(seconds=60),
                retry_policy=OUTSIDE_RETRY,
                result_type=EmailOutcome,
            )
            self.rules.note(
                workflow.now(),
                "email",
                f"{email.purpose} email: {outcome.status}" + (f" ({outcome.detail})" if outcome.detail else ""),
            )
        except ActivityError as e:
            self.rules.note(workflow.now(), "email", f"{email.purpose} email failed: {e.cause or e}")

    # ---- signals -------------------------------------------------------------------------------

    @workflow.signal(name=EVENT_SIGNAL)
    def event(self, payload: RawValue = NO_PAYLOAD) -> None:
        try:  # runs from before version 2 decode as they always did (domain/messages_legacy.py)
            model: type[EventEnvelope | LegacyEventEnvelope] = (
                EventEnvelope if self.rules_version >= 2 else LegacyEventEnvelope
            )
            raw = payload.payload if self.rules_version >= 2 else as_legacy(payload.payload)
            envelope = workflow.payload_converter().from_payload(raw, model)
        except Exception as e:
            if self.rules_version < 2:  # dropped, as the SDK itself did before the handler took it raw
                workflow.logger.warning("dropping an event signal whose payload does not decode: %s", e)
                return
            now = workflow.now()
            self.rules.advance(self.outbox, now)
            reject_undecodable(self.rules, self.outbox, now, payload.payload.data.decode("utf-8", "replace"), e)
            return
        # The legacy models have the same fields and types, only fewer bounds: the rules read them alike.
        ev = cast(CustomerEvent, envelope.event)
        # Only an erasure (a new update) sets `erasure`: recorded histories never take these branches.
        erased = self.account.erasure is not None
        if erased and refused(self.account, ev):
            now = workflow.now()
            self.rules.advance(self.outbox, now)
            refuse(self.rules, self.outbox, now, ev)
            return
        if self.rules_version >= 2:
            now = workflow.now()
            self.rules.advance(self.outbox, now)
            if receive(self.rules, self.outbox, now, ev) == "applied" and ev.type in CONTACT_EVENTS:
                if erased:
                    reopen(self.rules, now)
                self.profile_dirty = True
            return
        if self.rules.seen(ev.event_id):
            return
        self.rules.remember(ev.event_id)
        now = workflow.now()
        self.rules.advance(self.outbox, now)
        apply_event(self.rules, self.outbox, now, ev)
        if ev.type in CONTACT_EVENTS:
            if erased:
                reopen(self.rules, now)
            self.profile_dirty = True

    # ---- updates -------------------------------------------------------------------------------

    @workflow.update(name=REDEEM_UPDATE)
    async def redeem(self, req: RedeemRequest) -> RedeemResult:
        done = self.account.redemptions.get(req.request_id)
        if done is None:
            now = workflow.now()
            self.rules.advance(self.outbox, now)
            with refusals_as_errors(non_retryable=True):  # a concurrent redemption got there first
                first = self.rules.redeem(self.outbox, now, req)
            seq = self.account.seq
            key = self.rules.credit_key(req.request_id)
            await workflow.wait_condition(
                lambda: self.flushed_seq >= seq and (first.credit_minor == 0 or key in self.credit_outcomes)
            )
            done = self.account.redemptions[req.request_id]
        elif self.rules_version >= 2:  # a retry: answered when the first attempt would be, not before
            await workflow.wait_condition(lambda: not self._redemption_under_way(req.request_id))
            done = self.account.redemptions.get(req.request_id, done)
        if done.error:
            raise refusal_error(Refused("credit_refused", done.error), non_retryable=True)
        return done

    def _redemption_under_way(self, request_id: str) -> bool:
        """Whether the redemption's ledger entry is not written yet or its billing credit not applied yet."""
        spend_key = f"{self.account.customer_id}/redeem:{request_id}/spend"
        if any(e.key == spend_key and e.seq > self.flushed_seq for e in self.in_flight.entries + self.outbox.entries):
            return True
        key = self.rules.credit_key(request_id)
        waiting = self.outbox.credits + [c for c in self.in_flight.credits if c.key not in self.credit_outcomes]
        return any(c.key == key for c in waiting)

    @redeem.validator
    def _check_redeem(self, req: RedeemRequest) -> None:
        with refusals_as_errors():
            self.rules.check_redeem(req)

    @workflow.update(name=ADJUST_UPDATE)
    async def adjust(self, req: AdjustRequest) -> AdjustResult:
        now = workflow.now()
        self.rules.advance(self.outbox, now)
        with refusals_as_errors(non_retryable=True):
            result = self.rules.adjust(self.outbox, now, req)
        seq = self.account.seq
        await workflow.wait_condition(lambda: self.flushed_seq >= seq)
        return result

    @adjust.validator
    def _check_adjust(self, req: AdjustRequest) -> None:
        with refusals_as_errors():
            self.rules.check_adjust(req)

    @workflow.update(name=SET_MINIMUM_TIER_UPDATE)
    def set_minimum_tier(self, req: MinimumTierRequest) -> Summary:
        now = workflow.now()
        with refusals_as_errors(non_retryable=True):
            self.rules.set_minimum_tier(self.outbox, now, req.tier, req.reason, req.actor, req.until)
        return summarize(self.account, now)

    @set_minimum_tier.validator
    def _check_minimum_tier(self, req: MinimumTierRequest) -> None:
        with refusals_as_errors():
            self.rules.check_minimum_tier(req.tier, req.until, workflow.now())

    @workflow.update(name=ADOPT_PROGRAM_UPDATE)
    def adopt_program(self, program: Program) -> str:
        """Move this journey to a newly published program; lots keep the expiry they were given."""
        old = self.account.program.version
        with refusals_as_errors(non_retryable=True):
            self.rules.adopt(self.outbox, workflow.now(), program)
        return old

    @adopt_program.validator
    def _check_program(self, program: Program) -> None:
        with refusals_as_errors():
            self.rules.check_adopt(program)

    @workflow.update(name=CAMPAIGN_UPDATE)
    async def apply_campaign(self, touch: CampaignTouch) -> TouchResult:
        """A campaign reaches this member (domain/campaign_apply.py): once per campaign id, answered once
        its ledger entries are written. A new handler: runs of every rules version take it."""
        # An update that arrives with the journey's first signal can be handed to this task first:
        # let the signals of this activation apply (a sign-up's address) before the touch reads them.
        await asyncio.sleep(0)
        result = self.rules.campaign_answer(touch.campaign_id)
        if result is None:
            now = workflow.now()
            self.rules.advance(self.outbox, now)
            try:
                with refusals_as_errors(non_retryable=True):
                    result = self.rules.apply_touch(self.outbox, now, touch)
            except ApplicationError:
                raise
            except Exception as e:  # a rule failing on this touch: nothing of it stays, the campaign hears why
                why = f"campaign {touch.campaign_id} could not be applied: {e}"
                raise ApplicationError(why, non_retryable=True) from e
            if touch.kind == "publish_program":
                self.profile_dirty = True  # the customers table shows the program version
            self.timer.arm(self.rules.next_deadline())  # an email deferred to the morning may come due first
        seq = self.account.seq  # a repeat too is answered once what the first one wrote is written
        await workflow.wait_condition(lambda: self.flushed_seq >= seq)
        return result

    @apply_campaign.validator
    def _check_campaign(self, touch: CampaignTouch) -> None:
        with refusals_as_errors():
            self.rules.check_touch(touch)

    @workflow.update(name=ERASE_UPDATE)
    def erase_personal_data(self, req: ErasureRequest) -> ErasureResult:
        """Scrub the member's personal data (domain/erasure.py), mirror the scrubbed profile, and continue
        as new so that no open run holds the data; a retry with the same request id answers the first."""
        info = workflow.info()
        done = self.account.erasure
        if done is None or done.request_id != req.request_id:
            now = workflow.now()
            self.rules.advance(self.outbox, now)
            done = erase(self.rules, self.outbox, now, req)
            self.in_flight.emails = []  # taken from the outbox but not sent yet: they are not sent
            self.profile_dirty = True
            self.hand_over_now = True
        return ErasureResult(
            customer_id=self.account.customer_id,
            request_id=done.request_id,
            actor=done.actor,
            erased_at=done.at,
            run_id=info.run_id,
            continues_as_new=self.hand_over_now,
        )

    # ---- queries -------------------------------------------------------------------------------

    @workflow.query(name=ACCOUNT_QUERY)
    def account_state(self) -> Account:
        """Everything the journey holds about the member (`tenure member export`)."""
        return self.account

    @workflow.query(name=SUMMARY_QUERY)
    def summary(self) -> Summary:
        return summarize(self.account, workflow.now())

    @workflow.query(name=LEDGER_QUERY)
    def ledger(self, offset: int = 0, limit: int = 20) -> LedgerPage:
        return ledger_page(self.account, offset, limit)

    @workflow.query(name=TIMELINE_QUERY)
    def timeline(self, limit: int = 100) -> Timeline:
        return recent_timeline(self.account, limit)

    @workflow.query(name=UPCOMING_QUERY)
    def upcoming(self) -> UpcomingView:
        """What happens next and when, nearest first; expiry warnings as they will be sent (a query: no command)."""
        return UpcomingView(items=upcoming(self.rules, workflow.now(), as_sent=True))

    @workflow.query(name=RECONCILE_QUERY)
    def reconcile_view(self) -> ReconcileView:
        """Balance and the ledger entries not yet written, for the reconcile command."""
        written = [e for e in self.in_flight.entries if e.seq <= self.flushed_seq]
        unwritten = [e for e in self.in_flight.entries + self.outbox.entries if e not in written]
        return reconcile_view_of(self.account, unwritten, self.writing_since)


def _ledger_summary(entries: list[LedgerEntry]) -> str:
    """What a ledger write holds, for the Temporal UI: "ledger: earn +100, adjust -25"."""
    shown = ", ".join(f"{e.kind} {e.points:+d}" if e.points else e.kind for e in entries[:4])
    return f"ledger: {shown}" + (f" and {len(entries) - 4} more" if len(entries) > 4 else "")
