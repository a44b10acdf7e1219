"""A customer's loyalty account: the complete state of a journey and every rule that moves it.

`Account` is plain data (it travels through continue-as-new); `AccountRules` applies the
program to it and returns what the outside world must be told as effects (ledger entries,
emails, billing credits). The workflow only orchestrates: it never computes points itself.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, Field

from . import badges, churn, comms, dunning, engagement, onboarding, referrals
from . import lots as L
from . import tiers as T
from .effects import BillingCredit, Effects, EmailIntent, EntryKind, LedgerEntry
from .lifecycle_state import LifecycleState
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
from .refusals import Refused

SEEN_EVENTS_KEPT = 2000
ANSWERS_KEPT = 500
RECENT_ENTRIES_KEPT = 50
TIMELINE_KEPT = 300
PAYMENTS_KEPT_DAYS = 400
CAPPED_ACTIVITIES = {"login", "feature_used", "content_shared"}
ONCE_ACTIVITIES = {"profile_completed"}


class Pending(BaseModel):
    pending_id: str
    points: int
    source: str
    ref: str | None = None
    release_at: datetime


class Payment(BaseModel):
    invoice_id: str
    amount_minor: int
    currency: str
    points: int
    lot_id: str | None
    refunded_minor: int = 0
    at: datetime


class TimelineItem(BaseModel):
    at: datetime
    kind: str
    text: str


class Account(BaseModel):
    customer_id: str
    program: Program
    status: Literal["active", "past_due", "cancelled"] = "active"
    email: str | None = None
    name: str | None = None
    timezone: str = "UTC"
    created_at: datetime

    lots: list[L.Lot] = Field(default_factory=list)
    pending: list[Pending] = Field(default_factory=list)
    shortfall: int = 0
    tier: T.TierStatus
    qualifying: list[T.Qualifying] = Field(default_factory=list)
    payments: list[Payment] = Field(default_factory=list)

    activity_day: str | None = None
    activity_day_points: int = 0
    activity_week: str | None = None
    activity_week_points: int = 0
    once_done: list[str] = Field(default_factory=list)

    seen_events: list[str] = Field(default_factory=list)
    redemptions: dict[str, RedeemResult] = Field(default_factory=dict)
    adjustments: dict[str, AdjustResult] = Field(default_factory=dict)

    seq: int = 0
    lifetime_points: int = 0
    lifetime_spend_minor: int = 0
    tier_changes: int = 0
    recent_entries: list[LedgerEntry] = Field(default_factory=list)
    timeline: list[TimelineItem] = Field(default_factory=list)
    lifecycle: LifecycleState = Field(default_factory=LifecycleState)

    @classmethod
    def open(cls, customer_id: str, program: Program, now: datetime) -> Account:
        first = program.tiers.levels[0].name
        return cls(
            customer_id=customer_id,
            program=program,
            created_at=now,
            tier=T.TierStatus(name=first, year_start=now, year_end=now + program.tier_year, because="new member"),
        )

    @property
    def balance(self) -> int:
        return L.balance(self.lots)

    @property
    def pending_points(self) -> int:
        return sum(p.points for p in self.pending)


class AccountRules:
    """Applies the program to one account. Every public method is deterministic in (account, now)."""

    def __init__(self, account: Account, lifecycle: bool = False, grouped_warnings: bool = True):
        """`lifecycle` turns on the journeys of domain/onboarding … churn; off, the rules are the
        core ones exactly, so journeys recorded before the lifecycle release replay unchanged.
        `grouped_warnings` off warns per lot, as journeys recorded before grouping did."""
        self.a = account
        self.p = account.program
        self.lifecycle = lifecycle
        self.grouped_warnings = grouped_warnings
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
        a = self.a
        a.seq += 1
        entry = LedgerEntry(
            customer_id=a.customer_id,
            seq=a.seq,
            key=f"{a.customer_id}/{origin}/{kind}",
            kind=kind,
            points=points,
            pending_points=pending_points,
            balance_after=a.balance,
            pending_after=a.pending_points,
            at=now,
            program_version=self.p.version,
            lot_id=lot_id,
            ref=ref,
            reason=reason,
            actor=actor,
        )
        fx.entries.append(entry)
        a.recent_entries = (a.recent_entries + [entry])[-RECENT_ENTRIES_KEPT:]
        return entry

    def email(self, fx: Effects, now: datetime, purpose: str, origin: str, data: dict) -> None:
        """Compose an email; with the lifecycle on, the communication policy decides when it goes."""
        a = self.a
        intent = EmailIntent(
            customer_id=a.customer_id,
            key=f"{a.customer_id}/{origin}/{purpose}",
            purpose=purpose,
            template_id=self.p.email.templates.for_purpose(purpose),
            category="marketing" if purpose in self.p.comms.marketing else "transactional",
            to_email=a.email,
            to_name=a.name,
            data={"name": a.name, "balance": a.balance, "tier": a.tier.name, **data},
            at=now,
        )
        if not self.lifecycle:
            fx.emails.append(intent)
        else:
            self._submit(fx, now, intent)

    def _submit(self, fx: Effects, now: datetime, intent: EmailIntent) -> None:
        state = self.a.lifecycle.comms
        d = comms.decide(intent, state, self.p.comms, self.a.timezone, now)
        if d.action == "send":
            comms.record_sent(state, intent, now)
            fx.emails.append(intent.model_copy(update={"to_email": self.a.email, "to_name": self.a.name}))
        elif d.action == "defer":
            state.deferred.append(comms.Deferred(intent=intent, due=d.until))
            self.note(now, "email", f"{intent.purpose} email deferred until {d.until:%Y-%m-%d %H:%M} UTC: {d.why}")
        else:
            self.note(now, "email", f"{intent.purpose} email suppressed: {d.why}")

    def note(self, now: datetime, kind: str, text: str) -> None:
        self.a.timeline = (self.a.timeline + [TimelineItem(at=now, kind=kind, text=text)])[-TIMELINE_KEPT:]

    def seen(self, event_id: str) -> bool:
        return event_id in self.a.seen_events

    def remember(self, event_id: str) -> None:
        self.a.seen_events = (self.a.seen_events + [event_id])[-SEEN_EVENTS_KEPT:]

    # ---- earning -------------------------------------------------------------------------------

    def multiplier(self) -> float:
        return self.p.tiers.get(self.a.tier.name).multiplier if self.a.tier.name in self.p.tiers.names() else 1.0

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
    ) -> str | None:
        """Add a lot of `points` (already multiplied); settles a recorded shortfall first."""
        a = self.a
        if points <= 0:
            return None
        lot_id = origin
        a.lots.append(
            L.Lot(
                lot_id=lot_id,
                source=source,
                ref=ref,
                earned_at=now,
                expires_at=now + self.p.lot_validity,
                points=points,
                remaining=points,
            )
        )
        a.lifetime_points += points
        self.entry(fx, now, "earn", origin, points=points, lot_id=lot_id, ref=ref, reason=source)
        if a.shortfall > 0:
            settle = min(a.shortfall, points)
            L.consume(a.lots, settle, prefer=lot_id)
            a.shortfall -= settle
            self.entry(
                fx,
                now,
                "refund_reversal",
                origin,
                points=-settle,
                lot_id=lot_id,
                ref=ref,
                reason=f"settles {settle} points of an earlier refund shortfall",
            )
        if qualifies:
            a.qualifying.append(T.Qualifying(at=now, points=points, spend_minor=spend_minor, ref=ref))
        self.check_upgrade(fx, now)
        return lot_id

    def on_payment(self, fx: Effects, now: datetime, ev: PaymentSucceeded) -> None:
        a = self.a
        e = self.p.earning
        if any(p.invoice_id == ev.invoice_id for p in a.payments):
            self.note(now, "payment", f"invoice {ev.invoice_id} already counted; ignored")
            return
        if self.lifecycle:
            churn.on_return(self, fx, now, ev)
            dunning.on_recovered(self, now)
        if e.mode == "cashback":
            base = ev.amount_minor * e.cashback_percent / 100 * self.p.redemption.points_per_currency_unit / 100
        else:
            base = e.annual_payment if ev.cadence == "annual" else e.monthly_payment
        points = int(base * self.multiplier())
        a.lifetime_spend_minor += ev.amount_minor
        lot_id = self.earn(
            fx,
            now,
            points,
            f"{ev.cadence} payment",
            origin=f"pay:{ev.invoice_id}",
            ref=ev.invoice_id,
            spend_minor=ev.amount_minor,
        )
        a.payments.append(
            Payment(
                invoice_id=ev.invoice_id,
                amount_minor=ev.amount_minor,
                currency=ev.currency,
                points=points,
                lot_id=lot_id,
                at=now,
            )
        )
        a.payments = [p for p in a.payments if p.at > now - timedelta(days=PAYMENTS_KEPT_DAYS)]
        a.status = "active"
        self.note(
            now,
            "payment",
            f"{ev.cadence} payment {ev.invoice_id} of {ev.amount_minor / 100:.2f} {ev.currency} earned {points} points",
        )
        if self.lifecycle:
            c = a.lifecycle.counters
            c.payments += 1
            c.paid_months += 12 if ev.cadence == "annual" else 1
            a.lifecycle.first_invoice_id = a.lifecycle.first_invoice_id or ev.invoice_id
            referrals.after_payment(self, fx, now, ev.invoice_id)
            badges.check(self, fx, now)

    def on_refund(self, fx: Effects, now: datetime, ev: RefundIssued) -> None:
        a = self.a
        pay = next((p for p in a.payments if p.invoice_id == ev.invoice_id), None)
        if pay is None:
            self.note(now, "refund", f"refund of unknown invoice {ev.invoice_id}: no points to reverse")
            return
        refundable = max(0, pay.amount_minor - pay.refunded_minor)
        amount = min(ev.amount_minor, refundable)
        if amount == 0 or pay.amount_minor == 0:
            self.note(now, "refund", f"invoice {ev.invoice_id} already fully refunded")
            return
        before = pay.points * pay.refunded_minor // pay.amount_minor
        pay.refunded_minor += amount
        after = pay.points * pay.refunded_minor // pay.amount_minor
        reverse = after - before
        taken = sum(t for _, t in L.consume(a.lots, reverse, prefer=pay.lot_id))
        short = reverse - taken
        a.shortfall += short
        for q in a.qualifying:  # the refunded money no longer qualifies for a tier
            if q.ref == pay.invoice_id:
                q.points = max(0, q.points - reverse)
                q.spend_minor = max(0, q.spend_minor - amount)
                break
        origin = f"refund:{ev.event_id}"
        self.entry(
            fx,
            now,
            "refund_reversal",
            origin,
            points=-taken,
            ref=ev.invoice_id,
            reason=f"refund of {amount / 100:.2f} {ev.currency}",
        )
        if short:
            self.entry(
                fx,
                now,
                "shortfall",
                origin,
                ref=ev.invoice_id,
                reason=f"{short} points could not be reversed: balance too low; settled from future earnings",
            )
        self.note(
            now,
            "refund",
            f"refund on {ev.invoice_id} reversed {taken} points" + (f", shortfall {short}" if short else ""),
        )
        a.lots = L.prune(a.lots)
        if self.lifecycle:
            referrals.after_refund(self, fx, now, ev.invoice_id)

    def on_activity(self, fx: Effects, now: datetime, ev: ActivityReported) -> None:
        a = self.a
        e = self.p.earning
        kind = ev.kind
        if kind in ("survey_answered", "review_written"):
            base = getattr(e, kind)
        elif kind in ONCE_ACTIVITIES:
            if kind in a.once_done:
                self.note(now, "activity", f"{kind}: earns only once")
                return
            a.once_done.append(kind)
            base = e.activity[kind].points if kind in e.activity else 0
        else:
            base = e.activity[kind].points if kind in e.activity else 0
        points = int(base * self.multiplier())
        if kind in CAPPED_ACTIVITIES:
            day = now.date().isoformat()
            iso = now.isocalendar()
            week = f"{iso.year}-W{iso.week:02d}"
            if a.activity_day != day:
                a.activity_day, a.activity_day_points = day, 0
            if a.activity_week != week:
                a.activity_week, a.activity_week_points = week, 0
            room = min(e.activity_daily_cap - a.activity_day_points, e.activity_weekly_cap - a.activity_week_points)
            points = max(0, min(points, room))
            a.activity_day_points += points
            a.activity_week_points += points
        if points:
            self.earn(fx, now, points, kind, origin=f"act:{ev.event_id}", ref=ev.event_id)
        self.note(
            now,
            "activity",
            f"{kind}" + (f": {points} points" if points else ": no points" + (" (cap reached)" if base else "")),
        )
        if self.lifecycle:
            engagement.on_activity(self, fx, now)
            onboarding.on_activity(self, fx, now, kind)
            badges.on_activity(self, fx, now, kind)
            if kind == "review_written":
                a.lifecycle.counters.reviews += 1
            badges.check(self, fx, now)

    def on_payment_failed(self, fx: Effects, now: datetime, ev: PaymentFailed) -> None:
        self.note(
            now, "billing", f"payment failed for invoice {ev.invoice_id}" + (f": {ev.reason}" if ev.reason else "")
        )
        if self.lifecycle:
            dunning.on_failed(self, fx, now, ev)

    def on_cancelled(self, fx: Effects, now: datetime, ev: SubscriptionCancelled) -> None:
        self.a.status = "cancelled"
        kind = "involuntary" if ev.involuntary else "voluntary"
        self.note(
            now,
            "billing",
            f"subscription cancelled ({kind}), reason: {ev.reason}" + (f" — “{ev.comment}”" if ev.comment else ""),
        )
        if self.lifecycle:
            churn.on_cancelled(self, fx, now, ev)

    def on_plan_changed(self, fx: Effects, now: datetime, ev: PlanChanged) -> None:
        self.note(now, "billing", f"plan changed to {ev.plan} ({ev.cadence})")

    def _contact(self, ev: ProfileUpdated | SignedUp) -> None:
        """Contact details that came with the event; a field left out keeps what we had."""
        a = self.a
        a.email = ev.email or a.email
        a.name = ev.name or a.name
        a.timezone = ev.timezone or a.timezone

    def on_profile(self, fx: Effects, now: datetime, ev: ProfileUpdated) -> None:
        self._contact(ev)
        self.note(now, "profile", "contact details updated")

    def on_signed_up(self, fx: Effects, now: datetime, ev: SignedUp) -> None:
        a = self.a
        self._contact(ev)
        self.note(now, "profile", "signed up" + (f" with referral code {ev.referral_code}" if ev.referral_code else ""))
        if not self.lifecycle:
            return
        lc = a.lifecycle
        if lc.signed_up_at is None:
            lc.signed_up_at = now
            onboarding.start(self, fx, now)
            badges.enroll(self, now)
        referrals.on_signed_up(self, fx, now, ev)

    def on_email_suppressed(self, fx: Effects, now: datetime, ev: EmailSuppressed) -> None:
        state = self.a.lifecycle.comms
        if ev.reason in comms.HARD_STOPS:
            state.blocked = ev.reason
            self.note(now, "email", f"address blocked ({ev.reason}): no more email")
        else:
            state.unsubscribed = True
            self.note(now, "email", f"unsubscribed ({ev.reason}): no more marketing email")

    def on_referral_linked(self, fx: Effects, now: datetime, ev: ReferralLinked) -> None:
        if self.lifecycle:
            referrals.on_linked(self, fx, now, ev)

    def on_referral_paid(self, fx: Effects, now: datetime, ev: ReferralPaid) -> None:
        if self.lifecycle:
            referrals.on_paid(self, fx, now, ev)

    def on_referral_refunded(self, fx: Effects, now: datetime, ev: ReferralRefunded) -> None:
        if self.lifecycle:
            referrals.on_refunded(self, fx, now, ev)

    def on_referrer_found(self, fx: Effects, now: datetime, code: str, referrer: str | None) -> None:
        referrals.on_referrer_found(self, fx, now, code, referrer)

    # ---- pending points ------------------------------------------------------------------------

    def add_pending(
        self, fx: Effects, now: datetime, pending_id: str, points: int, source: str, ref: str | None, hold: timedelta
    ) -> None:
        a = self.a
        if points <= 0 or any(p.pending_id == pending_id for p in a.pending):
            return
        a.pending.append(Pending(pending_id=pending_id, points=points, source=source, ref=ref, release_at=now + hold))
        self.entry(fx, now, "pending", f"pending:{pending_id}", pending_points=points, ref=ref, reason=source)
        self.note(now, "pending", f"{points} points pending until {(now + hold).date()} ({source})")

    def void_pending(self, fx: Effects, now: datetime, ref: str, why: str) -> int:
        a = self.a
        voided = [p for p in a.pending if p.ref == ref]
        for p in voided:
            a.pending.remove(p)
            self.entry(
                fx, now, "pending_voided", f"pending:{p.pending_id}", pending_points=-p.points, ref=ref, reason=why
            )
            self.note(now, "pending", f"{p.points} pending points voided: {why}")
        return sum(p.points for p in voided)

    # ---- requests ------------------------------------------------------------------------------

    def check_redeem(self, req: RedeemRequest) -> None:
        """Raise Refused when the request cannot be honoured; a repeated request id always passes."""
        a = self.a
        if req.request_id in a.redemptions:
            return
        if a.status != "active":
            raise Refused("member_inactive", f"member is not active (status: {a.status})")
        points = self.redeem_points(req)
        if points > a.balance:
            raise Refused("insufficient_points", f"not enough points: {points} asked, {a.balance} available")

    def redeem_points(self, req: RedeemRequest) -> int:
        r = self.p.redemption
        if req.kind == "reward":
            if not req.reward_id:
                raise Refused("reward_required", "reward_id is required for a reward redemption")
            reward = r.reward(req.reward_id)
            if reward is None:
                raise Refused("unknown_reward", f"unknown reward {req.reward_id!r}")
            if not reward.available:
                raise Refused("reward_unavailable", f"reward {req.reward_id!r} is not available")
            return reward.points
        if req.points is None or req.points <= 0:
            raise Refused("points_not_positive", "points must be a positive whole number")
        if req.points < r.minimum_points:
            raise Refused("below_minimum", f"at least {r.minimum_points} points per redemption")
        if (req.points * 100) % r.points_per_currency_unit:
            raise Refused(
                "not_whole_cents",
                f"points must buy a whole number of cents ({r.points_per_currency_unit} points = 1.00)",
            )
        return req.points

    def redeem(self, fx: Effects, now: datetime, req: RedeemRequest) -> RedeemResult:
        a = self.a
        if req.request_id in a.redemptions:
            return a.redemptions[req.request_id]
        self.check_redeem(req)
        points = self.redeem_points(req)
        L.consume(a.lots, points)
        a.lots = L.prune(a.lots)
        credit = points * 100 // self.p.redemption.points_per_currency_unit if req.kind == "credit" else 0
        origin = f"redeem:{req.request_id}"
        self.entry(
            fx,
            now,
            "spend",
            origin,
            points=-points,
            ref=req.request_id,
            reason=f"reward {req.reward_id}" if req.kind == "reward" else "billing credit",
        )
        if credit:
            fx.credits.append(
                BillingCredit(
                    customer_id=a.customer_id,
                    key=self.credit_key(req.request_id),
                    amount_minor=credit,
                    currency=self.p.currency,
                    description=f"Loyalty points: {points} points redeemed",
                    at=now,
                )
            )
        result = RedeemResult(
            request_id=req.request_id,
            points=points,
            kind=req.kind,
            reward_id=req.reward_id,
            credit_minor=credit,
            currency=self.p.currency,
            balance_after=a.balance,
            at=now,
        )
        a.redemptions[req.request_id] = result
        a.redemptions = dict(list(a.redemptions.items())[-ANSWERS_KEPT:])
        self.email(
            fx,
            now,
            "redemption_receipt",
            origin,
            {"points": points, "reward_id": req.reward_id, "credit": f"{credit / 100:.2f} {self.p.currency}"},
        )
        self.note(
            now,
            "redemption",
            f"redeemed {points} points for "
            + (f"reward {req.reward_id}" if req.kind == "reward" else f"a {credit / 100:.2f} {self.p.currency} credit"),
        )
        if self.lifecycle:
            a.lifecycle.counters.redemptions += 1
            badges.check(self, fx, now)
        return result

    def credit_key(self, request_id: str) -> str:
        return f"{self.a.customer_id}/redeem:{request_id}/credit"

    def credit_failed(self, fx: Effects, now: datetime, credit: BillingCredit, why: str) -> None:
        """Billing refused a credit for good: give the points back and remember the refusal."""
        a = self.a
        request_id = next((rid for rid in a.redemptions if self.credit_key(rid) == credit.key), None)
        done = a.redemptions.get(request_id) if request_id else None
        if done is None or done.error:
            return
        origin = f"redeem-failed:{request_id}"
        a.lots.append(
            L.Lot(
                lot_id=origin,
                source="returned points",
                ref=request_id,
                earned_at=now,
                expires_at=now + self.p.lot_validity,
                points=done.points,
                remaining=done.points,
            )
        )
        self.entry(
            fx,
            now,
            "adjust",
            origin,
            points=done.points,
            lot_id=origin,
            ref=request_id,
            reason=f"billing credit failed, points returned: {why}",
            actor="tenure",
        )
        a.redemptions[request_id] = done.model_copy(
            update={"error": f"billing refused the credit: {why}", "balance_after": a.balance}
        )
        self.note(now, "redemption", f"credit for {request_id} failed ({why}); {done.points} points returned")

    def check_adopt(self, program: Program) -> None:
        if program.version == self.p.version:
            raise Refused("same_program", f"the journey already runs program {program.version}")
        if self.a.tier.name not in program.tiers.names():
            raise Refused(
                "program_lacks_tier",
                f"program {program.version} has no tier {self.a.tier.name!r}, which this member holds",
            )

    def adopt(self, fx: Effects, now: datetime, program: Program) -> None:
        """Run under a new program from now on; earned lots keep the expiry they were given."""
        self.check_adopt(program)
        old = self.p.version
        self.a.program = self.p = program
        self.note(now, "program", f"program {old} → {program.version}")
        self.check_upgrade(fx, now)

    def check_adjust(self, req: AdjustRequest) -> None:
        if req.request_id in self.a.adjustments:
            return
        if req.points == 0:
            raise Refused("zero_adjustment", "points must not be zero")
        if req.points < 0 and -req.points > self.a.balance:
            raise Refused("balance_too_low", f"cannot remove {-req.points} points: balance is {self.a.balance}")

    def adjust(self, fx: Effects, now: datetime, req: AdjustRequest) -> AdjustResult:
        a = self.a
        if req.request_id in a.adjustments:
            return a.adjustments[req.request_id]
        self.check_adjust(req)
        origin = f"adjust:{req.request_id}"
        if req.points > 0:
            a.lots.append(
                L.Lot(
                    lot_id=origin,
                    source="adjustment",
                    ref=req.request_id,
                    earned_at=now,
                    expires_at=now + self.p.lot_validity,
                    points=req.points,
                    remaining=req.points,
                )
            )
        else:
            L.consume(a.lots, -req.points)
            a.lots = L.prune(a.lots)
        self.entry(
            fx,
            now,
            "adjust",
            origin,
            points=req.points,
            lot_id=origin if req.points > 0 else None,
            ref=req.request_id,
            reason=req.reason,
            actor=req.actor,
        )
        result = AdjustResult(request_id=req.request_id, points=req.points, balance_after=a.balance, at=now)
        a.adjustments[req.request_id] = result
        a.adjustments = dict(list(a.adjustments.items())[-ANSWERS_KEPT:])
        self.email(fx, now, "points_adjusted", origin, {"points": req.points, "reason": req.reason})
        self.note(now, "adjustment", f"{req.actor} adjusted {req.points:+d} points: {req.reason}")
        return result

    def check_minimum_tier(self, tier: str, until: datetime, now: datetime) -> None:
        if tier not in self.p.tiers.names():
            raise Refused("unknown_tier", f"unknown tier {tier!r}; tiers are {', '.join(self.p.tiers.names())}")
        if until <= now:
            raise Refused("until_not_future", "until must be in the future")

    def set_minimum_tier(self, fx: Effects, now: datetime, tier: str, reason: str, actor: str, until: datetime) -> None:
        self.check_minimum_tier(tier, until, now)
        self.a.tier.minimum = T.MinimumTier(tier=tier, reason=reason, actor=actor, until=until)
        self.note(now, "tier", f"{actor} set minimum tier {tier} until {until.date()}: {reason}")
        self.check_upgrade(fx, now)

    # ---- tiers ---------------------------------------------------------------------------------

    def qualifying_total(self, now: datetime) -> int:
        return T.rolling_total(self.a.qualifying, self.p.tiers, now)

    def _set_tier(self, fx: Effects, now: datetime, name: str, because: str) -> None:
        a = self.a
        old = a.tier.name
        a.tier = T.TierStatus(
            name=name, year_start=now, year_end=now + self.p.tier_year, because=because, minimum=a.tier.minimum
        )
        if name != old:
            a.tier_changes += 1
            direction = "upgrade" if self.p.tiers.index(name) > self.p.tiers.index(old) else "downgrade"
            self.email(
                fx,
                now,
                "tier_changed",
                f"tier-change:{a.tier_changes}:{name}",
                {"old_tier": old, "new_tier": name, "direction": direction, "because": because},
            )
            self.note(now, "tier", f"{direction} {old} → {name}: {because}")

    def check_upgrade(self, fx: Effects, now: datetime) -> None:
        total = self.qualifying_total(now)
        target = T.upgrade_target(self.a.tier, total, self.p.tiers, now)
        if target:
            floor = T.floor_of(self.a.tier, self.p.tiers, now)
            because = (
                f"minimum tier set by support ({self.a.tier.minimum.reason})"
                if self.a.tier.minimum
                and self.p.tiers.index(target) == floor
                and total < self.p.tiers.get(target).threshold
                else f"{total} qualifying points in 12 months"
            )
            self._set_tier(fx, now, target, because)

    # ---- time ----------------------------------------------------------------------------------

    def next_deadline(self) -> datetime | None:
        a = self.a
        times: list[datetime] = [a.tier.year_end]
        if self.lifecycle:
            times += [d.due for d in a.lifecycle.comms.deferred]
            for journey in (onboarding, badges, engagement, churn, dunning):
                times += journey.deadlines(self)
        for lot in a.lots:
            if lot.remaining <= 0 or (self.lifecycle and churn.frozen(self)):
                continue
            times.append(lot.expires_at)
            for d in self.p.points.expiry_warning_days:
                if d not in lot.warned:
                    times.append(lot.expires_at - timedelta(days=d))
        times += [p.release_at for p in a.pending]
        return min(times) if times else None

    def advance(self, fx: Effects, now: datetime) -> None:
        """Do everything that has come due by `now`: warnings, expiries, releases, tier year end."""
        a = self.a
        if self.lifecycle:
            self._advance_lifecycle(fx, now)
        frozen = self.lifecycle and churn.frozen(self)
        if not frozen:
            (self._warn_grouped if self.grouped_warnings else self._warn_per_lot)(fx, now)
        for lot in [] if frozen else sorted(a.lots, key=L.order_key):
            for lot_id, lost in L.expire_due([lot], now):  # one lot at a time: each entry's balance_after is exact
                self.entry(
                    fx, now, "expire", f"expire:{lot_id}", points=-lost, lot_id=lot_id, reason="12 months passed"
                )
                self.note(now, "expiry", f"{lost} points of lot {lot_id} expired")
        a.lots = L.prune(a.lots)
        self._advance_pending_and_tiers(fx, now)

    def _warning_purpose(self, days: int) -> str:
        warn_days = sorted(self.p.points.expiry_warning_days)
        return "expiry_last_chance" if days == warn_days[0] and len(warn_days) > 1 else "expiry_warning"

    def _warn_grouped(self, fx: Effects, now: datetime) -> None:
        """One email for every lot expiring close together, not one per lot: a member who logs in
        daily would otherwise get a warning for each two-point lot. When a lot's warning comes due,
        the lots expiring up to `expiry_warning_group_days` after it are warned with it (so at most
        about one email of each kind a week), and they never wake the journey for that warning."""
        live = [lot for lot in sorted(self.a.lots, key=L.order_key) if lot.remaining > 0 and lot.expires_at > now]
        warn_days = sorted(self.p.points.expiry_warning_days)
        for d in warn_days:  # most urgent first: a lot warned at 7 days needs no 30-day warning
            due = [lot for lot in live if d not in lot.warned and now >= lot.expires_at - timedelta(days=d)]
            if not due:
                continue
            horizon = max(lot.expires_at for lot in due) + timedelta(days=self.p.points.expiry_warning_group_days)
            group = [lot for lot in live if d not in lot.warned and lot.expires_at <= horizon]
            for lot in group:
                lot.warned += [x for x in warn_days if x >= d and x not in lot.warned]
            points = sum(lot.remaining for lot in group)
            first, last = group[0].expires_at, max(lot.expires_at for lot in group)
            self.email(
                fx,
                now,
                self._warning_purpose(d),
                f"warn:{group[0].lot_id}:{d}",
                {
                    "points": points,
                    "expires_at": first.date().isoformat(),
                    "last_expires_at": last.date().isoformat(),
                    "lots": len(group),
                    "days": d,
                },
            )
            span = f"on {first.date()}" if first.date() == last.date() else f"between {first.date()} and {last.date()}"
            self.note(now, "expiry", f"warned: {points} points expire {span} ({d} days)")

    def _warn_per_lot(self, fx: Effects, now: datetime) -> None:
        a = self.a
        warn_days = sorted(self.p.points.expiry_warning_days)
        for lot in sorted(a.lots, key=L.order_key):
            if lot.remaining <= 0 or lot.expires_at <= now:
                continue
            due = [d for d in warn_days if d not in lot.warned and now >= lot.expires_at - timedelta(days=d)]
            if due:
                lot.warned += due
                urgent = min(due)
                purpose = self._warning_purpose(urgent)
                self.email(
                    fx,
                    now,
                    purpose,
                    f"warn:{lot.lot_id}:{urgent}",
                    {"points": lot.remaining, "expires_at": lot.expires_at.date().isoformat(), "days": urgent},
                )
                self.note(
                    now, "expiry", f"warned: {lot.remaining} points expire on {lot.expires_at.date()} ({urgent} days)"
                )

    def _advance_pending_and_tiers(self, fx: Effects, now: datetime) -> None:
        a = self.a
        for p in [p for p in a.pending if p.release_at <= now]:
            a.pending.remove(p)
            self.entry(
                fx,
                now,
                "pending_released",
                f"pending:{p.pending_id}",
                pending_points=-p.points,
                ref=p.ref,
                reason=f"{p.source}: hold over",
            )
            self.earn(fx, now, p.points, p.source, origin=f"release:{p.pending_id}", ref=p.ref)
            if self.lifecycle and p.source == "referral":
                referrals.on_released(self, fx, now, p.ref)
                badges.check(self, fx, now)
        a.qualifying = T.trim(a.qualifying, now)
        if a.tier.minimum and a.tier.minimum.until <= now:
            self.note(now, "tier", f"minimum tier {a.tier.minimum.tier} ended")
            a.tier.minimum = None
        if now >= a.tier.year_end:
            total = self.qualifying_total(now)
            target = T.year_end_target(a.tier, total, self.p.tiers, now)
            because = (
                f"tier year ended with {total} qualifying points"
                if target != a.tier.name
                else f"tier renewed: {total} qualifying points in 12 months"
            )
            if target == a.tier.name:
                a.tier.year_start, a.tier.year_end = now, now + self.p.tier_year
                a.tier.because = because
                self.note(now, "tier", because)
            else:
                self._set_tier(fx, now, target, because)

    def _advance_lifecycle(self, fx: Effects, now: datetime) -> None:
        state = self.a.lifecycle.comms
        due = [d for d in state.deferred if d.due <= now]
        state.deferred = [d for d in state.deferred if d.due > now]
        for d in due:  # decided again: an unsubscribe in between suppresses it
            self._submit(fx, now, d.intent)
        churn.advance(self, fx, now)
        dunning.advance(self, fx, now)
        onboarding.advance(self, fx, now)
        badges.advance(self, fx, now)
        engagement.advance(self, fx, now)
