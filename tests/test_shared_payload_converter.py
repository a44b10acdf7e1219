"""The payload converter is one instance per process (starter/payload_codec/converter.py): the SDK
builds a data converter for every workflow activation, and each used to bring a new converter with
an empty TypeAdapter cache. Shared, it encodes exactly as the SDK's own pydantic converter."""

from __future__ import annotations

import dataclasses

from temporalio.contrib.pydantic import PydanticPayloadConverter

from domain.messages import EventEnvelope, SignedUp
from starter.payload_codec.converter import SharedPayloadConverter
from tests.payload_key_for_tests import data_converter_for_tests


def test_every_data_converter_built_from_ours_shares_one_payload_converter():
    converter = data_converter_for_tests()
    rebuilt = dataclasses.replace(converter)  # what the SDK does for each workflow activation
    inner = converter.payload_converter._inner_payload_converter  # type: ignore[attr-defined]  # the SDK wraps it
    assert rebuilt.payload_converter._inner_payload_converter is inner  # type: ignore[attr-defined]  # as above
    assert isinstance(inner, SharedPayloadConverter)
    assert SharedPayloadConverter() is SharedPayloadConverter()


def test_it_encodes_and_decodes_as_the_sdks_pydantic_converter():
    envelope = EventEnvelope(event=SignedUp(event_id="su-1", email="a@example.com", timezone="UTC", name="Ada"))
    ours, sdks = SharedPayloadConverter(), PydanticPayloadConverter()
    [payload] = ours.to_payloads([envelope])
    assert payload == sdks.to_payloads([envelope])[0]
    assert ours.from_payloads([payload], [EventEnvelope]) == [envelope]
