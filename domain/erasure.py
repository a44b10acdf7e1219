"""Erasure of a member's personal data (GDPR art. 17) inside their journey: the `erase_personal_data` update.

What a journey holds that identifies a person is replaced: the email address, the name, the time
zone and the country, the customer's own words (a cancellation comment, in the churn state and in the timeline), the
emails composed but not sent (the outbox and the deferred ones carry the address, the name and template
data), and every free text where the address or the name may be quoted (timeline notes, the reasons of
rejections, of ledger entries and of entries not yet written). Amounts, dates, points, tiers and the
ledger's keys stay: they are the books, and they identify nobody without the billing system.

An erased account refuses every event but a new `signed_up` (recorded, without its payload, as a
rejection), so a later billing event does not bring the member back; a new sign-up (a new event id)
reopens it with the contact details it brings. The journey then continues as new with the scrubbed
state, so that the runs holding the old data can be deleted (starter/personal_data.py).
"""

from __future__ import annotations

import re
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from .account import Account, Erasure
from .effects import Effects
from .messages import CustomerEvent, Id, Text
from .quarantine import reject_event
from .rules_port import RulesPort

ERASED = "[erased]"
# A cancellation note quotes the customer's own words after a dash (domain/membership.py).
_QUOTED_COMMENT = re.compile(r" — “.*”$", re.DOTALL)
# Free texts may also quote an address the member had before, or an input a validation error repeats. The
# same pattern refuses an erasure's reason that holds an address (starter/personal_data.py reason_problem).
ANY_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_INPUT_VALUE = re.compile(r"input_value=.*?(?=, input_type=|\]|$)", re.MULTILINE)


class ErasureRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    request_id: Id = Field(description="Idempotency id: a retry answers the first erasure.")
    actor: Id = Field(description="Who asked (an admin key's actor, or the CLI's --actor).")
    reason: Text | None = Field(None, description="Why (e.g. a ticket number); no personal data.")


class ErasureResult(BaseModel):
    customer_id: str
    request_id: str
    actor: str
    erased_at: datetime
    run_id: str = Field(description="The run that answered.")
    continues_as_new: bool = Field(
        description="True: that run holds the data erased and hands the scrubbed account to a new run; "
        "once it has, every closed run can be deleted."
    )


def erase(r: RulesPort, outbox: Effects, now: datetime, req: ErasureRequest) -> Erasure:
    """Scrub the account and the undelivered effects in place; returns the account's erasure record."""
    a = r.a
    # the zone too: a deferred email's note names it ("quiet hours in Europe/London"); UTC names nobody
    known = [t for t in (a.email, a.name, a.timezone if a.timezone != "UTC" else None) if t]
    a.email = None
    a.name = None
    a.timezone = "UTC"
    a.country = None
    if a.tier.minimum is not None:  # support's words, which may name the member
        a.tier.minimum = a.tier.minimum.model_copy(update={"reason": _scrub(a.tier.minimum.reason, known)})
    a.tier.because = _scrub(a.tier.because, known)
    lc = a.lifecycle
    lc.comms.deferred = []
    if lc.churn is not None:
        lc.churn = lc.churn.model_copy(update={"comment": None})
    a.timeline = [
        item.model_copy(update={"text": _scrub(_QUOTED_COMMENT.sub("", item.text), known)}) for item in a.timeline
    ]
    a.rejections = [
        x.model_copy(
            update={
                "reason": _scrub(x.reason, known),
                "entry": x.entry.model_copy(update={"reason": None}) if x.entry else None,
            }
        )
        for x in a.rejections
    ]
    a.recent_entries = [e.model_copy(update={"reason": None}) for e in a.recent_entries]
    outbox.emails = []
    outbox.entries = [e.model_copy(update={"reason": None}) for e in outbox.entries]
    outbox.quarantine = [
        q.model_copy(update={"payload": "", "reason": _scrub(q.reason, known)}) for q in outbox.quarantine
    ]
    a.erasure = Erasure(request_id=req.request_id, actor=req.actor, at=now)
    r.note(now, "privacy", f"personal data erased by {req.actor}" + (f": {req.reason}" if req.reason else ""))
    return a.erasure


def refused(account: Account, event: CustomerEvent) -> bool:
    """Whether an erased account refuses this event: every event but a sign-up."""
    return account.erasure is not None and event.type != "signed_up"


def refuse(r: RulesPort, outbox: Effects, now: datetime, event: CustomerEvent) -> None:
    """Record an event refused because the member was erased; its payload is not kept (it may carry data)."""
    erasure = r.a.erasure
    assert erasure is not None, "only an erased account refuses events"
    reject_event(
        r,
        outbox,
        now,
        event.event_id,
        event.type,
        f"the member's personal data was erased on {erasure.at:%Y-%m-%d}: only a new signed_up opens the account again",
        "",
    )


def reopen(r: RulesPort, now: datetime) -> None:
    """A new sign-up reached an erased account: it is a member again, with the contact details it brought."""
    r.a.erasure = None
    r.note(now, "privacy", "signed up again after an erasure")


def _scrub(text: str, known: list[str]) -> str:
    return masked(text, known, ERASED)


def masked(text: str, known: list[str], mark: str, *, own_words: bool = False) -> str:
    """`text` with the member's `known` address and name, any other email address and any input a
    validation error repeats replaced by `mark`; with `own_words`, also a customer's quoted comment
    (what an erasure removes, and what a role that is not shown personal data does not see)."""
    if own_words:
        text = _QUOTED_COMMENT.sub(f" — {mark}", text)
    for secret in known:
        text = text.replace(secret, mark)
    text = ANY_EMAIL.sub(mark, text)
    return _INPUT_VALUE.sub(f"input_value={mark}", text)
