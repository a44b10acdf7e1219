"""Signing in to the console: an API key of TENURE_API_KEYS, then a signed, HttpOnly session cookie.

The cookie holds who signed in (name, role), a digest of the key (never the key) and the session's
CSRF token, signed with itsdangerous under a secret derived from the configured API keys (or
`TENURE_CONSOLE_SECRET`): changing the keys ends every session, and a key removed from
TENURE_API_KEYS stops working at the next request, since each request finds its key again by digest.

Every form carries the CSRF token (a hidden field, or htmx's `X-CSRF-Token` header); a POST without
the session's token is refused with 403 before anything else happens.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from fastapi import Request
from itsdangerous import BadSignature, URLSafeTimedSerializer

from starter.api.roles import ApiKey, Role
from starter.api.settings import ApiSettings

COOKIE = "tenure_console"
MAX_AGE = 8 * 3600  # a working day
CONSOLE_ROLES: tuple[Role, ...] = ("support", "marketer", "viewer", "admin")
"""Roles that may sign in: `app` keys belong to machines (the SaaS app, the billing system)."""


@dataclass(frozen=True)
class Staff:
    """Who is signed in to the console."""

    name: str
    role: Role
    csrf: str

    @property
    def actor(self) -> str:
        """How the ledger and the timeline record a change made in the console."""
        return f"console:{self.name}"


def key_digest(secret: str) -> str:
    return hashlib.sha256(b"tenure-console-key:" + secret.encode()).hexdigest()[:32]


def serializer(settings: ApiSettings, salt: str = "tenure-console") -> URLSafeTimedSerializer:
    """The console's signer under the secret of its keys; `salt` keeps one use's tokens (the session
    cookie, a notice) from passing as another's."""
    base = settings.console_secret or "\n".join(sorted(k.secret for k in settings.api_key_list()))
    secret = hashlib.sha256(b"tenure-console-session:" + base.encode()).hexdigest()
    return URLSafeTimedSerializer(secret, salt=salt)


def find_key(settings: ApiSettings, given: str) -> ApiKey | None:
    found = None
    for key in settings.api_key_list():
        if hmac.compare_digest(given.encode(), key.secret.encode()):
            found = key
    return found


def session_cookie(settings: ApiSettings, key: ApiKey) -> tuple[str, str]:
    """The cookie value for a freshly signed-in key, and its CSRF token."""
    csrf = secrets.token_urlsafe(24)
    value = serializer(settings).dumps({"k": key_digest(key.secret), "c": csrf})
    return value, csrf


def staff_of(request: Request, settings: ApiSettings) -> Staff | None:
    """Who the request's cookie belongs to; None when absent, forged, expired or its key is gone."""
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    try:
        data = serializer(settings).loads(raw, max_age=MAX_AGE)
    except BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("k"), str) or not isinstance(data.get("c"), str):
        return None
    for key in settings.api_key_list():
        if hmac.compare_digest(key_digest(key.secret), data["k"]) and key.role in CONSOLE_ROLES:
            return Staff(name=key.name, role=key.role, csrf=data["c"])
    return None
