"""Helpers for the personal-data tests: the API served over real HTTP (for the `temporal` CLI's
`--codec-endpoint`), and finding a secret in bytes in every form a history or a database may hold it."""

from __future__ import annotations

import asyncio
import base64
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn

from starter.api import ApiSettings, create_app
from storage.migrate import db_upgrade


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@asynccontextmanager
async def served_api(settings: ApiSettings, client, program) -> AsyncIterator[str]:
    """The API app (its lifespan run, Temporal through `client`) on a free port of 127.0.0.1, served by
    uvicorn in this event loop; yields its base URL."""
    db_upgrade(settings)
    port = free_port()
    app = create_app(settings, client=client, program=program)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    serving = asyncio.create_task(server.serve())
    try:
        for _ in range(200):
            if server.started or serving.done():
                break
            await asyncio.sleep(0.05)
        if serving.done():
            serving.result()  # the failure to start, if any
        assert server.started, "the API did not start within 10 s"
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await serving


def forms(secret: str) -> list[bytes]:
    """`secret` as plain bytes and as base64 at each of the three alignments it can have inside a longer
    base64 text (a history's JSON holds payload data in base64)."""
    raw = secret.encode()
    out = []
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + raw)
        start = 4 if offset else 0  # drop the quantum the prefix shares (it depends on the bytes before)
        end = len(encoded) - (4 if (offset + len(raw)) % 3 else 0)  # and a partial last one
        out.append(encoded[start:end])
    return [raw, *(f for f in out if len(f) >= 8)]  # a short base64 fragment would match by chance


def found(secret: str, data: bytes) -> bool:
    return any(form in data for form in forms(secret))
