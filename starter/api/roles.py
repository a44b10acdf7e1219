"""API keys carry a role; each route names the roles it accepts, and every change records its caller.

`TENURE_API_KEYS` is a comma-separated list of `SECRET:ROLE[:NAME]` (e.g.
`k_9f…:app:billing-system,k_2c…:support:maria`). NAME (default: the role) is the actor recorded
for changes made with the key. A bare `SECRET` is an `app` key, as every key was before roles. With
no keys configured, the development key `dev-key` is an `admin` key (production refuses to start
without real keys).

| role | may |
|---|---|
| app | report events, read members, redeem (the SaaS app, the billing system) |
| support | read members, adjust points, set tiers, decode histories |
| marketer | segments, campaigns, metrics |
| viewer | read only |
| admin | everything, including exporting and erasing personal data |

A member's personal data (email address, name, time zone, country, the customer's own words) is seen
by the roles of `PERSONAL_DATA_ROLES` and admin only (`sees_personal_data`): the member routes carry
none of it for any role, decoding a history (the codec) is for those roles, a segment preview's sample
shows the zone and the country to admin only (marketer and viewer read them as null), and the console
hides it from every other role.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, cast, get_args

Role = Literal["app", "support", "marketer", "viewer", "admin"]
ROLES: tuple[str, ...] = get_args(Role)
ALIASES = {"billing": "app"}  # the brief's "billing/app" is one role

DEV_API_KEY = "dev-key"

PERSONAL_DATA_ROLES: tuple[Role, ...] = ("support",)
"""Besides admin, who sees a member's personal data: support, who answers the member. Not app (a
machine), marketer (aggregates only) nor viewer (read only, but not people's details)."""


@dataclass(frozen=True)
class ApiKey:
    secret: str
    role: Role
    name: str

    @property
    def actor(self) -> str:
        """Who a change made with this key is recorded as: `api:<name>`."""
        return f"api:{self.name}"


class ApiKeyError(ValueError):
    """TENURE_API_KEYS cannot be read; the message says which entry and why."""


def parse_api_keys(value: str) -> list[ApiKey]:
    """The keys of TENURE_API_KEYS; the development admin key when none is set."""
    keys: list[ApiKey] = []
    for number, entry in enumerate((e.strip() for e in value.split(",")), start=1):
        if not entry:
            continue
        secret, _, rest = entry.partition(":")
        role_text, _, name = rest.partition(":")
        role = ALIASES.get(role_text.strip(), role_text.strip()) or "app"
        if role not in ROLES:
            raise ApiKeyError(
                f"TENURE_API_KEYS entry {number}: unknown role {role_text!r}; roles are {', '.join(ROLES)}"
            )
        if not secret.strip():
            raise ApiKeyError(f"TENURE_API_KEYS entry {number}: the key itself is empty")
        keys.append(ApiKey(secret=secret.strip(), role=cast(Role, role), name=name.strip() or role))
    return keys or [ApiKey(secret=DEV_API_KEY, role="admin", name="dev")]


def allows(key: ApiKey, roles: tuple[Role, ...]) -> bool:
    """Admin may do everything; any other role only what the route names."""
    return key.role == "admin" or key.role in roles


def sees_personal_data(role: Role) -> bool:
    """Whether a key (or a console session) of this role is shown members' personal data."""
    return role == "admin" or role in PERSONAL_DATA_ROLES
