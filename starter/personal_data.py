"""Export and erasure of a member's personal data (GDPR art. 15, 17 and 20), for the CLI and the API.

**Export** (`export_member`): one JSON document with everything Tenure holds about the member: the
journey's whole state (profile, lots, tier, payments, redemptions, timeline, lifecycle) through its
`account` query, and every SQL row about them (profile, ledger, emails, billing credits and discounts,
campaign memberships, events set aside, earlier exports and erasures).

**Erasure** (`erase_member`), in this order, each step safe to repeat:
1. the journey's `erase_personal_data` update scrubs its state (domain/erasure.py) and mirrors the
   scrubbed profile into `customers`; the run then continues as new, handing on the scrubbed state;
2. once it has, every closed run of the workflow id is deleted from Temporal (DeleteWorkflowExecution):
   those histories are the only place the data still is (signals, activity inputs, earlier states);
   the running run started from the scrubbed state and holds none of it;
3. the SQL tables are scrubbed (storage/personal_data.py): nothing the journey writes from now on
   names the member, so nothing can come back behind the scrub.
Why deletion rather than per-member keys destroyed (crypto-shredding): the codec would need to know
whose payload it encrypts (the SDK's codec sees payloads, not workflows), a key store per member to
keep, back up and consult on every decode, and the Temporal UI's codec endpoint too; deleting the few
runs of one workflow id uses what Temporal already has, and leaves nothing readable under any key.

Every export and erasure is recorded in `personal_data_requests` (actor, time, what came of it); an
erasure also in the member's timeline.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy.engine import Engine

from domain.account import Account
from domain.erasure import ANY_EMAIL, ErasureRequest
from starter.client import NoJourney, TenureClient
from storage.personal_data import (
    customer_profile,
    has_records,
    member_records,
    pending_deletions,
    record_request,
    scrub_member,
)

HANDOVER_TIMEOUT = timedelta(seconds=60)
# Temporal deletes a run in the background (about 30 s on the dev server): the CLI waits to say it is
# done, the API answers sooner with the runs still going (a repeated erasure reports them again).
DELETION_WAIT = timedelta(seconds=90)


class ErasureReport(BaseModel):
    customer_id: str
    request_id: str
    actor: str
    erased_at: datetime
    journey: str = Field(description="scrubbed (a running journey continued as new with the scrubbed state) or none")
    reason: str | None = Field(None, description="Why, as the request gave it (a ticket number); no personal data.")
    runs_deleted: list[str] = Field(
        description="Closed runs deleted from Temporal, with their histories: by this request, or by an earlier "
        "erasure of the member that listed them in `runs_not_yet_deleted` and that Temporal has finished since."
    )
    runs_not_yet_deleted: list[str] = Field(
        default_factory=list,
        description="Runs Temporal had not deleted yet when the erasure answered: it finishes in the background.",
    )
    rows_scrubbed: dict[str, int] = Field(description="SQL rows scrubbed, by table.")


class ReasonNamesTheMember(ValueError):
    """An erasure's reason that quotes the member's address or name, or any email address: it is kept after
    the erasure (the member's timeline, the register of requests), so it would keep what was erased."""


_NAME_PART = re.compile(r"\w{3,}")


def reason_problem(reason: str | None, email: str | None, name: str | None) -> str | None:
    """Why an erasure's reason may not be kept (it names the member, or holds an email address), or None."""
    if not reason:
        return None
    text = reason.casefold()
    quoted = bool(ANY_EMAIL.search(reason)) or bool(email and email.casefold() in text)
    parts = {p.casefold() for p in _NAME_PART.findall(name or "")}
    quoted = quoted or any(re.search(rf"(?<!\w){re.escape(p)}(?!\w)", text) for p in parts)
    if not quoted:
        return None
    return (
        "the reason must not name the member or hold an email address: it is kept after the erasure "
        "(the member's timeline, the register of requests); give a ticket or case number"
    )


Row = dict[str, Any]


class Consent(BaseModel):
    marketing_email: Literal["allowed", "unsubscribed", "blocked"] = Field(
        description="Whether marketing email may go to the member: `blocked` when the address bounced, was "
        "dropped or reported spam (nothing goes), `unsubscribed` (transactional email still goes)."
    )
    unsubscribed: bool
    address_blocked: str | None = Field(description="bounce, dropped or spamreport; null when it was not.")
    basis: str = Field(description="What Tenure's sending rests on, in words.")
    changes: list[Row] = Field(description="When it changed: the timeline's lines about it (at, kind, text).")


class MemberExport(BaseModel):
    """Everything Tenure holds about one member (GDPR art. 15 and 20); README "Export and erasure"."""

    customer_id: str
    exported_at: datetime
    exported_by: str = Field(description="Who asked: the API key's actor or the CLI's --actor.")
    profile: Row | None = Field(
        description="The `customers` row: contact details (email, name, time zone, country) and the figures "
        "segments read (status, tier, balance, spend, activity...); null when there is none."
    )
    journey: Row | None = Field(
        description="The journey's whole state (its `account` query): contact details, lots, tier, payments, "
        "lifecycle (onboarding, churn, referrals, communication), answers, rejections; its program by version "
        "only; null without a journey."
    )
    ledger: list[Row] = Field(description="Every `ledger_entries` row, in order: the books.")
    emails: list[Row] = Field(description="Every email composed for the member (`emails`): address, message, status.")
    redemptions: dict[str, list[Row]] = Field(
        description="`journey` (the journey's answers), `billing_credits` and `billing_discounts` rows."
    )
    campaign_memberships: list[Row] = Field(description="Every campaign that reached or held out the member.")
    consent: Consent | None = Field(description="What the member allowed; null without a journey.")
    timeline: list[Row] = Field(description="What happened, in plain words (at, kind, text).")
    set_aside: list[Row] = Field(description="Events and ledger entries set aside (`quarantine` rows).")
    personal_data_requests: list[Row] = Field(description="Earlier exports and erasures of the member.")


def new_request_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


async def export_member(tenure: TenureClient, engine: Engine, customer_id: str, actor: str) -> dict[str, Any]:
    """Everything Tenure holds about the member, JSON-ready; `NoJourney` when it holds nothing."""
    try:
        account: Account | None = await tenure.account(customer_id)
    except NoJourney:
        account = None
    records = await asyncio.to_thread(member_records, engine, customer_id)
    if account is None and not has_records(records):
        raise NoJourney(customer_id)
    now = datetime.now(UTC)
    document: dict[str, Any] = {
        "customer_id": customer_id,
        "exported_at": now,
        "exported_by": actor,
        "profile": records["profile"],
        "journey": _journey(account),
        "ledger": records["ledger"],
        "emails": records["emails"],
        "redemptions": {
            "journey": [r.model_dump(mode="json") for r in account.redemptions.values()] if account else [],
            "billing_credits": records["billing_credits"],
            "billing_discounts": records["billing_discounts"],
        },
        "campaign_memberships": records["campaign_memberships"],
        "consent": _consent(account),
        "timeline": [t.model_dump(mode="json") for t in account.timeline] if account else [],
        "set_aside": records["set_aside"],
        "personal_data_requests": records["personal_data_requests"],
    }
    counts = {k: len(v) for k, v in document.items() if isinstance(v, list)}
    await asyncio.to_thread(record_request, engine, customer_id, "export", actor, new_request_id("export"), counts, now)
    return document


CONSENT_BASIS = (
    "marketing email goes unless the member unsubscribed (SendGrid unsubscribe or group unsubscribe); "
    "transactional email (receipts, dunning) goes unless the address bounced, was dropped or reported spam"
)
# the journey's notes of domain/membership.py on_email_suppressed
_CONSENT_NOTES = ("unsubscribed (", "address blocked (")


def _consent(account: Account | None) -> dict[str, Any] | None:
    """What the member allowed or stopped, in one place (the journey keeps it in its communication state):
    whether marketing email may go, why not, and when it changed."""
    if account is None:
        return None
    comms = account.lifecycle.comms
    marketing = "blocked" if comms.blocked else "unsubscribed" if comms.unsubscribed else "allowed"
    return {
        "marketing_email": marketing,
        "unsubscribed": comms.unsubscribed,
        "address_blocked": comms.blocked,
        "basis": CONSENT_BASIS,
        "changes": [
            t.model_dump(mode="json")
            for t in account.timeline
            if t.kind == "email" and t.text.startswith(_CONSENT_NOTES)
        ],
    }


def _journey(account: Account | None) -> dict[str, Any] | None:
    """The journey's state without the program it runs (the same for every member): its version only."""
    if account is None:
        return None
    state = account.model_dump(mode="json", exclude={"program"})
    state["program_version"] = account.program.version
    return state


async def erase_member(
    tenure: TenureClient,
    engine: Engine,
    customer_id: str,
    actor: str,
    request_id: str | None = None,
    reason: str | None = None,
    handover_timeout: timedelta = HANDOVER_TIMEOUT,
    deletion_wait: timedelta = DELETION_WAIT,
) -> ErasureReport:
    """Erase the member's personal data everywhere Tenure wrote it (see the module docstring).
    `ReasonNamesTheMember` before anything is done when the reason quotes them (their profile in SQL says)."""
    profile = await asyncio.to_thread(customer_profile, engine, customer_id)
    problem = reason_problem(reason, profile.get("email"), profile.get("name"))
    if problem is not None:
        raise ReasonNamesTheMember(problem)
    request = ErasureRequest(request_id=request_id or new_request_id("erasure"), actor=actor, reason=reason)
    erased_at = datetime.now(UTC)
    journey = "none"
    try:
        result = await tenure.erase(customer_id, request)
    except NoJourney:  # no journey, or none running: nothing holds the data but closed runs and SQL
        result = None
    if result is not None:
        journey, erased_at = "scrubbed", result.erased_at
        if result.continues_as_new:
            await tenure.wait_handed_over(customer_id, result.run_id, handover_timeout)
    runs = await tenure.runs(customer_id)
    closed = [r.run_id for r in runs if not r.running]
    if result is None and not closed and not has_records(await asyncio.to_thread(member_records, engine, customer_id)):
        raise NoJourney(customer_id)
    # runs an earlier erasure left Temporal deleting: asked again (a deletion lost in a restart) and, once gone,
    # reported deleted by this record, so that the requests' records prove every deletion that was asked
    earlier = [r for r in await asyncio.to_thread(pending_deletions, engine, customer_id) if r not in closed]
    await tenure.delete_runs(customer_id, closed + earlier)
    left = await _wait_deleted(tenure, customer_id, closed + earlier, deletion_wait)
    scrubbed = await asyncio.to_thread(scrub_member, engine, customer_id)
    report = ErasureReport(
        customer_id=customer_id,
        request_id=request.request_id,
        actor=actor,
        erased_at=erased_at,
        journey=journey,
        reason=request.reason,
        runs_deleted=[r for r in closed + earlier if r not in left],
        runs_not_yet_deleted=left,
        rows_scrubbed=scrubbed,
    )
    outcome = report.model_dump(
        mode="json", include={"reason", "journey", "runs_deleted", "runs_not_yet_deleted", "rows_scrubbed"}
    )
    await asyncio.to_thread(
        record_request, engine, customer_id, "erasure", actor, request.request_id, outcome, datetime.now(UTC)
    )
    return report


async def _wait_deleted(tenure: TenureClient, customer_id: str, run_ids: list[str], wait: timedelta) -> list[str]:
    """The runs whose history Temporal still returns after `wait` (it deletes in the background)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait.total_seconds()
    left = list(run_ids)
    while True:
        left = [r for r in left if await tenure.history_kept(customer_id, r)]
        if not left or loop.time() >= deadline:
            return left
        await asyncio.sleep(0.5)
