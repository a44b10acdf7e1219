"""Container health checks (starter/healthcheck.py): the worker's heartbeat file, the API's /healthz."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from settings import Settings
from starter.healthcheck import api_healthy, worker_healthy
from starter.heartbeat import STALE_AFTER, beating, is_fresh

ROOT = Path(__file__).resolve().parent.parent


def test_a_heartbeat_is_fresh_until_it_is_stale(tmp_path: Path):
    beat = tmp_path / "worker.alive"
    assert not is_fresh(beat), "no file: no worker"
    beat.touch()
    assert is_fresh(beat)
    old = time.time() - STALE_AFTER - 1
    os.utime(beat, (old, old))
    assert not is_fresh(beat), "a stuck worker stops beating"


async def test_beating_touches_while_running_and_cleans_up(tmp_path: Path):
    beat = tmp_path / "run" / "worker.alive"
    running = False
    async with beating(beat, lambda: running):
        await asyncio.sleep(0.05)
        assert not beat.exists(), "a worker not running yet does not beat"
    running = True
    async with beating(beat, lambda: running):
        await asyncio.sleep(0.05)
        assert is_fresh(beat)
    assert not beat.exists(), "a clean stop removes the file"
    async with beating(None, lambda: True):  # no file configured: nothing to do
        pass


def test_the_worker_probe(tmp_path: Path):
    beat = tmp_path / "worker.alive"
    assert worker_healthy(Settings(worker_health_file=None)) == (
        False,
        "TENURE_WORKER_HEALTH_FILE is not set: the worker writes no heartbeat",
    )
    assert not worker_healthy(Settings(worker_health_file=beat))[0]
    beat.touch()
    assert worker_healthy(Settings(worker_health_file=beat))[0]


@contextmanager
def answering(status: int) -> Iterator[int]:
    """An HTTP server on a free port whose /healthz answers `status`."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(status if self.path == "/healthz" else 404)
            self.end_headers()
            self.wfile.write(b'{"status": "whatever"}')

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def test_the_api_probe():
    with answering(200) as port:
        assert api_healthy(port) == (True, f"http://127.0.0.1:{port}/healthz: 200")
    with answering(503) as port:
        healthy, why = api_healthy(port)
        assert not healthy and "503" in why, why
    assert not api_healthy(port)[0], "nothing listens any more"


def test_the_probe_command(tmp_path: Path):
    beat = tmp_path / "worker.alive"
    beat.touch()
    env = dict(os.environ, TENURE_WORKER_HEALTH_FILE=str(beat))

    def probe(*args: str) -> subprocess.CompletedProcess:
        argv = [sys.executable, "-m", "starter.healthcheck", *args]
        return subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=30)

    assert probe("worker").returncode == 0
    beat.unlink()
    stale = probe("worker")
    assert stale.returncode == 1 and "missing or stale" in stale.stderr, stale
    assert probe("nonsense").returncode == 2


def test_the_api_probe_names_a_port_that_is_not_a_number():
    env = {**os.environ, "TENURE_API_PORT": "eight-thousand"}
    proc = subprocess.run(
        [sys.executable, "-m", "starter.healthcheck", "api"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip() == "TENURE_API_PORT must be a port number, got 'eight-thousand'", proc.stderr
