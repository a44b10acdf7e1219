"""Who may see and do what in the console: one table, read by the routes and by the navigation.

| area | support | marketer | viewer | admin |
|---|---|---|---|---|
| members (read) | yes | no | yes | yes |
| members: adjust points, set a minimum tier | yes | no | no | yes |
| journeys needing attention | yes | no | yes | yes |
| program | yes | yes | yes | yes |
| metrics | no | yes | yes | yes |
| segments and campaigns (read) | no | yes | yes | yes |
| segments and campaigns: create, start, pause, resume, cancel | no | yes | no | yes |

Marketers work with aggregates (metrics, the program) and never see a member's personal data;
viewers read everything but that (the address, the name, the zone, the country: `personal.py`, by the
API's rule `starter.api.roles.sees_personal_data`) and change nothing.
"""

from __future__ import annotations

from typing import Literal

from starter.api.roles import Role

from .session import Staff

Area = Literal["members", "member_actions", "attention", "program", "metrics", "campaigns", "campaign_actions"]

ALLOWED: dict[Area, tuple[Role, ...]] = {
    "members": ("support", "viewer"),
    "member_actions": ("support",),
    "attention": ("support", "viewer"),
    "program": ("support", "marketer", "viewer"),
    "metrics": ("marketer", "viewer"),
    "campaigns": ("marketer", "viewer"),
    "campaign_actions": ("marketer",),
}

NAVIGATION: list[tuple[Area, str, str]] = [
    ("members", "Members", "/console/members"),
    ("attention", "Needs attention", "/console/attention"),
    ("program", "Program", "/console/program"),
    ("campaigns", "Campaigns", "/console/campaigns"),
    ("metrics", "Metrics", "/console/metrics"),
]


def may(staff: Staff, area: Area) -> bool:
    return staff.role == "admin" or staff.role in ALLOWED[area]
