"""The load generator's HTTP client does not count a server's keep-alive close as a failed request.

uvicorn closes a connection idle for 5 s; the open-loop phase used to meet such connections and
record an error retried after a back-off, which put the benchmark's own pause into the latency
it reports. These run against a small asyncio server that closes the way uvicorn does.
"""

from __future__ import annotations

import asyncio

import pytest

from bench.minihttp import HttpError, MiniHttp

ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


async def _read_request(reader: asyncio.StreamReader) -> bool:
    head = await reader.readuntil(b"\r\n\r\n") if not reader.at_eof() else b""
    if not head:
        return False
    length = next(
        (int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")), 0
    )
    await reader.readexactly(length)
    return True


async def _serve(handler) -> tuple[asyncio.Server, str, list[int]]:
    connections: list[int] = []

    async def on_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        try:
            await handler(reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(on_connection, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}", connections


async def test_a_connection_closed_while_idle_is_not_reused():
    async def idle_close(reader, writer):  # answers, then closes after 0.2 s idle (uvicorn's timeout_keep_alive)
        while True:
            try:
                ok = await asyncio.wait_for(_read_request(reader), 0.2)
            except TimeoutError:
                return
            if not ok:
                return
            writer.write(ANSWER)
            await writer.drain()

    server, url, connections = await _serve(idle_close)
    client = MiniHttp(url, max_idle=60)
    try:
        assert await client.post("/", b"{}", {}) == (200, b"ok")
        await asyncio.sleep(0.5)
        assert await client.post("/", b"{}", {}) == (200, b"ok")
        assert len(connections) == 2
    finally:
        await client.aclose()
        server.close()


async def test_a_reused_connection_closed_before_the_answer_is_sent_again_once():
    async def one_answer_per_connection(reader, writer):  # the server's close races the next request
        if await _read_request(reader):
            writer.write(ANSWER)
            await writer.drain()
        await _read_request(reader)  # the next request on this connection: closed without an answer

    server, url, connections = await _serve(one_answer_per_connection)
    client = MiniHttp(url, max_idle=60)
    try:
        assert await client.post("/", b"{}", {}) == (200, b"ok")
        assert await client.post("/", b"{}", {}) == (200, b"ok")
        assert client.reconnects == 1
        assert len(connections) == 2
    finally:
        await client.aclose()
        server.close()


async def test_a_connection_idle_past_the_limit_is_dropped_before_use():
    async def keep_alive(reader, writer):
        while await _read_request(reader):
            writer.write(ANSWER)
            await writer.drain()

    server, url, connections = await _serve(keep_alive)
    client = MiniHttp(url, max_idle=0.1)
    try:
        await client.post("/", b"{}", {})
        await client.post("/", b"{}", {})
        assert len(connections) == 1  # reused while fresh
        await asyncio.sleep(0.3)
        await client.post("/", b"{}", {})
        assert len(connections) == 2 and client.reconnects == 0
    finally:
        await client.aclose()
        server.close()


async def test_a_new_connection_closed_before_the_answer_is_an_error():
    async def refuse(reader, writer):
        await _read_request(reader)

    server, url, _ = await _serve(refuse)
    client = MiniHttp(url)
    try:
        with pytest.raises(HttpError, match="connection closed"):
            await client.post("/", b"{}", {})
    finally:
        await client.aclose()
        server.close()
