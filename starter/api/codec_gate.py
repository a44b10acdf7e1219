"""What a browser needs to call `/codec/*`: CORS for the Temporal UI's origins, and the sign-in cookie.

- CORS (Starlette's middleware, on `/codec/*` only): the configured origins may POST with
  `Authorization`, `X-Api-Key`, `X-Namespace` and `Content-Type` and with credentials; preflights are
  answered without a key. Other routes stay closed to browsers of other origins.
- The cookie `/codec/login` sets is admitted as the request's `X-Api-Key` when the request carries no
  key of its own, and only from an allowed origin (or none): the role checks stay the routes' own.
"""

from __future__ import annotations

from collections.abc import Callable
from http.cookies import CookieError, SimpleCookie

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

PREFIX = "/codec"
COOKIE = "tenure_codec_key"
# Authorization-Extras: the UI sends it with "Pass the user access token".
ALLOWED_HEADERS = ["Authorization", "Authorization-Extras", "Content-Type", "X-Api-Key", "X-Namespace"]


class CodecGate:
    def __init__(self, app: ASGIApp, origins: Callable[[], list[str]]) -> None:
        self.app = app
        self.origins = origins
        self._cors: CORSMiddleware | None = None
        self._allowed: frozenset[str] = frozenset()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope.get("path", "").startswith(PREFIX + "/"):
            await self.app(scope, receive, send)
            return
        if self._cors is None:  # the settings are known once the app started
            self._allowed = frozenset(self.origins())
            self._cors = CORSMiddleware(
                self.app,
                allow_origins=sorted(self._allowed),
                allow_methods=["POST"],
                allow_headers=ALLOWED_HEADERS,
                allow_credentials=True,
                max_age=600,
            )
        await self._cors(self._with_cookie_key(scope), receive, send)

    def _with_cookie_key(self, scope: Scope) -> Scope:
        headers = scope.get("headers") or []
        names = {name for name, _ in headers}
        if b"authorization" in names or b"x-api-key" in names:
            return scope
        origin = next((value.decode("latin-1") for name, value in headers if name == b"origin"), None)
        if origin is not None and origin not in self._allowed:
            return scope
        key = _cookie(headers)
        if not key:
            return scope
        return {**scope, "headers": [*headers, (b"x-api-key", key.encode("latin-1"))]}


def _cookie(headers: list[tuple[bytes, bytes]]) -> str | None:
    for name, value in headers:
        if name != b"cookie":
            continue
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(value.decode("latin-1"))
        except CookieError:
            continue
        if COOKIE in jar:
            return jar[COOKIE].value
    return None
