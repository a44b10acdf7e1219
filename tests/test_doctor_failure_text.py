"""`tenure doctor` says why a task fails: failure messages travel encrypted (the payload codec's failure
converter), so as Temporal holds them every one reads "Encoded failure"; doctor decodes them with its keys."""

from __future__ import annotations

from types import SimpleNamespace

from temporalio.api.failure.v1 import Failure
from temporalio.exceptions import ApplicationError

from starter.client.health import failure_text
from starter.payload_codec import PayloadKeys, parse_payload_keys, payload_data_converter
from tests.payload_key_for_tests import data_converter_for_tests

OTHER_KEYS = "other-1:" + "B" * 43 + "="


async def _encoded(message: str, kind: str) -> Failure:
    failure = Failure()
    await data_converter_for_tests().encode_failure(ApplicationError(message, type=kind), failure)
    assert failure.message == "Encoded failure" and failure.HasField("encoded_attributes")
    return failure


async def test_a_failure_reads_decoded_with_the_keys_it_was_written_under():
    failure = await _encoded(
        "a payload is encrypted under key id 'old-1', which is not configured", "PayloadDecryptionError"
    )
    client = SimpleNamespace(data_converter=data_converter_for_tests())
    text = await failure_text(client, failure)  # type: ignore[arg-type]
    assert text == "PayloadDecryptionError: a payload is encrypted under key id 'old-1', which is not configured"
    assert await failure_text(client, failure, with_type=False) == text.split(": ", 1)[1]  # type: ignore[arg-type]
    assert failure.message == "Encoded failure", "the failure read is left as it was"


async def test_without_the_key_it_stays_as_temporal_holds_it():
    failure = await _encoded("secret reason", "ValueError")
    other = PayloadKeys(parse_payload_keys(OTHER_KEYS, "a test"), "a test")
    client = SimpleNamespace(data_converter=payload_data_converter(other))
    assert await failure_text(client, failure) == "ValueError: Encoded failure"  # type: ignore[arg-type]


async def test_a_plain_failure_is_read_as_it_is():
    failure = Failure(message="plain words")
    failure.application_failure_info.type = "RuntimeError"
    client = SimpleNamespace(data_converter=data_converter_for_tests())
    assert await failure_text(client, failure) == "RuntimeError: plain words"  # type: ignore[arg-type]
