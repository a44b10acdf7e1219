"""What routes depend on: the request's `Services`, and an API key for the app-facing routes."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from .errors import ApiError
from .services import Services


def services(request: Request) -> Services:
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(services)]

_bearer = HTTPBearer(auto_error=False, description="An API key of TENURE_API_KEYS (default: dev-key).")
_api_key_header = APIKeyHeader(name="X-Api-Key", auto_error=False, description="An API key of TENURE_API_KEYS.")


def require_api_key(
    svc: ServicesDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    header_key: Annotated[str | None, Depends(_api_key_header)],
) -> str:
    """`Authorization: Bearer <key>` or `X-Api-Key: <key>`, one of TENURE_API_KEYS; 401 otherwise."""
    given = header_key or (bearer.credentials if bearer else None)
    if not given:
        raise ApiError(
            401,
            "missing API key",
            "send Authorization: Bearer <key> or X-Api-Key: <key>",
            {"WWW-Authenticate": "Bearer"},
        )
    if not any(hmac.compare_digest(given.encode(), key.encode()) for key in svc.settings.keys()):
        raise ApiError(401, "wrong API key", None, {"WWW-Authenticate": "Bearer"})
    return given
