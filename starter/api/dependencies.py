"""What routes depend on: the request's `Services`, and the caller's API key with its role."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from .errors import ApiError
from .roles import ApiKey, Role, allows
from .services import Services

log = logging.getLogger("tenure.api")


def services(request: Request) -> Services:
    return request.app.state.services


async def _services(request: Request) -> Services:
    # async, like every dependency here: FastAPI runs a plain `def` dependency in its thread pool,
    # a thread hop per request for an attribute read (bench/RESULTS.md)
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(_services)]

_bearer = HTTPBearer(auto_error=False, description="An API key of TENURE_API_KEYS (default: dev-key).")
_api_key_header = APIKeyHeader(name="X-Api-Key", auto_error=False, description="An API key of TENURE_API_KEYS.")


async def _caller(
    svc: ServicesDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    header_key: Annotated[str | None, Depends(_api_key_header)],
) -> ApiKey:
    """`Authorization: Bearer <key>` or `X-Api-Key: <key>`, one of TENURE_API_KEYS; 401 otherwise."""
    given = header_key or (bearer.credentials if bearer else None)
    if not given:
        raise ApiError(
            401,
            "missing API key",
            "send Authorization: Bearer <key> or X-Api-Key: <key>",
            {"WWW-Authenticate": "Bearer"},
        )
    found = None
    for key in svc.settings.api_key_list():
        if hmac.compare_digest(given.encode(), key.secret.encode()):
            found = key
    if found is None:
        raise ApiError(401, "wrong API key", None, {"WWW-Authenticate": "Bearer"})
    return found


def require_role(*roles: Role) -> Callable[..., Awaitable[ApiKey]]:
    """A dependency that admits keys of these roles (and admin), 403 for any other key. A refusal is logged
    with the key's actor and the route's template (never the customer id in the path): who tried what they
    may not do, e.g. export a member's personal data, is for the operators to see."""

    async def check(request: Request, key: Annotated[ApiKey, Depends(_caller)]) -> ApiKey:
        if not allows(key, roles):
            route = request.scope.get("route")
            log.warning(
                "refused (403): %s, role %s, may not %s %s",
                key.actor,
                key.role,
                request.method,
                getattr(route, "path", "this route"),
            )
            raise ApiError(
                403,
                f"the {key.role} role may not do this",
                {"role": key.role, "allowed": sorted({*roles, "admin"})},
            )
        return key

    return check


# The routes of the app and the billing system; members are read by support and viewers too.
AppCaller = Annotated[ApiKey, Depends(require_role("app"))]
MemberReader = Annotated[ApiKey, Depends(require_role("app", "support", "viewer"))]
