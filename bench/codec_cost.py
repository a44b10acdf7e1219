"""`python -m bench.codec_cost`: the CPU the payload codec costs per payload, on this machine.

For three payloads Tenure sends (a signal, a new journey's input with its whole program, the largest
continue-as-new state among the recorded histories), CPU microseconds per payload: pydantic JSON alone
(what the data converter did before encryption), the AES-GCM codec alone (encode, decode), and the
whole converter both ways.
Single-threaded, in this process; the median of several rounds.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

from temporalio.api.common.v1 import Payload
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter

from domain.journey import JourneyInput
from domain.messages import SignedUp
from starter.payload_codec import EncryptionCodec, payload_data_converter
from starter.program_file import read_program

from .procs import ROOT, payload_keys

ROUNDS = 7


def largest_recorded_state() -> JourneyInput:
    """The largest run input of the histories recorded before the codec (a busy journey's hand-over)."""
    inputs = []
    for path in (ROOT / "tests" / "histories").glob("*.json"):
        history = WorkflowHistory.from_json("any", path.read_text())
        payload = history.events[0].workflow_execution_started_event_attributes.input.payloads[0]
        if payload.metadata.get("encoding") == b"json/plain":
            inputs.append(payload)
    largest = max(inputs, key=lambda p: p.ByteSize())
    return pydantic_data_converter.payload_converter.from_payloads([largest], [JourneyInput])[0]


def samples() -> dict[str, tuple[Any, type]]:
    program = read_program(ROOT / "program.toml")
    journey = JourneyInput.new("cus_bench", program)
    large = largest_recorded_state()
    return {
        "signal (SignedUp)": (SignedUp(event_id="evt_1", email="ada@example.com", name="Ada Lovelace"), SignedUp),
        "journey input (program)": (journey, JourneyInput),
        "continue-as-new state": (large, JourneyInput),
    }


async def cpu_us(work: Callable[[], Awaitable[Any]], n: int) -> float:
    """Median CPU microseconds of one call over ROUNDS rounds of n calls."""
    per_round = []
    for _ in range(ROUNDS):
        t0 = time.process_time()
        for _ in range(n):
            await work()
        per_round.append((time.process_time() - t0) / n * 1e6)
    return statistics.median(per_round)


async def measure() -> list[dict[str, Any]]:
    codec = EncryptionCodec(payload_keys())
    encrypted_converter = payload_data_converter(payload_keys())
    rows = []
    for name, (value, kind) in samples().items():
        [plain] = await pydantic_data_converter.encode([value])
        [sealed] = await codec.encode([plain])
        [converted] = await encrypted_converter.encode([value])
        n = max(50, min(5000, 2_000_000 // max(plain.ByteSize(), 1)))

        async def json_only(value: Any = value, kind: type = kind, plain: Payload = plain) -> None:
            await pydantic_data_converter.decode(await pydantic_data_converter.encode([value]), [kind])

        async def encode(plain: Payload = plain) -> None:
            await codec.encode([plain])

        async def decode(sealed: Payload = sealed) -> None:
            await codec.decode([sealed])

        async def converter_both(value: Any = value, kind: type = kind) -> None:
            await encrypted_converter.decode(await encrypted_converter.encode([value]), [kind])

        rows.append(
            {
                "payload": name,
                "bytes": plain.ByteSize(),
                "encrypted_bytes": converted.ByteSize(),
                "json_both_us": await cpu_us(json_only, n),
                "encode_us": await cpu_us(encode, n),
                "decode_us": await cpu_us(decode, n),
                "converter_both_us": await cpu_us(converter_both, n),
            }
        )
    return rows


def main() -> None:
    rows = asyncio.run(measure())
    print(
        f"{'payload':<26}{'bytes':>8}{'sealed':>8}{'json both ways':>16}{'encrypt':>10}{'decrypt':>10}"
        f"{'converter both ways':>22}   (CPU µs per payload)"
    )
    for r in rows:
        print(
            f"{r['payload']:<26}{r['bytes']:>8}{r['encrypted_bytes']:>8}{r['json_both_us']:>16.1f}"
            f"{r['encode_us']:>10.1f}{r['decode_us']:>10.1f}{r['converter_both_us']:>22.1f}"
        )


if __name__ == "__main__":
    main()
