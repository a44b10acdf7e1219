"""A minimal keep-alive HTTP/1.1 client for the load generator.

The load generator shares the machine's cores with the server, the worker and the API; httpx
spends about 4 ms of CPU per request here, which would be taken from the system under test.
This client writes a prepared request and reads the answer with asyncio streams: a fraction of
that. It speaks only what uvicorn answers (Content-Length bodies, keep-alive).

Like any pooling client (urllib3, httpx), it does not count a keep-alive connection the server
already closed as a failed request: uvicorn closes a connection idle for 5 s, so a pooled one
idle longer is dropped before use, and a request whose reused connection closes before any
answer is sent again at once on a new one. Before, the open-loop phase met such connections
after every quiet second and recorded them as errors retried after a back-off, which put the
benchmark's own pauses into the latency it reports.
"""

from __future__ import annotations

import asyncio
import time
from urllib.parse import urlsplit

# uvicorn's timeout_keep_alive is 5 s; a connection idle this long may be closing as we take it
MAX_IDLE_SECONDS = 4.0


class HttpError(Exception):
    pass


class _ClosedBeforeAnswer(Exception):
    """The connection ended before a status line: on a reused connection, the server's idle close."""


class MiniHttp:
    def __init__(self, base_url: str, max_connections: int = 256, max_idle: float = MAX_IDLE_SECONDS) -> None:
        u = urlsplit(base_url)
        self.host, self.port = u.hostname or "127.0.0.1", u.port or 80
        self.authority = f"{self.host}:{self.port}"
        self.max_idle = max_idle
        # (reader, writer, monotonic time it went idle); the newest at the end
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = []
        self.slots = asyncio.Semaphore(max_connections)
        self.reconnects = 0  # requests sent again because their reused connection had been closed

    async def _connection(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, bool]:
        now = time.monotonic()
        while self.idle:
            reader, writer, since = self.idle.pop()
            if now - since < self.max_idle and not reader.at_eof():
                return reader, writer, True
            writer.close()
        reader, writer = await asyncio.open_connection(self.host, self.port)
        return reader, writer, False

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        head = [f"POST {path} HTTP/1.1", f"Host: {self.authority}", f"Content-Length: {len(body)}"]
        head += [f"{k}: {v}" for k, v in headers.items() if k.lower() != "content-length"]
        request = ("\r\n".join(head) + "\r\n\r\n").encode() + body
        async with self.slots:
            reader, writer, reused = await self._connection()
            try:
                return await self._exchange(reader, writer, request)
            except (_ClosedBeforeAnswer, ConnectionResetError, BrokenPipeError):
                if not reused:
                    raise HttpError("connection closed") from None
            self.reconnects += 1
            reader, writer = await asyncio.open_connection(self.host, self.port)
            try:
                return await self._exchange(reader, writer, request)
            except _ClosedBeforeAnswer:
                raise HttpError("connection closed") from None

    async def _exchange(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
    ) -> tuple[int, bytes]:
        try:
            writer.write(request)
            status_line = await reader.readline()
            if not status_line:
                raise _ClosedBeforeAnswer
            status = int(status_line.split()[1])
            length, close = 0, False
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                name = name.strip().lower()
                if name == "content-length":
                    length = int(value)
                elif name == "connection" and value.strip().lower() == "close":
                    close = True
            data = await reader.readexactly(length) if length else b""
        except BaseException:
            writer.close()
            raise
        if close:
            writer.close()
        else:
            self.idle.append((reader, writer, time.monotonic()))
        return status, data

    async def aclose(self) -> None:
        for _, writer, _ in self.idle:
            writer.close()
        self.idle.clear()
