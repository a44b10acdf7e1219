"""A member's personal data in the console: shown to the roles the API shows it to, hidden from the others.

Which roles see it is decided once, in `starter.api.roles.sees_personal_data` (support and admin), and
applied to free texts as the API applies it: the routes use `starter.personal_view` themselves, and this
module holds what only the console shows (the contact line, the words "hidden for your role"). For any
other console role (a viewer) the member pages leave out the address, the name, the time zone and the
country, say so, and show `[hidden]` where a text quoted them; members are found by customer id only.
"""

from __future__ import annotations

from starter.api.roles import sees_personal_data

from .session import Staff

HIDDEN = "hidden for your role"


def shows_personal_data(staff: Staff) -> bool:
    return sees_personal_data(staff.role)


def contact_for(staff: Staff, contact: dict | None) -> dict | None:
    """The member's contact line: everything for a role that sees personal data; for another, only
    whether marketing email may reach them (no address, name, zone or country)."""
    if contact is None or shows_personal_data(staff):
        return contact
    return {"email_reachable": contact.get("email_reachable"), "hidden": True}
