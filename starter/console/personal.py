"""A member's personal data in the console: shown to the roles the API shows it to, hidden from the others.

Which roles see it is decided once, in `starter.api.roles.sees_personal_data` (support and admin). For any
other console role (a viewer) the member pages leave out the address, the name, the time zone and the
country, and every free text they show (timeline, reasons, email details, what happens next, rejections)
has the member's address and name, any other email address, any input a validation error repeats and the
customer's own quoted words replaced by `MARK`, as an erasure would (`domain.erasure.masked`). Members are
found by their customer id only.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from domain.effects import LedgerEntry
from domain.erasure import masked
from domain.summary import Summary
from starter.api.roles import sees_personal_data

from .session import Staff

MARK = "[hidden]"
HIDDEN = "hidden for your role"


def shows_personal_data(staff: Staff) -> bool:
    return sees_personal_data(staff.role)


class Mask:
    """Free texts as a role is shown them: unchanged for a role that sees personal data."""

    def __init__(self, staff: Staff, known: Iterable[str | None] = ()):
        self.off = shows_personal_data(staff)
        self.known = sorted({k for k in known if k}, key=len, reverse=True)  # "Ann Lee" before "Ann"

    def __call__(self, text: str | None) -> str | None:
        if self.off or text is None:
            return text
        return masked(text, self.known, MARK, own_words=True)

    def items(self, items: list[Any], field: str) -> list[Any]:
        """Models (timeline lines, upcoming steps) with `field` masked."""
        if self.off:
            return items
        return [i.model_copy(update={field: self(getattr(i, field))}) for i in items]

    def entries(self, entries: list[LedgerEntry]) -> list[LedgerEntry]:
        return self.items(entries, "reason")

    def rows(self, rows: list[dict], field: str) -> list[dict]:
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


def contact_for(staff: Staff, contact: dict | None) -> dict | None:
    """The member's contact line: everything for a role that sees personal data; for another, only
    whether marketing email may reach them (no address, name, zone or country)."""
    if contact is None or shows_personal_data(staff):
        return contact
    return {"email_reachable": contact.get("email_reachable"), "hidden": True}


def known_by(contact: dict | None) -> list[str]:
    """The address and name a member is known by (a row of `contact_of`), to mask where they are quoted."""
    return [t for t in ((contact or {}).get("email"), (contact or {}).get("name")) if t]
