"""What a member's reader is shown of their personal data, by role: the rule is
`starter.api.roles.sees_personal_data` (support and admin see it); this is how it is applied to what a
journey and the ledger say, for the HTTP API's member routes and the console alike (`member_view`: the
one member's view, their address and name read only when they are to be masked).

For a role that does not see personal data, every free text (a summary's tier reason, a minimum tier's
reason, the reasons of rejections, lots' sources, ledger reasons, timeline lines, what happens next, an
email's delivery detail) has the member's address and name, any other email address, any input a
validation error repeats and the customer's own quoted words replaced by `MARK`, as an erasure replaces
them (`domain.erasure.masked`), and so is the time zone a note about quiet hours names (`quiet hours in
Europe/London`: `domain.comms`); a segment preview's sample members (`SegmentPreview`) lose their time zone
and country, as an erasure clears them (`sample`).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable
from typing import Any, TypeVar

from sqlalchemy.engine import Engine

from domain.effects import LedgerEntry
from domain.erasure import masked
from domain.segments import SegmentPreview
from domain.summary import Summary
from starter.api.roles import Role, sees_personal_data
from storage.console_reads import contact_of

MARK = "[hidden]"
# A decision of the communication policy, in the timeline and the email decisions: the member's own zone.
QUIET_HOURS_ZONE = re.compile(r"(?<=quiet hours in )[^\s,;)]+")
PLACE_FIELDS = ("timezone", "country")
"""A sample member's personal data: where they live (the fields an erasure clears, besides the address)."""
M = TypeVar("M")


def known_by(contact: dict | None) -> list[str]:
    """The address and name a member is known by (a row of the customers table), to mask where quoted."""
    return [t for t in ((contact or {}).get("email"), (contact or {}).get("name")) if t]


class PersonalView:
    """Free texts as `role` is shown them: unchanged for a role that sees personal data."""

    def __init__(self, role: Role, known: Iterable[str | None] = ()):
        self.off = sees_personal_data(role)
        self.known = sorted({k for k in known if k}, key=len, reverse=True)  # "Ann Lee" before "Ann"

    def __call__(self, text: str | None) -> str | None:
        if self.off or text is None:
            return text
        return QUIET_HOURS_ZONE.sub(MARK, masked(text, self.known, MARK, own_words=True))

    def items(self, items: list[M], field: str) -> list[M]:
        """Models (timeline lines, upcoming steps, lots) with `field` masked."""
        if self.off:
            return items
        return [i.model_copy(update={field: self(getattr(i, field))}) for i in items]  # type: ignore[attr-defined]

    def entries(self, entries: list[LedgerEntry]) -> list[LedgerEntry]:
        return self.items(entries, "reason")

    def rows(self, rows: list[dict[str, Any]], field: str) -> list[dict[str, Any]]:
        """Database rows (the emails recorded) with `field` masked."""
        if self.off:
            return rows
        return [{**r, field: self(r.get(field))} for r in rows]

    def summary(self, s: Summary) -> Summary:
        if self.off:
            return s
        minimum = s.minimum_tier
        if minimum is not None:
            minimum = minimum.model_copy(update={"reason": self(minimum.reason)})
        rejections = [
            r.model_copy(
                update={
                    "reason": self(r.reason),
                    "ref": self(r.ref),
                    "entry": r.entry.model_copy(update={"reason": self(r.entry.reason)}) if r.entry else None,
                }
            )
            for r in s.rejections
        ]
        return s.model_copy(
            update={
                "tier_because": self(s.tier_because),
                "minimum_tier": minimum,
                "rejections": rejections,
                "pending_lots": self.items(s.pending_lots, "source"),
                "lots": self.items(s.lots, "source"),
            }
        )

    def sample(self, preview: SegmentPreview) -> SegmentPreview:
        """A segment preview with its members' time zone and country left out (None)."""
        if self.off:
            return preview
        hidden = dict.fromkeys(PLACE_FIELDS)
        return preview.model_copy(update={"sample": [m.model_copy(update=hidden) for m in preview.sample]})


async def member_view(engine: Engine, role: Role, customer_id: str) -> PersonalView:
    """How `role` is shown this member's free texts: the address and name to mask are read from the
    customers table (one query) only for a role that does not see them; support and admin read nothing."""
    if sees_personal_data(role):
        return PersonalView(role)
    return PersonalView(role, known_by(await asyncio.to_thread(contact_of, engine, customer_id)))
