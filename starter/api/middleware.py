"""The body limit: bodies over the limit are refused before anything reads them.

By Content-Length at once (413, or 400 for a malformed header), and by counting the streamed
bytes (chunked uploads, a lying Content-Length). The limit depends on the path: SendGrid posts
large batches.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooLarge(StarletteHTTPException):
    def __init__(self, limit: int):
        super().__init__(413, f"the body exceeds {limit} bytes")
        self.limit = limit


def too_large(limit: int, length: int | None) -> dict[str, Any]:
    detail: dict[str, Any] = {"limit": limit}
    if length is not None:
        detail["content_length"] = length
    return {"error": f"the body exceeds the limit of {limit} bytes", "detail": detail}


class BodyLimit:
    """ASGI middleware: `limit_for(path)` bytes at most per request body."""

    def __init__(self, app: ASGIApp, limit_for: Callable[[str], int]):
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope.get("path", ""))
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None:
            if not length.isdigit():
                await _send_json(send, 400, {"error": "malformed Content-Length header"})
                return
            if int(length) > limit:
                await _send_json(send, 413, too_large(limit, int(length)))
                return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if started:
                raise
            await _send_json(send, 413, too_large(limit, None))


async def _send_json(send: Send, status: int, body: dict[str, Any]) -> None:
    raw = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(raw)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": raw})
