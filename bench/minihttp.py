"""A minimal keep-alive HTTP/1.1 client for the load generator.

The load generator shares the machine's cores with the server, the worker and the API; httpx
spends about 4 ms of CPU per request here, which would be taken from the system under test.
This client writes a prepared request and reads the answer with asyncio streams: a fraction of
that. It speaks only what uvicorn answers (Content-Length bodies, keep-alive).
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit


class HttpError(Exception):
    pass


class MiniHttp:
    def __init__(self, base_url: str, max_connections: int = 256) -> None:
        u = urlsplit(base_url)
        self.host, self.port = u.hostname or "127.0.0.1", u.port or 80
        self.authority = f"{self.host}:{self.port}"
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self.slots = asyncio.Semaphore(max_connections)

    async def _connection(self):
        if self.idle:
            return self.idle.pop()
        return await asyncio.open_connection(self.host, self.port)

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        head = [f"POST {path} HTTP/1.1", f"Host: {self.authority}", f"Content-Length: {len(body)}"]
        head += [f"{k}: {v}" for k, v in headers.items() if k.lower() != "content-length"]
        request = ("\r\n".join(head) + "\r\n\r\n").encode() + body
        async with self.slots:
            reader, writer = await self._connection()
            try:
                writer.write(request)
                status_line = await reader.readline()
                if not status_line:
                    raise HttpError("connection closed")
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
                self.idle.append((reader, writer))
            return status, data

    async def aclose(self) -> None:
        for _, w in self.idle:
            w.close()
        self.idle.clear()
