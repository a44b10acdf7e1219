"""One way to reach Temporal, for the worker, the HTTP service, the CLI and the client alike.

Every connection carries the same data converter (`starter.payload_codec`): payloads are encrypted
with the configured keys before they leave the process.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from temporalio.client import Client, Interceptor, TLSConfig
from temporalio.runtime import Runtime
from temporalio.service import RetryConfig

from domain.program import Program, ProgramError
from settings import Settings, get_settings
from starter.payload_codec import PayloadKeys, load_payload_keys, payload_data_converter
from starter.program_file import read_program


async def connect(
    settings: Settings | None = None,
    keys: PayloadKeys | None = None,
    retry_config: RetryConfig | None = None,
    runtime: Runtime | None = None,
    interceptors: Sequence[Interceptor] = (),
) -> Client:
    """A client with Tenure's data converter, under `keys` (else the settings' keys: `PayloadKeyError`
    when there are none). `retry_config`: how calls retry while Temporal is unavailable (default: the
    SDK's, up to 10 s). `runtime`: the worker's, serving metrics (starter/telemetry.py); `interceptors`:
    tracing's (starter/tracing.py)."""
    s = settings or get_settings()
    converter = payload_data_converter(keys or load_payload_keys(s))
    tls: TLSConfig | bool = False
    if s.temporal_tls or s.temporal_tls_cert:
        tls = TLSConfig(
            client_cert=s.temporal_tls_cert.read_bytes() if s.temporal_tls_cert else None,
            client_private_key=s.temporal_tls_key.read_bytes() if s.temporal_tls_key else None,
        )
    return await Client.connect(
        s.temporal_address,
        namespace=s.temporal_namespace,
        tls=tls,
        api_key=s.temporal_api_key,
        data_converter=converter,
        retry_config=retry_config,
        runtime=runtime,
        interceptors=interceptors,
    )


def network_words(error: BaseException) -> str:
    """The network's own words in a failed connection: the SDK's bridge wraps them in a Rust error chain
    (`message: "Connection refused"`, `error: "failed to lookup..."`); else the error's text, cut short."""
    text = str(error)
    said = re.findall(r'(?:message|error): "([^"]+)"', text)
    return said[-1] if said else (text if len(text) < 200 else text[:200] + "…")


def unreachable(settings: Settings, error: BaseException) -> str:
    """A failed connection in one line: where, which settings say so, and the network's own words."""
    return (
        f"cannot reach Temporal at {settings.temporal_address} (TENURE_TEMPORAL_ADDRESS, namespace "
        f"{settings.temporal_namespace!r}): {network_words(error)}"
    )


def load_program(settings: Settings | None = None) -> Program:
    """Read and validate the program file; a wrong file stops start-up with the field named."""
    s = settings or get_settings()
    try:
        return read_program(s.program_path, " (set TENURE_PROGRAM_PATH)")
    except ProgramError as e:
        raise SystemExit(str(e)) from None
