"""The worker's sandbox runner skips the serialization-context call only for a converter that uses none."""

from __future__ import annotations

import dataclasses

from temporalio.api.common.v1 import Payload
from temporalio.converter import (
    DataConverter,
    ExternalStorage,
    PayloadCodec,
    SerializationContext,
    StorageDriver,
    StorageDriverClaim,
    WithSerializationContext,
)

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


class NowhereDriver(StorageDriver):
    """An external-storage driver (never called here: only its presence matters)."""

    def name(self) -> str:
        return "nowhere"

    async def store(self, context, payloads) -> list[StorageDriverClaim]:  # type: ignore[no-untyped-def]  # the SDK's signature
        raise NotImplementedError

    async def retrieve(self, context, claims) -> list[Payload]:  # type: ignore[no-untyped-def]  # the SDK's signature
        raise NotImplementedError


def test_the_workers_converter_uses_no_context_and_skips_the_call():
    runner = runner_for(RUNNER.restrictions, data_converter_for_tests())
    assert isinstance(runner, CompiledSandboxRunner) and runner.context_free
    assert runner.restrictions is RUNNER.restrictions


def test_a_converter_that_uses_a_context_keeps_the_sdks_path():
    converter = dataclasses.replace(DataConverter.default, payload_codec=ContextCodec())
    assert uses_context(converter)
    assert not runner_for(RUNNER.restrictions, converter).context_free


def test_the_workers_converter_has_no_external_storage_and_skips_its_context_call():
    runner = runner_for(RUNNER.restrictions, data_converter_for_tests())
    assert runner.storage_free


def test_a_converter_with_external_storage_keeps_the_sdks_path():
    storage = ExternalStorage(drivers=[NowhereDriver()])
    converter = dataclasses.replace(data_converter_for_tests(), external_storage=storage)
    assert not runner_for(RUNNER.restrictions, converter).storage_free
