"""`AccountRules`: the program applied to one account, as one object the workflow and tests hold.

A facade: each method hands over to the module that holds that rule (earning, payments, requests,
tier changes, expiry, deadlines, the lifecycle journeys…), passing itself; those modules know it
only by its interface (domain/rules_port.py). Every method is deterministic in (account, now) and
returns what the outside world must be told as effects.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from . import (
    bookkeeping,
    campaign_apply,
    campaign_earning,
    churn,
    customer_profile,
    deadlines,
    earning,
    membership,
    payments,
    pending_points,
    referrals,
    requests,
    tier_changes,
)
from .account import Account
from .campaign_touch import CampaignTouch, TouchResult
from .effects import BillingCredit, CustomerProfile, DiscountOutcome, DiscountRequest, Effects, EntryKind, LedgerEntry
from .messages import (
    ActivityReported,
    AdjustRequest,
    AdjustResult,
    EmailSuppressed,
    PaymentFailed,
    PaymentSucceeded,
    PlanChanged,
    ProfileUpdated,
    RedeemRequest,
    RedeemResult,
    ReferralLinked,
    ReferralPaid,
    ReferralRefunded,
    RefundIssued,
    SignedUp,
    SubscriptionCancelled,
)
from .program import Program


class AccountRules:
    """Applies the program to one account; implements `RulesPort`."""

    def __init__(self, account: Account, lifecycle: bool = False, grouped_warnings: bool = True, version: int = 1):
        """`lifecycle` turns on the journeys of domain/onboarding … churn; off, the rules are the
        core ones exactly, so journeys recorded before the lifecycle release replay unchanged.
        `grouped_warnings` off warns per lot, as journeys recorded before grouping did.
        `version` is the run's rules version (domain/journey.py); from 2 on the account must carry
        its deduplication memory (`intake.adopt_memory`): business keys are then kept for good."""
        self.a = account
        self.p = account.program
        self.lifecycle = lifecycle
        self.grouped_warnings = grouped_warnings
        self.version = version
        if version >= 2 and account.dedup is None:
            raise ValueError("rules version 2 needs the account's deduplication memory (intake.adopt_memory)")
        if lifecycle and not account.lifecycle.referral_code:
            account.lifecycle.referral_code = referrals.code_for(account.customer_id)

    # ---- bookkeeping ---------------------------------------------------------------------------

    def entry(
        self,
        fx: Effects,
        now: datetime,
        kind: EntryKind,
        origin: str,
        points: int = 0,
        pending_points: int = 0,
        *,
        lot_id: str | None = None,
        ref: str | None = None,
        reason: str | None = None,
        actor: str | None = None,
    ) -> LedgerEntry:
        return bookkeeping.entry(
            self, fx, now, kind, origin, points, pending_points, lot_id=lot_id, ref=ref, reason=reason, actor=actor
        )

    def email(self, fx: Effects, now: datetime, purpose: str, origin: str, data: dict) -> None:
        bookkeeping.email(self, fx, now, purpose, origin, data)

    def note(self, now: datetime, kind: str, text: str) -> None:
        bookkeeping.note(self, now, kind, text)

    def seen(self, event_id: str) -> bool:
        return bookkeeping.seen(self, event_id)

    def remember(self, event_id: str) -> None:
        bookkeeping.remember(self, event_id)

    def spent(self, key: str) -> bool:
        """Whether a business key (an invoice, a request id…) was used; always False before version 2."""
        return self.a.dedup is not None and self.version >= 2 and self.a.dedup.keys.has(key)

    def spend(self, key: str) -> None:
        """Remember a business key for good (version 2 on)."""
        if self.a.dedup is not None and self.version >= 2:
            self.a.dedup.keys.add(key)

    # ---- earning -------------------------------------------------------------------------------

    def multiplier(self) -> float:
        return earning.multiplier(self)

    def earn(
        self,
        fx: Effects,
        now: datetime,
        points: int,
        source: str,
        origin: str,
        ref: str | None = None,
        spend_minor: int = 0,
        qualifies: bool = True,
        actor: str | None = None,
    ) -> str | None:
        return earning.earn(self, fx, now, points, source, origin, ref, spend_minor, qualifies, actor)

    def on_payment(self, fx: Effects, now: datetime, ev: PaymentSucceeded) -> None:
        payments.on_payment(self, fx, now, ev)

    def on_refund(self, fx: Effects, now: datetime, ev: RefundIssued) -> None:
        payments.on_refund(self, fx, now, ev)

    def on_activity(self, fx: Effects, now: datetime, ev: ActivityReported) -> None:
        earning.on_activity(self, fx, now, ev)

    # ---- membership ----------------------------------------------------------------------------

    def on_payment_failed(self, fx: Effects, now: datetime, ev: PaymentFailed) -> None:
        membership.on_payment_failed(self, fx, now, ev)

    def on_cancelled(self, fx: Effects, now: datetime, ev: SubscriptionCancelled) -> None:
        membership.on_cancelled(self, fx, now, ev)

    def on_plan_changed(self, fx: Effects, now: datetime, ev: PlanChanged) -> None:
        membership.on_plan_changed(self, fx, now, ev)

    def on_profile(self, fx: Effects, now: datetime, ev: ProfileUpdated) -> None:
        membership.on_profile(self, fx, now, ev)

    def on_signed_up(self, fx: Effects, now: datetime, ev: SignedUp) -> None:
        membership.on_signed_up(self, fx, now, ev)

    def on_email_suppressed(self, fx: Effects, now: datetime, ev: EmailSuppressed) -> None:
        membership.on_email_suppressed(self, fx, now, ev)

    # ---- referrals -----------------------------------------------------------------------------

    def on_referral_linked(self, fx: Effects, now: datetime, ev: ReferralLinked) -> None:
        referrals.on_linked(self, fx, now, ev)

    def on_referral_paid(self, fx: Effects, now: datetime, ev: ReferralPaid) -> None:
        referrals.on_paid(self, fx, now, ev)

    def on_referral_refunded(self, fx: Effects, now: datetime, ev: ReferralRefunded) -> None:
        referrals.on_refunded(self, fx, now, ev)

    def on_referrer_found(self, fx: Effects, now: datetime, code: str, referrer: str | None) -> None:
        referrals.on_referrer_found(self, fx, now, code, referrer)

    # ---- pending points ------------------------------------------------------------------------

    def add_pending(
        self, fx: Effects, now: datetime, pending_id: str, points: int, source: str, ref: str | None, hold: timedelta
    ) -> None:
        pending_points.add_pending(self, fx, now, pending_id, points, source, ref, hold)

    def void_pending(self, fx: Effects, now: datetime, ref: str, why: str) -> int:
        return pending_points.void_pending(self, fx, now, ref, why)

    # ---- requests ------------------------------------------------------------------------------

    def check_redeem(self, req: RedeemRequest) -> None:
        requests.check_redeem(self, req)

    def redeem_points(self, req: RedeemRequest) -> int:
        return requests.redeem_points(self, req)

    def redeem(self, fx: Effects, now: datetime, req: RedeemRequest) -> RedeemResult:
        return requests.redeem(self, fx, now, req)

    def credit_key(self, request_id: str) -> str:
        return requests.credit_key(self, request_id)

    def credit_failed(self, fx: Effects, now: datetime, credit: BillingCredit, why: str) -> None:
        requests.credit_failed(self, fx, now, credit, why)

    def check_adopt(self, program: Program) -> None:
        requests.check_adopt(self, program)

    def adopt(self, fx: Effects, now: datetime, program: Program) -> None:
        requests.adopt(self, fx, now, program)

    def check_adjust(self, req: AdjustRequest) -> None:
        requests.check_adjust(self, req)

    def adjust(self, fx: Effects, now: datetime, req: AdjustRequest) -> AdjustResult:
        return requests.adjust(self, fx, now, req)

    def check_minimum_tier(self, tier: str, until: datetime, now: datetime) -> None:
        requests.check_minimum_tier(self, tier, until, now)

    def set_minimum_tier(self, fx: Effects, now: datetime, tier: str, reason: str, actor: str, until: datetime) -> None:
        requests.set_minimum_tier(self, fx, now, tier, reason, actor, until)

    # ---- win-back ------------------------------------------------------------------------------

    def discount_created(self, fx: Effects, now: datetime, req: DiscountRequest, outcome: DiscountOutcome) -> None:
        if campaign_earning.owns_discount(self, req):
            campaign_earning.on_discount_created(self, fx, now, req, outcome)
        else:
            churn.on_discount_created(self, fx, now, req, outcome)

    # ---- campaigns -----------------------------------------------------------------------------

    def campaign_answer(self, campaign_id: str) -> TouchResult | None:
        return campaign_apply.answered(self, campaign_id)

    def check_touch(self, touch: CampaignTouch) -> None:
        campaign_apply.check_touch(touch)

    def apply_touch(self, fx: Effects, now: datetime, touch: CampaignTouch) -> TouchResult:
        return campaign_apply.apply_touch(self, fx, now, touch)

    def discount_failed(self, now: datetime, why: str) -> None:
        churn.on_discount_failed(self, now, why)

    # ---- profile -------------------------------------------------------------------------------

    def profile(self, now: datetime) -> CustomerProfile:
        return customer_profile.build(self, now)

    def segment_moved(self, seen: CustomerProfile | None, seen_at: datetime | None = None) -> bool:
        return customer_profile.segment_moved(self, seen, seen_at)

    # ---- tiers ---------------------------------------------------------------------------------

    def qualifying_total(self, now: datetime) -> int:
        return tier_changes.qualifying_total(self, now)

    def check_upgrade(self, fx: Effects, now: datetime) -> None:
        tier_changes.check_upgrade(self, fx, now)

    # ---- time ----------------------------------------------------------------------------------

    def next_deadline(self) -> datetime | None:
        return deadlines.next_deadline(self)

    def advance(self, fx: Effects, now: datetime) -> None:
        """Do everything that has come due by `now`: warnings, expiries, releases, tier year end."""
        deadlines.advance(self, fx, now)
