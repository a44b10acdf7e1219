"""The worker's sandbox runner skips the serialization-context call only for a converter that uses none."""

from __future__ import annotations

import dataclasses

from temporalio.converter import DataConverter, PayloadCodec, SerializationContext, WithSerializationContext

from starter.sandbox_runner import CompiledSandboxRunner, runner_for, uses_context
from tests.payload_key_for_tests import data_converter_for_tests
from worker import RUNNER


class ContextCodec(PayloadCodec, WithSerializationContext):
    """A codec that keys its work by the workflow or activity it serves."""

    def __init__(self, context: SerializationContext | None = None) -> None:
        self.context = context

    async def encode(self, payloads):  # type: ignore[no-untyped-def]  # the SDK's signature
        return list(payloads)

    async def decode(self, payloads):  # type: ignore[no-untyped-def]  # the SDK's signature
        return list(payloads)

    def with_context(self, context: SerializationContext) -> ContextCodec:
        return ContextCodec(context)


def test_the_workers_converter_uses_no_context_and_skips_the_call():
    runner = runner_for(RUNNER.restrictions, data_converter_for_tests())
    assert isinstance(runner, CompiledSandboxRunner) and runner.context_free
    assert runner.restrictions is RUNNER.restrictions


def test_a_converter_that_uses_a_context_keeps_the_sdks_path():
    converter = dataclasses.replace(DataConverter.default, payload_codec=ContextCodec())
    assert uses_context(converter)
    assert not runner_for(RUNNER.restrictions, converter).context_free
